import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The transactional outbox: one row per entity, written in the same transaction as the change.
  // `version` grows with every change; the worker syncs the current state and records the version it
  // pushed, so several edits coalesce into one push and a replay of an old claim is a no-op.
  await db.schema
    .createTable('sync_items')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('entity_type', 'varchar(10)', (c) => c.notNull().check(sql`entity_type in ('lead', 'comment')`))
    .addColumn('entity_id', 'integer', (c) => c.notNull())
    .addColumn('op', 'varchar(10)', (c) => c.notNull().check(sql`op in ('upsert', 'delete')`))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('synced_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'varchar(10)', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'synced', 'failed', 'parked')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('claimed_by', 'varchar(64)')
    .addColumn('last_error', 'varchar(500)')
    .addColumn('last_error_at', 'timestamptz')
    // For deletes: the HubSpot ids to archive, since the local row is gone.
    .addColumn('payload', 'jsonb')
    .addColumn('synced_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index sync_items_entity_key on sync_items (entity_type, entity_id)`.execute(db);
  await sql`create index sync_items_due_idx on sync_items (next_attempt_at) where status = 'pending'`.execute(db);
  await sql`create index sync_items_status_idx on sync_items (status)`.execute(db);

  // HubSpot owners, cached for matching a deal's owner to our agent by email (and back).
  await db.schema
    .createTable('hubspot_owners')
    .addColumn('id', 'varchar(30)', (c) => c.primaryKey())
    .addColumn('email', 'varchar(254)')
    .addColumn('first_name', 'varchar(100)')
    .addColumn('last_name', 'varchar(100)')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index hubspot_owners_email_idx on hubspot_owners (lower(email))`.execute(db);

  // Deals pulled from HubSpot whose owner matches no agent: listed for admins, never guessed.
  await db.schema
    .createTable('hubspot_unassigned')
    .addColumn('deal_id', 'varchar(30)', (c) => c.primaryKey())
    .addColumn('deal_name', 'varchar(300)')
    .addColumn('owner_id', 'varchar(30)')
    .addColumn('owner_email', 'varchar(254)')
    .addColumn('stage_id', 'varchar(30)')
    .addColumn('seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('sync_state')
    .addColumn('key', 'varchar(50)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sync_state').execute();
  await db.schema.dropTable('hubspot_unassigned').execute();
  await db.schema.dropTable('hubspot_owners').execute();
  await db.schema.dropTable('sync_items').execute();
}
