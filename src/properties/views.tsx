// The catalogue as agents see it: a filterable card grid and a project page (gallery, layouts, documents).
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { AppPage, CsrfField } from '../views/layout.tsx';
import { labelOf } from '../leads/domain.ts';
import { formatSize, formatUsd, PROPERTY_COUNTRIES, rangeOf, SORTS, UNIT_TYPES } from './domain.ts';
import type { PropertyCard, PropertyDetail } from './properties.server.ts';
import type { PropertyFilters } from './schemas.ts';

export const photoUrl = (propertyId: number, photoId: number, variant: 'thumb' | 'full') => `/properties/${propertyId}/photos/${photoId}/${variant}`;
export const documentUrl = (propertyId: number, documentId: number) => `/properties/${propertyId}/documents/${documentId}`;

export function countryLabel(ctx: ViewContext, value: string): string {
  const key = labelOf(PROPERTY_COUNTRIES, value);
  return key ? ctx.t(key) : value;
}

export function unitLabel(ctx: ViewContext, value: string): string {
  const key = labelOf(UNIT_TYPES, value);
  return key ? ctx.t(key) : value;
}

export function priceText(ctx: ViewContext, from: string, to: string | null): string {
  const r = rangeOf(from, to, (v) => formatUsd(ctx.locale, v));
  return r.kind === 'between' ? ctx.t('property.priceBetween', { from: r.from, to: r.to }) : ctx.t('property.priceFrom', { from: r.from });
}

export function sizeText(ctx: ViewContext, from: string, to: string | null): string {
  const r = rangeOf(from, to, (v) => formatSize(ctx.locale, v));
  return r.kind === 'between' ? ctx.t('property.sizeBetween', { from: r.from, to: r.to }) : ctx.t('property.sizeFrom', { from: r.from });
}

export function bytesText(ctx: ViewContext, bytes: number): string {
  if (bytes < 1024 * 1024) return ctx.t('property.upload.sizeKb', { n: Math.max(1, Math.round(bytes / 1024)) });
  return ctx.t('property.upload.sizeMb', { n: (bytes / (1024 * 1024)).toFixed(1) });
}

function Card({ ctx, p }: { ctx: ViewContext; p: PropertyCard }) {
  return (
    <div class="col">
      <article class="card h-100 property-card" data-testid="property-card">
        {p.photo_id
          ? <img src={photoUrl(p.id, p.photo_id, 'thumb')} class="card-img-top property-card-img" alt="" loading="lazy" />
          : <div class="card-img-top property-card-img property-card-placeholder d-flex align-items-center justify-content-center text-body-secondary" aria-hidden="true"><i class="bi bi-buildings fs-1"></i></div>}
        <div class="card-body d-flex flex-column">
          <h2 class="h6 card-title mb-1"><a href={`/properties/${p.id}`} class="stretched-link text-decoration-none">{p.name}</a></h2>
          <p class="small text-body-secondary mb-1">
            <i class="bi bi-geo-alt" aria-hidden="true"></i> {p.city}, {countryLabel(ctx, p.country)}{p.district ? ` · ${p.district}` : ''}
          </p>
          <p class="fw-semibold mb-2" data-testid="property-price">{priceText(ctx, p.price_from, p.price_to)}</p>
          {p.unit_types.length > 0 && (
            <p class="mb-2 d-flex flex-wrap gap-1">{p.unit_types.map((u) => <span class="badge text-bg-light border fw-normal">{unitLabel(ctx, u)}</span>)}</p>
          )}
          <p class="small text-body-secondary mt-auto mb-0 d-flex justify-content-between">
            <span>{formatDateTime(ctx.locale, p.created_at, false)}</span>
            <span class="text-primary">{ctx.t('property.more')} →</span>
          </p>
        </div>
      </article>
    </div>
  );
}

function filterLink(filters: PropertyFilters, page: number): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v !== null && v !== '' && k !== 'page' && !(k === 'sort' && v === 'newest')) q.set(k, String(v));
  if (page > 1) q.set('page', String(page));
  const s = q.toString();
  return s ? `/properties?${s}` : '/properties';
}

function Filters({ ctx, f, cities }: { ctx: ViewContext; f: PropertyFilters; cities: string[] }) {
  const input = (name: keyof PropertyFilters, label: Parameters<typeof ctx.t>[0], mode: 'text' | 'decimal' = 'decimal', list?: string) => (
    <div class="col-6 col-md-3 col-xl">
      <label class="form-label small mb-1" for={`filter-${name}`}>{ctx.t(label)}</label>
      <input id={`filter-${name}`} name={name} class="form-control form-control-sm" inputMode={mode} value={f[name] === null ? '' : String(f[name])} list={list} />
    </div>
  );
  const select = (name: 'country' | 'unit_type' | 'sort', label: Parameters<typeof ctx.t>[0], opts: { value: string; label: Parameters<typeof ctx.t>[0] }[], any: boolean) => (
    <div class="col-6 col-md-3 col-xl">
      <label class="form-label small mb-1" for={`filter-${name}`}>{ctx.t(label)}</label>
      <select id={`filter-${name}`} name={name} class="form-select form-select-sm">
        {any && <option value="">{ctx.t('property.filter.any')}</option>}
        {opts.map((o) => <option value={o.value} selected={f[name] === o.value}>{ctx.t(o.label)}</option>)}
      </select>
    </div>
  );
  return (
    <form method="get" action="/properties" class="card card-body mb-3 property-filters" data-testid="property-filters" role="search">
      <div class="row g-2 align-items-end">
        {select('country', 'property.field.country', PROPERTY_COUNTRIES, true)}
        {input('city', 'property.field.city', 'text', 'known-cities')}
        <datalist id="known-cities">{cities.map((c) => <option value={c} />)}</datalist>
        {input('price_min', 'property.filter.priceMin')}
        {input('price_max', 'property.filter.priceMax')}
        {select('unit_type', 'property.filter.unitType', UNIT_TYPES, true)}
        {input('size_min', 'property.filter.sizeMin')}
        {input('size_max', 'property.filter.sizeMax')}
        {select('sort', 'property.filter.sort', SORTS, false)}
        <div class="col-12 col-xl-auto d-flex gap-2">
          <button type="submit" class="btn btn-sm btn-primary" data-testid="apply-filters"><i class="bi bi-funnel" aria-hidden="true"></i> {ctx.t('property.filter.apply')}</button>
          <a href="/properties" class="btn btn-sm btn-outline-secondary">{ctx.t('property.filter.reset')}</a>
        </div>
      </div>
    </form>
  );
}

export interface ListData { items: PropertyCard[]; total: number; filters: PropertyFilters; cities: string[]; pageSize: number }

export function PropertyListPage({ ctx, data }: { ctx: ViewContext; data: ListData }) {
  const { items, total, filters, pageSize } = data;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const filtered = Object.entries(filters).some(([k, v]) => v !== null && !['sort', 'page'].includes(k));
  const actions = ctx.user?.role === 'admin'
    ? <a href="/properties/new" class="btn btn-sm btn-primary" data-testid="new-property"><i class="bi bi-plus-lg" aria-hidden="true"></i> <span class="btn-label">{ctx.t('property.new.title')}</span></a>
    : undefined;
  return (
    <AppPage ctx={ctx} title={ctx.t('property.list.title')} actions={actions}>
      <Filters ctx={ctx} f={filters} cities={data.cities} />
      <p class="small text-body-secondary" data-testid="property-count">{ctx.t('property.list.count', { n: total })}</p>
      {items.length === 0
        ? (
          <div class="text-center text-body-secondary py-5" data-testid="property-empty">
            <i class="bi bi-buildings fs-1 d-block mb-2" aria-hidden="true"></i>
            <p class="mb-0">{ctx.t(filtered ? 'property.list.noMatch' : 'property.list.empty')}</p>
          </div>
        )
        : <div class="row row-cols-1 row-cols-sm-2 row-cols-lg-3 row-cols-xxl-4 g-3">{items.map((p) => <Card ctx={ctx} p={p} />)}</div>}
      {pages > 1 && (
        <nav class="mt-3" aria-label={ctx.t('property.list.pages')}>
          <ul class="pagination pagination-sm flex-wrap">
            {Array.from({ length: pages }, (_, i) => i + 1).map((n) => (
              <li class={`page-item${n === filters.page ? ' active' : ''}`}>
                <a class="page-link" href={filterLink(filters, n)} aria-current={n === filters.page ? 'page' : undefined}>{n}</a>
              </li>
            ))}
          </ul>
        </nav>
      )}
    </AppPage>
  );
}

function Gallery({ ctx, d }: { ctx: ViewContext; d: PropertyDetail }) {
  const pid = d.property.id;
  const photos = [...d.photos].sort((a, b) => Number(b.is_main) - Number(a.is_main) || a.position - b.position || a.id - b.id);
  if (photos.length === 0) {
    return <div class="property-gallery-empty rounded bg-body-tertiary d-flex align-items-center justify-content-center text-body-secondary mb-3"><i class="bi bi-image fs-1" aria-hidden="true"></i></div>;
  }
  return (
    <div class="mb-3" data-testid="gallery">
      <div id="property-carousel" class="carousel slide property-carousel rounded overflow-hidden bg-dark">
        <div class="carousel-inner">
          {photos.map((p, i) => (
            <div class={`carousel-item${i === 0 ? ' active' : ''}`}>
              <img src={photoUrl(pid, p.id, 'full')} class="d-block w-100" alt={ctx.t('property.photoAlt', { name: d.property.name, n: i + 1 })} data-testid={p.is_main ? 'main-photo' : undefined} />
            </div>
          ))}
        </div>
        {photos.length > 1 && (
          <>
            <button class="carousel-control-prev" type="button" data-bs-target="#property-carousel" data-bs-slide="prev">
              <span class="carousel-control-prev-icon" aria-hidden="true"></span><span class="visually-hidden">{ctx.t('property.prevPhoto')}</span>
            </button>
            <button class="carousel-control-next" type="button" data-bs-target="#property-carousel" data-bs-slide="next">
              <span class="carousel-control-next-icon" aria-hidden="true"></span><span class="visually-hidden">{ctx.t('property.nextPhoto')}</span>
            </button>
          </>
        )}
      </div>
      {photos.length > 1 && (
        <div class="d-flex flex-wrap gap-2 mt-2">
          {photos.map((p, i) => (
            <button type="button" class="btn p-0 border-0 property-thumb-button" data-bs-target="#property-carousel" data-bs-slide-to={String(i)} aria-label={ctx.t('property.photoAlt', { name: d.property.name, n: i + 1 })}>
              <img src={photoUrl(pid, p.id, 'thumb')} class="rounded property-thumb" alt="" loading="lazy" />
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function Info({ label, children }: { label: string; children: import('preact').ComponentChildren }) {
  return <><dt class="col-sm-4 text-body-secondary">{label}</dt><dd class="col-sm-8">{children}</dd></>;
}

export function PropertyPage({ ctx, d }: { ctx: ViewContext; d: PropertyDetail }) {
  const p = d.property;
  const isAdmin = ctx.user?.role === 'admin';
  const actions = isAdmin ? (
    <div class="d-flex gap-2">
      <a href={`/properties/${p.id}/edit`} class="btn btn-sm btn-outline-primary" data-testid="edit-property"><i class="bi bi-pencil" aria-hidden="true"></i> <span class="btn-label">{ctx.t('property.edit')}</span></a>
      <form method="post" action={`/properties/${p.id}/delete`} data-confirm={ctx.t('property.deleteConfirm')}>
        <CsrfField ctx={ctx} />
        <button type="submit" class="btn btn-sm btn-outline-danger" data-testid="delete-property"><i class="bi bi-trash" aria-hidden="true"></i> <span class="btn-label">{ctx.t('property.delete')}</span></button>
      </form>
    </div>
  ) : undefined;
  return (
    <AppPage ctx={ctx} title={p.name} actions={actions}>
      <div class="row g-3">
        <div class="col-12 col-lg-7">
          <Gallery ctx={ctx} d={d} />
          {p.description && <section class="mb-3"><h2 class="h6">{ctx.t('property.field.description')}</h2><p class="text-prewrap" data-testid="property-description">{p.description}</p></section>}
        </div>
        <div class="col-12 col-lg-5">
          <div class="card mb-3"><div class="card-body">
            <p class="fs-5 fw-semibold mb-2" data-testid="property-price">{priceText(ctx, p.price_from, p.price_to)}</p>
            <dl class="row mb-0">
              <Info label={ctx.t('property.location')}>{p.city}, {countryLabel(ctx, p.country)}{p.district ? ` · ${p.district}` : ''}</Info>
              {p.payment_terms && <Info label={ctx.t('property.field.payment_terms')}><span class="text-prewrap">{p.payment_terms}</span></Info>}
              <Info label={ctx.t('property.createdAt')}>{formatDateTime(ctx.locale, p.created_at, false)}{d.authorName ? ` · ${d.authorName}` : ''}</Info>
              <Info label={ctx.t('property.interest')}><span data-testid="lead-count">{ctx.t('property.interestCount', { n: d.leadCount })}</span></Info>
            </dl>
          </div></div>
          <section class="card mb-3"><div class="card-body">
            <h2 class="h6">{ctx.t('property.units')}</h2>
            {d.units.length === 0 ? <p class="text-body-secondary mb-0">{ctx.t('property.noUnits')}</p> : (
              <div class="table-responsive"><table class="table table-sm mb-0" data-testid="units-table">
                <thead><tr><th scope="col">{ctx.t('property.unit.type')}</th><th scope="col">{ctx.t('property.unit.size')}</th><th scope="col" class="text-end">{ctx.t('property.unit.price')}</th></tr></thead>
                <tbody>{d.units.map((u) => (
                  <tr><td>{unitLabel(ctx, u.unit_type)}</td><td>{sizeText(ctx, u.size_from, u.size_to)}</td><td class="text-end">{formatUsd(ctx.locale, u.price)}</td></tr>
                ))}</tbody>
              </table></div>
            )}
          </div></section>
          <section class="card"><div class="card-body">
            <h2 class="h6">{ctx.t('property.documents')}</h2>
            {d.documents.length === 0 ? <p class="text-body-secondary mb-0">{ctx.t('property.noDocuments')}</p> : (
              <ul class="list-unstyled mb-0" data-testid="documents">
                {d.documents.map((doc) => (
                  <li class="mb-2">
                    <a href={documentUrl(p.id, doc.id)} download={doc.filename} data-testid="document-link"><i class="bi bi-file-earmark-arrow-down" aria-hidden="true"></i> {doc.filename}</a>
                    <span class="small text-body-secondary"> · {bytesText(ctx, doc.size_bytes)}</span>
                    {doc.description && <div class="small text-body-secondary">{doc.description}</div>}
                  </li>
                ))}
              </ul>
            )}
          </div></section>
        </div>
      </div>
      <p class="mt-4"><a href="/properties">← {ctx.t('property.back')}</a></p>
    </AppPage>
  );
}
