// npm run db:rollback — undoes the most recent migration.
import { rollbackOne } from '../src/db/migrate.ts';
import { runDbCommand } from './db-command.ts';

await runDbCommand(rollbackOne, (undone) => (undone.length ? `Rolled back: ${undone.join(', ')}` : 'Nothing to roll back.'));
