// scripts/db-roles.sql against the real PostgreSQL server (TEST_DATABASE_URL, a superuser): the app role
// runs the app (login, dashboard, a new lead) but cannot change the schema; the owner role migrates; tables
// the owner creates later are granted by default; the server started as the app role with
// DB_MIGRATE_ON_START=false refuses to run while a migration is pending. Skipped without
// TEST_DATABASE_URL or psql.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { hashPassword } from '../src/auth/password.server.ts';
import { loadConfig } from '../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/database.ts';
import { migrateToLatest, pendingMigrations } from '../src/db/migrate.ts';
import { freePort, spawnManaged } from '../bench/lib/load-stack.ts';
import { TEST_SECRET } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { findPgBinDir } from './helpers/pg-cluster.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts/db-roles.sql');

function findPsql(): string | null {
  const dirs = [findPgBinDir(), ...(process.env.PATH ?? '').split(':')].filter(Boolean) as string[];
  return dirs.map((d) => path.join(d, 'psql')).find((p) => existsSync(p)) ?? null;
}
const psql = findPsql();
const skip = !process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL is not set (roles need a real PostgreSQL server)'
  : !psql ? 'psql not found (apt-get install -y postgresql-client)' : false;

/** The SQLSTATE of a failed statement, or 'ok'. */
async function sqlstate(client: pg.Client, statement: string): Promise<string> {
  try {
    await client.query(statement);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('database roles (scripts/db-roles.sql)', { skip, timeout: 180_000 }, () => {
  const suffix = randomBytes(4).toString('hex');
  const owner = `propart_owner_${suffix}`;
  const appRole = `propart_app_${suffix}`;
  const ownerPassword = randomBytes(12).toString('hex');
  const appPassword = randomBytes(12).toString('hex');
  let database: TestDatabase;
  let dbName: string;
  let ownerUrl: string;
  let appUrl: string;
  let ownerClient: pg.Client;
  let appClient: pg.Client;
  let appHandle: DatabaseHandle;
  let dir: string;
  const scriptRuns: string[] = [];

  const roleUrl = (user: string, password: string) => {
    const u = new URL(process.env.TEST_DATABASE_URL!);
    u.username = user;
    u.password = password;
    u.pathname = `/${dbName}`;
    return u.toString();
  };

  async function applyScript(): Promise<string> {
    const { stdout, stderr } = await run(psql!, [
      '-X', '-v', 'ON_ERROR_STOP=1', '-d', process.env.TEST_DATABASE_URL!, '-f', SCRIPT,
      '-v', `db=${dbName}`, '-v', `owner=${owner}`, '-v', `app=${appRole}`,
      '-v', `owner_password=${ownerPassword}`, '-v', `app_password=${appPassword}`,
    ], { cwd: ROOT });
    return stdout + stderr;
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'propart-roles-'));
    // A migrated database created by the superuser, as if set up before the roles existed: the script
    // must adopt it (hand every object to the owner).
    database = await createTestDatabase('postgres');
    dbName = new URL(database.url!).pathname.slice(1);
    scriptRuns.push(await applyScript());
    scriptRuns.push(await applyScript()); // idempotent
    ownerUrl = roleUrl(owner, ownerPassword);
    appUrl = roleUrl(appRole, appPassword);
    ownerClient = new pg.Client({ connectionString: ownerUrl });
    appClient = new pg.Client({ connectionString: appUrl });
    await ownerClient.connect();
    await appClient.connect();
    appHandle = await openDatabase({ url: appUrl, pgliteDir: '', poolMax: 3, connectTimeoutMs: 3000, idleTimeoutMs: 10_000, statementTimeoutMs: 5000 }, pino({ level: 'silent' }));
  });

  after(async () => {
    await appHandle?.close();
    await appClient?.end().catch(() => {});
    await ownerClient?.end().catch(() => {});
    await database?.close(); // drops the database (and with it the grants and default privileges in it)
    if (process.env.TEST_DATABASE_URL) {
      const su = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await su.connect();
      try {
        await su.query(`drop role if exists ${appRole}`);
        await su.query(`drop role if exists ${owner}`);
      } finally {
        await su.end();
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the owner owns the database, the schema and every object; running the script again changes nothing', async () => {
    assert.equal(scriptRuns.length, 2);
    for (const out of scriptRuns) assert.match(out, /db-roles\.sql: done/);
    const { rows: [facts] } = await ownerClient.query(`
      select (select pg_get_userbyid(datdba) from pg_database where datname = current_database()) as db_owner,
             (select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'public') as schema_owner,
             (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = 'public' and c.relkind in ('r','p','v','m','S') and pg_get_userbyid(c.relowner) <> current_user) as foreign_objects,
             (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
               where n.nspname = 'public' and pg_get_userbyid(p.proowner) <> current_user
                 -- an extension's own functions (pg_trgm, migrations/0015) belong to the extension
                 and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')) as foreign_functions,
             (select count(*)::int from pg_tables where schemaname = 'public') as tables`);
    assert.deepEqual(facts, { db_owner: owner, schema_owner: owner, foreign_objects: 0, foreign_functions: 0, tables: facts.tables });
    assert.ok(facts.tables >= 10, `the migrated tables are there (${facts.tables})`);
    const { rows: [app] } = await ownerClient.query(`select rolsuper, rolcreatedb, rolcreaterole, rolinherit from pg_roles where rolname = $1`, [appRole]);
    assert.deepEqual(app, { rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolinherit: false });
  });

  test('the app role runs the real app: sign in, the dashboard, a new lead, /readyz', async () => {
    const { config } = loadConfig({
      NODE_ENV: 'test', SECRET_KEY: TEST_SECRET, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'),
      LOG_TO_STDOUT: 'false', BCRYPT_COST: '4', DB_MIGRATE_ON_START: 'false',
    });
    const app = await buildApp({ config, logger: pino({ level: 'silent' }), database: appHandle });
    try {
      // Even the seeding goes through the app role.
      await appHandle.db.insertInto('users').values({
        username: 'roles_agent', email: 'roles_agent@example.com', display_name: 'Agent', password_hash: await hashPassword('roles-agent-password', 4), role: 'agent',
      }).execute();
      const c = new Client(app);
      assert.equal((await c.login('roles_agent', 'roles-agent-password')).statusCode, 303);
      assert.equal((await c.get('/dashboard')).statusCode, 200);
      await c.get('/leads/new');
      const created = await c.post('/leads', { deal_name: 'Олег Коваль', phone: '+380 50 123 4567', budget: '200к–500к' });
      assert.equal(created.statusCode, 303, created.body.slice(0, 300));
      const id = Number(/\/leads\/(\d+)/.exec(String(created.headers.location))![1]);
      assert.equal((await c.get(`/leads/${id}`)).statusCode, 200);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200, ready.body);
      assert.equal((await c.post('/logout')).statusCode, 303);
      // With nothing pending, even the migrator is harmless as the app role (it only reads).
      assert.deepEqual(await pendingMigrations(appHandle.db), []);
      assert.deepEqual(await migrateToLatest(appHandle.db), []);
    } finally {
      await app.close();
    }
  });

  test('the app role cannot change the schema, empty tables or fake a migration', async () => {
    const refused = {
      'drop table': 'drop table leads',
      'alter table': 'alter table users add column hacked text',
      'rename column': 'alter table users rename column email to mail',
      'create table': 'create table evil (id int)',
      'create temporary table': 'create temp table evil_tmp (id int)',
      'create index': 'create index evil_idx on leads (email)',
      'create function': `create function evil() returns int language sql as 'select 1'`,
      truncate: 'truncate sessions',
      'disable triggers': 'alter table leads disable trigger all',
      'write the migration bookkeeping': `insert into kysely_migration (name, timestamp) values ('9999_fake', now()::text)`,
      'delete from the bookkeeping': 'delete from kysely_migration',
      'grant itself more': `grant ${owner} to ${appRole}`,
      'rewrite the audit log': `update audit_log set action = 'x'`,
      'erase the audit log': 'delete from audit_log',
    };
    const codes: Record<string, string> = {};
    for (const [what, statement] of Object.entries(refused)) codes[what] = await sqlstate(appClient, statement);
    // 42501 insufficient_privilege (also "must be owner of …"); 42P01 would mean the table is missing.
    const expected = Object.fromEntries(Object.keys(refused).map((k) => [k, '42501']));
    assert.deepEqual(codes, expected);
    assert.equal(await sqlstate(appClient, 'select count(*) from kysely_migration'), 'ok', 'it may read the bookkeeping');
  });

  test('tables created later by the owner (the next migrations) are the app\'s to use, not to alter', async () => {
    await ownerClient.query('create table future_widgets (id bigint generated always as identity primary key, name text not null)');
    await ownerClient.query('create table future_counters (id serial primary key, n int not null default 0)');
    try {
      assert.equal(await sqlstate(appClient, `insert into future_widgets (name) values ('a'), ('b')`), 'ok');
      assert.equal(await sqlstate(appClient, `update future_widgets set name = 'c' where name = 'a'`), 'ok');
      assert.equal(await sqlstate(appClient, `delete from future_widgets where name = 'b'`), 'ok');
      assert.equal(await sqlstate(appClient, 'insert into future_counters default values'), 'ok', 'a serial column needs USAGE on its sequence');
      const { rows } = await appClient.query('select name from future_widgets');
      assert.deepEqual(rows, [{ name: 'c' }]);
      assert.equal(await sqlstate(appClient, 'alter table future_widgets add column x int'), '42501');
      assert.equal(await sqlstate(appClient, 'drop table future_counters'), '42501');
    } finally {
      await ownerClient.query('drop table future_widgets, future_counters');
    }
  });

  test('DB_MIGRATE_ON_START=false: the server refuses to start as the app role while a migration is pending; the owner migrates', async () => {
    const port = await freePort();
    const env = (databaseUrl: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', SECRET_KEY: randomBytes(32).toString('hex'),
      DATABASE_URL: databaseUrl, DB_MIGRATE_ON_START: 'false', HOST: '127.0.0.1', PORT: String(port),
      DATA_DIR: path.join(dir, 'server-data'), LOG_DIR: path.join(dir, 'server-logs'), LOG_TO_STDOUT: 'true', BCRYPT_COST: '4',
    });
    // Make the newest migration "pending" again by taking its row out of the bookkeeping (as the owner).
    const { rows: [last] } = await ownerClient.query<{ name: string; timestamp: string }>('select name, timestamp from kysely_migration order by name desc limit 1');
    assert.ok(last);
    await ownerClient.query('delete from kysely_migration where name = $1', [last.name]);
    try {
      const refused = spawnManaged('server (pending)', process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: env(appUrl) });
      const exit = await refused.exited;
      assert.equal(exit.code, 1, refused.output());
      assert.match(refused.output(), /migrations are pending and DB_MIGRATE_ON_START=false/);
      assert.ok(refused.output().includes(last.name), 'the log names the pending migration');

      // The migrator as the app role tries the migration and is refused by PostgreSQL.
      const asApp = spawnManaged('db:migrate (app)', process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts'], { env: env(appUrl) });
      assert.equal((await asApp.exited).code, 1, asApp.output());
      assert.match(asApp.output(), /permission denied|must be owner/);
    } finally {
      // The tables of that migration exist (it ran as the superuser): put its row back rather than re-run it.
      await ownerClient.query('insert into kysely_migration (name, timestamp) values ($1, $2)', [last.name, last.timestamp]);
    }
    const asOwner = spawnManaged('db:migrate (owner)', process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts'], { env: env(ownerUrl) });
    assert.equal((await asOwner.exited).code, 0, asOwner.output());
    assert.match(asOwner.output(), /Nothing to apply/);

    const server = spawnManaged('server', process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: env(appUrl) });
    try {
      const deadline = Date.now() + 60_000;
      let status = 0;
      while (Date.now() < deadline && server.alive()) {
        try {
          status = (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })).status;
          if (status === 200) break;
        } catch { /* not listening yet */ }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200, `the server as the app role answers /readyz: ${server.output()}`);
    } finally {
      await server.stop('SIGTERM', 20_000);
    }
    assert.equal((await server.exited).code, 0);
  });
});
