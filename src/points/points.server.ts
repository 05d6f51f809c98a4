// The points ledger: every award and reversal is a row; totals and levels are derived from it.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { POINTS, type PointsEventKind } from '../leads/domain.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

export async function award(db: DbLike, userId: number, leadId: number, kind: 'lead_created' | 'deal_closed'): Promise<number> {
  await awardMany(db, [{ userId, leadId }], kind);
  return POINTS[kind];
}

/** The same event for many leads in one statement (a CSV import's new leads). */
export async function awardMany(db: DbLike, awards: { userId: number; leadId: number }[], kind: 'lead_created' | 'deal_closed'): Promise<void> {
  if (awards.length === 0) return;
  await db.insertInto('points_events').values(awards.map((a) => ({ user_id: a.userId, lead_id: a.leadId, kind, points: POINTS[kind] }))).execute();
}

/**
 * Reverses what each user earned for a lead from the given kinds of events, so the sum for that lead
 * (per user) returns to zero. Reversing twice adds nothing: the net is already zero.
 */
export async function reverse(db: DbLike, leadId: number, kinds: PointsEventKind[], as: 'deal_reopened' | 'lead_deleted'): Promise<void> {
  const nets = await db.selectFrom('points_events')
    .select(['user_id', sql<number>`sum(points)::int`.as('net')])
    .where('lead_id', '=', leadId)
    .where('kind', 'in', kinds)
    .groupBy('user_id')
    .execute();
  const rows = nets.filter((n) => n.net !== 0).map((n) => ({ user_id: n.user_id, lead_id: leadId, kind: as, points: -n.net }));
  if (rows.length > 0) await db.insertInto('points_events').values(rows).execute();
}

export async function totalFor(db: DbLike, userId: number): Promise<number> {
  const row = await db.selectFrom('points_events').select(sql<number>`coalesce(sum(points), 0)::int`.as('total')).where('user_id', '=', userId).executeTakeFirst();
  return row?.total ?? 0;
}

export interface LeaderboardRow { user_id: number; display_name: string; points: number; rank: number }

/** Ranked users by points, all time or since a moment (this month). Ties share a rank. */
export async function leaderboard(db: DbLike, since: Date | null, limit = 50): Promise<LeaderboardRow[]> {
  let q = db.selectFrom('points_events as p')
    .innerJoin('users as u', 'u.id', 'p.user_id')
    .select(['u.id as user_id', 'u.display_name', sql<number>`sum(p.points)::int`.as('points'), sql<number>`rank() over (order by sum(p.points) desc)::int`.as('rank')])
    .where('u.is_active', '=', true)
    .groupBy(['u.id', 'u.display_name'])
    .having(sql<number>`sum(p.points)`, '>', 0)
    .orderBy('points', 'desc').orderBy('u.display_name')
    .limit(limit);
  if (since) q = q.where('p.created_at', '>=', since);
  return q.execute();
}
