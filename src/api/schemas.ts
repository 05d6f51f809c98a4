// The /api/v1 contract in zod: what handlers parse and what the OpenAPI document is generated from.
import { z } from 'zod';
import { commentBody } from '../comments/schemas.ts';
import { STATUSES, values } from '../leads/domain.ts';
import { createLeadSchema } from '../leads/schemas.ts';

/** A lead as an agent's website or CRM submits it: the form's fields; the agent is always the key's. */
export const apiLeadInputSchema = createLeadSchema.omit({ agent_id: true });

export const apiLeadListQuery = z.object({
  page: z.coerce.number('validation.invalid').int('validation.invalid').min(1, 'validation.invalid').max(100_000, 'validation.invalid').default(1),
  per_page: z.coerce.number('validation.invalid').int('validation.invalid').min(1, 'validation.invalid').max(100, 'validation.invalid').default(25),
});

export const apiCommentInputSchema = z.object({
  body: commentBody,
  parent_id: z.number('validation.invalid').int('validation.invalid').min(1, 'validation.invalid').nullable().optional(),
});

export const idParams = z.object({ id: z.string().regex(/^[1-9][0-9]{0,9}$/) });

const nullableString = z.string().nullable();
const dateTime = z.string().meta({ format: 'date-time' });

export const apiLeadSchema = z.object({
  id: z.number().int(),
  deal_name: z.string(),
  phone: z.string().meta({ description: 'E.164' }),
  second_phone: nullableString,
  email: nullableString,
  budget: z.string(),
  company: nullableString,
  telegram_nickname: nullableString,
  messenger: nullableString,
  birth_date: nullableString.meta({ description: 'YYYY-MM-DD' }),
  country: nullableString,
  purchase_goal: nullableString,
  property_type: nullableString,
  object_type: nullableString,
  communication_language: nullableString,
  source: nullableString,
  status: z.enum(values(STATUSES)),
  refusal_reason: nullableString,
  is_transferred: z.boolean(),
  stage: z.object({ id: z.string(), label: z.string() }).nullable().meta({ description: 'The HubSpot pipeline stage, once synced' }),
  possible_duplicate: z.boolean().meta({ description: 'Another lead has the same phone or email' }),
  created_at: dateTime,
  updated_at: dateTime,
  closed_at: dateTime.nullable(),
});

export const apiCommentSchema = z.object({
  id: z.number().int(),
  lead_id: z.number().int(),
  author_name: nullableString,
  parent_id: z.number().int().nullable(),
  body: z.string(),
  created_at: dateTime,
  updated_at: dateTime,
  edited: z.boolean(),
});

export const apiCommentThreadSchema = apiCommentSchema.extend({ replies: z.array(apiCommentSchema) });

export const apiLeadDetailSchema = apiLeadSchema.extend({ comments: z.array(apiCommentThreadSchema) });

export const apiLeadPageSchema = z.object({
  items: z.array(apiLeadSchema),
  page: z.number().int(),
  per_page: z.number().int(),
  total: z.number().int(),
});

export const apiStageSchema = z.object({ id: z.string(), label: z.string(), status: z.enum(values(STATUSES)) });

export const apiErrorSchema = z.object({
  error: z.string(),
  fields: z.record(z.string(), z.string()).optional().meta({ description: 'Field name → message, on 400' }),
  requestId: z.string(),
});
