// Dashboard figures and the filtered, sorted, paged lead list. A fixed number of queries per page
// (cards, three charts, one page of rows with its total): no per-row lookups.
import { type ExpressionBuilder, type Kysely, sql, type Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import type { TtlCache } from '../platform/cache.ts';
import { ACTIVE_STATUSES, COUNTRIES, SOURCES, STATUSES, values } from '../leads/domain.ts';
import { leadScope } from '../leads/leads.server.ts';
import type { CurrentUser } from '../views/context.ts';

export type DbLike = Kysely<Database> | Transaction<Database>;
export const PAGE_SIZE = 20;

export const SORTS = ['created_at', 'updated_at', 'deal_name', 'agent', 'budget', 'status', 'country', 'source'] as const;
export type SortKey = (typeof SORTS)[number];

const blank = (v: unknown) => (v === '' ? undefined : v);
export const filterSchema = z.object({
  status: z.preprocess(blank, z.enum(values(STATUSES)).optional()).catch(undefined),
  stage: z.preprocess(blank, z.string().regex(/^\d{1,20}$/).optional()).catch(undefined),
  source: z.preprocess(blank, z.enum(values(SOURCES)).optional()).catch(undefined),
  country: z.preprocess(blank, z.enum(values(COUNTRIES)).optional()).catch(undefined),
  from: z.preprocess(blank, z.iso.date().optional()).catch(undefined),
  to: z.preprocess(blank, z.iso.date().optional()).catch(undefined),
  agent: z.preprocess(blank, z.union([z.literal('mine'), z.coerce.number().int().positive()]).optional()).catch(undefined),
  duplicates: z.preprocess(blank, z.literal('1').optional()).catch(undefined),
  q: z.preprocess(blank, z.string().trim().max(100).optional()).catch(undefined),
  sort: z.preprocess(blank, z.enum(SORTS).default('created_at')).catch('created_at'),
  order: z.preprocess(blank, z.enum(['asc', 'desc']).default('desc')).catch('desc'),
  page: z.preprocess(blank, z.coerce.number().int().min(1).max(100000).default(1)).catch(1),
});
export type LeadFilter = z.output<typeof filterSchema>;

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The WHERE clause shared by cards, charts, table and CSV: scope first, then the user's filters. */
export function filtered(user: CurrentUser, f: Omit<LeadFilter, 'sort' | 'order' | 'page'>) {
  return (eb: ExpressionBuilder<Database, 'leads'>) => {
    const and = [leadScope(user)(eb)];
    if (f.status) and.push(eb('leads.status', '=', f.status));
    if (f.stage) and.push(eb('leads.hubspot_stage_id', '=', f.stage));
    if (f.source) and.push(eb('leads.source', '=', f.source));
    if (f.country) and.push(eb('leads.country', '=', f.country));
    if (f.duplicates) and.push(eb('leads.possible_duplicate', '=', true));
    if (f.from) and.push(eb('leads.created_at', '>=', sql<Date>`(${f.from}::date)::timestamp at time zone 'Europe/Kyiv'`));
    if (f.to) and.push(eb('leads.created_at', '<', sql<Date>`(${f.to}::date + 1)::timestamp at time zone 'Europe/Kyiv'`));
    if (user.role === 'admin' && f.agent === 'mine') {
      and.push(eb('leads.agent_id', 'in', eb.selectFrom('users').select('users.id').where('users.admin_id', '=', user.id)));
    } else if (user.role === 'admin' && typeof f.agent === 'number') {
      and.push(eb('leads.agent_id', '=', f.agent));
    }
    if (f.q) {
      const like = `%${escapeLike(f.q.toLowerCase())}%`;
      const digits = f.q.replace(/\D/g, '');
      const ors = [eb(sql`lower(leads.deal_name)`, 'like', like), eb(sql`lower(leads.email)`, 'like', like)];
      if (digits.length >= 3) {
        ors.push(eb('leads.phone', 'like', `%${digits}%`), eb('leads.second_phone', 'like', `%${digits}%`));
      }
      and.push(eb.or(ors));
    }
    return eb.and(and);
  };
}

export interface Cards { total: number; active: number; closed: number; transferred: number; conversion: number }

export interface Charts {
  weekly: { week: string; count: number }[];
  byStage: { label: string; status: string; count: number }[];
  bySource: { source: string | null; count: number }[];
}

export interface Summary { cards: Cards; charts: Charts }

/** One row of the grouped scan: leads by (status, stage label, source). */
interface Group { status: string; label: string; source: string | null; n: number; transferred: number }
type Week = { week: string; count: number };

const groupColumns = [
  'leads.status', sql<string>`coalesce(leads.hubspot_stage_label, '')`.as('label'), 'leads.source',
  sql<number>`count(*)::int`.as('n'), sql<number>`(count(*) filter (where is_transferred))::int`.as('transferred'),
] as const;
const weekColumn = sql<Date>`date_trunc('week', leads.created_at at time zone 'Europe/Kyiv')`;
const inWindow = sql<Date>`now() - interval '12 weeks'`;

/** The grouped rows added up: what the cards and the stage and source charts are made from. */
interface Tally {
  total: number; active: number; closed: number; transferred: number;
  stage: Map<string, { label: string; status: string; count: number }>;
  source: Map<string | null, number>;
}

const ACTIVE = new Set<string>(ACTIVE_STATUSES);

const emptyTally = (): Tally => ({ total: 0, active: 0, closed: 0, transferred: 0, stage: new Map(), source: new Map() });

function tally(groups: Iterable<Group>): Tally {
  const t = emptyTally();
  for (const g of groups) {
    t.total += g.n;
    t.transferred += g.transferred;
    if (g.status === 'closed') t.closed += g.n;
    if (ACTIVE.has(g.status)) t.active += g.n;
    const key = `${g.status}|${g.label}`;
    const s = t.stage.get(key);
    if (s) s.count += g.n;
    else t.stage.set(key, { label: g.label, status: g.status, count: g.n });
    t.source.set(g.source, (t.source.get(g.source) ?? 0) + g.n);
  }
  return t;
}

/** Tallies added into a new one (each agent's, for an admin); the parts are never changed. */
function addTallies(parts: Iterable<Tally>): Tally {
  const sum = emptyTally();
  for (const t of parts) {
    sum.total += t.total;
    sum.active += t.active;
    sum.closed += t.closed;
    sum.transferred += t.transferred;
    for (const [key, s] of t.stage) {
      const have = sum.stage.get(key);
      if (have) have.count += s.count;
      else sum.stage.set(key, { ...s });
    }
    for (const [src, n] of t.source) sum.source.set(src, (sum.source.get(src) ?? 0) + n);
  }
  return sum;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Cards and charts from a tally and the weekly counts (summed when they come per agent). */
function fromTally(t: Tally, weeks: Iterable<Week>): Summary {
  const weekly = new Map<string, number>();
  for (const w of weeks) weekly.set(w.week, (weekly.get(w.week) ?? 0) + w.count);
  return {
    cards: {
      total: t.total, active: t.active, closed: t.closed, transferred: t.transferred,
      conversion: t.total ? Math.round((t.closed / t.total) * 1000) / 10 : 0,
    },
    charts: {
      weekly: [...weekly].sort(([a], [b]) => compare(a, b)).map(([week, count]) => ({ week, count })),
      // Ties in a fixed order, so figures summed per agent equal those of one scan.
      byStage: [...t.stage.values()].map((s) => ({ ...s })).sort((a, b) => b.count - a.count || compare(a.status, b.status) || compare(a.label, b.label)),
      bySource: [...t.source].map(([source, count]) => ({ source, count })).sort((a, b) => b.count - a.count || compare(a.source ?? '', b.source ?? '')),
    },
  };
}

/**
 * Cards and charts from two grouped scans: one by (status, stage label, source) from which the cards,
 * the stage chart and the source chart are all derived, and one by week. No per-row work, one
 * connection at a time (a dashboard never holds several pool connections).
 */
export async function summary(db: DbLike, user: CurrentUser, f: LeadFilter): Promise<Summary> {
  const where = filtered(user, f);
  const groups = await db.selectFrom('leads').select(groupColumns).where(where).groupBy(['leads.status', sql`2`, 'leads.source']).execute();
  // Group on the truncated timestamp, format only the ~12 groups.
  const weekly = await db.selectFrom(
    db.selectFrom('leads').select([weekColumn.as('week'), sql<number>`count(*)::int`.as('count')])
      .where(where).where('leads.created_at', '>=', inWindow).groupBy(sql`1`).as('w'),
  ).select([sql<string>`to_char(w.week, 'YYYY-MM-DD')`.as('week'), 'w.count']).execute();
  return fromTally(tally(groups), weekly);
}

/**
 * One agent's grouped rows and weekly counts, each under that agent's lead version (read before them, so
 * never older than their key). An admin's figures without filters (all leads, "my brokers", one agent)
 * are the sum of whole agents' figures: after a change only the agents whose version moved are read
 * again — one agent's few hundred leads instead of a scan of every lead (decision 025).
 */
export interface AgentFigureCaches {
  /** Grouped rows added up: a pure function of the agent's leads, so exact under the version for as long as kept. */
  groups: TtlCache<Tally>;
  /** Weekly counts: the 12-week window also slides with time, so kept only DASHBOARD_CACHE_SECONDS. */
  weeks: TtlCache<Week[]>;
}

/** Filters under which the figures are a sum of whole agents' figures. */
function wholeAgents(f: LeadFilter): boolean {
  return !f.status && !f.stage && !f.source && !f.country && !f.from && !f.to && !f.duplicates && !f.q;
}

/** Past this many agents to read again, one scan of the whole scope beats a list of ids. */
const MAX_LISTED_AGENTS = 100;

async function summedByAgent(db: DbLike, user: CurrentUser, f: LeadFilter, caches: AgentFigureCaches): Promise<Summary> {
  // The agents in scope and their versions, in one statement before any lead is read.
  let scope = db.selectFrom('users').leftJoin('lead_versions', 'lead_versions.agent_id', 'users.id')
    .select(['users.id', sql<string>`coalesce(lead_versions.version, 0)::text`.as('version')]);
  if (f.agent === 'mine') scope = scope.where('users.admin_id', '=', user.id);
  else if (typeof f.agent === 'number') scope = scope.where('users.id', '=', f.agent);
  const agents = await scope.execute();

  // Each agent's value under its version; those missing are read in one statement and kept.
  const load = async <R, V>(cache: TtlCache<V>, read: (ids: number[] | null) => Promise<(R & { agent_id: number })[]>, make: (rows: R[]) => V): Promise<V[]> => {
    const keyOf = (a: { id: number; version: string }) => `${a.id}|${a.version}`;
    const have = await Promise.all(agents.map((a) => cache.peek(keyOf(a)) ?? null));
    const missing = agents.filter((_, i) => have[i] === null);
    if (missing.length === 0) return have as V[];
    const rows = await read(missing.length <= MAX_LISTED_AGENTS ? missing.map((a) => a.id) : null);
    const byAgent = new Map<number, R[]>(missing.map((a) => [a.id, []]));
    for (const row of rows) byAgent.get(row.agent_id)?.push(row);
    const made = new Map(missing.map((a) => [a.id, make(byAgent.get(a.id)!)]));
    for (const a of missing) cache.put(keyOf(a), made.get(a.id)!);
    return agents.map((a, i) => have[i] ?? made.get(a.id)!);
  };
  const restrict = <Q extends { where: (...args: any[]) => Q }>(q: Q, ids: number[] | null): Q => {
    if (ids) return q.where('leads.agent_id', 'in', ids);
    return f.agent === undefined ? q : q.where(filtered(user, f));
  };
  const groups = await load(caches.groups, (ids) => restrict(
    db.selectFrom('leads').select(['leads.agent_id', ...groupColumns]).groupBy(['leads.agent_id', 'leads.status', sql`3`, 'leads.source']),
    ids,
  ).execute(), tally);
  const weeks = await load(caches.weeks, (ids) => db.selectFrom(
    restrict(db.selectFrom('leads').select(['leads.agent_id', weekColumn.as('week'), sql<number>`count(*)::int`.as('count')])
      .where('leads.created_at', '>=', inWindow).groupBy(['leads.agent_id', sql`2`]), ids).as('w'),
  ).select(['w.agent_id', sql<string>`to_char(w.week, 'YYYY-MM-DD')`.as('week'), 'w.count']).execute(), (rows) => rows);
  return fromTally(addTallies(groups), weeks.flat());
}

/**
 * summary() through a cache keyed by the lead version (request.leadVersion, read with the session before
 * the figures, so a change committed in between is never cached under the older version): a lead
 * created, edited, moved or deleted changes the version and so the figures at once, on every instance; so
 * does renaming an agent or moving them to another admin ("my brokers", migrations/0013). What the version
 * does not see — the 12-week window sliding — is bounded by the cache's expiry. An admin's figures without
 * filters are summed from each agent's, kept under each agent's own version (summedByAgent).
 */
export async function cachedSummary(db: DbLike, user: CurrentUser, f: LeadFilter, cache: TtlCache<Summary>, version: number, agentCaches?: AgentFigureCaches): Promise<Summary> {
  // Admins share figures, except for "my brokers", which depends on who asks.
  const scope = user.role !== 'admin' ? `agent:${user.id}` : f.agent === 'mine' ? `admin:${user.id}` : 'admin';
  const key = `${scope}|${version}|${JSON.stringify({ ...f, page: 0, sort: '', order: '' })}`;
  const byAgent = user.role === 'admin' && agentCaches && wholeAgents(f);
  return cache.get(key, () => (byAgent ? summedByAgent(db, user, f, agentCaches) : summary(db, user, f)));
}

const SORT_COLUMNS: Record<SortKey, string> = {
  created_at: 'leads.created_at', updated_at: 'leads.updated_at', deal_name: 'leads.deal_name', agent: 'users.display_name',
  budget: 'leads.budget', status: 'leads.status', country: 'leads.country', source: 'leads.source',
};

/** An agent's own list, or an admin's filtered to one agent: every row has the same agent. */
const oneAgent = (user: CurrentUser, f: LeadFilter) => user.role !== 'admin' || typeof f.agent === 'number';

/**
 * The list's order: the chosen column, then id (so equal values page stably), every term in the one
 * direction, so an index (column, id) or (agent_id, column, id) read forwards or backwards serves it
 * (migrations/0014). A blank country or source is the greatest value: last going up, first going down.
 * By agent: by name, then agent, then id — within one agent's leads the name never changes, so by id.
 */
function sortColumns(user: CurrentUser, f: LeadFilter): string[] {
  if (f.sort === 'agent') return oneAgent(user, f) ? ['leads.id'] : ['users.display_name', 'leads.agent_id', 'leads.id'];
  return [SORT_COLUMNS[f.sort], 'leads.id'];
}

function ordered<Q extends { orderBy: (...args: any[]) => Q }>(q: Q, user: CurrentUser, f: LeadFilter): Q {
  const dir = f.order === 'asc' ? sql`asc` : sql`desc`;
  return sortColumns(user, f).reduce((acc, column) => acc.orderBy(sql`${sql.ref(column)} ${dir}`), q);
}

export function listQuery(db: DbLike, user: CurrentUser, f: LeadFilter) {
  return ordered(db.selectFrom('leads')
    .innerJoin('users', 'users.id', 'leads.agent_id')
    // What the table shows, and no more: every value read is parsed (the CSV export adds the email).
    .select([
      'leads.id', 'leads.deal_name', 'leads.phone', 'leads.budget', 'leads.status', 'leads.hubspot_stage_label',
      'leads.country', 'leads.source', 'leads.possible_duplicate', 'leads.created_at', 'users.display_name as agent_name',
    ])
    .where(filtered(user, f)), user, f);
}

/**
 * The ids of one page, walked in an index (the users join only when sorting by agent): skipping to a
 * deep page then passes over index entries, not over full rows joined to their agents.
 */
export function pageIds(db: DbLike, user: CurrentUser, f: LeadFilter, offset: number) {
  const byName = sortColumns(user, f).includes('users.display_name');
  const base = byName ? db.selectFrom('leads').innerJoin('users', 'users.id', 'leads.agent_id') : db.selectFrom('leads');
  return ordered(base.select('leads.id').where(filtered(user, f)), user, f).limit(PAGE_SIZE).offset(offset);
}

/** The agents an admin can filter the leads by (dashboard and board), or only the one with that id. */
export function filterAgents(db: DbLike, only?: number): Promise<{ id: number; display_name: string }[]> {
  return db.selectFrom('users').select(['id', 'display_name']).where('role', '=', 'agent')
    .$if(only !== undefined, (qb) => qb.where('id', '=', only!)).orderBy('display_name').execute();
}

export type LeadRow = Awaited<ReturnType<ReturnType<typeof listQuery>['execute']>>[number];

/** One page of rows; the total comes from the summary (same filter), so no window count over every row. */
export async function page(db: DbLike, user: CurrentUser, f: LeadFilter, total: number): Promise<{ rows: LeadRow[]; total: number; pages: number }> {
  const offset = (f.page - 1) * PAGE_SIZE;
  const rows = offset === 0
    ? await listQuery(db, user, f).limit(PAGE_SIZE).execute()
    : await listQuery(db, user, f).where('leads.id', 'in', pageIds(db, user, f, offset)).execute();
  return { rows, total, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)) };
}

export async function personalStats(db: DbLike, userId: number): Promise<{ leads: number; closed: number; conversion: number }> {
  const row = await db.selectFrom('leads').select([
    sql<number>`count(*)::int`.as('leads'),
    sql<number>`(count(*) filter (where status = 'closed'))::int`.as('closed'),
  ]).where('agent_id', '=', userId).executeTakeFirstOrThrow();
  return { ...row, conversion: row.leads ? Math.round((row.closed / row.leads) * 1000) / 10 : 0 };
}
