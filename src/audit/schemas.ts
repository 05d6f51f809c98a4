// The audit page's filter: typed by a person, so a bad value is shown next to its field with the form kept.
import { z } from 'zod';
import { blank, pageSchema } from '../users/admin-schemas.ts';

const isoDay = z.preprocess(blank, z.iso.date('validation.date').optional());

export const auditFilterSchema = z.object({
  actor: z.preprocess(blank, z.string().trim().max(100, 'validation.tooLong').optional()),
  entity_type: z.preprocess(blank, z.string().trim().regex(/^[a-z_]{1,30}$/, 'validation.entityType').optional()),
  entity_id: z.preprocess(blank, z.string().trim().max(64, 'validation.tooLong').optional()),
  action: z.preprocess(blank, z.string().trim().regex(/^[a-z_]{1,30}(\.[a-z_]{0,30})?$/, 'validation.auditAction').optional()),
  from: isoDay,
  to: isoDay,
  page: pageSchema,
}).refine((f) => !f.from || !f.to || f.from <= f.to, { path: ['to'], message: 'validation.dateRange' });

