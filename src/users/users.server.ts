// Data access for users: the one place that reads and writes the users table.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, NewUser, User } from '../db/schema.ts';
import { isUniqueViolation } from '../db/errors.ts';
import type { FieldErrors } from '../platform/errors.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

export function findByLogin(db: DbLike, login: string): Promise<User | undefined> {
  const value = login.trim().toLowerCase();
  return db.selectFrom('users').selectAll()
    .where((eb) => eb.or([eb(sql`lower(username)`, '=', value), eb(sql`lower(email)`, '=', value)]))
    .orderBy('id').executeTakeFirst();
}

export function findById(db: DbLike, id: number): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Admins as a public page may show them: id and display name only (never email or username). */
export function listAdminsForRegistration(db: DbLike): Promise<{ id: number; display_name: string }[]> {
  return db.selectFrom('users').select(['id', 'display_name']).where('role', '=', 'admin').where('is_active', '=', true).orderBy('display_name').execute();
}

/** Which of username/email is already taken by someone other than `exceptId`. */
export async function takenFields(db: DbLike, username: string, email: string, exceptId?: number): Promise<FieldErrors> {
  let q = db.selectFrom('users').select(['username', 'email'])
    .where((eb) => eb.or([eb(sql`lower(username)`, '=', username.toLowerCase()), eb(sql`lower(email)`, '=', email.toLowerCase())]));
  if (exceptId) q = q.where('id', '!=', exceptId);
  const rows = await q.execute();
  const fields: FieldErrors = {};
  for (const r of rows) {
    if (r.username.toLowerCase() === username.toLowerCase()) fields.username = 'validation.usernameTaken';
    if (r.email.toLowerCase() === email.toLowerCase()) fields.email = 'validation.emailTaken';
  }
  return fields;
}

/** Maps a unique-index race (two registrations at once) to the field it concerns. */
export function uniqueViolationFields(err: unknown): FieldErrors | null {
  if (isUniqueViolation(err, 'users_username_key')) return { username: 'validation.usernameTaken' };
  if (isUniqueViolation(err, 'users_email_key')) return { email: 'validation.emailTaken' };
  return null;
}

export async function insertUser(db: DbLike, user: NewUser): Promise<User> {
  return db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
}

export async function recordFailedLogin(db: DbLike, userId: number, threshold: number, lockMinutes: number): Promise<{ locked: boolean }> {
  // One statement, so parallel wrong guesses cannot under-count.
  const row = await db.updateTable('users')
    .set({
      failed_login_attempts: sql`case when failed_login_attempts + 1 >= ${threshold} then 0 else failed_login_attempts + 1 end`,
      locked_until: sql`case when failed_login_attempts + 1 >= ${threshold} then now() + make_interval(mins => ${lockMinutes}) else locked_until end`,
    })
    .where('id', '=', userId)
    .returning(['failed_login_attempts', 'locked_until'])
    .executeTakeFirstOrThrow();
  return { locked: row.locked_until !== null && new Date(row.locked_until) > new Date() };
}

export async function recordSuccessfulLogin(db: DbLike, userId: number): Promise<void> {
  await db.updateTable('users').set({ failed_login_attempts: 0, locked_until: null, last_login_at: sql`now()` }).where('id', '=', userId).execute();
}

export function isLocked(user: Pick<User, 'locked_until'>, now = new Date()): boolean {
  return user.locked_until !== null && new Date(user.locked_until) > now;
}
