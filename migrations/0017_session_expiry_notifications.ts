import { type Kysely, sql } from 'kysely';

// The in-memory sessions (migrations/0016, decision 023) also hear when a session's expiry is moved: an
// operator ending sessions with `UPDATE sessions SET expires_at = now() …` must sign those users out on
// every instance at once, as deleting the rows does. 0016's function serves both: the users whose sessions
// ended (DELETE) or whose expiry moved (UPDATE; the app's own last-seen touch changes no expiry and sends
// nothing). Transition tables cannot go with a column list, so an update's rows are compared.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function notify_sessions_ended() returns trigger language plpgsql as $$
    declare
      users_told integer[];
    begin
      if tg_op = 'DELETE' then
        select array_agg(distinct user_id) into users_told from old_rows;
      else
        select array_agg(distinct o.user_id) into users_told
          from old_rows o join new_rows n on n.id = o.id where n.expires_at is distinct from o.expires_at;
      end if;
      if cardinality(users_told) > 100 then
        perform pg_notify('propart_cache', 'u:*');
      elsif users_told is not null then
        perform pg_notify('propart_cache', 'u:' || user_id) from unnest(users_told) user_id;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger sessions_expiry_cache_notify after update on sessions
    referencing old table as old_rows new table as new_rows
    for each statement execute function notify_sessions_ended()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger sessions_expiry_cache_notify on sessions`.execute(db);
  // 0016's function as it was.
  await sql`
    create or replace function notify_sessions_ended() returns trigger language plpgsql as $$
    begin
      if (select count(distinct user_id) from old_rows) > 100 then
        perform pg_notify('propart_cache', 'u:*');
      else
        perform pg_notify('propart_cache', 'u:' || user_id) from (select distinct user_id from old_rows) ended;
      end if;
      return null;
    end $$`.execute(db);
}
