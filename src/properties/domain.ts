// Property catalogue vocabulary (PRODUCT.md §4.4, §4.12) and the pure rules: price and size ranges,
// photo order, how money reads. Stored values never change; labels go through i18n.
import type { Locale } from '../db/schema.ts';
import type { MessageKey } from '../platform/i18n.ts';
import type { Option } from '../leads/domain.ts';

const options = <V extends string>(pairs: readonly (readonly [V, MessageKey])[]): Option<V>[] => pairs.map(([value, label]) => ({ value, label }));

/** The catalogue's own country list (not the lead's purchase countries). Stored value = Ukrainian label. */
export const PROPERTY_COUNTRIES = options([
  ['Україна', 'property.country.ukraine'], ['Дубай', 'country.dubai'], ['Румунія', 'country.romania'],
  ['Занзибар', 'property.country.zanzibar'], ['Північний Кіпр', 'country.northCyprus'], ['Південний Кіпр', 'country.southCyprus'],
  ['Турція', 'country.turkey'], ['Балі', 'country.bali'], ['Чорногорія', 'country.montenegro'],
  ['Болгарія', 'property.country.bulgaria'], ['Іспанія', 'country.spain'], ['Інше', 'property.country.other'],
] as const);

export const UNIT_TYPES = options([
  ['studio', 'property.unit.studio'], ['1', 'property.unit.1'], ['2', 'property.unit.2'], ['3', 'property.unit.3'],
  ['4', 'property.unit.4'], ['5', 'property.unit.5'], ['6', 'property.unit.6'],
] as const);
export type UnitType = (typeof UNIT_TYPES)[number]['value'];

export const SORTS = options([
  ['newest', 'property.sort.newest'], ['price_asc', 'property.sort.priceAsc'], ['price_desc', 'property.sort.priceDesc'], ['name', 'property.sort.name'],
] as const);
export type PropertySort = (typeof SORTS)[number]['value'];

/** Photos are decoded and re-encoded (metadata such as GPS dropped); documents are kept as sent. */
export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export const PHOTO_ACCEPT = '.jpg,.jpeg,.png,.webp,image/jpeg,image/png,image/webp';
export const DOCUMENT_TYPES = [
  'application/pdf', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'image/jpeg', 'image/png', 'image/webp',
] as const;
export const DOCUMENT_ACCEPT = `.pdf,.docx,.jpg,.jpeg,.png,.webp,${DOCUMENT_TYPES.join(',')}`;

export const MAX_DOCUMENTS = 5;
export const MAX_PHOTOS = 30;
/** Per upload: the multipart parser also caps a request at 20 files (src/app.ts). */
export const MAX_PHOTOS_PER_UPLOAD = 15;
export const MAX_UNITS = 30;
export const PAGE_SIZE = 24;
/** Blank layout rows offered below the existing ones (more via "add a row"). */
export const BLANK_UNIT_ROWS = 2;

export const THUMB_WIDTH = 400;
export const FULL_WIDTH = 1600;

/** "$150 000" / "$150,000": whole dollars unless there are cents. */
export function formatUsd(locale: Locale, value: string | number): string {
  const n = typeof value === 'number' ? value : Number(value);
  const cents = !Number.isInteger(n);
  const text = new Intl.NumberFormat(locale === 'uk' ? 'uk-UA' : 'en-US', { minimumFractionDigits: cents ? 2 : 0, maximumFractionDigits: 2 }).format(n);
  return `$${text}`;
}

/** "45" / "45.5": sizes without trailing zeros. */
export function formatSize(locale: Locale, value: string | number): string {
  return new Intl.NumberFormat(locale === 'uk' ? 'uk-UA' : 'en-US', { maximumFractionDigits: 2 }).format(Number(value));
}

export type Range = { kind: 'between'; from: string; to: string } | { kind: 'from'; from: string };

/** A from/to pair as people read it: "від A до B", or just "від A" when there is no upper bound (or it equals A). */
export function rangeOf(from: string | number, to: string | number | null | undefined, fmt: (v: string | number) => string): Range {
  if (to === null || to === undefined || to === '' || Number(to) === Number(from)) return { kind: 'from', from: fmt(from) };
  return { kind: 'between', from: fmt(from), to: fmt(to) };
}

/** Moves one id one step earlier or later in an ordered list; unknown ids and the ends leave it as it is. */
export function moveInOrder<T>(ids: readonly T[], id: T, direction: 'up' | 'down'): T[] {
  const out = [...ids];
  const i = out.indexOf(id);
  const j = direction === 'up' ? i - 1 : i + 1;
  if (i < 0 || j < 0 || j >= out.length) return out;
  [out[i], out[j]] = [out[j]!, out[i]!];
  return out;
}
