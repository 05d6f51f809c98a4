// The real app, as in production (buildApp, a pg Pool, NODE_ENV=production), in its own process
// (forked by a benchmark). Configuration comes from the environment the parent sets; .env is not read.
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createLogger } from '../../src/platform/logging.ts';
import { serveUntilParentStops } from './child.ts';
import { benchPage } from './page.ts';

const { config, warnings } = loadConfig(process.env);
if (!config.database.url) throw new Error('the benchmark app needs DATABASE_URL (a PostgreSQL server)');
const log = createLogger(config.log);
for (const w of warnings) log.logger.warn(w);
const database = await openDatabase(config.database, log.logger);
// One route of the benchmark's own, beside the real ones: a fixed page of the asked size sent through
// every hook of the app to a signed-in user whose session comes from memory, as the dashboard's does — the
// app's own ceiling for a page of that size (decision 023), to read the dashboard's figures against.
const app = await buildApp({
  config, logger: log.logger, database,
  extraRoutes: (a) => {
    a.get<{ Params: { bytes: string } }>('/bench/page/:bytes', { config: { sessionCache: true } }, async (request, reply) => {
      const page = benchPage(Number(request.params.bytes));
      if (!page) return reply.code(400).send({ error: 'bytes: 1 to 1000000' });
      return reply.header('content-type', 'text/html; charset=utf-8').send(page);
    });
  },
});

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
