// Private per-user documents: rows in user_documents, bytes in app.storage under random keys.
// Only the owner and admins ever see a document; to anyone else it does not exist (404).
import type { Kysely, Transaction } from 'kysely';
import type { Database, DocumentKind, UserDocument } from '../db/schema.ts';
import { NotFound } from '../platform/errors.ts';
import type { FileStorage } from '../storage/storage.server.ts';
import { newKey } from '../storage/storage.server.ts';
import { safeFilename, type SniffedType } from '../storage/sniff.ts';
import type { CurrentUser } from '../views/context.ts';
import type { UploadedFile } from './upload.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

export const DOCUMENT_KINDS: readonly DocumentKind[] = ['id', 'agreement', 'other'];
const MAX_ID = 2_147_483_647;

export const validId = (id: number): boolean => Number.isSafeInteger(id) && id > 0 && id <= MAX_ID;

export type DocumentRow = Omit<UserDocument, 'storage_key'> & { uploader_name: string | null };

/** A user's documents, newest first, without the storage keys (they never leave this module). */
export function listDocuments(db: DbLike, userId: number): Promise<DocumentRow[]> {
  return db.selectFrom('user_documents as d').leftJoin('users as u', 'u.id', 'd.uploaded_by')
    .select(['d.id', 'd.user_id', 'd.kind', 'd.filename', 'd.content_type', 'd.size_bytes', 'd.description', 'd.uploaded_by',
      'd.verification_request_id', 'd.created_at', 'u.display_name as uploader_name'])
    .where('d.user_id', '=', userId).orderBy('d.id', 'desc').execute();
}

/** Documents of several users at once (the admin's pending table), grouped by user. */
export async function documentsByUser(db: DbLike, userIds: number[]): Promise<Map<number, DocumentRow[]>> {
  const out = new Map<number, DocumentRow[]>();
  if (userIds.length === 0) return out;
  const rows = await db.selectFrom('user_documents as d').leftJoin('users as u', 'u.id', 'd.uploaded_by')
    .select(['d.id', 'd.user_id', 'd.kind', 'd.filename', 'd.content_type', 'd.size_bytes', 'd.description', 'd.uploaded_by',
      'd.verification_request_id', 'd.created_at', 'u.display_name as uploader_name'])
    .where('d.user_id', 'in', userIds).orderBy('d.id', 'desc').execute();
  for (const r of rows) out.set(r.user_id, [...(out.get(r.user_id) ?? []), r]);
  return out;
}

/** The document if the user may see it (its owner, or an admin); otherwise 404 — never "forbidden". */
export async function findDocumentForUser(db: DbLike, user: CurrentUser, id: number): Promise<UserDocument> {
  if (!validId(id)) throw new NotFound();
  let q = db.selectFrom('user_documents').selectAll().where('id', '=', id);
  if (user.role !== 'admin') q = q.where('user_id', '=', user.id);
  const doc = await q.executeTakeFirst();
  if (!doc) throw new NotFound();
  return doc;
}

export interface NewDocument {
  userId: number;
  uploadedBy: number;
  kind: DocumentKind;
  file: UploadedFile;
  type: SniffedType;
  description?: string | null;
  verificationRequestId?: number | null;
}

/**
 * Stores the bytes under a fresh random key, then the row. If the row cannot be written the object is
 * removed again; a failed COMMIT afterwards can leave an unreferenced private object, never a broken row.
 */
export async function storeDocument(db: DbLike, storage: FileStorage, doc: NewDocument): Promise<UserDocument> {
  const key = newKey(`documents/${doc.userId}`, doc.type.ext);
  await storage.put(key, doc.file.data, doc.type.mime);
  try {
    return await db.insertInto('user_documents').values({
      user_id: doc.userId, kind: doc.kind, storage_key: key, filename: safeFilename(doc.file.filename || `document.${doc.type.ext}`),
      content_type: doc.type.mime, size_bytes: doc.file.data.length, description: doc.description ?? null,
      uploaded_by: doc.uploadedBy, verification_request_id: doc.verificationRequestId ?? null,
    }).returningAll().executeTakeFirstOrThrow();
  } catch (err) {
    await storage.delete(key).catch(() => {});
    throw err;
  }
}

/**
 * Removes the row, then the object. If the object cannot be removed the error rolls the row back (try
 * again later); if the COMMIT fails after the object is gone the row is left pointing at nothing, which
 * the download answers with 404 and a second delete clears.
 */
export async function deleteDocument(db: DbLike, storage: FileStorage, doc: Pick<UserDocument, 'id' | 'storage_key'>): Promise<void> {
  await db.deleteFrom('user_documents').where('id', '=', doc.id).execute();
  await storage.delete(doc.storage_key);
}

/**
 * For deleting a user: removes all their document rows and stored objects (call it in the same request
 * transaction, before deleting the user — the foreign key would drop the rows but not the files).
 */
export async function deleteAllDocumentsOf(db: DbLike, storage: FileStorage, userId: number): Promise<number> {
  const rows = await db.deleteFrom('user_documents').where('user_id', '=', userId).returning('storage_key').execute();
  for (const r of rows) await storage.delete(r.storage_key);
  return rows.length;
}
