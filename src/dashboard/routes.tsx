// The dashboard shell: metric cards and the empty state; the leads issue fills it with real data.
import type { FastifyInstance } from 'fastify';
import { requireUser } from '../auth/guards.server.ts';
import type { MessageKey } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { AppPage } from '../views/layout.tsx';

const CARDS: { key: MessageKey; icon: string }[] = [
  { key: 'dashboard.total', icon: 'people' },
  { key: 'dashboard.active', icon: 'activity' },
  { key: 'dashboard.closed', icon: 'trophy' },
  { key: 'dashboard.transferred', icon: 'arrow-left-right' },
];

function DashboardPage({ ctx }: { ctx: ViewContext }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('dashboard.title')} actions={<a href="/leads/new" class="btn btn-primary btn-sm"><i class="bi bi-plus-lg" aria-hidden="true"></i> {ctx.t('nav.addLead')}</a>}>
      <p class="text-body-secondary" data-testid="dashboard-hello">{ctx.t('dashboard.hello', { name: ctx.user?.displayName ?? '' })}</p>
      <div class="row g-3 mb-4">
        {CARDS.map((c) => (
          <div class="col-6 col-xl-3">
            <div class="card metric-card h-100"><div class="card-body">
              <div class="text-body-secondary small"><i class={`bi bi-${c.icon} me-1`} aria-hidden="true"></i>{ctx.t(c.key)}</div>
              <div class="fs-3 fw-semibold">0</div>
            </div></div>
          </div>
        ))}
      </div>
      <div class="card"><div class="card-body text-center py-5" data-testid="dashboard-empty">
        <h2 class="h5">{ctx.t('dashboard.empty')}</h2>
        <p class="text-body-secondary mb-0">{ctx.t('dashboard.emptyHint')}</p>
      </div></div>
    </AppPage>
  );
}

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  app.get('/dashboard', async (request, reply) => {
    requireUser(request);
    return reply.view((ctx) => <DashboardPage ctx={ctx} />);
  });
}
