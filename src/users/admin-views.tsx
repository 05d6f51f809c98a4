// The admin's users pages: the list ("Управління користувачами") and one user's management page.
import type { ComponentChildren } from 'preact';
import { AdminLinks, Pager, queryOf } from '../admin/components.tsx';
import { levelFor } from '../leads/domain.ts';
import { formatDateTime, type MessageKey } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { emptyForm, Field, FormErrorSummary, type FormState, SelectField } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';
import type { UsersFilter } from './admin-schemas.ts';
import type { UserCounts, UserRow } from './admin-users.server.ts';

type Option = { id: number; display_name: string };

export interface UsersPageData {
  counts: UserCounts;
  rows: UserRow[];
  total: number;
  pages: number;
  filter: UsersFilter;
  admins: Option[];
}

const commissionText = (c: string | number) => `${Number(c)} %`;

export function RoleBadge({ ctx, role }: { ctx: ViewContext; role: UserRow['role'] }) {
  return <span class={`badge ${role === 'admin' ? 'text-bg-dark' : 'text-bg-secondary'}`}>{ctx.t(role === 'admin' ? 'role.admin' : 'role.agent')}</span>;
}

export function StatusBadges({ ctx, user }: { ctx: ViewContext; user: Pick<UserRow, 'is_active' | 'is_locked' | 'must_change_password'> }) {
  return (
    <span class="d-inline-flex flex-wrap gap-1" data-testid="user-status">
      <span class={`badge ${user.is_active ? 'text-bg-success' : 'text-bg-danger'}`}>{ctx.t(user.is_active ? 'users.active' : 'users.inactive')}</span>
      {user.is_locked && <span class="badge text-bg-warning"><i class="bi bi-lock-fill" aria-hidden="true"></i> {ctx.t('users.locked')}</span>}
      {user.must_change_password && <span class="badge text-bg-info">{ctx.t('users.tempPassword')}</span>}
    </span>
  );
}

/** An admin's own column: their admin's name, "not assigned", or a dash for admins. */
const adminCell = (ctx: ViewContext, u: UserRow) => (u.role === 'admin' ? '—' : u.admin_name ?? ctx.t('profile.notAssigned'));

function FilterSelect({ ctx, name, label, value, options }: { ctx: ViewContext; name: string; label: MessageKey; value: string | number | undefined; options: { value: string; label: string }[] }) {
  return (
    <div class="col-6 col-md-2">
      <label class="form-label small" for={`flt-${name}`}>{ctx.t(label)}</label>
      <select id={`flt-${name}`} name={name} class="form-select form-select-sm">
        <option value="">{ctx.t('users.any')}</option>
        {options.map((o) => <option value={o.value} selected={String(value ?? '') === o.value}>{o.label}</option>)}
      </select>
    </div>
  );
}

export function UsersPage({ ctx, data }: { ctx: ViewContext; data: UsersPageData }) {
  const f = data.filter;
  const cards: [MessageKey, number, string][] = [
    ['users.total', data.counts.total, 'total'], ['users.activeCount', data.counts.active, 'active'],
    ['users.agents', data.counts.agents, 'agents'], ['users.admins', data.counts.admins, 'admins'],
    ['users.verifiedCount', data.counts.verified, 'verified'], ['users.lockedCount', data.counts.locked, 'locked'],
  ];
  const yesNo = [{ value: 'yes', label: ctx.t('users.yes') }, { value: 'no', label: ctx.t('users.no') }];
  return (
    <AppPage ctx={ctx} title={ctx.t('users.title')} actions={<AdminLinks ctx={ctx} />}>
      <div class="row g-3 mb-3">
        {cards.map(([label, n, key]) => (
          <div class="col-6 col-md-4 col-xl-2"><div class="card h-100"><div class="card-body">
            <div class="small text-body-secondary">{ctx.t(label)}</div>
            <div class="fs-3 fw-semibold" data-testid={`users-count-${key}`}>{String(n)}</div>
          </div></div></div>
        ))}
      </div>
      <form method="get" action="/admin/users" class="card mb-3" data-testid="users-filters"><div class="card-body row g-2 align-items-end">
        <div class="col-12 col-md-3">
          <label class="form-label small" for="flt-q">{ctx.t('users.search')}</label>
          <input id="flt-q" type="search" name="q" class="form-control form-control-sm" value={f.q ?? ''} maxLength={100} />
        </div>
        <FilterSelect ctx={ctx} name="role" label="profile.role" value={f.role} options={[{ value: 'agent', label: ctx.t('role.agent') }, { value: 'admin', label: ctx.t('role.admin') }]} />
        <FilterSelect ctx={ctx} name="active" label="users.activeFilter" value={f.active} options={yesNo} />
        <FilterSelect ctx={ctx} name="verified" label="profile.verified" value={f.verified} options={yesNo} />
        <FilterSelect ctx={ctx} name="admin" label="users.admin" value={f.admin}
          options={[{ value: 'none', label: ctx.t('profile.notAssigned') }, ...data.admins.map((a) => ({ value: String(a.id), label: a.display_name }))]} />
        <div class="col-12 col-md-auto form-check ms-2">
          <input class="form-check-input" type="checkbox" id="flt-locked" name="locked" value="yes" checked={f.locked === 'yes'} />
          <label class="form-check-label small" for="flt-locked">{ctx.t('users.onlyLocked')}</label>
        </div>
        <div class="col-12 col-md-auto d-flex gap-2">
          <button type="submit" class="btn btn-sm btn-primary">{ctx.t('dashboard.apply')}</button>
          <a href="/admin/users" class="btn btn-sm btn-outline-secondary">{ctx.t('dashboard.reset')}</a>
        </div>
      </div></form>
      <div class="card"><div class="table-responsive">
        <table class="table table-hover align-middle mb-0" data-testid="users-table">
          <thead><tr>
            <th>{ctx.t('users.user')}</th><th class="d-none d-xl-table-cell">{ctx.t('profile.email')}</th><th>{ctx.t('profile.role')}</th>
            <th class="d-none d-md-table-cell">{ctx.t('users.admin')}</th><th>{ctx.t('users.status')}</th>
            <th class="d-none d-xxl-table-cell">{ctx.t('profile.lastLogin')}</th><th>{ctx.t('users.stats')}</th>
            <th class="d-none d-md-table-cell">{ctx.t('profile.commission')}</th><th>{ctx.t('users.actions')}</th>
          </tr></thead>
          <tbody>
            {data.rows.length === 0 && <tr><td colSpan={9} class="text-center text-body-secondary py-4">{ctx.t('users.none')}</td></tr>}
            {data.rows.map((u) => {
              const self = u.id === ctx.user?.id;
              return (
                <tr data-user-id={String(u.id)} data-username={u.username}>
                  <td>
                    <a href={`/admin/users/${u.id}`} class="fw-semibold">{u.display_name}</a>
                    {u.is_verified && <i class="bi bi-patch-check-fill text-primary ms-1" title={ctx.t('profile.verified')} aria-label={ctx.t('profile.verified')}></i>}
                    <div class="small text-body-secondary">{u.username}</div>
                  </td>
                  <td class="d-none d-xl-table-cell small">{u.email}</td>
                  <td><RoleBadge ctx={ctx} role={u.role} /></td>
                  <td class="d-none d-md-table-cell small">{adminCell(ctx, u)}</td>
                  <td><StatusBadges ctx={ctx} user={u} /></td>
                  <td class="d-none d-xxl-table-cell small text-nowrap">{u.last_login_at ? formatDateTime(ctx.locale, u.last_login_at) : ctx.t('profile.never')}</td>
                  <td class="small text-nowrap" data-testid="user-stats">{u.role === 'agent' ? <a href={`/dashboard?agent=${u.id}`} title={ctx.t('users.agentLeads')}>{`${u.leads} / ${u.closed}`}</a> : `${u.leads} / ${u.closed}`} · {ctx.t(levelFor(u.points).label)}</td>
                  <td class="d-none d-md-table-cell">{u.role === 'agent' ? commissionText(u.commission) : '—'}</td>
                  <td class="text-nowrap">
                    {self ? <span class="badge text-bg-light" data-testid="this-is-you">{ctx.t('users.thisIsYou')}</span> : (
                      <form method="post" action={`/admin/users/${u.id}/${u.is_active ? 'deactivate' : 'activate'}`} class="d-inline"
                        data-confirm={u.is_active ? ctx.t('users.confirmDeactivate', { name: u.display_name }) : undefined}>
                        <CsrfField ctx={ctx} />
                        <input type="hidden" name="next" value={`/admin/users${queryOf(f)}`} />
                        <button type="submit" class={`btn btn-sm ${u.is_active ? 'btn-outline-danger' : 'btn-outline-success'}`} data-testid={u.is_active ? 'deactivate' : 'activate'}>
                          {ctx.t(u.is_active ? 'users.deactivate' : 'users.activate')}
                        </button>
                      </form>
                    )}
                    <a href={`/admin/users/${u.id}`} class="btn btn-sm btn-outline-primary ms-1" data-testid="manage-user">{ctx.t('users.manage')}</a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <Pager ctx={ctx} base="/admin/users" filter={f} page={f.page} hasNext={f.page < data.pages}
        info={ctx.t('dashboard.pageOf', { page: f.page, pages: data.pages, total: data.total })} />
      </div>
    </AppPage>
  );
}

// ---- One user ----

export type UserForms = Partial<Record<'role' | 'admin' | 'commission' | 'delete', FormState>>;

export interface UserPageData {
  user: UserRow;
  admins: Option[];
  receivers: (Option & { role: UserRow['role'] })[];
}

function Section({ title, children, testid }: { title: string; children: ComponentChildren; testid: string }) {
  return <div class="card mb-3" data-testid={testid}><div class="card-body"><h2 class="h6">{title}</h2>{children}</div></div>;
}

export function UserPage({ ctx, data, forms = {}, tempPassword }: { ctx: ViewContext; data: UserPageData; forms?: UserForms; tempPassword?: string }) {
  const u = data.user;
  const self = u.id === ctx.user?.id;
  const action = (path: string) => `/admin/users/${u.id}/${path}`;
  const roleForm = forms.role ?? emptyForm({ role: u.role });
  const adminForm = forms.admin ?? emptyForm({ admin_id: u.admin_id ? String(u.admin_id) : '' });
  const commissionForm = forms.commission ?? emptyForm({ commission: String(Number(u.commission)) });
  const deleteForm = forms.delete ?? emptyForm();
  return (
    <AppPage ctx={ctx} title={u.display_name} actions={<AdminLinks ctx={ctx} />}>
      {tempPassword && (
        <div class="alert alert-warning" role="alert" data-testid="temp-password-box">
          <p class="mb-1">{ctx.t('users.tempPasswordShown', { name: u.display_name })}</p>
          <p class="fs-4 font-monospace mb-1 user-select-all" data-testid="temp-password">{tempPassword}</p>
          <p class="small mb-0">{ctx.t('users.tempPasswordOnce')}</p>
        </div>
      )}
      <div class="row g-3">
        <div class="col-12 col-lg-5">
          <Section title={ctx.t('users.summary')} testid="user-summary">
            <dl class="row small mb-0">
              <dt class="col-5">{ctx.t('profile.username')}</dt><dd class="col-7">{u.username}</dd>
              <dt class="col-5">{ctx.t('profile.email')}</dt><dd class="col-7">{u.email}</dd>
              <dt class="col-5">{ctx.t('profile.role')}</dt><dd class="col-7"><RoleBadge ctx={ctx} role={u.role} /></dd>
              <dt class="col-5">{ctx.t('users.admin')}</dt><dd class="col-7" data-testid="user-admin">{adminCell(ctx, u)}</dd>
              <dt class="col-5">{ctx.t('users.status')}</dt><dd class="col-7"><StatusBadges ctx={ctx} user={u} /></dd>
              <dt class="col-5">{ctx.t('profile.verified')}</dt><dd class="col-7">{ctx.t(u.is_verified ? 'users.yes' : 'users.no')}</dd>
              <dt class="col-5">{ctx.t('profile.commission')}</dt><dd class="col-7" data-testid="user-commission">{commissionText(u.commission)}</dd>
              <dt class="col-5">{ctx.t('profile.leads')}</dt><dd class="col-7" data-testid="user-leads">{String(u.leads)}</dd>
              <dt class="col-5">{ctx.t('profile.deals')}</dt><dd class="col-7">{String(u.closed)}</dd>
              <dt class="col-5">{ctx.t('profile.points')}</dt><dd class="col-7">{String(u.points)} · {ctx.t(levelFor(u.points).label)}</dd>
              <dt class="col-5">{ctx.t('profile.registered')}</dt><dd class="col-7">{formatDateTime(ctx.locale, u.created_at)}</dd>
              <dt class="col-5">{ctx.t('profile.lastLogin')}</dt><dd class="col-7">{u.last_login_at ? formatDateTime(ctx.locale, u.last_login_at) : ctx.t('profile.never')}</dd>
            </dl>
            <div class="d-flex flex-wrap gap-3 mt-2 small">
              <a href={`/admin/users/${u.id}/documents`} data-testid="user-documents"><i class="bi bi-folder2" aria-hidden="true"></i> {ctx.t('users.documents')}</a>
              <a href={`/admin/audit${queryOf({ entity_type: 'user', entity_id: u.id })}`} data-testid="user-history"><i class="bi bi-journal-text" aria-hidden="true"></i> {ctx.t('users.history')}</a>
            </div>
          </Section>
          <Section title={ctx.t('users.access')} testid="user-access">
            {self ? <p class="text-body-secondary small mb-0">{ctx.t('users.selfNote')}</p> : (
              <div class="d-flex flex-wrap gap-2">
                <form method="post" action={action(u.is_active ? 'deactivate' : 'activate')} data-confirm={u.is_active ? ctx.t('users.confirmDeactivate', { name: u.display_name }) : undefined}>
                  <CsrfField ctx={ctx} />
                  <button type="submit" class={`btn btn-sm ${u.is_active ? 'btn-outline-danger' : 'btn-outline-success'}`} data-testid={u.is_active ? 'deactivate' : 'activate'}>
                    {ctx.t(u.is_active ? 'users.deactivate' : 'users.activate')}
                  </button>
                </form>
                {u.is_locked && (
                  <form method="post" action={action('unlock')}>
                    <CsrfField ctx={ctx} />
                    <button type="submit" class="btn btn-sm btn-outline-warning" data-testid="unlock">{ctx.t('users.unlock')}</button>
                  </form>
                )}
                <form method="post" action={action('password')} data-confirm={ctx.t('users.confirmReset', { name: u.display_name })}>
                  <CsrfField ctx={ctx} />
                  <button type="submit" class="btn btn-sm btn-outline-secondary" data-testid="reset-password">{ctx.t('users.resetPassword')}</button>
                </form>
              </div>
            )}
          </Section>
        </div>
        <div class="col-12 col-lg-7">
          {!self && (
            <Section title={ctx.t('users.changeRole')} testid="role-section">
              <FormErrorSummary ctx={ctx} form={roleForm} />
              <form method="post" action={action('role')} novalidate data-testid="role-form" data-confirm={ctx.t('users.confirmRole')}>
                <CsrfField ctx={ctx} />
                <SelectField ctx={ctx} form={roleForm} name="role" label="profile.role" required
                  options={[{ value: 'agent', label: ctx.t('role.agent') }, { value: 'admin', label: ctx.t('role.admin') }]} />
                <button type="submit" class="btn btn-sm btn-primary">{ctx.t('profile.save')}</button>
              </form>
            </Section>
          )}
          {u.role === 'agent' && (
            <Section title={ctx.t('users.assignAdmin')} testid="admin-section">
              <FormErrorSummary ctx={ctx} form={adminForm} />
              <form method="post" action={action('admin')} novalidate data-testid="admin-form">
                <CsrfField ctx={ctx} />
                <SelectField ctx={ctx} form={adminForm} name="admin_id" label="users.admin" placeholder="profile.notAssigned"
                  options={data.admins.map((a) => ({ value: String(a.id), label: a.display_name }))} />
                <button type="submit" class="btn btn-sm btn-primary">{ctx.t('profile.save')}</button>
              </form>
            </Section>
          )}
          <Section title={ctx.t('users.setCommission')} testid="commission-section">
            <FormErrorSummary ctx={ctx} form={commissionForm} />
            <form method="post" action={action('commission')} novalidate data-testid="commission-form">
              <CsrfField ctx={ctx} />
              <Field ctx={ctx} form={commissionForm} name="commission" label="profile.commission" inputmode="decimal" required help="users.commissionHelp" maxLength={6} />
              <button type="submit" class="btn btn-sm btn-primary">{ctx.t('profile.save')}</button>
            </form>
          </Section>
          {!self && (
            <Section title={ctx.t('users.delete')} testid="delete-section">
              <FormErrorSummary ctx={ctx} form={deleteForm} />
              <form method="post" action={action('delete')} novalidate data-testid="delete-form" data-confirm={ctx.t('users.confirmDelete', { name: u.display_name })}>
                <CsrfField ctx={ctx} />
                {u.leads > 0 ? (
                  <>
                    <p class="small">{ctx.t('users.deleteLeadsHelp', { count: u.leads })}</p>
                    <SelectField ctx={ctx} form={deleteForm} name="receiver_id" label="users.receiver" required placeholder="users.chooseReceiver"
                      options={data.receivers.map((r) => ({ value: String(r.id), label: `${r.display_name} (${ctx.t(r.role === 'admin' ? 'role.admin' : 'role.agent')})` }))} />
                  </>
                ) : <p class="small">{ctx.t('users.deleteHelp')}</p>}
                <button type="submit" class="btn btn-sm btn-danger" data-testid="delete-user">{ctx.t('users.delete')}</button>
              </form>
            </Section>
          )}
        </div>
      </div>
    </AppPage>
  );
}
