import { type Kysely, sql } from 'kysely';

// Who changed what, when and from where. Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, so
// not even a bug (or an SQL injection) in the app can rewrite history; only dropping the table can.
// actor_id has no foreign key on purpose: deleting a user must not touch (SET NULL) the entries they made.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor_id', 'integer')
    .addColumn('actor_name', 'varchar(100)', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)')
    .addColumn('action', 'varchar(50)', (c) => c.notNull())
    .addColumn('entity_type', 'varchar(30)', (c) => c.notNull())
    .addColumn('entity_id', 'varchar(64)')
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .execute();
  await sql`create index audit_log_created_idx on audit_log (created_at desc, id desc)`.execute(db);
  await sql`create index audit_log_entity_idx on audit_log (entity_type, entity_id, created_at desc)`.execute(db);
  await sql`create index audit_log_actor_idx on audit_log (actor_id, created_at desc)`.execute(db);
  await sql`create index audit_log_action_idx on audit_log (action, created_at desc)`.execute(db);

  await sql`
    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await sql`create trigger audit_log_no_change before update or delete on audit_log for each row execute function audit_log_append_only()`.execute(db);
  await sql`create trigger audit_log_no_truncate before truncate on audit_log for each statement execute function audit_log_append_only()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await sql`drop function audit_log_append_only()`.execute(db);
}
