import { type Kysely, sql } from 'kysely';

// The dashboard shows more of an agent than their leads: their name in every row, and whose broker they are
// ("my brokers"). Renaming an agent or moving them to another admin bumps their lead version too
// (migrations/0012), so a dashboard cached under the version is never older than those either.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function bump_agent_lead_version() returns trigger language plpgsql as $$
    begin
      insert into lead_versions as v (agent_id, version) values (new.id, 1)
        on conflict (agent_id) do update set version = v.version + 1;
      return null;
    end $$`.execute(db);
  await sql`create trigger users_lead_version after update of display_name, admin_id on users
    for each row when (old.display_name is distinct from new.display_name or old.admin_id is distinct from new.admin_id)
    execute function bump_agent_lead_version()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger users_lead_version on users`.execute(db);
  await sql`drop function bump_agent_lead_version()`.execute(db);
}
