// bench/load — the production topology under a mixed load: nginx (deploy/nginx.conf, TLS) in front of two
// real app instances sharing PostgreSQL and Redis, against a bare nginx → Fastify route in the same run.
//
//   npm run bench:load
//
// Starts (all on 127.0.0.1, all stopped at the end): a throwaway PostgreSQL (or BENCH_DATABASE_URL),
// a fresh database seeded with 20,000 leads over 50 agents (one agent owns 2,000), redis-server, two app
// instances exactly as systemd runs them (`node --import tsx src/server.ts`, NODE_ENV=production,
// TRUST_PROXY=127.0.0.1, bcrypt cost 12), nginx rendered from deploy/nginx.conf with a self-signed
// certificate, and for the baseline two bare Fastify processes (bench/lib/bare-server.ts) behind a
// second nginx rendered from the same template. Then, through HTTPS:
//
//   1. baseline: the bare route through nginx (BENCH_BASELINE s), at the mix's total connection count
//   2. reference: the bare route straight to Fastify, no nginx (what TLS + proxying cost)
//   3. the mix, all at once for BENCH_DURATION s (after BENCH_WARMUP s), one autocannon per route:
//        dashboard    GET /dashboard as the agent with 2,000 leads
//        lead list    GET /dashboard?page=20&sort=deal_name&order=asc as an admin (all 20,000 leads)
//        create lead  POST /leads with the session's CSRF token, a new phone number each time
//        login        POST /login: BENCH_LOGIN_CLIENTS clients at 1 per second each, each from its own
//                     loopback address (nginx's login limit is per address: 21 at once + 30 a minute)
//   4. the baseline again; the baseline figure is the mean of the two runs.
//
// It prints, per route: requests/s, p50 and p99 latency, the answers that were not the expected status
// (200 for pages, 303 for the POSTs) and "vs bare": the route's requests/s divided by the bare route's
// requests/s scaled to the route's share of the connections (what the same connections achieve on a
// route that does nothing). Logins are rate-driven, so they get no ratio. Then a consistency check (leads
// in the database = 303s of "create lead") and the apps' warn/error log lines. It is a measurement: it
// exits 0 whatever the figures, and 1 when requests failed (unexpected statuses, errors, timeouts) or
// the run crashed. On a 2-core machine nginx, both apps, PostgreSQL, Redis and autocannon share the
// CPUs: compare ratios between runs, not requests/s.
//
// Environment:
//   BENCH_DATABASE_URL  a PostgreSQL server (a fresh database is created in it and dropped after);
//                       unset: a throwaway server (scripts/test-postgres.sh) on BENCH_PG_PORT (55480)
//   BENCH_DURATION      seconds of the mix (10);  BENCH_WARMUP (2);  BENCH_BASELINE seconds per baseline run (4)
//   BENCH_CONNECTIONS   dashboard,lead list,create lead connections (8,8,4)
//   BENCH_LOGIN_CLIENTS login clients at 1/s each (4)
//   BENCH_LEADS / BENCH_AGENTS / BENCH_HEAVY_LEADS  the data set (20000 / 50 / 2000)
//   BENCH_BCRYPT_COST   the app's and the seeded accounts' bcrypt cost (12, as in production)
//   BENCH_NGINX_WORKERS nginx worker_processes (auto)
//   BENCH_KEEP=1        keep the temp folder (logs, nginx config) and the database; prints where
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon, { type Options, type Result } from 'autocannon';
import bcrypt from 'bcrypt';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../src/db/migrate.ts';
import { HttpsClient } from './lib/load-client.ts';
import {
  freePort, makeCertificate, missingPrograms, type NginxHandle, ROOT, stackDir, startAppInstance, startNginx, startRedis,
} from './lib/load-stack.ts';
import { ADMIN_USERNAME, agentUsername, seedLeads } from './lib/seed.ts';
import { cleanupRegistry, runBench } from './lib/cleanup.ts';
import { createBenchDatabase } from './lib/database.ts';

const env = process.env;
const num = (name: string, def: number, min = 1) => {
  const v = Number(env[name] ?? def);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number ≥ ${min}`);
  return v;
};
const DURATION = num('BENCH_DURATION', 10);
const WARMUP = num('BENCH_WARMUP', 2, 0);
const BASELINE = num('BENCH_BASELINE', 4);
const [C_DASH, C_LIST, C_CREATE] = (env.BENCH_CONNECTIONS ?? '8,8,4').split(',').map(Number) as [number, number, number];
const LOGIN_CLIENTS = num('BENCH_LOGIN_CLIENTS', 4, 0);
const LEADS = num('BENCH_LEADS', 20_000);
const AGENTS = num('BENCH_AGENTS', 50, 8);
const HEAVY = num('BENCH_HEAVY_LEADS', 2000);
const BCRYPT_COST = num('BENCH_BCRYPT_COST', 12, 4);
const PG_PORT = num('BENCH_PG_PORT', 55480);
const NGINX_WORKERS = env.BENCH_NGINX_WORKERS === undefined || env.BENCH_NGINX_WORKERS === 'auto' ? 'auto' as const : num('BENCH_NGINX_WORKERS', 1);
const KEEP = env.BENCH_KEEP === '1';
const PASSWORD = 'bench-password-0123';
const TOTAL_CONNECTIONS = C_DASH + C_LIST + C_CREATE + LOGIN_CLIENTS;

const say = (s = '') => process.stdout.write(`${s}\n`);
const step = (s: string) => process.stderr.write(`bench:load: ${s}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---- cleanup: registered as things start, undone in reverse order, also on Ctrl-C ----
const { cleanups, cleanup } = cleanupRegistry(step);

// ---- PostgreSQL ----
function startPostgres(): string {
  if (env.BENCH_DATABASE_URL) return env.BENCH_DATABASE_URL;
  const script = path.join(ROOT, 'scripts/test-postgres.sh');
  const pgEnv = { ...env, PG_PORT: String(PG_PORT) };
  step(`starting a throwaway PostgreSQL on port ${PG_PORT}`);
  const url = execFileSync(script, ['start'], { env: pgEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  if (KEEP) step(`keeping the PostgreSQL server: PG_PORT=${PG_PORT} scripts/test-postgres.sh stop`);
  else cleanups.push({ name: 'PostgreSQL', fn: () => { execFileSync(script, ['stop'], { env: pgEnv, stdio: ['ignore', 'ignore', 'inherit'] }); } });
  return url;
}

function createDatabase(serverUrl: string): Promise<string> {
  return createBenchDatabase(serverUrl, 'propart_load', { keep: KEEP, step, cleanups });
}

// ---- the bare Fastify baseline (bench/lib/bare-server.ts, forked; it reports its port over IPC) ----
function startBare(name: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(path.join(ROOT, 'bench/lib/bare-server.ts'), [], {
    execArgv: ['--import', 'tsx'], env: { PATH: env.PATH, HOME: env.HOME, NODE_ENV: 'production' }, cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanups.push({
    name,
    fn: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => { clearTimeout(kill); resolve(); });
      if (proc.connected) proc.send({ type: 'stop' });
      else proc.kill('SIGTERM');
    }),
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    proc.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${name} exited during start-up (${signal ?? code})`)); });
    proc.on('message', (m: { type?: string; port?: number }) => {
      if (m.type === 'listening' && m.port) {
        clearTimeout(timer);
        resolve({ proc, port: m.port });
      }
    });
  });
}

// ---- measuring ----
type Run = Options & {
  requests?: { method?: string; path?: string; headers?: Record<string, string>; body?: string; setupRequest?: (req: { body?: string }) => { body?: string } }[];
  tlsOptions?: { localAddress?: string };
  overallRate?: number;
};
interface Row { name: string; result: Result; expect: number; connections: number; kind: 'baseline' | 'reference' | 'route' | 'login' }

/** Answers with the expected status; everything else (other statuses, errors, timeouts) is a failure. */
function unexpected(r: Result, expect: number): number {
  const ok = r.statusCodeStats?.[String(expect)]?.count ?? 0;
  const answered = Object.values(r.statusCodeStats ?? {}).reduce((s, v) => s + v.count, 0);
  return answered - ok + r.errors + r.timeouts;
}

function table(headers: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const started = Date.now();
  const missing = missingPrograms();
  if (missing) throw new Error(missing);
  const work = stackDir('load');
  if (KEEP) step(`keeping ${work.dir}`);
  else cleanups.push({ name: 'temp folder', fn: work.remove });

  const serverUrl = startPostgres();
  const url = await createDatabase(serverUrl);
  step('migrating and seeding');
  const kdb = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  await migrateToLatest(kdb);
  await kdb.destroy();
  const seedClient = new pg.Client({ connectionString: url });
  await seedClient.connect();
  const seeded = await seedLeads(seedClient, { agents: AGENTS, leads: LEADS, heavyLeads: HEAVY, passwordHash: await bcrypt.hash(PASSWORD, BCRYPT_COST) })
    .finally(() => seedClient.end());
  step(`seeded ${fmt(seeded.leadCount)} leads, ${seeded.agentCount} agents`);

  // The stack.
  const cert = makeCertificate(work.dir);
  const ca = readFileSync(cert.cert);
  const redis = await startRedis(work.dir);
  cleanups.push({ name: 'redis-server', fn: () => redis.proc.stop('SIGTERM', 5000) });
  const appEnv = {
    DATABASE_URL: url, REDIS_URL: redis.url, SECRET_KEY: randomBytes(32).toString('hex'), BCRYPT_COST: String(BCRYPT_COST),
    // The seeded admin has no authenticator: measure the pages, not the 2FA enrolment redirect.
    ADMIN_2FA_REQUIRED: 'false',
    LOG_LEVEL: 'warn', DB_POOL_MAX: '10',
    // Every bench client is on loopback: the app's per-address login limit (10/min) would stop the logins.
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
  };
  const ports = [await freePort(), await freePort()];
  step('starting two app instances, redis-server and nginx');
  const apps = await Promise.all(ports.map((port, i) => startAppInstance(`app${i + 1}`, { port, dir: work.dir, env: appEnv })));
  for (const a of apps) cleanups.push({ name: a.proc.name, fn: () => a.proc.stop('SIGTERM', 20_000) });
  const nginx = await startNginx({ dir: work.dir, upstreams: [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`], cert, workers: NGINX_WORKERS });
  cleanups.push({ name: 'nginx', fn: () => nginx.proc.stop('SIGQUIT', 10_000) });
  const bares = [await startBare('bare server 1'), await startBare('bare server 2')];
  const bareNginx: NginxHandle = await startNginx({ dir: work.dir, upstreams: [`127.0.0.1:${bares[0]!.port}`, `127.0.0.1:${bares[1]!.port}`], cert, workers: NGINX_WORKERS });
  cleanups.push({ name: 'nginx (baseline)', fn: () => bareNginx.proc.stop('SIGQUIT', 10_000) });

  // Sessions, signed in through nginx like browsers.
  const agent = new HttpsClient(nginx.httpsPort, ca);
  await agent.login(seeded.heavyAgentUsername, PASSWORD);
  const admin = new HttpsClient(nginx.httpsPort, ca);
  await admin.login(ADMIN_USERNAME, PASSWORD);
  const creator = new HttpsClient(nginx.httpsPort, ca);
  await creator.login(agentUsername(2), PASSWORD);
  const createToken = await creator.csrfFrom('/leads/new');
  const loginClients = await Promise.all(Array.from({ length: LOGIN_CLIENTS }, async (_, i) => {
    const c = new HttpsClient(nginx.httpsPort, ca, `127.0.0.${20 + i}`);
    const token = await c.csrfFrom('/login');
    return { from: c.localAddress, cookie: c.cookieHeader(), token, username: agentUsername(3 + (i % (AGENTS - 3))) };
  }));
  const leadsBefore = await countLeads(url);

  const base = (port: number, p: string) => `https://localhost:${port}${p}`;
  // What a browser sends: every page may come compressed (by nginx, or already by the app: decision 031).
  const html = { accept: 'text/html', 'accept-encoding': 'gzip, deflate, br, zstd' };
  const form = { 'content-type': 'application/x-www-form-urlencoded', ...html };
  let phone = 1_000_000 + Math.floor(Math.random() * 8_000_000);
  const mix: { row: Omit<Row, 'result'>; opts: Run }[] = [
    { row: { name: 'dashboard (agent, 2,000 leads)', expect: 200, connections: C_DASH, kind: 'route' },
      opts: { url: base(nginx.httpsPort, '/dashboard'), connections: C_DASH, headers: { ...html, cookie: agent.cookieHeader() } } },
    { row: { name: 'lead list (admin, page 20 by name)', expect: 200, connections: C_LIST, kind: 'route' },
      opts: { url: base(nginx.httpsPort, '/dashboard?page=20&sort=deal_name&order=asc'), connections: C_LIST, headers: { ...html, cookie: admin.cookieHeader() } } },
    { row: { name: 'create lead (POST + CSRF)', expect: 303, connections: C_CREATE, kind: 'route' },
      opts: {
        url: base(nginx.httpsPort, '/leads'), connections: C_CREATE,
        requests: [{
          method: 'POST', path: '/leads', headers: { ...form, cookie: creator.cookieHeader() },
          setupRequest: (req) => {
            phone++;
            return { ...req, body: new URLSearchParams({ _csrf: createToken, deal_name: `Навантаження ${phone}`, phone: `+38050${String(phone).padStart(7, '0').slice(-7)}`, budget: '200к–500к' }).toString() };
          },
        }],
      } },
    ...loginClients.map((c, i) => ({
      row: { name: `login ${i + 1} (${c.from}, 1/s)`, expect: 303, connections: 1, kind: 'login' as const },
      opts: {
        url: base(nginx.httpsPort, '/login'), connections: 1, overallRate: 1, tlsOptions: { localAddress: c.from },
        method: 'POST', headers: { ...form, cookie: c.cookie },
        body: new URLSearchParams({ _csrf: c.token, username: c.username, password: PASSWORD }).toString(),
      } as Run,
    })),
  ];
  for (const m of mix) {
    if (m.row.kind === 'route' && m.row.connections <= 0) throw new Error(`BENCH_CONNECTIONS: ${m.row.name} needs at least one connection`);
  }

  const bareRun = (port: number, seconds: number): Run => ({ url: `https://localhost:${port}/bare`, connections: TOTAL_CONNECTIONS, duration: seconds });
  const rows: Row[] = [];
  step(`baseline: bare route through nginx, ${BASELINE} s at ${TOTAL_CONNECTIONS} connections`);
  rows.push({ name: 'bare route through nginx (baseline)', expect: 200, connections: TOTAL_CONNECTIONS, kind: 'baseline', result: await autocannon(bareRun(bareNginx.httpsPort, BASELINE) as Options) });
  step('reference: bare route without nginx');
  rows.push({
    name: 'bare route, no nginx (reference)', expect: 200, connections: TOTAL_CONNECTIONS, kind: 'reference',
    result: await autocannon({ url: `http://127.0.0.1:${bares[0]!.port}/bare`, connections: TOTAL_CONNECTIONS, duration: BASELINE }),
  });

  if (WARMUP > 0) {
    step(`warm-up: the mix for ${WARMUP} s`);
    await Promise.all(mix.map((m) => autocannon({ ...m.opts, duration: WARMUP } as Options)));
  }
  const createdInWarmup = (await settledLeadCount(url)) - leadsBefore;
  step(`the mix: ${mix.length} clients, ${TOTAL_CONNECTIONS} connections, ${DURATION} s`);
  const results = await Promise.all(mix.map((m) => autocannon({ ...m.opts, duration: DURATION, title: m.row.name } as Options)));
  mix.forEach((m, i) => rows.push({ ...m.row, result: results[i]! }));
  const createdInRun = (await settledLeadCount(url)) - leadsBefore - createdInWarmup;

  step(`baseline again, ${BASELINE} s`);
  rows.push({ name: 'bare route through nginx (again)', expect: 200, connections: TOTAL_CONNECTIONS, kind: 'baseline', result: await autocannon(bareRun(bareNginx.httpsPort, BASELINE) as Options) });
  const baselines = rows.filter((r) => r.kind === 'baseline');
  const baseline = baselines.reduce((s, r) => s + r.result.requests.average, 0) / baselines.length;

  // ---- report ----
  let failed = false;
  const failures: string[] = [];
  const out = rows.map((r) => {
    const bad = unexpected(r.result, r.expect);
    if (bad > 0 || r.result.requests.total === 0) {
      failed = true;
      const codes = Object.entries(r.result.statusCodeStats ?? {}).map(([code, v]) => `${code}×${v.count}`).join(', ');
      failures.push(`${r.name}: ${fmt(r.result.requests.total)} answers (${codes || 'none'}), ${r.result.errors} errors, ${r.result.timeouts} timeouts`);
    }
    const share = baseline * (r.connections / TOTAL_CONNECTIONS);
    const ratio = r.kind === 'route' ? fmt(r.result.requests.average / share, 3) : r.kind === 'login' ? '-' : fmt(r.result.requests.average / baseline, 2);
    return [r.name, String(r.connections), fmt(r.result.requests.average, r.kind === 'login' ? 1 : 0), fmt(r.result.latency.p50, 1), fmt(r.result.latency.p99, 1), ratio, fmt(r.result.requests.total), String(bad)];
  });
  const mixRows = rows.filter((r) => r.kind === 'route' || r.kind === 'login');
  const mixTotal = mixRows.reduce((s, r) => s + r.result.requests.average, 0);
  out.splice(rows.findIndex((r) => r.kind === 'baseline' && r !== baselines[0]), 0,
    ['the mix, all routes', String(mixRows.reduce((s, r) => s + r.connections, 0)), fmt(mixTotal), '', '', fmt(mixTotal / baseline, 3), fmt(mixRows.reduce((s, r) => s + r.result.requests.total, 0)), '']);

  // Requests still in flight when autocannon stops are answered (and their leads created) but not
  // counted: up to one per connection.
  const created303 = rows.find((r) => r.name.startsWith('create lead'))!.result.statusCodeStats?.['303']?.count ?? 0;
  const consistent = createdInRun >= created303 && createdInRun <= created303 + C_CREATE;
  if (!consistent) failed = true;

  say();
  say(`bench:load — nginx ${NGINX_WORKERS === 'auto' ? 'auto' : NGINX_WORKERS} worker(s), TLS, 2 app instances (pool 10 each, bcrypt ${BCRYPT_COST}), Redis, ` +
    `PostgreSQL ${env.BENCH_DATABASE_URL ? '(BENCH_DATABASE_URL)' : `throwaway :${PG_PORT}`}; ${fmt(seeded.leadCount)} leads, ${seeded.agentCount} agents; ` +
    `mix ${DURATION} s (+${WARMUP} s warm-up), baseline ${BASELINE} s ×2; node ${process.version}`);
  say(`baseline = mean of the two bare-route runs through nginx = ${fmt(baseline)} req/s at ${TOTAL_CONNECTIONS} connections`);
  say();
  say(table(['route', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'vs bare', 'requests', 'failed'], out, [false, true, true, true, true, true, true, true]));
  say();
  say('vs bare: a route\'s req/s ÷ (baseline req/s × its share of the connections); for the bare rows, ÷ baseline.');
  say(`leads created during the measured mix: ${fmt(createdInRun)} in the database, ${fmt(created303)} answers 303 counted ` +
    `(+ at most ${C_CREATE} in flight at the stop) — ${consistent ? 'consistent' : 'MISMATCH'}`);

  const logCounts = new Map<string, number>();
  for (const a of apps) {
    for (const f of safeList(a.logDir).filter((n) => n.startsWith('propart.log'))) {
      for (const line of readFileSync(path.join(a.logDir, f), 'utf8').split('\n').filter(Boolean)) {
        let key = line.slice(0, 160);
        try {
          const e = JSON.parse(line) as { level?: string; msg?: string; statusCode?: number; url?: string };
          key = `${e.level}: ${e.msg ?? ''}${e.statusCode ? ` ${e.statusCode}` : ''}${e.url ? ` ${e.url}` : ''}`;
        } catch { /* raw */ }
        logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
      }
    }
  }
  const logTotal = [...logCounts.values()].reduce((s, n) => s + n, 0);
  say(`the apps' logs (level warn and up) during the run: ${logTotal} line(s)${logTotal ? ':' : ''}`);
  for (const [k, n] of [...logCounts].sort((a, b) => b[1] - a[1]).slice(0, 8)) say(`  ${String(n).padStart(6)} × ${k}`);
  const nginxErrors = nginx.errorLog().split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
  say(`nginx error log: ${nginxErrors.length} error line(s)${nginxErrors.length ? `, e.g. ${nginxErrors[0]!.slice(0, 200)}` : ''}`);
  if (failed) {
    say();
    say('FAILED: some requests did not get the expected answer:');
    for (const f of failures) say(`  ${f}`);
    if (!consistent) say(`  created leads (${createdInRun}) do not match the 303 answers (${created303}, + up to ${C_CREATE} in flight)`);
  }
  say();
  say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return failed ? 1 : 0;
}

async function countLeads(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ n: number }>('select count(*)::int as n from leads')).rows[0]!.n;
  } finally {
    await c.end();
  }
}

/** The lead count once the requests still in flight have finished (two equal readings 300 ms apart). */
async function settledLeadCount(url: string): Promise<number> {
  let last = await countLeads(url);
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await countLeads(url);
    if (now === last) return now;
    last = now;
  }
  return last;
}

function safeList(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

await runBench('bench:load', main, cleanup);
