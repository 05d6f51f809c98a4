import { type Kysely, sql } from 'kysely';

// Sorting the lead list by client name (admins over every lead, agents over their own) read and sorted
// the whole table for each page (bench/leads: ~70 ms per admin page). With these the page is an index walk.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index leads_deal_name_idx on leads (deal_name, id)`.execute(db);
  await sql`create index leads_agent_deal_name_idx on leads (agent_id, deal_name, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index leads_agent_deal_name_idx`.execute(db);
  await sql`drop index leads_deal_name_idx`.execute(db);
}
