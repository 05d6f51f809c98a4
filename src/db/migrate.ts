// Numbered migrations in /migrations, applied by Kysely's Migrator. On PostgreSQL the Migrator holds an
// advisory lock while it works, so two instances starting at once apply each migration exactly once.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { FileMigrationProvider, type MigrationResultSet, Migrator } from 'kysely/migration';
import { withoutTimeouts } from './database.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export function migratorFor(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
  });
}

function unwrap({ error, results }: MigrationResultSet): string[] {
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const e = new Error(`migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    throw e;
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

// Both run without the pool's statement/read timeouts (withoutTimeouts): a long migration, or waiting for
// another instance's, must not be cancelled after DB_STATEMENT_TIMEOUT_MS.
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  return withoutTimeouts(db, async (own) => unwrap(await migratorFor(own).migrateToLatest()));
}

export async function rollbackOne(db: Kysely<any>): Promise<string[]> {
  return withoutTimeouts(db, async (own) => unwrap(await migratorFor(own).migrateDown()));
}

/** Names of migrations present on disk but not yet applied. */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const all = await migratorFor(db).getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
