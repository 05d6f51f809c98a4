import { type Kysely, sql } from 'kysely';

// A version per responsible agent, bumped by the database itself whenever a statement inserts, changes or
// deletes that agent's leads (old and new agent on a reassignment). The dashboard keys its cached figures
// on it: an agent's version (one primary-key read) or, for admins, the sum of all versions, which grows
// whenever any agent's does. Statement-level triggers: a 10,000-row import bumps each agent once.
// No single "everything" row, so concurrent writers for different agents never queue on one lock.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table lead_versions (agent_id integer primary key, version bigint not null)`.execute(db);
  await sql`
    create function bump_lead_versions() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        insert into lead_versions as v (agent_id, version) select distinct agent_id, 1 from new_rows
          on conflict (agent_id) do update set version = v.version + 1;
      elsif tg_op = 'DELETE' then
        insert into lead_versions as v (agent_id, version) select distinct agent_id, 1 from old_rows
          on conflict (agent_id) do update set version = v.version + 1;
      else
        insert into lead_versions as v (agent_id, version)
          select agent_id, 1 from (select agent_id from old_rows union select agent_id from new_rows) changed
          on conflict (agent_id) do update set version = v.version + 1;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger leads_version_insert after insert on leads referencing new table as new_rows
    for each statement execute function bump_lead_versions()`.execute(db);
  await sql`create trigger leads_version_update after update on leads referencing old table as old_rows new table as new_rows
    for each statement execute function bump_lead_versions()`.execute(db);
  await sql`create trigger leads_version_delete after delete on leads referencing old table as old_rows
    for each statement execute function bump_lead_versions()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger leads_version_delete on leads`.execute(db);
  await sql`drop trigger leads_version_update on leads`.execute(db);
  await sql`drop trigger leads_version_insert on leads`.execute(db);
  await sql`drop function bump_lead_versions()`.execute(db);
  await sql`drop table lead_versions`.execute(db);
}
