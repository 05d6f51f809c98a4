// "Мої брокери (N)" on an admin's profile: their agents, newest first, with real figures.
import type { ViewContext } from '../views/context.ts';
import type { UserRow } from './admin-users.server.ts';

export type BrokerRow = UserRow;

export function MyBrokers({ ctx, brokers }: { ctx: ViewContext; brokers: BrokerRow[] }) {
  return (
    <div class="card mt-4" data-testid="my-brokers"><div class="card-body">
      <h2 class="h5">{ctx.t('profile.myBrokers', { count: brokers.length })}</h2>
      {brokers.length === 0 ? <p class="text-body-secondary small mb-0">{ctx.t('profile.noBrokers')}</p> : (
        <ul class="list-group list-group-flush">
          {brokers.map((b) => (
            <li class="list-group-item px-0 d-flex justify-content-between align-items-center gap-2" data-broker-id={String(b.id)}>
              <span>
                <a href={`/admin/users/${b.id}`}>{b.display_name}</a>
                {b.is_verified && <i class="bi bi-patch-check-fill text-primary ms-1" title={ctx.t('profile.verified')} aria-label={ctx.t('profile.verified')} data-testid="broker-verified"></i>}
                {!b.is_active && <span class="badge text-bg-danger ms-1">{ctx.t('users.inactive')}</span>}
              </span>
              <span class="small text-body-secondary text-nowrap" data-testid="broker-stats">
                {ctx.t('profile.leads')}: {String(b.leads)} · {ctx.t('profile.deals')}: {String(b.closed)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div></div>
  );
}
