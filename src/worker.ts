// `npm run worker`: the HubSpot sync engine as its own process (set SYNC_WORKER=off on the web
// instances then). Stops gracefully on SIGTERM: the current round may finish within SYNC_STOP_GRACE_MS, nothing is lost.
import { Redis } from 'ioredis';
import { migrateToLatest, pendingMigrations } from './db/migrate.ts';
import { startSyncEngine } from './hubspot/engine.ts';
import { startMetricsServer } from './platform/metrics.ts';
import { openRuntime } from './runtime.ts';

const { config, log, database } = await openRuntime();
const logger = log.logger;
if (!config.hubspot.accessToken) {
  logger.warn('HUBSPOT_ACCESS_TOKEN is not set: HubSpot sync is off, the worker has nothing to do');
  await database.close();
  await log.close();
  process.exit(0);
}
if (config.migrateOnStart) await migrateToLatest(database.db);
else {
  const pending = await pendingMigrations(database.db);
  if (pending.length > 0) {
    logger.error({ pending }, 'migrations are pending and DB_MIGRATE_ON_START=false: run `npm run db:migrate` as the database owner role, then start again');
    await database.close();
    await log.close();
    process.exit(1);
  }
}
// Signals are handled from here on, so a SIGTERM during start-up also stops cleanly.
let stopping = false;
let engine: ReturnType<typeof startSyncEngine> | null = null;
let redis: Redis | null = null;
let metricsServer: import('node:http').Server | null = null;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'worker stopping after the current round');
  await engine?.stop();
  metricsServer?.close();
  redis?.disconnect();
  await database.close();
  await log.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

// No offline queue (like the web server's client): while Redis is unreachable a command fails at once and
// the HubSpot budget falls back to this process, instead of every request waiting for reconnect attempts.
redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000, enableOfflineQueue: false }) : null;
redis?.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis unavailable'));
// Connected before the first HubSpot request, so a normal start does not begin on the fallback.
const client = redis;
if (client) await new Promise<void>((resolve) => { const t = setTimeout(resolve, 3000); client.once('ready', () => { clearTimeout(t); resolve(); }); });
if (!stopping) {
  engine = startSyncEngine({ db: database.db, config, log: logger, redis });
  logger.info({ baseUrl: config.hubspot.baseUrl, limiter: redis ? 'redis' : 'memory' }, 'HubSpot sync worker started');
  if (config.workerMetricsPort) {
    metricsServer = await startMetricsServer(config.workerMetricsPort);
    logger.info({ port: config.workerMetricsPort }, 'worker metrics on http://127.0.0.1:<port>/metrics');
  }
}
