// npm run db:migrate — applies every pending migration.
import { migrateToLatest } from '../src/db/migrate.ts';
import { openRuntime } from '../src/runtime.ts';

const { log, database } = await openRuntime({ stdoutLogs: false });
let code = 0;
try {
  const applied = await migrateToLatest(database.db);
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Nothing to apply: the database is up to date.');
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  code = 1;
} finally {
  await database.close();
  await log.close();
}
process.exit(code);
