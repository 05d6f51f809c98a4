// The admin's user management: one aggregated query for the list, and the account changes (activate,
// unlock, role, admin, commission, temporary password, delete). Every change is audited in the same
// transaction; none is allowed on oneself where it could lock the admin out.
import { randomInt } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import { hashPassword } from '../auth/password.server.ts';
import { type AuditChange, type AuditSource, recordAudit, recordAuditMany } from '../audit/audit.server.ts';
import type { Database, Role, User, UserUpdate } from '../db/schema.ts';
import { enqueueSync } from '../hubspot/outbox.server.ts';
import { Forbidden, NotFound, ValidationFailed } from '../platform/errors.ts';
import { endUserSessions } from '../platform/session.ts';
import type { CurrentUser } from '../views/context.ts';
import type { UsersFilter } from './admin-schemas.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

export const USERS_PAGE_SIZE = 20;

/** Users with their admin's name and real figures (leads, closed deals, points) — one query, no N+1. */
function usersQuery(db: DbLike) {
  return db.selectFrom('users as u')
    .leftJoin('users as a', 'a.id', 'u.admin_id')
    .leftJoinLateral((eb) => eb.selectFrom('leads')
      .select([sql<number>`count(*)::int`.as('leads'), sql<number>`(count(*) filter (where leads.status = 'closed'))::int`.as('closed')])
      .whereRef('leads.agent_id', '=', 'u.id').as('s'), (j) => j.onTrue())
    .leftJoinLateral((eb) => eb.selectFrom('points_events')
      .select(sql<number>`coalesce(sum(points_events.points), 0)::int`.as('points'))
      .whereRef('points_events.user_id', '=', 'u.id').as('p'), (j) => j.onTrue())
    .select([
      'u.id', 'u.username', 'u.display_name', 'u.email', 'u.role', 'u.admin_id', 'a.display_name as admin_name', 'u.commission',
      'u.is_verified', 'u.is_active', 'u.must_change_password', 'u.locked_until', 'u.last_login_at', 'u.created_at',
      sql<boolean>`coalesce(u.locked_until > now(), false)`.as('is_locked'),
      sql<number>`coalesce(s.leads, 0)`.as('leads'), sql<number>`coalesce(s.closed, 0)`.as('closed'), sql<number>`coalesce(p.points, 0)`.as('points'),
    ]);
}
export type UserRow = Awaited<ReturnType<ReturnType<typeof usersQuery>['executeTakeFirstOrThrow']>>;

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

export async function listUsers(db: DbLike, f: UsersFilter): Promise<{ rows: UserRow[]; total: number; pages: number }> {
  let q = usersQuery(db).select(sql<number>`(count(*) over ())::int`.as('total_count'));
  if (f.q) {
    const like = `%${likeEscape(f.q.toLowerCase())}%`;
    q = q.where((eb) => eb.or([eb(sql`lower(u.username)`, 'like', like), eb(sql`lower(u.display_name)`, 'like', like), eb(sql`lower(u.email)`, 'like', like)]));
  }
  if (f.role) q = q.where('u.role', '=', f.role);
  if (f.active) q = q.where('u.is_active', '=', f.active === 'yes');
  if (f.verified) q = q.where('u.is_verified', '=', f.verified === 'yes');
  if (f.locked) q = q.where(sql<boolean>`u.locked_until > now()`);
  if (f.admin === 'none') q = q.where('u.role', '=', 'agent').where('u.admin_id', 'is', null);
  else if (f.admin) q = q.where('u.admin_id', '=', f.admin);
  const rows = await q.orderBy('u.created_at', 'desc').orderBy('u.id', 'desc')
    .limit(USERS_PAGE_SIZE).offset((f.page - 1) * USERS_PAGE_SIZE).execute();
  const total = rows[0]?.total_count ?? 0;
  return { rows, total, pages: Math.max(1, Math.ceil(total / USERS_PAGE_SIZE)) };
}

export interface UserCounts { total: number; active: number; inactive: number; agents: number; admins: number; verified: number; locked: number }

export function userCounts(db: DbLike): Promise<UserCounts> {
  return db.selectFrom('users').select([
    sql<number>`count(*)::int`.as('total'),
    sql<number>`(count(*) filter (where is_active))::int`.as('active'),
    sql<number>`(count(*) filter (where not is_active))::int`.as('inactive'),
    sql<number>`(count(*) filter (where role = 'agent'))::int`.as('agents'),
    sql<number>`(count(*) filter (where role = 'admin'))::int`.as('admins'),
    sql<number>`(count(*) filter (where role = 'agent' and is_verified))::int`.as('verified'),
    sql<number>`(count(*) filter (where locked_until > now()))::int`.as('locked'),
  ]).executeTakeFirstOrThrow();
}

export async function userForAdmin(db: DbLike, id: number): Promise<UserRow> {
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw new NotFound();
  const row = await usersQuery(db).where('u.id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound();
  return row;
}

/** An admin's brokers ("Мої брокери"): their agents, newest first, with real figures. */
export function brokersOf(db: DbLike, adminId: number): Promise<UserRow[]> {
  return usersQuery(db).where('u.admin_id', '=', adminId).where('u.role', '=', 'agent')
    .orderBy('u.created_at', 'desc').orderBy('u.id', 'desc').limit(500).execute();
}

export function activeAdmins(db: DbLike): Promise<{ id: number; display_name: string }[]> {
  return db.selectFrom('users').select(['id', 'display_name']).where('role', '=', 'admin').where('is_active', '=', true).orderBy('display_name').execute();
}

/** Who may receive a deleted user's leads: any other active user. */
export function possibleReceivers(db: DbLike, exceptId: number): Promise<{ id: number; display_name: string; role: Role }[]> {
  return db.selectFrom('users').select(['id', 'display_name', 'role']).where('is_active', '=', true).where('id', '!=', exceptId)
    .orderBy('role').orderBy('display_name').execute();
}

// ---- Changes ----

async function lockTarget(db: DbLike, id: number): Promise<User> {
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw new NotFound();
  const user = await db.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  if (!user) throw new NotFound();
  return user;
}

function notSelf(admin: CurrentUser, id: number): void {
  if (admin.id === id) throw new Forbidden('admin.users.notSelf');
}

async function update(db: DbLike, id: number, set: UserUpdate): Promise<User> {
  return db.updateTable('users').set(set).set({ updated_at: sql`now()` }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Deactivating ends every session of the user at once (their next request is the login page). */
export async function setActive(db: DbLike, admin: CurrentUser, id: number, active: boolean, audit: AuditSource = admin): Promise<User> {
  notSelf(admin, id);
  const before = await lockTarget(db, id);
  const after = await update(db, id, { is_active: active });
  if (!active) await endUserSessions(db, id);
  await recordAudit(db, audit, { action: active ? 'user.activate' : 'user.deactivate', entityType: 'user', entityId: id, before, after });
  return after;
}

export async function unlock(db: DbLike, admin: CurrentUser, id: number, audit: AuditSource = admin): Promise<User> {
  const before = await lockTarget(db, id);
  const after = await update(db, id, { locked_until: null, failed_login_attempts: 0 });
  await recordAudit(db, audit, { action: 'user.unlock', entityType: 'user', entityId: id, before, after });
  return after;
}

/** An admin has no admin; an admin made agent leaves their brokers unassigned (the link means "my admin"). */
export async function setRole(db: DbLike, admin: CurrentUser, id: number, role: Role, audit: AuditSource = admin): Promise<User> {
  notSelf(admin, id);
  const before = await lockTarget(db, id);
  if (before.role === role) return before;
  const after = await update(db, id, role === 'admin' ? { role, admin_id: null } : { role });
  await recordAudit(db, audit, { action: 'user.role', entityType: 'user', entityId: id, before, after });
  if (role === 'agent') await unassignBrokers(db, id, audit);
  return after;
}

async function unassignBrokers(db: DbLike, adminId: number, audit: AuditSource): Promise<void> {
  const brokers = await db.updateTable('users').set({ admin_id: null, updated_at: sql`now()` }).where('admin_id', '=', adminId).returning('id').execute();
  await recordAuditMany(db, audit, brokers.map((b): AuditChange => ({
    action: 'user.assign_admin', entityType: 'user', entityId: b.id, before: { admin_id: adminId }, after: { admin_id: null },
  })));
}

export async function assignAdmin(db: DbLike, admin: CurrentUser, id: number, adminId: number | null, audit: AuditSource = admin): Promise<User> {
  const before = await lockTarget(db, id);
  if (before.role !== 'agent') throw new ValidationFailed({ admin_id: 'admin.users.onlyAgentsHaveAdmin' });
  if (adminId !== null) {
    const target = await db.selectFrom('users').select('id').where('id', '=', adminId).where('role', '=', 'admin').where('is_active', '=', true).executeTakeFirst();
    if (!target) throw new ValidationFailed({ admin_id: 'validation.adminRequired' });
  }
  const after = await update(db, id, { admin_id: adminId });
  await recordAudit(db, audit, { action: 'user.assign_admin', entityType: 'user', entityId: id, before, after });
  return after;
}

export async function setCommission(db: DbLike, admin: CurrentUser, id: number, commission: number, audit: AuditSource = admin): Promise<User> {
  const before = await lockTarget(db, id);
  const after = await update(db, id, { commission: commission.toFixed(2) });
  await recordAudit(db, audit, { action: 'user.commission', entityType: 'user', entityId: id, before, after });
  return after;
}

// No 0/O, 1/l/I: read out over the phone without mistakes. 3 groups of 4 ≈ 68 bits.
const TEMP_ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export function temporaryPassword(): string {
  const group = () => Array.from({ length: 4 }, () => TEMP_ALPHABET[randomInt(TEMP_ALPHABET.length)]).join('');
  return `${group()}-${group()}-${group()}`;
}

/**
 * A new temporary password, shown once to the admin and never stored in clear: the user must set their
 * own at the next login (users.must_change_password), and every session of theirs ends now.
 */
export async function resetPassword(db: DbLike, admin: CurrentUser, id: number, bcryptCost: number, audit: AuditSource = admin): Promise<{ user: User; password: string }> {
  notSelf(admin, id);
  const before = await lockTarget(db, id);
  const password = temporaryPassword();
  const after = await update(db, id, {
    password_hash: await hashPassword(password, bcryptCost), must_change_password: true, failed_login_attempts: 0, locked_until: null,
  });
  await endUserSessions(db, id);
  await recordAudit(db, audit, { action: 'user.password_reset', entityType: 'user', entityId: id, before, after });
  return { user: after, password };
}

export function leadCount(db: DbLike, userId: number): Promise<number> {
  return db.selectFrom('leads').select(sql<number>`count(*)::int`.as('n')).where('agent_id', '=', userId).executeTakeFirstOrThrow().then((r) => r.n);
}

export interface DeleteUserOptions {
  /** Who receives the user's leads; required while they own any. */
  receiverId: number | null;
  audit?: AuditSource;
  /** Removes the user's private documents (rows and stored files) once nothing can refuse the deletion. */
  removeDocuments?: (db: DbLike, userId: number) => Promise<number>;
}

/**
 * Deletes a user. Refused while they own leads unless a receiver is given: the leads then move to the
 * receiver in the same transaction (each audited and queued for HubSpot); points stay with whoever earned
 * them — nothing is transferred.
 */
export async function deleteUser(db: DbLike, admin: CurrentUser, id: number, opts: DeleteUserOptions): Promise<{ user: User; moved: number; documents: number }> {
  const { receiverId, audit = admin } = opts;
  notSelf(admin, id);
  const user = await lockTarget(db, id);
  const owned = await leadCount(db, id);
  let moved = 0;
  if (owned > 0) {
    if (receiverId === null) throw new ValidationFailed({ receiver_id: 'admin.users.deleteHasLeads' });
    const receiver = receiverId === id ? undefined
      : await db.selectFrom('users').select('id').where('id', '=', receiverId).where('is_active', '=', true).executeTakeFirst();
    if (!receiver) throw new ValidationFailed({ receiver_id: 'validation.receiver' });
    const leads = await db.updateTable('leads').set({ agent_id: receiver.id, updated_at: sql`now()` }).where('agent_id', '=', id).returning('id').execute();
    for (const l of leads) await enqueueSync(db, 'lead', l.id);
    await recordAuditMany(db, audit, leads.map((l): AuditChange => ({
      action: 'lead.reassign', entityType: 'lead', entityId: l.id, before: { agent_id: id }, after: { agent_id: receiver.id },
    })));
    moved = leads.length;
  }
  if (user.role === 'admin') await unassignBrokers(db, id, audit);
  // Last, after every check: stored files cannot be rolled back.
  const documents = opts.removeDocuments ? await opts.removeDocuments(db, id) : 0;
  await db.deleteFrom('users').where('id', '=', id).execute();
  await recordAudit(db, audit, { action: 'user.delete', entityType: 'user', entityId: id, before: { ...user, documents_deleted: documents }, after: null });
  return { user, moved, documents };
}
