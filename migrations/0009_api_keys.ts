import { type Kysely, sql } from 'kysely';

// Per-agent API keys for the /api/v1 lead-capture API. The token is shown once; only its sha256 is kept.
// `prefix` is the public id part of the token (pph_<prefix>_<secret>), used to find the row.
// allowed_origins: the websites whose browsers may call the API with this key (CORS), a JSON array.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('prefix', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('key_hash', 'char(64)', (c) => c.notNull())
    .addColumn('allowed_origins', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await sql`create index api_keys_user_idx on api_keys (user_id, created_at desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('api_keys').execute();
}
