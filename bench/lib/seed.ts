// Set-based seeding for the lead benchmarks: a few INSERT … SELECT over generate_series, no per-row round trips.
import type pg from 'pg';
import { BUDGETS, COUNTRIES, LANGUAGES, MESSENGERS, PURCHASE_GOALS, SOURCES, values } from '../../src/leads/domain.ts';
import { DEFAULT_STAGES } from '../../src/leads/stages.ts';

export interface SeedPlan {
  agents: number;
  leads: number;
  heavyLeads: number;
  /** bcrypt hash shared by every seeded account. */
  passwordHash: string;
}

export interface Seeded {
  adminId: number;
  adminUsername: string;
  heavyAgentId: number;
  heavyAgentUsername: string;
  agentCount: number;
  leadCount: number;
  heavyLeadCount: number;
}

const pad = (n: number) => String(n).padStart(3, '0');
export const agentUsername = (n: number) => `bench_agent_${pad(n)}`;
export const ADMIN_USERNAME = 'bench_admin';

const FIRST = ['Олена', 'Андрій', 'Ірина', 'Максим', 'Наталія', 'Дмитро', 'Оксана', 'Сергій', 'Юлія', 'Володимир', 'Anna', 'John', 'Maria', 'Alex'];
const LAST = ['Коваленко', 'Шевченко', 'Бондаренко', 'Ткаченко', 'Кравченко', 'Олійник', 'Мельник', 'Бойко', 'Smith', 'Novak', 'Petrov'];

export async function seedLeads(client: pg.ClientBase, plan: SeedPlan): Promise<Seeded> {
  // The throwaway server runs with synchronous_commit=off. VACUUM sets hint bits (and so marks pages
  // all-visible, which index-only scans need) only for commits already flushed to WAL; right after an
  // asynchronous commit it marks nothing. Commit synchronously here, as a production server does.
  await client.query('set synchronous_commit = on');
  const admin = await client.query<{ id: number }>(
    `insert into users (username, email, display_name, password_hash, role, is_verified, locale, created_at)
     values ($1::text, $1::text || '@example.com', 'Bench Admin', $2, 'admin', true, 'en', now() - interval '400 days') returning id`,
    [ADMIN_USERNAME, plan.passwordHash],
  );
  const adminId = admin.rows[0]!.id;

  // Agents 001…N; agent 001 is the heavy one. Display names vary so sorting by agent is realistic.
  await client.query(
    `insert into users (username, email, display_name, password_hash, role, admin_id, is_verified, commission, locale, created_at)
     select 'bench_agent_' || lpad(g::text, 3, '0'), 'bench_agent_' || lpad(g::text, 3, '0') || '@example.com',
            ($3::text[])[1 + (g * 7) % cardinality($3::text[])] || ' ' || ($4::text[])[1 + (g * 5) % cardinality($4::text[])] || ' ' || g,
            $1, 'agent', $2, true, 10, 'uk', now() - interval '400 days' + g * interval '1 hour'
     from generate_series(1, $5::int) g`,
    [plan.passwordHash, adminId, FIRST, LAST, plan.agents],
  );
  const heavy = await client.query<{ id: number }>('select id from users where username = $1', [agentUsername(1)]);
  const heavyAgentId = heavy.rows[0]!.id;

  // Leads: every tenth generated row belongs to the heavy agent (exactly heavyLeads of them); the rest go to
  // the other agents with a mild skew (a few busy agents, a long tail). created_at spreads over the last
  // year, weighted towards recent months; rows are inserted in created_at order, so ids grow with time and
  // the heavy agent's rows are spread over the whole table, as they would be in production.
  // 70 % are synced to HubSpot: their status follows the stage; the rest get a status of their own.
  const every = Math.floor(plan.leads / plan.heavyLeads);
  await client.query(
    `with agents as (
       select array_agg(id order by id) as ids from users where role = 'agent' and username like 'bench_agent_%'
     ), raw as materialized (
       select g,
              random() as r_agent, random() as r_created, random() as r_updated, random() as r_stage, random() as r_sync,
              random() as r_status, random() as r_country, random() as r_source, random() as r_budget, random() as r_misc,
              random() as r_email, random() as r_phone2, random() as r_dup, random() as r_transfer
       from generate_series(1, $1::int) g
     ), shaped as (
       select r.*,
              case when g % $2::int = 0 and g / $2::int <= $3::int then a.ids[1]
                   else a.ids[2 + floor((cardinality(a.ids) - 1) * power(r_agent, 1.3))::int] end as agent_id,
              now() - power(r_created, 1.2) * interval '365 days' as created_at,
              r_sync < 0.7 as synced,
              1 + floor(cardinality($7::text[]) * power(r_stage, 1.4))::int as stage_ix
       from raw r, agents a
     ), leads_out as (
       select s.*,
              case when synced then ($9::text[])[stage_ix]
                   when r_status < 0.35 then 'new' when r_status < 0.65 then 'contacted'
                   when r_status < 0.85 then 'qualified' else 'closed' end as status
       from shaped s
     )
     insert into leads (agent_id, created_by, deal_name, email, phone, second_phone, budget, status, is_transferred,
                        country, purchase_goal, communication_language, source, messenger, possible_duplicate,
                        hubspot_contact_id, hubspot_deal_id, hubspot_stage_id, hubspot_stage_label, last_sync_at,
                        closed_at, created_at, updated_at)
     select agent_id, agent_id,
            ($12::text[])[1 + g % cardinality($12::text[])] || ' ' || ($13::text[])[1 + (g / 7) % cardinality($13::text[])] || ' — ' || g,
            case when r_email < 0.8 then 'client' || g || '@example.com' end,
            '+380' || lpad((500000000 + g * 37)::text, 9, '0'),
            case when r_phone2 < 0.15 then '+971' || lpad((500000000 + g * 11)::text, 9, '0') end,
            ($6::text[])[1 + floor(cardinality($6::text[]) * r_budget)::int],
            status,
            r_transfer < 0.08,
            case when r_country < 0.05 then null else ($4::text[])[1 + floor(cardinality($4::text[]) * power((r_country - 0.05) / 0.95, 1.6))::int] end,
            ($10::text[])[1 + floor(cardinality($10::text[]) * r_misc)::int],
            ($11::text[])[1 + floor(cardinality($11::text[]) * r_misc * 0.999)::int],
            case when r_source < 0.03 then null else ($5::text[])[1 + floor(cardinality($5::text[]) * power((r_source - 0.03) / 0.97, 1.3))::int] end,
            ($14::text[])[1 + floor(cardinality($14::text[]) * r_misc)::int],
            r_dup < 0.02,
            case when synced then (700000000 + g)::text end,
            case when synced then (900000000 + g)::text end,
            case when synced then ($7::text[])[stage_ix] end,
            case when synced then ($8::text[])[stage_ix] end,
            case when synced then created_at + r_updated * (now() - created_at) end,
            case when status = 'closed' then created_at + r_updated * (now() - created_at) end,
            created_at,
            created_at + r_updated * (now() - created_at)
     from leads_out
     order by created_at`,
    [
      plan.leads, every, plan.heavyLeads,
      values(COUNTRIES), values(SOURCES), values(BUDGETS),
      DEFAULT_STAGES.map((s) => s.id), DEFAULT_STAGES.map((s) => s.label), DEFAULT_STAGES.map((s) => s.status),
      values(PURCHASE_GOALS), values(LANGUAGES), FIRST, LAST, values(MESSENGERS),
    ],
  );

  // After a bulk load autovacuum would soon do the same: planner statistics and the visibility map.
  await client.query('vacuum analyze users');
  await client.query('vacuum analyze leads');

  const vm = await client.query<{ pages: number; visible: number }>(`select relpages as pages, relallvisible as visible from pg_class where relname = 'leads'`);
  if (vm.rows[0] && vm.rows[0].visible < vm.rows[0].pages * 0.9) {
    throw new Error(`after VACUUM only ${vm.rows[0].visible} of ${vm.rows[0].pages} pages of leads are all-visible: is a transaction holding the xmin horizon back?`);
  }

  const counts = await client.query<{ agents: number; leads: number; heavy: number }>(
    `select (select count(*)::int from users where role = 'agent') as agents,
            (select count(*)::int from leads) as leads,
            (select count(*)::int from leads where agent_id = $1) as heavy`,
    [heavyAgentId],
  );
  const c = counts.rows[0]!;
  return {
    adminId, adminUsername: ADMIN_USERNAME, heavyAgentId, heavyAgentUsername: agentUsername(1),
    agentCount: c.agents, leadCount: c.leads, heavyLeadCount: c.heavy,
  };
}
