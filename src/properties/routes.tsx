// Property catalogue pages. Everyone signed in browses and downloads; only admins create, edit and delete
// (requireAdmin is the first line of every writer).
import { recordAudit } from '../audit/audit.server.ts';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireAdmin, requireUser } from '../auth/guards.server.ts';
import { NotFound } from '../platform/errors.ts';
import type { FieldErrors } from '../platform/errors.ts';
import { parseForm } from '../platform/validation.ts';
import { attachmentHeader } from '../storage/sniff.ts';
import { NotFoundInStorage } from '../storage/storage.server.ts';
import { BLANK_UNIT_ROWS, MAX_DOCUMENTS, MAX_PHOTOS, MAX_PHOTOS_PER_UPLOAD, PAGE_SIZE } from './domain.ts';
import { PropertyFormPage, type PropertyFormState } from './form.tsx';
import * as properties from './properties.server.ts';
import { filterSchema, parseUnitRows, propertySchema, unitField } from './schemas.ts';
import { checkDocument, cleanUpAfterResponse, type FileProblem, isProblem, megabytes, type ProcessedPhoto, processPhoto, readForm } from './uploads.server.ts';
import { PropertyListPage, PropertyPage } from './views.tsx';

type IdParams = { Params: { id: string } };
type PhotoParams = { Params: { id: string; photoId: string; variant?: string } };
type DocParams = { Params: { id: string; documentId: string } };

// Multipart forms of this module: a file over the size limit is marked (not thrown) so the form can say so
// next to the field; layout rows need more fields than the app-wide default.
// (throwFileSizeLimit is read per route by @fastify/multipart, though its types only list busboy's options.)
const multipart = { multipartOptions: { throwFileSizeLimit: false, limits: { fields: 250, parts: 280, fieldSize: 100_000 } } as NonNullable<FastifyContextConfig['multipartOptions']> };

const withBlankRows = (rows: number[], n = BLANK_UNIT_ROWS) => {
  const next = rows.length ? Math.max(...rows) + 1 : 0;
  return [...rows, ...Array.from({ length: n }, (_, i) => next + i)];
};

/** Money and sizes as typed: "150000.00" → "150000", "45.50" → "45.5". */
const plain = (v: string | null) => (v === null ? '' : v.replace(/\.00$/, '').replace(/(\.\d)0$/, '$1'));

async function editValues(request: FastifyRequest, id: number): Promise<{ values: Record<string, string>; rows: number[] }> {
  const d = await properties.propertyDetail(request.db, id);
  const p = d.property;
  const values: Record<string, string> = {
    name: p.name, country: p.country, city: p.city, district: p.district ?? '', price_from: plain(p.price_from), price_to: plain(p.price_to),
    payment_terms: p.payment_terms ?? '', description: p.description ?? '',
  };
  d.units.forEach((u, row) => {
    values[unitField('id', row)] = String(u.id);
    values[unitField('unit_type', row)] = u.unit_type;
    values[unitField('size_from', row)] = plain(u.size_from);
    values[unitField('size_to', row)] = plain(u.size_to);
    values[unitField('price', row)] = plain(u.price);
  });
  return { values, rows: d.units.map((_, i) => i) };
}

export async function propertyRoutes(app: FastifyInstance): Promise<void> {
  const renderForm = async (request: FastifyRequest, reply: FastifyReply, mode: 'new' | 'edit', form: PropertyFormState, status?: number, id?: number) => {
    const d = id ? await properties.propertyDetail(request.db, id) : null;
    const maxMb = megabytes(request.server.config.storage.maxBytes);
    return reply.view((ctx) => <PropertyFormPage ctx={ctx} form={form} mode={mode} propertyId={id} photos={d?.photos ?? []} documents={d?.documents ?? []} maxMb={maxMb} />, status);
  };
  const blank = (values: Record<string, string>, rows: number[]): PropertyFormState => ({ values, errors: {}, unitRows: rows, fileProblems: { photos: [], documents: [] }, filesDropped: false });

  app.get('/properties', async (request, reply) => {
    requireUser(request);
    const filters = filterSchema.parse(request.query ?? {});
    const [{ items, total }, cities] = await Promise.all([properties.listProperties(request.db, filters), properties.knownCities(request.db)]);
    return reply.view((ctx) => <PropertyListPage ctx={ctx} data={{ items, total, filters, cities, pageSize: PAGE_SIZE }} />);
  });

  app.get('/properties/new', async (request, reply) => {
    requireAdmin(request);
    return renderForm(request, reply, 'new', blank({}, withBlankRows([], 3)));
  });

  /** Create and edit share one path: validate everything (files too), then write, then store files. */
  async function save(request: FastifyRequest, reply: FastifyReply, mode: 'new' | 'edit', id?: number) {
    const admin = requireAdmin(request);
    if (id) await properties.findProperty(request.db, id);
    const { fields, files } = readForm(request.body);
    const { _csrf: _c, _action: action, ...values } = fields;
    const units = parseUnitRows(fields);
    const docSlots = Array.from({ length: MAX_DOCUMENTS }, (_, i) => ({ file: files[`document_${i}`]?.[0], description: (fields[`document_description_${i}`] ?? '').trim() }));
    const photoFiles = files.photos ?? [];
    const chosenFiles = photoFiles.length + docSlots.filter((s) => s.file).length > 0;

    if (action === 'more_units') {
      const form = { ...blank(values, withBlankRows(units.rows, 3)), filesDropped: chosenFiles };
      return renderForm(request, reply, mode, form, 200, id);
    }

    const parsed = parseForm(propertySchema, fields);
    const errors: FieldErrors = { ...(parsed.ok ? {} : parsed.fields), ...units.errors };
    const problems: { photos: FileProblem[]; documents: FileProblem[] } = { photos: [], documents: [] };
    const existing = id ? await properties.countFiles(request.db, id) : { photos: 0, documents: 0 };

    const photos: ProcessedPhoto[] = [];
    if (photoFiles.length > MAX_PHOTOS_PER_UPLOAD) errors.photos = 'property.upload.tooManyAtOnce';
    else if (existing.photos + photoFiles.length > MAX_PHOTOS) errors.photos = 'property.upload.tooManyPhotos';
    else {
      // One at a time: decoding large images is memory-hungry.
      for (const file of photoFiles) {
        const result = await processPhoto(file, request.server.config.storage.maxBytes);
        if (isProblem(result)) problems.photos.push(result);
        else photos.push(result);
      }
    }

    const docs: properties.NewDocument[] = [];
    for (const slot of docSlots) {
      if (slot.description.length > 500) errors.documents = 'validation.tooLong';
      if (!slot.file) continue;
      const checked = checkDocument(slot.file, request.server.config.storage.maxBytes);
      if (isProblem(checked)) problems.documents.push(checked);
      else docs.push({ file: slot.file, mime: checked.type.mime, description: slot.description || null });
    }
    if (existing.documents + docs.length > MAX_DOCUMENTS) errors.documents = 'property.upload.tooManyDocuments';
    if (problems.photos.length) errors.photos ??= 'property.upload.fixFiles';
    if (problems.documents.length) errors.documents ??= 'property.upload.fixFiles';

    if (!parsed.ok || Object.keys(errors).length > 0) {
      const form: PropertyFormState = { values, errors, unitRows: units.rows.length ? units.rows : withBlankRows([]), fileProblems: problems, filesDropped: chosenFiles };
      return renderForm(request, reply, mode, form, 400, id);
    }

    const written: string[] = [];
    cleanUpAfterResponse(request, reply, written);
    const property = mode === 'new'
      ? await properties.createProperty(request.db, admin, parsed.data, units.units)
      : await properties.updateProperty(request.db, admin, id!, parsed.data, units.units);
    await properties.addPhotos(request.db, request.server.storage, admin, property.id, photos, written);
    await properties.addDocuments(request.db, request.server.storage, admin, property.id, docs, written);
    request.log.info({ event: mode === 'new' ? 'property_created' : 'property_updated', propertyId: property.id, photos: photos.length, documents: docs.length }, 'property saved');
    await recordAudit(request.db, request, { action: mode === 'new' ? 'property.create' : 'property.update', entityType: 'property', entityId: property.id, after: { ...parsed.data, units: units.units.length, photos_added: photos.length, documents_added: docs.length } });
    return reply.flash('success', mode === 'new' ? 'property.created' : 'property.saved').redirect(`/properties/${property.id}`, 303);
  }

  app.post('/properties', { config: multipart }, async (request, reply) => save(request, reply, 'new'));

  app.get<IdParams>('/properties/:id', async (request, reply) => {
    requireUser(request);
    const d = await properties.propertyDetail(request.db, properties.idParam(request.params.id));
    return reply.view((ctx) => <PropertyPage ctx={ctx} d={d} />);
  });

  app.get<IdParams>('/properties/:id/edit', async (request, reply) => {
    requireAdmin(request);
    const id = properties.idParam(request.params.id);
    const { values, rows } = await editValues(request, id);
    return renderForm(request, reply, 'edit', blank(values, withBlankRows(rows)), undefined, id);
  });

  app.post<IdParams>('/properties/:id', { config: multipart }, async (request, reply) => {
    requireAdmin(request);
    return save(request, reply, 'edit', properties.idParam(request.params.id));
  });

  app.post<IdParams>('/properties/:id/delete', async (request, reply) => {
    requireAdmin(request);
    const id = properties.idParam(request.params.id);
    const keys = await properties.deleteProperty(request.db, id);
    await recordAudit(request.db, request, { action: 'property.delete', entityType: 'property', entityId: id });
    cleanUpAfterResponse(request, reply, keys);
    request.log.info({ event: 'property_deleted', propertyId: id }, 'property deleted');
    return reply.flash('success', 'property.deleted').redirect('/properties', 303);
  });

  // Photos: main, order, remove. Each answers with the edit page's photo section.
  const photoAction = (path: string, act: (request: FastifyRequest<PhotoParams>, reply: FastifyReply, id: number, photoId: number) => Promise<void>) =>
    app.post<PhotoParams>(`/properties/:id/photos/:photoId/${path}`, async (request, reply) => {
      requireAdmin(request);
      const id = properties.idParam(request.params.id);
      const photoId = properties.idParam(request.params.photoId);
      await act(request, reply, id, photoId);
      await recordAudit(request.db, request, { action: `property.photo_${path}`, entityType: 'property', entityId: id, after: { photo_id: photoId } });
      return reply.redirect(`/properties/${id}/edit#photos`, 303);
    });
  photoAction('main', async (request, reply, id, photoId) => {
    await properties.setMainPhoto(request.db, id, photoId);
    reply.flash('success', 'property.photos.mainSet');
  });
  photoAction('move', async (request, _reply, id, photoId) => {
    const direction = (request.body as { direction?: unknown } | undefined)?.direction === 'up' ? 'up' : 'down';
    await properties.movePhoto(request.db, id, photoId, direction);
  });
  photoAction('delete', async (request, reply, id, photoId) => {
    cleanUpAfterResponse(request, reply, await properties.deletePhoto(request.db, id, photoId));
    reply.flash('success', 'property.photos.deleted');
  });

  app.post<DocParams>('/properties/:id/documents/:documentId/delete', async (request, reply) => {
    requireAdmin(request);
    const id = properties.idParam(request.params.id);
    const documentId = properties.idParam(request.params.documentId);
    cleanUpAfterResponse(request, reply, await properties.deleteDocument(request.db, id, documentId));
    await recordAudit(request.db, request, { action: 'property.document_delete', entityType: 'property', entityId: id, after: { document_id: documentId } });
    return reply.flash('success', 'property.documents.deleted').redirect(`/properties/${id}/edit#documents`, 303);
  });

  // Files out: only to signed-in users, from private storage. A photo never changes under its id, so the
  // browser may keep it (privately) for a year; documents are always downloads.
  app.get<PhotoParams>('/properties/:id/photos/:photoId/:variant', async (request, reply) => {
    requireUser(request);
    const variant = request.params.variant;
    if (variant !== 'thumb' && variant !== 'full') throw new NotFound();
    const photo = await properties.findPhoto(request.db, properties.idParam(request.params.id), properties.idParam(request.params.photoId));
    const etag = `"photo-${photo.id}-${variant}"`;
    reply.header('cache-control', 'private, max-age=31536000, immutable').header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    const stream = await openStored(request, variant === 'thumb' ? photo.thumb_key : photo.storage_key);
    return reply.type(photo.content_type).send(stream);
  });

  app.get<DocParams>('/properties/:id/documents/:documentId', async (request, reply) => {
    requireUser(request);
    const doc = await properties.findDocument(request.db, properties.idParam(request.params.id), properties.idParam(request.params.documentId));
    const stream = await openStored(request, doc.storage_key);
    return reply.type(doc.content_type).header('content-disposition', attachmentHeader(doc.filename)).header('cache-control', 'private, no-store').send(stream);
  });
}

async function openStored(request: FastifyRequest, key: string) {
  try {
    return await request.server.storage.get(key);
  } catch (err) {
    if (err instanceof NotFoundInStorage) {
      request.log.warn({ event: 'property_file_missing' }, 'a property file is missing from storage');
      throw new NotFound();
    }
    throw err;
  }
}
