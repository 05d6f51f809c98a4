import type { SyncItem } from '../db/schema.ts';
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { AppPage, CsrfField } from '../views/layout.tsx';

/** One line on the lead page: where this lead is on its way to HubSpot. */
export function SyncState({ ctx, configured, item, lastSyncAt }: { ctx: ViewContext; configured: boolean; item: SyncItem | undefined; lastSyncAt: Date | null }) {
  const isAdmin = ctx.user?.role === 'admin';
  // HubSpot's error text can quote another client's data from the same batch: only admins see it.
  const reason = (item?: SyncItem) => (isAdmin ? item?.last_error ?? '' : ctx.t('sync.reasonHidden'));
  let text: string;
  let tone = 'text-body-secondary';
  if (!configured) text = ctx.t('sync.off');
  else if (!item || (item.status === 'synced' && lastSyncAt)) text = lastSyncAt ? ctx.t('sync.synced', { date: formatDateTime(ctx.locale, lastSyncAt) }) : ctx.t('sync.pending');
  else if (item.status === 'parked') { text = ctx.t('sync.parked', { attempts: item.attempts, reason: reason(item) }); tone = 'text-danger'; }
  else if (item.last_error) { text = ctx.t('sync.failed', { attempts: item.attempts, reason: reason(item) }); tone = 'text-warning-emphasis'; }
  else text = ctx.t('sync.pending');
  return (
    <div class={`small ${tone} d-flex flex-wrap gap-2 align-items-center`} data-testid="sync-state" data-sync-status={configured ? item?.status ?? 'none' : 'off'}>
      <span><i class="bi bi-arrow-repeat" aria-hidden="true"></i> {text}</span>
      {isAdmin && configured && item && item.status !== 'synced' && (
        <form method="post" action={`/admin/sync/${item.id}/retry`} class="d-inline">
          <CsrfField ctx={ctx} />
          <button class="btn btn-sm btn-outline-warning" type="submit" data-testid="sync-retry">{ctx.t('sync.retry')}</button>
        </form>
      )}
    </div>
  );
}

export interface SyncPageData {
  configured: boolean;
  counts: Record<'pending' | 'synced' | 'failed' | 'parked', number>;
  problems: (SyncItem & { label: string | null })[];
  unassigned: { deal_id: string; deal_name: string | null; owner_email: string | null; seen_at: Date }[];
}

export function SyncPage({ ctx, data }: { ctx: ViewContext; data: SyncPageData }) {
  const statuses = ['pending', 'synced', 'failed', 'parked'] as const;
  return (
    <AppPage ctx={ctx} title={ctx.t('sync.title')}>
      {!data.configured && <div class="alert alert-warning">{ctx.t('sync.notConfigured')}</div>}
      <div class="row g-3 mb-3">
        {statuses.map((s) => (
          <div class="col-6 col-md-3"><div class="card"><div class="card-body">
            <div class="small text-body-secondary">{ctx.t(`sync.status.${s}`)}</div>
            <div class="fs-3 fw-semibold" data-testid={`sync-count-${s}`}>{String(data.counts[s])}</div>
          </div></div></div>
        ))}
      </div>
      <div class="d-flex gap-2 mb-3">
        {data.configured && (
          <form method="post" action="/admin/sync/test"><CsrfField ctx={ctx} /><button class="btn btn-outline-primary btn-sm" type="submit" data-testid="sync-test">{ctx.t('sync.test')}</button></form>
        )}
        <form method="post" action="/admin/sync/retry-parked"><CsrfField ctx={ctx} /><button class="btn btn-outline-warning btn-sm" type="submit">{ctx.t('sync.retryAll')}</button></form>
      </div>
      <div class="card mb-4"><div class="card-body">
        <h2 class="h5">{ctx.t('sync.problems')}</h2>
        {data.problems.length === 0 ? <p class="text-body-secondary mb-0">{ctx.t('sync.noProblems')}</p> : (
          <div class="table-responsive"><table class="table table-sm align-middle mb-0" data-testid="sync-problems">
            <thead><tr><th>{ctx.t('sync.entity')}</th><th>{ctx.t('dashboard.col.status')}</th><th>{ctx.t('sync.attempts')}</th><th>{ctx.t('sync.error')}</th><th>{ctx.t('sync.when')}</th><th></th></tr></thead>
            <tbody>
              {data.problems.map((p) => (
                <tr>
                  <td>{p.entity_type === 'lead' ? <a href={`/leads/${p.entity_id}`}>{ctx.t('sync.lead')} #{String(p.entity_id)} {p.label ?? ''}</a> : `${ctx.t('sync.comment')} #${p.entity_id}`}</td>
                  <td><span class={`badge text-bg-${p.status === 'parked' ? 'danger' : 'warning'}`}>{ctx.t(`sync.status.${p.status}`)}</span></td>
                  <td>{String(p.attempts)}</td>
                  <td class="small">{p.last_error ?? ''}</td>
                  <td class="small text-nowrap">{formatDateTime(ctx.locale, p.last_error_at ?? p.updated_at)}</td>
                  <td><form method="post" action={`/admin/sync/${p.id}/retry`}><CsrfField ctx={ctx} /><button class="btn btn-sm btn-outline-warning" type="submit">{ctx.t('sync.retry')}</button></form></td>
                </tr>
              ))}
            </tbody>
          </table></div>
        )}
      </div></div>
      <div class="card"><div class="card-body">
        <h2 class="h5">{ctx.t('sync.unassigned')}</h2>
        <p class="small text-body-secondary">{ctx.t('sync.unassignedHelp')}</p>
        {data.unassigned.length === 0 ? <p class="text-body-secondary mb-0">{ctx.t('sync.noUnassigned')}</p> : (
          <table class="table table-sm mb-0" data-testid="sync-unassigned">
            <thead><tr><th>{ctx.t('sync.deal')}</th><th>{ctx.t('sync.owner')}</th><th>{ctx.t('sync.when')}</th></tr></thead>
            <tbody>{data.unassigned.map((u) => <tr><td>{u.deal_name ?? u.deal_id} <span class="text-body-secondary small">#{u.deal_id}</span></td><td>{u.owner_email ?? '—'}</td><td class="small">{formatDateTime(ctx.locale, u.seen_at)}</td></tr>)}</tbody>
          </table>
        )}
      </div></div>
    </AppPage>
  );
}
