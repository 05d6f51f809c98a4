import { type Kysely, sql } from 'kysely';

// CSV imports of leads (src/import). The parsed rows live in the row itself (jsonb), so any instance can
// show the preview and run the import without a shared disk. `leads.import_id` traces an import's leads.
// heartbeat_at: renewed while an import runs; a 'running' import whose heartbeat is old was interrupted.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('lead_imports')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('agent_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('filename', 'varchar(255)', (c) => c.notNull())
    .addColumn('encoding', 'varchar(20)', (c) => c.notNull())
    .addColumn('delimiter', 'varchar(2)', (c) => c.notNull())
    .addColumn('headers', 'jsonb', (c) => c.notNull())
    .addColumn('rows', 'jsonb', (c) => c.notNull())
    .addColumn('lines', 'jsonb', (c) => c.notNull())
    .addColumn('mapping', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull().defaultTo('draft').check(sql`status in ('draft', 'queued', 'running', 'done', 'failed')`))
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('processed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('imported', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failures', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('error', 'varchar(100)')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('queued_at', 'timestamptz')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('heartbeat_at', 'timestamptz')
    .execute();
  await sql`create index lead_imports_user_idx on lead_imports (user_id, created_at desc)`.execute(db);
  await sql`create index lead_imports_active_idx on lead_imports (status, id) where status in ('queued', 'running')`.execute(db);
  await db.schema.alterTable('leads').addColumn('import_id', 'integer', (c) => c.references('lead_imports.id').onDelete('set null')).execute();
  await sql`create index leads_import_idx on leads (import_id) where import_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index leads_import_idx`.execute(db);
  await db.schema.alterTable('leads').dropColumn('import_id').execute();
  await db.schema.dropTable('lead_imports').execute();
}
