// The real app, as in production (buildApp, a pg Pool, NODE_ENV=production), in its own process
// (forked by a benchmark). Configuration comes from the environment the parent sets; .env is not read.
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createLogger } from '../../src/platform/logging.ts';
import { serveUntilParentStops } from './child.ts';

const { config, warnings } = loadConfig(process.env);
if (!config.database.url) throw new Error('the benchmark app needs DATABASE_URL (a PostgreSQL server)');
const log = createLogger(config.log);
for (const w of warnings) log.logger.warn(w);
const database = await openDatabase(config.database, log.logger);
const app = await buildApp({ config, logger: log.logger, database });

await app.listen({ port: config.port, host: config.host });

serveUntilParentStops(app.server, {
  // After autocannon stops, an overloaded app keeps answering the requests it had queued; the next
  // measurement waits until the pool has been idle for a while, so it does not inherit that backlog.
  isIdle: () => {
    const pool = database.poolStats();
    return pool.waiting === 0 && pool.total === pool.idle;
  },
  close: async () => {
    await app.close();
    await database.close();
    await log.close();
  },
});
