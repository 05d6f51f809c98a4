// Lead input rules. Phones are parsed with libphonenumber-js and stored as E.164.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { z } from 'zod';
import { BoundedMemo } from '../platform/cache.ts';
import {
  BUDGETS, COUNTRIES, LANGUAGES, MESSENGERS, OBJECT_TYPES, PROPERTY_TYPES, PURCHASE_GOALS, REFUSAL_REASONS, SOURCES, STATUSES, values,
} from './domain.ts';

/** E.164 for a number typed by an agent; numbers without a country code are read as Ukrainian. */
export function normalisePhone(input: string): string | null {
  const trimmed = input.trim();
  if (!trimmed) return null;
  const parsed = parsePhoneNumberFromString(trimmed, { defaultCountry: 'UA', extract: false });
  return parsed?.isValid() ? parsed.number : null;
}

// Formatting parses the number against the metadata each time (a noticeable share of rendering a lead
// list); the same numbers are shown over and over, so the results are remembered — enough of them for an
// admin paging through every lead (~100 bytes each).
const formatted = new BoundedMemo<string>(50_000);

export function formatPhone(e164: string | null | undefined): string {
  if (!e164) return '';
  return formatted.get(e164, () => parsePhoneNumberFromString(e164)?.formatInternational() ?? e164);
}

const blankToNull = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? null : typeof v === 'string' ? v.trim() : v);
const optionalText = (max: number) => z.preprocess(blankToNull, z.string().max(max, 'validation.tooLong').nullable().default(null));
const optionalEnum = <V extends string>(vals: [V, ...V[]]) => z.preprocess(blankToNull, z.enum(vals, 'validation.choose').nullable().default(null));
const phone = z.string().trim().min(1, 'validation.required').max(40, 'validation.phone')
  .transform((v, ctx) => normalisePhone(v) ?? (ctx.addIssue({ code: 'custom', message: 'validation.phone' }), z.NEVER));
const optionalPhone = z.preprocess(blankToNull, z.string().max(40, 'validation.phone').nullable().default(null))
  .transform((v, ctx) => (v === null ? null : normalisePhone(v) ?? (ctx.addIssue({ code: 'custom', message: 'validation.phone' }), z.NEVER)));
const email = z.preprocess(blankToNull, z.string().max(254, 'validation.email').pipe(z.email('validation.email')).transform((v) => v.toLowerCase()).nullable().default(null));
const birthDate = z.preprocess(blankToNull, z.iso.date('validation.date').refine((d) => d >= '1900-01-01' && d <= new Date().toISOString().slice(0, 10), 'validation.date').nullable().default(null));

export const leadFields = {
  deal_name: z.string().trim().min(2, 'validation.dealName').max(100, 'validation.dealName'),
  phone,
  email,
  budget: z.enum(values(BUDGETS), 'validation.choose'),
  second_phone: optionalPhone,
  company: optionalText(100),
  telegram_nickname: optionalText(50),
  messenger: optionalEnum(values(MESSENGERS)),
  birth_date: birthDate,
  country: optionalEnum(values(COUNTRIES)),
  purchase_goal: optionalEnum(values(PURCHASE_GOALS)),
  property_type: optionalEnum(values(PROPERTY_TYPES)),
  object_type: optionalEnum(values(OBJECT_TYPES)),
  communication_language: optionalEnum(values(LANGUAGES)),
  source: optionalEnum(values(SOURCES)),
};

const agentId = z.preprocess(blankToNull, z.coerce.number('validation.agent').int('validation.agent').positive('validation.agent').nullable().default(null));

export const createLeadSchema = z.object({ ...leadFields, agent_id: agentId });

export const updateLeadSchema = z.object({
  ...leadFields,
  status: z.enum(values(STATUSES), 'validation.choose'),
  refusal_reason: optionalEnum(values(REFUSAL_REASONS)),
  is_transferred: z.preprocess((v) => v === 'on' || v === 'true' || v === true, z.boolean()).default(false),
  agent_id: agentId,
});

export type CreateLeadInput = z.output<typeof createLeadSchema>;
export type UpdateLeadInput = z.output<typeof updateLeadSchema>;

export const duplicateCheckSchema = z.object({
  phone: z.string().max(40).optional(),
  email: z.string().max(254).optional(),
  exclude_id: z.coerce.number().int().positive().optional(),
});
