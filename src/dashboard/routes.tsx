// The dashboard (cards, charts, filtered table), its CSV export, and the leaderboard.
import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { requireAdmin, requireUser } from '../auth/guards.server.ts';
import { formatDateTime } from '../platform/i18n.ts';
import { leaderboard } from '../points/points.server.ts';
import { BUDGETS, COUNTRIES, SOURCES, STATUSES } from '../leads/domain.ts';
import { formatPhone } from '../leads/schemas.ts';
import { show } from '../leads/views.tsx';
import { BoundedMemo, TtlCache } from '../platform/cache.ts';
import { pagePath, pageTemplate } from '../platform/views.ts';
import type { VNode } from 'preact';
import type { ViewContext } from '../views/context.ts';
import { type PageTemplate, renderEncodedFragment } from '../views/render.ts';
import { csvLine } from './csv.ts';
import * as q from './queries.server.ts';
import { AGENT_OPTIONS_URL, DashboardBody, DashboardPage, type FilterAgent } from './views.tsx';
import { LeaderboardPage } from './leaderboard.tsx';

const EXPORT_BATCH = 1000;
const EXPORT_MAX_ROWS = 200_000;

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const ttlMs = app.config.dashboardCacheSeconds * 1000;
  // Cards and charts are the costly part of the page (grouped scans over every lead in scope); they are
  // cached under the scope's lead version (migrations/0012), so any change to those leads is seen at once.
  const summaryCache = new TtlCache<q.Summary>(ttlMs, 2000);
  // An admin's figures without filters are summed from each agent's, kept under each agent's version
  // (decision 025): the grouped rows are exact under it, so they are kept an hour (or as long as the cache
  // is on); the weekly counts slide with time and expire with the rest.
  const agentFigures: q.AgentFigureCaches = {
    groups: new TtlCache(ttlMs > 0 ? Math.max(ttlMs, 3_600_000) : 0, 20_000),
    weeks: new TtlCache(ttlMs, 20_000),
  };
  // The whole body (cards, charts, table) rendered, under the same version (decision 019), and the whole
  // page around it but the CSRF token (decision 023): an unchanged dashboard costs the session (from the
  // instance's memory, or one statement) and the token. ~60 KB an entry, kept as UTF-8 bytes.
  const pageCache = new TtlCache<{ page: PageTemplate; render: (ctx: ViewContext) => VNode }>(ttlMs, 500);
  // The filter as parsed from each query string seen (pure; the same few are asked again and again).
  const filters = new BoundedMemo<{ filter: q.LeadFilter; key: string }>(1000);
  // The admins' agent filter: a new agent may take DASHBOARD_CACHE_SECONDS (and the browser's minute) to
  // appear in it. Kept with its JSON for AGENT_OPTIONS_URL.
  const agentsCache = new TtlCache<AgentList>(ttlMs, 1);
  const agentList = (db: q.DbLike) => agentsCache.get('agents', async () => agentListOf(await q.filterAgents(db)));
  app.get('/dashboard', { config: { leadVersion: true, sessionCache: true } }, async (request, reply) => {
    const user = requireUser(request);
    const query = request.url.indexOf('?');
    const { filter, key: filterKey } = filters.get(query < 0 ? '' : request.url.slice(query), () => {
      const parsed = q.filterSchema.parse(request.query ?? {});
      return { filter: parsed, key: JSON.stringify(parsed) };
    });
    const { db, t, locale } = request;
    // The lead version, read with the session (route config leadVersion): before anything it covers, so a
    // change committed meanwhile is never cached under the older one.
    const version = request.leadVersion;
    if (version === null) throw new Error('the lead version is read with the session on this route');
    const key = `${user.id}|${user.role}|${user.displayName}|${locale}|${pagePath(request)}|${version}|${filterKey}`;
    const { page, render } = await pageCache.get(key, async () => {
      const { cards, charts } = await q.cachedSummary(db, user, filter, summaryCache, version, agentFigures);
      const pageData = await q.page(db, user, filter, cards.total);
      const agents = user.role === 'admin' ? (await agentList(db)).agents : null;
      const body = renderEncodedFragment(<DashboardBody ctx={{ t, locale, user }} data={{ cards, charts, ...pageData, filter, agents }} />);
      const render = (ctx: ViewContext) => <DashboardPage ctx={ctx} body={body} />;
      return { page: pageTemplate(request, render), render };
    });
    return reply.viewTemplate(page, render);
  });

  // The agent filter's options (views.tsx AgentFilter), for admins; the browser keeps them a minute and
  // then asks again with the ETag.
  app.get(AGENT_OPTIONS_URL, async (request, reply) => {
    requireAdmin(request);
    const list = await agentList(request.db);
    reply.header('cache-control', 'private, max-age=60').header('etag', list.etag);
    if (request.headers['if-none-match'] === list.etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(list.json);
  });

  // Streamed in batches, so a large export neither holds the whole table in memory nor one long query.
  app.get('/leads/export.csv', async (request, reply) => {
    const user = requireUser(request);
    const filter = q.filterSchema.parse(request.query ?? {});
    const t = request.t;
    const db = request.db;
    const locale = request.locale;
    async function* rows() {
      yield `\uFEFF${csvLine([
        'ID', t('dashboard.col.deal'), t('dashboard.col.phone'), t('dashboard.col.email'), t('dashboard.col.agent'), t('dashboard.col.budget'),
        t('dashboard.col.status'), 'HubSpot', t('dashboard.col.country'), t('dashboard.col.source'), t('dashboard.col.created'),
      ])}`;
      const ctx = { t, locale } as Parameters<typeof show>[0];
      for (let offset = 0; offset < EXPORT_MAX_ROWS; offset += EXPORT_BATCH) {
        const batch = await q.listQuery(db, user, filter).select('leads.email').limit(EXPORT_BATCH).offset(offset).execute();
        let chunk = '';
        for (const r of batch) {
          chunk += csvLine([
            r.id, r.deal_name, formatPhone(r.phone), r.email, r.agent_name, show(ctx, BUDGETS, r.budget), show(ctx, STATUSES, r.status),
            r.hubspot_stage_label, r.country ? show(ctx, COUNTRIES, r.country) : '', r.source ? show(ctx, SOURCES, r.source) : '',
            formatDateTime(locale, r.created_at),
          ]);
        }
        if (chunk) yield chunk;
        if (batch.length < EXPORT_BATCH) break;
      }
    }
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="leads_${stamp}.csv"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(rows()));
  });

  app.get<{ Querystring: { period?: string } }>('/leaderboard', async (request, reply) => {
    requireUser(request);
    const period = request.query.period === 'all' ? 'all' : 'month';
    const since = period === 'month' ? startOfKyivMonth(new Date()) : null;
    const rows = await leaderboard(request.db, since);
    return reply.view((ctx) => <LeaderboardPage ctx={ctx} rows={rows} period={period} />);
  });
}

interface AgentList { agents: FilterAgent[]; json: string; etag: string }

function agentListOf(agents: FilterAgent[]): AgentList {
  const json = JSON.stringify({ agents: agents.map((a) => ({ id: a.id, name: a.display_name })) });
  return { agents, json, etag: `"${hash('sha256', json, 'base64url').slice(0, 22)}"` };
}

/** The first moment of the current month in Kyiv. */
export function startOfKyivMonth(now: Date): Date {
  const [y, m] = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Kyiv', year: 'numeric', month: '2-digit' }).format(now).split('-').map(Number);
  // Kyiv is UTC+2 or +3; find the instant whose Kyiv wall clock is the 1st 00:00.
  for (const offset of [2, 3]) {
    const candidate = new Date(Date.UTC(y!, m! - 1, 1, -offset));
    const wall = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Kyiv', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' }).format(candidate);
    if (wall.startsWith(`${y}-${String(m).padStart(2, '0')}-01`) && wall.endsWith('00')) return candidate;
  }
  return new Date(Date.UTC(y!, m! - 1, 1));
}
