// bench/sync — the HubSpot sync engine draining a bulk import against the fake HubSpot, beside the
// one-call-per-object approach measured in the same run.
//
//   npm run bench:sync
//
// Seeds 10,000 new leads (50 agents, every lead with its own email) and 10,000 comments into a fresh
// database, with a pending outbox row for each (sync_items: upsert, pending), starts the fake HubSpot in this
// process (its own HTTP server on 127.0.0.1; 100 requests per rolling 10 s like a private app, 50 ms added
// to every answer) and drains the outbox with the real engine (startSyncEngine, default configuration: our
// limiter at 90 per 10 s, rounds of 1000 items in batches of 100, 4 calls in flight) until every item is
// synced. Then, against a second fake with the same settings and through the same gateway and limiter, the
// "one call per object" loop of lib/sync-baseline.ts syncs a sample (BENCH_BASELINE_OBJECTS, 300) of the
// same leads and comments; its figures for all 20,000 objects are projected from the sample's measured
// steady rate, and labelled so.
//
// It prints, for both: objects synced, API calls, calls per synced object (a lead or a comment), wall time,
// the limit-bound minimum (calls ÷ the limiter's rate, 9 per second), wall ÷ minimum, 429s (the fake's log
// and the gateway's count) and whether a 429 reached the app's log at level error; then whether the targets
// are met: ≤ 0.02 calls per object, wall within 15 % of the minimum, no 429 logged as an error. After the
// table: where the engine's calls and wall time went (per endpoint, limiter wait / HTTP / database / rest,
// calls per 10-second slice), the correctness checks (10,000 contacts, deals and notes in the fake, each
// object once, each association once and to the right record, every outbox row synced) and the app's
// warn/error log lines. It is a measurement: it exits 0 when targets are missed, and 1 when the sync was
// incorrect (a missing or duplicated object, an item not synced) or the run crashed.
//
// Reading the minimum: our limiter admits 90 requests at once and then one per expiring slot, so a run that
// keeps the budget busy ends about (calls − 90) ÷ 9 s after it starts plus the last calls' own time — wall ÷
// minimum slightly under 1 is possible and means "as fast as the budget allows".
//
// Environment:
//   BENCH_DATABASE_URL   a PostgreSQL server to use (a fresh database is created in it and dropped after);
//                        unset: a throwaway server is started with scripts/test-postgres.sh and stopped
//                        (one already running on that port, e.g. another run's, is used and left running);
//                        if that cannot start (no PostgreSQL binaries), PGlite in memory (slower, says so)
//   BENCH_PG_PORT        port of that throwaway server (55475);  BENCH_PGLITE=1 uses PGlite directly
//   BENCH_LEADS / BENCH_COMMENTS / BENCH_AGENTS   the data set (10000 / 10000 / 50)
//   BENCH_LATENCY_MS     latency the fake adds to every answer (50);  BENCH_FAKE_LIMIT its 10 s limit (100)
//   BENCH_BASELINE_OBJECTS  synced objects in the one-call-per-object sample (300, half leads; 0 skips it)
//   BENCH_BASELINE_ASSOCIATIONS  separate (default: an association is its own request, as the original did)
//                        or inline (in the create body: the best a per-object sync can do)
//   HUBSPOT_RATE_LIMIT / HUBSPOT_RATE_WINDOW_MS / HUBSPOT_BATCH_SIZE / SYNC_ROUND_SIZE / SYNC_CONCURRENCY
//                        passed to the app's configuration (defaults 90 / 10000 / 100 / 1000 / 4 — the ones the
//                        targets are about)
//   BENCH_KEEP=1         keep the database, the throwaway server and the log folder (prints where)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance as perfHooks } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Kysely, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { type Config, loadConfig } from '../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { createGateway, loadStages, startSyncEngine } from '../src/hubspot/engine.ts';
import type { HubSpotGateway } from '../src/hubspot/gateway.ts';
import type { RateLimiter } from '../src/hubspot/limiter.ts';
import { createLogger, LOG_FILE } from '../src/platform/logging.ts';
import { type FakeHubSpot, startFakeHubSpot } from '../test/fake-hubspot/server.ts';
import { type AssociationMode, runBaseline } from './lib/sync-baseline.ts';
import { seedSync } from './lib/sync-seed.ts';
import { cleanupRegistry, runBench } from './lib/cleanup.ts';
import { createBenchDatabase } from './lib/database.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const int = (name: string, def: number, min = 1) => {
  const v = Number(env[name] ?? def);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return v;
};
const LEADS = int('BENCH_LEADS', 10_000);
const COMMENTS = int('BENCH_COMMENTS', 10_000, 0);
const AGENTS = int('BENCH_AGENTS', 50);
const LATENCY_MS = int('BENCH_LATENCY_MS', 50, 0);
const FAKE_LIMIT = int('BENCH_FAKE_LIMIT', 100);
const BASELINE_OBJECTS = int('BENCH_BASELINE_OBJECTS', 300, 0);
const BASELINE_ASSOCIATIONS = (env.BENCH_BASELINE_ASSOCIATIONS ?? 'separate') as AssociationMode;
if (!['separate', 'inline'].includes(BASELINE_ASSOCIATIONS)) throw new Error('BENCH_BASELINE_ASSOCIATIONS must be separate or inline');
const PG_PORT = int('BENCH_PG_PORT', 55475);
const FORCE_PGLITE = env.BENCH_PGLITE === '1';
const KEEP = env.BENCH_KEEP === '1';
const FAKE_WINDOW_MS = 10_000;
const TARGET_CALLS_PER_OBJECT = 0.02;
const TARGET_WALL_RATIO = 1.15;
const DRAIN_TIMEOUT_MS = 60 * 60_000;

const say = (s = '') => process.stdout.write(`${s}\n`);
const step = (s: string) => process.stderr.write(`bench:sync: ${s}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const sec = (ms: number) => fmt(ms / 1000, 1);

// ---- cleanup: everything started is registered here and undone in reverse order, also on Ctrl-C ----
const { cleanups, cleanup } = cleanupRegistry(step);

// ---- the database: BENCH_DATABASE_URL, else a throwaway server, else PGlite ----
interface BenchDb { handle: DatabaseHandle; label: string; url?: string }

function startThrowawayPostgres(): string | null {
  const script = path.join(ROOT, 'scripts/test-postgres.sh');
  const pgEnv = { ...env, PG_PORT: String(PG_PORT) };
  let running = false;
  try {
    execFileSync(script, ['status'], { env: pgEnv, stdio: 'ignore' });
    running = true;
  } catch { /* not running: start it */ }
  if (running) {
    // Someone else's (another run on the same port): use it, leave it running.
    step(`a throwaway PostgreSQL is already running on port ${PG_PORT}: using it (our database only is dropped at the end)`);
    return execFileSync(script, ['url'], { env: pgEnv, encoding: 'utf8' }).trim();
  }
  step(`starting a throwaway PostgreSQL on port ${PG_PORT}`);
  let url: string;
  try {
    url = execFileSync(script, ['start'], { env: pgEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch (err) {
    step(`could not start PostgreSQL (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): falling back to PGlite`);
    // A half-started server (initdb done, start failed) is cleaned up too.
    try { execFileSync(script, ['stop'], { env: pgEnv, stdio: ['ignore', 'ignore', 'ignore'] }); } catch { /* nothing there */ }
    return null;
  }
  if (KEEP) step(`keeping the PostgreSQL server: stop it with PG_PORT=${PG_PORT} scripts/test-postgres.sh stop`);
  else cleanups.push({ name: 'PostgreSQL', fn: () => { execFileSync(script, ['stop'], { env: pgEnv, stdio: ['ignore', 'ignore', 'inherit'] }); } });
  return url;
}

function createDatabase(serverUrl: string): Promise<string> {
  return createBenchDatabase(serverUrl, 'propart_bench_sync', { keep: KEEP, step, cleanups });
}

async function openBenchDatabase(config: (url: string | undefined) => Config): Promise<BenchDb> {
  const serverUrl = FORCE_PGLITE ? null : env.BENCH_DATABASE_URL ?? startThrowawayPostgres();
  if (!serverUrl) {
    // The tests' PGlite: cloned from a migrated template, in memory.
    const { createTestDatabase } = await import('../test/helpers/database.ts');
    const tdb = await createTestDatabase('pglite', { statementTimeoutMs: 0 });
    cleanups.push({ name: 'PGlite', fn: () => tdb.close() });
    return { handle: tdb.handle, label: `PGlite in memory (${FORCE_PGLITE ? 'BENCH_PGLITE=1' : 'no PostgreSQL server could be started'}; slower database work)` };
  }
  const url = await createDatabase(serverUrl);
  step('migrating');
  const kdb = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  try {
    await migrateToLatest(kdb);
  } finally {
    await kdb.destroy();
  }
  const cfg = config(url);
  const handle = await openDatabase(cfg.database, pino({ level: 'silent' }));
  cleanups.push({ name: 'database pool', fn: () => handle.close() });
  return {
    handle, url,
    label: `PostgreSQL ${env.BENCH_DATABASE_URL ? '(BENCH_DATABASE_URL)' : `(throwaway server, port ${PG_PORT})`}, pool ${cfg.database.poolMax}`,
  };
}

// ---- instrumentation: where the engine's time goes (no behaviour change) ----
type Interval = [number, number];

/** Counts the database statements and records when each ran (from compile to result, pool wait included). */
class QueryTimer implements KyselyPlugin {
  readonly intervals: Interval[] = [];
  private readonly started = new WeakMap<object, number>();
  get count() { return this.intervals.length; }
  get ms() { return this.intervals.reduce((t, [a, b]) => t + b - a, 0); }
  transformQuery(args: PluginTransformQueryArgs) {
    this.started.set(args.queryId, performance.now());
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs) {
    const s = this.started.get(args.queryId);
    if (s !== undefined) this.intervals.push([s, performance.now()]);
    return args.result;
  }
}

interface GatewayProbe { http: Interval[]; limiter: Interval[]; callStarts: number[] }
const total = (xs: Interval[]) => xs.reduce((t, [a, b]) => t + b - a, 0);

/** Wraps the gateway's limiter and its HTTP send (private members, reached at run time) with timers. */
function probeGateway(gw: HubSpotGateway, origin: () => number): GatewayProbe {
  const probe: GatewayProbe = { http: [], limiter: [], callStarts: [] };
  const inner = gw as unknown as { send: (...a: unknown[]) => Promise<unknown>; opts: { limiter: RateLimiter } };
  const send = inner.send.bind(gw);
  inner.send = async (...a: unknown[]) => {
    const s = performance.now();
    probe.callStarts.push(s - origin());
    try {
      return await send(...a);
    } finally {
      probe.http.push([s, performance.now()]);
    }
  };
  // The gateway asks the limiter with take() (a slot it releases when answered); acquire() before that existed.
  const limiter = inner.opts.limiter as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const name = typeof limiter.take === 'function' ? 'take' : 'acquire';
  const ask = limiter[name]!.bind(limiter);
  limiter[name] = async (...a: unknown[]) => {
    const s = performance.now();
    try {
      return await ask(...a);
    } finally {
      probe.limiter.push([s, performance.now()]);
    }
  };
  return probe;
}

/**
 * Splits [from, to] by what was happening, first match wins: a request in flight, else a wait for the
 * limiter, else a database statement, else anything else (JS, the fake's own work between requests, idle).
 * The parts add up to the wall time even when several requests overlap.
 */
function timeline(from: number, to: number, layers: Interval[][]): number[] {
  const events: [number, number, number][] = [];
  layers.forEach((xs, layer) => { for (const [a, b] of xs) { events.push([Math.max(a, from), layer, 1], [Math.min(b, to), layer, -1]); } });
  events.sort((x, y) => x[0] - y[0]);
  const open = layers.map(() => 0);
  const out = [...layers.map(() => 0), 0];
  let t = from;
  for (const [at, layer, d] of events) {
    if (at > t) {
      const active = open.findIndex((n) => n > 0);
      out[active === -1 ? layers.length : active]! += at - t;
      t = at;
    }
    open[layer]! += d;
  }
  out[layers.length]! += Math.max(0, to - t);
  return out;
}

// ---- fake HubSpot ----
async function startFake(name: string): Promise<FakeHubSpot> {
  const hs = await startFakeHubSpot({ indexingDelayMs: 0, burstMax: FAKE_LIMIT, burstIntervalMs: FAKE_WINDOW_MS });
  if (LATENCY_MS > 0) hs.faults.latency(LATENCY_MS);
  const close = hs.close.bind(hs);
  let closing: Promise<void> | null = null;
  hs.close = () => (closing ??= close());
  cleanups.push({ name, fn: () => hs.close() });
  return hs;
}

/** Groups a request path into an endpoint name (ids replaced). */
const endpoint = (method: string, p: string) => `${method} ${p.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;

function table(headers: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---- the app's log: 429s and anything at error ----
interface LogScan { lines: number; errorLines: number; err429: string[]; warn429: number; counts: Map<string, number> }

function scanLog(logDir: string): LogScan {
  const scan: LogScan = { lines: 0, errorLines: 0, err429: [], warn429: 0, counts: new Map() };
  const file = path.join(logDir, LOG_FILE);
  if (!existsSync(file)) return scan;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    scan.lines++;
    let level = '?';
    let key = line.slice(0, 160);
    try {
      const e = JSON.parse(line) as { level?: string; msg?: string; event?: string };
      level = e.level ?? '?';
      key = `${level}: ${e.event ? `[${e.event}] ` : ''}${e.msg ?? ''}`;
    } catch { /* not JSON: keep the raw start */ }
    const mentions429 = /\b429\b|hubspot_429|rate.?limit/i.test(line);
    if (level === 'error' || level === 'fatal') {
      scan.errorLines++;
      if (mentions429) scan.err429.push(line.slice(0, 300));
    } else if (/hubspot_429/.test(line)) scan.warn429++;
    scan.counts.set(key, (scan.counts.get(key) ?? 0) + 1);
  }
  return scan;
}

async function main(): Promise<number> {
  const started = Date.now();
  const logDir = mkdtempSync(path.join(tmpdir(), 'propart-bench-sync-'));
  if (KEEP) step(`keeping the log folder ${logDir}`);
  else cleanups.push({ name: 'log folder', fn: () => rmSync(logDir, { recursive: true, force: true }) });

  const hs = await startFake('fake HubSpot (engine)');
  const baseEnv = (databaseUrl: string | undefined, fake: FakeHubSpot): NodeJS.ProcessEnv => ({
    NODE_ENV: 'production', SECRET_KEY: randomBytes(32).toString('hex'),
    DATA_DIR: path.join(logDir, 'data'), LOG_DIR: logDir, LOG_LEVEL: 'info', LOG_TO_STDOUT: 'false',
    DATABASE_URL: databaseUrl ?? '',
    HUBSPOT_ACCESS_TOKEN: fake.token, HUBSPOT_BASE_URL: fake.url, SYNC_WORKER: 'off', HUBSPOT_PULL_INTERVAL_SECONDS: '0',
    ...Object.fromEntries(['HUBSPOT_RATE_LIMIT', 'HUBSPOT_RATE_WINDOW_MS', 'HUBSPOT_BATCH_SIZE', 'SYNC_ROUND_SIZE', 'SYNC_CONCURRENCY'].filter((k) => env[k]).map((k) => [k, env[k]])),
  });
  const configFor = (url: string | undefined, fake = hs) => loadConfig(baseEnv(url, fake)).config;

  const bdb = await openBenchDatabase((url) => configFor(url));
  const config = configFor(bdb.url);
  const ratePerSecond = config.hubspot.rateLimit / (config.hubspot.rateWindowMs / 1000);
  const log = createLogger(config.log);
  let logClosed = false;
  const closeLog = async () => { if (!logClosed) { logClosed = true; await log.close(); } };
  cleanups.push({ name: 'log', fn: closeLog });

  step(`seeding ${fmt(LEADS)} leads over ${AGENTS} agents and ${fmt(COMMENTS)} comments, with their outbox rows`);
  const seedStart = performance.now();
  const seeded = await seedSync(bdb.handle.db, { agents: AGENTS, leads: LEADS, comments: COMMENTS });
  const seedMs = performance.now() - seedStart;
  step(`seeded in ${sec(seedMs)} s: ${fmt(seeded.leads)} leads, ${fmt(seeded.comments)} comments, ${fmt(seeded.leadItems + seeded.commentItems)} pending outbox rows`);
  const objects = seeded.leadItems + seeded.commentItems;

  // ---- the engine ----
  const timer = new QueryTimer();
  const db = bdb.handle.db.withPlugin(timer);
  const engine = startSyncEngine({ db, config, log: log.logger, loop: false });
  cleanups.push({ name: 'sync engine', fn: () => engine.stop() });
  let t0 = 0;
  const probe = probeGateway(engine.gateway, () => t0);
  const pendingLeft = async () => Number((await sql<{ n: number }>`select count(*)::int as n from sync_items where status = 'pending'`.execute(bdb.handle.db)).rows[0]!.n);
  const totals = { claimed: 0, synced: 0, failed: 0, deferred: 0, drains: 0, idleMs: 0 };
  step(`draining ${fmt(objects)} outbox rows through the engine (limiter ${config.hubspot.rateLimit}/${config.hubspot.rateWindowMs / 1000} s, rounds of ${config.hubspot.roundSize} in batches of ${config.hubspot.batchSize}, ${config.hubspot.concurrency} in flight); about ${fmt(Math.ceil(objects * 0.016 / ratePerSecond))} s or more`);
  const load0 = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const elu0 = perfHooks.eventLoopUtilization();
  t0 = performance.now();
  for (;;) {
    const r = await engine.drain();
    totals.drains++;
    totals.claimed += r.claimed; totals.synced += r.synced; totals.failed += r.failed; totals.deferred += r.deferred;
    if (await pendingLeft() === 0) break;
    if (performance.now() - t0 > DRAIN_TIMEOUT_MS) throw new Error(`the outbox was not drained within ${DRAIN_TIMEOUT_MS / 60_000} minutes`);
    // Items wait for their next attempt (a deferred comment, a failed batch's backoff): sleep until the first is due.
    const next = await sql<{ ms: number }>`select greatest(0, extract(epoch from min(next_attempt_at) - now()) * 1000)::float8 as ms from sync_items where status = 'pending'`.execute(bdb.handle.db);
    const wait = Math.min(5000, Math.max(10, Number(next.rows[0]?.ms ?? 0)));
    totals.idleMs += wait;
    await new Promise((r) => setTimeout(r, wait));
  }
  const engineWallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const elu = perfHooks.eventLoopUtilization(elu0);
  const load1 = loadavg()[0]!;
  await engine.stop();
  const gw = { ...engine.gateway.stats };
  step(`engine done in ${sec(engineWallMs)} s: ${fmt(gw.calls)} calls`);

  // What the fake saw.
  const reqs = hs.state.requests;
  const fake429 = reqs.filter((r) => r.status === 429).length;
  const fakeMaxWindow = hs.state.maxRequestsInWindow(FAKE_WINDOW_MS, (r) => r.counted);
  const byEndpoint = new Map<string, { calls: number; inputs: number; serverMs: number }>();
  for (const r of reqs) {
    const key = endpoint(r.method, r.path);
    const e = byEndpoint.get(key) ?? { calls: 0, inputs: 0, serverMs: 0 };
    e.calls++;
    e.serverMs += r.durationMs;
    const inputs = (r.body as { inputs?: unknown[] } | undefined)?.inputs;
    e.inputs += Array.isArray(inputs) ? inputs.length : 1;
    byEndpoint.set(key, e);
  }

  // ---- correctness: every object once, every association once and right, every outbox row synced ----
  const checks: { name: string; ok: boolean; detail: string }[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const leadRows = await bdb.handle.db.selectFrom('leads').select(['id', 'email', 'hubspot_deal_id', 'hubspot_contact_id']).execute();
  const commentRows = await bdb.handle.db.selectFrom('comments').select(['id', 'lead_id', 'hubspot_note_id']).execute();
  const dealOfLead = new Map(leadRows.map((l) => [l.id, l.hubspot_deal_id]));
  const deals = hs.state.live('deals');
  const contacts = hs.state.live('contacts');
  const notes = hs.state.live('notes');
  const distinct = (xs: (string | undefined)[]) => new Set(xs.filter((x) => x !== undefined)).size;
  check('deals', deals.length === seeded.leads && distinct(deals.map((d) => d.properties.propart_lead_id)) === seeded.leads,
    `${fmt(deals.length)} in HubSpot, ${fmt(distinct(deals.map((d) => d.properties.propart_lead_id)))} distinct lead ids, ${fmt(seeded.leads)} leads`);
  check('contacts', contacts.length === seeded.leads && distinct(contacts.map((c) => c.properties.email)) === seeded.leads,
    `${fmt(contacts.length)} in HubSpot, ${fmt(distinct(contacts.map((c) => c.properties.email)))} distinct emails`);
  check('notes', notes.length === seeded.comments && distinct(notes.map((n) => n.properties.propart_comment_id)) === seeded.comments,
    `${fmt(notes.length)} in HubSpot, ${fmt(distinct(notes.map((n) => n.properties.propart_comment_id)))} distinct comment ids, ${fmt(seeded.comments)} comments`);
  // Each object pushed once: how often each lead/comment id appears in the upsert inputs.
  const pushes = (pathEnd: string, prop: string) => {
    const n = new Map<string, number>();
    for (const r of reqs) {
      if (!r.path.endsWith(pathEnd) || r.status === 429) continue;
      for (const i of (r.body as { inputs?: { id?: string; properties?: Record<string, string> }[] } | undefined)?.inputs ?? []) {
        const key = i.properties?.[prop] ?? i.id ?? '';
        n.set(key, (n.get(key) ?? 0) + 1);
      }
    }
    return n;
  };
  const dealPushes = pushes('/deals/batch/upsert', 'propart_lead_id');
  const notePushes = pushes('/notes/batch/upsert', 'propart_comment_id');
  check('each lead and comment pushed once', [...dealPushes.values()].every((v) => v === 1) && [...notePushes.values()].every((v) => v === 1)
    && dealPushes.size === seeded.leads && notePushes.size === seeded.comments,
  `deal upsert inputs ${fmt([...dealPushes.values()].reduce((a, b) => a + b, 0))} for ${fmt(dealPushes.size)} leads, note upsert inputs ${fmt([...notePushes.values()].reduce((a, b) => a + b, 0))} for ${fmt(notePushes.size)} comments`);
  const edges = [...hs.state.associations.values()];
  const dealContact = edges.filter((e) => e.fromType === 'deals' && e.toType === 'contacts');
  const contactIdOf = new Map(contacts.map((c) => [c.properties.email, c.id]));
  const leadOfDeal = new Map(deals.map((d) => [d.id, Number(d.properties.propart_lead_id)]));
  const emailOfLead = new Map(leadRows.map((l) => [l.id, l.email?.toLowerCase()]));
  const wrongContact = dealContact.filter((e) => contactIdOf.get(emailOfLead.get(leadOfDeal.get(e.fromId)!)) !== e.toId).length;
  check('deal → contact associations', dealContact.length === seeded.leads && wrongContact === 0 && distinct(dealContact.map((e) => e.fromId)) === seeded.leads,
    `${fmt(dealContact.length)} edges, ${fmt(distinct(dealContact.map((e) => e.fromId)))} deals with one, ${wrongContact} to the wrong contact`);
  const noteDeal = edges.filter((e) => e.fromType === 'notes' && e.toType === 'deals');
  const commentOfNote = new Map(notes.map((n) => [n.id, Number(n.properties.propart_comment_id)]));
  const leadOfComment = new Map(commentRows.map((c) => [c.id, c.lead_id]));
  const wrongDeal = noteDeal.filter((e) => dealOfLead.get(leadOfComment.get(commentOfNote.get(e.fromId)!)!) !== e.toId).length;
  check('note → deal associations', noteDeal.length === seeded.comments && wrongDeal === 0 && distinct(noteDeal.map((e) => e.fromId)) === seeded.comments,
    `${fmt(noteDeal.length)} edges, ${fmt(distinct(noteDeal.map((e) => e.fromId)))} notes with one, ${wrongDeal} on the wrong deal`);
  const status = await sql<{ status: string; n: number }>`select status, count(*)::int as n from sync_items group by status order by status`.execute(bdb.handle.db);
  const synced = status.rows.find((s) => s.status === 'synced')?.n ?? 0;
  check('outbox', synced === objects, status.rows.map((s) => `${s.status} ${fmt(s.n)}`).join(', '));
  const storedDeals = leadRows.filter((l) => l.hubspot_deal_id && l.hubspot_contact_id).length;
  const storedNotes = commentRows.filter((c) => c.hubspot_note_id).length;
  check('HubSpot ids stored', storedDeals === seeded.leads && storedNotes === seeded.comments,
    `${fmt(storedDeals)} leads with deal and contact id, ${fmt(storedNotes)} comments with note id`);
  await hs.close();

  // ---- the baseline: one call per object, a sample, through the same gateway code and limiter settings ----
  let baseline: null | { leads: number; comments: number; calls: number; wallMs: number; fake429: number; gw429: number; ownPace: number; steadyRate: number; ok: boolean; detail: string } = null;
  if (BASELINE_OBJECTS > 0) {
    const hs2 = await startFake('fake HubSpot (baseline)');
    const gw2 = createGateway(configFor(bdb.url, hs2).hubspot, log.logger, null);
    let b0 = 0;
    const probe2 = probeGateway(gw2, () => b0);
    step(`one call per object: a sample of ${BASELINE_OBJECTS} objects (associations ${BASELINE_ASSOCIATIONS}); about ${fmt(BASELINE_OBJECTS * (BASELINE_ASSOCIATIONS === 'separate' ? 2.5 : 1.5) / ratePerSecond)} s`);
    b0 = performance.now();
    const r = await runBaseline(bdb.handle.db, gw2, {
      objects: BASELINE_OBJECTS, associations: BASELINE_ASSOCIATIONS, pipelineId: config.hubspot.pipelineId, stages: loadStages(config.hubspot.stageMapFile),
    });
    // Over a long run a sequential loop makes calls at its own pace (the sample's calls ÷ the time not spent
    // waiting for the limiter) until the rolling window is full, then at the limiter's rate: the slower of the two.
    const ownPace = r.calls / (Math.max(1, r.wallMs - total(probe2.limiter)) / 1000);
    const steadyRate = Math.min(ratePerSecond, ownPace);
    const d2 = hs2.state.live('deals').length;
    const n2 = hs2.state.live('notes').length;
    const c2 = hs2.state.live('contacts').length;
    const e2 = [...hs2.state.associations.values()].filter((e) => (e.fromType === 'deals' && e.toType === 'contacts') || (e.fromType === 'notes' && e.toType === 'deals')).length;
    baseline = {
      leads: r.leads, comments: r.comments, calls: hs2.state.requests.length, wallMs: r.wallMs,
      fake429: hs2.state.requests.filter((q) => q.status === 429).length, gw429: gw2.stats.rateLimited, ownPace, steadyRate,
      ok: d2 === r.leads && c2 === r.leads && n2 === r.comments && e2 === r.leads + r.comments,
      detail: `${d2} deals, ${c2} contacts, ${n2} notes, ${e2} associations for ${r.leads} leads and ${r.comments} comments`,
    };
    await hs2.close();
    step(`baseline done in ${sec(r.wallMs)} s: ${fmt(baseline.calls)} calls`);
  }

  await closeLog();
  const logScan = scanLog(logDir);

  // ---- report ----
  const minMs = (calls: number) => (calls / ratePerSecond) * 1000;
  const engineCalls = reqs.length;
  const engineCpo = engineCalls / objects;
  const engineRatio = engineWallMs / minMs(engineCalls);
  const no429AsError = logScan.err429.length === 0;
  const verdict = (cpo: number, ratio: number, judged: boolean) => {
    if (!judged) return 'baseline';
    const missed = [cpo > TARGET_CALLS_PER_OBJECT && 'calls/object', ratio > TARGET_WALL_RATIO && 'wall', !no429AsError && '429 as error'].filter(Boolean);
    return missed.length ? `MISSED (${missed.join(', ')})` : 'met';
  };
  const rows: string[][] = [[
    'batched outbox engine (measured)', fmt(objects), fmt(engineCalls), fmt(engineCpo, 4), sec(engineWallMs), sec(minMs(engineCalls)), fmt(engineRatio, 2),
    `${fake429} / ${gw.rateLimited}`, no429AsError ? 'no' : `YES (${logScan.err429.length})`, verdict(engineCpo, engineRatio, true),
  ]];
  let projected: { calls: number; wallMs: number } | null = null;
  if (baseline) {
    const bObjects = baseline.leads + baseline.comments;
    const cpo = baseline.calls / bObjects;
    rows.push([
      `one call per object, sample (measured)`, fmt(bObjects), fmt(baseline.calls), fmt(cpo, 2), sec(baseline.wallMs), sec(minMs(baseline.calls)),
      fmt(baseline.wallMs / minMs(baseline.calls), 2), `${baseline.fake429} / ${baseline.gw429}`, '(same log)', 'baseline',
    ]);
    projected = { calls: Math.round(cpo * objects), wallMs: (cpo * objects / baseline.steadyRate) * 1000 };
    rows.push([
      `one call per object, all ${fmt(objects)} (PROJECTED)`, fmt(objects), `~${fmt(projected.calls)}`, fmt(cpo, 2), `~${sec(projected.wallMs)}`, sec(minMs(projected.calls)),
      fmt(projected.wallMs / minMs(projected.calls), 2), '-', '-', 'projected',
    ]);
  }

  say();
  say(`bench:sync — ${fmt(seeded.leads)} new leads (${seeded.agents} agents) and ${fmt(seeded.comments)} comments = ${fmt(objects)} synced objects; ${bdb.label}; ` +
    `fake HubSpot in-process: ${FAKE_LIMIT} requests / ${FAKE_WINDOW_MS / 1000} s, +${LATENCY_MS} ms per answer; node ${process.version}`);
  say(`engine: default configuration — limiter ${config.hubspot.rateLimit} / ${config.hubspot.rateWindowMs / 1000} s (${fmt(ratePerSecond, 1)} per s), rounds of ${config.hubspot.roundSize} in batches of ${config.hubspot.batchSize}, ${config.hubspot.concurrency} calls in flight; ` +
    `minimum = calls ÷ ${fmt(ratePerSecond, 1)} per s; targets: ≤ ${TARGET_CALLS_PER_OBJECT} calls/object, wall ≤ ${TARGET_WALL_RATIO.toFixed(2)} × minimum, no 429 logged as error`);
  say();
  say(table(
    ['approach', 'objects', 'API calls', 'calls/object', 'wall s', 'minimum s', 'wall/min', '429s fake/gw', '429 as error', 'targets'],
    rows,
    [false, true, true, true, true, true, true, true, false, false],
  ));
  say();
  if (baseline && projected) {
    say(`one call per object: ${baseline.leads} leads + ${baseline.comments} comments through the same gateway and limiter (associations ${BASELINE_ASSOCIATIONS}), ` +
      `${fmt(baseline.calls / (baseline.wallMs / 1000), 2)} calls/s over the sample (its first ${config.hubspot.rateLimit} calls free of the window), ` +
      `${fmt(baseline.ownPace, 1)} calls/s of its own pace when not waiting; over a long run the slower of that and the limiter: ${fmt(baseline.steadyRate, 2)} per s. ` +
      `PROJECTED for ${fmt(objects)} objects: ~${fmt(projected.calls)} calls ÷ ${fmt(baseline.steadyRate, 2)} per s = ~${fmt(projected.wallMs / 60_000, 1)} min (not measured). ` +
      `${baseline.ok ? 'Sample correct' : 'SAMPLE INCORRECT'}: ${baseline.detail}.`);
    say(`engine vs one call per object: ${fmt(projected.calls / engineCalls, 0)}× fewer calls, ${fmt(projected.wallMs / engineWallMs, 0)}× less wall time (against the projection).`);
    say();
  }

  say('targets:');
  say(`  calls per object ≤ ${TARGET_CALLS_PER_OBJECT}: ${fmt(engineCpo, 4)} (${fmt(engineCalls)} calls for ${fmt(objects)} objects) — ${engineCpo <= TARGET_CALLS_PER_OBJECT ? 'met' : 'MISSED'}`);
  say(`  wall within 15 % of the minimum: ${sec(engineWallMs)} s vs ${sec(minMs(engineCalls))} s = ${fmt(engineRatio, 2)} — ${engineRatio <= TARGET_WALL_RATIO ? 'met' : 'MISSED'}`);
  say(`  no 429 reaching the log as an error: ${fake429} answered by the fake, ${gw.rateLimited} seen by the gateway, ${logScan.warn429} logged at warn, ${logScan.err429.length} at error — ${no429AsError ? 'met' : 'MISSED'}`);
  say();

  say('engine calls by endpoint (the fake\'s request log; server ms includes the added latency):');
  say(table(['endpoint', 'calls', 'objects in', 'per call', 'server ms/call'],
    [...byEndpoint].sort((a, b) => b[1].calls - a[1].calls).map(([k, e]) => [k, fmt(e.calls), fmt(e.inputs), fmt(e.inputs / e.calls, 1), fmt(e.serverMs / e.calls, 1)]),
    [false, true, true, true, true]));
  say();
  const fakeBusyMs = reqs.reduce((t, r) => t + Math.max(0, r.durationMs - LATENCY_MS), 0);
  const [inFlight, limiterOnly, dbOnly, rest] = timeline(t0, t0 + engineWallMs, [probe.http, probe.limiter, timer.intervals]) as [number, number, number, number];
  say(`engine wall time by what was happening (first match wins): a request in flight ${sec(inFlight)} s · only waiting for the limiter ${sec(limiterOnly)} s · ` +
    `only database ${sec(dbOnly)} s · anything else (JS, waiting for due items) ${sec(rest)} s`);
  say(`  summed over calls (overlapping when several are in flight): HTTP ${sec(total(probe.http))} s = ${fmt(total(probe.http) / Math.max(1, probe.http.length), 1)} ms/call ` +
    `(${fmt(LATENCY_MS)} ms added latency; the fake's handler, in this process, ${sec(fakeBusyMs)} s in all) · limiter waits ${sec(total(probe.limiter))} s · ` +
    `database ${sec(timer.ms)} s in ${fmt(timer.count)} statements (${fmt(timer.ms / Math.max(1, timer.count), 2)} ms each)${totals.idleMs ? ` · waiting for due items ${sec(totals.idleMs)} s` : ''}`);
  say(`this process during the engine run: ${sec((cpu.user + cpu.system) / 1000)} s of CPU (the engine, the pg client and the fake share one thread), ` +
    `event loop busy ${fmt(elu.utilization * 100)} % of the time; machine load average ${fmt(load0, 1)} → ${fmt(load1, 1)} on ${cpus().length} CPUs` +
    `${Math.max(load0, load1) > cpus().length ? ' — BUSY: above the CPU count, other work competed for the CPUs and wall times may be inflated' : ''}`);
  say(`gateway: ${fmt(gw.calls)} calls, ${gw.retries} retries, ${gw.rateLimited} 429s, ${fmt(gw.waitsAtLimit)} waits at the limit; fake: ${fmt(reqs.length)} requests, ` +
    `at most ${fakeMaxWindow} in any ${FAKE_WINDOW_MS / 1000} s (limit ${FAKE_LIMIT}); engine: ${totals.drains} drain(s), ${fmt(totals.claimed)} claimed, ${fmt(totals.synced)} synced, ${totals.failed} failed, ${totals.deferred} deferred`);
  const slices: number[] = [];
  for (const s of probe.callStarts) slices[Math.floor(s / FAKE_WINDOW_MS)] = (slices[Math.floor(s / FAKE_WINDOW_MS)] ?? 0) + 1;
  say(`engine calls per 10 s slice of the run: ${Array.from(slices, (n) => n ?? 0).join(' ')}`);
  say();

  say('correctness:');
  for (const c of checks) say(`  ${c.ok ? 'ok    ' : 'FAILED'}  ${c.name}: ${c.detail}`);
  say();
  say(`app log (level info) during the run: ${fmt(logScan.lines)} line(s), ${logScan.errorLines} at error/fatal${logScan.lines ? ':' : ''}`);
  for (const [k, n] of [...logScan.counts].sort((a, b) => b[1] - a[1]).slice(0, 8)) say(`  ${String(n).padStart(6)} × ${k.slice(0, 160)}`);
  for (const l of logScan.err429.slice(0, 5)) say(`  429 at error: ${l}`);
  say();
  say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s (seeding ${sec(seedMs)} s)`);
  const correct = checks.every((c) => c.ok) && (baseline?.ok ?? true);
  if (!correct) say('FAILED: the sync was not correct (see above), so the figures do not measure a working sync.');
  return correct ? 0 : 1;
}

await runBench('bench:sync', main, cleanup);
