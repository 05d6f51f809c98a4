import { type Kysely, sql } from 'kysely';

// Verification requests keep their whole history (one row per request, or per admin decision made without
// one); the agent's current state is users.is_verified plus their latest row. Documents are private files:
// the row holds the storage key and the original name as metadata only. Deleting a user removes their rows
// by cascade — the storage objects are removed by documents.server.ts deleteAllDocumentsOf() first.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('verification_requests')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('agent_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'varchar(10)', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'approved', 'rejected', 'revoked')`))
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('commission', sql`numeric(5,2)`, (c) => c.check(sql`commission between 0 and 100`))
    .addColumn('reason', 'varchar(1000)')
    .addCheckConstraint('verification_requests_decided_when_closed', sql`(status = 'pending') = (decided_at is null)`)
    .addCheckConstraint('verification_requests_approved_has_commission', sql`status <> 'approved' or commission is not null`)
    .addCheckConstraint('verification_requests_refusal_has_reason', sql`status not in ('rejected', 'revoked') or reason is not null`)
    .execute();
  // At most one open request per agent, even when two tabs submit at once.
  await sql`create unique index verification_requests_one_pending_idx on verification_requests (agent_id) where status = 'pending'`.execute(db);
  await db.schema.createIndex('verification_requests_agent_idx').on('verification_requests').columns(['agent_id', 'id']).execute();

  await db.schema
    .createTable('user_documents')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(20)', (c) => c.notNull().defaultTo('other').check(sql`kind in ('id', 'agreement', 'other')`))
    .addColumn('storage_key', 'varchar(300)', (c) => c.notNull().unique())
    .addColumn('filename', 'varchar(255)', (c) => c.notNull())
    .addColumn('content_type', 'varchar(100)', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull().check(sql`size_bytes > 0`))
    .addColumn('description', 'varchar(500)')
    .addColumn('uploaded_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('verification_request_id', 'integer', (c) => c.references('verification_requests.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('user_documents_user_idx').on('user_documents').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('user_documents_request_idx').on('user_documents').column('verification_request_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('user_documents').execute();
  await db.schema.dropTable('verification_requests').execute();
}
