// Several real instances of the app for the multi-instance tests and the fault drills: web servers
// (`node --import tsx src/server.ts`) and sync workers (`src/worker.ts`) as child processes on loopback,
// a PostgreSQL server (TEST_DATABASE_URL or a throw-away cluster), a Redis server that can be stopped and
// started again on the same port, and a small HTTP "browser" that opens a fresh connection per request
// (so a refused connection really means the port is closed) and can send from any 127.x.y.z address.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createPgCluster, findPgBinDir, freePort, type PgCluster } from './pg-cluster.ts';
import { spawnNode, type TestProcess, waitFor } from './processes.ts';
import { findRedisServer } from './redis.ts';

/** One production secret shared by every instance (cookies signed on one are read on another). */
export const SHARED_SECRET = randomBytes(32).toString('hex');

// ---------------------------------------------------------------------------------------------------
// What the machine has.

/** Why a suite needing PostgreSQL (server URL or binaries) and Redis cannot run, or false. */
export function missingServices(opts: { ownCluster?: boolean; redis?: boolean }): string | false {
  const pgOk = opts.ownCluster ? !!findPgBinDir() : !!process.env.TEST_DATABASE_URL || !!findPgBinDir();
  if (!pgOk) {
    return opts.ownCluster
      ? 'PostgreSQL server binaries not found (apt-get install postgresql, or PG_BIN_DIR): the drills stop and start their own server'
      : 'no PostgreSQL: set TEST_DATABASE_URL (export TEST_DATABASE_URL=$(scripts/test-postgres.sh start)) or install the server binaries';
  }
  if (opts.redis !== false && !findRedisServer()) return 'redis-server is not installed (apt-get install redis-server)';
  return false;
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL: an empty database per scenario, on TEST_DATABASE_URL's server or on our own cluster.

export interface PostgresServer {
  /** Our own cluster (drills stop and start it); null on TEST_DATABASE_URL's server. */
  cluster: PgCluster | null;
  /** A new empty database (no migrations: the instances apply them at start-up). */
  createDatabase(): Promise<string>;
  /** Drops the databases made here and stops our cluster. */
  close(): Promise<void>;
}

export async function startPostgres(opts: { ownCluster?: boolean } = {}): Promise<PostgresServer> {
  const cluster = opts.ownCluster || !process.env.TEST_DATABASE_URL ? await createPgCluster() : null;
  const adminUrl = cluster ? cluster.url('postgres') : process.env.TEST_DATABASE_URL!;
  const made: string[] = [];
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
    c.on('error', () => {});
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  };
  return {
    cluster,
    async createDatabase() {
      const name = `propart_mi_${randomBytes(5).toString('hex')}`;
      await admin((c) => c.query(`create database ${name}`));
      made.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      if (cluster) {
        await cluster.destroy();
        return;
      }
      for (const name of made) await admin((c) => c.query(`drop database if exists ${name} with (force)`)).catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Redis that can be stopped and started again on the same port (a restart loses its data, like a
// Redis without persistence).

export interface RestartableRedis {
  readonly port: number;
  readonly url: string;
  isRunning(): boolean;
  start(): Promise<void>;
  /** SIGTERM and wait (SIGKILL after 3 s). */
  stop(): Promise<void>;
  /** Clients connected right now, other than the ones asking. */
  clientCount(): Promise<number>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

const redisChildren = new Set<ChildProcess>();
let redisHook = false;

export async function startRestartableRedis(): Promise<RestartableRedis> {
  const bin = findRedisServer();
  if (!bin) throw new Error('redis-server not found');
  if (!redisHook) {
    redisHook = true;
    process.on('exit', () => { for (const c of redisChildren) c.kill('SIGKILL'); });
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'propart-redis-drill-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let out = '';

  const probe = async <T>(fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500, enableOfflineQueue: false });
    r.on('error', () => {});
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };

  const server: RestartableRedis = {
    port, url,
    isRunning: () => child !== null,
    async start() {
      if (child) return;
      out = '';
      const c = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      redisChildren.add(c);
      c.stdout!.on('data', (b: Buffer) => { out += b.toString('utf8'); });
      c.stderr!.on('data', (b: Buffer) => { out += b.toString('utf8'); });
      exited = new Promise<void>((resolve) => c.on('exit', () => {
        redisChildren.delete(c);
        if (child === c) child = null;
        resolve();
      }));
      await waitFor(`redis-server on ${url}`, async () => {
        if (child !== c) throw new Error(`redis-server exited at start:\n${out}`);
        try {
          return (await probe((r) => r.ping())) === 'PONG';
        } catch {
          return false;
        }
      }, { timeoutMs: 10_000, intervalMs: 50 });
    },
    async stop() {
      const c = child;
      if (!c) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
    async clientCount() {
      return probe(async (r) => (await r.client('LIST') as string).split('\n').filter((l) => l.trim()).length - 1);
    },
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

// ---------------------------------------------------------------------------------------------------
// The app's processes.

export interface LogLine { level: 'debug' | 'info' | 'warn' | 'error' | 'fatal'; msg: string; time: string; [k: string]: unknown }

export interface Instance {
  readonly name: string;
  readonly kind: 'web' | 'worker';
  readonly proc: TestProcess;
  /** Web only: http://127.0.0.1:PORT */
  readonly base: string;
  readonly port: number;
  readonly env: Record<string, string>;
  /** The JSON lines of its log file (LOG_DIR/propart.log) so far. */
  log(): LogLine[];
  /** Output and log tail for failure messages. */
  describe(): string;
}

export interface InstanceOptions {
  /** Folder for DATA_DIR and LOG_DIR of every instance (one sub-folder each). */
  dir: string;
  databaseUrl: string;
  redisUrl?: string;
  env?: Record<string, string>;
}

function baseEnv(name: string, o: InstanceOptions): Record<string, string> {
  return {
    NODE_ENV: 'production', SECRET_KEY: SHARED_SECRET, DATABASE_URL: o.databaseUrl, REDIS_URL: o.redisUrl ?? '',
    DATA_DIR: path.join(o.dir, name, 'data'), LOG_DIR: path.join(o.dir, name, 'logs'), LOG_TO_STDOUT: 'true', LOG_LEVEL: 'info',
    // Speed only: cost-4 hashes for the seeded users and the login checks.
    BCRYPT_COST: '4', DB_POOL_MAX: '5',
    ...o.env,
  };
}

function makeInstance(name: string, kind: 'web' | 'worker', proc: TestProcess, port: number, env: Record<string, string>): Instance {
  const logFile = path.join(env.LOG_DIR!, 'propart.log');
  const log = (): LogLine[] => {
    if (!existsSync(logFile)) return [];
    const lines: LogLine[] = [];
    for (const l of readFileSync(logFile, 'utf8').split('\n')) {
      if (!l.trim()) continue;
      try { lines.push(JSON.parse(l) as LogLine); } catch { /* a line being written */ }
    }
    return lines;
  };
  return {
    name, kind, proc, port, env, base: `http://127.0.0.1:${port}`, log,
    describe: () => `--- ${name} (pid ${proc.pid}, exit ${JSON.stringify(proc.exit())}):\n${proc.output().split("\n").slice(-80).join('\n')}`,
  };
}

/** Starts `src/server.ts` on a free loopback port (not waiting: see waitWebReady). */
export async function spawnWeb(name: string, o: InstanceOptions): Promise<Instance> {
  const port = await freePort();
  const env = { ...baseEnv(name, o), PORT: String(port), HOST: '127.0.0.1', SYNC_WORKER: 'off', ...o.env };
  return makeInstance(name, 'web', spawnNode(name, 'src/server.ts', { env }), port, env);
}

/** Starts `src/worker.ts` (not waiting: see waitWorkerReady). */
export function spawnWorker(name: string, o: InstanceOptions): Instance {
  const env = baseEnv(name, o);
  return makeInstance(name, 'worker', spawnNode(name, 'src/worker.ts', { env }), 0, env);
}

export async function waitWebReady(i: Instance, timeoutMs = 45_000): Promise<void> {
  await waitFor(`${i.name} to listen`, async () => {
    if (i.proc.exit()) throw new Error(`${i.name} exited at start ${JSON.stringify(i.proc.exit())}:\n${i.proc.output()}`);
    if (!i.proc.output().includes('ProPart Hub listening')) return false;
    const res = await send(`${i.base}/readyz`, { timeoutMs: 5000 }).catch(() => null);
    return res?.status === 200;
  }, { timeoutMs, intervalMs: 100, describe: () => i.describe() });
}

export async function waitWorkerReady(i: Instance, timeoutMs = 45_000): Promise<void> {
  await waitFor(`${i.name} to start`, () => {
    if (i.proc.exit()) throw new Error(`${i.name} exited at start ${JSON.stringify(i.proc.exit())}:\n${i.proc.output()}`);
    return i.proc.output().includes('HubSpot sync worker started');
  }, { timeoutMs, intervalMs: 100, describe: () => i.describe() });
}

// ---------------------------------------------------------------------------------------------------
// HTTP.

export interface HttpResult { status: number; headers: IncomingHttpHeaders; body: string; ms: number; startedAt: number; endedAt: number }

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The client's source address (any 127.x.y.z): another "client IP" for the rate limits. */
  localAddress?: string;
  /** Gives up (rejects with code 'ETIMEOUT_TEST') after this long. */
  timeoutMs?: number;
}

/** One request on a fresh connection (Connection: close); rejects on connection errors and timeouts. */
export function send(url: string, o: SendOptions = {}): Promise<HttpResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: o.method ?? 'GET', agent: false, localAddress: o.localAddress,
      headers: { connection: 'close', ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}), ...o.headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0, startedAt, endedAt: Date.now() });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`no answer from ${url} within ${o.timeoutMs} ms`), { code: 'ETIMEOUT_TEST' }));
    }, o.timeoutMs ?? 30_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/** Whether a new TCP connection to the port is refused (the server stopped listening). */
export function connectionRefused(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (refused: boolean) => { clearTimeout(timer); s.destroy(); resolve(refused); };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.on('connect', () => done(false));
    s.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

/**
 * A browser: a cookie jar (Secure cookies are kept although the test speaks plain HTTP on loopback),
 * the CSRF token of the last HTML page, one source address. The same jar works against any instance.
 */
export class Browser {
  readonly jar = new Map<string, string>();
  csrf = '';
  readonly ip: string;
  readonly timeoutMs: number;
  constructor(opts: { ip?: string; timeoutMs?: number } = {}) {
    this.ip = opts.ip ?? '127.0.0.1';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private absorb(res: HttpResult): HttpResult {
    const set = res.headers['set-cookie'] ?? [];
    for (const c of set) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.trim().split('=');
        if (k!.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k!.toLowerCase() === 'expires') return Date.parse(v ?? '') < Date.now();
        return false;
      });
      if (!value || expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    if (String(res.headers['content-type'] ?? '').includes('text/html')) {
      const m = /<meta name="csrf-token" content="([^"]*)"/.exec(res.body);
      if (m?.[1]) this.csrf = m[1];
    }
    return res;
  }

  private cookieHeader(): Record<string, string> {
    return this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  async get(base: string, p: string, o: { timeoutMs?: number } = {}): Promise<HttpResult> {
    return this.absorb(await send(`${base}${p}`, { localAddress: this.ip, timeoutMs: o.timeoutMs ?? this.timeoutMs, headers: { accept: 'text/html', ...this.cookieHeader() } }));
  }

  /** A form post with the CSRF token of the last page. */
  async post(base: string, p: string, form: Record<string, string>, o: { timeoutMs?: number } = {}): Promise<HttpResult> {
    const body = new URLSearchParams({ _csrf: this.csrf, ...form }).toString();
    return this.absorb(await send(`${base}${p}`, {
      method: 'POST', body, localAddress: this.ip, timeoutMs: o.timeoutMs ?? this.timeoutMs,
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', ...this.cookieHeader() },
    }));
  }

  /** GET /login for the CSRF cookie and token, then the form; returns the POST's answer. */
  async login(base: string, username: string, password: string, o: { timeoutMs?: number } = {}): Promise<HttpResult> {
    if (!this.csrf) await this.get(base, '/login', o);
    return this.post(base, '/login', { username, password }, o);
  }
}

/** A lead form that passes validation; `n` makes the phone, e-mail and name unique. */
export function leadForm(n: number, tag: string): Record<string, string> {
  return { deal_name: `Дріл ${tag} ${n}`, phone: `+38067${String(1_000_000 + n)}`, email: `${tag}.${n}@drill.example`, budget: '200к–500к' };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------
// HubSpot side.

export interface FakeLike {
  state: {
    live(type: 'contacts' | 'deals' | 'notes'): { id: string; properties: Record<string, string> }[];
    associations: Map<string, { fromType: string; fromId: string; toType: string; toId: string }>;
  };
}

/**
 * Every lead is in HubSpot exactly once: one deal per propart_lead_id and no other deal, one contact
 * per e-mail, the deal associated to that contact, and the local row holds those ids. Returns problems
 * (empty when all is well) so the caller's assertion message lists them.
 */
export function exactlyOnceProblems(fake: FakeLike, leads: { id: number; email: string | null; hubspot_deal_id: string | null; hubspot_contact_id: string | null }[]): string[] {
  const problems: string[] = [];
  const deals = fake.state.live('deals');
  const contacts = fake.state.live('contacts');
  const byLead = new Map<string, string[]>();
  for (const d of deals) byLead.set(d.properties.propart_lead_id ?? '', [...(byLead.get(d.properties.propart_lead_id ?? '') ?? []), d.id]);
  const byEmail = new Map<string, string[]>();
  for (const c of contacts) if (c.properties.email) byEmail.set(c.properties.email.toLowerCase(), [...(byEmail.get(c.properties.email.toLowerCase()) ?? []), c.id]);
  const edges = [...fake.state.associations.values()];
  if (deals.length !== leads.length) problems.push(`${deals.length} deals in HubSpot for ${leads.length} leads`);
  for (const l of leads) {
    const d = byLead.get(String(l.id)) ?? [];
    if (d.length !== 1) { problems.push(`lead ${l.id}: ${d.length} deals`); continue; }
    if (l.hubspot_deal_id !== d[0]) problems.push(`lead ${l.id}: local deal id ${l.hubspot_deal_id} ≠ ${d[0]}`);
    if (!l.email) continue;
    const c = byEmail.get(l.email.toLowerCase()) ?? [];
    if (c.length !== 1) { problems.push(`lead ${l.id}: ${c.length} contacts for ${l.email}`); continue; }
    if (l.hubspot_contact_id !== c[0]) problems.push(`lead ${l.id}: local contact id ${l.hubspot_contact_id} ≠ ${c[0]}`);
    const to = edges.filter((e) => e.fromType === 'deals' && e.fromId === d[0] && e.toType === 'contacts').map((e) => e.toId);
    if (to.length !== 1 || to[0] !== c[0]) problems.push(`lead ${l.id}: deal associated to ${JSON.stringify(to)}, not ${c[0]}`);
  }
  return problems;
}
