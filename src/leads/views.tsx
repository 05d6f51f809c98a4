import type { Lead, SyncItem } from '../db/schema.ts';
import { SyncState } from '../hubspot/views.tsx';
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { Field, FormErrorSummary, type FormState, SelectField, type SelectOption } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';
import {
  BUDGETS, COUNTRIES, LANGUAGES, labelOf, MESSENGERS, OBJECT_TYPES, type Option, PROPERTY_TYPES, PURCHASE_GOALS, REFUSAL_REASONS, SOURCES, STATUSES,
} from './domain.ts';
import { daysUntilBirthday } from './leads.server.ts';
import { formatPhone } from './schemas.ts';
import { LeadPropertyLinks, PropertyPicker } from '../properties/lead-views.tsx';
import type { PropertyChoice } from '../properties/properties.server.ts';

export const toSelect = (ctx: Pick<ViewContext, 't'>, opts: Option[]): SelectOption[] => opts.map((o) => ({ value: o.value, label: ctx.t(o.label) }));
export const show = (ctx: Pick<ViewContext, 't'>, opts: Option[], value: string | null | undefined): string => {
  if (!value) return ctx.t('lead.notSet');
  const key = labelOf(opts, value);
  return key ? ctx.t(key) : value;
};

export interface AgentChoice { id: number; display_name: string; role: 'agent' | 'admin' }

/** The badge: HubSpot's stage label once synced, otherwise a clear "awaiting sync". */
export function StatusBadge({ ctx, lead }: { ctx: Pick<ViewContext, 't'>; lead: Pick<Lead, 'status' | 'hubspot_stage_label'> }) {
  const colour = lead.status === 'closed' ? 'success' : lead.status === 'qualified' ? 'warning' : lead.status === 'contacted' ? 'info' : 'secondary';
  return lead.hubspot_stage_label
    ? <span class={`badge text-bg-${colour}`} data-testid="status-badge">{lead.hubspot_stage_label}</span>
    : (
      <span class="d-inline-flex flex-wrap gap-1 align-items-center" data-testid="status-badge">
        <span class={`badge text-bg-${colour}`}>{show(ctx, STATUSES, lead.status)}</span>
        <span class="badge text-bg-light border fw-normal"><i class="bi bi-hourglass-split" aria-hidden="true"></i> {ctx.t('lead.awaitingSync')}</span>
      </span>
    );
}

export function leadFormValues(lead: Lead): Record<string, string> {
  const v: Record<string, string> = {};
  for (const [k, val] of Object.entries(lead)) {
    if (val === null || val === undefined) continue;
    v[k] = typeof val === 'boolean' ? (val ? 'on' : '') : val instanceof Date ? val.toISOString() : String(val);
  }
  v.phone = formatPhone(lead.phone);
  if (lead.second_phone) v.second_phone = formatPhone(lead.second_phone);
  v.agent_id = String(lead.agent_id);
  return v;
}

interface LeadFormProps {
  ctx: ViewContext;
  form: FormState;
  mode: 'new' | 'edit';
  leadId?: number;
  agents: AgentChoice[] | null;
  /** The catalogue, for "the client is interested in". */
  properties: PropertyChoice[];
}

export function LeadFormPage({ ctx, form, mode, leadId, agents, properties }: LeadFormProps) {
  const action = mode === 'new' ? '/leads' : `/leads/${leadId}`;
  const sel = (name: string, label: Parameters<typeof ctx.t>[0], opts: Option[], required = false) =>
    <SelectField ctx={ctx} form={form} name={name} label={label} options={toSelect(ctx, opts)} required={required} />;
  return (
    <AppPage ctx={ctx} title={ctx.t(mode === 'new' ? 'lead.new.title' : 'lead.edit.title')}>
      <FormErrorSummary ctx={ctx} form={form} />
      <form method="post" action={action} novalidate data-testid="lead-form" class="lead-form">
        <CsrfField ctx={ctx} />
        <div class="row g-3">
          <div class="col-12 col-lg-6">
            <div class="card"><div class="card-body">
              <h2 class="h6 text-body-secondary">{ctx.t('lead.section.contact')}</h2>
              <Field ctx={ctx} form={form} name="deal_name" label="lead.field.deal_name" required maxLength={100} autocomplete="off" />
              <Field ctx={ctx} form={form} name="phone" label="lead.field.phone" type="tel" inputmode="tel" required autocomplete="off" />
              <div id="duplicate-hint" class="form-text mb-3" aria-live="polite" data-check-url="/leads/check-duplicate" data-exclude-id={leadId ? String(leadId) : undefined}
                data-msg-none={ctx.t('lead.dup.none')} data-msg-found={ctx.t('lead.dup.found')}></div>
              <Field ctx={ctx} form={form} name="email" label="lead.field.email" type="email" inputmode="email" autocomplete="off" />
              {sel('budget', 'lead.field.budget', BUDGETS, true)}
              <Field ctx={ctx} form={form} name="second_phone" label="lead.field.second_phone" type="tel" inputmode="tel" autocomplete="off" />
              <Field ctx={ctx} form={form} name="company" label="lead.field.company" maxLength={100} />
              <Field ctx={ctx} form={form} name="telegram_nickname" label="lead.field.telegram_nickname" maxLength={50} />
              {sel('messenger', 'lead.field.messenger', MESSENGERS)}
              <Field ctx={ctx} form={form} name="birth_date" label="lead.field.birth_date" type="date" help="lead.field.birth_date_help" />
            </div></div>
          </div>
          <div class="col-12 col-lg-6">
            <div class="card"><div class="card-body">
              <h2 class="h6 text-body-secondary">{ctx.t('lead.section.main')}</h2>
              {agents && (
                <SelectField ctx={ctx} form={form} name="agent_id" label="lead.field.agent_id" required
                  options={agents.map((a) => ({ value: String(a.id), label: `${a.display_name} (${ctx.t(a.role === 'admin' ? 'role.admin' : 'role.agent')})` }))} />
              )}
              {mode === 'edit' && sel('status', 'lead.field.status', STATUSES, true)}
              {sel('country', 'lead.field.country', COUNTRIES)}
              {sel('purchase_goal', 'lead.field.purchase_goal', PURCHASE_GOALS)}
              {sel('property_type', 'lead.field.property_type', PROPERTY_TYPES)}
              {sel('object_type', 'lead.field.object_type', OBJECT_TYPES)}
              {sel('communication_language', 'lead.field.communication_language', LANGUAGES)}
              {sel('source', 'lead.field.source', SOURCES)}
              <PropertyPicker ctx={ctx} form={form} choices={properties} />
              {mode === 'edit' && sel('refusal_reason', 'lead.field.refusal_reason', REFUSAL_REASONS)}
              {mode === 'edit' && (
                <div class="form-check mb-3">
                  <input class="form-check-input" type="checkbox" id="f-is_transferred" name="is_transferred" checked={form.values.is_transferred === 'on'} />
                  <label class="form-check-label" for="f-is_transferred">{ctx.t('lead.field.is_transferred')}</label>
                </div>
              )}
            </div></div>
          </div>
        </div>
        <div class="d-flex gap-2 mt-3">
          <a href={mode === 'new' ? '/dashboard' : `/leads/${leadId}`} class="btn btn-outline-secondary">{ctx.t('common.cancel')}</a>
          <button type="submit" class="btn btn-primary" data-testid="lead-submit">{ctx.t(mode === 'new' ? 'lead.new.submit' : 'lead.edit.submit')}</button>
        </div>
      </form>
    </AppPage>
  );
}

function Row({ label, children }: { label: string; children: import('preact').ComponentChildren }) {
  return <><dt class="col-sm-5 text-body-secondary">{label}</dt><dd class="col-sm-7">{children}</dd></>;
}

export interface DuplicateRow {
  id: number; deal_name: string; phone: string; second_phone: string | null; email: string | null;
  status: Lead['status']; hubspot_stage_label: string | null; agent_name: string; created_at: Date;
}

/** Admins compare a lead with its possible duplicates side by side: who registered the client first. */
function DuplicatesTable({ ctx, lead, agentName, rows }: { ctx: ViewContext; lead: Lead; agentName: string; rows: DuplicateRow[] }) {
  const all: DuplicateRow[] = [{ ...lead, agent_name: agentName }, ...rows].sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
  const line = (label: string, cell: (r: DuplicateRow) => import('preact').ComponentChildren) => (
    <tr><th scope="row" class="text-body-secondary fw-normal">{label}</th>{all.map((r) => <td class={r.id === lead.id ? 'table-active' : undefined}>{cell(r)}</td>)}</tr>
  );
  return (
    <div class="table-responsive"><table class="table table-sm mb-0">
      <thead><tr><th></th>{all.map((r) => <th scope="col">{r.id === lead.id ? r.deal_name : <a href={`/leads/${r.id}`}>{r.deal_name}</a>}</th>)}</tr></thead>
      <tbody>
        {line(ctx.t('lead.createdAt'), (r) => formatDateTime(ctx.locale, r.created_at))}
        {line(ctx.t('lead.agent'), (r) => r.agent_name)}
        {line(ctx.t('lead.field.phone'), (r) => [formatPhone(r.phone), r.second_phone ? `, ${formatPhone(r.second_phone)}` : ''].join(''))}
        {line(ctx.t('lead.field.email'), (r) => r.email ?? '—')}
        {line(ctx.t('lead.field.status'), (r) => <StatusBadge ctx={ctx} lead={r} />)}
      </tbody>
    </table></div>
  );
}

export interface LeadPageData {
  lead: Lead;
  agentName: string;
  duplicates: DuplicateRow[] | null;
  agents: AgentChoice[] | null;
  sync: { configured: boolean; item: SyncItem | undefined };
  /** The projects the client is interested in. */
  properties: { id: number; name: string; city: string }[];
}

export function LeadPage({ ctx, data, comments }: { ctx: ViewContext; data: LeadPageData; comments: import('preact').ComponentChildren }) {
  const { lead } = data;
  const isAdmin = ctx.user?.role === 'admin';
  const days = daysUntilBirthday(lead.birth_date);
  const postButton = (action: string, label: Parameters<typeof ctx.t>[0], cls: string, confirm?: Parameters<typeof ctx.t>[0], testid?: string) => (
    <form method="post" action={action} class="d-inline" data-confirm={confirm ? ctx.t(confirm) : undefined}>
      <CsrfField ctx={ctx} />
      <button type="submit" class={`btn btn-sm ${cls}`} data-testid={testid}>{ctx.t(label)}</button>
    </form>
  );
  return (
    <AppPage ctx={ctx} title={lead.deal_name}>
      <div class="d-flex flex-wrap gap-2 align-items-center mb-3">
        <StatusBadge ctx={ctx} lead={lead} />
        {lead.possible_duplicate && <span class="badge text-bg-danger" data-testid="duplicate-badge">{ctx.t('lead.duplicateBadge')}</span>}
        <span class="me-auto"><SyncState ctx={ctx} configured={data.sync.configured} item={data.sync.item} lastSyncAt={lead.last_sync_at} /></span>
        <a class="btn btn-sm btn-outline-primary" href={`/leads/${lead.id}/edit`} data-testid="edit-lead">{ctx.t('lead.edit')}</a>
        {lead.status !== 'closed'
          ? postButton(`/leads/${lead.id}/close`, 'lead.closeDeal', 'btn-success', 'lead.closeDealConfirm', 'close-deal')
          : postButton(`/leads/${lead.id}/reopen`, 'lead.reopenDeal', 'btn-outline-secondary', undefined, 'reopen-deal')}
        {postButton(`/leads/${lead.id}/transfer`, lead.is_transferred ? 'lead.unmarkTransferred' : 'lead.markTransferred', 'btn-outline-secondary')}
        {isAdmin && postButton(`/leads/${lead.id}/delete`, 'lead.delete', 'btn-outline-danger', 'lead.deleteConfirm', 'delete-lead')}
        {isAdmin && <a class="btn btn-sm btn-outline-secondary" href={`/admin/audit?entity_type=lead&entity_id=${lead.id}`} data-testid="lead-history">{ctx.t('lead.history')}</a>}
      </div>
      <div class="row g-3">
        <div class="col-12 col-lg-6">
          <div class="card h-100"><div class="card-body">
            <h2 class="h6">{ctx.t('lead.section.main')}</h2>
            <dl class="row mb-0">
              <Row label={ctx.t('lead.agent')}><span data-testid="lead-agent">{data.agentName}</span></Row>
              <Row label={ctx.t('lead.field.budget')}>{show(ctx, BUDGETS, lead.budget)}</Row>
              <Row label={ctx.t('lead.field.country')}>{show(ctx, COUNTRIES, lead.country)}</Row>
              <Row label={ctx.t('lead.field.purchase_goal')}>{show(ctx, PURCHASE_GOALS, lead.purchase_goal)}</Row>
              <Row label={ctx.t('lead.field.property_type')}>{show(ctx, PROPERTY_TYPES, lead.property_type)}</Row>
              <Row label={ctx.t('lead.field.object_type')}>{show(ctx, OBJECT_TYPES, lead.object_type)}</Row>
              <Row label={ctx.t('lead.field.communication_language')}>{show(ctx, LANGUAGES, lead.communication_language)}</Row>
              <Row label={ctx.t('lead.field.source')}>{show(ctx, SOURCES, lead.source)}</Row>
              <Row label={ctx.t('property.lead.field')}><LeadPropertyLinks ctx={ctx} properties={data.properties} /></Row>
              <Row label={ctx.t('lead.field.refusal_reason')}>{show(ctx, REFUSAL_REASONS, lead.refusal_reason)}</Row>
              <Row label={ctx.t('lead.field.is_transferred')}>{lead.is_transferred ? '✓' : '—'}</Row>
              <Row label={ctx.t('lead.createdAt')}>{formatDateTime(ctx.locale, lead.created_at)}</Row>
              <Row label={ctx.t('lead.updatedAt')}>{formatDateTime(ctx.locale, lead.updated_at)}</Row>
            </dl>
            {isAdmin && data.agents && (
              <form method="post" action={`/leads/${lead.id}/reassign`} class="d-flex gap-2 mt-3" data-testid="reassign-form">
                <CsrfField ctx={ctx} />
                <label class="visually-hidden" for="reassign-agent">{ctx.t('lead.reassign')}</label>
                <select id="reassign-agent" name="agent_id" class="form-select form-select-sm">
                  {data.agents.map((a) => <option value={String(a.id)} selected={a.id === lead.agent_id}>{a.display_name}</option>)}
                </select>
                <button type="submit" class="btn btn-sm btn-outline-primary text-nowrap">{ctx.t('lead.reassign')}</button>
              </form>
            )}
          </div></div>
        </div>
        <div class="col-12 col-lg-6">
          <div class="card h-100"><div class="card-body">
            <h2 class="h6">{ctx.t('lead.section.contact')}</h2>
            <dl class="row mb-0">
              <Row label={ctx.t('lead.field.phone')}><a href={`tel:${lead.phone}`} data-testid="lead-phone">{formatPhone(lead.phone)}</a></Row>
              <Row label={ctx.t('lead.field.second_phone')}>{lead.second_phone ? <a href={`tel:${lead.second_phone}`}>{formatPhone(lead.second_phone)}</a> : ctx.t('lead.notSet')}</Row>
              <Row label={ctx.t('lead.field.email')}>{lead.email ? <a href={`mailto:${lead.email}`}>{lead.email}</a> : ctx.t('lead.notSet')}</Row>
              <Row label={ctx.t('lead.field.company')}>{lead.company ?? ctx.t('lead.notSet')}</Row>
              <Row label={ctx.t('lead.field.telegram_nickname')}>{lead.telegram_nickname ?? ctx.t('lead.notSet')}</Row>
              <Row label={ctx.t('lead.field.messenger')}>{show(ctx, MESSENGERS, lead.messenger)}</Row>
              <Row label={ctx.t('lead.field.birth_date')}>
                {lead.birth_date ?? ctx.t('lead.notSet')}
                {days !== null && days <= 30 && <span class="badge text-bg-info ms-2">{days === 0 ? ctx.t('lead.birthdayToday') : ctx.t('lead.birthdaySoon', { days })}</span>}
              </Row>
            </dl>
          </div></div>
        </div>
      </div>
      {data.duplicates && data.duplicates.length > 0 && (
        <div class="card mt-3 border-danger" data-testid="duplicates"><div class="card-body">
          <h2 class="h6">{ctx.t('lead.duplicatesTitle')}</h2>
          <DuplicatesTable ctx={ctx} lead={lead} agentName={data.agentName} rows={data.duplicates} />
        </div></div>
      )}
      <section id="comments" class="mt-4">
        <h2 class="h5">{ctx.t('lead.section.comments')}</h2>
        {comments}
      </section>
      <p class="mt-4"><a href="/dashboard">← {ctx.t('lead.back')}</a></p>
    </AppPage>
  );
}
