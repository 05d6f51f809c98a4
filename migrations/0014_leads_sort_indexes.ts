import { type Kysely, sql } from 'kysely';

// Every sort of the lead list is an index walk, for an agent's own leads and for an admin's whole list:
// (column, id) and (agent_id, column, id), read forwards or backwards. Without them a page sorted by
// anything but date or name read and sorted every lead in scope (bench/leads, a different page and sort
// each request: 220 pages/s, p99 380 ms). The single-column indexes they replace served only filters,
// which the new ones serve as well. Sorting an agent's own leads by agent is by id (agent_id, id).
const REPLACED = [
  ['leads_status_idx', 'leads (status)', 'leads (status, id)'],
  ['leads_source_idx', 'leads (source)', 'leads (source, id)'],
  ['leads_country_idx', 'leads (country)', 'leads (country, id)'],
  ['leads_updated_idx', 'leads (updated_at desc)', 'leads (updated_at desc, id desc)'],
  // Still carrying the columns the agent's figures read, so they stay index-only scans (migrations/0004).
  [
    'leads_agent_status_idx',
    'leads (agent_id, status) include (is_transferred, source, hubspot_stage_label)',
    'leads (agent_id, status, id) include (is_transferred, source, hubspot_stage_label)',
  ],
] as const;

const ADDED = [
  ['leads_budget_idx', 'leads (budget, id)'],
  ['leads_agent_updated_idx', 'leads (agent_id, updated_at desc, id desc)'],
  ['leads_agent_budget_idx', 'leads (agent_id, budget, id)'],
  ['leads_agent_country_idx', 'leads (agent_id, country, id)'],
  ['leads_agent_source_idx', 'leads (agent_id, source, id)'],
  ['leads_agent_id_idx', 'leads (agent_id, id)'],
  // An admin's list sorted by agent walks the agents by name, then each agent's leads by id.
  ['users_display_name_idx', 'users (display_name, id)'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name, , next] of REPLACED) {
    await sql`drop index ${sql.id(name)}`.execute(db);
    await sql`create index ${sql.id(name)} on ${sql.raw(next)}`.execute(db);
  }
  for (const [name, on] of ADDED) await sql`create index ${sql.id(name)} on ${sql.raw(on)}`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name] of ADDED) await sql`drop index ${sql.id(name)}`.execute(db);
  for (const [name, previous] of REPLACED) {
    await sql`drop index ${sql.id(name)}`.execute(db);
    await sql`create index ${sql.id(name)} on ${sql.raw(previous)}`.execute(db);
  }
}
