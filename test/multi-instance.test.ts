// Production at scale: two web instances (`src/server.ts`, NODE_ENV=production, one SECRET_KEY, SYNC_WORKER=off)
// and sync workers (`src/worker.ts`) as real processes on one PostgreSQL database and one Redis, with the
// fake HubSpot in this process. Proves: migrations and the first admin happen once when everything starts
// at the same moment; the login rate limit and sessions are shared; the HubSpot request budget is shared
// by two workers as HubSpot measures it; the scheduled pull runs once per round; a worker stopped with
// SIGTERM mid-round loses nothing; a web instance stopped with SIGTERM finishes its in-flight request,
// refuses new connections and exits 0.
// Needs PostgreSQL (TEST_DATABASE_URL, else the server binaries for a throw-away cluster) and redis-server.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { hashPassword } from '../src/auth/password.server.ts';
import { MIGRATIONS_DIR } from '../src/db/migrate.ts';
import type { Database } from '../src/db/schema.ts';
import { startFakeHubSpot, type FakeHubSpot, type RequestLogEntry } from './fake-hubspot/server.ts';
import {
  Browser, connectionRefused, exactlyOnceProblems, type Instance, type InstanceOptions, leadForm, missingServices, type PostgresServer,
  type RestartableRedis, sleep, spawnWeb, spawnWorker, startPostgres, startRestartableRedis, waitWebReady, waitWorkerReady,
} from './helpers/instances.ts';
import { killAll, waitFor } from './helpers/processes.ts';

const SKIP = missingServices({ redis: true });
const MIGRATIONS = readdirSync(MIGRATIONS_DIR).filter((f) => /\.(ts|js)$/.test(f)).map((f) => f.replace(/\.(ts|js)$/, '')).sort();

// The HubSpot budget of (c): 20 requests per 2 s for the whole installation; the fake allows 22.
const BUDGET = { limit: 20, windowMs: 2000 };
const TOKEN_1 = 'fake-token-worker-one';
const TOKEN_2 = 'fake-token-worker-two';
const LEADS = 150;

describe('several instances on one PostgreSQL and one Redis', { skip: SKIP }, () => {
  let dir = '';
  let pgServer: PostgresServer | undefined;
  let redis: RestartableRedis | undefined;
  let fake: FakeHubSpot | undefined;
  let db: Kysely<Database> | undefined;
  let opts: InstanceOptions;
  let webA: Instance;
  let webB: Instance;
  const workers: Instance[] = [];
  let startedAll = 0;

  // Rounds of 25 (five batches of 5, default concurrency), so both budget workers get a share of the leads.
  const workerEnv = (token: string) => ({
    HUBSPOT_ACCESS_TOKEN: token, HUBSPOT_BASE_URL: fake!.url, HUBSPOT_RATE_LIMIT: String(BUDGET.limit), HUBSPOT_RATE_WINDOW_MS: String(BUDGET.windowMs),
    HUBSPOT_BATCH_SIZE: '5', SYNC_ROUND_SIZE: '25', HUBSPOT_PULL_INTERVAL_SECONDS: '1', HUBSPOT_BACKOFF_BASE_MS: '100', HUBSPOT_BACKOFF_CAP_MS: '1000', HUBSPOT_TIMEOUT_MS: '5000',
  });
  const startWorker = (name: string, token: string) => {
    const w = spawnWorker(name, { ...opts, env: { ...opts.env, ...workerEnv(token) } });
    workers.push(w);
    return w;
  };
  const describeAll = async () => {
    const counts = db ? await db.selectFrom('sync_items').select(['status', sql<number>`count(*)::int`.as('n'), sql<number>`count(claimed_by)::int`.as('claimed')]).groupBy('status').execute().catch(() => []) : [];
    return `sync_items: ${JSON.stringify(counts)}; fake requests: ${fake?.state.requests.length}\n${[webA, webB, ...workers].filter(Boolean).map((i) => i.describe()).join('\n')}`;
  };
  const seedUser = async (username: string, password: string, displayName: string) => (await db!.insertInto('users').values({
    username, email: `${username}@propart.example`, display_name: displayName, password_hash: await hashPassword(password, 4), role: 'agent',
  }).returning('id').executeTakeFirstOrThrow()).id;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'propart-multi-'));
    pgServer = await startPostgres();
    redis = await startRestartableRedis();
    fake = await startFakeHubSpot({ indexingDelayMs: 0, burstMax: BUDGET.limit + 2, burstIntervalMs: BUDGET.windowMs, tokens: [TOKEN_1, TOKEN_2] });
    fake.faults.latency(10);
    const databaseUrl = await pgServer.createDatabase();
    // A long statement timeout only so the shutdown test can hold a lock for a few seconds.
    opts = { dir, databaseUrl, redisUrl: redis.url, env: { DB_STATEMENT_TIMEOUT_MS: '15000', LOGIN_RATE_LIMIT_PER_MINUTE: '10' } };
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    pool.on('error', () => {});
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    // Everything at the same moment, on an empty database.
    startedAll = Date.now();
    [webA, webB] = await Promise.all([spawnWeb('web-a', opts), spawnWeb('web-b', opts)]);
    startWorker('worker-1', TOKEN_1);
    await Promise.all([waitWebReady(webA), waitWebReady(webB), waitWorkerReady(workers[0]!)]);
  });

  after(async () => {
    // Always, also after a failure: no process outlives the file.
    await killAll();
    await db?.destroy();
    await fake?.close();
    await redis?.destroy();
    await pgServer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('simultaneous start-up: the migrations ran once and one first administrator was made', async (t) => {
    t.diagnostic(`two web instances and a worker ready ${Date.now() - startedAll} ms after starting together`);
    const applied = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db!)).rows;
    assert.deepEqual(applied.map((r) => r.name), MIGRATIONS, 'every migration recorded, each once');
    const logged = [webA, webB].flatMap((w) => w.log().filter((l) => l.msg === 'migrations applied').map((l) => ({ who: w.name, applied: l.applied as string[] })));
    // The worker migrates silently; whichever process won, no migration was applied by two of them.
    assert.ok(logged.length <= 1, `only one instance applied migrations: ${JSON.stringify(logged)}`);
    if (logged.length === 1) assert.deepEqual(logged[0]!.applied, MIGRATIONS);
    for (const i of [webA, webB, workers[0]!]) {
      assert.equal(i.proc.exit(), null, `${i.name} is running`);
      assert.doesNotMatch(i.proc.output(), /migrations failed|unique|already exists/i, i.name);
    }
    const admins = await db!.selectFrom('users').select('username').where('role', '=', 'admin').execute();
    assert.equal(admins.length, 1, 'one first administrator');
    const printed = [webA, webB].filter((w) => w.proc.output().includes('created the administrator account'));
    assert.equal(printed.length, 1, 'its password was printed by one instance only');
  });

  test('(a) the login rate limit is shared: 6 attempts on one instance and 5 on the other from one IP, the 11th is 429', async () => {
    const b = new Browser({ ip: '127.0.0.2' });
    await b.get(webA.base, '/login');
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++) statuses.push(`a:${(await b.login(webA.base, 'nobody_here', `wrong-${i}`)).status}`);
    for (let i = 0; i < 5; i++) statuses.push(`b:${(await b.login(webB.base, 'nobody_here', `wrong-${i}`)).status}`);
    assert.deepEqual(statuses, [...Array(6).fill('a:401'), ...Array(4).fill('b:401'), 'b:429'], 'ten counted across both instances, the eleventh refused');
    const last = await b.login(webA.base, 'nobody_here', 'wrong-again');
    assert.equal(last.status, 429, 'and refused on the first instance too');
    assert.ok(Number(last.headers['retry-after']) > 0, 'with Retry-After');
    // Another client IP is not affected.
    const other = new Browser({ ip: '127.0.0.3' });
    assert.equal((await other.login(webB.base, 'nobody_here', 'x')).status, 401);
  });

  test('(b) a session started on one instance works on the other; deactivating the user ends it on both', async () => {
    const userId = await seedUser('mi_agent', 'mi-agent-password', 'Агентка Спільна');
    const b = new Browser({ ip: '127.0.0.4' });
    const login = await b.login(webA.base, 'mi_agent', 'mi-agent-password');
    assert.equal(login.status, 303, login.body.slice(0, 300));
    assert.ok(b.jar.has('propart_sid'), 'a session cookie');
    const onB = await b.get(webB.base, '/dashboard');
    assert.equal(onB.status, 200, 'the cookie from instance A opens the dashboard on instance B');
    assert.match(onB.body, /Агентка Спільна/);
    const onA = await b.get(webA.base, '/dashboard');
    assert.equal(onA.status, 200);
    // A state change on B with the CSRF token of a page from A.
    await b.get(webA.base, '/leads/new');
    const created = await b.post(webB.base, '/leads', leadForm(1, 'session'));
    assert.equal(created.status, 303, created.body.slice(0, 300));

    await db!.updateTable('users').set({ is_active: false }).where('id', '=', userId).execute();
    const sid = b.jar.get('propart_sid')!;
    for (const w of [webA, webB]) {
      b.jar.set('propart_sid', sid);
      const res = await b.get(w.base, '/dashboard');
      assert.equal(res.status, 302, `${w.name}: the deactivated user's session is over`);
      assert.match(String(res.headers.location), /^\/login/);
      assert.equal(b.jar.has('propart_sid'), false, `${w.name} clears the cookie`);
    }
  });

  test('(c) two workers share one HubSpot budget: never more than 20 requests in any 2 s window, no 429; SIGTERM mid-round loses nothing', { timeout: 120_000 }, async (t) => {
    await seedUser('mi_loader', 'mi-loader-password', 'Агент Навантаження');
    // The leads are made first, with no worker running: while HubSpot traffic flows this process (which
    // also hosts the fake and stamps each request's arrival) stays idle, so the fake's clock is exact.
    const w1 = workers[0]!;
    w1.proc.signal('SIGTERM');
    assert.deepEqual(await w1.proc.waitExit(15_000), { code: 0, signal: null }, w1.describe());

    // Leads created through both web instances, four at a time.
    const lanes = [webA, webB, webA, webB].map((w, i) => ({ w, b: new Browser({ ip: `127.0.1.${i + 1}` }) }));
    for (const { w, b } of lanes) {
      assert.equal((await b.login(w.base, 'mi_loader', 'mi-loader-password')).status, 303);
      await b.get(w.base, '/leads/new');
    }
    let next = 0;
    const createStarted = Date.now();
    await Promise.all(lanes.map(async ({ w, b }) => {
      for (let guard = 0; guard < LEADS && next < LEADS; guard++) {
        const res = await b.post(w.base, '/leads', leadForm(next++, 'budget'), { timeoutMs: 15_000 });
        assert.equal(res.status, 303, `${w.name}: ${res.body.slice(0, 200)}`);
      }
    }));
    t.diagnostic(`${LEADS} leads created through both instances in ${Date.now() - createStarted} ms`);

    const syncFrom = fake!.state.requests.length;
    const wa = startWorker('worker-a', TOKEN_1);
    const wb = startWorker('worker-b', TOKEN_1);
    await Promise.all([waitWorkerReady(wa), waitWorkerReady(wb)]);
    for (const w of [wa, wb]) assert.match(w.proc.output(), /"limiter":"redis"/, `${w.name} uses the shared budget`);

    // SIGTERM to worker a while it holds a batch: it finishes it and exits 0; nothing is lost.
    const pidClaim = `%:${wa.proc.pid}:%`;
    const held = await waitFor('worker a to hold a batch', async () => {
      const rows = await db!.selectFrom('sync_items').select(['id', 'entity_id']).where('claimed_by', 'like', pidClaim).where('claimed_until', '>', sql<Date>`now()`).execute();
      return rows.length > 0 ? rows : null;
    }, { timeoutMs: 30_000, intervalMs: 5, describe: describeAll });
    wa.proc.signal('SIGTERM');
    const exit = await wa.proc.waitExit(15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, wa.describe());
    assert.match(wa.proc.output(), /worker stopping after the current round/);
    const heldNow = await db!.selectFrom('sync_items').select(['id', 'status', 'claimed_by']).where('id', 'in', held.map((h) => h.id)).execute();
    assert.equal(heldNow.length, held.length);
    for (const r of heldNow) {
      assert.ok(r.status === 'synced' || r.status === 'pending', `item ${r.id} of the interrupted batch is ${r.status}`);
      assert.equal(r.claimed_by, null, `item ${r.id} is no longer claimed by the stopped worker`);
    }
    t.diagnostic(`worker a stopped mid-round: ${heldNow.map((r) => r.status).join(', ')}`);
    const wc = startWorker('worker-c', TOKEN_1);
    await waitWorkerReady(wc);

    await waitFor('every lead to be synced', async () => (await db!.selectFrom('sync_items').select('id').where('status', '!=', 'synced').execute()).length === 0,
      { timeoutMs: 60_000, intervalMs: 200, describe: describeAll });
    const requests = fake!.state.requests;
    assert.ok(requests.length - syncFrom > 3 * BUDGET.limit, `enough traffic for several windows (${requests.length - syncFrom})`);
    const max = fake!.state.maxRequestsInWindow(BUDGET.windowMs);
    const rejected = requests.filter((r) => r.status === 429).length;
    const ats = requests.map((r) => r.at).sort((x, y) => x - y);
    const tightest = Math.min(...ats.slice(BUDGET.limit).map((a, i) => a - ats[i]!));
    t.diagnostic(`the closest ${BUDGET.limit + 1} consecutive requests spanned ${tightest} ms`);
    t.diagnostic(`${requests.length} HubSpot requests; at most ${max} in any ${BUDGET.windowMs} ms window (budget ${BUDGET.limit}, the fake allows ${BUDGET.limit + 2}); ${rejected} × 429`);
    assert.equal(rejected, 0, 'HubSpot never answered 429');
    assert.ok(max <= BUDGET.limit, `at most ${BUDGET.limit} requests in any ${BUDGET.windowMs} ms window as HubSpot saw them, was ${max}`);
    for (const w of [wa, wb]) assert.ok(w.log().some((l) => l.event === 'hubspot_sync'), `${w.name} pushed a share of the leads`);
    for (const w of [wa, wb, wc]) assert.ok(!w.log().some((l) => l.msg.includes('budget falls back')), `${w.name} never fell back to a budget of its own`);
    const leads = await db!.selectFrom('leads').select(['id', 'email', 'hubspot_deal_id', 'hubspot_contact_id']).execute();
    assert.equal(leads.filter((l) => l.email?.startsWith('budget.')).length, LEADS);
    assert.deepEqual(exactlyOnceProblems(fake!, leads), [], 'every lead in HubSpot exactly once');
  });

  test('(d) the scheduled pull runs once per round with two workers (a lease), never by both', { timeout: 60_000 }, async (t) => {
    // The budget workers go (SIGTERM, exit 0); two new ones with their own tokens, so the fake's log says who asked.
    for (const w of workers.filter((x) => !x.proc.exit())) {
      w.proc.signal('SIGTERM');
      assert.deepEqual(await w.proc.waitExit(15_000), { code: 0, signal: null }, w.describe());
    }
    const p1 = startWorker('puller-1', TOKEN_1);
    const p2 = startWorker('puller-2', TOKEN_2);
    await Promise.all([waitWorkerReady(p1), waitWorkerReady(p2)]);
    const from = Date.now() + 1500; // past their start-up requests
    const SPAN_MS = 8000;
    await sleep(from + SPAN_MS - Date.now());
    const searches = fake!.state.requests.filter((r) => r.path === '/crm/v3/objects/deals/search' && r.at >= from && r.at < from + SPAN_MS).sort((x, y) => x.at - y.at);
    // A round = searches less than 400 ms apart (a pull pages through the results in quick succession).
    const rounds: RequestLogEntry[][] = [];
    for (const s of searches) {
      const last = rounds.at(-1);
      if (last && s.at - last.at(-1)!.at < 400) last.push(s);
      else rounds.push([s]);
    }
    const who = (r: RequestLogEntry) => (r.token === TOKEN_1 ? 'p1' : r.token === TOKEN_2 ? 'p2' : '?');
    t.diagnostic(`${searches.length} deal searches in ${SPAN_MS} ms at a 1 s interval: rounds by ${rounds.map((r) => r.map(who).join('+')).join(' ')}`);
    for (const r of rounds) assert.equal(new Set(r.map(who)).size, 1, `a round searched by two workers at once: ${r.map((s) => `${who(s)}@${s.at - from}`).join(', ')}`);
    const gaps = rounds.slice(1).map((r, i) => r[0]!.at - rounds[i]!.at(-1)!.at);
    assert.ok(gaps.every((g) => g >= 500), `rounds at least half an interval apart: ${gaps.join(', ')} ms`);
    assert.ok(rounds.length >= 4, `the pull kept running (${rounds.length} rounds)`);
    assert.ok(rounds.length <= SPAN_MS / 1000 + 1, `about one round per interval, not one per worker: ${rounds.length} rounds in ${SPAN_MS} ms`);
    for (const w of [p1, p2]) assert.doesNotMatch(w.proc.output(), /sync loop error/, w.name);
  });

  test('SIGTERM to a web instance with a slow request in flight: the request completes with 200, new connections are refused, exit 0', { timeout: 60_000 }, async (t) => {
    const b = new Browser({ ip: '127.0.0.5' });
    assert.equal((await b.login(webB.base, 'mi_loader', 'mi-loader-password')).status, 303);
    // The dashboard waits while the leads table is locked: a slow request, for as long as we like.
    const lockPool = new pg.Client({ connectionString: opts.databaseUrl });
    lockPool.on('error', () => {});
    await lockPool.connect();
    try {
      await lockPool.query('begin');
      await lockPool.query('lock table leads in access exclusive mode');
      const inFlight = b.get(webB.base, '/dashboard', { timeoutMs: 30_000 });
      inFlight.catch(() => {});
      await waitFor('the dashboard query to wait for the lock', async () => (await sql<{ n: number }>`
        select count(*)::int as n from pg_locks
        where database = (select oid from pg_database where datname = current_database()) and relation = 'leads'::regclass and not granted`.execute(db!)).rows[0]!.n > 0,
      { timeoutMs: 10_000, intervalMs: 20 });
      const signalled = Date.now();
      webB.proc.signal('SIGTERM');
      await waitFor('web-b to stop accepting connections', () => connectionRefused(webB.port, 1000), { timeoutMs: 10_000, intervalMs: 50, describe: () => webB.describe() });
      t.diagnostic(`new connections refused ${Date.now() - signalled} ms after SIGTERM`);
      assert.equal(webB.proc.exit(), null, 'still running: the request is in flight');
      await sleep(300);
      assert.equal(webB.proc.exit(), null, 'and it waits for it');
      await lockPool.query('rollback');
      const res = await inFlight;
      assert.equal(res.status, 200, 'the in-flight request completed');
      assert.match(res.body, /Агент Навантаження/);
      t.diagnostic(`in-flight dashboard answered 200 after ${Math.round(res.ms)} ms`);
    } finally {
      await lockPool.query('rollback').catch(() => {});
      await lockPool.end().catch(() => {});
    }
    const exit = await webB.proc.waitExit(15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, webB.describe());
    const msgs = webB.log().map((l) => l.msg);
    assert.ok(msgs.includes('shutting down: finishing in-flight requests') && msgs.includes('stopped'), 'the shutdown is logged');
    assert.equal(await connectionRefused(webB.port), true);
    // The other instance goes on serving the same session.
    const onA = await b.get(webA.base, '/dashboard');
    assert.equal(onA.status, 200);
  });
});
