// The connection: a pg Pool for a PostgreSQL server (DATABASE_URL), else embedded PGlite under data/.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /**
   * A new connection outside the pool, without timeouts, for a long-lived LISTEN (the session cache,
   * decision 023); absent on PGlite.
   */
  listenerClient?: () => pg.Client;
  /** Pool figures for metrics; zeros on PGlite. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

// bigint counts come back as numbers; a date stays 'YYYY-MM-DD' text so no time zone can shift it.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

/** The same value parsing for PGlite as for pg. */
const PGLITE_PARSERS = { 20: (v: string) => Number(v), 1082: (v: string) => v };

/**
 * How every PGlite database is opened: pg's value parsing, and the extensions the migrations create
 * (pg_trgm: the lead search's indexes, migrations/0015) — a PGlite opened without them cannot use them.
 */
export const PGLITE_OPTIONS = { parsers: PGLITE_PARSERS, extensions: { pg_trgm } };

/**
 * A statement whose text begins with this comment is planned once per connection and then only executed
 * (a pg named statement): for the few fixed-shape reads made on every request (the session lookup, which
 * on the dashboard also brings the lead version), whose planning cost more than running them (decision
 * 020). The text must not vary between calls (values go in parameters), must name its columns (a prepared
 * `select *` fails once a migration adds a column) and must run outside a transaction: when a migration
 * changes the type of a column it returns, it is prepared again under a new name and retried. PGlite, and
 * any pool not opened here, runs it as an ordinary statement.
 */
export const PREPARED = '/* prepared */';

const statementNames = new Map<string, string>();
let statementGeneration = 0;

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    // A name per text, so a changed statement never meets an older one of the same name on a connection.
    name = `propart_${createHash('sha256').update(`${statementGeneration}:${text}`).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/** PostgreSQL's answer when a migration changed what a prepared statement returns (a column's type). */
const isResultTypeChanged = (err: unknown) => (err as { code?: string })?.code === '0A000' && /cached plan must not change result type/.test(String((err as Error).message));

function prepareMarkedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text !== 'string' || !text.startsWith(PREPARED) || !(values === undefined || Array.isArray(values)) || callback !== undefined) {
      return query(text, values, callback);
    }
    return (query({ name: statementName(text), text, values }) as Promise<unknown>).catch((err: unknown) => {
      if (!isResultTypeChanged(err)) throw err;
      // Every connection prepares the statements again under new names (the old ones are left unused).
      // Marked statements run outside transactions, so the retry is not refused as "transaction aborted".
      statementGeneration++;
      statementNames.clear();
      return query({ name: statementName(text), text, values });
    });
  }) as typeof client.query;
}

// Pools opened here, and how to reach their server without the timeouts (see withoutTimeouts).
const untimed = new WeakMap<Kysely<any>, { url: string; connectTimeoutMs: number }>();

export async function openDatabase(config: Config['database'], log: Logger): Promise<DatabaseHandle> {
  if (config.url) return openPostgres(config, log);
  return openPglite(config, log);
}

function openPostgres(config: Config['database'], log: Logger): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    // The server ends a slow statement; the client-side timeout catches a server that stops answering at all.
    statement_timeout: config.statementTimeoutMs || undefined,
    query_timeout: config.statementTimeoutMs ? config.statementTimeoutMs + 1000 : undefined,
    keepAlive: true,
  });
  // An idle client losing its server (restart, network) must not crash the process: the pool drops it
  // and the next checkout opens a fresh connection — that is the automatic reconnect.
  pool.on('error', (err) => log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'database connection lost; the pool will reconnect'));
  // The pool listens for errors on idle clients only. A checked-out client between two queries (a request's
  // open transaction) whose server goes away emits 'error' with nobody listening, which would end the
  // process; its next query fails instead (→ 503) and the pool discards it on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    prepareMarkedStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  untimed.set(db, { url: config.url!, connectTimeoutMs: config.connectTimeoutMs });
  return {
    db,
    kind: 'postgres',
    listenerClient: () => new pg.Client({ connectionString: config.url, connectionTimeoutMillis: config.connectTimeoutMs, keepAlive: true, application_name: 'propart_session_cache' }),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => db.destroy(),
  };
}

/**
 * Runs fn with a handle on the same database that has no statement timeout and no client-side read
 * timeout: a migration may run longer than a request may, and an instance starting next to another one
 * waits for the other's migration lock. For a pool opened by openDatabase that is a separate one-off
 * connection; anything else (PGlite, a test's own Kysely) is used as it is.
 */
export async function withoutTimeouts<T>(db: Kysely<any>, fn: (db: Kysely<any>) => Promise<T>): Promise<T> {
  const target = untimed.get(db);
  if (!target) return fn(db);
  const pool = new pg.Pool({ connectionString: target.url, max: 2, connectionTimeoutMillis: target.connectTimeoutMs, keepAlive: true });
  pool.on('error', () => {}); // the caller sees the failure through its query
  const own = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  try {
    return await fn(own);
  } finally {
    await own.destroy();
  }
}

async function openPglite(config: Config['database'], log: Logger): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  mkdirSync(config.pgliteDir, { recursive: true });
  const pglite = await PGlite.create(config.pgliteDir, PGLITE_OPTIONS);
  log.info({ dir: config.pgliteDir }, 'using the embedded database (PGlite)');
  return wrapPglite(pglite, config);
}

/** Wraps an open PGlite instance (tests pass one cloned from a migrated template). */
export async function wrapPglite(
  pglite: import('@electric-sql/pglite').PGlite,
  config: Pick<Config['database'], 'statementTimeoutMs'>,
): Promise<DatabaseHandle> {
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  if (config.statementTimeoutMs) await sql`select set_config('statement_timeout', ${String(config.statementTimeoutMs)}, false)`.execute(db);
  return {
    db,
    kind: 'pglite',
    poolStats: () => ({ total: 1, idle: 0, waiting: 0 }),
    close: async () => {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}
