// The transactional outbox. enqueueSync() is called with the request's transaction, so the change and
// its pending sync commit together: a crash can lose neither. Several changes coalesce into one row.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, SyncItem } from '../db/schema.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

export async function enqueueSync(db: DbLike, entityType: 'lead' | 'comment', entityId: number, op: 'upsert' | 'delete' = 'upsert', payload?: Record<string, unknown>): Promise<void> {
  await enqueueSyncMany(db, entityType, [entityId], op, payload);
}

/**
 * Queues the sync of entities, one statement per 1000 (a CSV import's new leads). An entity already
 * queued is the same row again: its version goes up, so a round holding the older version leaves it due.
 */
export async function enqueueSyncMany(db: DbLike, entityType: 'lead' | 'comment', entityIds: number[], op: 'upsert' | 'delete' = 'upsert', payload?: Record<string, unknown>): Promise<void> {
  for (let i = 0; i < entityIds.length; i += 1000) {
    await db.insertInto('sync_items')
      .values(entityIds.slice(i, i + 1000).map((id) => ({ entity_type: entityType, entity_id: id, op, payload: payload ? JSON.stringify(payload) : null })))
      .onConflict((oc) => oc.columns(['entity_type', 'entity_id']).doUpdateSet({
        version: sql`sync_items.version + 1`,
        op: sql`excluded.op`,
        payload: sql`coalesce(excluded.payload, sync_items.payload)`,
        status: 'pending',
        attempts: 0,
        next_attempt_at: sql`now()`,
        last_error: null,
        updated_at: sql`now()`,
      }))
      .execute();
  }
}

/**
 * Claims up to `limit` due items for this worker with a lease. SKIP LOCKED plus the lease mean two
 * workers never hold the same entity, so a lead never has two syncs in flight.
 */
export async function claimDue(db: DbLike, workerId: string, limit: number, leaseSeconds: number): Promise<SyncItem[]> {
  const result = await sql<SyncItem>`
    update sync_items set claimed_until = now() + make_interval(secs => ${leaseSeconds}), claimed_by = ${workerId}
    where id in (
      select id from sync_items
      where status = 'pending' and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
      order by entity_type desc, next_attempt_at, id
      limit ${limit}
      for update skip locked)
    returning *`.execute(db);
  return result.rows;
}

/**
 * A round's HubSpot calls were stopped because its lease could no longer be vouched for: its items are
 * left alone (still claimed) and come back when the lease ends. See holdClaims.
 */
export class LeaseLost extends Error {}

/**
 * The process is stopping and its grace period is over: the round starts no more HubSpot calls and, as
 * with a lost lease, leaves its unsettled items claimed until the lease ends (a call may be on its way).
 */
export class RoundStopped extends LeaseLost {}

export interface ClaimHold {
  /** Aborted (with a LeaseLost) once less than marginMs of the last confirmed lease is left. */
  signal: AbortSignal;
  /** Stops renewing (the round is over). */
  release(): void;
}

/**
 * Keeps a round's items claimed while it is pushed, however long the rate limit, 429s or an outage make
 * it: the lease is renewed every quarter of its length. If renewing fails (the database unreachable) until
 * less than `marginMs` of the last confirmed lease is left, `signal` aborts and the round starts no more
 * HubSpot calls, so none can still be on its way when another worker may claim the items. `claimedAt` is
 * this process's clock just before the claim; the database's now() was later, so the lease is never
 * overestimated.
 */
export function holdClaims(db: DbLike, workerId: string, ids: number[], opts: { leaseSeconds: number; marginMs: number; claimedAt: number }): ClaimHold {
  const controller = new AbortController();
  const leaseMs = opts.leaseSeconds * 1000;
  let abortTimer: NodeJS.Timeout | undefined;
  const lost = () => controller.abort(new LeaseLost(`the lease of ${ids.length} claimed items could not be renewed`));
  const confirmedUntil = (until: number) => {
    clearTimeout(abortTimer);
    const left = until - opts.marginMs - Date.now();
    if (left <= 0) return lost();
    abortTimer = setTimeout(lost, left);
    abortTimer.unref();
  };
  confirmedUntil(opts.claimedAt + leaseMs);
  let renewing = false;
  const renew = async () => {
    if (renewing || controller.signal.aborted) return;
    renewing = true;
    const started = Date.now();
    try {
      await renewClaims(db, workerId, ids, opts.leaseSeconds);
      if (!controller.signal.aborted) confirmedUntil(started + leaseMs);
    } catch { /* not confirmed: the abort timer decides */ } finally {
      renewing = false;
    }
  };
  const interval = setInterval(() => void renew(), leaseMs / 4);
  interval.unref();
  return {
    signal: controller.signal,
    release: () => {
      clearInterval(interval);
      clearTimeout(abortTimer);
    },
  };
}

/** Extends the lease of those of `ids` this worker still holds (settled items are no longer claimed). */
export async function renewClaims(db: DbLike, workerId: string, ids: number[], leaseSeconds: number): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await db.updateTable('sync_items').set({ claimed_until: sql`now() + make_interval(secs => ${leaseSeconds})` })
    .where('claimed_by', '=', workerId).where('id', 'in', ids).executeTakeFirst();
  return Number(res.numUpdatedRows);
}

// The outcomes below touch only rows this worker still holds (claimed_by): a row whose lease ended and
// that another worker claimed since is that worker's to settle.

/** Marks claimed items done at the version that was pushed; a newer change keeps the item pending. */
export async function completeItems(db: DbLike, workerId: string, items: Pick<SyncItem, 'id' | 'version'>[]): Promise<void> {
  if (items.length === 0) return;
  // One statement for the whole round; each row compares with the version that was pushed.
  await sql`update sync_items set synced_version = v.version,
      status = case when sync_items.version = v.version then 'synced' else 'pending' end,
      attempts = 0, last_error = null, synced_at = now(), claimed_until = null, claimed_by = null, updated_at = now()
    from unnest(${items.map((i) => i.id)}::int[], ${items.map((i) => i.version)}::int[]) as v(id, version)
    where sync_items.id = v.id and sync_items.claimed_by = ${workerId}`.execute(db);
}

/** Gives items back without counting an attempt (e.g. a comment whose deal does not exist yet). */
export async function deferItems(db: DbLike, workerId: string, ids: number[], seconds: number): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('sync_items').set({ next_attempt_at: sql`now() + make_interval(secs => ${seconds})`, claimed_until: null, claimed_by: null })
    .where('id', 'in', ids).where('claimed_by', '=', workerId).execute();
}

/** Records a failure; after `maxAttempts` the item is parked for an admin to look at. */
export async function failItems(db: DbLike, workerId: string, ids: number[], error: string, delaySeconds: number, maxAttempts: number): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('sync_items').set({
    attempts: sql`attempts + 1`,
    status: sql`case when attempts + 1 >= ${maxAttempts} then 'parked' else 'pending' end`,
    last_error: error.slice(0, 500), last_error_at: sql`now()`,
    next_attempt_at: sql`now() + make_interval(secs => ${delaySeconds})`,
    claimed_until: null, claimed_by: null, updated_at: sql`now()`,
  }).where('id', 'in', ids).where('claimed_by', '=', workerId).execute();
}

/**
 * The admin's "retry": back to pending now, attempts reset. A live claim is kept (a round is pushing the
 * item right now: ending its lease would let a second worker push it at the same time); an expired one
 * (a dead worker's) is cleared.
 */
export async function retryItems(db: DbLike, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await db.updateTable('sync_items').set({
    status: 'pending', attempts: 0, next_attempt_at: sql`now()`, updated_at: sql`now()`,
    claimed_until: sql`case when claimed_until > now() then claimed_until end`,
  })
    .where('id', 'in', ids).where('status', 'in', ['failed', 'parked', 'pending']).executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export function syncStateFor(db: DbLike, entityType: 'lead' | 'comment', entityId: number) {
  return db.selectFrom('sync_items').selectAll().where('entity_type', '=', entityType).where('entity_id', '=', entityId).executeTakeFirst();
}
