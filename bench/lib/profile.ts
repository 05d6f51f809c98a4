// Where a dashboard request spends its database time: runs the dashboard's own query functions
// (src/dashboard/queries.server.ts) for a user and filter, captures the SQL they send, and times each
// statement with EXPLAIN ANALYZE on an otherwise idle server (best of a few runs).
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/db/schema.ts';
import * as q from '../../src/dashboard/queries.server.ts';
import type { CurrentUser } from '../../src/views/context.ts';

export interface ProfiledQuery {
  label: string;
  ms: number;
  plan: string;
  fullPlan: string;
  sql: string;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** A one-line outline of a plan: node types, depth-first, with the table/index and actual row counts. */
function outline(node: PlanNode): string {
  const parts: string[] = [];
  const walk = (n: PlanNode) => {
    let s = n['Node Type'];
    if (n['Index Name']) s += `(${n['Index Name']})`;
    else if (n['Relation Name']) s += `(${n['Relation Name']})`;
    if (n['Actual Rows'] !== undefined) s += ` ${Math.round(n['Actual Rows'] * (n['Actual Loops'] ?? 1))}r`;
    parts.push(s);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(node);
  return parts.join(' › ');
}

function labelSummary(sql: string): string {
  return sql.includes('date_trunc') ? 'chart weekly' : 'cards + stage/source charts (one grouped pass)';
}

export async function profileDashboard(url: string, user: CurrentUser, query: Record<string, string>, runs = 3): Promise<ProfiledQuery[]> {
  const captured: { label: string; sql: string; parameters: readonly unknown[] }[] = [];
  let label = '';
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (e: LogEvent) => {
      if (e.level === 'query') captured.push({ label: label === 'summary' ? labelSummary(e.query.sql) : label, sql: e.query.sql, parameters: e.query.parameters });
    },
  });
  try {
    const filter = q.filterSchema.parse(query);
    label = 'summary';
    const { cards } = await q.summary(db, user, filter);
    label = 'page rows';
    await q.page(db, user, filter, cards.total);
    if (user.role === 'admin') {
      label = 'agents (filter list)';
      await db.selectFrom('users').select(['id', 'display_name']).where('role', '=', 'agent').orderBy('display_name').execute();
    }

    const out: ProfiledQuery[] = [];
    const client = await pool.connect();
    try {
      for (const c of captured) {
        let best = Infinity;
        let plan: PlanNode | null = null;
        for (let i = 0; i < runs; i++) {
          const res = await client.query(`explain (analyze, buffers, format json) ${c.sql}`, c.parameters as unknown[]);
          const doc = (res.rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] })['QUERY PLAN'][0];
          if (doc['Execution Time'] < best) {
            best = doc['Execution Time'];
            plan = doc.Plan;
          }
        }
        const text = await client.query(`explain (analyze, buffers) ${c.sql}`, c.parameters as unknown[]);
        out.push({
          label: c.label, ms: best, plan: plan ? outline(plan) : '', sql: c.sql,
          fullPlan: text.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'),
        });
      }
    } finally {
      client.release();
    }
    return out;
  } finally {
    await db.destroy();
  }
}
