// Reads the configuration, migrates, builds the app and listens; stops gracefully on SIGTERM/SIGINT.
import { Redis } from 'ioredis';
import { buildApp } from './app.ts';
import { migrateToLatest, pendingMigrations } from './db/migrate.ts';
import { createGateway, startSyncEngine } from './hubspot/engine.ts';
import { purgeExpiredSessions } from './platform/session.ts';
import { openRuntime } from './runtime.ts';
import { ensureInitialAdmin } from './users/bootstrap-admin.server.ts';

const { config, log, database } = await openRuntime();
const logger = log.logger;

let pending: string[] = [];
try {
  if (config.migrateOnStart) {
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } else {
    // DB_MIGRATE_ON_START=false: the app's database role cannot change the schema (docs/deploy.md).
    pending = await pendingMigrations(database.db);
    if (pending.length > 0) logger.error({ pending }, 'migrations are pending and DB_MIGRATE_ON_START=false: run `npm run db:migrate` as the database owner role, then start again');
  }
} catch (err) {
  logger.error({ err }, 'migrations failed; is PostgreSQL running and DATABASE_URL right? (pg_isready)');
  pending = ['?'];
}
if (pending.length > 0) {
  await database.close();
  await log.close();
  process.exit(1);
}

const admin = await ensureInitialAdmin(database.db, { ...config.initialAdmin, bcryptCost: config.security.bcryptCost });
if (admin) {
  // Printed to the console only, never to the log file; the admin must change it at first login.
  process.stdout.write(`\n  First start: created the administrator account.\n    username: ${admin.username}\n    password: ${admin.password}\n  It is shown only this once and must be changed at the first login.\n\n`);
}

let redis: Redis | null = null;
if (config.redisUrl) {
  redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis unavailable: login rate limits and the HubSpot budget fall back to this instance until it is back'));
}

const hubspot = config.hubspot.accessToken ? createGateway(config.hubspot, logger, redis) : null;
const app = await buildApp({ config, logger, database, redis, hubspot });
const engine = hubspot && config.hubspot.worker === 'in-process' ? startSyncEngine({ db: database.db, config, log: logger, redis }) : null;
if (!hubspot) logger.warn('HUBSPOT_ACCESS_TOKEN is not set: HubSpot sync is off; leads are kept locally and marked as not synced');
// While draining, every answer tells keep-alive clients (nginx) to reconnect elsewhere, so no request
// is sent on a connection at the moment it closes.
let draining = false;
app.addHook('onSend', async (_request, reply, payload) => {
  if (draining) reply.header('connection', 'close');
  return payload;
});
await app.listen({ port: config.port, host: config.host });
logger.info({ port: config.port, database: database.kind }, `ProPart Hub listening on http://localhost:${config.port}`);

const purge = setInterval(() => {
  purgeExpiredSessions(database.db, config.security.sessionIdleMinutes).catch((err: unknown) => logger.warn({ err }, 'session purge failed'));
}, 15 * 60_000);
purge.unref();

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  const force = setTimeout(() => process.exit(1), 20_000);
  force.unref();
  clearInterval(purge);
  try {
    draining = true;
    await new Promise((r) => setTimeout(r, config.isProduction ? 1000 : 0));
    await app.close();
    await engine?.stop();
    redis?.disconnect();
    await database.close();
  } catch (err) {
    logger.error({ err }, 'error during shutdown');
  }
  logger.info('stopped');
  await log.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
