// Error bodies in HubSpot's shapes (HUBSPOT.md §2.8) and small request helpers shared by the routes.
import type { ObjectType, Reply } from './types.ts';

/** Thrown by handlers; the server fills in the correlationId and sends it as HubSpot's `Error` body. */
export class ApiError extends Error {
  readonly status: number;
  readonly category: string;
  readonly extra: Record<string, unknown>;
  constructor(status: number, category: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.category = category;
    this.extra = extra;
  }
}

export function errorBody(correlationId: string, category: string, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { status: 'error', message, correlationId, category, ...extra };
}

/** A per-input error inside a 207 batch response (`StandardError`: every required field present). */
export function standardError(category: string, message: string, context: Record<string, string[]> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { status: 'error', category, message, context, errors: [], links: {}, ...extra };
}

/** One failed property of a write, as HubSpot embeds it in the VALIDATION_ERROR message. */
export interface PropertyError { isValid: false; message: string; error: string; name: string; localizedErrorMessage: string }

export function propertyError(name: string, error: string, message: string): PropertyError {
  return { isValid: false, message, error, name, localizedErrorMessage: message };
}

export function propertyValidationError(errors: PropertyError[]): ApiError {
  return new ApiError(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(errors)}`);
}

export function validation(message: string, extra: Record<string, unknown> = {}): ApiError {
  return new ApiError(400, 'VALIDATION_ERROR', message, extra);
}

export function notFound(message = 'resource not found', context?: Record<string, string[]>): ApiError {
  return new ApiError(404, 'OBJECT_NOT_FOUND', message, context ? { context } : {});
}

export const json = (status: number, body: unknown): Reply => ({ status, body });
export const noContent = (): Reply => ({ status: 204 });

export const iso = (ms: number): string => new Date(ms).toISOString();

/** `contacts`, `contact` and `0-1` all name contacts (likewise deals `0-3`, notes `0-46`). */
const TYPE_ALIASES: Record<string, ObjectType> = {
  contacts: 'contacts', contact: 'contacts', '0-1': 'contacts',
  deals: 'deals', deal: 'deals', '0-3': 'deals',
  notes: 'notes', note: 'notes', '0-46': 'notes',
};

export const OBJECT_TYPE_IDS: Record<ObjectType, string> = { contacts: '0-1', deals: '0-3', notes: '0-46' };
export const SINGULAR: Record<ObjectType, string> = { contacts: 'contact', deals: 'deal', notes: 'note' };

export function objectType(raw: string | undefined): ObjectType {
  const type = raw ? TYPE_ALIASES[raw.toLowerCase()] : undefined;
  if (!type) throw new ApiError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${raw ?? ''}`);
  return type;
}

/** Query values, including comma-separated lists and repeated keys (`properties=a,b&properties=c`). */
export function listParam(query: URLSearchParams, name: string): string[] | undefined {
  const all = query.getAll(name);
  if (all.length === 0) return undefined;
  return all.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

export function boolParam(query: URLSearchParams, name: string): boolean {
  return query.get(name) === 'true';
}

export function intParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw validation(`Invalid value for query parameter ${name}: ${raw}`);
  return n;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{inputs:[…]}` with at most `max` items, else 400 VALIDATION_ERROR. */
export function batchInputs(body: unknown, max: number, what = 'a batch request'): unknown[] {
  if (!isRecord(body) || !Array.isArray(body.inputs)) throw validation('Invalid input JSON: "inputs" must be an array');
  if (body.inputs.length > max) {
    throw validation(`The maximum number of inputs supported in ${what} is ${max}, but ${body.inputs.length} were provided.`, {
      context: { maxInputs: [String(max)], inputs: [String(body.inputs.length)] },
    });
  }
  return body.inputs;
}
