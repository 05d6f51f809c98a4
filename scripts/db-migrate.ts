// npm run db:migrate — applies every pending migration.
import { migrateToLatest } from '../src/db/migrate.ts';
import { runDbCommand } from './db-command.ts';

await runDbCommand(migrateToLatest, (applied) => (applied.length ? `Applied: ${applied.join(', ')}` : 'Nothing to apply: the database is up to date.'));
