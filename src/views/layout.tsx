import type { ComponentChildren } from 'preact';
import type { MessageKey } from '../platform/i18n.ts';
import type { ViewContext } from './context.ts';

interface PageProps {
  ctx: ViewContext;
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}

function Head({ ctx, title }: { ctx: ViewContext; title: string }) {
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="csrf-token" content={ctx.csrfToken} />
      <link rel="icon" href="data:," />
      <title>{`${title} · ${ctx.t('app.name')}`}</title>
      <link rel="stylesheet" href="/vendor/bootstrap/css/bootstrap.min.css" />
      <link rel="stylesheet" href="/vendor/bootstrap-icons/bootstrap-icons.min.css" />
      <link rel="stylesheet" href="/static/app.css" />
      <script src="/vendor/bootstrap/js/bootstrap.bundle.min.js" defer></script>
      <script src="/static/app.js" defer></script>
      {ctx.path === '/dashboard' && <script src="/vendor/chart.js/chart.umd.min.js" defer></script>}
      {ctx.path === '/dashboard' && <script src="/static/charts.js" defer></script>}
    </head>
  );
}

export function Flashes({ ctx }: { ctx: ViewContext }) {
  if (ctx.flashes.length === 0) return null;
  return (
    <div class="flash-area" aria-live="polite">
      {ctx.flashes.map((f) => (
        <div class={`alert alert-${f.type} alert-dismissible fade show`} role="alert" data-flash={f.type}>
          {ctx.t(f.key, f.params)}
          <button type="button" class="btn-close" data-bs-dismiss="alert" aria-label={ctx.t('common.close')}></button>
        </div>
      ))}
    </div>
  );
}

export function CsrfField({ ctx }: { ctx: ViewContext }) {
  return <input type="hidden" name="_csrf" value={ctx.csrfToken} />;
}

export function LanguageSwitch({ ctx }: { ctx: ViewContext }) {
  const other = ctx.locale === 'uk' ? 'en' : 'uk';
  return (
    <form method="post" action="/locale" class="d-inline">
      <CsrfField ctx={ctx} />
      <input type="hidden" name="locale" value={other} />
      <input type="hidden" name="next" value={ctx.path} />
      <button type="submit" class="btn btn-sm btn-outline-secondary" lang={other} data-testid="switch-language" aria-label={other === 'en' ? 'English' : 'Українська'}>
        <i class="bi bi-translate" aria-hidden="true"></i> <span class="btn-label">{other === 'en' ? 'English' : 'Українська'}</span>
      </button>
    </form>
  );
}

interface NavItem { href: string; icon: string; label: MessageKey; adminOnly?: boolean; primary?: boolean }
const NAV: NavItem[] = [
  { href: '/dashboard', icon: 'speedometer2', label: 'nav.dashboard' },
  { href: '/board', icon: 'kanban', label: 'nav.board' },
  { href: '/leads/new', icon: 'plus-circle', label: 'nav.addLead', primary: true },
  { href: '/leads/import', icon: 'upload', label: 'import.nav' },
  { href: '/properties', icon: 'buildings', label: 'nav.properties' },
  { href: '/leaderboard', icon: 'bar-chart', label: 'nav.leaderboard' },
  { href: '/knowledge', icon: 'book', label: 'nav.knowledge' },
  { href: '/profile', icon: 'person-circle', label: 'nav.profile' },
  { href: '/admin/verification', icon: 'patch-check', label: 'nav.verification', adminOnly: true },
  { href: '/admin/users', icon: 'people', label: 'nav.users', adminOnly: true },
  { href: '/admin/sync', icon: 'arrow-repeat', label: 'nav.sync', adminOnly: true },
];

function Sidebar({ ctx }: { ctx: ViewContext }) {
  const items = NAV.filter((i) => !i.adminOnly || ctx.user?.role === 'admin');
  return (
    <nav class="offcanvas-lg offcanvas-start sidebar text-bg-dark" tabindex={-1} id="sidebar" aria-labelledby="sidebar-title">
      <div class="offcanvas-header">
        <span class="offcanvas-title fw-semibold" id="sidebar-title">{ctx.t('app.name')}</span>
        <button type="button" class="btn-close btn-close-white" data-bs-dismiss="offcanvas" data-bs-target="#sidebar" aria-label={ctx.t('common.close')}></button>
      </div>
      <div class="offcanvas-body d-flex flex-column p-3">
        <a href="/dashboard" class="brand d-none d-lg-block mb-3 text-white text-decoration-none fw-semibold">
          <i class="bi bi-house-door" aria-hidden="true"></i> {ctx.t('app.name')}
        </a>
        <ul class="nav nav-pills flex-column mb-auto">
          {items.map((i) => {
            const active = ctx.path === i.href || ctx.path.startsWith(`${i.href}/`);
            const cls = i.primary ? 'nav-link btn btn-primary text-start text-white my-1' : `nav-link text-white${active ? ' active' : ''}`;
            return (
              <li class="nav-item">
                <a href={i.href} class={cls} aria-current={active ? 'page' : undefined}>
                  <i class={`bi bi-${i.icon} me-2`} aria-hidden="true"></i>{ctx.t(i.label)}
                </a>
              </li>
            );
          })}
        </ul>
        <hr />
        <form method="post" action="/logout">
          <CsrfField ctx={ctx} />
          <button type="submit" class="btn btn-outline-light w-100" data-testid="logout">
            <i class="bi bi-box-arrow-right me-2" aria-hidden="true"></i>{ctx.t('nav.logout')}
          </button>
        </form>
      </div>
    </nav>
  );
}

/** The signed-in layout: sidebar (off-canvas on phones), header, flash messages on every page. */
export function AppPage({ ctx, title, children, actions }: PageProps) {
  return (
    <html lang={ctx.locale}>
      <Head ctx={ctx} title={title} />
      <body class="app">
        <a class="visually-hidden-focusable" href="#main">{ctx.t('nav.skip')}</a>
        <div class="app-shell">
          <Sidebar ctx={ctx} />
          <div class="app-main">
            <header class="app-header d-flex align-items-center gap-2 px-3 py-2 border-bottom bg-body">
              <button class="btn btn-outline-secondary d-lg-none" type="button" data-bs-toggle="offcanvas" data-bs-target="#sidebar" aria-controls="sidebar" aria-label={ctx.t('nav.menu')}>
                <i class="bi bi-list" aria-hidden="true"></i>
              </button>
              <h1 class="h4 mb-0 me-auto">{title}</h1>
              {actions}
              <LanguageSwitch ctx={ctx} />
              {ctx.user && (
                <a href="/profile" class="text-body-secondary text-decoration-none d-none d-sm-inline" data-testid="current-user">
                  <i class="bi bi-person-circle" aria-hidden="true"></i> {ctx.user.displayName}
                </a>
              )}
            </header>
            <main id="main" class="p-3 p-md-4">
              <Flashes ctx={ctx} />
              {children}
            </main>
          </div>
        </div>
      </body>
    </html>
  );
}

/** The anonymous layout for login, registration and errors: one centred card. */
export function PublicPage({ ctx, title, children }: PageProps) {
  return (
    <html lang={ctx.locale}>
      <Head ctx={ctx} title={title} />
      <body class="public bg-body-tertiary">
        <main id="main" class="container public-main py-4">
          <div class="d-flex justify-content-between align-items-center mb-3">
            <span class="fw-semibold"><i class="bi bi-house-door" aria-hidden="true"></i> {ctx.t('app.name')}</span>
            <LanguageSwitch ctx={ctx} />
          </div>
          <div class="card shadow-sm">
            <div class="card-body p-4">
              <h1 class="h3 mb-3">{title}</h1>
              <Flashes ctx={ctx} />
              {children}
            </div>
          </div>
        </main>
      </body>
    </html>
  );
}
