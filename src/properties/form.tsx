// The admin's project form: main facts, layout rows, new photos and documents in one multipart form; on the
// edit page the existing photos (main, order, remove) and documents each have their own small forms below.
import type { PropertyDocument, PropertyPhoto } from '../db/schema.ts';
import type { MessageKey } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { Field, FormErrorSummary, type FormState, SelectField } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';
import { DOCUMENT_ACCEPT, MAX_DOCUMENTS, MAX_PHOTOS_PER_UPLOAD, PHOTO_ACCEPT, PROPERTY_COUNTRIES, UNIT_TYPES } from './domain.ts';
import { unitField } from './schemas.ts';
import type { FileProblem } from './uploads.server.ts';
import { bytesText, documentUrl, photoUrl } from './views.tsx';

export interface PropertyFormState extends FormState {
  /** Row numbers of the layout rows to show (existing first, then blank ones). */
  unitRows: number[];
  fileProblems: { photos: FileProblem[]; documents: FileProblem[] };
  /** Files chosen before the form came back: browsers cannot refill a file input, so we say so. */
  filesDropped: boolean;
}

export interface PropertyFormProps {
  ctx: ViewContext;
  form: PropertyFormState;
  mode: 'new' | 'edit';
  propertyId?: number;
  photos: PropertyPhoto[];
  documents: PropertyDocument[];
  /** The upload size limit, for the hints. */
  maxMb: number;
}

function TextArea({ ctx, form, name, label, maxLength, rows = 4 }: { ctx: ViewContext; form: FormState; name: string; label: MessageKey; maxLength: number; rows?: number }) {
  const error = form.errors[name];
  const id = `f-${name}`;
  return (
    <div class="mb-3">
      <label for={id} class="form-label">{ctx.t(label)}</label>
      <textarea id={id} name={name} rows={rows} maxLength={maxLength} class={`form-control${error ? ' is-invalid' : ''}`}
        aria-invalid={error ? 'true' : undefined} aria-describedby={error ? `${id}-error` : undefined}>{form.values[name] ?? ''}</textarea>
      {error && <div id={`${id}-error`} class="invalid-feedback" data-field-error={name}>{ctx.t(error)}</div>}
    </div>
  );
}

function UnitRow({ ctx, form, row }: { ctx: ViewContext; form: FormState; row: number }) {
  const v = (f: Parameters<typeof unitField>[0]) => form.values[unitField(f, row)] ?? '';
  const cell = (f: 'size_from' | 'size_to' | 'price', label: MessageKey) => {
    const name = unitField(f, row);
    const error = form.errors[name];
    return (
      <div class="col-6 col-md-2">
        <label class="form-label small mb-1" for={`f-${name}`}>{ctx.t(label)}</label>
        <input id={`f-${name}`} name={name} class={`form-control form-control-sm${error ? ' is-invalid' : ''}`} inputMode="decimal" value={v(f)}
          aria-invalid={error ? 'true' : undefined} />
        {error && <div class="invalid-feedback" data-field-error={name}>{ctx.t(error)}</div>}
      </div>
    );
  };
  const typeName = unitField('unit_type', row);
  const typeError = form.errors[typeName];
  const existing = v('id') !== '';
  return (
    <div class="row g-2 align-items-end unit-row border-bottom pb-2 mb-2" data-testid="unit-row" data-row={String(row)}>
      {existing && <input type="hidden" name={unitField('id', row)} value={v('id')} />}
      <div class="col-12 col-md-3">
        <label class="form-label small mb-1" for={`f-${typeName}`}>{ctx.t('property.unit.type')}</label>
        <select id={`f-${typeName}`} name={typeName} class={`form-select form-select-sm${typeError ? ' is-invalid' : ''}`} aria-invalid={typeError ? 'true' : undefined}>
          <option value="">{ctx.t('lead.choose')}</option>
          {UNIT_TYPES.map((u) => <option value={u.value} selected={v('unit_type') === u.value}>{ctx.t(u.label)}</option>)}
        </select>
        {typeError && <div class="invalid-feedback" data-field-error={typeName}>{ctx.t(typeError)}</div>}
      </div>
      {cell('size_from', 'property.unit.sizeFrom')}
      {cell('size_to', 'property.unit.sizeTo')}
      {cell('price', 'property.unit.priceUsd')}
      <div class="col-6 col-md-3">
        <div class="form-check mb-1">
          <input class="form-check-input" type="checkbox" id={`f-${unitField('remove', row)}`} name={unitField('remove', row)} checked={!!v('remove')} />
          <label class="form-check-label small" for={`f-${unitField('remove', row)}`}>{ctx.t(existing ? 'property.unit.remove' : 'property.unit.skip')}</label>
        </div>
      </div>
    </div>
  );
}

function Problems({ ctx, list, id }: { ctx: ViewContext; list: FileProblem[]; id: string }) {
  if (list.length === 0) return null;
  return (
    <ul id={id} class="small text-danger mt-1 mb-0 ps-3" data-testid={id}>
      {list.map((p) => <li>{p.filename ? `«${p.filename}»: ` : ''}{ctx.t(p.key, p.params)}</li>)}
    </ul>
  );
}

export function PropertyFormPage({ ctx, form, mode, propertyId, photos, documents, maxMb }: PropertyFormProps) {
  const action = mode === 'new' ? '/properties' : `/properties/${propertyId}`;
  const slots = Math.max(0, MAX_DOCUMENTS - documents.length);
  const photoError = form.errors.photos;
  const docError = form.errors.documents;
  return (
    <AppPage ctx={ctx} title={ctx.t(mode === 'new' ? 'property.new.title' : 'property.edit.title')}>
      <FormErrorSummary ctx={ctx} form={form} />
      {form.filesDropped && <div class="alert alert-warning" role="status" data-testid="files-dropped">{ctx.t('property.upload.chooseAgain')}</div>}
      <form method="post" action={action} enctype="multipart/form-data" novalidate data-testid="property-form" class="property-form">
        <CsrfField ctx={ctx} />
        {/* Enter in a text field presses the first submit button: make that "save", not "add a row". */}
        <button type="submit" class="visually-hidden" tabindex={-1} aria-hidden="true"></button>
        <div class="row g-3">
          <div class="col-12 col-xl-6">
            <section class="card h-100"><div class="card-body">
              <h2 class="h6 text-body-secondary">{ctx.t('property.section.main')}</h2>
              <Field ctx={ctx} form={form} name="name" label="property.field.name" required maxLength={200} />
              <div class="row g-2">
                <div class="col-12 col-md-6"><SelectField ctx={ctx} form={form} name="country" label="property.field.country" options={PROPERTY_COUNTRIES.map((o) => ({ value: o.value, label: ctx.t(o.label) }))} required /></div>
                <div class="col-12 col-md-6"><Field ctx={ctx} form={form} name="city" label="property.field.city" required maxLength={100} /></div>
              </div>
              <Field ctx={ctx} form={form} name="district" label="property.field.district" maxLength={100} />
              <div class="row g-2">
                <div class="col-6"><Field ctx={ctx} form={form} name="price_from" label="property.field.price_from" required inputmode="decimal" /></div>
                <div class="col-6"><Field ctx={ctx} form={form} name="price_to" label="property.field.price_to" inputmode="decimal" /></div>
              </div>
              <TextArea ctx={ctx} form={form} name="payment_terms" label="property.field.payment_terms" maxLength={1000} rows={3} />
              <TextArea ctx={ctx} form={form} name="description" label="property.field.description" maxLength={2000} rows={6} />
            </div></section>
          </div>
          <div class="col-12 col-xl-6">
            <section class="card mb-3"><div class="card-body">
              <h2 class="h6 text-body-secondary">{ctx.t('property.photos')}</h2>
              <label for="f-photos" class="form-label">{ctx.t(mode === 'new' ? 'property.photos.choose' : 'property.photos.add')}</label>
              <input id="f-photos" name="photos" type="file" multiple accept={PHOTO_ACCEPT} class={`form-control${photoError ? ' is-invalid' : ''}`}
                aria-describedby="f-photos-help photo-problems" aria-invalid={photoError ? 'true' : undefined} />
              <div id="f-photos-help" class="form-text">{ctx.t('property.photos.help', { max: maxMb, n: MAX_PHOTOS_PER_UPLOAD })}</div>
              {photoError && <div class="invalid-feedback" data-field-error="photos">{ctx.t(photoError)}</div>}
              <Problems ctx={ctx} list={form.fileProblems.photos} id="photo-problems" />
            </div></section>
            <section class="card"><div class="card-body">
              <h2 class="h6 text-body-secondary">{ctx.t('property.documents')}</h2>
              <p class="form-text mt-0">{ctx.t('property.documents.help', { max: MAX_DOCUMENTS, mb: maxMb })}</p>
              {slots === 0 ? <p class="text-body-secondary small mb-0">{ctx.t('property.documents.full')}</p> : Array.from({ length: slots }, (_, i) => (
                <div class="row g-2 mb-2 document-slot">
                  <div class="col-12 col-md-6">
                    <label class="visually-hidden" for={`f-document_${i}`}>{ctx.t('property.documents.file', { n: i + 1 })}</label>
                    <input id={`f-document_${i}`} name={`document_${i}`} type="file" accept={DOCUMENT_ACCEPT} class={`form-control form-control-sm${docError ? ' is-invalid' : ''}`} />
                  </div>
                  <div class="col-12 col-md-6">
                    <label class="visually-hidden" for={`f-document_description_${i}`}>{ctx.t('property.documents.description')}</label>
                    <input id={`f-document_description_${i}`} name={`document_description_${i}`} maxLength={500} class="form-control form-control-sm"
                      placeholder={ctx.t('property.documents.description')} value={form.values[`document_description_${i}`] ?? ''} />
                  </div>
                </div>
              ))}
              {docError && <div class="text-danger small" data-field-error="documents">{ctx.t(docError)}</div>}
              <Problems ctx={ctx} list={form.fileProblems.documents} id="document-problems" />
            </div></section>
          </div>
        </div>
        <section class="card mt-3"><div class="card-body" id="units">
          <h2 class="h6 text-body-secondary">{ctx.t('property.units')}</h2>
          {form.errors.units && <div class="alert alert-danger py-2" data-field-error="units">{ctx.t(form.errors.units)}</div>}
          <div data-unit-rows>{form.unitRows.map((row) => <UnitRow ctx={ctx} form={form} row={row} />)}</div>
          <button type="submit" name="_action" value="more_units" formnovalidate class="btn btn-sm btn-outline-secondary" data-add-unit data-skip-label={ctx.t('property.unit.skip')} data-testid="add-unit">
            <i class="bi bi-plus" aria-hidden="true"></i> {ctx.t('property.unit.add')}
          </button>
          <p class="form-text mb-0">{ctx.t('property.unit.help')}</p>
        </div></section>
        <div class="d-flex gap-2 mt-3">
          <a href={mode === 'new' ? '/properties' : `/properties/${propertyId}`} class="btn btn-outline-secondary">{ctx.t('common.cancel')}</a>
          <button type="submit" class="btn btn-primary" data-testid="property-submit">{ctx.t(mode === 'new' ? 'property.new.submit' : 'property.edit.submit')}</button>
        </div>
      </form>
      {mode === 'edit' && propertyId && <ExistingFiles ctx={ctx} propertyId={propertyId} photos={photos} documents={documents} />}
      <script src="/static/properties.js" defer></script>
    </AppPage>
  );
}

function SmallPost({ ctx, action, label, icon, testid, confirm, cls = 'btn-outline-secondary', name, value }: {
  ctx: ViewContext; action: string; label: MessageKey; icon: string; testid?: string; confirm?: MessageKey; cls?: string; name?: string; value?: string;
}) {
  return (
    <form method="post" action={action} class="d-inline" data-confirm={confirm ? ctx.t(confirm) : undefined}>
      <CsrfField ctx={ctx} />
      {name && <input type="hidden" name={name} value={value} />}
      <button type="submit" class={`btn btn-sm ${cls}`} title={ctx.t(label)} aria-label={ctx.t(label)} data-testid={testid}>
        <i class={`bi bi-${icon}`} aria-hidden="true"></i>
      </button>
    </form>
  );
}

function ExistingFiles({ ctx, propertyId, photos, documents }: { ctx: ViewContext; propertyId: number; photos: PropertyPhoto[]; documents: PropertyDocument[] }) {
  const base = `/properties/${propertyId}`;
  return (
    <div class="row g-3 mt-1">
      <section class="col-12 col-xl-8" id="photos"><div class="card"><div class="card-body">
        <h2 class="h6">{ctx.t('property.photos.manage')}</h2>
        {photos.length === 0 ? <p class="text-body-secondary mb-0">{ctx.t('property.photos.none')}</p> : (
          <ul class="list-unstyled row row-cols-2 row-cols-md-3 row-cols-lg-4 g-2 mb-0" data-testid="photo-manager">
            {photos.map((p, i) => (
              <li class="col" data-testid="managed-photo" data-photo-id={String(p.id)} data-main={p.is_main ? 'true' : 'false'}>
                <div class={`card h-100${p.is_main ? ' border-primary border-2' : ''}`}>
                  <img src={photoUrl(propertyId, p.id, 'thumb')} class="card-img-top property-manage-img" alt={p.original_name} loading="lazy" />
                  <div class="card-body p-2">
                    <div class="small text-truncate" title={p.original_name}>{p.original_name}</div>
                    {p.is_main && <span class="badge text-bg-primary" data-testid="main-badge">{ctx.t('property.photos.main')}</span>}
                    <div class="d-flex flex-wrap gap-1 mt-1">
                      {!p.is_main && <SmallPost ctx={ctx} action={`${base}/photos/${p.id}/main`} label="property.photos.makeMain" icon="star" testid="make-main" />}
                      {i > 0 && <SmallPost ctx={ctx} action={`${base}/photos/${p.id}/move`} name="direction" value="up" label="property.photos.moveUp" icon="arrow-left" testid="move-up" />}
                      {i < photos.length - 1 && <SmallPost ctx={ctx} action={`${base}/photos/${p.id}/move`} name="direction" value="down" label="property.photos.moveDown" icon="arrow-right" testid="move-down" />}
                      <SmallPost ctx={ctx} action={`${base}/photos/${p.id}/delete`} label="property.photos.delete" icon="trash" cls="btn-outline-danger" confirm="property.photos.deleteConfirm" testid="delete-photo" />
                    </div>
                  </div>
                </div>
              </li>
            ))}
          </ul>
        )}
      </div></div></section>
      <section class="col-12 col-xl-4" id="documents"><div class="card"><div class="card-body">
        <h2 class="h6">{ctx.t('property.documents')}</h2>
        {documents.length === 0 ? <p class="text-body-secondary mb-0">{ctx.t('property.noDocuments')}</p> : (
          <ul class="list-unstyled mb-0">
            {documents.map((d) => (
              <li class="d-flex align-items-start gap-2 mb-2" data-testid="managed-document">
                <div class="me-auto">
                  <a href={documentUrl(propertyId, d.id)}>{d.filename}</a> <span class="small text-body-secondary">· {bytesText(ctx, d.size_bytes)}</span>
                  {d.description && <div class="small text-body-secondary">{d.description}</div>}
                </div>
                <SmallPost ctx={ctx} action={`${base}/documents/${d.id}/delete`} label="property.documents.delete" icon="trash" cls="btn-outline-danger" confirm="property.documents.deleteConfirm" testid="delete-document" />
              </li>
            ))}
          </ul>
        )}
      </div></div></section>
    </div>
  );
}
