import { formatShortDate, type MessageKey } from '../platform/i18n.ts';
import { BUDGETS, COUNTRIES, SOURCES, STATUSES } from '../leads/domain.ts';
import { formatPhone } from '../leads/schemas.ts';
import { DEFAULT_STAGES } from '../leads/stages.ts';
import { show, StatusBadge, toSelect } from '../leads/views.tsx';
import type { FragmentContext, ViewContext } from '../views/context.ts';
import type { SelectOption } from '../views/forms.tsx';
import { AppPage } from '../views/layout.tsx';
import { type EncodedHtml, TrustedBlock } from '../views/render.ts';
import type { Cards, Charts, LeadFilter, LeadRow, SortKey } from './queries.server.ts';

export interface DashboardData {
  cards: Cards;
  charts: Charts;
  rows: LeadRow[];
  total: number;
  pages: number;
  filter: LeadFilter;
  agents: FilterAgent[] | null;
}

/** The query string for the current filter with some keys changed. */
export function filterQuery(f: LeadFilter, change: Partial<Record<keyof LeadFilter, string | number | undefined>> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...change })) {
    if (v === undefined || v === '' || (k === 'page' && Number(v) === 1) || (k === 'sort' && v === 'created_at') || (k === 'order' && v === 'desc')) continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

const CARD_DEFS: { key: keyof Cards; label: MessageKey; icon: string; suffix?: string }[] = [
  { key: 'total', label: 'dashboard.total', icon: 'people' },
  { key: 'active', label: 'dashboard.active', icon: 'activity' },
  { key: 'closed', label: 'dashboard.closed', icon: 'trophy' },
  { key: 'transferred', label: 'dashboard.transferred', icon: 'arrow-left-right' },
  { key: 'conversion', label: 'dashboard.conversion', icon: 'graph-up', suffix: ' %' },
];

function SortHeader({ ctx, f, col, label }: { ctx: FragmentContext; f: LeadFilter; col: SortKey; label: MessageKey }) {
  const active = f.sort === col;
  const nextOrder = active && f.order === 'desc' ? 'asc' : 'desc';
  return (
    <th scope="col" aria-sort={active ? (f.order === 'asc' ? 'ascending' : 'descending') : undefined}>
      <a href={`/dashboard${filterQuery(f, { sort: col, order: nextOrder, page: 1 })}`} class="text-reset text-decoration-none text-nowrap">
        {ctx.t(label)} {active && <i class={`bi bi-caret-${f.order === 'asc' ? 'up' : 'down'}-fill`} aria-hidden="true"></i>}
      </a>
    </th>
  );
}

/** One filter of the dashboard or the board ("flt-" / "bflt-" ids): "all" first, then the options. */
export function FilterSelect({ ctx, prefix = 'flt', name, label, all, value, options }: { ctx: FragmentContext; prefix?: string; name: string; label: MessageKey; all: MessageKey; value: string | undefined; options: SelectOption[] }) {
  return (
    <div class="col-6 col-md-2">
      <label class="form-label small" for={`${prefix}-${name}`}>{ctx.t(label)}</label>
      <select id={`${prefix}-${name}`} name={name} class="form-select form-select-sm">
        <option value="">{ctx.t(all)}</option>
        {options.map((o) => <option value={o.value} selected={value === o.value}>{o.label}</option>)}
      </select>
    </div>
  );
}

export interface FilterAgent { id: number; display_name: string }

/** Where the agent filter's full list comes from (public/app.js fills the select from it). */
export const AGENT_OPTIONS_URL = '/dashboard/agents.json';

/**
 * The admins' agent filter (dashboard and board). The page carries "all", "my brokers" and the chosen
 * agent; the other agents (hundreds: a third of an admin's page) come from AGENT_OPTIONS_URL, cached by
 * the browser (decision 029). Without JavaScript an admin reaches one agent's leads from the users page.
 */
export function AgentFilter({ ctx, prefix = 'flt', value, agents }: { ctx: FragmentContext; prefix?: string; value: LeadFilter['agent']; agents: FilterAgent[] }) {
  const chosen = typeof value === 'number' ? agents.find((a) => a.id === value) : undefined;
  return (
    <div class="col-6 col-md-2">
      <label class="form-label small" for={`${prefix}-agent`}>{ctx.t('dashboard.col.agent')}</label>
      <select id={`${prefix}-agent`} name="agent" class="form-select form-select-sm" data-options={AGENT_OPTIONS_URL}>
        <option value="">{ctx.t('dashboard.allAgents')}</option>
        <option value="mine" selected={value === 'mine'}>{ctx.t('dashboard.myBrokers')}</option>
        {chosen && <option value={String(chosen.id)} selected>{chosen.display_name}</option>}
      </select>
    </div>
  );
}

function ChartCard({ title, config, testid }: { title: string; config: object; testid: string }) {
  return (
    <div class="col-12 col-xl-4">
      <div class="card h-100"><div class="card-body">
        <h2 class="h6">{title}</h2>
        <div class="chart-box"><canvas data-chart={JSON.stringify(config)} data-testid={testid} aria-label={title} role="img"></canvas></div>
      </div></div>
    </div>
  );
}

/** The page around the body: the body is rendered ahead (DashboardBody) and may come from a cache. */
export function DashboardPage({ ctx, body }: { ctx: ViewContext; body: EncodedHtml }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('dashboard.title')} actions={<a href="/leads/new" class="btn btn-primary btn-sm"><i class="bi bi-plus-lg" aria-hidden="true"></i> <span class="btn-label">{ctx.t('nav.addLead')}</span></a>}>
      <TrustedBlock data-testid="dashboard-body" html={body} />
    </AppPage>
  );
}

/**
 * Cards, charts, filters, table and pages: everything of the dashboard that depends only on the user, the
 * language, the filter and the leads — so it can be rendered once and reused (routes.tsx).
 */
export function DashboardBody({ ctx, data }: { ctx: FragmentContext; data: DashboardData }) {
  const f = data.filter;
  const isAdmin = ctx.user?.role === 'admin';
  const statusLabel = (s: string) => show(ctx, STATUSES, s);
  const charts = data.charts;
  return (
    <>
      <p class="text-body-secondary" data-testid="dashboard-hello">{ctx.t('dashboard.hello', { name: ctx.user?.displayName ?? '' })}</p>
      <div class="row g-3 mb-3">
        {CARD_DEFS.map((c) => (
          <div class="col-6 col-md-4 col-xl">
            <div class="card metric-card h-100 card-body">
              <div class="small"><i class={`bi bi-${c.icon}`} aria-hidden="true"></i>{ctx.t(c.label)}</div>
              <b data-testid={`card-${c.key}`}>{String(data.cards[c.key])}{c.suffix ?? ''}</b>
            </div>
          </div>
        ))}
      </div>
      {data.cards.total > 0 && (
        <div class="row g-3 mb-3">
          <ChartCard testid="chart-weekly" title={ctx.t('dashboard.chartWeekly')} config={{ type: 'bar', labels: charts.weekly.map((w) => w.week), data: charts.weekly.map((w) => w.count) }} />
          <ChartCard testid="chart-stage" title={ctx.t('dashboard.chartStage')} config={{ type: 'doughnut', labels: charts.byStage.map((s) => s.label || statusLabel(s.status)), data: charts.byStage.map((s) => s.count) }} />
          <ChartCard testid="chart-source" title={ctx.t('dashboard.chartSource')} config={{ type: 'bar', horizontal: true, labels: charts.bySource.map((s) => (s.source ? show(ctx, SOURCES, s.source) : ctx.t('dashboard.noSource'))), data: charts.bySource.map((s) => s.count) }} />
        </div>
      )}
      <form method="get" action="/dashboard" class="card mb-3" data-testid="filters"><div class="card-body row g-2 align-items-end">
        <div class="col-12 col-md-4">
          <label class="form-label small" for="flt-q">{ctx.t('dashboard.search')}</label>
          <input id="flt-q" type="search" name="q" class="form-control form-control-sm" value={f.q ?? ''} maxLength={100} />
        </div>
        <FilterSelect ctx={ctx} name="status" label="dashboard.col.status" all="dashboard.allStatuses" value={f.status} options={toSelect(ctx, STATUSES)} />
        <FilterSelect ctx={ctx} name="stage" label="dashboard.stage" all="dashboard.allStages" value={f.stage} options={DEFAULT_STAGES.map((st) => ({ value: st.id, label: st.label }))} />
        <FilterSelect ctx={ctx} name="source" label="dashboard.col.source" all="dashboard.allSources" value={f.source} options={toSelect(ctx, SOURCES)} />
        <FilterSelect ctx={ctx} name="country" label="dashboard.col.country" all="dashboard.allCountries" value={f.country} options={toSelect(ctx, COUNTRIES)} />
        {isAdmin && data.agents && <AgentFilter ctx={ctx} value={f.agent} agents={data.agents} />}
        <div class="col-6 col-md-2">
          <label class="form-label small" for="flt-from">{ctx.t('dashboard.from')}</label>
          <input id="flt-from" type="date" name="from" class="form-control form-control-sm" value={f.from ?? ''} />
        </div>
        <div class="col-6 col-md-2">
          <label class="form-label small" for="flt-to">{ctx.t('dashboard.to')}</label>
          <input id="flt-to" type="date" name="to" class="form-control form-control-sm" value={f.to ?? ''} />
        </div>
        {isAdmin && (
          <div class="col-12 col-md-3 form-check ms-2">
            <input class="form-check-input" type="checkbox" id="flt-dup" name="duplicates" value="1" checked={f.duplicates === '1'} />
            <label class="form-check-label small" for="flt-dup">{ctx.t('dashboard.onlyDuplicates')}</label>
          </div>
        )}
        <input type="hidden" name="sort" value={f.sort} />
        <input type="hidden" name="order" value={f.order} />
        <div class="col-12 col-md-auto d-flex gap-2">
          <button type="submit" class="btn btn-sm btn-primary">{ctx.t('dashboard.apply')}</button>
          <a href="/dashboard" class="btn btn-sm btn-outline-secondary">{ctx.t('dashboard.reset')}</a>
          <a href={`/leads/export.csv${filterQuery(f, { page: 1 })}`} class="btn btn-sm btn-outline-success" data-testid="export-csv"><i class="bi bi-download" aria-hidden="true"></i> {ctx.t('dashboard.export')}</a>
        </div>
      </div></form>
      {data.cards.total === 0 && !f.q && !f.status && !f.source && !f.country && !f.from && !f.to && f.agent === undefined ? (
        <div class="card"><div class="card-body text-center py-5" data-testid="dashboard-empty">
          <h2 class="h5">{ctx.t('dashboard.empty')}</h2>
          <p class="text-body-secondary mb-0">{ctx.t('dashboard.emptyHint')}</p>
        </div></div>
      ) : (
        <div class="card"><div class="table-responsive">
          <table class="table table-hover align-middle mb-0 leads-table" data-testid="leads-table">
            <thead><tr>
              <SortHeader ctx={ctx} f={f} col="deal_name" label="dashboard.col.deal" />
              {isAdmin && <SortHeader ctx={ctx} f={f} col="agent" label="dashboard.col.agent" />}
              <SortHeader ctx={ctx} f={f} col="budget" label="dashboard.col.budget" />
              <SortHeader ctx={ctx} f={f} col="status" label="dashboard.col.status" />
              <SortHeader ctx={ctx} f={f} col="country" label="dashboard.col.country" />
              <SortHeader ctx={ctx} f={f} col="source" label="dashboard.col.source" />
              <SortHeader ctx={ctx} f={f} col="created_at" label="dashboard.col.created" />
            </tr></thead>
            <tbody>
              {data.rows.length === 0 && <tr><td colSpan={isAdmin ? 7 : 6} class="text-center text-body-secondary py-4">{ctx.t('dashboard.noMatches')}</td></tr>}
              {data.rows.map((r) => (
                <tr data-lead-id={String(r.id)}>
                  <td>
                    <a href={`/leads/${r.id}`}>{r.deal_name}</a>
                    {r.possible_duplicate && <span class="badge text-bg-danger ms-1">{ctx.t('lead.duplicateBadge')}</span>}
                    <div class="tel">{formatPhone(r.phone)}</div>
                  </td>
                  {isAdmin && <td>{r.agent_name}</td>}
                  <td>{show(ctx, BUDGETS, r.budget)}</td>
                  <td><StatusBadge ctx={ctx} lead={r} /></td>
                  <td>{r.country ? show(ctx, COUNTRIES, r.country) : '—'}</td>
                  <td>{r.source ? show(ctx, SOURCES, r.source) : '—'}</td>
                  <td title={formatShortDate(ctx.locale, r.created_at, true)}>{formatShortDate(ctx.locale, r.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="card-footer d-flex flex-wrap justify-content-between align-items-center gap-2">
          <span class="small text-body-secondary" data-testid="page-info">{ctx.t('dashboard.pageOf', { page: f.page, pages: data.pages, total: data.total })}</span>
          <nav aria-label="pagination"><ul class="pagination pagination-sm mb-0">
            <li class={`page-item${f.page <= 1 ? ' disabled' : ''}`}><a class="page-link" href={`/dashboard${filterQuery(f, { page: f.page - 1 })}`}>{ctx.t('dashboard.prev')}</a></li>
            <li class={`page-item${f.page >= data.pages ? ' disabled' : ''}`}><a class="page-link" href={`/dashboard${filterQuery(f, { page: f.page + 1 })}`} data-testid="next-page">{ctx.t('dashboard.next')}</a></li>
          </ul></nav>
        </div></div>
      )}
    </>
  );
}
