// The sessions a web instance has read, and every agent's lead version, kept in memory and told by
// PostgreSQL what no longer holds (decision 023). Only reads that opt in use it (route config
// `sessionCache`: the dashboard); everything else, and every state change, reads the session from the
// database as before.
//
// Why it is safe to answer from memory:
// - The database notifies every instance at commit of each change that could make a kept session or
//   version wrong (migrations/0016): a user changed or removed, a session ended, two-factor changed, a
//   lead version bumped.
// - PostgreSQL delivers notifications in commit order. Each instance sends itself a heartbeat every
//   second on the same channel; hearing one back proves it has heard everything committed before that
//   heartbeat was sent. The cache answers only while a heartbeat sent in the last STALE_MS was heard
//   (`live`): a lost, slow or silent connection makes every request read the database again, and a new
//   connection starts from an empty cache.
// - A session read from the database is kept only if no user was invalidated while it was being read
//   (`epoch`), so a lookup racing a deactivation never stores the older answer.
// - The user's own writes (another instance, or this one, before the notice arrives): every state change
//   answers with a short-lived cookie (FRESH_COOKIE) that makes the next requests read the database,
//   for longer than STALE_MS — so the page after "saved" shows what was saved.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import type { CurrentUser } from '../views/context.ts';

export const CACHE_CHANNEL = 'propart_cache';
/** Set on every answer to a state change: for its lifetime the user's reads skip this cache. */
export const FRESH_COOKIE = 'propart_fresh';
export const FRESH_SECONDS = 5;
const HEARTBEAT_MS = 1000;
/** The cache answers only while a heartbeat sent at most this long ago has come back (< FRESH_SECONDS). */
const STALE_MS = 3000;
/** A connection whose heartbeats stay unanswered this long is given up and opened again. */
const SILENT_MS = 10_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

export interface CachedSession {
  sid: string;
  user: CurrentUser;
  hasTwoFactor: boolean;
  /** ms since the epoch: the session's absolute expiry and its last recorded use. */
  expiresAt: number;
  lastSeenAt: number;
}

/** The cache's state: what is kept and when it may answer. No I/O (SessionCacheListener feeds it). */
export class SessionCache {
  private readonly sessions = new Map<string, CachedSession>();
  private readonly sidsByUser = new Map<number, Set<string>>();
  private readonly versions = new Map<number, number>();
  private versionSum = 0;
  private versionsLoaded = false;
  private invalidations = 0;
  private heardSentAt = -Infinity;
  private wroteAt = -Infinity;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(maxSessions = 10_000, now: () => number = () => performance.now()) {
    this.maxSessions = maxSessions;
    this.now = now;
  }

  /**
   * Everything committed up to STALE_MS ago — and everything this instance committed — has been heard,
   * and the versions are loaded.
   */
  live(): boolean {
    return this.versionsLoaded && this.now() - this.heardSentAt <= STALE_MS && this.heardSentAt >= this.wroteAt;
  }

  /**
   * This instance has just committed a change: answer nothing from memory until a heartbeat sent after it
   * is heard (about a round trip), so a change made here is seen at once by every user of this instance.
   */
  wrote(): void {
    this.wroteAt = this.now();
  }

  /** Changes whenever a user is invalidated: take it before a database lookup, hand it to put(). */
  epoch(): number {
    return this.invalidations;
  }

  get(sid: string): CachedSession | undefined {
    return this.live() ? this.sessions.get(sid) : undefined;
  }

  /** Keeps a session read from the database — unless a user was invalidated since `epoch` was taken. */
  put(session: CachedSession, epoch: number): void {
    if (epoch !== this.invalidations || !this.live()) return;
    if (this.sessions.size >= this.maxSessions) this.forgetSessions();
    this.sessions.set(session.sid, session);
    let sids = this.sidsByUser.get(session.user.id);
    if (!sids) this.sidsByUser.set(session.user.id, (sids = new Set()));
    sids.add(session.sid);
  }

  /** What the database's lead version (migrations/0012) is for this user: an agent's own, an admin's sum. */
  leadVersion(user: Pick<CurrentUser, 'id' | 'role'>): number {
    return user.role === 'admin' ? this.versionSum : (this.versions.get(user.id) ?? 0);
  }

  /** A notification from migrations/0016's triggers. Unknown ones forget everything (safe). */
  heard(payload: string): void {
    const [kind, a, b] = payload.split(':');
    if (kind === 'v' && a && b) {
      this.setVersion(Number(a), Number(b));
    } else if (kind === 'u' && a === '*') {
      this.forgetSessions();
    } else if (kind === 'u' && a && /^\d+$/.test(a)) {
      this.invalidations++;
      const id = Number(a);
      for (const sid of this.sidsByUser.get(id) ?? []) this.sessions.delete(sid);
      this.sidsByUser.delete(id);
    } else {
      this.forgetSessions();
    }
  }

  loadVersions(rows: readonly { agent_id: number; version: number }[]): void {
    for (const r of rows) this.setVersion(Number(r.agent_id), Number(r.version));
    this.versionsLoaded = true;
  }

  /** A heartbeat sent at `sentAt` (this clock) came back. */
  heartbeatHeard(sentAt: number): void {
    if (sentAt > this.heardSentAt) this.heardSentAt = sentAt;
  }

  /** The connection is gone: nothing kept can be trusted until a new one has caught up. */
  reset(): void {
    this.forgetSessions();
    this.versions.clear();
    this.versionSum = 0;
    this.versionsLoaded = false;
    this.heardSentAt = -Infinity;
  }

  get size(): number {
    return this.sessions.size;
  }

  private forgetSessions(): void {
    this.invalidations++;
    this.sessions.clear();
    this.sidsByUser.clear();
  }

  // Versions only grow; notices may repeat or arrive before the initial load, so the larger one wins.
  private setVersion(agentId: number, version: number): void {
    if (!Number.isFinite(agentId) || !Number.isFinite(version)) return;
    const old = this.versions.get(agentId) ?? 0;
    if (version <= old) return;
    this.versions.set(agentId, version);
    this.versionSum += version - old;
  }
}

/** Keeps one connection listening on CACHE_CHANNEL for a SessionCache, with heartbeats; reconnects. */
export class SessionCacheListener {
  private readonly cache: SessionCache;
  private readonly connect: () => pg.Client;
  private readonly log: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  private readonly instance = randomUUID();
  private client: pg.Client | null = null;
  private connecting = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = RECONNECT_MIN_MS;
  private seq = 0;
  /** Heartbeats sent and not yet heard: sequence number → send time. */
  private readonly pending = new Map<number, number>();
  private readonly waiters: { seq: number; resolve: () => void }[] = [];
  private lostReported = false;
  /** Connections already given up (a client reports its end more than once: error, then end). */
  private readonly given = new WeakSet<pg.Client>();

  constructor(cache: SessionCache, connect: () => pg.Client, log: Pick<FastifyBaseLogger, 'info' | 'warn'>) {
    this.cache = cache;
    this.connect = connect;
    this.log = log;
  }

  start(): void {
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.timer.unref();
    void this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    if (client) this.given.add(client);
    this.dropClient();
    await client?.end().catch(() => {});
  }

  /**
   * Resolves once everything committed before the call has been heard (a heartbeat sent now came back):
   * for tests and tools that change the database and then read through the cache at once.
   */
  sync(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error('the session cache did not hear its heartbeat')), timeoutMs);
      const seq = this.beat();
      if (seq === null) {
        clearTimeout(timeout);
        reject(new Error('the session cache is not connected'));
        return;
      }
      this.waiters.push({ seq, resolve: () => { clearTimeout(timeout); resolve(); } });
    });
  }

  private async open(): Promise<void> {
    if (this.stopped || this.client || this.connecting) return;
    this.connecting = true;
    const client = this.connect();
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (this.client === client && msg.channel === CACHE_CHANNEL) this.notified(msg.payload ?? '');
    });
    try {
      await client.connect();
      if (this.stopped || this.given.has(client)) {
        this.connecting = false;
        void client.end().catch(() => {});
        return;
      }
      this.client = client;
      await client.query(`listen ${CACHE_CHANNEL}`);
      // Read after listening: a change committed in between is both in the rows and notified (the larger wins).
      const { rows } = await client.query<{ agent_id: number; version: number }>('select agent_id, version from lead_versions');
      if (this.client !== client) return;
      this.cache.loadVersions(rows);
      this.connecting = false;
      this.retryMs = RECONNECT_MIN_MS;
      if (this.lostReported) this.log.info('session cache listening again');
      this.lostReported = false;
      this.beat();
    } catch (err) {
      this.connecting = false;
      this.lost(client, err);
    }
  }

  private lost(client: pg.Client, err?: unknown): void {
    if (this.given.has(client)) return;
    this.given.add(client);
    if (this.client !== null && this.client !== client) {
      // An older connection ending after a newer one took over: nothing to do but close it.
      void client.end().catch(() => {});
      return;
    }
    this.connecting = false;
    this.dropClient();
    void client.end().catch(() => {});
    if (this.stopped) return;
    if (!this.lostReported) {
      this.log.warn({ err: err instanceof Error ? { message: err.message } : undefined }, 'session cache not listening: dashboards read sessions from the database until it is back');
      this.lostReported = true;
    }
    this.retryTimer = setTimeout(() => void this.open(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }

  private dropClient(): void {
    this.client = null;
    this.cache.reset();
    this.pending.clear();
  }

  /** This instance committed a change: the cache waits for a heartbeat sent now (SessionCache.wrote). */
  wrote(): void {
    this.cache.wrote();
    this.beat();
  }

  /** Sends a heartbeat; returns its number, or null when not connected. */
  private beat(): number | null {
    const client = this.client;
    if (!client || this.connecting) return null;
    const now = performance.now();
    const oldest = this.pending.values().next().value;
    if (oldest !== undefined && now - oldest > SILENT_MS) {
      this.lost(client, new Error(`no heartbeat heard for ${SILENT_MS} ms`));
      return null;
    }
    const seq = ++this.seq;
    this.pending.set(seq, now);
    client.query('select pg_notify($1, $2)', [CACHE_CHANNEL, `t:${this.instance}:${seq}`]).catch((err: unknown) => this.lost(client, err));
    return seq;
  }

  private notified(payload: string): void {
    if (!payload.startsWith('t:')) {
      this.cache.heard(payload);
      return;
    }
    const [, instance, n] = payload.split(':');
    if (instance !== this.instance) return;
    const seq = Number(n);
    const sentAt = this.pending.get(seq);
    if (sentAt !== undefined) this.cache.heartbeatHeard(sentAt);
    for (const s of this.pending.keys()) if (s <= seq) this.pending.delete(s);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.seq <= seq) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
