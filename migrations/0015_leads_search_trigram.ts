import { type Kysely, sql } from 'kysely';

// The lead list's search ("contains", over name, email and both phones) read every lead in scope: an
// admin's search over 100,000 leads cost ~60–110 ms for the page and ~100 ms for its figures
// (bench/leads' data). Trigram indexes serve `like '%…%'` for three characters or more: ~1–5 ms.
// pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner, who runs the migrations, may
// create it; PGlite loads it at open (PGLITE_OPTIONS in src/db/database.ts).
const INDEXES = [
  ['leads_deal_name_trgm_idx', sql`lower(deal_name) gin_trgm_ops`],
  ['leads_email_trgm_idx', sql`lower(email) gin_trgm_ops`],
  ['leads_phone_trgm_idx', sql`phone gin_trgm_ops`],
  ['leads_second_phone_trgm_idx', sql`second_phone gin_trgm_ops`],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);
  for (const [name, on] of INDEXES) await sql`create index ${sql.id(name)} on leads using gin (${on})`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name] of INDEXES) await sql`drop index ${sql.id(name)}`.execute(db);
  await sql`drop extension if exists pg_trgm`.execute(db);
}
