// The pipeline board: leads grouped by HubSpot stage (the same stage map as the sync), and moving a lead
// to another stage — saved like any edit (status via setStatus, so the points rules apply) and queued
// for HubSpot in the request's transaction.
import { type Kysely, sql, type Transaction } from 'kysely';
import { z } from 'zod';
import { type AuditSource, recordAudit } from '../audit/audit.server.ts';
import type { Database, Lead } from '../db/schema.ts';
import { type LeadFilter, filtered } from '../dashboard/queries.server.ts';
import { enqueueSync } from '../hubspot/outbox.server.ts';
import { findLeadForUser, setStatus } from '../leads/leads.server.ts';
import type { Stage } from '../leads/stages.ts';
import { ValidationFailed } from '../platform/errors.ts';
import type { CurrentUser } from '../views/context.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

/** Cards shown per column; the rest are reached through the dashboard filtered by stage. */
export const COLUMN_CAP = 50;

export const moveSchema = z.object({
  lead_id: z.coerce.number().int().positive().max(2_147_483_647),
  stage_id: z.string({ error: 'board.validation.stage' }).trim().min(1, 'board.validation.stage').max(40, 'board.validation.stage'),
  next: z.string().max(2000).optional(),
});
export type MoveInput = z.output<typeof moveSchema>;

/** The filters the board honours: the dashboard's, minus the ones the columns themselves express. */
export function boardFilter(f: LeadFilter): LeadFilter {
  return { ...f, status: undefined, stage: undefined, sort: 'updated_at', order: 'desc', page: 1 };
}

/**
 * The column a lead sits in: its stage when that stage agrees with its status (what the push sends),
 * otherwise the first stage of its local status (what a status change is pushed as), else the first.
 */
export function columnOf(lead: Pick<Lead, 'hubspot_stage_id' | 'status'>, stages: Stage[]): Stage {
  return stages.find((s) => s.id === lead.hubspot_stage_id && s.status === lead.status)
    ?? stages.find((s) => s.status === lead.status) ?? stages[0]!;
}

/** The same rule as columnOf(), in SQL: the column's index in the stage map. */
function columnExpr(stages: Stage[]) {
  const exact = stages.map((s, i) => sql`when leads.hubspot_stage_id = ${s.id} and leads.status = ${s.status} then ${sql.lit(i)}`);
  const seen = new Set<string>();
  const byStatus = stages.flatMap((s, i) => {
    if (seen.has(s.status)) return [];
    seen.add(s.status);
    return [sql`when leads.status = ${s.status} then ${sql.lit(i)}`];
  });
  return sql<number>`(case ${sql.join([...exact, ...byStatus], sql` `)} else 0 end)`;
}

export interface BoardCard {
  id: number; deal_name: string; phone: string; budget: string; status: Lead['status']; country: string | null;
  possible_duplicate: boolean; agent_name: string; updated_at: Date;
}
export interface BoardColumn { stage: Stage; total: number; cards: BoardCard[] }

/** One query: the newest `cap` cards of every column and each column's total, under the user's scope and filters. */
export async function loadBoard(db: DbLike, user: CurrentUser, f: LeadFilter, stages: Stage[], cap = COLUMN_CAP): Promise<BoardColumn[]> {
  const col = columnExpr(stages);
  const inner = db.selectFrom('leads').innerJoin('users', 'users.id', 'leads.agent_id')
    .select([
      'leads.id', 'leads.deal_name', 'leads.phone', 'leads.budget', 'leads.status', 'leads.country', 'leads.possible_duplicate',
      'leads.updated_at', 'users.display_name as agent_name', col.as('col'),
      sql<number>`(row_number() over (partition by ${col} order by leads.updated_at desc, leads.id desc))::int`.as('rn'),
      sql<number>`(count(*) over (partition by ${col}))::int`.as('col_total'),
    ])
    .where(filtered(user, boardFilter(f)));
  const rows = await db.selectFrom(inner.as('b')).selectAll().where('b.rn', '<=', cap).orderBy('b.col').orderBy('b.rn').execute();
  const columns: BoardColumn[] = stages.map((stage) => ({ stage, total: 0, cards: [] }));
  for (const { col: i, rn: _rn, col_total, ...card } of rows) {
    const column = columns[Number(i)];
    if (!column) continue;
    column.total = Number(col_total);
    column.cards.push(card as BoardCard);
  }
  return columns;
}

export interface MoveResult { lead: Lead; stage: Stage; changed: boolean; awarded: boolean }

/** Moves a lead the user may see to a stage of the map; another agent's lead is "not found". */
export async function moveLead(db: DbLike, user: CurrentUser, input: Pick<MoveInput, 'lead_id' | 'stage_id'>, stages: Stage[], audit: AuditSource = user): Promise<MoveResult> {
  const stage = stages.find((s) => s.id === input.stage_id);
  if (!stage) throw new ValidationFailed({ stage_id: 'board.validation.stage' });
  const lead = await findLeadForUser(db, user, input.lead_id, { forUpdate: true });
  // Already there (by its stage, or by its status when it has none yet): nothing to save or sync.
  if (columnOf(lead, stages).id === stage.id) return { lead, stage, changed: false, awarded: false };
  await enqueueSync(db, 'lead', lead.id);
  const awarded = stage.status === 'closed' && lead.status !== 'closed';
  const withStatus = await setStatus(db, lead, stage.status);
  const updated = await db.updateTable('leads')
    .set({ hubspot_stage_id: stage.id, hubspot_stage_label: stage.label, updated_at: sql`now()` })
    .where('id', '=', withStatus.id).returningAll().executeTakeFirstOrThrow();
  await recordAudit(db, audit, { action: 'lead.stage', entityType: 'lead', entityId: lead.id, before: lead, after: updated });
  return { lead: updated, stage, changed: true, awarded };
}
