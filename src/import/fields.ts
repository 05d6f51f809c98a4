// CSV import, the pure part: which lead field each column fills (guessed from the header, changed by the
// user), and each row read through the very rules of the lead form (leadFields), so an import accepts
// exactly what the form accepts. Enumerations also take their Ukrainian/English labels; a date may be
// written DD.MM.YYYY as spreadsheets in Ukraine do.
import { z } from 'zod';
import {
  BUDGETS, COUNTRIES, LANGUAGES, MESSENGERS, OBJECT_TYPES, type Option, PROPERTY_TYPES, PURCHASE_GOALS, SOURCES,
} from '../leads/domain.ts';
import { leadFields } from '../leads/schemas.ts';
import { fieldErrorsOf } from '../platform/validation.ts';
import { type MessageKey, translator } from '../platform/i18n.ts';
import type { Role } from '../db/schema.ts';

export type LeadField = keyof typeof leadFields;
/** A column's target: a lead field, or (admins only) the responsible agent's email. */
export type ImportTarget = LeadField | 'agent_email';

export const LEAD_FIELDS = Object.keys(leadFields) as LeadField[];
export const REQUIRED_FIELDS: LeadField[] = ['deal_name', 'phone', 'budget'];

export function targetsFor(role: Role): ImportTarget[] {
  return role === 'admin' ? [...LEAD_FIELDS, 'agent_email'] : [...LEAD_FIELDS];
}

export function targetLabel(target: ImportTarget): MessageKey {
  return target === 'agent_email' ? 'import.field.agent_email' : `lead.field.${target}`;
}

const ENUMS: Partial<Record<LeadField, Option[]>> = {
  budget: BUDGETS, messenger: MESSENGERS, country: COUNTRIES, purchase_goal: PURCHASE_GOALS, property_type: PROPERTY_TYPES,
  object_type: OBJECT_TYPES, communication_language: LANGUAGES, source: SOURCES,
};

const tUk = translator('uk');
const tEn = translator('en');

/** For comparing what people type: case, apostrophes, dashes and spaces do not matter. */
function loose(s: string): string {
  return s.normalize('NFC').toLowerCase().replace(/[’ʼ`´]/g, "'").replace(/[‐‑‒–—―−]/g, '-').replace(/ё/g, 'е').replace(/\s+/g, '');
}

// Per enumeration: loose(stored value | Ukrainian label | English label) → stored value.
const ENUM_LOOKUP = new Map<LeadField, Map<string, string>>(
  Object.entries(ENUMS).map(([field, opts]) => {
    const m = new Map<string, string>();
    for (const o of opts!) for (const text of [o.value, tUk(o.label), tEn(o.label)]) if (!m.has(loose(text))) m.set(loose(text), o.value);
    return [field as LeadField, m];
  }),
);

// Header names besides our field names and the form's labels (both languages).
const SYNONYMS: Partial<Record<ImportTarget, string[]>> = {
  deal_name: ["ім'я", "ім'я клієнта", 'клієнт', 'піб', 'назва угоди', 'name', 'client', 'client name', 'full name', 'deal name', 'имя', 'фио'],
  phone: ['телефон', 'тел', 'тел.', 'номер телефону', 'мобільний', 'phone', 'phone number', 'mobile', 'tel'],
  email: ['email', 'e-mail', 'пошта', 'електронна пошта', 'mail'],
  second_phone: ['телефон 2', 'другий номер', 'phone 2', 'second phone'],
  budget: ['бюджет', 'budget'],
  company: ['компанія', 'company'],
  telegram_nickname: ['telegram', 'телеграм', 'tg', 'нік'],
  messenger: ['месенджер', 'messenger'],
  birth_date: ['дата народження', 'день народження', 'birthday', 'date of birth', 'birth date'],
  country: ['країна', 'country'],
  purchase_goal: ['мета', 'мета покупки', 'goal', 'purchase goal'],
  property_type: ['тип нерухомості', 'property type'],
  object_type: ["тип об'єкта", 'object type'],
  communication_language: ['мова', 'мова спілкування', 'language'],
  source: ['джерело', 'source'],
  agent_email: ['agent email', 'agent e-mail', 'email агента', 'пошта агента', 'агент', 'agent', 'agent_email'],
};

function headerKey(header: string): string {
  return loose(header.replace(/[*:]/g, '')).replace(/_/g, '');
}

function namesOf(target: ImportTarget): string[] {
  const names = [target, ...(SYNONYMS[target] ?? [])];
  for (const label of [tUk(targetLabel(target)), tEn(targetLabel(target))]) {
    names.push(label);
    // "Назва угоди (ім'я клієнта)": the words outside and inside the brackets, each on its own.
    const m = /^(.*?)\s*\((.*)\)\s*$/.exec(label);
    if (m) names.push(m[1]!, m[2]!);
  }
  return names;
}

/** The mapping guessed from the header names: each target at most once, the first matching column wins. */
export function guessMapping(headers: string[], role: Role): string[] {
  const byName = new Map<string, ImportTarget>();
  for (const target of targetsFor(role)) for (const n of namesOf(target)) if (!byName.has(headerKey(n))) byName.set(headerKey(n), target);
  const used = new Set<string>();
  return headers.map((h) => {
    const target = byName.get(headerKey(h));
    if (!target || used.has(target)) return '';
    used.add(target);
    return target;
  });
}

/** A mapping as posted: one value per column, only known targets, each at most once (see mappingProblems). */
export function cleanMapping(raw: unknown[], columns: number, role: Role): string[] {
  const allowed = new Set<string>(targetsFor(role));
  return Array.from({ length: columns }, (_, i) => {
    const v = raw[i];
    return typeof v === 'string' && allowed.has(v) ? v : '';
  });
}

export interface MappingProblems {
  /** Required lead fields no column fills. */
  missing: LeadField[];
  /** Column indexes whose target another column already has. */
  repeated: number[];
}

export function mappingProblems(mapping: string[]): MappingProblems {
  const seen = new Set<string>();
  const repeated: number[] = [];
  mapping.forEach((t, i) => {
    if (!t) return;
    if (seen.has(t)) repeated.push(i);
    seen.add(t);
  });
  return { missing: REQUIRED_FIELDS.filter((f) => !mapping.includes(f)), repeated };
}

export const mappingOk = (p: MappingProblems) => p.missing.length === 0 && p.repeated.length === 0;

const rowSchema = z.object(leadFields);
export type LeadRowInput = z.output<typeof rowSchema>;

export interface RowError { field: ImportTarget | '_'; key: MessageKey }
export type RowVerdict =
  | { ok: true; input: LeadRowInput; agentEmail: string | null }
  | { ok: false; errors: RowError[] };

function normaliseDate(v: string): string {
  const m = /^(\d{1,2})[./](\d{1,2})[./](\d{4})$/.exec(v.trim());
  return m ? `${m[3]}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}` : v;
}

const emailShape = z.email();

/** One row through the lead form's rules. Unmapped columns are ignored; an empty cell is an empty field. */
export function validateRow(cells: string[], mapping: string[]): RowVerdict {
  const values: Record<string, string> = {};
  let agentEmail: string | null = null;
  const errors: RowError[] = [];
  mapping.forEach((target, i) => {
    if (!target) return;
    const raw = (cells[i] ?? '').trim();
    if (target === 'agent_email') {
      if (raw === '') return;
      if (!emailShape.safeParse(raw).success) errors.push({ field: 'agent_email', key: 'validation.email' });
      else agentEmail = raw.toLowerCase();
      return;
    }
    const lookup = ENUM_LOOKUP.get(target as LeadField);
    values[target] = lookup && raw ? (lookup.get(loose(raw)) ?? raw) : target === 'birth_date' ? normaliseDate(raw) : raw;
  });
  const parsed = rowSchema.safeParse(values);
  if (!parsed.success) {
    for (const [field, key] of Object.entries(fieldErrorsOf(parsed.error))) errors.push({ field: field as LeadField, key });
  }
  if (errors.length > 0 || !parsed.success) return { ok: false, errors };
  return { ok: true, input: parsed.data, agentEmail };
}

/** Keys two leads share when they are the same client: the phones (either field) and the email. */
export function duplicateKeys(input: Pick<LeadRowInput, 'phone' | 'second_phone' | 'email'>): string[] {
  const keys = new Set<string>();
  if (input.phone) keys.add(`p:${input.phone}`);
  if (input.second_phone) keys.add(`p:${input.second_phone}`);
  if (input.email) keys.add(`e:${input.email.toLowerCase()}`);
  return [...keys];
}

/** Which of the given rows share a phone or email with another row of the same file. */
export function inFileDuplicates(inputs: (Pick<LeadRowInput, 'phone' | 'second_phone' | 'email'> | null)[]): boolean[] {
  const count = new Map<string, number>();
  const keys = inputs.map((i) => (i ? duplicateKeys(i) : []));
  for (const ks of keys) for (const k of ks) count.set(k, (count.get(k) ?? 0) + 1);
  return keys.map((ks) => ks.some((k) => (count.get(k) ?? 0) > 1));
}
