// Step 2 of the CSV import: one select per column (what it fills), the rows as the import would read
// them — errors next to the cell, duplicate flags — and the "Import" button. Nothing is saved before it.
import type { LeadImport, Role } from '../db/schema.ts';
import type { ViewContext } from '../views/context.ts';
import { SelectField } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';
import { type ImportTarget, type MappingProblems, mappingOk, REQUIRED_FIELDS, targetLabel, targetsFor } from './fields.ts';
import type { CheckedRow, CheckResult } from './imports.server.ts';
import { type AgentChoice, agentOptions, ImportStatusBadge, messageOf } from './views.tsx';

/** The first rows are always shown; rows with errors after them up to this many more. */
export const PREVIEW_FIRST = 100;
export const PREVIEW_MAX_ERRORS = 400;

export interface PreviewData {
  imp: LeadImport;
  /** The uploader's role: what the import may do (agent column, responsible agent). */
  role: Role;
  check: CheckResult | null;
  problems: MappingProblems;
  agents: AgentChoice[] | null;
  agentName: string;
  /** Admins see which existing leads a row duplicates (as on a lead's page); agents only that it does. */
  duplicateNames: Map<number, string> | null;
  /** Set when the mapping form came back with a mistake (e.g. an unknown agent). */
  agentError?: 'validation.agent';
}

/** The rows worth showing: the first PREVIEW_FIRST, then those with errors (at most PREVIEW_MAX_ERRORS more). */
export function rowsToShow(check: CheckResult | null, count: number): number[] {
  const first = Array.from({ length: Math.min(PREVIEW_FIRST, count) }, (_, i) => i);
  if (!check) return first;
  const errors = check.rows.filter((r) => r.index >= PREVIEW_FIRST && r.errors.length > 0).slice(0, PREVIEW_MAX_ERRORS).map((r) => r.index);
  return [...first, ...errors];
}

const DELIMITER_NAMES: Record<string, 'import.delimiter.comma' | 'import.delimiter.semicolon' | 'import.delimiter.tab'> = {
  ',': 'import.delimiter.comma', ';': 'import.delimiter.semicolon', '\t': 'import.delimiter.tab',
};

function RowResult({ ctx, row, names }: { ctx: ViewContext; row: CheckedRow | undefined; names: Map<number, string> | null }) {
  if (!row) return <span class="text-body-secondary">—</span>;
  if (row.errors.length > 0) {
    return (
      <ul class="list-unstyled mb-0 text-danger small" data-testid="row-errors">
        {row.errors.map((e) => <li>{e.field === '_' ? '' : `${ctx.t(targetLabel(e.field))}: `}{ctx.t(e.key)}</li>)}
      </ul>
    );
  }
  return (
    <div class="d-flex flex-wrap gap-1 align-items-center">
      <span class="badge text-bg-success">{ctx.t('import.preview.ok')}</span>
      {row.inFile && <span class="badge text-bg-warning" data-testid="dup-in-file">{ctx.t('import.dup.inFile')}</span>}
      {row.existing.length > 0 && <span class="badge text-bg-danger" data-testid="dup-existing">{ctx.t('lead.duplicateBadge')}</span>}
      {names && row.existing.length > 0 && (
        <span class="small">{ctx.t('import.dup.existingAdmin')}{' '}
          {row.existing.slice(0, 5).map((id, i) => <>{i > 0 ? ', ' : ''}<a href={`/leads/${id}`}>{names.get(id) ?? `#${id}`}</a></>)}
        </span>
      )}
    </div>
  );
}

export function ImportPreviewPage({ ctx, data }: { ctx: ViewContext; data: PreviewData }) {
  const { imp, check, problems } = data;
  const targets = targetsFor(data.role);
  const ready = mappingOk(problems);
  const shown = rowsToShow(ready ? check : null, imp.rows.length);
  const byIndex = new Map((check?.rows ?? []).map((r) => [r.index, r]));
  const valid = ready && check ? check.valid : 0;
  const option = (t: ImportTarget) => ({ value: t, label: `${ctx.t(targetLabel(t))}${(REQUIRED_FIELDS as string[]).includes(t) ? ' *' : ''}` });
  return (
    <AppPage ctx={ctx} title={ctx.t('import.progress.title', { name: imp.filename })}>
      {imp.status === 'failed' && (
        <div class="alert alert-danger" role="alert" data-testid="import-failed">
          <strong>{ctx.t('import.failed.title')}</strong> {messageOf(ctx, imp.error)}
        </div>
      )}
      <p class="d-flex flex-wrap gap-2 align-items-center">
        <ImportStatusBadge ctx={ctx} status={imp.status} />
        <span data-testid="import-info">{ctx.t('import.preview.info', {
          rows: imp.rows.length, encoding: imp.encoding === 'utf-8' ? 'UTF-8' : 'Windows-1251', delimiter: ctx.t(DELIMITER_NAMES[imp.delimiter] ?? 'import.delimiter.comma'),
        })}</span>
        {!data.agents && <span class="text-body-secondary">· {ctx.t('import.agent')}: {data.agentName}</span>}
      </p>
      <p class="small text-body-secondary">{ctx.t('import.preview.wrongChars')} <a href="/leads/import">{ctx.t('import.newImport')}</a></p>

      <form method="post" action={`/leads/import/${imp.id}/mapping`} novalidate data-testid="mapping-form" data-import-mapping>
        <CsrfField ctx={ctx} />
        <h2 class="h5">{ctx.t('import.mapping.title')}</h2>
        <p class="text-body-secondary small">{ctx.t('import.mapping.help')}</p>
        {data.agents && (
          <div class="col-12 col-md-6">
            <SelectField ctx={ctx} form={{ values: { agent_id: String(imp.agent_id) }, errors: data.agentError ? { agent_id: data.agentError } : {} }}
              name="agent_id" label="import.agent" help="import.agentHelp" required options={agentOptions(ctx, data.agents)} />
          </div>
        )}
        {problems.missing.length > 0 && (
          <div class="alert alert-warning" role="alert" data-testid="mapping-missing" id="mapping-missing">
            {ctx.t('import.mapping.missing', { fields: problems.missing.map((f) => ctx.t(targetLabel(f))).join(', ') })}
          </div>
        )}
        {ready && check && (
          <p class="d-flex flex-wrap gap-3" data-testid="import-counts">
            <span class="text-success" data-count="valid">{ctx.t('import.count.valid', { n: check.valid })}</span>
            <span class="text-danger" data-count="invalid">{ctx.t('import.count.invalid', { n: check.invalid })}</span>
            <span class="text-warning-emphasis" data-count="duplicates">{ctx.t('import.count.duplicates', { n: check.duplicates })}</span>
          </p>
        )}
        <div class="table-responsive import-preview mb-2">
          <table class="table table-sm table-bordered align-top" data-testid="import-preview">
            <thead>
              <tr>
                <th scope="col">{ctx.t('import.preview.line')}</th>
                {imp.headers.map((h, i) => {
                  const repeated = problems.repeated.includes(i);
                  return (
                    <th scope="col">
                      <label for={`col-${i}`} class="form-label small mb-1 d-block">{h || ctx.t('import.preview.column', { n: i + 1 })}</label>
                      <select id={`col-${i}`} name={`col_${i}`} class={`form-select form-select-sm${repeated ? ' is-invalid' : ''}`} data-testid={`map-${i}`}
                        aria-invalid={repeated ? 'true' : undefined} aria-describedby={repeated ? `col-${i}-error` : undefined}>
                        <option value="">{ctx.t('import.mapping.skip')}</option>
                        {targets.map((t) => { const o = option(t); return <option value={o.value} selected={imp.mapping[i] === t}>{o.label}</option>; })}
                      </select>
                      {repeated && <div id={`col-${i}-error`} class="invalid-feedback">{ctx.t('import.mapping.repeated')}</div>}
                    </th>
                  );
                })}
                <th scope="col">{ctx.t('import.preview.result')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((index) => {
                const row = ready ? byIndex.get(index) : undefined;
                const bad = new Set(row?.errors.map((e) => e.field) ?? []);
                const status = !row ? '' : row.errors.length ? 'error' : row.inFile || row.existing.length ? 'duplicate' : 'ok';
                return (
                  <tr data-line={String(imp.lines[index] ?? index + 2)} data-row-status={status || undefined}>
                    <th scope="row" class="text-body-secondary fw-normal">{imp.lines[index] ?? index + 2}</th>
                    {(imp.rows[index] ?? []).map((cell, i) => (
                      <td class={imp.mapping[i] && bad.has(imp.mapping[i] as ImportTarget) ? 'table-danger' : imp.mapping[i] ? undefined : 'text-body-tertiary'}>{cell}</td>
                    ))}
                    <td><RowResult ctx={ctx} row={row} names={data.duplicateNames} /></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {shown.length < imp.rows.length && (
          <p class="small text-body-secondary" data-testid="rows-hidden">{ctx.t('import.preview.hidden', { shown: shown.length, total: imp.rows.length, first: PREVIEW_FIRST })}</p>
        )}
        <button type="submit" class="btn btn-outline-primary mb-4" data-testid="update-preview">{ctx.t('import.mapping.update')}</button>
      </form>

      <div class="d-flex flex-wrap gap-2 align-items-start">
        <form method="post" action={`/leads/import/${imp.id}/start`} data-testid="start-form">
          <CsrfField ctx={ctx} />
          <button type="submit" class="btn btn-primary" data-testid="start-import" disabled={valid === 0}>
            {ctx.t(imp.status === 'failed' ? 'import.retry' : 'import.start', { n: valid })}
          </button>
          <div class="form-text">{ctx.t(valid === 0 ? 'import.nothingValid' : 'import.startHelp')}</div>
        </form>
        <form method="post" action={`/leads/import/${imp.id}/delete`} data-confirm={ctx.t('import.discardConfirm')}>
          <CsrfField ctx={ctx} />
          <button type="submit" class="btn btn-outline-secondary" data-testid="discard-import">{ctx.t('import.discard')}</button>
        </form>
      </div>
      <script src="/static/import.js" defer></script>
    </AppPage>
  );
}
