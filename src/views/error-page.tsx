import type { MessageKey } from '../platform/i18n.ts';
import type { ViewContext } from './context.ts';
import { AppPage, PublicPage } from './layout.tsx';

export function ErrorPage({ ctx, status, messageKey }: { ctx: ViewContext; status: number; messageKey: MessageKey }) {
  const body = (
    <div class="error-page text-center py-4" data-status={status}>
      <p class="display-6 text-body-secondary">{status}</p>
      <p class="lead" data-testid="error-message">{ctx.t(messageKey)}</p>
      <p class="small text-body-secondary">{ctx.t('error.requestId', { id: ctx.requestId })}</p>
      <a class="btn btn-primary" href={ctx.user ? '/dashboard' : '/login'}>{ctx.t(ctx.user ? 'error.toDashboard' : 'error.toLogin')}</a>
    </div>
  );
  return ctx.user
    ? <AppPage ctx={ctx} title={ctx.t('error.title')}>{body}</AppPage>
    : <PublicPage ctx={ctx} title={ctx.t('error.title')}>{body}</PublicPage>;
}
