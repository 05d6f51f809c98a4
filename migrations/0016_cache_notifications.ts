import { type Kysely, sql } from 'kysely';

// Each web instance keeps the sessions its dashboards read, and the lead versions, in memory
// (src/platform/session-cache.ts, decision 023). The database tells every instance, at commit, what no
// longer holds — whatever statement made the change, from whichever process:
//   u:<user id>             a user changed or was removed, a session of theirs ended, their two-factor
//                           sign-in changed: forget that user's sessions (u:* — forget every session)
//   v:<agent id>:<version>  that agent's lead version (migrations/0012) is now <version>
// The instances' own heartbeats (t:…) travel on the same channel. PostgreSQL delivers notifications in
// commit order, so an instance that hears its heartbeat has heard everything committed before it.
// The channel's name is CACHE_CHANNEL in src/platform/session-cache.ts.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function notify_user_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('propart_cache', 'u:' || (case when tg_op = 'DELETE' then old.id else new.id end));
      return null;
    end $$`.execute(db);
  await sql`create trigger users_cache_notify after update or delete on users
    for each row execute function notify_user_changed()`.execute(db);

  await sql`
    create function notify_two_factor_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('propart_cache', 'u:' || (case when tg_op = 'DELETE' then old.user_id else new.user_id end));
      return null;
    end $$`.execute(db);
  await sql`create trigger user_totp_cache_notify after insert or update or delete on user_totp
    for each row execute function notify_two_factor_changed()`.execute(db);

  // Sessions end by statements that may remove thousands at once (the housekeeping of expired ones): one
  // notice per user, or a single "forget everything" past a hundred users.
  await sql`
    create function notify_sessions_ended() returns trigger language plpgsql as $$
    begin
      if (select count(distinct user_id) from old_rows) > 100 then
        perform pg_notify('propart_cache', 'u:*');
      else
        perform pg_notify('propart_cache', 'u:' || user_id) from (select distinct user_id from old_rows) ended;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger sessions_cache_notify after delete on sessions referencing old table as old_rows
    for each statement execute function notify_sessions_ended()`.execute(db);

  await sql`
    create function notify_lead_version() returns trigger language plpgsql as $$
    begin
      perform pg_notify('propart_cache', 'v:' || new.agent_id || ':' || new.version);
      return null;
    end $$`.execute(db);
  await sql`create trigger lead_versions_cache_notify after insert or update on lead_versions
    for each row execute function notify_lead_version()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger lead_versions_cache_notify on lead_versions`.execute(db);
  await sql`drop function notify_lead_version()`.execute(db);
  await sql`drop trigger sessions_cache_notify on sessions`.execute(db);
  await sql`drop function notify_sessions_ended()`.execute(db);
  await sql`drop trigger user_totp_cache_notify on user_totp`.execute(db);
  await sql`drop function notify_two_factor_changed()`.execute(db);
  await sql`drop trigger users_cache_notify on users`.execute(db);
  await sql`drop function notify_user_changed()`.execute(db);
}
