import { type Kysely, sql } from 'kysely';

// The in-memory sessions (migrations/0016, decision 023) also hear when a session's expiry is moved: an
// operator ending sessions with `UPDATE sessions SET expires_at = now() …` must sign those users out on
// every instance at once, as deleting the rows does. Only a changed expires_at is told: the app's own
// updates (the last-seen touch every few minutes) send nothing. Transition tables cannot go with a column
// list, so the statement's rows are compared.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function notify_sessions_expiry_moved() returns trigger language plpgsql as $$
    declare
      users_moved integer;
    begin
      select count(distinct o.user_id) into users_moved
        from old_rows o join new_rows n on n.id = o.id where n.expires_at is distinct from o.expires_at;
      if users_moved > 100 then
        perform pg_notify('propart_cache', 'u:*');
      elsif users_moved > 0 then
        perform pg_notify('propart_cache', 'u:' || user_id) from (
          select distinct o.user_id from old_rows o join new_rows n on n.id = o.id where n.expires_at is distinct from o.expires_at
        ) moved;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger sessions_expiry_cache_notify after update on sessions
    referencing old table as old_rows new table as new_rows
    for each statement execute function notify_sessions_expiry_moved()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger sessions_expiry_cache_notify on sessions`.execute(db);
  await sql`drop function notify_sessions_expiry_moved()`.execute(db);
}
