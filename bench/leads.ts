// bench/leads — the dashboard and the lead list under load, against a bare Fastify route in the same run.
//
//   npm run bench:leads
//
// Seeds 100,000 leads over 200 agents (one agent owns 10,000) into a fresh database, starts the real app
// (buildApp, NODE_ENV=production, a pg Pool) and a bare Fastify app, signs in as the heavy agent and as an
// admin, and runs autocannon (50 connections) against:
//   bare route · agent /dashboard · agent /dashboard?page=50 · admin /dashboard · admin /dashboard?page=50&sort=deal_name&order=asc
//   · agent lead list with a different page and sort on every request (no rendered body from the cache)
// It prints requests/s, p50 and p99 latency, the ratio of requests/s to the bare route, and whether the
// targets (p99 < 100 ms, ratio ≥ 0.30) are met. For context, not judged: the bare Fastify app serving a
// page of the same size as each measured page ("vs page": what is left once moving the bytes is
// accounted for), the real app's /healthz and /login, the real app sending a fixed page of the
// dashboard's size through all its hooks (its own ceiling), and the agent dashboard on a second app process
// at the default LOG_LEVEL=info (every other row runs at warn: this one shows what request logging costs). Then a per-query profile (EXPLAIN ANALYZE, idle
// server) of the dashboard's SQL, to show which statement dominates. It is a measurement: it exits 0 when targets
// are missed, and 1 when requests failed under load (non-2xx, errors, timeouts) or the run crashed.
//
// Every request carries the Accept-Encoding Chrome sends (the bare route's tiny JSON is not compressed
// either way; a dashboard asked again is sent gzipped, decision 031); a reference row shows the agent
// dashboard without it. The KiB column is the body's bytes on the wire.
//
// Fairness: the app and the bare route each run in their own child process; autocannon runs in this
// process. The targets are measured one after the other, so while one server is under load the other is
// idle and autocannon's own CPU is never in the measured server's process. The machine's speed drifts
// within a run, so the bare route is measured before and after every judged row, and each row's ratio is
// to the mean of the two runs around it. A single 10 s row moves by a tenth or more between runs on these
// machines, so the judged rows are measured in rounds (BENCH_ROUNDS, 3): the ratio judged is a row's median
// over the rounds, the p99 its worst; every round's figures are printed.
// On a 2-core machine autocannon, the server and PostgreSQL share the CPUs: the absolute figures are
// for this machine only, the ratios are what to compare between runs.
//
// Environment:
//   BENCH_DATABASE_URL   a PostgreSQL server to use (a fresh database is created in it and dropped after);
//                        unset: a throwaway server is started with scripts/test-postgres.sh and stopped
//   BENCH_PG_PORT        port of that throwaway server (55470)
//   BENCH_DURATION       seconds per target (10);  BENCH_WARMUP seconds of warm-up before each (3)
//   BENCH_ROUNDS         rounds of the judged rows (3): each row's ratio is judged on its median over the
//                        rounds, its p99 on the worst round
//   BENCH_CONNECTIONS    autocannon connections (50);  BENCH_DB_POOL_MAX the app's pool size (10)
//   BENCH_LEADS / BENCH_AGENTS / BENCH_HEAVY_LEADS   the data set (100000 / 200 / 10000)
//   BENCH_EXPLAIN=1      also print the full EXPLAIN ANALYZE of every dashboard query
//   BENCH_REFERENCE=0    skip the reference rows (the bare app serving pages of the measured sizes, and the
//                        app's /healthz and /login: its ceiling without the database and without a big
//                        page, to show what ratio is reachable at all)
//   BENCH_KEEP=1         keep the database, the throwaway server and the app's log folder (prints where)
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import bcrypt from 'bcrypt';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../src/db/migrate.ts';
import type { CurrentUser } from '../src/views/context.ts';
import { profileDashboard } from './lib/profile.ts';
import { SORTS as SORT_KEYS } from '../src/dashboard/queries.server.ts';
import { ADMIN_USERNAME, agentUsername, seedLeads } from './lib/seed.ts';
import { cleanupRegistry, runBench } from './lib/cleanup.ts';
import { createBenchDatabase } from './lib/database.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const int = (name: string, def: number) => {
  const v = Number(env[name] ?? def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const DURATION = int('BENCH_DURATION', 10);
const ROUNDS = int('BENCH_ROUNDS', 3);
const WARMUP = Number(env.BENCH_WARMUP ?? 3);
const CONNECTIONS = int('BENCH_CONNECTIONS', 50);
const POOL_MAX = int('BENCH_DB_POOL_MAX', 10);
const LEADS = int('BENCH_LEADS', 100_000);
const AGENTS = int('BENCH_AGENTS', 200);
const HEAVY_LEADS = int('BENCH_HEAVY_LEADS', 10_000);
const PG_PORT = int('BENCH_PG_PORT', 55470);
const KEEP = env.BENCH_KEEP === '1';
const EXPLAIN = env.BENCH_EXPLAIN === '1';
const REFERENCE = env.BENCH_REFERENCE !== '0';
const PASSWORD = 'bench-password-0123';
const TARGET_P99_MS = 100;
const TARGET_RATIO = 0.3;

const say = (s = '') => process.stdout.write(`${s}\n`);
const step = (s: string) => process.stderr.write(`bench:leads: ${s}\n`);

// ---- cleanup: everything started is registered here and undone in reverse order, also on Ctrl-C ----
const { cleanups, cleanup } = cleanupRegistry(step);

// ---- PostgreSQL ----
async function startPostgres(): Promise<string> {
  if (env.BENCH_DATABASE_URL) return env.BENCH_DATABASE_URL;
  const script = path.join(ROOT, 'scripts/test-postgres.sh');
  const pgEnv = { ...env, PG_PORT: String(PG_PORT) };
  step(`starting a throwaway PostgreSQL on port ${PG_PORT}`);
  const url = execFileSync(script, ['start'], { env: pgEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  if (KEEP) step(`keeping the PostgreSQL server: stop it with PG_PORT=${PG_PORT} scripts/test-postgres.sh stop`);
  else cleanups.push({ name: 'PostgreSQL', fn: () => { execFileSync(script, ['stop'], { env: pgEnv, stdio: ['ignore', 'ignore', 'inherit'] }); } });
  return url;
}

function createDatabase(serverUrl: string): Promise<string> {
  return createBenchDatabase(serverUrl, 'propart_bench', { keep: KEEP, step, cleanups });
}

// ---- child servers ----
interface Child { proc: ChildProcess; port: number }

function startChild(file: string, childEnv: NodeJS.ProcessEnv, name: string): Promise<Child> {
  const proc = fork(path.join(ROOT, file), [], {
    execArgv: ['--import', 'tsx'],
    env: childEnv,
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanups.push({
    name,
    fn: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      if (proc.connected) proc.send({ type: 'stop' });
      else proc.kill('SIGTERM');
    }),
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited during start-up (${signal ?? code})`));
    });
    proc.on('message', (m: { type?: string; port?: number }) => {
      if (m.type === 'listening' && m.port) {
        clearTimeout(timer);
        resolve({ proc, port: m.port });
      }
    });
  });
}

function stopChild(child: Child): Promise<void> {
  return new Promise<void>((resolve) => { child.proc.once('exit', () => resolve()); child.proc.send({ type: 'stop' }); });
}

// ---- signing in like a browser: GET /login for the CSRF cookie and token, then POST the form ----
function cookiesOf(res: Response): Map<string, string> {
  const jar = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
  }
  return jar;
}

async function login(base: string, username: string): Promise<string> {
  const page = await fetch(`${base}/login`, { redirect: 'manual' });
  const html = await page.text();
  const token = /<meta name="csrf-token" content="([^"]*)"/.exec(html)?.[1];
  const csrfCookie = cookiesOf(page).get('propart_csrf');
  if (page.status !== 200 || !token || !csrfCookie) throw new Error(`GET /login: status ${page.status}, no CSRF token or cookie`);
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `propart_csrf=${csrfCookie}` },
    body: new URLSearchParams({ _csrf: token, username, password: PASSWORD }).toString(),
  });
  const sid = cookiesOf(res).get('propart_sid');
  if (res.status !== 303 || !sid) throw new Error(`POST /login as ${username}: status ${res.status}, no session cookie`);
  // Both cookies, as a browser sends them: without its CSRF cookie every page would mint a new secret.
  return `propart_csrf=${cookiesOf(res).get('propart_csrf') ?? csrfCookie}; propart_sid=${sid}`;
}

// ---- measuring ----
interface Target {
  name: string; path: string; cookie?: string; bare?: boolean; reference?: boolean; pageKiB?: number;
  /** Sent with "Accept-Encoding: identity" (every other request takes gzip, as browsers do). */
  identity?: boolean;
  /** A different path for each request (after the first, which is `path`). */
  nextPath?: () => string;
}
interface Row { target: Target; result: Result; drainMs: number; round?: number }

/** Resolves once the server has finished the work queued during the last run (see lib/child.ts). */
function waitIdle(child: Child, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server was still busy ${timeoutMs / 1000} s after the load stopped`)), timeoutMs);
    const onMessage = (m: { type?: string; waitedMs?: number }) => {
      if (m.type !== 'idle') return;
      clearTimeout(timer);
      child.proc.off('message', onMessage);
      resolve(m.waitedMs ?? 0);
    };
    child.proc.on('message', onMessage);
    child.proc.send({ type: 'wait-idle' });
  });
}

// What Chrome sends: every browser takes gzip, and a dashboard asked again is sent gzipped (decision 031).
const ACCEPT_ENCODING = 'gzip, deflate, br, zstd';
const headersOf = (t: Target): Record<string, string> => ({
  ...(t.cookie ? { cookie: t.cookie } : {}),
  'accept-encoding': t.identity ? 'identity' : ACCEPT_ENCODING,
});

/** The bytes of the target's body on the wire (compressed or not), as the measured requests get it. */
async function check(base: string, t: Target): Promise<number> {
  // Asked twice where the measured requests repeat one address (a page is compressed once asked again);
  // once, on an address never asked before, where they ask a new one each time.
  let bytes = 0;
  for (let i = 0; i < (t.nextPath ? 1 : 2); i++) {
    const path = t.nextPath ? t.nextPath() : t.path;
    const res = await fetch(`${base}${path}`, { redirect: 'manual', headers: headersOf(t) });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${t.name}: GET ${path} answered ${res.status}, expected 200`);
    bytes = Number(res.headers.get('content-length') ?? Buffer.byteLength(body));
  }
  return bytes;
}

async function measure(server: Child, t: Target): Promise<Row> {
  const headers = headersOf(t);
  const opts = {
    url: `http://127.0.0.1:${server.port}${t.path}`, connections: CONNECTIONS, headers,
    ...(t.nextPath ? { requests: [{ setupRequest: (req: { path: string }) => ({ ...req, path: t.nextPath!() }) }] } : {}),
  };
  await waitIdle(server);
  if (WARMUP > 0) {
    await autocannon({ ...opts, duration: WARMUP });
    await waitIdle(server);
  }
  step(`${t.name}: ${DURATION} s at ${CONNECTIONS} connections`);
  const result = await autocannon({ ...opts, duration: DURATION, title: t.name });
  const drainMs = await waitIdle(server);
  return { target: t, result, drainMs };
}

/**
 * The first 50 pages in every sort and order, one after the other: 800 different addresses, more than the
 * 500 bodies an instance keeps, so none is served from the cache (deeper pages cost PostgreSQL more).
 */
function coldPages(): () => string {
  const pages = 50;
  const variants = SORT_KEYS.flatMap((sort) => ['desc', 'asc'].map((order) => `&sort=${sort}&order=${order}`));
  let n = 0;
  return () => {
    const i = n++ % (pages * variants.length);
    return `/dashboard?page=${(i % pages) + 1}${variants[Math.floor(i / pages)]}`;
  };
}

/** Answers that do not measure the page: non-2xx, errors, timeouts (and a run with no answer at all). */
function problemsOf(r: Result): number {
  return r.non2xx + r.errors + r.timeouts + (r.requests.total === 0 ? 1 : 0);
}

/** "met", or what was missed, against the targets. */
function judge(p99: number, ratio: number): string {
  const p99ok = p99 < TARGET_P99_MS;
  const ratioOk = ratio >= TARGET_RATIO;
  return p99ok && ratioOk ? 'met' : `MISSED (${[!p99ok && 'p99', !ratioOk && 'ratio'].filter(Boolean).join(', ')})`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(headers: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const started = Date.now();
  const serverUrl = await startPostgres();
  const url = await createDatabase(serverUrl);

  // Schema and data.
  step('migrating');
  const migrationPool = new pg.Pool({ connectionString: url, max: 1 });
  const kdb = new Kysely<any>({ dialect: new PostgresDialect({ pool: migrationPool }) });
  await migrateToLatest(kdb);
  await kdb.destroy();
  step(`seeding ${fmt(LEADS)} leads over ${AGENTS} agents (one with ${fmt(HEAVY_LEADS)})`);
  const seedStart = Date.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const seeded = await seedLeads(client, { agents: AGENTS, leads: LEADS, heavyLeads: HEAVY_LEADS, passwordHash: await bcrypt.hash(PASSWORD, 4) })
    .finally(() => client.end());
  const seedSeconds = (Date.now() - seedStart) / 1000;
  step(`seeded in ${seedSeconds.toFixed(1)} s: ${fmt(seeded.leadCount)} leads, ${seeded.agentCount} agents, heavy agent ${fmt(seeded.heavyLeadCount)}`);

  // The servers.
  const logDir = mkdtempSync(path.join(tmpdir(), 'propart-bench-'));
  if (KEEP) step(`keeping the app's log folder ${logDir}`);
  else cleanups.push({ name: 'log folder', fn: () => rmSync(logDir, { recursive: true, force: true }) });
  const appEnv: NodeJS.ProcessEnv = {
    PATH: env.PATH, HOME: env.HOME, TZ: env.TZ,
    NODE_ENV: 'production',
    SECRET_KEY: randomBytes(32).toString('hex'),
    // The seeded admin has no authenticator: measure the dashboard, not the 2FA enrolment redirect.
    ADMIN_2FA_REQUIRED: 'false',
    DATABASE_URL: url,
    DB_POOL_MAX: String(POOL_MAX),
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: path.join(logDir, 'data'),
    LOG_DIR: logDir,
    LOG_LEVEL: 'warn',
    LOG_TO_STDOUT: 'false',
  };
  step('starting the app and the bare Fastify route (one process each)');
  const app = await startChild('bench/lib/app-server.ts', appEnv, 'app server');
  const bare = await startChild('bench/lib/bare-server.ts', { PATH: env.PATH, HOME: env.HOME, NODE_ENV: 'production' }, 'bare server');
  const appBase = `http://127.0.0.1:${app.port}`;
  const bareBase = `http://127.0.0.1:${bare.port}`;

  const agentCookie = await login(appBase, seeded.heavyAgentUsername);
  const adminCookie = await login(appBase, seeded.adminUsername);

  const bareTarget: Target = { name: 'bare Fastify route', path: '/bare', bare: true };
  const appTargets: Target[] = [
    { name: `agent /dashboard (${fmt(seeded.heavyLeadCount)} leads)`, path: '/dashboard', cookie: agentCookie },
    { name: 'agent lead list, page 50', path: '/dashboard?page=50', cookie: agentCookie },
    { name: `admin /dashboard (${fmt(seeded.leadCount)} leads)`, path: '/dashboard', cookie: adminCookie },
    { name: 'admin lead list, page 50 by deal name', path: '/dashboard?page=50&sort=deal_name&order=asc', cookie: adminCookie },
    // The rows above repeat one address, so after the first request their body comes from the cache
    // (decision 019) — as for an agent reloading an unchanged dashboard. This one never repeats within
    // the cache's 500 entries: every request renders its page (the figures stay cached, as when paging).
    { name: 'agent lead list, pages 1–50 by every sort', path: '/dashboard?page=1', cookie: agentCookie, nextPath: coldPages() },
  ];
  // Not judged: what the real app does without the database or a big page, to put the ratios in context.
  const referenceTargets: Target[] = REFERENCE ? [
    { name: 'ref: app /healthz (hooks only, no DB)', path: '/healthz', reference: true },
    { name: 'ref: app /login (small page, no DB)', path: '/login', reference: true },
    { name: 'ref: agent /dashboard, not gzipped (Accept-Encoding: identity)', path: '/dashboard', cookie: agentCookie, reference: true, identity: true },
  ] : [];
  const sizes = new Map<Target, number>();
  for (const t of referenceTargets) sizes.set(t, await check(appBase, t));
  sizes.set(bareTarget, await check(bareBase, bareTarget));
  for (const t of appTargets) sizes.set(t, await check(appBase, t));

  // The bare app serving pages of the measured pages' sizes (whole KiB), each measured once.
  const kibOf = (t: Target) => Math.max(1, Math.round(sizes.get(t)! / 1024));
  const pageTargets: Target[] = REFERENCE
    ? [...new Set(appTargets.map(kibOf))].map((kib) => ({ name: `ref: bare Fastify, a ${kib} KiB page`, path: `/page/${kib * 1024}`, reference: true, pageKiB: kib }))
    : [];
  for (const t of pageTargets) sizes.set(t, await check(bareBase, t));

  // The app serving a fixed page of the agent dashboard's size through all its hooks, the session from
  // memory as on the dashboard (bench/lib/app-server.ts): what is left of the dashboard beyond that is its own.
  const appPageBytes = sizes.get(appTargets[0]!)!;
  const appPageTarget: Target = {
    name: `ref: app, a static ${fmt(appPageBytes / 1024, 0)} KiB page (all hooks)`, path: `/bench/page/${appPageBytes}`, cookie: agentCookie, reference: true,
  };
  if (REFERENCE) sizes.set(appPageTarget, await check(appBase, appPageTarget));

  // The machine's speed drifts within a run (the bare route measured 50,099 req/s first and 28,524 last in
  // one run), so every judged row is measured between two runs of the bare route and compared with their
  // mean; the references, with the mean of all of them.
  const rows: Row[] = [];
  const bareRuns: Row[] = [];
  const measureBare = async (name: string) => {
    const t: Target = { ...bareTarget, name };
    sizes.set(t, sizes.get(bareTarget)!);
    const row = await measure(bare, t);
    rows.push(row);
    bareRuns.push(row);
    return row.result.requests.average;
  };
  await measureBare(bareTarget.name);
  for (const t of pageTargets) rows.push(await measure(bare, t));
  for (const t of [...referenceTargets, ...(REFERENCE ? [appPageTarget] : [])]) rows.push(await measure(app, t));
  // The same app at the default LOG_LEVEL=info, one "request completed" line per request written to its log
  // file (the rows above and below run at warn): what request logging costs (decision 024). Its own process,
  // stopped before the judged rows.
  if (REFERENCE) {
    const appInfo = await startChild('bench/lib/app-server.ts', { ...appEnv, LOG_LEVEL: 'info', LOG_DIR: path.join(logDir, 'info') }, 'app server (LOG_LEVEL=info)');
    const t: Target = { name: 'ref: agent /dashboard at LOG_LEVEL=info', path: '/dashboard', cookie: agentCookie, reference: true };
    sizes.set(t, await check(`http://127.0.0.1:${appInfo.port}`, t));
    rows.push(await measure(appInfo, t));
    await stopChild(appInfo);
  }
  const adjacentBare = new Map<Row, number>();
  const roundsOf = new Map<Target, Row[]>(appTargets.map((t) => [t, []]));
  let before = await measureBare('bare Fastify route (again)');
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of appTargets) {
      const row = { ...await measure(app, ROUNDS > 1 ? { ...t, name: `${t.name} · round ${round}` } : t), round };
      sizes.set(row.target, sizes.get(t)!);
      rows.push(row);
      roundsOf.get(t)!.push(row);
      const after = await measureBare('bare Fastify route (again)');
      adjacentBare.set(row, (before + after) / 2);
      before = after;
    }
  }
  const baseline = bareRuns.reduce((sum, r) => sum + r.result.requests.average, 0) / bareRuns.length;
  const pageBaseline = new Map(rows.filter((r) => r.target.pageKiB).map((r) => [r.target.pageKiB!, r.result.requests.average]));

  // Warnings and errors the app logged while under load (the log level is warn).
  const logCounts = new Map<string, number>();
  for (const line of readFileSync(path.join(logDir, 'propart.log'), 'utf8').split('\n').filter(Boolean)) {
    let key = line.slice(0, 200);
    try {
      const e = JSON.parse(line) as { level?: string; msg?: string; err?: { message?: string } };
      key = `${e.level}: ${e.msg ?? ''}${e.err?.message ? ` — ${e.err.message}` : ''}`;
    } catch { /* not JSON: keep the raw start */ }
    logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
  }

  // ---- report ----
  let failed = false;
  const failures: string[] = [];
  const out = rows.map((row) => {
    const { target, result: r, drainMs } = row;
    const bareNear = adjacentBare.get(row) ?? baseline;
    const ratio = r.requests.average / bareNear;
    const problems = problemsOf(r);
    if (problems > 0) {
      failed = true;
      const codes = Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => `${code}×${v.count}`).join(', ');
      failures.push(`${target.name}: ${fmt(r.requests.total)} responses (${codes || 'none'}), ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
    }
    const verdict = target.bare ? 'baseline'
      : problems > 0 ? 'FAILED (non-2xx)'
      : target.reference ? 'reference'
      : ROUNDS > 1 ? `round ${row.round}: ${judge(r.latency.p99, ratio)}`
      : judge(r.latency.p99, ratio);
    const samePage = !target.bare && !target.reference ? pageBaseline.get(kibOf(target)) : undefined;
    return [
      target.name, fmt(r.requests.average), fmt(r.latency.p50, 1), fmt(r.latency.p99, 1),
      target.bare ? '' : fmt(bareNear), target.bare ? fmt(r.requests.average / baseline, 2) : fmt(ratio, 3),
      samePage ? fmt(r.requests.average / samePage, 3) : '',
      fmt(r.requests.total), String(r.non2xx + r.errors + r.timeouts), fmt((sizes.get(target) ?? 0) / 1024, 1), fmt(drainMs / 1000, 1), verdict,
    ];
  });

  say();
  say(`bench:leads — ${fmt(seeded.leadCount)} leads, ${seeded.agentCount} agents (heavy agent: ${fmt(seeded.heavyLeadCount)}), ` +
    `PostgreSQL ${env.BENCH_DATABASE_URL ? '(BENCH_DATABASE_URL)' : `throwaway, port ${PG_PORT}`}, app pool ${POOL_MAX}, ` +
    `autocannon ${CONNECTIONS} connections × ${DURATION} s (+${WARMUP} s warm-up), node ${process.version}`);
  say(`targets: p99 < ${TARGET_P99_MS} ms and ratio ≥ ${TARGET_RATIO.toFixed(2)}; each judged row's ratio is to the mean of the bare-route runs`);
  say(`just before and after it (column "bare"); references and the bare runs are against the mean of all ${bareRuns.length} bare runs = ${fmt(baseline)} req/s`);
  say();
  say(table(
    ['route', 'req/s', 'p50 ms', 'p99 ms', 'bare', 'ratio', 'vs page', 'requests', 'non-2xx/err', 'KiB', 'drain s', 'targets'],
    out,
    [false, true, true, true, true, true, true, true, true, true, true, false],
  ));
  if (ROUNDS > 1) {
    // The judged figures: each row's median ratio over the rounds, its worst p99.
    const judged = appTargets.map((t) => {
      const runs = roundsOf.get(t)!;
      const ratios = runs.map((row) => row.result.requests.average / adjacentBare.get(row)!);
      const ratio = median(ratios);
      const p99 = Math.max(...runs.map((row) => row.result.latency.p99));
      return [t.name, fmt(median(runs.map((row) => row.result.requests.average))), ratios.map((x) => fmt(x, 3)).join(' / '), fmt(ratio, 3), fmt(p99, 1),
        runs.some((row) => problemsOf(row.result) > 0) ? 'FAILED (non-2xx)' : judge(p99, ratio)];
    });
    say();
    say(`judged over ${ROUNDS} rounds: the median of each row's ratios, the worst of its p99s`);
    say();
    say(table(['route', 'median req/s', 'ratio per round', 'median ratio', 'worst p99 ms', 'targets'], judged, [false, true, false, true, true, false]));
  }
  say();
  say('ratio: req/s over the bare route\'s (the judged target). vs page: req/s over the bare app serving a page of the');
  say('same size (not judged; what the app costs beyond moving the bytes). "ref: app, a static page": the real app');
  say('with all its hooks sending a fixed page of the agent dashboard\'s size, the session from memory: its ceiling.');
  say('drain s: how long the app kept working on queued requests after the load stopped (0 = it kept up).');
  const logTotal = [...logCounts.values()].reduce((a, b) => a + b, 0);
  say(`app log during the run: ${logTotal} warn/error line(s)${logTotal ? ':' : ''}`);
  for (const [k, n] of [...logCounts].sort((a, b) => b[1] - a[1]).slice(0, 8)) say(`  ${String(n).padStart(6)} × ${k.slice(0, 160)}`);
  if (failed) {
    say();
    say('FAILED: requests were answered with non-2xx or failed under load, so those rows do not measure the pages:');
    for (const f of failures) say(`  ${f}`);
  }

  // ---- where the time goes: each dashboard statement on an idle server ----
  step('profiling the dashboard queries (EXPLAIN ANALYZE, servers idle)');
  await stopChild(app);
  await stopChild(bare);
  const agentUser: CurrentUser = { id: seeded.heavyAgentId, username: agentUsername(1), displayName: '', email: '', role: 'agent', mustChangePassword: false };
  const adminUser: CurrentUser = { id: seeded.adminId, username: ADMIN_USERNAME, displayName: '', email: '', role: 'admin', mustChangePassword: false };
  const scenarios: [string, CurrentUser, Record<string, string>][] = [
    ['agent /dashboard', agentUser, {}],
    ['agent page 50', agentUser, { page: '50' }],
    ['admin /dashboard', adminUser, {}],
    ['admin page 50 by deal name', adminUser, { page: '50', sort: 'deal_name', order: 'asc' }],
  ];
  say();
  say('dashboard SQL, one request\'s statements on an idle server (EXPLAIN ANALYZE, best of 3; r = actual rows):');
  for (const [name, user, query] of scenarios) {
    const profiled = await profileDashboard(url, user, query);
    const total = profiled.filter((p) => !p.label.startsWith('page rows only')).reduce((s, p) => s + p.ms, 0);
    say();
    say(`${name} — ${fmt(total, 1)} ms of SQL per request (sequential sum)`);
    say(table(['statement', 'ms', 'plan'], profiled.map((p) => [p.label, fmt(p.ms, 2), p.plan.length > 150 ? `${p.plan.slice(0, 147)}...` : p.plan]), [false, true, false]));
    if (EXPLAIN) for (const p of profiled) say(`\n-- ${name}: ${p.label}\n${p.sql}\n${p.fullPlan}`);
  }
  say();
  say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s (seeding ${seedSeconds.toFixed(1)} s)`);
  return failed ? 1 : 0;
}

await runBench('bench:leads', main, cleanup);
