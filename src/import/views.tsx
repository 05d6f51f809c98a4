// CSV import pages: step 1 upload (with the recent imports), step 3 progress and the summary. The
// mapping and preview (step 2) are in preview-view.tsx.
import type { ImportStatus } from '../db/schema.ts';
import { formatDateTime, isMessageKey } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { FormErrorSummary, type FormState, SelectField } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';
import { IMPORT_MAX_BYTES, IMPORT_MAX_ROWS } from './csv.ts';
import type { ImportSummary } from './imports.server.ts';

export interface AgentChoice { id: number; display_name: string; role: 'agent' | 'admin' }

export const agentOptions = (ctx: ViewContext, agents: AgentChoice[]) =>
  agents.map((a) => ({ value: String(a.id), label: `${a.display_name} (${ctx.t(a.role === 'admin' ? 'role.admin' : 'role.agent')})` }));

const STATUS_BADGE: Record<ImportStatus, string> = { draft: 'secondary', queued: 'info', running: 'info', done: 'success', failed: 'danger' };

export function ImportStatusBadge({ ctx, status }: { ctx: ViewContext; status: ImportStatus }) {
  return <span class={`badge text-bg-${STATUS_BADGE[status]}`} data-testid="import-status">{ctx.t(`import.status.${status}`)}</span>;
}

/** A stored message key (the import's error) as text; anything unexpected as the generic failure. */
export const messageOf = (ctx: ViewContext, key: string | null, params?: Record<string, string | number>) =>
  ctx.t(isMessageKey(key) ? key : 'import.failed.database', params);

export interface UploadPageData { agents: AgentChoice[] | null; imports: (ImportSummary & { agent_name: string })[] }

/** The upload form's state; a file error may carry parameters (the line of a broken quote). */
export type UploadForm = FormState & { params?: Record<string, string | number> };

export function ImportUploadPage({ ctx, form, data }: { ctx: ViewContext; form: UploadForm; data: UploadPageData }) {
  const fileError = form.errors.file;
  return (
    <AppPage ctx={ctx} title={ctx.t('import.title')}>
      <FormErrorSummary ctx={ctx} form={form} />
      <div class="card mb-4"><div class="card-body">
        <h2 class="h5">{ctx.t('import.upload.title')}</h2>
        <form method="post" action="/leads/import" enctype="multipart/form-data" novalidate data-testid="import-upload-form">
          <CsrfField ctx={ctx} />
          <div class="mb-3">
            <label for="f-file" class="form-label">{ctx.t('import.file')} *</label>
            <input id="f-file" name="file" type="file" accept=".csv,text/csv,text/plain" required data-max-bytes={String(IMPORT_MAX_BYTES)}
              data-too-large={ctx.t('import.error.tooLarge', { max: `${IMPORT_MAX_BYTES / (1024 * 1024)} MB` })}
              class={`form-control${fileError ? ' is-invalid' : ''}`} aria-invalid={fileError ? 'true' : undefined}
              aria-describedby={`f-file-help${fileError ? ' f-file-error' : ''}`} />
            <div id="f-file-help" class="form-text">{ctx.t('import.fileHelp', { mb: IMPORT_MAX_BYTES / (1024 * 1024), rows: IMPORT_MAX_ROWS.toLocaleString(ctx.locale === 'uk' ? 'uk-UA' : 'en-GB') })}</div>
            {fileError && <div id="f-file-error" class="invalid-feedback" data-field-error="file">{ctx.t(fileError, form.params)}</div>}
          </div>
          <div class="row g-3">
            <div class="col-12 col-md-6">
              <SelectField ctx={ctx} form={form} name="encoding" label="import.encoding" placeholder="import.auto"
                options={[{ value: 'utf-8', label: 'UTF-8' }, { value: 'windows-1251', label: ctx.t('import.encoding.cp1251') }]} />
            </div>
            <div class="col-12 col-md-6">
              <SelectField ctx={ctx} form={form} name="delimiter" label="import.delimiter" placeholder="import.auto"
                options={[{ value: 'comma', label: ctx.t('import.delimiter.comma') }, { value: 'semicolon', label: ctx.t('import.delimiter.semicolon') }, { value: 'tab', label: ctx.t('import.delimiter.tab') }]} />
            </div>
          </div>
          {data.agents && (
            <SelectField ctx={ctx} form={form} name="agent_id" label="import.agent" help="import.agentHelp" required options={agentOptions(ctx, data.agents)} />
          )}
          <button type="submit" class="btn btn-primary" data-testid="import-upload">{ctx.t('import.uploadButton')}</button>
        </form>
      </div></div>
      <h2 class="h5">{ctx.t('import.recent')}</h2>
      {data.imports.length === 0 ? <p class="text-body-secondary">{ctx.t('import.none')}</p> : (
        <div class="table-responsive"><table class="table table-sm align-middle" data-testid="import-list">
          <thead><tr>
            <th scope="col">{ctx.t('import.col.file')}</th><th scope="col">{ctx.t('import.col.created')}</th>
            {ctx.user?.role === 'admin' && <th scope="col">{ctx.t('import.col.agent')}</th>}
            <th scope="col">{ctx.t('import.col.status')}</th><th scope="col" class="text-end">{ctx.t('import.col.rows')}</th>
            <th scope="col" class="text-end">{ctx.t('import.col.imported')}</th><th scope="col" class="text-end">{ctx.t('import.col.failed')}</th>
          </tr></thead>
          <tbody>
            {data.imports.map((i) => (
              <tr>
                <td><a href={`/leads/import/${i.id}`}>{i.filename}</a></td>
                <td>{formatDateTime(ctx.locale, i.created_at)}</td>
                {ctx.user?.role === 'admin' && <td>{i.agent_name}</td>}
                <td><ImportStatusBadge ctx={ctx} status={i.status} /></td>
                <td class="text-end">{i.total}</td>
                <td class="text-end">{i.status === 'done' ? i.imported : '—'}</td>
                <td class="text-end">{i.status === 'done' ? i.failed : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
      <script src="/static/import.js" defer></script>
    </AppPage>
  );
}

export const percentOf = (processed: number, total: number) => (total === 0 ? 100 : Math.min(100, Math.floor((processed / total) * 100)));

/** Step 3 while it runs: a bar that public/import.js keeps current; without JavaScript the page reloads itself. */
export function ImportProgressPage({ ctx, imp, processed }: { ctx: ViewContext; imp: ImportSummary; processed: number }) {
  const percent = percentOf(processed, imp.total);
  return (
    <AppPage ctx={ctx} title={ctx.t('import.progress.title', { name: imp.filename })}>
      <noscript><meta http-equiv="refresh" content="2" /></noscript>
      <div class="card"><div class="card-body" data-import-progress={`/leads/import/${imp.id}/progress`} data-import-page={`/leads/import/${imp.id}`}>
        <p class="mb-2"><ImportStatusBadge ctx={ctx} status={imp.status} /></p>
        <label for="import-progress" class="form-label visually-hidden">{ctx.t('import.progress.label')}</label>
        <div class="d-flex align-items-center gap-2 mb-2">
          <progress id="import-progress" class="import-progress flex-grow-1" max={imp.total || 1} value={processed} data-testid="import-progress">{percent}%</progress>
          <span class="fw-semibold" data-progress-percent>{percent}%</span>
        </div>
        <p class="mb-1" data-progress-text data-template={ctx.t('import.progress.text', { done: '{done}', total: '{total}' })}>
          {ctx.t('import.progress.text', { done: processed, total: imp.total })}
        </p>
        <p class="small text-body-secondary mb-0">{ctx.t('import.progress.wait')}</p>
      </div></div>
      <script src="/static/import.js" defer></script>
    </AppPage>
  );
}

export interface DonePageData {
  imp: ImportSummary;
  leads: { id: number; deal_name: string }[];
}

export const LEADS_SHOWN = 100;

/** Step 3 when finished: what was imported, and the failed rows to download. */
export function ImportDonePage({ ctx, data }: { ctx: ViewContext; data: DonePageData }) {
  const { imp, leads } = data;
  return (
    <AppPage ctx={ctx} title={ctx.t('import.progress.title', { name: imp.filename })}>
      <div class={`alert ${imp.failed > 0 ? 'alert-warning' : 'alert-success'}`} role="status" data-testid="import-done">
        {ctx.t('import.done.summary', { imported: imp.imported, failed: imp.failed })}
        {imp.finished_at && <span class="text-body-secondary"> · {formatDateTime(ctx.locale, imp.finished_at)}</span>}
      </div>
      <div class="d-flex flex-wrap gap-2 mb-4">
        {imp.failed > 0 && (
          <a class="btn btn-outline-danger" href={`/leads/import/${imp.id}/failed.csv`} data-testid="download-failed" download>
            <i class="bi bi-download" aria-hidden="true"></i> {ctx.t('import.done.download')}
          </a>
        )}
        <a class="btn btn-primary" href="/dashboard">{ctx.t('import.done.toDashboard')}</a>
        <a class="btn btn-outline-secondary" href="/leads/import">{ctx.t('import.newImport')}</a>
      </div>
      {leads.length > 0 && (
        <>
          <h2 class="h5">{ctx.t('import.done.leads')}</h2>
          <ul class="list-unstyled" data-testid="imported-leads">
            {leads.map((l) => <li><a href={`/leads/${l.id}`}>{l.deal_name}</a></li>)}
          </ul>
          {imp.imported > leads.length && <p class="text-body-secondary">{ctx.t('import.done.more', { n: imp.imported - leads.length })}</p>}
        </>
      )}
    </AppPage>
  );
}

