import type { DocumentKind } from '../db/schema.ts';
import type { FieldErrors } from '../platform/errors.ts';
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import type { FormState } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';
import { type DocumentRow, DOCUMENT_KINDS } from './documents.server.ts';
import { DOCUMENT_ACCEPT, sizeParts } from './upload.ts';

const KIND_LABEL = { id: 'documents.kind.id', agreement: 'documents.kind.agreement', other: 'documents.kind.other' } as const;

export const kindLabel = (ctx: ViewContext, kind: DocumentKind) => ctx.t(KIND_LABEL[kind]);
export const fileSize = (ctx: ViewContext, bytes: number) => { const s = sizeParts(bytes); return ctx.t(s.key, { n: s.n }); };
export const megabytes = (bytes: number) => String(Number((bytes / (1024 * 1024)).toFixed(1)));

function icon(contentType: string): string {
  if (contentType === 'application/pdf') return 'file-earmark-pdf';
  if (contentType.startsWith('image/')) return 'file-earmark-image';
  return 'file-earmark-word';
}

/** A file input with the allowed types and size under it and its message next to it (files cannot be re-filled). */
export function FileField({ ctx, name, label, errors, maxBytes, required, help }: {
  ctx: ViewContext; name: string; label: string; errors: FieldErrors; maxBytes: number; required?: boolean; help?: string;
}) {
  const error = errors[name];
  const id = `f-${name}`;
  return (
    <div class="mb-3">
      <label for={id} class="form-label">{label}{required ? ' *' : ''}</label>
      <input id={id} name={name} type="file" class={`form-control${error ? ' is-invalid' : ''}`} accept={DOCUMENT_ACCEPT} required={required}
        aria-invalid={error ? 'true' : undefined} aria-describedby={`${id}-help${error ? ` ${id}-error` : ''}`} />
      <div id={`${id}-help`} class="form-text">{help ? `${help} ` : ''}{ctx.t('documents.fileHelp', { mb: megabytes(maxBytes) })}</div>
      {error && <div id={`${id}-error`} class="invalid-feedback" data-field-error={name}>{ctx.t(error, { mb: megabytes(maxBytes) })}</div>}
    </div>
  );
}

/** The documents list: name (a download link), kind, size, date; admins also get a delete button. */
export function DocumentList({ ctx, documents, canDelete = false }: { ctx: ViewContext; documents: DocumentRow[]; canDelete?: boolean }) {
  if (documents.length === 0) return <p class="text-body-secondary mb-0" data-testid="documents-empty">{ctx.t('documents.none')}</p>;
  return (
    <ul class="list-group list-group-flush" data-testid="documents-list">
      {documents.map((d) => (
        <li class="list-group-item d-flex align-items-start gap-2 px-0" data-document-id={String(d.id)}>
          <i class={`bi bi-${icon(d.content_type)} fs-4 text-body-secondary`} aria-hidden="true"></i>
          <div class="flex-grow-1 text-break">
            <a href={`/documents/${d.id}/download`} data-testid="document-download">{d.filename}</a>
            <div class="small text-body-secondary">
              {[kindLabel(ctx, d.kind), fileSize(ctx, d.size_bytes), formatDateTime(ctx.locale, d.created_at),
                ...(d.uploader_name && d.uploaded_by !== d.user_id ? [d.uploader_name] : [])].join(' · ')}
            </div>
            {d.description && <div class="small">{d.description}</div>}
          </div>
          {canDelete && (
            <form method="post" action={`/admin/users/${d.user_id}/documents/${d.id}/delete`} data-confirm={ctx.t('documents.confirmDelete', { name: d.filename })}>
              <CsrfField ctx={ctx} />
              <input type="hidden" name="next" value={ctx.path} />
              <button type="submit" class="btn btn-sm btn-outline-danger" data-testid="document-delete" aria-label={`${ctx.t('documents.delete')}: ${d.filename}`} title={ctx.t('documents.delete')}>
                <i class="bi bi-trash" aria-hidden="true"></i>
              </button>
            </form>
          )}
        </li>
      ))}
    </ul>
  );
}

export interface DocumentsPageData {
  owner: { id: number; display_name: string; username: string };
  documents: DocumentRow[];
  maxBytes: number;
}

/** /admin/users/:id/documents: the list (the owner sees their own), and for admins upload and delete. */
export function DocumentsPage({ ctx, data, form }: { ctx: ViewContext; data: DocumentsPageData; form: FormState }) {
  const isAdmin = ctx.user?.role === 'admin';
  const kind = form.values.kind ?? 'other';
  return (
    <AppPage ctx={ctx} title={ctx.t('documents.titleFor', { name: data.owner.display_name })}>
      <div class="row g-4">
        <div class={isAdmin ? 'col-12 col-lg-7' : 'col-12'}>
          <div class="card"><div class="card-body">
            <h2 class="h5">{ctx.t('documents.title')}</h2>
            <DocumentList ctx={ctx} documents={data.documents} canDelete={isAdmin} />
          </div></div>
        </div>
        {isAdmin && (
          <div class="col-12 col-lg-5">
            <div class="card"><div class="card-body">
              <h2 class="h5">{ctx.t('documents.upload')}</h2>
              {Object.keys(form.errors).length > 0 && <div class="alert alert-danger" role="alert" data-testid="form-errors">{ctx.t('validation.formErrors')}</div>}
              <form method="post" action={`/admin/users/${data.owner.id}/documents`} enctype="multipart/form-data" novalidate data-testid="document-upload-form">
                <CsrfField ctx={ctx} />
                <FileField ctx={ctx} name="file" label={ctx.t('documents.file')} errors={form.errors} maxBytes={data.maxBytes} required />
                <div class="mb-3">
                  <label for="f-kind" class="form-label">{ctx.t('documents.kind')}</label>
                  <select id="f-kind" name="kind" class={`form-select${form.errors.kind ? ' is-invalid' : ''}`}>
                    {DOCUMENT_KINDS.map((k) => <option value={k} selected={k === kind}>{kindLabel(ctx, k)}</option>)}
                  </select>
                  {form.errors.kind && <div class="invalid-feedback" data-field-error="kind">{ctx.t(form.errors.kind)}</div>}
                </div>
                <div class="mb-3">
                  <label for="f-description" class="form-label">{ctx.t('documents.description')}</label>
                  <input id="f-description" name="description" type="text" maxLength={500} value={form.values.description ?? ''}
                    class={`form-control${form.errors.description ? ' is-invalid' : ''}`} />
                  {form.errors.description && <div class="invalid-feedback" data-field-error="description">{ctx.t(form.errors.description)}</div>}
                </div>
                <button type="submit" class="btn btn-primary" data-testid="document-upload"><i class="bi bi-upload me-1" aria-hidden="true"></i>{ctx.t('documents.uploadButton')}</button>
              </form>
            </div></div>
          </div>
        )}
      </div>
    </AppPage>
  );
}
