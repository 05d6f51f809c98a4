// HubSpot responses are checked at the boundary: only the fields we use, extra fields allowed.
import { z } from 'zod';

const props = z.record(z.string(), z.string().nullable().optional());
const object = z.object({ id: z.string(), properties: props.default({}) });
const paging = z.object({ next: z.object({ after: z.string().optional() }).optional() }).optional();

export const batchResponse = z.object({
  results: z.array(object).default([]),
  errors: z.array(z.object({ message: z.string().optional(), context: z.record(z.string(), z.array(z.string())).optional() })).optional(),
});
export const searchPage = z.object({ results: z.array(object).default([]), paging });
export const ownersPage = z.object({
  results: z.array(z.object({ id: z.string(), email: z.string().nullable().optional(), firstName: z.string().nullable().optional(), lastName: z.string().nullable().optional() })).default([]),
  paging,
});
export const associationsPage = z.object({
  results: z.array(z.object({ from: z.object({ id: z.string() }), to: z.array(z.object({ toObjectId: z.union([z.string(), z.number()]) })).default([]) })).default([]),
});
export const anyJson = z.unknown();
