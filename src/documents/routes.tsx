// Private documents: the list (owner or admin), upload and delete (admin), download (owner or admin).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.server.ts';
import { requireAdmin, requireUser } from '../auth/guards.server.ts';
import { wantsJson } from '../platform/error-handler.ts';
import { NotFound } from '../platform/errors.ts';
import { parseForm } from '../platform/validation.ts';
import { safeLocalPath } from '../platform/views.ts';
import { attachmentHeader } from '../storage/sniff.ts';
import { NotFoundInStorage } from '../storage/storage.server.ts';
import * as users from '../users/users.server.ts';
import { emptyForm, type FormState } from '../views/forms.tsx';
import {
  deleteDocument, type DocumentRow, findDocumentForUser, listDocuments, storeDocument, validId,
} from './documents.server.ts';
import { checkUpload, formFields, formFile, UPLOAD_ROUTE_CONFIG } from './upload.ts';
import { type DocumentsPageData, DocumentsPage, megabytes } from './views.tsx';

type UserParams = { Params: { id: string } };
type DocParams = { Params: { id: string; docId: string } };

const uploadSchema = z.object({
  kind: z.enum(['id', 'agreement', 'other'], 'validation.choose').default('other'),
  description: z.string().trim().max(500, 'validation.tooLong').transform((v) => v || null).default(''),
});

/** What a document looks like in JSON: never the storage key. */
export function documentJson(d: DocumentRow) {
  return {
    id: d.id, user_id: d.user_id, kind: d.kind, filename: d.filename, file_size: d.size_bytes, file_type: d.content_type,
    description: d.description, uploaded_at: new Date(d.created_at).toISOString(), uploader_name: d.uploader_name,
    download_url: `/documents/${d.id}/download`,
  };
}

/** The owner whose documents these are, if the signed-in user may see them (themself, or any for an admin). */
async function ownerFor(request: FastifyRequest, rawId: string): Promise<DocumentsPageData['owner']> {
  const me = requireUser(request);
  const id = Number(rawId);
  if (!validId(id) || (me.role !== 'admin' && id !== me.id)) throw new NotFound();
  const owner = await users.findById(request.db, id);
  if (!owner) throw new NotFound();
  return { id: owner.id, display_name: owner.display_name, username: owner.username };
}

export async function documentRoutes(app: FastifyInstance): Promise<void> {
  const maxBytes = app.config.storage.maxBytes;

  const page = async (request: FastifyRequest, reply: FastifyReply, owner: DocumentsPageData['owner'], form: FormState, status?: number) => {
    const documents = await listDocuments(request.db, owner.id);
    return reply.view((ctx) => <DocumentsPage ctx={ctx} data={{ owner, documents, maxBytes }} form={form} />, status);
  };

  app.get<UserParams>('/admin/users/:id/documents', async (request, reply) => {
    const owner = await ownerFor(request, request.params.id);
    if (wantsJson(request)) {
      const documents = await listDocuments(request.db, owner.id);
      return reply.header('cache-control', 'no-store').send({ username: owner.username, documents: documents.map(documentJson) });
    }
    return page(request, reply, owner, emptyForm({ kind: 'other' }));
  });

  app.post<UserParams>('/admin/users/:id/documents', { config: UPLOAD_ROUTE_CONFIG }, async (request, reply) => {
    const admin = requireAdmin(request);
    const owner = await ownerFor(request, request.params.id);
    const values = formFields(request.body);
    delete values._csrf;
    const parsed = parseForm(uploadSchema, values);
    const verdict = checkUpload(formFile(request.body, 'file'), { required: true });
    const errors = { ...(parsed.ok ? {} : parsed.fields), ...(verdict && !verdict.ok ? { file: verdict.error } : {}) };
    if (!parsed.ok || !verdict?.ok) {
      const status = errors.file === 'documents.tooLarge' ? 413 : 400;
      if (wantsJson(request)) {
        const fields = Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, request.t(v, { mb: megabytes(maxBytes) })]));
        return reply.code(status).send({ error: request.t('validation.formErrors'), fields });
      }
      return page(request, reply, owner, { values, errors }, status);
    }
    const doc = await storeDocument(request.db, app.storage, {
      userId: owner.id, uploadedBy: admin.id, kind: parsed.data.kind, file: formFile(request.body, 'file')!,
      type: verdict.type, description: parsed.data.description,
    });
    await recordAudit(request.db, request, { action: 'document.upload', entityType: 'document', entityId: doc.id, after: { user_id: owner.id, kind: doc.kind, filename: doc.filename, content_type: doc.content_type, size_bytes: doc.size_bytes } });
    request.log.info({ event: 'document_uploaded', documentId: doc.id, userId: owner.id, type: doc.content_type, bytes: doc.size_bytes }, 'document uploaded');
    if (wantsJson(request)) return reply.code(201).send({ document: documentJson({ ...doc, uploader_name: admin.displayName }) });
    return reply.flash('success', 'documents.saved', { name: doc.filename }).redirect(`/admin/users/${owner.id}/documents`, 303);
  });

  const remove = async (request: FastifyRequest<DocParams>) => {
    const me = requireUser(request);
    const doc = await findDocumentForUser(request.db, me, Number(request.params.docId));
    if (String(doc.user_id) !== request.params.id) throw new NotFound();
    requireAdmin(request);
    await deleteDocument(request.db, app.storage, doc);
    await recordAudit(request.db, request, { action: 'document.delete', entityType: 'document', entityId: doc.id, before: { user_id: doc.user_id, kind: doc.kind, filename: doc.filename, content_type: doc.content_type, size_bytes: doc.size_bytes } });
    request.log.info({ event: 'document_deleted', documentId: doc.id, userId: doc.user_id }, 'document deleted');
    return doc;
  };

  app.post<DocParams>('/admin/users/:id/documents/:docId/delete', async (request, reply) => {
    const doc = await remove(request);
    if (wantsJson(request)) return reply.send({ ok: true });
    const back = safeLocalPath((request.body as { next?: unknown } | undefined)?.next, `/admin/users/${doc.user_id}/documents`);
    return reply.flash('success', 'documents.deleted', { name: doc.filename }).redirect(back, 303);
  });

  app.delete<DocParams>('/admin/users/:id/documents/:docId', async (request, reply) => {
    await remove(request);
    return reply.send({ ok: true });
  });

  app.get<{ Params: { id: string } }>('/documents/:id/download', async (request, reply) => {
    const doc = await findDocumentForUser(request.db, requireUser(request), Number(request.params.id));
    let body;
    try {
      body = await app.storage.get(doc.storage_key);
    } catch (err) {
      if (err instanceof NotFoundInStorage) {
        request.log.warn({ event: 'document_missing', documentId: doc.id }, 'stored document is missing');
        throw new NotFound();
      }
      throw err;
    }
    request.log.info({ event: 'document_downloaded', documentId: doc.id, ownerId: doc.user_id, by: request.user?.id }, 'document downloaded');
    return reply
      .header('content-type', doc.content_type)
      .header('content-disposition', attachmentHeader(doc.filename))
      .header('content-length', String(doc.size_bytes))
      .header('x-content-type-options', 'nosniff')
      // Even if a browser rendered it, the file could run nothing and reach nothing.
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'private, no-store')
      .send(body);
  });
}
