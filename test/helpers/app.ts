// Builds the real app for a test, with its own database, log folder and configuration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../src/db/database.ts';
import { buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createLogger, type LogHandle } from '../../src/platform/logging.ts';
import { hashPassword } from '../../src/auth/password.server.ts';
import { createTestDatabase, type DbKind, type TestDatabase } from './database.ts';

export const TEST_SECRET = 'test-secret-key-0123456789abcdef0123456789abcdef';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  database: TestDatabase;
  log: LogHandle;
  logDir: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
  dbOverrides?: Partial<Config['database']>;
  /** Replaces the Kysely instance the app uses (e.g. with a query-counting plugin). */
  wrapDb?: (db: Db) => Db;
  redis?: import('ioredis').Redis | null;
}

export async function startTestApp(kind: DbKind, opts: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'propart-test-'));
  const { config } = loadConfig({
    NODE_ENV: 'test', SECRET_KEY: TEST_SECRET, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'),
    LOG_TO_STDOUT: 'false', BCRYPT_COST: '4', LOG_LEVEL: 'info', ADMIN_2FA_REQUIRED: 'false', ...opts.env,
  });
  const log = createLogger(config.log);
  const database = await createTestDatabase(kind, opts.dbOverrides);
  const handle = opts.wrapDb ? { ...database.handle, db: opts.wrapDb(database.handle.db) } : database.handle;
  const app = await buildApp({ config, logger: log.logger, database: handle, extraRoutes: opts.extraRoutes, redis: opts.redis ?? null });
  await app.ready();
  return {
    app, config, database, log, logDir: config.log.dir,
    close: async () => {
      await app.close();
      await database.close();
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SeedUser { username: string; password: string; email?: string; role?: 'agent' | 'admin'; display_name?: string; is_active?: boolean; admin_id?: number | null }

/** Inserts a user directly (cost-4 hash for speed) and returns its id. */
export async function seedUser(t: TestApp, u: SeedUser): Promise<number> {
  const row = await t.app.db.insertInto('users').values({
    username: u.username,
    email: u.email ?? `${u.username}@example.com`,
    display_name: u.display_name ?? u.username,
    password_hash: await hashPassword(u.password, 4),
    role: u.role ?? 'agent',
    admin_id: u.admin_id ?? null,
    is_active: u.is_active ?? true,
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Waits until the app's in-memory sessions (decision 023) have heard everything committed so far —
 * connecting first if they must; at once when they are off (PGlite, SESSION_CACHE=false). A test that
 * changes the database behind the app's back calls it before its next request, as another process's
 * change reaches an instance only once heard.
 */
export async function cacheCaughtUp(app: FastifyInstance): Promise<void> {
  const cache = app.sessionCache;
  if (!cache) return;
  for (let i = 0; i < 200; i++) {
    try {
      await cache.listener.sync();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error('the session cache never caught up');
}
