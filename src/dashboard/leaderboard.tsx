import type { LeaderboardRow } from '../points/points.server.ts';
import type { ViewContext } from '../views/context.ts';
import { AppPage } from '../views/layout.tsx';

export function LeaderboardPage({ ctx, rows, period }: { ctx: ViewContext; rows: LeaderboardRow[]; period: 'month' | 'all' }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('leaderboard.title')}>
      <ul class="nav nav-pills mb-3">
        <li class="nav-item"><a class={`nav-link${period === 'month' ? ' active' : ''}`} href="/leaderboard?period=month">{ctx.t('leaderboard.month')}</a></li>
        <li class="nav-item"><a class={`nav-link${period === 'all' ? ' active' : ''}`} href="/leaderboard?period=all">{ctx.t('leaderboard.all')}</a></li>
      </ul>
      {rows.length === 0 ? <p class="text-body-secondary">{ctx.t('leaderboard.empty')}</p> : (
        <div class="card"><table class="table mb-0" data-testid="leaderboard">
          <thead><tr><th scope="col">{ctx.t('leaderboard.rank')}</th><th scope="col">{ctx.t('leaderboard.agent')}</th><th scope="col" class="text-end">{ctx.t('leaderboard.points')}</th></tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr class={r.user_id === ctx.user?.id ? 'table-primary' : undefined}>
                <td>{String(r.rank)}</td>
                <td>{r.display_name} {r.user_id === ctx.user?.id && <span class="text-body-secondary">{ctx.t('leaderboard.you')}</span>}</td>
                <td class="text-end">{String(r.points)}</td>
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
    </AppPage>
  );
}
