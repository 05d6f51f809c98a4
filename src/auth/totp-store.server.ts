// Storage for two-factor sign-in: the per-user TOTP secret (encrypted), recovery codes (hashed) and
// pending logins (password checked, code still to come), bound to a random cookie token stored as sha256.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ColumnType, type Generated, type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import {
  decryptSecret, encryptSecret, generateRecoveryCodes, generateSecret, hashRecoveryCode, normaliseRecoveryCode, verifyTotp,
} from './totp.server.ts';

type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type TwoFactorTables = {
  user_totp: {
    user_id: number;
    secret_enc: string;
    enabled_at: NullableTimestamp;
    last_step: ColumnType<string | null, number | string | null | undefined, number | string | null>;
    created_at: Timestamp;
  };
  user_recovery_codes: { id: Generated<number>; user_id: number; code_hash: string; used_at: NullableTimestamp; created_at: Timestamp };
  pending_logins: { id: string; user_id: number; next: string; expires_at: Timestamp; created_at: Timestamp };
};

type DbLike = Kysely<Database> | Transaction<Database>;
const tfa = (db: DbLike) => db.withTables<TwoFactorTables>();

export const PENDING_COOKIE = 'propart_2fa';
export const PENDING_MINUTES = 5;
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface TotpState { secret: string; enabled: boolean; lastStep: number | null }

export async function totpState(db: DbLike, secretKey: string, userId: number): Promise<TotpState | null> {
  const row = await tfa(db).selectFrom('user_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!row) return null;
  return { secret: decryptSecret(secretKey, row.secret_enc), enabled: row.enabled_at !== null, lastStep: row.last_step === null ? null : Number(row.last_step) };
}

export async function isTwoFactorEnabled(db: DbLike, userId: number): Promise<boolean> {
  const row = await tfa(db).selectFrom('user_totp').select('user_id').where('user_id', '=', userId).where('enabled_at', 'is not', null).executeTakeFirst();
  return !!row;
}

/** The secret being enrolled: the one already shown (so a reload keeps the scanned QR valid) or a new one. */
export async function enrolmentSecret(db: DbLike, secretKey: string, userId: number): Promise<string> {
  const state = await totpState(db, secretKey, userId);
  if (state && !state.enabled) return state.secret;
  if (state?.enabled) throw new Error('two-factor already enabled');
  const secret = generateSecret();
  await tfa(db).insertInto('user_totp').values({ user_id: userId, secret_enc: encryptSecret(secretKey, secret) })
    .onConflict((oc) => oc.column('user_id').doNothing()).execute();
  return (await totpState(db, secretKey, userId))!.secret;
}

/** Confirms enrolment with a valid code: enables 2FA and returns fresh recovery codes (shown once), or null. */
export async function confirmEnrolment(db: DbLike, secretKey: string, userId: number, code: string, nowMs = Date.now()): Promise<string[] | null> {
  const state = await totpState(db, secretKey, userId);
  if (!state || state.enabled) return null;
  const step = verifyTotp(state.secret, code, nowMs, null);
  if (step === null) return null;
  const res = await tfa(db).updateTable('user_totp').set({ enabled_at: sql`now()`, last_step: step })
    .where('user_id', '=', userId).where('enabled_at', 'is', null).executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return null;
  return replaceRecoveryCodes(db, secretKey, userId);
}

export async function replaceRecoveryCodes(db: DbLike, secretKey: string, userId: number): Promise<string[]> {
  const codes = generateRecoveryCodes();
  await tfa(db).deleteFrom('user_recovery_codes').where('user_id', '=', userId).execute();
  await tfa(db).insertInto('user_recovery_codes').values(codes.map((c) => ({ user_id: userId, code_hash: hashRecoveryCode(secretKey, c) }))).execute();
  return codes;
}

export async function unusedRecoveryCodes(db: DbLike, userId: number): Promise<number> {
  const row = await tfa(db).selectFrom('user_recovery_codes').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Checks a second factor: a 6-digit TOTP code (not for a step already used: the step is recorded in the
 * same statement that accepts it) or an unused recovery code (marked used). True when accepted.
 */
export async function checkSecondFactor(db: DbLike, secretKey: string, userId: number, input: string, nowMs = Date.now()): Promise<boolean> {
  const state = await totpState(db, secretKey, userId);
  if (!state?.enabled) return false;
  const code = input.trim();
  if (/^\d{3}\s?\d{3}$/.test(code)) {
    const step = verifyTotp(state.secret, code, nowMs, state.lastStep);
    if (step === null) return false;
    const res = await tfa(db).updateTable('user_totp').set({ last_step: step })
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', String(step))]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
  const normalised = normaliseRecoveryCode(code);
  if (normalised.length !== 10) return false;
  const res = await tfa(db).updateTable('user_recovery_codes').set({ used_at: sql`now()` })
    .where('user_id', '=', userId).where('code_hash', '=', hashRecoveryCode(secretKey, normalised)).where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function disableTwoFactor(db: DbLike, userId: number): Promise<void> {
  await tfa(db).deleteFrom('user_recovery_codes').where('user_id', '=', userId).execute();
  await tfa(db).deleteFrom('user_totp').where('user_id', '=', userId).execute();
}

// Pending logins.

export async function startPendingLogin(db: DbLike, request: FastifyRequest, reply: FastifyReply, userId: number, next: string): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  await tfa(db).deleteFrom('pending_logins').where((eb) => eb.or([eb('user_id', '=', userId), eb('expires_at', '<=', sql<Date>`now()`)])).execute();
  await tfa(db).insertInto('pending_logins').values({
    id: hashToken(token), user_id: userId, next: next.slice(0, 500), expires_at: sql`now() + make_interval(mins => ${PENDING_MINUTES})`,
  }).execute();
  reply.setCookie(PENDING_COOKIE, token, {
    path: '/login', httpOnly: true, sameSite: 'lax', secure: request.server.config.isProduction, maxAge: PENDING_MINUTES * 60,
  });
}

export interface PendingLogin { id: string; userId: number; next: string }

export async function findPendingLogin(db: DbLike, request: FastifyRequest): Promise<PendingLogin | null> {
  const token = request.cookies[PENDING_COOKIE];
  if (!token) return null;
  const row = await tfa(db).selectFrom('pending_logins').select(['id', 'user_id', 'next'])
    .where('id', '=', hashToken(token)).where('expires_at', '>', sql<Date>`now()`).executeTakeFirst();
  return row ? { id: row.id, userId: row.user_id, next: row.next } : null;
}

export async function endPendingLogin(db: DbLike, reply: FastifyReply, pendingId: string | null): Promise<void> {
  if (pendingId) await tfa(db).deleteFrom('pending_logins').where('id', '=', pendingId).execute();
  reply.clearCookie(PENDING_COOKIE, { path: '/login' });
}
