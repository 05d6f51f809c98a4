// Property input rules: the project form, its layout rows, the catalogue filters, a lead's picks.
import { z } from 'zod';
import type { FieldErrors } from '../platform/errors.ts';
import { values } from '../leads/domain.ts';
import { MAX_UNITS, PROPERTY_COUNTRIES, SORTS, UNIT_TYPES } from './domain.ts';

const blankToNull = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? null : typeof v === 'string' ? v.trim() : v);
const optionalText = (max: number) => z.preprocess(blankToNull, z.string().max(max, 'validation.tooLong').nullable().default(null));

/** "150 000", "150000,5" or "150000.50" → "150000.50"-style text; the database keeps numerics exact. */
export function normaliseNumber(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
  return s === '' ? null : s;
}

const MONEY_RE = /^\d{1,13}(\.\d{1,2})?$/;
const SIZE_RE = /^\d{1,6}(\.\d{1,2})?$/;
const money = z.string('validation.required').regex(MONEY_RE, 'property.validation.money');
const size = z.string('validation.required').regex(SIZE_RE, 'property.validation.size').refine((v) => Number(v) > 0, 'property.validation.size');

export const propertySchema = z.object({
  name: z.string('validation.required').trim().min(2, 'property.validation.name').max(200, 'property.validation.name'),
  country: z.enum(values(PROPERTY_COUNTRIES), 'validation.choose'),
  city: z.string('validation.required').trim().min(2, 'property.validation.city').max(100, 'property.validation.city'),
  district: optionalText(100),
  price_from: z.preprocess(normaliseNumber, money),
  price_to: z.preprocess(normaliseNumber, money.nullable().default(null)),
  payment_terms: optionalText(1000),
  description: optionalText(2000),
}).superRefine((p, ctx) => {
  if (p.price_to !== null && Number(p.price_to) < Number(p.price_from)) ctx.addIssue({ code: 'custom', path: ['price_to'], message: 'property.validation.priceRange' });
});
export type PropertyInput = z.output<typeof propertySchema>;

const unitSchema = z.object({
  unit_type: z.enum(values(UNIT_TYPES), 'validation.choose'),
  size_from: z.preprocess(normaliseNumber, size),
  size_to: z.preprocess(normaliseNumber, size.nullable().default(null)),
  price: z.preprocess(normaliseNumber, money),
}).superRefine((u, ctx) => {
  if (u.size_to !== null && Number(u.size_to) < Number(u.size_from)) ctx.addIssue({ code: 'custom', path: ['size_to'], message: 'property.validation.sizeRange' });
});
export type UnitInput = z.output<typeof unitSchema> & { id: number | null };

const UNIT_FIELDS = ['unit_type', 'size_from', 'size_to', 'price'] as const;
/** unit_type_3, unit_size_from_3, …, unit_id_3, unit_remove_3. */
export const unitField = (name: (typeof UNIT_FIELDS)[number] | 'id' | 'remove', row: number) => `unit_${name.replace(/^unit_/, '')}_${row}`;

/**
 * The layout rows of the form, in the order shown. A row left blank is ignored, a row marked "remove" is
 * dropped; an existing row carries its id. Errors are keyed by the row's own field names.
 */
export function parseUnitRows(fields: Record<string, string>): { rows: number[]; units: UnitInput[]; errors: FieldErrors } {
  const rows = [...new Set(Object.keys(fields).map((k) => /^unit_(?:type|size_from|size_to|price|id)_(\d{1,3})$/.exec(k)?.[1]).filter((n): n is string => !!n).map(Number))]
    .sort((a, b) => a - b);
  const units: UnitInput[] = [];
  const errors: FieldErrors = {};
  for (const row of rows) {
    if (fields[unitField('remove', row)]) continue;
    const raw = Object.fromEntries(UNIT_FIELDS.map((f) => [f, fields[unitField(f, row)] ?? '']));
    if (Object.values(raw).every((v) => v.trim() === '')) continue;
    const parsed = unitSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const name = unitField(String(issue.path[0]) as (typeof UNIT_FIELDS)[number], row);
        errors[name] ??= (issue.message as FieldErrors[string]) ?? 'validation.invalid';
      }
      continue;
    }
    const id = Number(fields[unitField('id', row)]);
    units.push({ ...parsed.data, id: Number.isSafeInteger(id) && id > 0 ? id : null });
  }
  if (units.length > MAX_UNITS) errors.units = 'property.validation.tooManyUnits';
  return { rows, units, errors };
}

// Filters come from a link anyone may edit: a value that makes no sense is simply not applied.
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(blankToNull, schema.nullable().default(null)).catch(null);
export const filterSchema = z.object({
  country: opt(z.enum(values(PROPERTY_COUNTRIES))),
  city: opt(z.string().max(100)),
  price_min: opt(z.preprocess(normaliseNumber, z.string().regex(MONEY_RE))),
  price_max: opt(z.preprocess(normaliseNumber, z.string().regex(MONEY_RE))),
  unit_type: opt(z.enum(values(UNIT_TYPES))),
  size_min: opt(z.preprocess(normaliseNumber, z.string().regex(SIZE_RE))),
  size_max: opt(z.preprocess(normaliseNumber, z.string().regex(SIZE_RE))),
  sort: z.enum(values(SORTS)).catch('newest'),
  page: z.coerce.number().int().min(1).max(10_000).catch(1),
});
export type PropertyFilters = z.output<typeof filterSchema>;

/** The projects a lead names: checkbox values, one or many. */
export const propertyIdsSchema = z.preprocess(
  (v) => (v === undefined || v === null || v === '' ? [] : Array.isArray(v) ? v : [v]),
  z.array(z.coerce.number('validation.choose').int('validation.choose').positive('validation.choose').max(2_147_483_647, 'validation.choose'))
    .max(20, 'property.validation.tooManyForLead'),
);

/** The projects picked on a lead form (absent = none); an error key when the values make no sense. */
export function pickedProperties(body: unknown): { ids: number[]; error: 'validation.choose' | 'property.validation.tooManyForLead' | null } {
  const raw = body && typeof body === 'object' ? (body as Record<string, unknown>).property_ids : undefined;
  const parsed = propertyIdsSchema.safeParse(typeof raw === 'string' || Array.isArray(raw) ? raw : undefined);
  if (parsed.success) return { ids: [...new Set(parsed.data)], error: null };
  const tooMany = parsed.error.issues.some((i) => i.message === 'property.validation.tooManyForLead');
  return { ids: [], error: tooMany ? 'property.validation.tooManyForLead' : 'validation.choose' };
}
