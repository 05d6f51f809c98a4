// Input rules for accounts (PRODUCT.md §6.1, with a 10-character password minimum).
import { z } from 'zod';

const trimmed = z.string().trim();

export const usernameSchema = trimmed
  .transform((v) => v.replace(/\s+/g, '_'))
  .pipe(z.string()
    .refine((v) => v.length > 0, 'validation.required')
    .refine((v) => v === v.toLowerCase(), 'validation.usernameUppercase')
    .refine((v) => /^[a-z_][a-z0-9_]{3,24}$/.test(v), 'validation.usernameFormat'));

export const emailSchema = trimmed.min(1, 'validation.required').max(254, 'validation.email').pipe(z.email('validation.email')).transform((v) => v.toLowerCase());

export const displayNameSchema = trimmed.min(2, 'validation.displayName').max(100, 'validation.displayName');

export const newPasswordSchema = z.string()
  .min(10, 'validation.passwordTooShort')
  .refine((v) => Buffer.byteLength(v) <= 72, 'validation.passwordTooLong');

export const registerSchema = z.object({
  username: usernameSchema,
  display_name: displayNameSchema,
  email: emailSchema,
  admin_id: z.coerce.number({ error: 'validation.adminRequired' }).int('validation.adminRequired').positive('validation.adminRequired'),
  password: newPasswordSchema,
  confirm_password: z.string(),
}).refine((v) => v.password === v.confirm_password, { path: ['confirm_password'], message: 'validation.passwordMismatch' });

export const loginSchema = z.object({
  username: trimmed.min(1, 'validation.required').max(254, 'validation.required'),
  password: z.string().min(1, 'validation.required').max(1024, 'validation.required'),
});

export const profileSchema = z.object({
  username: usernameSchema,
  display_name: displayNameSchema,
  email: emailSchema,
});

export const changePasswordSchema = z.object({
  current_password: z.string().min(1, 'validation.required'),
  new_password: newPasswordSchema,
  confirm_password: z.string(),
}).refine((v) => v.new_password === v.confirm_password, { path: ['confirm_password'], message: 'validation.passwordMismatch' })
  .refine((v) => v.new_password !== v.current_password, { path: ['new_password'], message: 'validation.samePassword' });
