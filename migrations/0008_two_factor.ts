import { type Kysely, sql } from 'kysely';

// Two-factor sign-in (TOTP, RFC 6238): one secret per user, encrypted at rest with a key derived from
// SECRET_KEY; single-use recovery codes stored hashed; and the short-lived "password was right, now the
// code" pending logins, stored by the sha256 of their cookie token.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_totp')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // AES-256-GCM: base64url(iv).base64url(tag).base64url(ciphertext)
    .addColumn('secret_enc', 'varchar(200)', (c) => c.notNull())
    // Null while the user is still enrolling (the secret was shown, no code confirmed yet).
    .addColumn('enabled_at', 'timestamptz')
    // The last accepted time step: a code for this step or an earlier one is refused (no replay).
    .addColumn('last_step', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('user_recovery_codes')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index user_recovery_codes_hash_key on user_recovery_codes (user_id, code_hash)`.execute(db);

  await db.schema
    .createTable('pending_logins')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('next', 'varchar(500)', (c) => c.notNull().defaultTo('/dashboard'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index pending_logins_user_idx on pending_logins (user_id)`.execute(db);
  await sql`create index pending_logins_expires_idx on pending_logins (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('pending_logins').execute();
  await db.schema.dropTable('user_recovery_codes').execute();
  await db.schema.dropTable('user_totp').execute();
}
