import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('leads')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('agent_id', 'integer', (c) => c.notNull().references('users.id').onDelete('restrict'))
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('deal_name', 'varchar(100)', (c) => c.notNull())
    .addColumn('email', 'varchar(254)')
    .addColumn('phone', 'varchar(20)', (c) => c.notNull())
    .addColumn('second_phone', 'varchar(20)')
    .addColumn('budget', 'varchar(50)', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull().defaultTo('new').check(sql`status in ('new', 'contacted', 'qualified', 'closed')`))
    .addColumn('is_transferred', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('country', 'varchar(50)')
    .addColumn('purchase_goal', 'varchar(50)')
    .addColumn('property_type', 'varchar(50)')
    .addColumn('object_type', 'varchar(50)')
    .addColumn('communication_language', 'varchar(50)')
    .addColumn('source', 'varchar(50)')
    .addColumn('refusal_reason', 'varchar(50)')
    .addColumn('company', 'varchar(100)')
    .addColumn('telegram_nickname', 'varchar(50)')
    .addColumn('messenger', 'varchar(50)')
    .addColumn('birth_date', 'date')
    .addColumn('possible_duplicate', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('hubspot_contact_id', 'varchar(30)')
    .addColumn('hubspot_deal_id', 'varchar(30)')
    .addColumn('hubspot_stage_id', 'varchar(30)')
    .addColumn('hubspot_stage_label', 'varchar(100)')
    .addColumn('last_sync_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Every list is scoped by agent (or not, for admins) and sorted; each filter/sort has an index.
  await sql`create index leads_agent_created_idx on leads (agent_id, created_at desc, id desc)`.execute(db);
  await sql`create index leads_created_idx on leads (created_at desc, id desc)`.execute(db);
  await sql`create index leads_agent_status_idx on leads (agent_id, status)`.execute(db);
  await sql`create index leads_status_idx on leads (status)`.execute(db);
  await sql`create index leads_source_idx on leads (source)`.execute(db);
  await sql`create index leads_country_idx on leads (country)`.execute(db);
  await sql`create index leads_stage_idx on leads (hubspot_stage_id)`.execute(db);
  await sql`create index leads_updated_idx on leads (updated_at desc)`.execute(db);
  await sql`create index leads_phone_idx on leads (phone)`.execute(db);
  await sql`create index leads_second_phone_idx on leads (second_phone) where second_phone is not null`.execute(db);
  await sql`create index leads_email_idx on leads (lower(email)) where email is not null`.execute(db);
  await sql`create unique index leads_hubspot_deal_key on leads (hubspot_deal_id) where hubspot_deal_id is not null`.execute(db);

  await db.schema
    .createTable('comments')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('lead_id', 'integer', (c) => c.notNull().references('leads.id').onDelete('cascade'))
    .addColumn('author_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('parent_id', 'integer', (c) => c.references('comments.id').onDelete('cascade'))
    .addColumn('body', 'text', (c) => c.notNull().check(sql`char_length(body) between 1 and 3000`))
    .addColumn('hubspot_note_id', 'varchar(30)')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index comments_lead_idx on comments (lead_id, created_at, id)`.execute(db);

  // Points are an append-only ledger: totals are sums, every change is an auditable event.
  await db.schema
    .createTable('points_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('lead_id', 'integer')
    .addColumn('kind', 'varchar(20)', (c) => c.notNull().check(sql`kind in ('lead_created', 'deal_closed', 'deal_reopened', 'lead_deleted')`))
    .addColumn('points', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index points_events_user_idx on points_events (user_id, created_at)`.execute(db);
  await sql`create index points_events_created_idx on points_events (created_at)`.execute(db);
  await sql`create index points_events_lead_idx on points_events (lead_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('points_events').execute();
  await db.schema.dropTable('comments').execute();
  await db.schema.dropTable('leads').execute();
}
