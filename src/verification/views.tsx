import type { Locale } from '../db/schema.ts';
import type { DocumentKind } from '../db/schema.ts';
import type { DocumentRow } from '../documents/documents.server.ts';
import { DocumentList, FileField } from '../documents/views.tsx';
import type { FieldErrors } from '../platform/errors.ts';
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { AppPage, CsrfField } from '../views/layout.tsx';
import { type AgentVerification, canRequest, REQUIRED_DOCUMENTS } from './domain.ts';
import type { AgentOverview, HistoryRow, Overview } from './verification.server.ts';

const numberFormats = new Map<Locale, Intl.NumberFormat>();
/** "7,5" in Ukrainian, "7.5" in English. */
export function formatCommission(locale: Locale, value: number | string): string {
  let f = numberFormats.get(locale);
  if (!f) numberFormats.set(locale, (f = new Intl.NumberFormat(locale === 'uk' ? 'uk-UA' : 'en-GB', { maximumFractionDigits: 1 })));
  return f.format(Number(value));
}

const BADGE = { verified: 'success', pending: 'warning', rejected: 'danger', revoked: 'secondary', none: 'secondary' } as const;
const STATUS_BADGE = { approved: 'success', pending: 'warning', rejected: 'danger', revoked: 'secondary' } as const;

/** A badge and one line: verified (commission), pending (since), rejected/revoked (reason), not verified. */
export function VerificationStatus({ ctx, v }: { ctx: ViewContext; v: AgentVerification }) {
  return (
    <div data-testid="verification-state" data-state={v.state}>
      <span class={`badge text-bg-${BADGE[v.state]}`}>{ctx.t(`verification.state.${v.state}`)}</span>
      {v.state === 'verified' && (
        <div class="small mt-1">
          <span data-testid="verification-commission">{ctx.t('verification.commissionIs', { commission: formatCommission(ctx.locale, v.commission) })}</span>
          {v.since && <span class="text-body-secondary"> · {ctx.t('verification.verifiedSince', { date: formatDateTime(ctx.locale, v.since) })}</span>}
        </div>
      )}
      {v.state === 'pending' && <div class="small mt-1 text-body-secondary">{ctx.t('verification.pendingSince', { date: formatDateTime(ctx.locale, v.requestedAt) })}</div>}
      {(v.state === 'rejected' || v.state === 'revoked') && (
        <div class="small mt-1" data-testid="verification-reason">
          {ctx.t('verification.reasonIs', { reason: v.reason })} <span class="text-body-secondary">({formatDateTime(ctx.locale, v.decidedAt)})</span>
        </div>
      )}
    </div>
  );
}

/** The agent's card on the profile: the state and the way to (re-)apply. */
export function VerificationCard({ ctx, v }: { ctx: ViewContext; v: AgentVerification }) {
  return (
    <div class="card mt-4" data-testid="verification-card"><div class="card-body">
      <h2 class="h5">{ctx.t('verification.title')}</h2>
      <VerificationStatus ctx={ctx} v={v} />
      <div class="mt-3">
        {canRequest(v)
          ? <a href="/verification" class="btn btn-primary btn-sm" data-testid="verification-request">{ctx.t(v.state === 'none' ? 'verification.request' : 'verification.reapply')}</a>
          : <a href="/verification" class="btn btn-outline-secondary btn-sm">{ctx.t('verification.details')}</a>}
      </div>
    </div></div>
  );
}

function HistoryTable({ ctx, rows, showDecider }: { ctx: ViewContext; rows: HistoryRow[]; showDecider: boolean }) {
  if (rows.length === 0) return <p class="text-body-secondary mb-0">{ctx.t('verification.noHistory')}</p>;
  return (
    <div class="table-responsive"><table class="table table-sm align-middle mb-0" data-testid="verification-history">
      <thead><tr>
        <th>{ctx.t('verification.col.requested')}</th><th>{ctx.t('verification.col.status')}</th><th>{ctx.t('verification.col.decided')}</th>
        {showDecider && <th>{ctx.t('verification.col.by')}</th>}<th>{ctx.t('verification.col.commission')}</th><th>{ctx.t('verification.col.reason')}</th>
      </tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr data-status={r.status}>
            <td class="small text-nowrap">{formatDateTime(ctx.locale, r.requested_at)}</td>
            <td><span class={`badge text-bg-${STATUS_BADGE[r.status]}`}>{ctx.t(`verification.status.${r.status}`)}</span></td>
            <td class="small text-nowrap">{r.decided_at ? formatDateTime(ctx.locale, r.decided_at) : ''}</td>
            {showDecider && <td class="small">{r.decided_by_name ?? ''}</td>}
            <td class="small">{r.commission === null ? '' : formatCommission(ctx.locale, r.commission)}</td>
            <td class="small">{r.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table></div>
  );
}

export interface AgentVerificationData {
  v: AgentVerification;
  onFile: Set<DocumentKind>;
  documents: DocumentRow[];
  history: HistoryRow[];
  maxBytes: number;
}

/** /verification: the agent's state, the request form with its documents, their documents and history. */
export function AgentVerificationPage({ ctx, data, errors }: { ctx: ViewContext; data: AgentVerificationData; errors: FieldErrors }) {
  const labels = { id_document: ctx.t('verification.idDocument'), agreement: ctx.t('verification.agreement') };
  return (
    <AppPage ctx={ctx} title={ctx.t('verification.title')}>
      <div class="row g-4">
        <div class="col-12 col-lg-6">
          <div class="card"><div class="card-body">
            <h2 class="h5">{ctx.t('verification.yourState')}</h2>
            <VerificationStatus ctx={ctx} v={data.v} />
            {canRequest(data.v) && (
              <>
                <hr />
                <p class="small">{ctx.t('verification.intro')}</p>
                {Object.keys(errors).length > 0 && <div class="alert alert-danger" role="alert" data-testid="form-errors">{ctx.t(errors._ ?? 'validation.formErrors')}</div>}
                <form method="post" action="/verification" enctype="multipart/form-data" novalidate data-testid="verification-form">
                  <CsrfField ctx={ctx} />
                  {REQUIRED_DOCUMENTS.map((d) => (
                    <FileField ctx={ctx} name={d.field} label={labels[d.field]} errors={errors} maxBytes={data.maxBytes}
                      required={!data.onFile.has(d.kind)} help={data.onFile.has(d.kind) ? ctx.t('verification.onFile') : undefined} />
                  ))}
                  <button type="submit" class="btn btn-primary" data-testid="verification-submit">
                    <i class="bi bi-send me-1" aria-hidden="true"></i>{ctx.t('verification.submit')}
                  </button>
                </form>
              </>
            )}
          </div></div>
        </div>
        <div class="col-12 col-lg-6">
          <div class="card"><div class="card-body">
            <h2 class="h5">{ctx.t('verification.yourDocuments')}</h2>
            <DocumentList ctx={ctx} documents={data.documents} />
          </div></div>
        </div>
        <div class="col-12">
          <div class="card"><div class="card-body">
            <h2 class="h5">{ctx.t('verification.history')}</h2>
            <HistoryTable ctx={ctx} rows={data.history} showDecider={false} />
          </div></div>
        </div>
      </div>
    </AppPage>
  );
}

/** A form the admin sent that came back with a mistake: which agent, which action, what was typed. */
export interface DecisionForm { agentId: number; action: 'approve' | 'reject'; values: Record<string, string>; errors: FieldErrors }

const formFor = (form: DecisionForm | null, agentId: number, action: DecisionForm['action']) =>
  form && form.agentId === agentId && form.action === action ? form : null;

function CommissionPresets() {
  return <datalist id="commission-presets">{['0', '2', '3', '5', '10', '15'].map((v) => <option value={v}></option>)}</datalist>;
}

function ApproveForm({ ctx, agentId, form, next }: { ctx: ViewContext; agentId: number; form: DecisionForm | null; next: string }) {
  const error = form?.errors.commission;
  const id = `f-commission-${agentId}`;
  return (
    <form method="post" action={`/admin/verification/${agentId}/approve`} novalidate class="d-flex flex-wrap gap-2 align-items-end" data-testid="approve-form">
      <CsrfField ctx={ctx} />
      <input type="hidden" name="next" value={next} />
      <div>
        <label for={id} class="form-label small mb-1">{ctx.t('verification.commission')}</label>
        <div class="input-group input-group-sm has-validation commission-input">
          <input id={id} name="commission" type="number" min={0} max={100} step={0.1} inputMode="decimal" list="commission-presets" required
            class={`form-control${error ? ' is-invalid' : ''}`} value={form?.values.commission ?? ''}
            aria-invalid={error ? 'true' : undefined} aria-describedby={`${id}-help${error ? ` ${id}-error` : ''}`} />
          <span class="input-group-text">%</span>
          {error && <div id={`${id}-error`} class="invalid-feedback" data-field-error="commission">{ctx.t(error)}</div>}
        </div>
        <div id={`${id}-help`} class="form-text">{ctx.t('verification.commissionHelp')}</div>
      </div>
      <button type="submit" class="btn btn-sm btn-success mb-4" data-testid="approve">{ctx.t('verification.approve')}</button>
    </form>
  );
}

function RejectForm({ ctx, agentId, form, next, revoke }: { ctx: ViewContext; agentId: number; form: DecisionForm | null; next: string; revoke: boolean }) {
  const error = form?.errors.reason;
  const id = `f-reason-${agentId}`;
  return (
    <details open={!!form} class="reject-details">
      <summary class="btn btn-sm btn-outline-danger" data-testid={revoke ? 'revoke-toggle' : 'reject-toggle'}>{ctx.t(revoke ? 'verification.revoke' : 'verification.reject')}</summary>
      <form method="post" action={`/admin/verification/${agentId}/reject`} novalidate class="mt-2" data-testid="reject-form"
        data-confirm={ctx.t(revoke ? 'verification.confirmRevoke' : 'verification.confirmReject')}>
        <CsrfField ctx={ctx} />
        <input type="hidden" name="next" value={next} />
        <label for={id} class="form-label small mb-1">{ctx.t('verification.reason')} *</label>
        <textarea id={id} name="reason" rows={2} maxLength={1000} required class={`form-control form-control-sm${error ? ' is-invalid' : ''}`}
          aria-invalid={error ? 'true' : undefined} aria-describedby={error ? `${id}-error` : undefined} value={form?.values.reason ?? ''} />
        {error && <div id={`${id}-error`} class="invalid-feedback" data-field-error="reason">{ctx.t(error)}</div>}
        <button type="submit" class="btn btn-sm btn-danger mt-2" data-testid="reject">{ctx.t(revoke ? 'verification.revokeSubmit' : 'verification.rejectSubmit')}</button>
      </form>
    </details>
  );
}

/** The actions an admin has for one agent in their current state. */
function Decisions({ ctx, agent, form, next }: { ctx: ViewContext; agent: AgentOverview; form: DecisionForm | null; next: string }) {
  const state = agent.verification.state;
  if (state === 'verified') return <RejectForm ctx={ctx} agentId={agent.id} form={formFor(form, agent.id, 'reject')} next={next} revoke />;
  if (state === 'pending') {
    return (
      <div class="d-flex flex-wrap gap-3 align-items-start">
        <ApproveForm ctx={ctx} agentId={agent.id} form={formFor(form, agent.id, 'approve')} next={next} />
        <RejectForm ctx={ctx} agentId={agent.id} form={formFor(form, agent.id, 'reject')} next={next} revoke={false} />
      </div>
    );
  }
  const mine = formFor(form, agent.id, 'approve');
  return (
    <details open={!!mine}>
      <summary class="btn btn-sm btn-outline-success" data-testid="verify-toggle">{ctx.t('verification.verify')}</summary>
      <div class="mt-2"><ApproveForm ctx={ctx} agentId={agent.id} form={mine} next={next} /></div>
    </details>
  );
}

function AgentName({ ctx, agent }: { ctx: ViewContext; agent: AgentOverview }) {
  return (
    <>
      <a href={`/admin/verification/${agent.id}`} class="fw-semibold">{agent.display_name}</a>
      <div class="small text-body-secondary">{agent.username}{!agent.is_active && <> · <span class="text-danger">{ctx.t('verification.inactive')}</span></>}</div>
    </>
  );
}

/** /admin/verification: counts, the pending requests with their documents, every agent. */
export function AdminVerificationPage({ ctx, data, form }: { ctx: ViewContext; data: Overview; form: DecisionForm | null }) {
  const next = '/admin/verification';
  const cards = [['pending', 'warning'], ['verified', 'success'], ['unverified', 'secondary'], ['total', 'primary']] as const;
  return (
    <AppPage ctx={ctx} title={ctx.t('verification.adminTitle')}>
      <CommissionPresets />
      {form && <div class="alert alert-danger" role="alert" data-testid="form-errors">{ctx.t('validation.formErrors')}</div>}
      <div class="row g-3 mb-4">
        {cards.map(([key, tone]) => (
          <div class="col-6 col-md-3"><div class={`card border-${tone}`}><div class="card-body">
            <div class="small text-body-secondary">{ctx.t(`verification.count.${key}`)}</div>
            <div class="fs-3 fw-semibold" data-testid={`verification-count-${key}`}>{String(data.counts[key])}</div>
          </div></div></div>
        ))}
      </div>
      <div class="card mb-4"><div class="card-body">
        <h2 class="h5">{ctx.t('verification.pendingTitle')}</h2>
        {data.pending.length === 0 ? <p class="text-body-secondary mb-0" data-testid="no-pending">{ctx.t('verification.noPending')}</p> : (
          <div class="table-responsive"><table class="table align-top mb-0" data-testid="pending-table">
            <thead><tr>
              <th>{ctx.t('verification.col.agent')}</th><th>{ctx.t('verification.col.requested')}</th>
              <th>{ctx.t('verification.col.documents')}</th><th>{ctx.t('verification.col.actions')}</th>
            </tr></thead>
            <tbody>
              {data.pending.map((a) => (
                <tr data-agent-id={String(a.id)}>
                  <td><AgentName ctx={ctx} agent={a} /><div class="small">{a.email}</div></td>
                  <td class="small text-nowrap">{formatDateTime(ctx.locale, a.requestedAt)}</td>
                  <td class="small">
                    {a.documents.length === 0 ? <span class="text-body-secondary">{ctx.t('documents.none')}</span> : (
                      <ul class="list-unstyled mb-0">
                        {a.documents.map((d) => (
                          <li><a href={`/documents/${d.id}/download`} data-testid="pending-document">{d.filename}</a> <span class="text-body-secondary">({ctx.t(`documents.kind.${d.kind}`)})</span></li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td><Decisions ctx={ctx} agent={a} form={form} next={next} /></td>
                </tr>
              ))}
            </tbody>
          </table></div>
        )}
      </div></div>
      <div class="card"><div class="card-body">
        <h2 class="h5">{ctx.t('verification.allAgents')}</h2>
        {data.agents.length === 0 ? <p class="text-body-secondary mb-0">{ctx.t('verification.noAgents')}</p> : (
          <div class="table-responsive"><table class="table table-sm align-top mb-0" data-testid="agents-table">
            <thead><tr>
              <th>{ctx.t('verification.col.agent')}</th><th>{ctx.t('verification.col.email')}</th><th>{ctx.t('verification.col.registered')}</th>
              <th>{ctx.t('verification.col.status')}</th><th>{ctx.t('verification.col.commission')}</th><th>{ctx.t('verification.col.actions')}</th>
            </tr></thead>
            <tbody>
              {data.agents.map((a) => (
                <tr data-agent-id={String(a.id)} data-state={a.verification.state}>
                  <td><AgentName ctx={ctx} agent={a} /></td>
                  <td class="small">{a.email}</td>
                  <td class="small text-nowrap">{formatDateTime(ctx.locale, a.created_at, false)}</td>
                  <td><span class={`badge text-bg-${BADGE[a.verification.state]}`}>{ctx.t(`verification.state.${a.verification.state}`)}</span></td>
                  <td class="small">{formatCommission(ctx.locale, a.commission)}</td>
                  <td>{a.verification.state === 'pending'
                    ? <span class="small text-body-secondary">{ctx.t('verification.seePending')}</span>
                    : <Decisions ctx={ctx} agent={a} form={form} next={next} />}</td>
                </tr>
              ))}
            </tbody>
          </table></div>
        )}
      </div></div>
    </AppPage>
  );
}

export interface AgentDetailsData {
  agent: AgentOverview;
  stats: { leads: number; closed: number; points: number };
  documents: DocumentRow[];
  history: HistoryRow[];
}

/** /admin/verification/:id: one agent, their state and decisions, documents (with delete) and history. */
export function AgentDetailsPage({ ctx, data, form }: { ctx: ViewContext; data: AgentDetailsData; form: DecisionForm | null }) {
  const { agent } = data;
  const next = `/admin/verification/${agent.id}`;
  return (
    <AppPage ctx={ctx} title={ctx.t('verification.agentTitle', { name: agent.display_name })}
      actions={<a href="/admin/verification" class="btn btn-sm btn-outline-secondary">{ctx.t('verification.back')}</a>}>
      <CommissionPresets />
      {form && <div class="alert alert-danger" role="alert" data-testid="form-errors">{ctx.t('validation.formErrors')}</div>}
      <div class="row g-4">
        <div class="col-12 col-lg-5">
          <div class="card"><div class="card-body">
            <h2 class="h5">{ctx.t('verification.agentInfo')}</h2>
            <dl class="row small mb-3">
              <dt class="col-5">{ctx.t('profile.username')}</dt><dd class="col-7">{agent.username}</dd>
              <dt class="col-5">{ctx.t('profile.email')}</dt><dd class="col-7">{agent.email}</dd>
              <dt class="col-5">{ctx.t('profile.registered')}</dt><dd class="col-7">{formatDateTime(ctx.locale, agent.created_at)}</dd>
              <dt class="col-5">{ctx.t('profile.leads')}</dt><dd class="col-7">{String(data.stats.leads)}</dd>
              <dt class="col-5">{ctx.t('profile.deals')}</dt><dd class="col-7">{String(data.stats.closed)}</dd>
              <dt class="col-5">{ctx.t('profile.points')}</dt><dd class="col-7">{String(data.stats.points)}</dd>
            </dl>
            <VerificationStatus ctx={ctx} v={agent.verification} />
            <div class="mt-3"><Decisions ctx={ctx} agent={agent} form={form} next={next} /></div>
          </div></div>
        </div>
        <div class="col-12 col-lg-7">
          <div class="card"><div class="card-body">
            <div class="d-flex justify-content-between align-items-center mb-2">
              <h2 class="h5 mb-0">{ctx.t('documents.title')}</h2>
              <a href={`/admin/users/${agent.id}/documents`} class="btn btn-sm btn-outline-primary">{ctx.t('documents.upload')}</a>
            </div>
            <DocumentList ctx={ctx} documents={data.documents} canDelete />
          </div></div>
        </div>
        <div class="col-12">
          <div class="card"><div class="card-body">
            <h2 class="h5">{ctx.t('verification.history')}</h2>
            <HistoryTable ctx={ctx} rows={data.history} showDecider />
          </div></div>
        </div>
      </div>
    </AppPage>
  );
}
