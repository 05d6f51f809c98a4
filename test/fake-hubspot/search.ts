// CRM search (HUBSPOT.md §2.4, §1.3): filter groups (OR) of filters (AND), one sort, offset paging,
// caps that answer 400, and an indexing delay — records are searched as the index last saw them.
import { edgesFrom } from './associations.ts';
import { DEFAULT_SEARCH_PROPERTIES, QUERY_PROPERTIES, SYSTEM_PROPERTIES } from './fixtures.ts';
import { isRecord, json, objectType, validation } from './http.ts';
import type { Ctx, Route } from './router.ts';
import type { FakeState } from './state.ts';
import { render } from './store.ts';
import type { CrmObject, ObjectType } from './types.ts';

const OPERATORS = new Set(['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN']);

interface Filter { propertyName: string; operator: string; value?: string; highValue?: string; values?: string[] }

/** Numbers, epoch ms and ISO dates compare as numbers; anything else as text. */
function comparable(v: string): number {
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) return Date.parse(v);
  return Number.NaN;
}

function compare(a: string, b: string): number {
  const na = comparable(a);
  const nb = comparable(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a.toLowerCase().localeCompare(b.toLowerCase());
}

function tokenMatch(value: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.toLowerCase().split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  const v = value.toLowerCase();
  return re.test(v) || v.split(/[\s,;]+/).some((t) => re.test(t));
}

function matches(values: string[], f: Filter): boolean {
  const has = values.length > 0;
  const any = (pred: (v: string) => boolean) => values.some(pred);
  const value = f.value ?? '';
  switch (f.operator) {
    case 'HAS_PROPERTY': return has;
    case 'NOT_HAS_PROPERTY': return !has;
    case 'EQ': return any((v) => compare(v, value) === 0);
    case 'NEQ': return !any((v) => compare(v, value) === 0);
    case 'LT': return any((v) => compare(v, value) < 0);
    case 'LTE': return any((v) => compare(v, value) <= 0);
    case 'GT': return any((v) => compare(v, value) > 0);
    case 'GTE': return any((v) => compare(v, value) >= 0);
    case 'BETWEEN': return any((v) => compare(v, value) >= 0 && compare(v, f.highValue ?? '') <= 0);
    case 'IN': return any((v) => (f.values ?? []).some((x) => compare(v, x) === 0));
    case 'NOT_IN': return !any((v) => (f.values ?? []).some((x) => compare(v, x) === 0));
    case 'CONTAINS_TOKEN': return any((v) => tokenMatch(v, value));
    case 'NOT_CONTAINS_TOKEN': return !any((v) => tokenMatch(v, value));
    default: return false;
  }
}

function parseFilters(state: FakeState, raw: unknown): Filter[][] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw validation('Invalid input JSON: "filterGroups" must be an array');
  const { searchMaxFilterGroups, searchMaxFiltersPerGroup, searchMaxFilters } = state.config;
  if (raw.length > searchMaxFilterGroups) throw validation(`Too many filter groups: ${raw.length}. The maximum is ${searchMaxFilterGroups}.`);
  const groups = raw.map((g) => {
    if (!isRecord(g) || !Array.isArray(g.filters)) throw validation('Invalid input JSON: every filter group needs "filters"');
    if (g.filters.length > searchMaxFiltersPerGroup) throw validation(`Too many filters in a filter group: ${g.filters.length}. The maximum is ${searchMaxFiltersPerGroup}.`);
    return g.filters.map((f): Filter => {
      if (!isRecord(f) || typeof f.propertyName !== 'string' || typeof f.operator !== 'string') throw validation('Invalid input JSON: a filter needs propertyName and operator');
      if (!OPERATORS.has(f.operator)) throw validation(`Invalid operator: ${f.operator}`);
      return {
        propertyName: f.propertyName, operator: f.operator,
        value: f.value === undefined ? undefined : String(f.value),
        highValue: f.highValue === undefined ? undefined : String(f.highValue),
        values: Array.isArray(f.values) ? f.values.map(String) : undefined,
      };
    });
  });
  const total = groups.reduce((n, g) => n + g.length, 0);
  if (total > searchMaxFilters) throw validation(`Too many filters: ${total}. The maximum is ${searchMaxFilters} across all filter groups.`);
  return groups;
}

/** The first sort only (HubSpot honours one), as `{propertyName, direction}` or `"-prop"`. */
function parseSort(raw: unknown): { name: string; desc: boolean } | null {
  if (raw === undefined) return null;
  if (!Array.isArray(raw)) throw validation('Invalid input JSON: "sorts" must be an array');
  const first: unknown = raw[0];
  if (first === undefined) return null;
  if (typeof first === 'string') return first.startsWith('-') ? { name: first.slice(1), desc: true } : { name: first, desc: false };
  if (isRecord(first) && typeof first.propertyName === 'string') return { name: first.propertyName, desc: first.direction === 'DESCENDING' };
  throw validation('Invalid input JSON: a sort is {propertyName, direction} or a property name');
}

/** What search sees of a record: the newest indexed version whose indexing delay has passed. */
function indexed(obj: CrmObject, now: number): Record<string, string> | null {
  const version = obj.index.findLast((v) => v.visibleAt <= now);
  return version && !version.archived ? version.properties : null;
}

function valuesOf(state: FakeState, obj: CrmObject, props: Record<string, string>, name: string): string[] {
  if (name.startsWith('associations.')) {
    let toType: ObjectType;
    try { toType = objectType(name.slice('associations.'.length)); } catch { return []; }
    return edgesFrom(state, obj.type, obj.id, toType).map((e) => e.toId);
  }
  const v = name === 'id' ? obj.id : props[name];
  return v === undefined || v === '' ? [] : [v];
}

function search({ state, params, body }: Ctx) {
  const type = objectType(params.type);
  const b = body === undefined ? {} : body;
  if (!isRecord(b)) throw validation('Invalid input JSON: expected a search request object');
  const { config } = state;
  const query = typeof b.query === 'string' ? b.query : '';
  if (query.length > config.searchMaxQueryLength) throw validation(`The query is ${query.length} characters long; the maximum is ${config.searchMaxQueryLength}.`);
  const groups = parseFilters(state, b.filterGroups);
  const sort = parseSort(b.sorts);
  const limit = b.limit === undefined ? 10 : Number(b.limit);
  if (!Number.isInteger(limit) || limit < 0 || limit > config.searchMaxLimit) throw validation(`limit must be between 0 and ${config.searchMaxLimit}, got ${String(b.limit)}`);
  const after = b.after === undefined || b.after === null || b.after === '' ? 0 : Number(b.after);
  if (!Number.isInteger(after) || after < 0) throw validation(`Invalid after: ${String(b.after)}`);
  if (after >= config.searchMaxResults) throw validation(`Search results are limited to ${config.searchMaxResults} per query; after=${after} is past that limit.`);

  const now = state.now();
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const hits: { obj: CrmObject; props: Record<string, string> }[] = [];
  for (const obj of state.objects[type].values()) {
    const props = indexed(obj, now);
    if (!props) continue;
    if (words.length && !words.every((w) => QUERY_PROPERTIES[type].some((p) => props[p]?.toLowerCase().includes(w)))) continue;
    if (groups.length && !groups.some((g) => g.every((f) => matches(valuesOf(state, obj, props, f.propertyName), f)))) continue;
    hits.push({ obj, props });
  }
  hits.sort((x, y) => {
    if (!sort) return Number(x.obj.id) - Number(y.obj.id);
    const a = x.props[sort.name];
    const c = y.props[sort.name];
    if (a === undefined || c === undefined) return a === c ? 0 : a === undefined ? 1 : -1;
    return (sort.desc ? -1 : 1) * compare(a, c) || Number(x.obj.id) - Number(y.obj.id);
  });

  const sys = SYSTEM_PROPERTIES[type];
  const asked = Array.isArray(b.properties) && b.properties.length ? b.properties.map(String) : DEFAULT_SEARCH_PROPERTIES[type];
  const properties = [...new Set([...asked, 'hs_object_id', sys.created, sys.modified])];
  const page = hits.slice(after, Math.min(after + limit, config.searchMaxResults));
  const results = page.map(({ obj, props }) => {
    // As indexed: a record archived after it was indexed still shows as live until re-indexed.
    const { archivedAt: _archivedAt, ...rest } = render(state, obj, { properties }, props);
    return { ...rest, archived: false, updatedAt: new Date(Date.parse(props[sys.modified] ?? '') || obj.updatedAt).toISOString() };
  });
  const out: Record<string, unknown> = { total: hits.length, results };
  const next = after + page.length;
  if (page.length > 0 && next < hits.length && next < config.searchMaxResults) out.paging = { next: { after: String(next) } };
  return json(200, out);
}

export const searchRoutes: Route[] = [{ method: 'POST', path: '/crm/v3/objects/:type/search', search: true, handler: search }];
