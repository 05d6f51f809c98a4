// Per-agent API keys: `pph_<prefix>_<secret>`. The prefix (public, random) finds the row; the whole token's
// sha256 is compared in constant time. 256 random bits make a slow hash pointless, so sha256 is right here.
// The plaintext exists only in the response that creates it: never stored, never logged.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import { recordAudit, type AuditSource } from '../audit/audit.server.ts';
import type { ApiKey, Database } from '../db/schema.ts';
import { NotFound } from '../platform/errors.ts';
import type { CurrentUser } from '../views/context.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

export const TOKEN_PREFIX = 'pph_';
export const MAX_KEYS_PER_USER = 10;
const TOKEN_RE = /^pph_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
/** last_used_at is written at most once a minute per key. */
const TOUCH_EVERY_MS = 60_000;

export const hashApiToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function generateApiToken(): { token: string; prefix: string; hash: string } {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(12);
  const prefix = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  const token = `${TOKEN_PREFIX}${prefix}_${randomBytes(32).toString('base64url')}`;
  return { token, prefix, hash: hashApiToken(token) };
}

/** The prefix of a well-formed token, or null. */
export function tokenPrefix(token: string): string | null {
  return TOKEN_RE.exec(token)?.[1] ?? null;
}

/** The bearer token of an Authorization header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

/**
 * An origin as browsers send it (scheme://host[:port], lower case, no path), or null when the text is
 * not one. Only http(s); a trailing slash is forgiven.
 */
export function normaliseOrigin(text: string): string | null {
  const trimmed = text.trim().replace(/\/$/, '');
  if (!/^https?:\/\/[^/?#\s]+$/i.test(trimmed)) return null;
  try {
    const url = new URL(trimmed);
    if (url.username || url.password) return null;
    return url.origin === 'null' ? null : url.origin;
  } catch {
    return null;
  }
}

export interface ApiKeyRow {
  id: number;
  name: string;
  prefix: string;
  allowed_origins: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export async function listApiKeys(db: DbLike, userId: number): Promise<ApiKeyRow[]> {
  return db.selectFrom('api_keys')
    .select(['id', 'name', 'prefix', 'allowed_origins', 'created_at', 'last_used_at', 'revoked_at'])
    .where('user_id', '=', userId)
    .orderBy('revoked_at', (ob) => ob.desc().nullsFirst()).orderBy('created_at', 'desc').orderBy('id', 'desc')
    .execute();
}

export async function countActiveKeys(db: DbLike, userId: number): Promise<number> {
  const row = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Creates a key and returns its token — the only time the plaintext exists outside the caller's hands. */
export async function createApiKey(db: DbLike, user: CurrentUser, input: { name: string; origins: string[] }, audit: AuditSource = user): Promise<{ key: ApiKeyRow; token: string }> {
  const { token, prefix, hash } = generateApiToken();
  const key = await db.insertInto('api_keys')
    .values({ user_id: user.id, name: input.name, prefix, key_hash: hash, allowed_origins: JSON.stringify(input.origins) })
    .returning(['id', 'name', 'prefix', 'allowed_origins', 'created_at', 'last_used_at', 'revoked_at'])
    .executeTakeFirstOrThrow();
  await recordAudit(db, audit, { action: 'api_key.create', entityType: 'api_key', entityId: key.id, before: null, after: { name: key.name, prefix: key.prefix, allowed_origins: key.allowed_origins } });
  return { key, token };
}

/** Revokes one of the user's own keys (another user's key is "not found"). Revoking twice is harmless. */
export async function revokeApiKey(db: DbLike, user: CurrentUser, id: number, audit: AuditSource = user): Promise<ApiKeyRow> {
  const key = await db.selectFrom('api_keys').select(['id', 'name', 'prefix', 'allowed_origins', 'created_at', 'last_used_at', 'revoked_at'])
    .where('id', '=', id).where('user_id', '=', user.id).forUpdate().executeTakeFirst();
  if (!key) throw new NotFound();
  if (key.revoked_at) return key;
  const revoked = await db.updateTable('api_keys').set({ revoked_at: sql`now()` }).where('id', '=', key.id)
    .returning(['id', 'name', 'prefix', 'allowed_origins', 'created_at', 'last_used_at', 'revoked_at']).executeTakeFirstOrThrow();
  await recordAudit(db, audit, { action: 'api_key.revoke', entityType: 'api_key', entityId: key.id, before: { revoked: false }, after: { revoked: true } });
  return revoked;
}

export interface ApiPrincipal { key: Pick<ApiKey, 'id' | 'user_id' | 'allowed_origins'>; user: CurrentUser }

/**
 * The active key and its agent for a bearer token, or null: unknown, malformed, revoked, or its agent is
 * deactivated or no longer an agent. Touches last_used_at (at most once a minute).
 */
export async function authenticateApiToken(db: DbLike, token: string): Promise<ApiPrincipal | null> {
  const prefix = tokenPrefix(token);
  if (!prefix) return null;
  const row = await db.selectFrom('api_keys as k')
    .innerJoin('users as u', 'u.id', 'k.user_id')
    .select(['k.id', 'k.user_id', 'k.key_hash', 'k.allowed_origins', 'k.last_used_at', 'u.username', 'u.display_name', 'u.email', 'u.role'])
    .where('k.prefix', '=', prefix)
    .where('k.revoked_at', 'is', null)
    .where('u.is_active', '=', true)
    .where('u.role', '=', 'agent')
    .executeTakeFirst();
  if (!row) return null;
  const expected = Buffer.from(row.key_hash.trim(), 'hex');
  const actual = Buffer.from(hashApiToken(token), 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > TOUCH_EVERY_MS) {
    await db.updateTable('api_keys').set({ last_used_at: sql`now()` }).where('id', '=', row.id).execute();
  }
  return {
    key: { id: row.id, user_id: row.user_id, allowed_origins: row.allowed_origins },
    user: { id: row.user_id, username: row.username, displayName: row.display_name, email: row.email, role: row.role, mustChangePassword: false },
  };
}

/** Whether the origin is on any active key: the only origins a CORS preflight is answered for. */
export async function originOnAnyActiveKey(db: DbLike, origin: string): Promise<boolean> {
  const row = await db.selectFrom('api_keys as k').innerJoin('users as u', 'u.id', 'k.user_id')
    .select('k.id')
    .where('k.revoked_at', 'is', null).where('u.is_active', '=', true)
    .where(sql<boolean>`k.allowed_origins @> ${JSON.stringify([origin])}::jsonb`)
    .limit(1).executeTakeFirst();
  return !!row;
}
