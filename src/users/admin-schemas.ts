// Input rules for the admin's user management.
import { z } from 'zod';

export const blank = (v: unknown) => (v === '' ? undefined : v);
export const pageSchema = z.preprocess(blank, z.coerce.number().int().min(1).max(100000).default(1)).catch(1);

// A filter built from selects: a value outside the list is ignored rather than an error.
export const usersFilterSchema = z.object({
  q: z.preprocess(blank, z.string().trim().max(100).optional()).catch(undefined),
  role: z.preprocess(blank, z.enum(['agent', 'admin']).optional()).catch(undefined),
  active: z.preprocess(blank, z.enum(['yes', 'no']).optional()).catch(undefined),
  verified: z.preprocess(blank, z.enum(['yes', 'no']).optional()).catch(undefined),
  locked: z.preprocess(blank, z.literal('yes').optional()).catch(undefined),
  admin: z.preprocess(blank, z.union([z.literal('none'), z.coerce.number().int().positive().max(2_147_483_647)]).optional()).catch(undefined),
  page: pageSchema,
});
export type UsersFilter = z.output<typeof usersFilterSchema>;

/** 0–100 with at most two decimals (the column is numeric(5,2)); a decimal comma is accepted. */
export const commissionSchema = z.object({
  commission: z.string({ error: 'validation.required' }).trim().min(1, 'validation.required')
    .transform((v) => v.replace(',', '.'))
    .refine((v) => /^\d{1,3}(\.\d{1,2})?$/.test(v), 'validation.commission')
    .transform(Number)
    .refine((n) => n >= 0 && n <= 100, 'validation.commission'),
});

export const roleSchema = z.object({
  role: z.enum(['agent', 'admin'], { error: 'validation.role' }),
});

export const assignAdminSchema = z.object({
  // Empty = no admin ("Не призначено").
  admin_id: z.preprocess(blank, z.coerce.number({ error: 'validation.adminRequired' }).int('validation.adminRequired').positive('validation.adminRequired').max(2_147_483_647, 'validation.adminRequired').optional()),
});

export const deleteUserSchema = z.object({
  receiver_id: z.preprocess(blank, z.coerce.number({ error: 'validation.receiver' }).int('validation.receiver').positive('validation.receiver').max(2_147_483_647, 'validation.receiver').optional()),
});
