// The audit log: who changed what, when and from which IP. Call recordAudit() in the same transaction as
// the change (request.db), so an entry exists exactly when the change does:
//
//   await recordAudit(request.db, request, { action: 'document.delete', entityType: 'document', entityId: doc.id, before: doc, after: null });
//
// `before`/`after` may be whole rows: only the fields that differ are kept, and secrets (passwords, hashes,
// tokens, storage keys) are dropped by name and by shape before anything is written. The table refuses
// UPDATE and DELETE (migrations/0005_audit_log.ts); there is no route that edits or deletes an entry.
import type { FastifyRequest } from 'fastify';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { AuditEntry, Database } from '../db/schema.ts';
import type { CurrentUser } from '../views/context.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

/** Someone acting outside a request (a script, the sync worker); `name` is kept even after the user is deleted. */
export interface AuditActor { id: number | null; name: string; ip?: string | null }
export type AuditSource = FastifyRequest | CurrentUser | AuditActor;

export interface AuditChange {
  /** `<entity>.<verb>`, e.g. lead.update, user.deactivate, document.upload. */
  action: string;
  entityType: string;
  entityId: number | string | null;
  before?: object | null;
  after?: object | null;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

// Never recorded, whatever the caller passes: by field name…
const SECRET_KEY = /password|passwd|hash|secret|token|api_?key|credential|storage_key/i;
// …and by shape (a bcrypt hash under an innocent name).
const SECRET_VALUE = /^\$2[abxy]?\$\d\d\$/;
// Bookkeeping that changes with everything and says nothing.
const NOISE = new Set(['created_at', 'updated_at', 'last_seen_at']);
const MAX_STRING = 2000;

function toJson(value: unknown, depth = 0): Json | undefined {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    if (SECRET_VALUE.test(value)) return undefined;
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value;
  if (depth > 4) return null;
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => toJson(v, depth + 1) ?? null);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return undefined;
  return clean(value as Record<string, unknown>, depth + 1);
}

function clean(obj: Record<string, unknown>, depth = 0): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(obj)) {
    // A yes/no flag (must_change_password) cannot leak a secret; anything else under a secret's name is dropped.
    if (NOISE.has(k) || (SECRET_KEY.test(k) && typeof v !== 'boolean')) continue;
    const j = toJson(v, depth);
    if (j !== undefined) out[k] = j;
  }
  return out;
}

/**
 * The changed fields only. For a creation (no before) it is everything set in `after`; for a deletion
 * (no after) everything set in `before`. Secrets never survive.
 */
export function auditDiff(before: object | null | undefined, after: object | null | undefined): { before: Record<string, Json> | null; after: Record<string, Json> | null } {
  const b = before ? clean(before as Record<string, unknown>) : null;
  const a = after ? clean(after as Record<string, unknown>) : null;
  const dropEmpty = (o: Record<string, Json>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== ''));
  if (!b || !a) return { before: b && dropEmpty(b), after: a && dropEmpty(a) };
  const outB: Record<string, Json> = {};
  const outA: Record<string, Json> = {};
  for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
    // Only a field both sides describe (or one that appeared/disappeared) can be a change.
    if (!(k in a) || !(k in b)) {
      if (k in b && b[k] !== null) outB[k] = b[k]!;
      if (k in a && a[k] !== null) outA[k] = a[k]!;
      continue;
    }
    if (!sameValue(b[k]!, a[k]!)) {
      outB[k] = b[k]!;
      outA[k] = a[k]!;
    }
  }
  return { before: outB, after: outA };
}

/** Numeric columns come back as text ("5.00"); 5 and "5.00" are the same commission. */
function sameValue(x: Json, y: Json): boolean {
  if (JSON.stringify(x) === JSON.stringify(y)) return true;
  const nx = typeof x === 'string' && x.trim() !== '' ? Number(x) : x;
  const ny = typeof y === 'string' && y.trim() !== '' ? Number(y) : y;
  return typeof nx === 'number' && typeof ny === 'number' && nx === ny;
}

function isRequest(s: AuditSource): s is FastifyRequest {
  return typeof s === 'object' && s !== null && 'raw' in s && 'routeOptions' in s;
}

export function actorOf(source: AuditSource): { actor_id: number | null; actor_name: string; ip: string | null } {
  if (isRequest(source)) {
    const u = source.user;
    return { actor_id: u?.id ?? null, actor_name: (u?.username ?? 'anonymous').slice(0, 100), ip: source.ip ? source.ip.slice(0, 64) : null };
  }
  if ('username' in source) return { actor_id: source.id, actor_name: source.username.slice(0, 100), ip: null };
  return { actor_id: source.id, actor_name: source.name.slice(0, 100), ip: source.ip ? source.ip.slice(0, 64) : null };
}

function row(source: AuditSource, change: AuditChange) {
  const { before, after } = auditDiff(change.before, change.after);
  return {
    ...actorOf(source),
    action: change.action.slice(0, 50),
    entity_type: change.entityType.slice(0, 30),
    entity_id: change.entityId === null ? null : String(change.entityId).slice(0, 64),
    before: before ? JSON.stringify(before) : null,
    after: after ? JSON.stringify(after) : null,
  };
}

/** Writes one entry, in the caller's transaction. */
export async function recordAudit(db: DbLike, source: AuditSource, change: AuditChange): Promise<void> {
  await db.insertInto('audit_log').values(row(source, change)).execute();
}

/** Many entries in one statement (e.g. every lead moved when a user is deleted). */
export async function recordAuditMany(db: DbLike, source: AuditSource, changes: AuditChange[]): Promise<void> {
  for (let i = 0; i < changes.length; i += 500) {
    await db.insertInto('audit_log').values(changes.slice(i, i + 500).map((c) => row(source, c))).execute();
  }
}

// ---- Browsing (the admin page) ----

export const AUDIT_PAGE_SIZE = 50;

export interface AuditFilter {
  actor?: string;
  entity_type?: string;
  entity_id?: string;
  action?: string;
  from?: string;
  to?: string;
  page: number;
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/** One page, newest first; one extra row tells whether there is a next page (no count over the whole log). */
export async function listAudit(db: DbLike, f: AuditFilter): Promise<{ rows: AuditEntry[]; hasNext: boolean }> {
  let q = db.selectFrom('audit_log').selectAll();
  if (f.actor) {
    const actor = f.actor;
    q = /^\d+$/.test(actor)
      ? q.where('actor_id', '=', Number(actor))
      : q.where(sql`lower(actor_name)`, 'like', `%${likeEscape(actor.toLowerCase())}%`);
  }
  if (f.entity_type) q = q.where('entity_type', '=', f.entity_type);
  if (f.entity_id) q = q.where('entity_id', '=', f.entity_id);
  // "user." finds every user action; "user.delete" exactly that one.
  if (f.action) q = f.action.endsWith('.') ? q.where('action', 'like', `${likeEscape(f.action)}%`) : q.where('action', '=', f.action);
  // Dates are Kyiv calendar days: from its first moment to the first moment of the day after `to`.
  if (f.from) q = q.where('created_at', '>=', sql<Date>`(${f.from}::date)::timestamp at time zone 'Europe/Kyiv'`);
  if (f.to) q = q.where('created_at', '<', sql<Date>`(${f.to}::date + 1)::timestamp at time zone 'Europe/Kyiv'`);
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc')
    .limit(AUDIT_PAGE_SIZE + 1).offset((f.page - 1) * AUDIT_PAGE_SIZE).execute();
  return { rows: rows.slice(0, AUDIT_PAGE_SIZE), hasNext: rows.length > AUDIT_PAGE_SIZE };
}
