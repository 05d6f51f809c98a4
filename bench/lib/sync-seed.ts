// Set-based seeding for bench/sync: agents, new leads (every one with an email), comments spread over
// them, and a pending outbox row (sync_items: upsert, pending, due now) for every lead and comment —
// the state right after a bulk import, before the first sync. A few INSERT … SELECT, no per-row round trips.
import { type Kysely, sql } from 'kysely';
import { BUDGETS, COUNTRIES, LANGUAGES, MESSENGERS, PURCHASE_GOALS, SOURCES, values } from '../../src/leads/domain.ts';

export interface SyncSeedPlan { agents: number; leads: number; comments: number }
export interface SyncSeeded { agents: number; leads: number; comments: number; leadItems: number; commentItems: number }

const FIRST = ['Олена', 'Андрій', 'Ірина', 'Максим', 'Наталія', 'Дмитро', 'Оксана', 'Сергій', 'Юлія', 'Anna', 'John', 'Maria'];
const LAST = ['Коваленко', 'Шевченко', 'Бондаренко', 'Ткаченко', 'Кравченко', 'Мельник', 'Бойко', 'Smith', 'Novak', 'Petrov'];
const BODIES = [
  'Клієнт хоче віллу з видом на море',
  'Передзвонити після 18:00, цікавить офф-план',
  'Надіслав три варіанти апартаментів, чекаємо відповіді',
  'Бюджет може зрости, якщо буде розстрочка',
  'Просить тур на вихідних',
];

/** Seeds into an empty, migrated database. Works on PostgreSQL and PGlite (plain SQL through Kysely). */
export async function seedSync(db: Kysely<any>, plan: SyncSeedPlan): Promise<SyncSeeded> {
  // Agents (the sync reads their name and email for the deal; no one signs in, so no real password hash).
  await sql`
    insert into users (username, email, display_name, password_hash, role, is_verified, commission, locale)
    select 'sync_agent_' || lpad(g::text, 3, '0'), 'sync_agent_' || lpad(g::text, 3, '0') || '@example.com',
           (${FIRST}::text[])[1 + g % cardinality(${FIRST}::text[])] || ' ' || (${LAST}::text[])[1 + (g * 3) % cardinality(${LAST}::text[])],
           '!bench-no-login', 'agent', true, 10, 'uk'
    from generate_series(1, ${plan.agents}::int) g`.execute(db);

  // Leads: new ones, round-robin over the agents, every one with its own email (one contact each), a spread
  // of statuses (→ pipeline stages), budgets, countries and sources.
  await sql`
    with agents as (select array_agg(id order by id) as ids from users where username like 'sync_agent_%')
    insert into leads (agent_id, created_by, deal_name, email, phone, budget, status, country, purchase_goal,
                       communication_language, source, messenger, created_at, updated_at)
    select a.ids[1 + g % cardinality(a.ids)], a.ids[1 + g % cardinality(a.ids)],
           (${FIRST}::text[])[1 + g % cardinality(${FIRST}::text[])] || ' ' || (${LAST}::text[])[1 + (g / 7) % cardinality(${LAST}::text[])] || ' ' || g,
           'sync.client' || g || '@example.com',
           '+380' || lpad((500000000 + g * 37)::text, 9, '0'),
           (${values(BUDGETS)}::text[])[1 + g % 4],
           (array['new', 'new', 'new', 'contacted', 'qualified', 'closed'])[1 + g % 6],
           (${values(COUNTRIES)}::text[])[1 + g % cardinality(${values(COUNTRIES)}::text[])],
           (${values(PURCHASE_GOALS)}::text[])[1 + g % cardinality(${values(PURCHASE_GOALS)}::text[])],
           (${values(LANGUAGES)}::text[])[1 + g % cardinality(${values(LANGUAGES)}::text[])],
           (${values(SOURCES)}::text[])[1 + g % cardinality(${values(SOURCES)}::text[])],
           (${values(MESSENGERS)}::text[])[1 + g % cardinality(${values(MESSENGERS)}::text[])],
           now() - (${plan.leads}::int - g) * interval '1 minute', now() - (${plan.leads}::int - g) * interval '1 minute'
    from generate_series(1, ${plan.leads}::int) g, agents a
    order by g`.execute(db);

  // Comments: comment g goes to lead 1 + (g·7919 mod leads) — a permutation when there are as many comments
  // as leads (7919 is prime), so every lead gets one, in an order unrelated to the leads' own; with more
  // comments than leads, some get several. Written by the lead's agent.
  await sql`
    with l as (select array_agg(id order by id) as ids from leads)
    insert into comments (lead_id, author_id, body, created_at, updated_at)
    select le.id, le.agent_id, (${BODIES}::text[])[1 + g % cardinality(${BODIES}::text[])] || ' (#' || g || ')', now() - interval '1 minute' + g * interval '1 ms', now()
    from generate_series(1, ${plan.comments}::int) g, l
    join lateral (select id, agent_id from leads where id = l.ids[1 + ((g::bigint * 7919) % cardinality(l.ids))::int]) le on true
    order by g`.execute(db);

  // The outbox, as enqueueSync() leaves it: one pending upsert per lead and per comment, due now.
  await sql`insert into sync_items (entity_type, entity_id, op) select 'lead', id, 'upsert' from leads order by id`.execute(db);
  await sql`insert into sync_items (entity_type, entity_id, op) select 'comment', id, 'upsert' from comments order by id`.execute(db);
  await sql`analyze`.execute(db);

  const c = await sql<SyncSeeded>`
    select (select count(*)::int from users where username like 'sync_agent_%') as agents,
           (select count(*)::int from leads) as leads,
           (select count(*)::int from comments) as comments,
           (select count(*)::int from sync_items where entity_type = 'lead' and status = 'pending') as "leadItems",
           (select count(*)::int from sync_items where entity_type = 'comment' and status = 'pending') as "commentItems"`.execute(db);
  return c.rows[0]!;
}
