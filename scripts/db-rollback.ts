// npm run db:rollback — undoes the most recent migration.
import { rollbackOne } from '../src/db/migrate.ts';
import { openRuntime } from '../src/runtime.ts';

const { log, database } = await openRuntime({ stdoutLogs: false });
let code = 0;
try {
  const undone = await rollbackOne(database.db);
  console.log(undone.length ? `Rolled back: ${undone.join(', ')}` : 'Nothing to roll back.');
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  code = 1;
} finally {
  await database.close();
  await log.close();
}
process.exit(code);
