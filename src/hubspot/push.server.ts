// Outbound: drains the outbox in rounds of up to roundSize items, pushed in HubSpot batches of up to 100 —
// contacts upserted by email (or our lead id), deals upserted by our unique lead-id property, deal→contact
// associations by ids (up to 1000 per call, for the whole round), comments as notes upserted by our comment
// id and associated to the deal (type 214). Every write is an idempotent upsert, so a retry after "written
// but answered 500" or a killed worker cannot duplicate anything. A failed call fails only the items it
// carried (a batch of up to 100, or the round's associations): the rest of the round goes on. The round's
// lease is renewed while it runs (holdClaims), so a slow round is never claimed by a second worker.
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { Lead, SyncItem } from '../db/schema.ts';
import type { Stage } from '../leads/stages.ts';
import { HubSpotError, type HubSpotGateway, type RequestOptions } from './gateway.ts';
import {
  COMMENT_ID_PROPERTY, contactKey, contactProperties, DEAL_TO_CONTACT, dealProperties, LEAD_ID_PROPERTY, NOTE_TO_DEAL, noteProperties,
} from './mapping.ts';
import { claimDue, completeItems, deferItems, failItems, holdClaims, LeaseLost, RoundStopped } from './outbox.server.ts';
import { backoffMs } from './retry.ts';
import { batchResponse } from './schemas.ts';

export interface PushOptions {
  workerId: string;
  /** Objects per HubSpot batch call (≤ 100). */
  batchSize: number;
  /** Outbox items claimed per round; their associations go out together (≤ 1000 per call). Default: batchSize. */
  roundSize?: number;
  /** HubSpot calls of one round in flight at once (the limiter still paces them). Default 1. */
  concurrency?: number;
  /** A claim holds its items this long; renewed every quarter of it while the round runs. */
  leaseSeconds: number;
  /** A round sends a HubSpot call only while at least this much of its lease is confirmed (≥ a request's timeout). Default 0. */
  leaseMarginMs?: number;
  maxAttempts: number;
  /** Aborted (with a RoundStopped) when the process stops and will not wait for the round any longer. */
  stopSignal?: AbortSignal;
  pipelineId: string;
  stages: Stage[];
  log: Logger;
}

/** The gateway as one round uses it: every call carries the round's lease signal. */
type RoundGateway = Pick<HubSpotGateway, 'request'>;

function forRound(gw: HubSpotGateway, signal: AbortSignal): RoundGateway {
  return { request: <S extends z.ZodType>(method: string, path: string, body?: unknown, opts: RequestOptions<S> = {}) => gw.request(method, path, body, { ...opts, signal }) };
}

const chunk = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/**
 * Runs fn over xs with at most `limit` at once. If one throws, no new one starts and the error is thrown
 * once the others in flight have finished (never a call still running after the round has ended).
 */
async function mapLimit<T>(xs: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < xs.length) {
      const x = xs[next++]!;
      try {
        await fn(x);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(limit, xs.length)) }, worker));
  const rejected = results.find((r) => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** Part of a round that failed: its items are retried later, the rest of the round goes on. */
interface Failure { items: SyncItem[]; err: unknown }

async function batchUpsert(gw: RoundGateway, type: string, idProperty: string, inputs: { id: string; properties: Record<string, string> }[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const part of chunk(inputs, 100)) {
    const res = await gw.request('POST', `/crm/v3/objects/${type}/batch/upsert`, { inputs: part.map((i) => ({ ...i, idProperty })) }, { okStatuses: [207], schema: batchResponse });
    // Match by the unique property, never by position.
    for (const r of res.results) {
      const key = r.properties[idProperty];
      if (key) ids.set(idProperty === 'email' ? key.toLowerCase() : key, r.id);
    }
  }
  return ids;
}

async function associate(gw: RoundGateway, from: string, to: string, typeId: number, pairs: { from: string; to: string }[]): Promise<void> {
  for (const part of chunk(pairs, 1000)) {
    await gw.request('POST', `/crm/v4/associations/${from}/${to}/batch/create`, {
      inputs: part.map((p) => ({ from: { id: p.from }, to: { id: p.to }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId }] })),
    }, { okStatuses: [207] });
  }
}

async function archive(gw: RoundGateway, type: string, ids: string[]): Promise<void> {
  for (const part of chunk(ids, 100)) await gw.request('POST', `/crm/v3/objects/${type}/batch/archive`, { inputs: part.map((id) => ({ id })) });
}

type LeadRow = Lead & { agent_email: string | null; agent_name: string | null; owner_id: string | null };

async function pushLeads(db: Db, gw: RoundGateway, items: SyncItem[], opts: PushOptions): Promise<{ done: SyncItem[]; failures: Failure[] }> {
  if (items.length === 0) return { done: [], failures: [] };
  const rows = await db.selectFrom('leads')
    .leftJoin('users', 'users.id', 'leads.agent_id')
    .leftJoin('hubspot_owners', (j) => j.on(sql`lower(hubspot_owners.email)`, '=', sql`lower(users.email)`))
    .selectAll('leads')
    .select(['users.email as agent_email', 'users.display_name as agent_name', 'hubspot_owners.id as owner_id'])
    .where('leads.id', 'in', items.map((i) => i.entity_id))
    .execute() as LeadRow[];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const itemOf = new Map(items.map((i) => [i.entity_id, i]));
  const conc = opts.concurrency ?? 1;
  const failures: Failure[] = [];
  const failed = new Set<number>();
  const fail = (leads: LeadRow[], err: unknown) => {
    const its = leads.map((l) => itemOf.get(l.id)!).filter((i) => !failed.has(i.entity_id));
    for (const i of its) failed.add(i.entity_id);
    if (its.length) failures.push({ items: its, err });
  };
  const leads = items.map((i) => byId.get(i.entity_id)).filter((l): l is LeadRow => !!l);

  // Contacts: unique over the round (so no two calls in flight upsert the same person), per key kind, in
  // batches of batchSize; a failed batch fails the leads of its contacts only.
  const contactIds = new Map<number, string>();
  const contactJobs: { idProperty: string; inputs: { id: string; properties: Record<string, string> }[]; leads: LeadRow[] }[] = [];
  for (const idProperty of ['email', LEAD_ID_PROPERTY] as const) {
    const group = leads.filter((l) => contactKey(l).idProperty === idProperty);
    const unique = new Map(group.map((l) => [contactKey(l).id, { id: contactKey(l).id, properties: contactProperties(l) }]));
    for (const part of chunk([...unique.values()], opts.batchSize)) {
      const keys = new Set(part.map((p) => p.id));
      contactJobs.push({ idProperty, inputs: part, leads: group.filter((l) => keys.has(contactKey(l).id)) });
    }
  }
  await mapLimit(contactJobs, conc, async (job) => {
    try {
      const ids = await batchUpsert(gw, 'contacts', job.idProperty, job.inputs);
      for (const l of job.leads) {
        const id = ids.get(contactKey(l).id);
        if (id) contactIds.set(l.id, id);
      }
    } catch (err) {
      fail(job.leads, err);
    }
  });

  // Deals, in batches of batchSize.
  const dealIds = new Map<string, string>();
  await mapLimit(chunk(leads.filter((l) => !failed.has(l.id)), opts.batchSize), conc, async (part) => {
    try {
      const ids = await batchUpsert(gw, 'deals', LEAD_ID_PROPERTY, part.map((l) => ({
        id: String(l.id),
        properties: dealProperties(l, { pipelineId: opts.pipelineId, stages: opts.stages, ownerId: l.owner_id, agentName: l.agent_name ?? '' }),
      })));
      for (const [k, v] of ids) dealIds.set(k, v);
    } catch (err) {
      fail(part, err);
    }
  });

  // Deal → contact associations of the whole round, up to 1000 per call.
  const pairs: { from: string; to: string; lead: LeadRow }[] = [];
  for (const l of leads) {
    if (failed.has(l.id)) continue;
    const dealId = dealIds.get(String(l.id));
    const contactId = contactIds.get(l.id);
    if (dealId && contactId && (l.hubspot_deal_id !== dealId || l.hubspot_contact_id !== contactId)) pairs.push({ from: dealId, to: contactId, lead: l });
  }
  await mapLimit(chunk(pairs, 1000), conc, async (part) => {
    try {
      await associate(gw, 'deals', 'contacts', DEAL_TO_CONTACT, part);
    } catch (err) {
      fail(part.map((p) => p.lead), err); // their ids are not stored, so the retry associates again
    }
  });

  // Store the ids at once (one statement): the next push of these leads (or their comments) uses them.
  const done: SyncItem[] = [];
  const stored: { id: number; deal: string; contact: string | null; stageId: string | null; stageLabel: string | null }[] = [];
  for (const item of items) {
    if (failed.has(item.entity_id)) continue;
    const l = byId.get(item.entity_id);
    if (!l) { done.push(item); continue; } // deleted meanwhile: its delete item takes over
    const dealId = dealIds.get(String(l.id));
    if (!dealId) continue;
    const stage = opts.stages.find((s) => s.id === l.hubspot_stage_id && s.status === l.status) ?? opts.stages.find((s) => s.status === l.status);
    stored.push({ id: l.id, deal: dealId, contact: contactIds.get(l.id) ?? l.hubspot_contact_id, stageId: stage?.id ?? l.hubspot_stage_id, stageLabel: stage?.label ?? l.hubspot_stage_label });
    done.push(item);
  }
  if (stored.length) {
    await sql`update leads set hubspot_deal_id = v.deal, hubspot_contact_id = v.contact, hubspot_stage_id = v.stage_id,
        hubspot_stage_label = v.stage_label, last_sync_at = now()
      from unnest(${stored.map((v) => v.id)}::int[], ${stored.map((v) => v.deal)}::text[], ${stored.map((v) => v.contact)}::text[],
                  ${stored.map((v) => v.stageId)}::text[], ${stored.map((v) => v.stageLabel)}::text[]) as v(id, deal, contact, stage_id, stage_label)
      where leads.id = v.id`.execute(db);
  }
  return { done, failures };
}

async function pushComments(db: Db, gw: RoundGateway, items: SyncItem[], opts: PushOptions): Promise<{ done: SyncItem[]; waiting: SyncItem[]; failures: Failure[] }> {
  if (items.length === 0) return { done: [], waiting: [], failures: [] };
  const rows = await db.selectFrom('comments')
    .innerJoin('leads', 'leads.id', 'comments.lead_id')
    .leftJoin('users', 'users.id', 'comments.author_id')
    .selectAll('comments')
    .select(['leads.hubspot_deal_id', 'users.display_name as author_name'])
    .where('comments.id', 'in', items.map((i) => i.entity_id))
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const itemOf = new Map(items.map((i) => [i.entity_id, i]));
  const conc = opts.concurrency ?? 1;
  const failures: Failure[] = [];
  const failed = new Set<number>();
  const fail = (ids: number[], err: unknown) => {
    const its = ids.filter((id) => !failed.has(id)).map((id) => itemOf.get(id)!);
    for (const i of its) failed.add(i.entity_id);
    if (its.length) failures.push({ items: its, err });
  };
  const ready = rows.filter((r) => r.hubspot_deal_id);
  const waiting = items.filter((i) => byId.get(i.entity_id) && !byId.get(i.entity_id)!.hubspot_deal_id);
  const noteIds = new Map<string, string>();
  await mapLimit(chunk(ready, opts.batchSize), conc, async (part) => {
    try {
      const ids = await batchUpsert(gw, 'notes', COMMENT_ID_PROPERTY, part.map((c) => ({ id: String(c.id), properties: noteProperties(c, c.author_name) })));
      for (const [k, v] of ids) noteIds.set(k, v);
    } catch (err) {
      fail(part.map((c) => c.id), err);
    }
  });
  const pairs = ready.filter((c) => !failed.has(c.id) && noteIds.get(String(c.id)) && c.hubspot_note_id !== noteIds.get(String(c.id)))
    .map((c) => ({ from: noteIds.get(String(c.id))!, to: c.hubspot_deal_id!, comment: c.id }));
  await mapLimit(chunk(pairs, 1000), conc, async (part) => {
    try {
      await associate(gw, 'notes', 'deals', NOTE_TO_DEAL, part);
    } catch (err) {
      fail(part.map((p) => p.comment), err);
    }
  });
  const done: SyncItem[] = [];
  const stored: { id: number; note: string }[] = [];
  for (const item of items) {
    if (failed.has(item.entity_id)) continue;
    const c = byId.get(item.entity_id);
    if (!c) { done.push(item); continue; }
    const noteId = noteIds.get(String(c.id));
    if (!noteId) continue;
    if (c.hubspot_note_id !== noteId) stored.push({ id: c.id, note: noteId });
    done.push(item);
  }
  if (stored.length) {
    await sql`update comments set hubspot_note_id = v.note from unnest(${stored.map((v) => v.id)}::int[], ${stored.map((v) => v.note)}::text[]) as v(id, note)
      where comments.id = v.id`.execute(db);
  }
  return { done, waiting, failures };
}

/** HubSpot ids of our objects found by our unique property (for deletes that raced their first sync). */
async function findByOwnId(gw: RoundGateway, type: string, idProperty: string, ownIds: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const part of chunk(ownIds, 100)) {
    const res = await gw.request('POST', `/crm/v3/objects/${type}/batch/read`, { inputs: part.map((id) => ({ id })), idProperty, properties: [idProperty] }, { okStatuses: [207], schema: batchResponse });
    for (const r of res.results) found.push(r.id);
  }
  return found;
}

async function pushDeletes(gw: RoundGateway, items: SyncItem[]): Promise<SyncItem[]> {
  const known = (type: 'lead' | 'comment', key: string) => items.filter((i) => i.entity_type === type).map((i) => i.payload?.[key]).filter((v): v is string => typeof v === 'string');
  const unknown = (type: 'lead' | 'comment', key: string) => items.filter((i) => i.entity_type === type && typeof i.payload?.[key] !== 'string').map((i) => String(i.entity_id));
  const deals = [...known('lead', 'dealId'), ...await findByOwnId(gw, 'deals', LEAD_ID_PROPERTY, unknown('lead', 'dealId'))];
  const notes = [...known('comment', 'noteId'), ...await findByOwnId(gw, 'notes', COMMENT_ID_PROPERTY, unknown('comment', 'noteId'))];
  if (deals.length) await archive(gw, 'deals', deals);
  if (notes.length) await archive(gw, 'notes', notes);
  return items;
}

export interface PushResult { claimed: number; synced: number; failed: number; deferred: number }

/** One round: claim up to roundSize items, push them, record the outcome per item. */
export async function pushOnce(db: Db, gw: HubSpotGateway, opts: PushOptions): Promise<PushResult> {
  const claimedAt = Date.now();
  const items = await claimDue(db, opts.workerId, opts.roundSize ?? opts.batchSize, opts.leaseSeconds);
  const result: PushResult = { claimed: items.length, synced: 0, failed: 0, deferred: 0 };
  if (items.length === 0) return result;
  const hold = holdClaims(db, opts.workerId, items.map((i) => i.id), { leaseSeconds: opts.leaseSeconds, marginMs: opts.leaseMarginMs ?? 0, claimedAt });
  try {
    const signal = opts.stopSignal ? AbortSignal.any([hold.signal, opts.stopSignal]) : hold.signal;
    await pushRound(db, forRound(gw, signal), items, opts, result);
  } finally {
    hold.release();
  }
  return result;
}

async function pushRound(db: Db, gw: RoundGateway, items: SyncItem[], opts: PushOptions, result: PushResult): Promise<void> {
  const { workerId } = opts;
  const groups = {
    leads: items.filter((i) => i.entity_type === 'lead' && i.op === 'upsert'),
    comments: items.filter((i) => i.entity_type === 'comment' && i.op === 'upsert'),
    deletes: items.filter((i) => i.op === 'delete'),
  };
  let leaseLost = false;
  const recordFailure = async (name: string, group: SyncItem[], err: unknown) => {
    result.failed += group.length;
    if (err instanceof LeaseLost) {
      // Not an attempt, and no write: the items stay claimed until their lease ends, then come back.
      if (!leaseLost && err instanceof RoundStopped) opts.log.warn({ event: 'hubspot_round_stopped', items: items.length }, 'HubSpot sync round cut short by the shutdown; its unsettled items come back when their lease ends');
      else if (!leaseLost) opts.log.warn({ event: 'hubspot_lease_lost', items: items.length, err: { message: err.message } }, 'HubSpot sync round stopped: its lease could not be renewed; its items come back when it ends');
      leaseLost = true;
      return;
    }
    const message = err instanceof HubSpotError ? err.message : `unexpected: ${(err as Error).message}`;
    const attempt = Math.max(...group.map((i) => i.attempts)) + 1;
    const delay = Math.ceil(backoffMs(attempt, { baseMs: 2000, capMs: 300_000 }) / 1000) + 1;
    opts.log.warn({ event: 'hubspot_push_failed', group: name, items: group.length, correlationId: err instanceof HubSpotError ? err.classified.correlationId : undefined, err: { message } }, 'HubSpot sync batch failed; will retry');
    await failItems(db, workerId, group.map((i) => i.id), message, delay, opts.maxAttempts);
  };
  for (const [name, group] of Object.entries(groups)) {
    if (group.length === 0) continue;
    try {
      let done: SyncItem[];
      let waiting: SyncItem[] = [];
      let failures: Failure[] = [];
      if (name === 'leads') ({ done, failures } = await pushLeads(db, gw, group, opts));
      else if (name === 'comments') ({ done, waiting, failures } = await pushComments(db, gw, group, opts));
      else done = await pushDeletes(gw, group);
      await completeItems(db, workerId, done);
      await deferItems(db, workerId, waiting.map((i) => i.id), 2);
      result.synced += done.length;
      result.deferred += waiting.length;
      for (const f of failures) await recordFailure(name, f.items, f.err);
      const settled = new Set([...done, ...waiting, ...failures.flatMap((f) => f.items)].map((i) => i.id));
      const unanswered = group.filter((i) => !settled.has(i.id));
      if (unanswered.length) await failItems(db, workerId, unanswered.map((i) => i.id), 'HubSpot did not return this object', 5, opts.maxAttempts);
    } catch (err) {
      await recordFailure(name, group, err);
    }
  }
}
