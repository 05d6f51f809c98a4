import type { ViewContext } from '../views/context.ts';
import { Field, FormErrorSummary, type FormState } from '../views/forms.tsx';
import { AppPage, CsrfField, PublicPage } from '../views/layout.tsx';

export function TwoFactorLoginPage({ ctx, form, minutes }: { ctx: ViewContext; form: FormState; minutes?: number }) {
  return (
    <PublicPage ctx={ctx} title={ctx.t('twoFactor.loginTitle')}>
      <p class="text-body-secondary">{ctx.t('twoFactor.loginSubtitle')}</p>
      {form.errors._ === 'login.locked'
        ? <div class="alert alert-danger" role="alert" data-testid="form-errors">{ctx.t('login.locked', { minutes: minutes ?? 30 })}</div>
        : <FormErrorSummary ctx={ctx} form={form} />}
      <form method="post" action="/login/two-factor" novalidate data-testid="two-factor-form">
        <CsrfField ctx={ctx} />
        <Field ctx={ctx} form={form} name="code" label="twoFactor.code" required autocomplete="one-time-code" maxLength={20} />
        <button type="submit" class="btn btn-primary w-100">{ctx.t('twoFactor.verify')}</button>
      </form>
      <p class="mt-3 mb-0 text-center"><a href="/login">{ctx.t('login.title')}</a></p>
    </PublicPage>
  );
}

export interface EnrolData { secret: string; uri: string; qrDataUri: string; required: boolean }

export function TwoFactorEnrolPage({ ctx, data, form }: { ctx: ViewContext; data: EnrolData; form: FormState }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('twoFactor.title')}>
      <div class="card"><div class="card-body">
        {data.required && <div class="alert alert-warning" data-testid="two-factor-required">{ctx.t('twoFactor.adminRequired')}</div>}
        <p>{ctx.t('twoFactor.enrolIntro')}</p>
        <img src={data.qrDataUri} alt={ctx.t('twoFactor.qrAlt')} width={220} height={220} class="border rounded mb-3" data-testid="two-factor-qr" />
        <p class="mb-1">{ctx.t('twoFactor.secretLabel')}</p>
        <p><code class="fs-5 user-select-all" data-testid="two-factor-secret">{data.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
        <FormErrorSummary ctx={ctx} form={form} />
        <form method="post" action="/profile/two-factor/enable" novalidate data-testid="two-factor-enable-form">
          <CsrfField ctx={ctx} />
          <Field ctx={ctx} form={form} name="code" label="twoFactor.code" required autocomplete="one-time-code" inputmode="numeric" maxLength={7} />
          <button type="submit" class="btn btn-primary">{ctx.t('twoFactor.enable')}</button>
        </form>
      </div></div>
    </AppPage>
  );
}

export function RecoveryCodesPage({ ctx, codes }: { ctx: ViewContext; codes: string[] }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('twoFactor.recoveryTitle')}>
      <div class="card"><div class="card-body">
        <div class="alert alert-success">{ctx.t('twoFactor.enabledFlash')}</div>
        <p>{ctx.t('twoFactor.recoveryIntro')}</p>
        <ul class="list-unstyled font-monospace fs-5" data-testid="recovery-codes">
          {codes.map((c) => <li>{c}</li>)}
        </ul>
        <a href="/profile" class="btn btn-primary">{ctx.t('twoFactor.continue')}</a>
      </div></div>
    </AppPage>
  );
}

export function TwoFactorStatusPage({ ctx, recoveryLeft, canDisable, form }: { ctx: ViewContext; recoveryLeft: number; canDisable: boolean; form: FormState }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('twoFactor.title')}>
      <div class="card"><div class="card-body">
        <p class="text-success" data-testid="two-factor-on">{ctx.t('twoFactor.enabled')}</p>
        <p>{ctx.t('twoFactor.recoveryLeft', { count: recoveryLeft })}</p>
        {canDisable ? (
          <>
            <h2 class="h6 mt-4">{ctx.t('twoFactor.disable')}</h2>
            <p class="small text-body-secondary">{ctx.t('twoFactor.disableIntro')}</p>
            <FormErrorSummary ctx={ctx} form={form} />
            <form method="post" action="/profile/two-factor/disable" novalidate data-testid="two-factor-disable-form">
              <CsrfField ctx={ctx} />
              <Field ctx={ctx} form={form} name="password" label="login.password" type="password" required autocomplete="current-password" />
              <Field ctx={ctx} form={form} name="code" label="twoFactor.code" required autocomplete="one-time-code" maxLength={20} />
              <button type="submit" class="btn btn-outline-danger">{ctx.t('twoFactor.disable')}</button>
            </form>
          </>
        ) : <p class="small text-body-secondary">{ctx.t('twoFactor.adminCannotDisable')}</p>}
      </div></div>
    </AppPage>
  );
}

/** The profile page's card: whether two-factor sign-in is on, and a link to manage it. */
export function TwoFactorCard({ ctx, enabled }: { ctx: ViewContext; enabled: boolean }) {
  return (
    <div class="card mt-4" data-testid="profile-two-factor"><div class="card-body">
      <h2 class="h5">{ctx.t('twoFactor.title')}</h2>
      <p class="mb-2">{ctx.t(enabled ? 'twoFactor.enabled' : 'twoFactor.disabledStatus')}</p>
      <a href="/profile/two-factor" class="btn btn-sm btn-outline-primary">{ctx.t(enabled ? 'twoFactor.manage' : 'twoFactor.enable')}</a>
    </div></div>
  );
}
