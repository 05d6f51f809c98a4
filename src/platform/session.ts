// Server-side sessions in PostgreSQL. The cookie holds a random token; the table holds its sha256.
// Every request re-checks the user, so deactivating or locking someone ends their session at once — a
// dashboard from the instance's memory instead (session-cache.ts), which PostgreSQL tells of every such
// change at commit and which answers nothing once it is more than 3 s behind (decision 023).
import { hash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql, type Kysely, type Transaction } from 'kysely';
import { PREPARED } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { CurrentUser } from '../views/context.ts';
import { BoundedMemo } from './cache.ts';
import { Forbidden, Unauthorized } from './errors.ts';
import { isAssetPath, SAFE_METHODS, type StateChangeHooks } from './security.ts';
import { type CachedSession, FRESH_COOKIE, FRESH_SECONDS, SessionCache, SessionCacheListener } from './session-cache.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable by an administrator who must still set up two-factor sign-in. */
    allowDuringTwoFactorEnrolment?: boolean;
    /** Read the user's lead version (request.leadVersion) with the session: one round trip, not two. */
    leadVersion?: boolean;
    /**
     * A GET that may take the session (and lead version) from the instance's memory, kept current by the
     * database's notifications, instead of reading it (decision 023). Only for pages read again and again
     * (the dashboard); every state change reads the database.
     */
    sessionCache?: boolean;
  }
  interface FastifyInstance {
    /** The in-memory sessions (decision 023); null on PGlite or with SESSION_CACHE=false. */
    sessionCache: { state: SessionCache; listener: SessionCacheListener } | null;
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

const hashToken = (token: string) => hash('sha256', token, 'hex');
// The hashes of the tokens seen lately: hashing is a few µs of every request (the raw tokens kept here are
// in this process's memory anyway, on every request that carries one).
const tokenHashes = new BoundedMemo<string>(10_000);

function isStaticPath(url: string): boolean {
  return isAssetPath(url) || url === '/healthz' || url === '/readyz' || url === '/favicon.ico';
}

interface SessionRow {
  sid: string; expires_at: Date; last_seen_at: Date; id: number; username: string; display_name: string; email: string;
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
  select s.id as sid, s.expires_at, s.last_seen_at, u.id, u.username, u.display_name, u.email, u.role, u.must_change_password,
    exists (select 1 from user_totp t where t.user_id = u.id and t.enabled_at is not null) as has_2fa${withLeadVersion ? LEAD_VERSION : sql``}
  from sessions s join users u on u.id = s.user_id
  where s.id = ${id} and s.expires_at > now() and s.last_seen_at > now() - make_interval(mins => ${idleMinutes})
    and u.is_active and (u.locked_until is null or u.locked_until <= now())`;

export function registerSessions(app: FastifyInstance, stateChange: StateChangeHooks): void {
  const { sessionIdleMinutes, adminTwoFactorRequired } = app.config.security;
  app.decorateRequest('user', null);
  app.decorateRequest('sessionId', null);
  app.decorateRequest('leadVersion', null);

  const cache = app.config.sessionCache && app.database.listenerClient ? startSessionCache(app, app.database.listenerClient) : null;
  app.decorate('sessionCache', cache);

  const signIn = (request: FastifyRequest, s: CachedSession) => {
    request.sessionId = s.sid;
    request.user = { ...s.user };
    if (adminTwoFactorRequired && s.user.role === 'admin' && !s.hasTwoFactor) enrolmentPending.add(request);
  };

  // Written with `done`: a request without a session, or with one from memory, is answered without a
  // promise or a turn of the event loop; only a database lookup waits.
  app.addHook('onRequest', (request, reply, done) => {
    if (isStaticPath(request.url)) return done();
    const token = request.cookies[SESSION_COOKIE];
    if (!token) return done();
    const id = tokenHashes.get(token, () => hashToken(token));
    const config = request.routeOptions.config;
    const withLeadVersion = config.leadVersion === true;
    const cached = cache !== null && config.sessionCache === true && (request.method === 'GET' || request.method === 'HEAD')
      && request.cookies[FRESH_COOKIE] === undefined;
    if (cached) {
      const hit = cache.state.get(id);
      const now = Date.now();
      // Expired, or due for its last-use update: the database decides (and records the use).
      if (hit && hit.expiresAt > now && now - hit.lastSeenAt < TOUCH_EVERY_MS) {
        signIn(request, hit);
        if (withLeadVersion) request.leadVersion = cache.state.leadVersion(hit.user);
        return done();
      }
    }
    lookUp(request, reply, id, withLeadVersion, cached).then(() => done(), done);
  });

  const lookUp = async (request: FastifyRequest, reply: FastifyReply, id: string, withLeadVersion: boolean, cached: boolean) => {
    const epoch = cache?.state.epoch() ?? 0;
    const row = (await sessionLookup(id, sessionIdleMinutes, withLeadVersion).execute(app.db)).rows[0];
    if (!row) {
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return;
    }
    const session: CachedSession = {
      sid: row.sid,
      user: {
        id: row.id, username: row.username, displayName: row.display_name, email: row.email, role: row.role,
        mustChangePassword: row.must_change_password,
      },
      hasTwoFactor: row.has_2fa,
      expiresAt: new Date(row.expires_at).getTime(),
      lastSeenAt: new Date(row.last_seen_at).getTime(),
    };
    signIn(request, session);
    if (withLeadVersion) request.leadVersion = Number(row.lead_version ?? 0);
    if (Date.now() - session.lastSeenAt > TOUCH_EVERY_MS) {
      await app.db.updateTable('sessions').set({ last_seen_at: sql`now()` }).where('id', '=', row.sid).execute();
      session.lastSeenAt = Date.now();
    }
    if (cached) cache!.state.put(session, epoch);
  };

  // A state change has been committed when this runs (the request transaction's commit is the state-change
  // hook added before this one). This instance answers from memory again only once it has heard of it; and the user's
  // next reads skip the in-memory sessions for a few seconds, longer than another instance may lag
  // behind: the page after "saved" shows what was saved, whichever instance serves it (decision 023).
  if (cache) {
    stateChange.onSend.push(async (request, reply, payload) => {
      if (SAFE_METHODS.has(request.method)) return payload;
      // Only a signed-in user's (or an API key's) request changes what dashboards show; an anonymous one
      // (a login attempt) changes at most a user row, which the database notifies.
      if (request.user || request.apiKey) cache.listener.wrote();
      if (request.sessionId || request.cookies[SESSION_COOKIE]) {
        reply.setCookie(FRESH_COOKIE, '1', { path: '/', httpOnly: true, sameSite: 'lax', secure: app.config.isProduction, maxAge: FRESH_SECONDS });
      }
      return payload;
    });
  }

  // Uploads are read into memory before the route's guards run: refuse them from anyone not signed in
  // before a single byte of the body is read.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!request.user && (request.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/')) return done(new Unauthorized());
    done();
  });

  // An administrator without two-factor sign-in (when required) reaches only the enrolment pages, once the
  // temporary password has been changed (that guard comes first).
  app.addHook('preHandler', (request, reply, done) => {
    if (!request.user || request.user.mustChangePassword || !enrolmentPending.has(request)) return done();
    const cfg = request.routeOptions.config;
    if (cfg.public || cfg.allowDuringTwoFactorEnrolment) return done();
    if (request.method === 'GET') {
      reply.redirect(TWO_FACTOR_ENROL_PATH);
      return;
    }
    done(new Forbidden());
  });

}

/** The in-memory sessions (decision 023): listening from now until the app closes. */
function startSessionCache(app: FastifyInstance, connect: () => import('pg').Client): { state: SessionCache; listener: SessionCacheListener } {
  const state = new SessionCache();
  const listener = new SessionCacheListener(state, connect, app.log);
  listener.start();
  app.addHook('onClose', async () => listener.stop());
  return { state, listener };
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
