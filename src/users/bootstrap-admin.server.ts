// The very first start creates one admin with a random password, printed once to the console.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { hashPassword } from '../auth/password.server.ts';

export interface CreatedAdmin { username: string; password: string }

export async function ensureInitialAdmin(db: Db, opts: { username: string; email: string; bcryptCost: number }): Promise<CreatedAdmin | null> {
  const existing = await db.selectFrom('users').select('id').where('role', '=', 'admin').limit(1).executeTakeFirst();
  if (existing) return null;
  const password = randomBytes(12).toString('base64url');
  const hash = await hashPassword(password, opts.bcryptCost);
  // Two instances starting at once: the unique username lets only one insert win.
  const inserted = await sql<{ id: number }>`
    insert into users (username, email, display_name, password_hash, role, must_change_password)
    select ${opts.username}, ${opts.email}, 'Адміністратор', ${hash}, 'admin', true
    where not exists (select 1 from users where role = 'admin')
    on conflict do nothing
    returning id`.execute(db);
  return inserted.rows.length > 0 ? { username: opts.username, password } : null;
}
