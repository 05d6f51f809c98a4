import type { User } from '../db/schema.ts';
import type { DocumentRow } from '../documents/documents.server.ts';
import { DocumentList } from '../documents/views.tsx';
import { levelProgress } from '../leads/domain.ts';
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { Field, FormErrorSummary, type FormState } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';
import { type BrokerRow, MyBrokers } from '../users/admin-brokers.tsx';
import type { AgentVerification } from '../verification/domain.ts';
import { formatCommission, VerificationCard } from '../verification/views.tsx';
import { type ApiKeyRow } from '../api/keys.server.ts';
import { ApiKeysCard } from './api-keys.tsx';
import { TwoFactorCard } from '../auth/two-factor-views.tsx';

export interface ProfileData {
  user: User;
  adminName: string | null;
  stats: { leads: number; closed: number; conversion: number; points: number };
  /** Admins only: their brokers (agents with admin_id = me). */
  brokers: BrokerRow[] | null;
  /** Agents only: where their verification stands. */
  verification: AgentVerification | null;
  documents: DocumentRow[];
  /** Agents only: their API keys. */
  apiKeys: ApiKeyRow[] | null;
  twoFactorEnabled: boolean;
}

function Stats({ ctx, stats }: { ctx: ViewContext; stats: ProfileData['stats'] }) {
  const progress = levelProgress(stats.points);
  const tiles: [Parameters<typeof ctx.t>[0], string, string][] = [
    ['profile.leads', String(stats.leads), 'stat-leads'], ['profile.deals', String(stats.closed), 'stat-deals'],
    ['profile.conversion', `${stats.conversion} %`, 'stat-conversion'], ['profile.points', String(stats.points), 'stat-points'],
  ];
  return (
    <div class="card mt-4"><div class="card-body">
      <h2 class="h5">{ctx.t('profile.stats')}</h2>
      <div class="row g-2 text-center mb-3">
        {tiles.map(([label, value, testid]) => (
          <div class="col-6"><div class="border rounded p-2"><div class="fs-4 fw-semibold" data-testid={testid}>{value}</div><div class="small text-body-secondary">{ctx.t(label)}</div></div></div>
        ))}
      </div>
      <div class="d-flex justify-content-between small">
        <span>{ctx.t('profile.level')}: <strong data-testid="stat-level">{ctx.t(progress.level.label)}</strong></span>
        <span>{progress.next ? ctx.t('profile.nextLevel', { level: ctx.t(progress.next.label), points: progress.remaining ?? 0 }) : ctx.t('profile.topLevel')}</span>
      </div>
      <progress class="w-100 level-progress" max={100} value={progress.percent} aria-label={ctx.t('profile.level')}></progress>
    </div></div>
  );
}

export function PasswordForm({ ctx, form }: { ctx: ViewContext; form: FormState }) {
  return (
    <form method="post" action="/profile/password" novalidate data-testid="password-form">
      <CsrfField ctx={ctx} />
      <Field ctx={ctx} form={form} name="current_password" label="profile.currentPassword" type="password" required autocomplete="current-password" />
      <Field ctx={ctx} form={form} name="new_password" label="profile.newPassword" type="password" required help="register.passwordHelp" autocomplete="new-password" minLength={10} />
      <Field ctx={ctx} form={form} name="confirm_password" label="profile.confirmPassword" type="password" required autocomplete="new-password" />
      <button type="submit" class="btn btn-outline-primary">{ctx.t('profile.changePassword')}</button>
    </form>
  );
}

export function ProfilePage({ ctx, data, profileForm, passwordForm }: { ctx: ViewContext; data: ProfileData; profileForm: FormState; passwordForm: FormState }) {
  const { user } = data;
  return (
    <AppPage ctx={ctx} title={ctx.t('profile.title')}>
      <div class="row g-4">
        <div class="col-12 col-lg-5">
          <div class="card"><div class="card-body">
            <h2 class="h5">{user.display_name}</h2>
            <dl class="row mb-0 small">
              <dt class="col-5">{ctx.t('profile.username')}</dt><dd class="col-7" data-testid="profile-username">{user.username}</dd>
              <dt class="col-5">{ctx.t('profile.email')}</dt><dd class="col-7">{user.email}</dd>
              <dt class="col-5">{ctx.t('profile.role')}</dt><dd class="col-7">{ctx.t(user.role === 'admin' ? 'role.admin' : 'role.agent')}</dd>
              {user.role === 'agent' && <><dt class="col-5">{ctx.t('profile.admin')}</dt><dd class="col-7">{data.adminName ?? ctx.t('profile.notAssigned')}</dd></>}
              {user.role === 'agent' && <><dt class="col-5">{ctx.t('profile.commission')}</dt><dd class="col-7"><span data-testid="profile-commission">{formatCommission(ctx.locale, user.commission)}</span></dd></>}
              <dt class="col-5">{ctx.t('profile.registered')}</dt><dd class="col-7">{formatDateTime(ctx.locale, user.created_at)}</dd>
              <dt class="col-5">{ctx.t('profile.lastLogin')}</dt><dd class="col-7">{user.last_login_at ? formatDateTime(ctx.locale, user.last_login_at) : ctx.t('profile.never')}</dd>
            </dl>
          </div></div>
          {data.verification && <VerificationCard ctx={ctx} v={data.verification} />}
          {(data.verification || data.documents.length > 0) && (
            <div class="card mt-4" id="documents" data-testid="profile-documents"><div class="card-body">
              <h2 class="h5">{ctx.t('documents.title')}</h2>
              <DocumentList ctx={ctx} documents={data.documents} />
            </div></div>
          )}
          <Stats ctx={ctx} stats={data.stats} />
          {data.brokers && <MyBrokers ctx={ctx} brokers={data.brokers} />}
        </div>
        <div class="col-12 col-lg-7">
          <div class="card mb-4"><div class="card-body">
            <h2 class="h5">{ctx.t('profile.edit')}</h2>
            <FormErrorSummary ctx={ctx} form={profileForm} />
            <form method="post" action="/profile" novalidate data-testid="profile-form">
              <CsrfField ctx={ctx} />
              <Field ctx={ctx} form={profileForm} name="username" label="profile.username" required help="register.usernameHelp" maxLength={25} autocomplete="username" />
              <Field ctx={ctx} form={profileForm} name="display_name" label="profile.displayName" required maxLength={100} autocomplete="name" />
              <Field ctx={ctx} form={profileForm} name="email" label="profile.email" type="email" inputmode="email" required autocomplete="email" />
              <button type="submit" class="btn btn-primary">{ctx.t('profile.save')}</button>
            </form>
          </div></div>
          <div class="card"><div class="card-body">
            <h2 class="h5">{ctx.t('profile.passwordTitle')}</h2>
            <FormErrorSummary ctx={ctx} form={passwordForm} />
            <PasswordForm ctx={ctx} form={passwordForm} />
          </div></div>
          {data.apiKeys && <ApiKeysCard ctx={ctx} keys={data.apiKeys} />}
          <TwoFactorCard ctx={ctx} enabled={data.twoFactorEnabled} />
        </div>
      </div>
    </AppPage>
  );
}

export function ChangePasswordPage({ ctx, form }: { ctx: ViewContext; form: FormState }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('profile.passwordTitle')}>
      <div class="card"><div class="card-body">
        {ctx.user?.mustChangePassword && <div class="alert alert-warning">{ctx.t('profile.mustChangePassword')}</div>}
        <FormErrorSummary ctx={ctx} form={form} />
        <PasswordForm ctx={ctx} form={form} />
      </div></div>
    </AppPage>
  );
}
