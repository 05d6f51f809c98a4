// Server-side sessions in PostgreSQL. The cookie holds a random token; the table holds its sha256.
// Every request re-checks the user, so deactivating or locking someone ends their session at once.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql, type Kysely, type Transaction } from 'kysely';
import { PREPARED } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { CurrentUser } from '../views/context.ts';
import { Forbidden, Unauthorized } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable by an administrator who must still set up two-factor sign-in. */
    allowDuringTwoFactorEnrolment?: boolean;
    /** Read the user's lead version (request.leadVersion) with the session: one round trip, not two. */
    leadVersion?: boolean;
  }
  interface FastifyRequest {
    /**
     * On routes with `leadVersion`, the version of the leads the user sees (migrations/0012): an agent's
     * own, an admin's the sum over all agents, which grows whenever any of them does. The dashboard keys
     * its caches on it.
     */
    leadVersion: number | null;
  }
}

export const TWO_FACTOR_ENROL_PATH = '/profile/two-factor';
/** Requests of administrators who must set up two-factor sign-in first (ADMIN_2FA_REQUIRED). */
const enrolmentPending = new WeakSet<FastifyRequest>();
export const mustEnrolTwoFactor = (request: FastifyRequest) => enrolmentPending.has(request);

export const SESSION_COOKIE = 'propart_sid';
const TOUCH_EVERY_MS = 60_000;

type DbLike = Kysely<Database> | Transaction<Database>;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function isStaticPath(url: string): boolean {
  return url.startsWith('/static/') || url.startsWith('/vendor/') || url === '/healthz' || url === '/readyz' || url === '/favicon.ico';
}

interface SessionRow {
  sid: string; last_seen_at: Date; id: number; username: string; display_name: string; email: string;
  role: CurrentUser['role']; must_change_password: boolean; has_2fa: boolean; lead_version?: number | null;
}

// The user's lead version (request.leadVersion).
const LEAD_VERSION = sql`, case when u.role = 'admin' then (select coalesce(sum(version), 0)::bigint from lead_versions)
    else (select version from lead_versions v where v.agent_id = u.id) end as lead_version`;

/**
 * The session and its user, if both are still good (and, if asked, the user's lead version): made on
 * every request, so prepared (planned once per connection; planning this join cost three times its running).
 */
const sessionLookup = (id: string, idleMinutes: number, withLeadVersion: boolean) => sql<SessionRow>`${sql.raw(PREPARED)}
  select s.id as sid, s.last_seen_at, u.id, u.username, u.display_name, u.email, u.role, u.must_change_password,
    exists (select 1 from user_totp t where t.user_id = u.id and t.enabled_at is not null) as has_2fa${withLeadVersion ? LEAD_VERSION : sql``}
  from sessions s join users u on u.id = s.user_id
  where s.id = ${id} and s.expires_at > now() and s.last_seen_at > now() - make_interval(mins => ${idleMinutes})
    and u.is_active and (u.locked_until is null or u.locked_until <= now())`;

export function registerSessions(app: FastifyInstance): void {
  const { sessionIdleMinutes, adminTwoFactorRequired } = app.config.security;
  app.decorateRequest('user', null);
  app.decorateRequest('sessionId', null);
  app.decorateRequest('leadVersion', null);

  app.addHook('onRequest', async (request, reply) => {
    if (isStaticPath(request.url)) return;
    const token = request.cookies[SESSION_COOKIE];
    if (!token) return;
    const id = hashToken(token);
    const withLeadVersion = request.routeOptions.config.leadVersion === true;
    const row = (await sessionLookup(id, sessionIdleMinutes, withLeadVersion).execute(app.db)).rows[0];
    if (!row) {
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return;
    }
    request.sessionId = row.sid;
    if (withLeadVersion) request.leadVersion = Number(row.lead_version ?? 0);
    request.user = {
      id: row.id, username: row.username, displayName: row.display_name, email: row.email, role: row.role,
      mustChangePassword: row.must_change_password,
    };
    if (adminTwoFactorRequired && row.role === 'admin' && !row.has_2fa) enrolmentPending.add(request);
    if (Date.now() - new Date(row.last_seen_at).getTime() > TOUCH_EVERY_MS) {
      await app.db.updateTable('sessions').set({ last_seen_at: sql`now()` }).where('id', '=', row.sid).execute();
    }
  });

  // Uploads are read into memory before the route's guards run: refuse them from anyone not signed in
  // before a single byte of the body is read.
  app.addHook('onRequest', async (request) => {
    if (!request.user && (request.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/')) throw new Unauthorized();
  });

  // An administrator without two-factor sign-in (when required) reaches only the enrolment pages, once the
  // temporary password has been changed (that guard comes first).
  app.addHook('preHandler', async (request, reply) => {
    if (!request.user || request.user.mustChangePassword || !enrolmentPending.has(request)) return;
    const cfg = request.routeOptions.config;
    if (cfg.public || cfg.allowDuringTwoFactorEnrolment) return;
    if (request.method === 'GET') return reply.redirect(TWO_FACTOR_ENROL_PATH);
    throw new Forbidden();
  });

}

/** Starts a fresh session for the user, replacing the request's old one (the id rotates at login). */
export async function startSession(db: DbLike, request: FastifyRequest, reply: FastifyReply, userId: number): Promise<void> {
  const { sessionAbsoluteHours } = request.server.config.security;
  if (request.sessionId) await db.deleteFrom('sessions').where('id', '=', request.sessionId).execute();
  const token = randomBytes(32).toString('base64url');
  await db.insertInto('sessions').values({
    id: hashToken(token),
    user_id: userId,
    expires_at: sql`now() + make_interval(hours => ${sessionAbsoluteHours})`,
    ip: request.ip.slice(0, 64),
    user_agent: (request.headers['user-agent'] ?? '').slice(0, 300),
  }).execute();
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.server.config.isProduction,
    maxAge: sessionAbsoluteHours * 3600,
  });
}

export async function endSession(db: DbLike, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.sessionId) await db.deleteFrom('sessions').where('id', '=', request.sessionId).execute();
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  request.sessionId = null;
  request.user = null;
}

/** Ends every session of a user (deactivation, lock, password change), optionally keeping one. */
export async function endUserSessions(db: DbLike, userId: number, exceptSessionId?: string | null): Promise<void> {
  let q = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (exceptSessionId) q = q.where('id', '!=', exceptSessionId);
  await q.execute();
}

/** Housekeeping: removes expired rows (run periodically). */
export async function purgeExpiredSessions(db: DbLike, idleMinutes: number): Promise<number> {
  const res = await db.deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', sql<Date>`now()`), eb('last_seen_at', '<=', sql<Date>`now() - make_interval(mins => ${idleMinutes})`)]))
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
