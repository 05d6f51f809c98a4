// The one i18n call: t(key, params). Ukrainian first; English switchable and remembered in a cookie.
import { en } from '../views/i18n/en.ts';
import { type MessageKey, uk } from '../views/i18n/uk.ts';
import type { Locale } from '../db/schema.ts';
import { BoundedMemo } from './cache.ts';

export type { MessageKey };
export const LOCALES: readonly Locale[] = ['uk', 'en'];
export const DEFAULT_LOCALE: Locale = 'uk';
export const TIME_ZONE = 'Europe/Kyiv';

const catalogs: Record<Locale, Record<MessageKey, string>> = { uk, en };

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function isLocale(v: unknown): v is Locale {
  return typeof v === 'string' && (LOCALES as readonly string[]).includes(v);
}

export function isMessageKey(v: unknown): v is MessageKey {
  return typeof v === 'string' && Object.hasOwn(uk, v);
}

export function translator(locale: Locale): Translate {
  const catalog = catalogs[locale];
  return (key, params) => {
    const text = catalog[key] ?? uk[key] ?? key;
    return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
  };
}

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();
// Formatting is slow (a microsecond a call, two calls a row of the lead list) and the same leads' dates are
// shown again and again: texts are kept, up to a bound.
const formattedDates = new BoundedMemo<string>(20_000);

function dateTimeFormat(locale: Locale, withTime: boolean, month: 'long' | '2-digit'): Intl.DateTimeFormat {
  const key = `${locale}:${withTime}:${month}`;
  let fmt = dateTimeFormats.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat(locale === 'uk' ? 'uk-UA' : 'en-GB', {
      timeZone: TIME_ZONE, day: '2-digit', month, year: 'numeric',
      ...(withTime ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } : {}),
    });
    dateTimeFormats.set(key, fmt);
  }
  return fmt;
}

/** A date and time as people in Kyiv read it, in the UI language ("26 листопада 2026 р. о 11:54"). */
export function formatDateTime(locale: Locale, value: Date | string | null | undefined, withTime = true): string {
  return formatDate(locale, value, withTime, 'long');
}

/** The same in figures, for tables ("26.11.2026", "26.11.2026, 11:54"; "26/11/2026" in English). */
export function formatShortDate(locale: Locale, value: Date | string | null | undefined, withTime = false): string {
  return formatDate(locale, value, withTime, '2-digit');
}

function formatDate(locale: Locale, value: Date | string | null | undefined, withTime: boolean, month: 'long' | '2-digit'): string {
  if (!value) return '';
  const date = typeof value === 'string' ? new Date(value) : value;
  return formattedDates.get(`${locale}:${withTime}:${month}:${date.getTime()}`, () => dateTimeFormat(locale, withTime, month).format(date));
}
