// The profile's "API keys" card: create a named key (with the websites allowed to use it from a browser),
// see it once, list keys with their last use, revoke.
import { z } from 'zod';
import type { ApiKeyRow } from '../api/keys.server.ts';
import { MAX_KEYS_PER_USER, normaliseOrigin } from '../api/keys.server.ts';
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { Field, FormErrorSummary, type FormState } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';

export const MAX_ORIGINS = 10;

export const apiKeyFormSchema = z.object({
  name: z.string('validation.apiKeyName').trim().min(1, 'validation.apiKeyName').max(100, 'validation.apiKeyName'),
  origins: z.preprocess((v) => (v === undefined || v === null ? '' : v), z.string('validation.origins').max(2000, 'validation.origins'))
    .transform((text, ctx) => {
      const parts = text.split(/[\s,]+/).filter(Boolean);
      const out: string[] = [];
      for (const p of parts) {
        const origin = normaliseOrigin(p);
        if (!origin) {
          ctx.addIssue({ code: 'custom', message: 'validation.origins' });
          return z.NEVER;
        }
        if (!out.includes(origin)) out.push(origin);
      }
      if (out.length > MAX_ORIGINS) {
        ctx.addIssue({ code: 'custom', message: 'validation.origins' });
        return z.NEVER;
      }
      return out;
    }),
});

function KeyForm({ ctx, form }: { ctx: ViewContext; form: FormState }) {
  return (
    <>
      <FormErrorSummary ctx={ctx} form={form} />
      <form method="post" action="/profile/api-keys" novalidate data-testid="api-key-form">
        <CsrfField ctx={ctx} />
        <Field ctx={ctx} form={form} name="name" label="apiKeys.name" required maxLength={100} />
        <div class="mb-3">
          <label for="f-origins" class="form-label">{ctx.t('apiKeys.origins')}</label>
          <textarea id="f-origins" name="origins" rows={2} class={`form-control${form.errors.origins ? ' is-invalid' : ''}`} aria-describedby="f-origins-help">{form.values.origins ?? ''}</textarea>
          <div id="f-origins-help" class="form-text">{ctx.t('apiKeys.originsHelp')}</div>
          {form.errors.origins && <div class="invalid-feedback" data-field-error="origins">{ctx.t(form.errors.origins)}</div>}
        </div>
        <button type="submit" class="btn btn-outline-primary">{ctx.t('apiKeys.create')}</button>
      </form>
    </>
  );
}

export function ApiKeysCard({ ctx, keys, form = { values: {}, errors: {} } }: { ctx: ViewContext; keys: ApiKeyRow[]; form?: FormState }) {
  const active = keys.filter((k) => !k.revoked_at).length;
  return (
    <div class="card mt-4" id="api-keys" data-testid="api-keys"><div class="card-body">
      <h2 class="h5">{ctx.t('apiKeys.title')}</h2>
      <p class="small text-body-secondary">{ctx.t('apiKeys.intro', { url: '/api/v1/docs' })}</p>
      {keys.length === 0 ? <p class="small" data-testid="api-keys-none">{ctx.t('apiKeys.none')}</p> : (
        <ul class="list-group mb-3">
          {keys.map((k) => (
            <li class="list-group-item d-flex justify-content-between align-items-start gap-2" data-testid="api-key-row" data-key-id={String(k.id)}>
              <div class="small">
                <div class="fw-semibold">{k.name} <code class="text-body-secondary">pph_{k.prefix}_…</code></div>
                <div>{k.allowed_origins.length ? k.allowed_origins.join(', ') : ctx.t('apiKeys.serverOnly')}</div>
                <div class="text-body-secondary">
                  {ctx.t('apiKeys.createdAt')}: {formatDateTime(ctx.locale, k.created_at)} · {ctx.t('apiKeys.lastUsed')}: <span data-testid="api-key-last-used">{k.last_used_at ? formatDateTime(ctx.locale, k.last_used_at) : ctx.t('apiKeys.never')}</span>
                </div>
              </div>
              {k.revoked_at ? <span class="badge text-bg-secondary" data-testid="api-key-revoked">{ctx.t('apiKeys.revoked')}</span> : (
                <form method="post" action={`/profile/api-keys/${k.id}/revoke`} data-confirm={ctx.t('apiKeys.confirmRevoke')}>
                  <CsrfField ctx={ctx} />
                  <button type="submit" class="btn btn-sm btn-outline-danger" data-testid="api-key-revoke">{ctx.t('apiKeys.revoke')}</button>
                </form>
              )}
            </li>
          ))}
        </ul>
      )}
      {active < MAX_KEYS_PER_USER ? <KeyForm ctx={ctx} form={form} /> : <p class="small text-body-secondary">{ctx.t('apiKeys.tooMany', { max: MAX_KEYS_PER_USER })}</p>}
    </div></div>
  );
}

/** The create form re-shown with its errors. */
export function ApiKeyFormPage({ ctx, keys, form }: { ctx: ViewContext; keys: ApiKeyRow[]; form: FormState }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('apiKeys.title')}>
      <ApiKeysCard ctx={ctx} keys={keys} form={form} />
    </AppPage>
  );
}

/** The one page that ever shows the key. */
export function ApiKeyCreatedPage({ ctx, name, token, keys }: { ctx: ViewContext; name: string; token: string; keys: ApiKeyRow[] }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('apiKeys.title')}>
      <div class="alert alert-success" role="status" data-testid="api-key-created">
        <div>{ctx.t('apiKeys.created', { name })}</div>
        <code class="d-block user-select-all text-break my-2" data-testid="api-key-token">{token}</code>
        <div class="small">{ctx.t('apiKeys.copyHint')}</div>
      </div>
      <ApiKeysCard ctx={ctx} keys={keys} />
      <a class="btn btn-link mt-3 px-0" href="/profile">{ctx.t('profile.title')}</a>
    </AppPage>
  );
}
