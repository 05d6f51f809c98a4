// Lead enumerations (PRODUCT.md §4): the stored values are the contract with HubSpot and never change;
// labels go through i18n. Plus the pure rules: points, levels, statuses.
import type { MessageKey } from '../platform/i18n.ts';

export interface Option<V extends string = string> { value: V; label: MessageKey }

const options = <V extends string>(pairs: readonly (readonly [V, MessageKey])[]): Option<V>[] => pairs.map(([value, label]) => ({ value, label }));

export const BUDGETS = options([
  ['до 200к', 'lead.budget.upTo200k'], ['200к–500к', 'lead.budget.200to500k'], ['500к–1млн', 'lead.budget.500kTo1m'], ['1млн+', 'lead.budget.over1m'],
] as const);

export const STATUSES = options([
  ['new', 'lead.status.new'], ['contacted', 'lead.status.contacted'], ['qualified', 'lead.status.qualified'], ['closed', 'lead.status.closed'],
] as const);
export type LeadStatus = (typeof STATUSES)[number]['value'];
export const ACTIVE_STATUSES: LeadStatus[] = ['new', 'contacted', 'qualified'];

export const COUNTRIES = options([
  ['Дубай', 'country.dubai'], ['Турція', 'country.turkey'], ['Балі', 'country.bali'], ['Таїланд', 'country.thailand'],
  ['Камбоджа', 'country.cambodia'], ['Оман', 'country.oman'], ['Абу-Дабі', 'country.abuDhabi'], ['Мальдіви', 'country.maldives'],
  ['Румунія', 'country.romania'], ['Іспанія', 'country.spain'], ['Чорногорія', 'country.montenegro'], ['Греція', 'country.greece'],
  ['Північний Кіпр', 'country.northCyprus'], ['Південний Кіпр', 'country.southCyprus'],
] as const);

export const PURCHASE_GOALS = options([
  ['перепродажа', 'lead.goal.resale'], ['под аренду', 'lead.goal.rent'], ['для себя', 'lead.goal.self'],
] as const);

export const PROPERTY_TYPES = options([
  ['офф-план', 'lead.propertyType.offPlan'], ['вторичка', 'lead.propertyType.secondary'], ['коммерция', 'lead.propertyType.commercial'],
] as const);

export const OBJECT_TYPES = options([
  ['апартаменты', 'lead.objectType.apartments'], ['вилла', 'lead.objectType.villa'], ['таунхаус', 'lead.objectType.townhouse'],
  ['отельный номер', 'lead.objectType.hotelRoom'], ['отель', 'lead.objectType.hotel'],
  ['коммерческое помещение', 'lead.objectType.commercialPremises'], ['земля', 'lead.objectType.land'],
] as const);

export const LANGUAGES = options([
  ['украинский', 'lead.language.uk'], ['русский', 'lead.language.ru'], ['английский', 'lead.language.en'],
] as const);

export const SOURCES = options([
  ['блогер-агент', 'lead.source.bloggerAgent'], ['агент', 'lead.source.agent'], ['ютуб', 'lead.source.youtube'],
  ['соц сети компании', 'lead.source.companySocial'], ['соц сети Логачева', 'lead.source.logachevSocial'], ['сайт', 'lead.source.website'],
  ['рекомендация', 'lead.source.referral'], ['личный контакт', 'lead.source.personal'], ['реклама/таргет', 'lead.source.ads'],
] as const);

export const REFUSAL_REASONS = options([
  ['игнорирует звонки и смс', 'lead.refusal.ignores'], ['недостаточный бюджет', 'lead.refusal.budget'],
  ['не планирует покупать', 'lead.refusal.notPlanning'], ['купил сам или с другим АН', 'lead.refusal.boughtElsewhere'],
  ['не оставлял заявку', 'lead.refusal.neverAsked'], ['риелтор', 'lead.refusal.realtor'], ['менеджер застройщика', 'lead.refusal.developerManager'],
] as const);

export const MESSENGERS = options([
  ['whatsapp', 'lead.messenger.whatsapp'], ['telegram', 'lead.messenger.telegram'], ['viber', 'lead.messenger.viber'],
  ['botim', 'lead.messenger.botim'], ['signal', 'lead.messenger.signal'],
] as const);

export const values = <V extends string>(opts: Option<V>[]) => opts.map((o) => o.value) as [V, ...V[]];

/** The label key for a stored value; values from HubSpot outside the list are shown as they are. */
export function labelOf(opts: Option[], value: string | null | undefined): MessageKey | null {
  return opts.find((o) => o.value === value)?.label ?? null;
}

// Points and levels (PRODUCT.md §4.13, §6.4): an append-only ledger; totals are sums of events.
export const POINTS = { lead_created: 100, deal_closed: 1000 } as const;
export type PointsEventKind = 'lead_created' | 'deal_closed' | 'deal_reopened' | 'lead_deleted';

export const LEVELS = [
  { level: 'bronze', min: 0, label: 'level.bronze' },
  { level: 'silver', min: 2000, label: 'level.silver' },
  { level: 'gold', min: 5000, label: 'level.gold' },
  { level: 'platinum', min: 10000, label: 'level.platinum' },
] as const satisfies readonly { level: string; min: number; label: MessageKey }[];
export type Level = (typeof LEVELS)[number]['level'];

export function levelFor(points: number): (typeof LEVELS)[number] {
  let current: (typeof LEVELS)[number] = LEVELS[0];
  for (const l of LEVELS) if (points >= l.min) current = l;
  return current;
}

/** Progress towards the next level, 0–100, and how many points remain (null at the top). */
export function levelProgress(points: number): { level: (typeof LEVELS)[number]; next: (typeof LEVELS)[number] | null; percent: number; remaining: number | null } {
  const level = levelFor(points);
  const idx = LEVELS.findIndex((l) => l.level === level.level);
  const next = LEVELS[idx + 1] ?? null;
  if (!next) return { level, next: null, percent: 100, remaining: null };
  const percent = Math.max(0, Math.min(100, Math.floor(((points - level.min) / (next.min - level.min)) * 100)));
  return { level, next, percent, remaining: next.min - points };
}

export function conversionRate(closed: number, total: number): number {
  return total === 0 ? 0 : Math.round((closed / total) * 1000) / 10;
}
