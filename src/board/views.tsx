// The pipeline board page: one column per stage, scrolling sideways on a phone. Each card carries a
// "move to stage" form that works without JavaScript; public/board.js adds drag and drop on top.
import { BUDGETS, COUNTRIES, SOURCES } from '../leads/domain.ts';
import { formatPhone } from '../leads/schemas.ts';
import type { Stage } from '../leads/stages.ts';
import { show, toSelect } from '../leads/views.tsx';
import type { LeadFilter } from '../dashboard/queries.server.ts';
import { AgentFilter, type FilterAgent, FilterSelect, filterQuery } from '../dashboard/views.tsx';
import type { ViewContext } from '../views/context.ts';
import { AppPage, CsrfField } from '../views/layout.tsx';
import type { BoardCard, BoardColumn } from './board.server.ts';

export interface BoardData {
  columns: BoardColumn[];
  stages: Stage[];
  filter: LeadFilter;
  agents: FilterAgent[] | null;
  /** A field message to show (a refused move re-shows the board with it). */
  error?: string;
}

/** The board's own address with the current filters, to come back to after a move. */
export function boardQuery(f: LeadFilter): string {
  return filterQuery({ ...f, sort: 'created_at', order: 'desc', page: 1 });
}

function Filters({ ctx, data }: { ctx: ViewContext; data: BoardData }) {
  const f = data.filter;
  return (
    <form method="get" action="/board" class="card mb-3" data-testid="board-filters"><div class="card-body row g-2 align-items-end">
      <div class="col-12 col-md-3">
        <label class="form-label small" for="bflt-q">{ctx.t('dashboard.search')}</label>
        <input id="bflt-q" type="search" name="q" class="form-control form-control-sm" value={f.q ?? ''} maxLength={100} />
      </div>
      <FilterSelect ctx={ctx} prefix="bflt" name="source" label="dashboard.col.source" all="dashboard.allSources" value={f.source} options={toSelect(ctx, SOURCES)} />
      <FilterSelect ctx={ctx} prefix="bflt" name="country" label="dashboard.col.country" all="dashboard.allCountries" value={f.country} options={toSelect(ctx, COUNTRIES)} />
      {data.agents && <AgentFilter ctx={ctx} prefix="bflt" value={f.agent} agents={data.agents} />}
      <div class="col-6 col-md-auto">
        <label class="form-label small" for="bflt-from">{ctx.t('dashboard.from')}</label>
        <input id="bflt-from" type="date" name="from" class="form-control form-control-sm" value={f.from ?? ''} />
      </div>
      <div class="col-6 col-md-auto">
        <label class="form-label small" for="bflt-to">{ctx.t('dashboard.to')}</label>
        <input id="bflt-to" type="date" name="to" class="form-control form-control-sm" value={f.to ?? ''} />
      </div>
      <div class="col-12 col-md-auto d-flex gap-2">
        <button type="submit" class="btn btn-sm btn-primary">{ctx.t('dashboard.apply')}</button>
        <a href="/board" class="btn btn-sm btn-outline-secondary">{ctx.t('dashboard.reset')}</a>
      </div>
    </div></form>
  );
}

function Card({ ctx, card, column, stages, next, showAgent }: { ctx: ViewContext; card: BoardCard; column: Stage; stages: Stage[]; next: string; showAgent: boolean }) {
  const selectId = `move-${card.id}`;
  return (
    <li class="board-card card shadow-sm" draggable={true} id={`card-${card.id}`} data-lead-id={String(card.id)} data-testid="board-card" data-deal-name={card.deal_name}>
      <div class="card-body p-2">
        <div class="board-card-grip small text-body-secondary" aria-hidden="true"><i class="bi bi-grip-horizontal"></i></div>
        <a href={`/leads/${card.id}`} class="fw-semibold board-card-title" draggable={false}>{card.deal_name}</a>
        {card.possible_duplicate && <span class="badge text-bg-danger ms-1">{ctx.t('lead.duplicateBadge')}</span>}
        <div class="small text-body-secondary text-nowrap">{formatPhone(card.phone)}</div>
        <div class="small">
          {show(ctx, BUDGETS, card.budget)}
          {card.country && <span class="text-body-secondary"> · {show(ctx, COUNTRIES, card.country)}</span>}
        </div>
        {showAgent && <div class="small text-body-secondary" data-testid="board-card-agent"><i class="bi bi-person" aria-hidden="true"></i> {card.agent_name}</div>}
        <form method="post" action="/board/move" class="board-move d-flex gap-1 mt-2" data-testid="board-move">
          <CsrfField ctx={ctx} />
          <input type="hidden" name="lead_id" value={String(card.id)} />
          <input type="hidden" name="next" value={next} />
          <label class="visually-hidden" for={selectId}>{ctx.t('board.moveLabel', { name: card.deal_name })}</label>
          <select id={selectId} name="stage_id" class="form-select form-select-sm">
            {stages.map((s) => <option value={s.id} selected={s.id === column.id}>{s.label}</option>)}
          </select>
          <button type="submit" class="btn btn-sm btn-outline-primary">{ctx.t('board.move')}</button>
        </form>
      </div>
    </li>
  );
}

export function BoardPage({ ctx, data }: { ctx: ViewContext; data: BoardData }) {
  const q = boardQuery(data.filter);
  const next = `/board${q}`;
  const dashboardFilter = (stageId: string) => `/dashboard${filterQuery({ ...data.filter, sort: 'updated_at', order: 'desc', page: 1, status: undefined, stage: stageId })}`;
  return (
    <AppPage ctx={ctx} title={ctx.t('board.title')}>
      <Filters ctx={ctx} data={data} />
      {data.error && <div class="alert alert-danger" role="alert" data-testid="board-error">{data.error}</div>}
      <p class="small text-body-secondary" id="board-help">{ctx.t('board.help')}</p>
      <div class="board" data-board data-move-url="/board/move" data-msg-failed={ctx.t('board.moveFailed')}
        aria-describedby="board-help" data-testid="board">
        {data.columns.map((c, i) => (
          <section class="board-col card" data-stage-id={c.stage.id} data-testid={`board-col-${c.stage.id}`} aria-labelledby={`board-col-title-${i}`}>
            <header class="card-header d-flex align-items-center gap-2 px-2 py-2">
              <h2 class="h6 mb-0 me-auto board-col-title" id={`board-col-title-${i}`}>{c.stage.label}</h2>
              <span class="badge rounded-pill text-bg-secondary" data-count data-testid="board-col-count" title={ctx.t('board.countLabel', { count: c.total })}>{String(c.total)}</span>
            </header>
            <ul class="board-list list-unstyled p-2 mb-0">
              {c.cards.map((card) => <Card ctx={ctx} card={card} column={c.stage} stages={data.stages} next={next} showAgent={!!data.agents} />)}
            </ul>
            {c.cards.length === 0 && <p class="board-empty small text-body-secondary text-center px-2">{ctx.t('board.empty')}</p>}
            {c.total > c.cards.length && (
              <a class="card-footer small text-center" href={dashboardFilter(c.stage.id)} data-testid="board-more">{ctx.t('board.more', { count: c.total - c.cards.length })}</a>
            )}
          </section>
        ))}
      </div>
      <div id="board-status" class="visually-hidden" role="status" aria-live="polite"></div>
      <script src="/static/board.js" defer></script>
    </AppPage>
  );
}
