// Test databases: PGlite cloned from a migrated template (fast), or a fresh database on the PostgreSQL
// server named by TEST_DATABASE_URL, created from a migrated template database.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import type { Config } from '../../src/config.ts';
import { type DatabaseHandle, openDatabase, PGLITE_OPTIONS, wrapPglite } from '../../src/db/database.ts';
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.ts';

export type DbKind = 'pglite' | 'postgres';

/** The kinds to run each suite on: PGlite always, the real server when TEST_DATABASE_URL is set. */
export function databaseKinds(): DbKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

function migrationsFingerprint(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS_DIR).sort()) h.update(f).update(readFileSync(path.join(MIGRATIONS_DIR, f)));
  return h.digest('hex').slice(0, 16);
}

let pgliteTemplate: Promise<Blob> | null = null;
async function pgliteTemplateBlob(): Promise<Blob> {
  const file = path.join(tmpdir(), `propart-pglite-template-${migrationsFingerprint()}.tar.gz`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const pglite = await PGlite.create(PGLITE_OPTIONS);
  const db = new Kysely<any>({ dialect: new (await import('kysely')).PGliteDialect({ pglite }) });
  await migrateToLatest(db);
  const blob = await pglite.dumpDataDir('gzip');
  await db.destroy();
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
  renameSync(tmp, file);
  return blob;
}

const quietLog = pino({ level: 'silent' });

async function createPostgresDatabase(): Promise<string> {
  const base = new URL(process.env.TEST_DATABASE_URL!);
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  const template = `propart_tpl_${migrationsFingerprint()}`;
  try {
    // One process builds the template; the others wait on the advisory lock.
    await admin.query('select pg_advisory_lock(424242)');
    const exists = await admin.query('select 1 from pg_database where datname = $1', [template]);
    if (exists.rowCount === 0) {
      await admin.query(`create database ${template}`);
      const url = new URL(base); url.pathname = `/${template}`;
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) }) });
      try {
        await migrateToLatest(db);
      } catch (err) {
        // A half-built template would make every later run fail: drop it so the next run starts clean.
        await db.destroy();
        await admin.query(`drop database if exists ${template} with (force)`);
        throw err;
      }
      await db.destroy();
    }
    const name = `propart_t_${randomBytes(6).toString('hex')}`;
    await admin.query(`create database ${name} template ${template}`);
    const url = new URL(base); url.pathname = `/${name}`;
    return url.toString();
  } finally {
    await admin.query('select pg_advisory_unlock(424242)').catch(() => {});
    await admin.end();
  }
}

async function dropPostgresDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

export interface TestDatabase {
  handle: DatabaseHandle;
  /** The server URL (postgres only). */
  url?: string;
  close(): Promise<void>;
}

export async function createTestDatabase(kind: DbKind, overrides: Partial<Config['database']> = {}): Promise<TestDatabase> {
  if (kind === 'pglite') {
    pgliteTemplate ??= pgliteTemplateBlob();
    const pglite = await PGlite.create({ loadDataDir: await pgliteTemplate, ...PGLITE_OPTIONS });
    const handle = await wrapPglite(pglite, { statementTimeoutMs: overrides.statementTimeoutMs ?? 5000 });
    return { handle, close: () => handle.close() };
  }
  const url = await createPostgresDatabase();
  const handle = await openDatabase({
    url, pgliteDir: '', poolMax: 5, connectTimeoutMs: 2000, idleTimeoutMs: 10000, statementTimeoutMs: 5000, ...overrides,
  }, quietLog);
  return {
    handle, url,
    close: async () => {
      await handle.close();
      await dropPostgresDatabase(url);
    },
  };
}
