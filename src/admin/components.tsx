// Small pieces shared by the back-office pages: query strings that keep the filter, the pager, the header links.
import type { MessageKey } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';

/** `?a=1&b=2` from a filter, leaving out empty values and page 1. */
export function queryOf(filter: object, change: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filter, ...change })) {
    if (v === undefined || v === null || v === '' || (k === 'page' && Number(v) === 1)) continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Previous/next links; `pages` may be unknown (the audit log only knows whether there is a next page). */
export function Pager({ ctx, base, filter, page, hasNext, info }: { ctx: ViewContext; base: string; filter: object; page: number; hasNext: boolean; info: string }) {
  return (
    <div class="card-footer d-flex flex-wrap justify-content-between align-items-center gap-2">
      <span class="small text-body-secondary" data-testid="page-info">{info}</span>
      <nav aria-label="pagination"><ul class="pagination pagination-sm mb-0">
        <li class={`page-item${page <= 1 ? ' disabled' : ''}`}><a class="page-link" href={`${base}${queryOf(filter, { page: page - 1 })}`} data-testid="prev-page">{ctx.t('dashboard.prev')}</a></li>
        <li class={`page-item${hasNext ? '' : ' disabled'}`}><a class="page-link" href={`${base}${queryOf(filter, { page: page + 1 })}`} data-testid="next-page">{ctx.t('dashboard.next')}</a></li>
      </ul></nav>
    </div>
  );
}

const LINKS: { href: string; icon: string; label: MessageKey }[] = [
  { href: '/admin/users', icon: 'people', label: 'nav.users' },
  { href: '/admin/audit', icon: 'journal-text', label: 'audit.title' },
  { href: '/admin/hubspot-contacts', icon: 'telephone', label: 'contacts.title' },
];

/** The back office's own navigation, in the page header (the sidebar stays as it is). */
export function AdminLinks({ ctx }: { ctx: ViewContext }) {
  return (
    <nav class="d-flex flex-wrap gap-1" aria-label={ctx.t('admin.sections')} data-testid="admin-links">
      {LINKS.map((l) => (
        <a href={l.href} class={`btn btn-sm ${ctx.path === l.href ? 'btn-secondary' : 'btn-outline-secondary'}`} aria-current={ctx.path === l.href ? 'page' : undefined}>
          <i class={`bi bi-${l.icon}`} aria-hidden="true"></i> <span class="btn-label">{ctx.t(l.label)}</span>
        </a>
      ))}
    </nav>
  );
}
