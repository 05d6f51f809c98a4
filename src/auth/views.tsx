import type { ViewContext } from '../views/context.ts';
import { Field, FormErrorSummary, type FormState } from '../views/forms.tsx';
import { CsrfField, PublicPage } from '../views/layout.tsx';

export function LoginPage({ ctx, form, next, minutes }: { ctx: ViewContext; form: FormState; next: string; minutes?: number }) {
  return (
    <PublicPage ctx={ctx} title={ctx.t('login.title')}>
      <p class="text-body-secondary">{ctx.t('login.subtitle')}</p>
      {form.errors._ === 'login.locked'
        ? <div class="alert alert-danger" role="alert" data-testid="form-errors">{ctx.t('login.locked', { minutes: minutes ?? 30 })}</div>
        : <FormErrorSummary ctx={ctx} form={form} />}
      <form method="post" action="/login" novalidate data-testid="login-form">
        <CsrfField ctx={ctx} />
        <input type="hidden" name="next" value={next} />
        <Field ctx={ctx} form={form} name="username" label="login.username" required autocomplete="username" />
        <Field ctx={ctx} form={form} name="password" label="login.password" type="password" required autocomplete="current-password" />
        <button type="submit" class="btn btn-primary w-100">{ctx.t('login.submit')}</button>
      </form>
      <p class="mt-3 mb-0 text-center">{ctx.t('login.noAccount')} <a href="/register">{ctx.t('login.registerLink')}</a></p>
    </PublicPage>
  );
}

export interface AdminChoice { id: number; display_name: string }

export function RegisterPage({ ctx, form, admins }: { ctx: ViewContext; form: FormState; admins: AdminChoice[] }) {
  const adminError = form.errors.admin_id;
  return (
    <PublicPage ctx={ctx} title={ctx.t('register.title')}>
      <p class="text-body-secondary">{ctx.t('register.subtitle')}</p>
      {admins.length === 0 && <div class="alert alert-warning" role="alert">{ctx.t('register.noAdmins')}</div>}
      <FormErrorSummary ctx={ctx} form={form} />
      <form method="post" action="/register" novalidate data-testid="register-form">
        <CsrfField ctx={ctx} />
        <Field ctx={ctx} form={form} name="username" label="register.username" required help="register.usernameHelp" autocomplete="username" maxLength={25} />
        <Field ctx={ctx} form={form} name="display_name" label="register.displayName" required autocomplete="name" maxLength={100} />
        <Field ctx={ctx} form={form} name="email" label="register.email" type="email" inputmode="email" required autocomplete="email" />
        <div class="mb-3">
          <label for="f-admin_id" class="form-label">{ctx.t('register.admin')} *</label>
          <select id="f-admin_id" name="admin_id" class={`form-select${adminError ? ' is-invalid' : ''}`} required aria-describedby="f-admin_id-help">
            <option value="">{ctx.t('register.adminPlaceholder')}</option>
            {admins.map((a) => <option value={String(a.id)} selected={form.values.admin_id === String(a.id)}>{a.display_name}</option>)}
          </select>
          <div id="f-admin_id-help" class="form-text">{ctx.t('register.adminHelp')}</div>
          {adminError && <div class="invalid-feedback" data-field-error="admin_id">{ctx.t(adminError)}</div>}
        </div>
        <Field ctx={ctx} form={form} name="password" label="register.password" type="password" required help="register.passwordHelp" autocomplete="new-password" minLength={10} />
        <Field ctx={ctx} form={form} name="confirm_password" label="register.confirm" type="password" required autocomplete="new-password" />
        <button type="submit" class="btn btn-primary w-100" disabled={admins.length === 0}>{ctx.t('register.submit')}</button>
      </form>
      <p class="mt-3 mb-0 text-center">{ctx.t('register.haveAccount')} <a href="/login">{ctx.t('register.loginLink')}</a></p>
    </PublicPage>
  );
}
