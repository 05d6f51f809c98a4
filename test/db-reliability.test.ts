// Database reliability (seed §1): one transaction per request with rollback on errors, automatic reconnect
// after the server goes away, statement timeouts, concurrent migrations, rollback/migrate and /readyz.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { hashPassword } from '../src/auth/password.server.ts';
import { loadConfig } from '../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/database.ts';
import { MIGRATIONS_DIR, migrateToLatest, pendingMigrations, rollbackOne } from '../src/db/migrate.ts';
import { createLogger, type LogHandle } from '../src/platform/logging.ts';
import { uk } from '../src/views/i18n/uk.ts';
import { startTestApp, seedUser, TEST_SECRET, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';
import { createPgCluster, findPgBinDir, type PgCluster } from './helpers/pg-cluster.ts';

const UNAVAILABLE = uk['error.unavailable'];
const INTERNAL = uk['error.internal'];
/** Text that must never reach a client: the exception's message, SQL, stack frames. */
const SECRET_DETAIL = 'probe-exploded-with-secret-detail-8c1f';
const MIGRATIONS = readdirSync(MIGRATIONS_DIR).filter((f) => /\.(ts|js)$/.test(f)).map((f) => f.replace(/\.(ts|js)$/, '')).sort();

type Body = { username?: string };
const newUser = (username: string) => ({ username, email: `${username}@example.com`, display_name: username, password_hash: 'not-a-hash', role: 'agent' as const });

/** Probe routes: writes through request.db, then fail (or not) in different ways. */
async function probes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: Body }>('/probe/insert-then-throw', { config: { public: true } }, async (request) => {
    await request.db.insertInto('users').values(newUser(request.body.username!)).execute();
    throw new Error(`${SECRET_DETAIL}: insert into users failed half-way`);
  });
  app.post<{ Body: Body }>('/probe/insert-then-sql-error', { config: { public: true } }, async (request) => {
    await request.db.insertInto('users').values(newUser(request.body.username!)).execute();
    await sql`select * from probe_no_such_table_8c1f`.execute(request.db);
    return { ok: true };
  });
  app.post<{ Body: Body }>('/probe/insert-ok', { config: { public: true } }, async (request) => {
    const row = await request.db.insertInto('users').values(newUser(request.body.username!)).returning('id').executeTakeFirstOrThrow();
    return { ok: true, id: row.id };
  });
  // The handler succeeds but COMMIT fails (a deferred foreign key): the client must not be told "saved".
  app.post<{ Body: Body }>('/probe/insert-then-commit-fails', { config: { public: true } }, async (request) => {
    await request.db.insertInto('users').values(newUser(request.body.username!)).execute();
    await sql`create temp table probe_parent (id int primary key) on commit drop`.execute(request.db);
    await sql`create temp table probe_child (parent_id int references probe_parent (id) deferrable initially deferred) on commit drop`.execute(request.db);
    await sql`insert into probe_child values (42)`.execute(request.db);
    return { ok: true };
  });
  app.get('/probe/sleep', { config: { public: true } }, async (request) => {
    await sql`select pg_sleep(3)`.execute(request.db);
    return { slept: true };
  });
  app.post<{ Body: Body }>('/probe/write', async (request) => {
    await request.db.insertInto('users').values(newUser(request.body.username!)).execute();
    return { ok: true };
  });
}

function assertNoLeak(res: LightMyRequestResponse): void {
  assert.doesNotMatch(res.body, new RegExp(SECRET_DETAIL), 'exception text leaked');
  assert.doesNotMatch(res.body, /probe_no_such_table|insert into|select \*|relation "/i, 'SQL leaked');
  assert.doesNotMatch(res.body, /\bat .+\.(ts|tsx|js):\d+|node:internal|Error:/, 'stack leaked');
}

async function userExists(db: Kysely<any>, username: string): Promise<boolean> {
  return !!(await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst());
}

for (const kind of databaseKinds()) {
  describe(`one transaction per request [${kind}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(kind, { extraRoutes: probes });
    });
    after(() => t.close());

    test('a handler that throws after writing: 500 page with a request id, nothing written', async () => {
      const c = new Client(t.app);
      const res = await c.post('/probe/insert-then-throw', { username: 'rollback_html' });
      assert.equal(res.statusCode, 500);
      assert.match(String(res.headers['content-type']), /text\/html/);
      const requestId = String(res.headers['x-request-id']);
      assert.match(requestId, /^[0-9a-f-]{36}$/);
      assert.ok(res.body.includes(requestId), 'the page shows the request id');
      assert.ok(res.body.includes(INTERNAL), 'the page shows the generic message');
      assertNoLeak(res);
      assert.equal(await userExists(t.app.db, 'rollback_html'), false, 'the insert was rolled back');
    });

    test('the same as JSON: {error, requestId} only', async () => {
      const c = new Client(t.app);
      const res = await c.json('POST', '/probe/insert-then-throw', { username: 'rollback_json' });
      assert.equal(res.statusCode, 500);
      assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'requestId']);
      assert.equal(res.json().error, INTERNAL);
      assert.equal(res.json().requestId, res.headers['x-request-id']);
      assertNoLeak(res);
      assert.equal(await userExists(t.app.db, 'rollback_json'), false);
    });

    test('a failing SQL statement after a write: 500 without the SQL, the write is not kept', async () => {
      const c = new Client(t.app);
      const res = await c.json('POST', '/probe/insert-then-sql-error', { username: 'rollback_sql' });
      assert.equal(res.statusCode, 500);
      assertNoLeak(res);
      assert.equal(await userExists(t.app.db, 'rollback_sql'), false);
    });

    test('a failing COMMIT answers 500, never 200, keeps nothing and frees the connection', { timeout: 10_000 }, async () => {
      const c = new Client(t.app);
      const res = await c.json('POST', '/probe/insert-then-commit-fails', { username: 'rollback_commit' });
      assert.equal(res.statusCode, 500);
      assertNoLeak(res);
      assert.equal(await userExists(t.app.db, 'rollback_commit'), false);
      // The connection went back to the pool (a leaked one would hang PGlite and drain a pg pool).
      const stats = t.database.handle.poolStats();
      if (kind === 'postgres') assert.equal(stats.idle, stats.total, `connections still checked out: ${JSON.stringify(stats)}`);
      const ok = await c.json('POST', '/probe/insert-ok', { username: 'after_commit_fail' });
      assert.equal(ok.statusCode, 200);
    });

    test('a handler that succeeds: its write is committed', async () => {
      const c = new Client(t.app);
      const res = await c.json('POST', '/probe/insert-ok', { username: 'committed_user' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().ok, true);
      assert.equal(await userExists(t.app.db, 'committed_user'), true);
      const form = await c.post('/probe/insert-ok', { username: 'committed_form' });
      assert.equal(form.statusCode, 200);
      assert.equal(await userExists(t.app.db, 'committed_form'), true);
    });

    test('a private probe route works for a signed-in user (CSRF + session), and rolls back the same way', async () => {
      await seedUser(t, { username: 'probe_agent', password: 'probe-password-1' });
      const c = new Client(t.app);
      assert.equal((await c.login('probe_agent', 'probe-password-1')).statusCode, 303);
      await c.get('/dashboard');
      const anon = await new Client(t.app).json('POST', '/probe/write', { username: 'anon_write' });
      assert.equal(anon.statusCode, 401);
      const res = await c.json('POST', '/probe/write', { username: 'private_write' });
      assert.equal(res.statusCode, 200);
      assert.equal(await userExists(t.app.db, 'private_write'), true);
      const boom = await c.post('/probe/insert-then-throw', { username: 'private_rollback' });
      assert.equal(boom.statusCode, 500);
      assert.ok(boom.body.includes(String(boom.headers['x-request-id'])));
      assert.equal(await userExists(t.app.db, 'private_rollback'), false);
    });
  });

  describe(`statement timeout [${kind}]`, () => {
    test('a query running longer than the statement timeout ends with 503, well before it would finish', {
      // Checked by hand: PGlite accepts SET statement_timeout but pg_sleep(3) and a CPU-bound query both run
      // to the end. Not faked here; on PGlite a slow query simply takes as long as it takes.
      skip: kind === 'pglite'
        ? 'PGlite (single-threaded WASM, no timer signals) does not enforce statement_timeout; only a real PostgreSQL server does'
        : false,
      timeout: 15_000,
    }, async () => {
      const t = await startTestApp(kind, { extraRoutes: probes, dbOverrides: { statementTimeoutMs: 500 } });
      try {
        const started = Date.now();
        const res = await t.app.inject({ method: 'GET', url: '/probe/sleep', headers: { accept: 'application/json' } });
        const elapsed = Date.now() - started;
        assert.equal(res.statusCode, 503);
        assert.equal(res.json().error, UNAVAILABLE);
        // The server cancels it at 500 ms; the client-side read timeout (statement + 1 s) would only fire at 1.5 s.
        assert.ok(elapsed < 1300, `answered after ${elapsed} ms; the server should have cancelled the statement at 500 ms`);
        // The connection that ran it is still usable.
        const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
        assert.equal(ready.statusCode, 200);
      } finally {
        await t.close();
      }
    });
  });

  describe(`migrate, roll back, migrate again; /readyz [${kind}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(kind);
    });
    after(() => t.close());

    test('readyz is ready when migrated, lists the pending migration after a rollback, and is ready again after migrating', async () => {
      assert.deepEqual(await pendingMigrations(t.app.db), []);
      let res = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().status, 'ready');
      assert.equal(res.json().driver, kind);

      const last = MIGRATIONS.at(-1)!;
      assert.deepEqual(await rollbackOne(t.app.db), [last]);
      assert.deepEqual(await pendingMigrations(t.app.db), [last]);
      res = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().status, 'not ready');
      assert.deepEqual(res.json().pendingMigrations, [last]);

      assert.deepEqual(await migrateToLatest(t.app.db), [last]);
      assert.deepEqual(await pendingMigrations(t.app.db), []);
      assert.deepEqual(await migrateToLatest(t.app.db), [], 'a second run applies nothing');
      res = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().status, 'ready');

      // The schema is really back: the app can register and log in a user.
      await seedUser(t, { username: 'after_remigrate', password: 'after-remigrate-1' });
      const c = new Client(t.app);
      assert.equal((await c.login('after_remigrate', 'after-remigrate-1')).statusCode, 303);
      assert.equal((await c.get('/dashboard')).statusCode, 200);
    });

    test('rolling back every migration empties the schema; migrating brings all of it back', async () => {
      for (let i = 0; i < MIGRATIONS.length; i++) await rollbackOne(t.app.db);
      assert.deepEqual(await pendingMigrations(t.app.db), MIGRATIONS);
      await assert.rejects(sql`select 1 from users`.execute(t.app.db), /users/);
      assert.deepEqual(await rollbackOne(t.app.db), [], 'nothing left to roll back');
      assert.deepEqual(await migrateToLatest(t.app.db), MIGRATIONS);
      assert.deepEqual(await pendingMigrations(t.app.db), []);
      const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_name in ('users', 'sessions') order by 1`.execute(t.app.db);
      assert.deepEqual(tables.rows.map((r) => r.table_name), ['sessions', 'users']);
    });
  });
}

describe('migrations when two instances start at once [postgres]', { skip: process.env.TEST_DATABASE_URL ? false : 'set TEST_DATABASE_URL to run against a PostgreSQL server' }, () => {
  const created: string[] = [];
  const admin = () => new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  after(async () => {
    const c = admin();
    await c.connect();
    for (const name of created) await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  });

  async function freshDatabase(): Promise<string> {
    const name = `propart_mig_${process.pid}_${created.length}`;
    const c = admin();
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.query(`create database ${name}`);
    await c.end();
    created.push(name);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${name}`;
    return url.toString();
  }

  test('several instances migrating one fresh database concurrently all succeed; each migration is applied once', { timeout: 60_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      const url = await freshDatabase();
      // Separate pools, as separate processes would have, with the production pool settings.
      const instances: DatabaseHandle[] = await Promise.all([0, 1, 2].map(() => openDatabase({
        url, pgliteDir: '', poolMax: 10, connectTimeoutMs: 3000, idleTimeoutMs: 30000, statementTimeoutMs: 5000,
      }, pino({ level: 'silent' }))));
      try {
        const results = await Promise.allSettled(instances.map((i) => migrateToLatest(i.db)));
        const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
        assert.deepEqual(failures, [], `round ${round}: every instance starts`);
        const applied = results.flatMap((r) => (r as PromiseFulfilledResult<string[]>).value);
        assert.deepEqual(applied.sort(), MIGRATIONS, 'each migration was applied by exactly one instance');
        const rows = await sql<{ name: string; n: number }>`select name, count(*)::int as n from kysely_migration group by name order by name`.execute(instances[0]!.db);
        assert.deepEqual(rows.rows, MIGRATIONS.map((name) => ({ name, n: 1 })));
        for (const i of instances) assert.deepEqual(await pendingMigrations(i.db), []);
      } finally {
        await Promise.all(instances.map((i) => i.close()));
      }
    }
  });

  test('an instance waiting for another instance\'s long migration does not give up at the statement timeout', { timeout: 30_000 }, async () => {
    const url = await freshDatabase();
    // Instance A is "migrating": it holds the advisory lock Kysely's Migrator takes on PostgreSQL
    // (kysely/dist/dialect/postgres/postgres-adapter.js LOCK_ID) for longer than B's statement timeout.
    const a = new pg.Client({ connectionString: url });
    await a.connect();
    const b = await openDatabase({ url, pgliteDir: '', poolMax: 10, connectTimeoutMs: 3000, idleTimeoutMs: 30000, statementTimeoutMs: 500 }, pino({ level: 'silent' }));
    try {
      await a.query('select pg_advisory_lock(3853314791062309107)');
      const holdMs = 2500; // > statement timeout (500 ms) and > the client-side read timeout (1.5 s)
      const release = setTimeout(() => void a.query('select pg_advisory_unlock(3853314791062309107)'), holdMs);
      const started = Date.now();
      try {
        assert.deepEqual(await migrateToLatest(b.db), MIGRATIONS);
      } finally {
        clearTimeout(release);
      }
      const waited = Date.now() - started;
      assert.ok(waited >= holdMs - 100, `B did not wait for the lock (${waited} ms): did Kysely change its lock id?`);
      assert.deepEqual(await pendingMigrations(b.db), []);
      // The app's own pool keeps its statement timeout.
      await assert.rejects(sql`select pg_sleep(2)`.execute(b.db), (err: { code?: string }) => err.code === '57014');
    } finally {
      await a.end();
      await b.close();
    }
  });
});

// ---- Automatic reconnect: needs a server this test may stop, crash, freeze and start again. ----

const pgBin = findPgBinDir();

interface ClusterApp { app: FastifyInstance; database: DatabaseHandle; log: LogHandle; dir: string }

async function buildAppOn(url: string, env: Record<string, string> = {}): Promise<ClusterApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'propart-reconnect-'));
  // The production defaults for the pool (connect 3 s, statement 5 s), unless a test says otherwise.
  const { config } = loadConfig({
    NODE_ENV: 'test', SECRET_KEY: TEST_SECRET, DATABASE_URL: url, DATA_DIR: path.join(dir, 'data'),
    LOG_DIR: path.join(dir, 'logs'), LOG_TO_STDOUT: 'false', BCRYPT_COST: '4', ...env,
  });
  const log = createLogger(config.log);
  const database = await openDatabase(config.database, log.logger);
  await migrateToLatest(database.db);
  const app = await buildApp({ config, logger: log.logger, database, extraRoutes: probes });
  await app.ready();
  return { app, database, log, dir };
}

async function closeClusterApp(a: ClusterApp): Promise<void> {
  await a.app.close();
  await a.database.close();
  await a.log.close();
  rmSync(a.dir, { recursive: true, force: true });
}

/** Runs a request and measures it; a request that never answers fails the test instead of hanging it. */
async function timed(what: string, fn: () => Promise<LightMyRequestResponse>, limitMs: number): Promise<{ res: LightMyRequestResponse; ms: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${limitMs * 3} ms (hangs)`)), limitMs * 3);
  });
  try {
    const res = await Promise.race([fn(), hang]);
    const ms = Date.now() - started;
    assert.ok(ms < limitMs, `${what}: answered after ${ms} ms, limit ${limitMs} ms`);
    return { res, ms };
  } finally {
    clearTimeout(timer);
  }
}

describe('automatic reconnect [postgres, throw-away cluster]', { skip: pgBin ? false : 'no PostgreSQL server binaries (set PG_BIN_DIR or apt-get install postgresql)' }, () => {
  let cluster: PgCluster;
  let url: string;
  before(async () => {
    cluster = await createPgCluster();
    url = await cluster.createDatabase('propart_reconnect');
  });
  after(async () => {
    await cluster?.destroy();
  });

  async function assertUnavailable(a: ClusterApp, c: Client, limitMs: number): Promise<void> {
    // A page for a signed-in user: the session lookup itself needs the database.
    const page = await timed('GET /dashboard', () => c.get('/dashboard'), limitMs);
    assert.equal(page.res.statusCode, 503);
    assert.match(String(page.res.headers['content-type']), /text\/html/);
    assert.ok(page.res.body.includes(UNAVAILABLE), 'the page says the service is temporarily unavailable');
    assert.ok(page.res.body.includes(String(page.res.headers['x-request-id'])));
    assertNoLeak(page.res);

    const ready = await timed('GET /readyz', () => a.app.inject({ method: 'GET', url: '/readyz' }), limitMs);
    assert.equal(ready.res.statusCode, 503);
    assert.deepEqual(ready.res.json(), { status: 'not ready', database: 'unreachable' });

    const json = await timed('POST /probe/write (JSON)', () => c.json('POST', '/probe/write', { username: `down_${Date.now()}` }), limitMs);
    assert.equal(json.res.statusCode, 503);
    assert.deepEqual(Object.keys(json.res.json()).sort(), ['error', 'requestId']);
    assert.equal(json.res.json().error, UNAVAILABLE);
    assertNoLeak(json.res);

    // An anonymous page whose handler (not a hook) queries.
    const anon = await timed('GET /register', () => a.app.inject({ method: 'GET', url: '/register', headers: { accept: 'text/html' } }), limitMs);
    assert.equal(anon.res.statusCode, 503);
    assert.ok(anon.res.body.includes(UNAVAILABLE));
  }

  async function assertWorks(a: ClusterApp, c: Client, tag: string): Promise<void> {
    const page = await timed(`GET /dashboard after restart (${tag})`, () => c.get('/dashboard'), 5000);
    assert.equal(page.res.statusCode, 200, 'the very next request works, with the same session');
    assert.match(page.res.body, /data-testid="dashboard-hello"/);
    const ready = await a.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    const write = await c.json('POST', '/probe/write', { username: `up_${tag}` });
    assert.equal(write.statusCode, 200);
    assert.equal(await userExists(a.database.db, `up_${tag}`), true);
  }

  test('server stopped (fast, then crash): 503 with the Ukrainian message within 5 s; after a restart the next request works', { timeout: 90_000 }, async () => {
    const a = await buildAppOn(url);
    try {
      await a.database.db.insertInto('users').values({ ...newUser('reconnect_agent'), password_hash: await hashPassword('reconnect-pass-1', 4) }).execute();
      const c = new Client(a.app);
      assert.equal((await c.login('reconnect_agent', 'reconnect-pass-1')).statusCode, 303);
      await assertWorks(a, c, 'initial');

      for (const mode of ['fast', 'immediate'] as const) {
        await cluster.stop(mode);
        await assertUnavailable(a, c, 5000);
        // Still down: a second round answers the same way (the pool does not get stuck).
        await assertUnavailable(a, c, 5000);
        await cluster.start();
        await assertWorks(a, c, mode);
      }
    } finally {
      if (!cluster.isRunning()) await cluster.start();
      await closeClusterApp(a);
    }
  });

  test('server frozen (accepts connections, never answers): 503 once the timeouts expire, never a hang; works after it thaws', { timeout: 90_000 }, async () => {
    // Shorter timeouts than production so the test is quick; the bound is what the settings promise.
    const a = await buildAppOn(url, { DB_CONNECT_TIMEOUT_MS: '1000', DB_STATEMENT_TIMEOUT_MS: '1500' });
    try {
      await a.database.db.insertInto('users').values({ ...newUser('frozen_agent'), password_hash: await hashPassword('frozen-pass-1', 4) }).execute();
      const c = new Client(a.app);
      assert.equal((await c.login('frozen_agent', 'frozen-pass-1')).statusCode, 303);
      await assertWorks(a, c, 'before_freeze');
      cluster.freeze();
      try {
        // An idle pooled connection's query ends at the client-side read timeout (statement + 1 s);
        // a new connection ends at the connect timeout.
        await assertUnavailable(a, c, 1500 + 1000 + 1500);
      } finally {
        cluster.thaw();
      }
      await assertWorks(a, c, 'after_thaw');
    } finally {
      await closeClusterApp(a);
    }
  });
});
