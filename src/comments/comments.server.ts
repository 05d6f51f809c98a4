// Comments on a lead: list (threaded one level), add, edit, delete. Access to a comment is always access
// to its lead *now* (findLeadForUser), so an author who lost the lead also lost their comments' controls.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Comment, Database } from '../db/schema.ts';
import { enqueueSync } from '../hubspot/outbox.server.ts';
import { findLeadForUser } from '../leads/leads.server.ts';
import { Forbidden, NotFound, ValidationFailed } from '../platform/errors.ts';
import { parseOrThrow } from '../platform/validation.ts';
import type { CurrentUser } from '../views/context.ts';
import { commentBodySchema, MAX_ID } from './schemas.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

/** One comment as pages and the JSON API show it. */
export interface CommentEntry {
  id: number;
  lead_id: number;
  author_id: number | null;
  /** null when the author's account was deleted. */
  author_name: string | null;
  /** The top-level comment this one replies to, or null. */
  parent_id: number | null;
  body: string;
  created_at: Date;
  updated_at: Date;
  edited: boolean;
}

/** A top-level comment with its replies, both oldest first. */
export interface CommentThread extends CommentEntry {
  replies: CommentEntry[];
}

function entrySelect(db: DbLike) {
  return db.selectFrom('comments')
    .leftJoin('users', 'users.id', 'comments.author_id')
    .select([
      'comments.id', 'comments.lead_id', 'comments.author_id', 'users.display_name as author_name', 'comments.parent_id',
      'comments.body', 'comments.created_at', 'comments.updated_at',
    ]);
}

type EntryRow = Omit<CommentEntry, 'edited'>;
const toEntry = (row: EntryRow): CommentEntry => ({
  ...row,
  edited: new Date(row.updated_at).getTime() > new Date(row.created_at).getTime(),
});

/**
 * Groups rows (oldest first) into threads one level deep: a reply to a reply joins its top-level
 * comment. A reply whose parent is missing is shown as a top-level comment rather than lost.
 */
export function threadComments(entries: CommentEntry[]): CommentThread[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const rootOf = (e: CommentEntry): CommentEntry => {
    let current = e;
    for (let hops = 0; current.parent_id !== null && hops < entries.length; hops++) {
      const parent = byId.get(current.parent_id);
      if (!parent) break;
      current = parent;
    }
    return current;
  };
  const threads = new Map<number, CommentThread>();
  const ordered: CommentThread[] = [];
  for (const e of entries) {
    const root = rootOf(e);
    if (root.id === e.id) {
      const thread = { ...e, parent_id: null, replies: [] };
      threads.set(e.id, thread);
      ordered.push(thread);
    }
  }
  for (const e of entries) {
    const root = rootOf(e);
    if (root.id !== e.id) threads.get(root.id)?.replies.push({ ...e, parent_id: root.id });
  }
  return ordered;
}

/** Every comment of a lead with its author's name, in one query. The caller has checked access to the lead. */
export async function listComments(db: DbLike, leadId: number): Promise<CommentThread[]> {
  const rows = await entrySelect(db)
    .where('comments.lead_id', '=', leadId)
    .orderBy('comments.created_at').orderBy('comments.id')
    .execute();
  return threadComments(rows.map(toEntry));
}

/** How many comments (replies included) the threads hold. */
export function countComments(threads: CommentThread[]): number {
  return threads.reduce((n, t) => n + 1 + t.replies.length, 0);
}

async function findEntry(db: DbLike, id: number): Promise<CommentEntry> {
  const row = await entrySelect(db).where('comments.id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound();
  return toEntry(row);
}

const parseBody = (body: string) => parseOrThrow(commentBodySchema, { body }).body;

/** The top-level comment a reply should hang under, which must be on the same lead. */
async function resolveParent(db: DbLike, leadId: number, parentId: number): Promise<number> {
  const invalid = () => new ValidationFailed({ parent_id: 'comment.parentGone' });
  if (!Number.isSafeInteger(parentId) || parentId <= 0 || parentId > MAX_ID) throw invalid();
  const parent = await db.selectFrom('comments').select(['id', 'parent_id']).where('id', '=', parentId).where('lead_id', '=', leadId).executeTakeFirst();
  if (!parent) throw invalid();
  return parent.parent_id ?? parent.id;
}

/** Adds a comment (or a reply) to a lead the user can see. */
export async function addComment(db: DbLike, user: CurrentUser, leadId: number, body: string, parentId: number | null = null): Promise<CommentEntry> {
  const lead = await findLeadForUser(db, user, leadId);
  const text = parseBody(body);
  const parent = parentId === null ? null : await resolveParent(db, lead.id, parentId);
  const row = await db.insertInto('comments')
    .values({ lead_id: lead.id, author_id: user.id, parent_id: parent, body: text })
    .returningAll().executeTakeFirstOrThrow();
  await enqueueSync(db, 'comment', row.id);
  return toEntry({ ...row, author_name: user.displayName });
}

/**
 * The comment, if the user may change it: NotFound when it does not exist or they cannot see its lead
 * (any more), Forbidden when it is someone else's and they are not an admin.
 */
export async function findCommentForChange(db: DbLike, user: CurrentUser, id: number): Promise<Comment> {
  if (!Number.isSafeInteger(id) || id <= 0 || id > MAX_ID) throw new NotFound();
  const comment = await db.selectFrom('comments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!comment) throw new NotFound();
  // Locks the lead, so a concurrent reassignment is either seen here or waits for this change.
  await findLeadForUser(db, user, comment.lead_id, { forUpdate: true });
  if (user.role !== 'admin' && comment.author_id !== user.id) throw new Forbidden();
  return comment;
}

export async function editComment(db: DbLike, user: CurrentUser, id: number, body: string): Promise<CommentEntry> {
  const comment = await findCommentForChange(db, user, id);
  const text = parseBody(body);
  const updated = await db.updateTable('comments').set({ body: text, updated_at: sql`now()` })
    .where('id', '=', comment.id).returning('id').executeTakeFirst();
  if (!updated) throw new NotFound();
  await enqueueSync(db, 'comment', id);
  return findEntry(db, comment.id);
}

/**
 * Deletes one comment and returns it. Its replies stay (moved up a level): they may be other people's
 * words, which the author of the first comment has no right to remove (the foreign key would cascade).
 */
export async function deleteComment(db: DbLike, user: CurrentUser, id: number): Promise<Comment> {
  const comment = await findCommentForChange(db, user, id);
  await db.updateTable('comments').set({ parent_id: comment.parent_id }).where('parent_id', '=', comment.id).execute();
  const deleted = await db.deleteFrom('comments').where('id', '=', comment.id).returningAll().executeTakeFirst();
  if (!deleted) throw new NotFound();
  await enqueueSync(db, 'comment', id, 'delete', { noteId: deleted.hubspot_note_id });
  return deleted;
}
