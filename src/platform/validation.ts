// zod at every boundary: parse input, or collect field-level message keys for the form/JSON error.
import type { z } from 'zod';
import { type FieldErrors, ValidationFailed } from './errors.ts';
import { isMessageKey } from './i18n.ts';

export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of error.issues) {
    const name = issue.path.map(String).join('.') || '_';
    if (fields[name]) continue;
    fields[name] = isMessageKey(issue.message) ? issue.message : 'validation.invalid';
  }
  return fields;
}

export type Parsed<T> = { ok: true; data: T } | { ok: false; fields: FieldErrors };

/** For forms that re-render themselves with the typed values and messages next to each field. */
export function parseForm<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.output<S>> {
  const result = schema.safeParse(input ?? {});
  return result.success ? { ok: true, data: result.data } : { ok: false, fields: fieldErrorsOf(result.error) };
}

/** For JSON routes: throws ValidationFailed (→ 400 {error, fields}). */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = parseForm(schema, input);
  if (!parsed.ok) throw new ValidationFailed(parsed.fields);
  return parsed.data;
}

/** The raw string values a user typed, to put back into a re-shown form (never passwords). */
export function typedValues(body: unknown, omit: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      if (typeof v === 'string' && !omit.includes(k) && k !== '_csrf') out[k] = v;
    }
  }
  return out;
}
