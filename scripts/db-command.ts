// Shared by the db:* scripts: open the configured database, run one migration command, report, exit.
import type { Kysely } from 'kysely';
import { openRuntime } from '../src/runtime.ts';

export async function runDbCommand(action: (db: Kysely<any>) => Promise<string[]>, done: (names: string[]) => string): Promise<never> {
  const { log, database } = await openRuntime({ stdoutLogs: false });
  let code = 0;
  try {
    console.log(done(await action(database.db)));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    code = 1;
  } finally {
    await database.close();
    await log.close();
  }
  process.exit(code);
}
