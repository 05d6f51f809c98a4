// The audit log page: filter form, entries newest first with what changed (before → after).
import { AdminLinks, Pager } from '../admin/components.tsx';
import type { AuditEntry } from '../db/schema.ts';
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { Field, FormErrorSummary, type FormState } from '../views/forms.tsx';
import { AppPage } from '../views/layout.tsx';
import type { AuditFilter } from './audit.server.ts';

export interface AuditPageData {
  form: FormState;
  filter: AuditFilter;
  rows: AuditEntry[];
  hasNext: boolean;
}

const show = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function Changes({ entry }: { entry: AuditEntry }) {
  const before = entry.before ?? {};
  const after = entry.after ?? {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  if (keys.length === 0) return <span class="text-body-secondary">—</span>;
  return (
    <ul class="list-unstyled mb-0 small audit-changes">
      {keys.map((k) => (
        <li data-field={k}>
          <code>{k}</code>:{' '}
          {k in before && <del class="text-danger-emphasis">{show(before[k])}</del>}
          {k in before && k in after && ' → '}
          {k in after && <ins class="text-success-emphasis">{show(after[k])}</ins>}
        </li>
      ))}
    </ul>
  );
}

/** A link to the thing itself where the app has a page for it. */
function entityHref(e: AuditEntry): string | null {
  if (!e.entity_id || !/^\d+$/.test(e.entity_id) || e.action.endsWith('.delete')) return null;
  if (e.entity_type === 'lead') return `/leads/${e.entity_id}`;
  if (e.entity_type === 'user') return `/admin/users/${e.entity_id}`;
  if (e.entity_type === 'verification') return `/admin/verification/${e.entity_id}`;
  return null;
}

export function AuditPage({ ctx, data }: { ctx: ViewContext; data: AuditPageData }) {
  const { form, filter } = data;
  return (
    <AppPage ctx={ctx} title={ctx.t('audit.title')} actions={<AdminLinks ctx={ctx} />}>
      <p class="text-body-secondary small">{ctx.t('audit.intro')}</p>
      <form method="get" action="/admin/audit" class="card mb-3" novalidate data-testid="audit-filters"><div class="card-body">
        <FormErrorSummary ctx={ctx} form={form} />
        <div class="row g-2 align-items-start">
          <div class="col-6 col-md-2"><Field ctx={ctx} form={form} name="actor" label="audit.actor" help="audit.actorHelp" maxLength={100} /></div>
          <div class="col-6 col-md-2"><Field ctx={ctx} form={form} name="entity_type" label="audit.entityType" help="audit.entityTypeHelp" maxLength={30} /></div>
          <div class="col-6 col-md-2"><Field ctx={ctx} form={form} name="entity_id" label="audit.entityId" maxLength={64} /></div>
          <div class="col-6 col-md-2"><Field ctx={ctx} form={form} name="action" label="audit.action" help="audit.actionHelp" maxLength={61} /></div>
          <div class="col-6 col-md-2"><Field ctx={ctx} form={form} name="from" label="dashboard.from" type="date" /></div>
          <div class="col-6 col-md-2"><Field ctx={ctx} form={form} name="to" label="dashboard.to" type="date" /></div>
        </div>
        <div class="d-flex gap-2">
          <button type="submit" class="btn btn-sm btn-primary">{ctx.t('dashboard.apply')}</button>
          <a href="/admin/audit" class="btn btn-sm btn-outline-secondary">{ctx.t('dashboard.reset')}</a>
        </div>
      </div></form>
      <div class="card"><div class="table-responsive">
        <table class="table table-sm align-middle mb-0" data-testid="audit-table">
          <thead><tr>
            <th>{ctx.t('audit.when')}</th><th>{ctx.t('audit.actor')}</th><th class="d-none d-md-table-cell">IP</th>
            <th>{ctx.t('audit.action')}</th><th>{ctx.t('audit.entity')}</th><th>{ctx.t('audit.changes')}</th>
          </tr></thead>
          <tbody>
            {data.rows.length === 0 && <tr><td colSpan={6} class="text-center text-body-secondary py-4">{ctx.t('audit.none')}</td></tr>}
            {data.rows.map((e) => {
              const href = entityHref(e);
              const entity = `${e.entity_type}${e.entity_id ? ` #${e.entity_id}` : ''}`;
              return (
                <tr data-audit-id={String(e.id)} data-action={e.action}>
                  <td class="small text-nowrap">{formatDateTime(ctx.locale, e.created_at)}</td>
                  <td class="small">{e.actor_name}{e.actor_id !== null && <span class="text-body-secondary"> #{String(e.actor_id)}</span>}</td>
                  <td class="small d-none d-md-table-cell">{e.ip ?? '—'}</td>
                  <td><code>{e.action}</code></td>
                  <td class="small text-nowrap">{href ? <a href={href}>{entity}</a> : entity}</td>
                  <td><Changes entry={e} /></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <Pager ctx={ctx} base="/admin/audit" filter={filter} page={filter.page} hasNext={data.hasNext} info={ctx.t('audit.page', { page: filter.page })} />
      </div>
    </AppPage>
  );
}
