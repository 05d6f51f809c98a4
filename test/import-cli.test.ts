// `npm run import` as the real program (scripts/import.ts in a child process) against a PGlite data folder
// and, with TEST_DATABASE_URL, a PostgreSQL database: imports with the terminal progress bar and writes
// the failed rows next to the file; --dry-run saves nothing; a bad file is refused; a process killed in
// the middle of an import leaves no lead of it, and the interrupted import becomes 'failed'.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, sql } from 'kysely';
import type { Db } from '../src/db/database.ts';
import { PGLITE_OPTIONS } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { failStaleImports } from '../src/import/imports.server.ts';
import { TEST_SECRET } from './helpers/app.ts';
import { createTestDatabase, databaseKinds, type DbKind, type TestDatabase } from './helpers/database.ts';
import { killAll, spawnNode, waitFor } from './helpers/processes.ts';
import { leadsCsv } from './helpers/csv-files.ts';

interface Target {
  env: Record<string, string>;
  /** Opens the database (for PGlite only while no CLI runs). */
  open(): Promise<{ db: Db; close(): Promise<void> }>;
  close(): Promise<void>;
}

async function seed(db: Db): Promise<void> {
  await db.insertInto('users').values([
    { username: 'boss', email: 'boss@propart.example', display_name: 'Бос', password_hash: 'x', role: 'admin' },
    { username: 'olena', email: 'olena@propart.example', display_name: 'Олена', password_hash: 'x', role: 'agent' },
  ]).execute();
}

async function target(kind: DbKind, dir: string): Promise<Target> {
  const base = { SECRET_KEY: TEST_SECRET, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), LOG_TO_STDOUT: 'false', NODE_ENV: 'test' };
  if (kind === 'pglite') {
    const folder = path.join(dir, 'data', 'pglite');
    const open = async () => {
      const pglite = await PGlite.create(folder, PGLITE_OPTIONS);
      const db = new Kysely<never>({ dialect: new PGliteDialect({ pglite }) }) as unknown as Db;
      return { db, close: async () => { await db.destroy(); if (!pglite.closed) await pglite.close(); } };
    };
    mkdirSync(folder, { recursive: true });
    const first = await open();
    await migrateToLatest(first.db);
    await seed(first.db);
    await first.close();
    return { env: base, open, close: async () => {} };
  }
  const database: TestDatabase = await createTestDatabase('postgres');
  await seed(database.handle.db);
  return {
    env: { ...base, DATABASE_URL: database.url! },
    open: async () => ({ db: database.handle.db, close: async () => {} }),
    close: () => database.close(),
  };
}

for (const kind of databaseKinds()) {
  describe(`npm run import [${kind}]`, () => {
    let dir: string;
    let db: Target;
    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'propart-import-cli-'));
      db = await target(kind, dir);
    });
    after(async () => {
      await killAll();
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const run = async (args: string[]) => {
      const p = spawnNode('import', 'scripts/import.ts', { env: db.env, args });
      const exit = await p.waitExit(120_000);
      assert.ok(exit, `the import did not end:\n${p.output()}`);
      return { code: exit.code, out: p.output() };
    };
    const withDb = async <T>(fn: (d: Db) => Promise<T>): Promise<T> => {
      const h = await db.open();
      try { return await fn(h.db); } finally { await h.close(); }
    };

    test('imports for the chosen agent with a progress bar, reports the rows it could not take and writes them next to the file', async () => {
      const file = path.join(dir, 'клієнти.csv');
      writeFileSync(file, 'Name;Mobile;Скільки;Агент\nОлег Коваль;050 123 4567;до 200к;olena@propart.example\nБез Телефону;;1млн+;\n=SUM(1);0501234568;багато;\n');
      const { code, out } = await run([file, '--agent', 'olena', '--map', 'Скільки=budget,Агент=agent_email']);
      assert.equal(code, 2, out);
      assert.match(out, /Готові до імпорту: 1 · З помилками: 2/);
      assert.match(out, /Рядок 3: Телефон: Обов'язкове поле/);
      assert.match(out, /Рядок 4: Бюджет: Оберіть значення зі списку/);
      assert.match(out, /\[#{30}\] 100% 3\/3/, 'the progress bar reached the end');
      assert.match(out, /Створено лідів: 1\. Не імпортовано рядків: 2\./);
      const failed = readFileSync(`${file}.failed.csv`, 'utf8').replace(/^\uFEFF/, '').trimEnd().split('\r\n');
      assert.equal(failed.length, 3);
      assert.match(failed[2]!, /^'=SUM\(1\),0501234568,багато,,4,/, 'a formula comes out as text');
      const leads = await withDb((d) => d.selectFrom('leads').innerJoin('users', 'users.id', 'leads.agent_id').innerJoin('lead_imports', 'lead_imports.id', 'leads.import_id')
        .select(['leads.deal_name', 'leads.phone', 'users.username', 'lead_imports.status', 'lead_imports.filename']).execute());
      assert.deepEqual(leads, [{ deal_name: 'Олег Коваль', phone: '+380501234567', username: 'olena', status: 'done', filename: 'клієнти.csv' }]);
    });

    test('--dry-run checks and saves nothing; a broken file or a missing required column is refused with exit code 1', async () => {
      const file = path.join(dir, 'dry.csv');
      writeFileSync(file, leadsCsv(3, { start: 3_000_000 }));
      const countLeads = () => withDb(async (d) => (await d.selectFrom('leads').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n);
      const before = await countLeads();
      const dry = await run([file, '--dry-run', '--as', 'boss@propart.example']);
      assert.equal(dry.code, 0, dry.out);
      assert.match(dry.out, /Готові до імпорту: 3/);
      assert.match(dry.out, /Dry run: nothing saved/);
      assert.equal(await countLeads(), before);
      const broken = path.join(dir, 'broken.csv');
      writeFileSync(broken, 'Клієнт,Телефон,Бюджет\n"Олег,0501234567,до 200к\n');
      const bad = await run([broken]);
      assert.equal(bad.code, 1);
      assert.match(bad.out, /Рядок 2: незакрита або зайва лапка/);
      const unmapped = await run([file, '--map', 'Телефон=-']);
      assert.equal(unmapped.code, 1);
      assert.match(unmapped.out, /Оберіть стовпці для обов'язкових полів: Телефон/);
      assert.equal((await run([file, '--as', 'olena'])).code, 1, 'only an administrator imports');
      assert.equal(await countLeads(), before);
      assert.ok(!existsSync(`${file}.failed.csv`));
    });

    test('killed in the middle of an import: no lead of it is left, and the interrupted import becomes failed', { timeout: 180_000 }, async () => {
      const file = path.join(dir, 'big.csv');
      writeFileSync(file, leadsCsv(10_000, { start: 4_000_000 }));
      const p = spawnNode('import', 'scripts/import.ts', { env: db.env, args: [file] });
      // Killed once the transaction has inserted its first chunks (the bar passed 10 %).
      await waitFor('the first progress', () => /\] {2}[1-9]\d% /.test(p.output()) || p.exit(), { timeoutMs: 120_000, describe: () => p.output() });
      assert.equal(p.exit(), null, `the import ended before it could be killed:\n${p.output()}`);
      await p.kill();
      await withDb(async (d) => {
        const imp = await d.selectFrom('lead_imports').select(['id', 'status']).where('filename', '=', 'big.csv').executeTakeFirstOrThrow();
        assert.equal(imp.status, 'running', 'the dead process could not say anything');
        const n = await d.selectFrom('leads').select(sql<number>`count(*)::int`.as('n')).where('import_id', '=', imp.id).executeTakeFirstOrThrow();
        assert.equal(n.n, 0, 'its transaction was rolled back');
        const sync = await d.selectFrom('sync_items').select(sql<number>`count(*)::int`.as('n')).where('entity_type', '=', 'lead')
          .where('entity_id', 'not in', d.selectFrom('leads').select('id')).executeTakeFirstOrThrow();
        assert.equal(sync.n, 0, 'no outbox row for a lead that does not exist');
        // What a web instance does at start (PGlite) or when its heartbeat is old (PostgreSQL).
        assert.deepEqual(await failStaleImports(d, { olderThanSeconds: kind === 'pglite' ? null : 0 }), [imp.id]);
        const after = await d.selectFrom('lead_imports').select(['status', 'error']).where('id', '=', imp.id).executeTakeFirstOrThrow();
        assert.deepEqual(after, { status: 'failed', error: 'import.failed.interrupted' });
      });
    });
  });
}
