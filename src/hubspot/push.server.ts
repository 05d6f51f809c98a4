// Outbound: drains the outbox in batches of up to 100 — contacts upserted by email (or our lead id),
// deals upserted by our unique lead-id property, deal→contact associations by ids, comments as notes
// upserted by our comment id and associated to the deal (type 214). Every write is an idempotent
// upsert, so a retry after "written but answered 500" or a killed worker cannot duplicate anything.
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { Lead, SyncItem } from '../db/schema.ts';
import type { Stage } from '../leads/stages.ts';
import type { HubSpotGateway } from './gateway.ts';
import { HubSpotError } from './gateway.ts';
import {
  COMMENT_ID_PROPERTY, contactKey, contactProperties, DEAL_TO_CONTACT, dealProperties, LEAD_ID_PROPERTY, NOTE_TO_DEAL, noteProperties,
} from './mapping.ts';
import { claimDue, completeItems, deferItems, failItems } from './outbox.server.ts';
import { backoffMs } from './retry.ts';
import { batchResponse } from './schemas.ts';

export interface PushOptions {
  workerId: string;
  batchSize: number;
  leaseSeconds: number;
  maxAttempts: number;
  pipelineId: string;
  stages: Stage[];
  log: Logger;
}


const chunk = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

async function batchUpsert(gw: HubSpotGateway, type: string, idProperty: string, inputs: { id: string; properties: Record<string, string> }[]): Promise<Map<string, string>> {
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

async function associate(gw: HubSpotGateway, from: string, to: string, typeId: number, pairs: { from: string; to: string }[]): Promise<void> {
  for (const part of chunk(pairs, 1000)) {
    await gw.request('POST', `/crm/v4/associations/${from}/${to}/batch/create`, {
      inputs: part.map((p) => ({ from: { id: p.from }, to: { id: p.to }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId }] })),
    }, { okStatuses: [207] });
  }
}

async function archive(gw: HubSpotGateway, type: string, ids: string[]): Promise<void> {
  for (const part of chunk(ids, 100)) await gw.request('POST', `/crm/v3/objects/${type}/batch/archive`, { inputs: part.map((id) => ({ id })) });
}

type LeadRow = Lead & { agent_email: string | null; agent_name: string | null; owner_id: string | null };

async function pushLeads(db: Db, gw: HubSpotGateway, items: SyncItem[], opts: PushOptions): Promise<SyncItem[]> {
  if (items.length === 0) return [];
  const rows = await db.selectFrom('leads')
    .leftJoin('users', 'users.id', 'leads.agent_id')
    .leftJoin('hubspot_owners', (j) => j.on(sql`lower(hubspot_owners.email)`, '=', sql`lower(users.email)`))
    .selectAll('leads')
    .select(['users.email as agent_email', 'users.display_name as agent_name', 'hubspot_owners.id as owner_id'])
    .where('leads.id', 'in', items.map((i) => i.entity_id))
    .execute() as LeadRow[];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const leads = items.map((i) => byId.get(i.entity_id)).filter((l): l is LeadRow => !!l);

  // Contacts: one upsert call per key kind (email / our lead id).
  const contactIds = new Map<number, string>();
  for (const idProperty of ['email', LEAD_ID_PROPERTY] as const) {
    const group = leads.filter((l) => contactKey(l).idProperty === idProperty);
    if (group.length === 0) continue;
    const unique = new Map(group.map((l) => [contactKey(l).id, { id: contactKey(l).id, properties: contactProperties(l) }]));
    const ids = await batchUpsert(gw, 'contacts', idProperty, [...unique.values()]);
    for (const l of group) {
      const id = ids.get(contactKey(l).id);
      if (id) contactIds.set(l.id, id);
    }
  }

  const dealIds = await batchUpsert(gw, 'deals', LEAD_ID_PROPERTY, leads.map((l) => ({
    id: String(l.id),
    properties: dealProperties(l, { pipelineId: opts.pipelineId, stages: opts.stages, ownerId: l.owner_id, agentName: l.agent_name ?? '' }),
  })));

  const pairs: { from: string; to: string }[] = [];
  for (const l of leads) {
    const dealId = dealIds.get(String(l.id));
    const contactId = contactIds.get(l.id);
    if (dealId && contactId && (l.hubspot_deal_id !== dealId || l.hubspot_contact_id !== contactId)) pairs.push({ from: dealId, to: contactId });
  }
  if (pairs.length) await associate(gw, 'deals', 'contacts', DEAL_TO_CONTACT, pairs);

  // Store the ids at once: the next push of this lead (or its comments) uses them. One statement for the
  // batch (a statement per lead was half of a bulk sync's database time: bench/sync).
  const done: SyncItem[] = [];
  const stored: { id: number; dealId: string; contactId: string | null; stageId: string | null; stageLabel: string | null }[] = [];
  for (const item of items) {
    const l = byId.get(item.entity_id);
    if (!l) { done.push(item); continue; } // deleted meanwhile: its delete item takes over
    const dealId = dealIds.get(String(l.id));
    if (!dealId) continue;
    const stage = opts.stages.find((s) => s.id === l.hubspot_stage_id && s.status === l.status) ?? opts.stages.find((s) => s.status === l.status);
    stored.push({
      id: l.id, dealId, contactId: contactIds.get(l.id) ?? l.hubspot_contact_id,
      stageId: stage?.id ?? l.hubspot_stage_id, stageLabel: stage?.label ?? l.hubspot_stage_label,
    });
    done.push(item);
  }
  if (stored.length) {
    await sql`
      update leads set hubspot_deal_id = v.deal_id, hubspot_contact_id = v.contact_id, hubspot_stage_id = v.stage_id,
                       hubspot_stage_label = v.stage_label, last_sync_at = now()
      from unnest(${stored.map((v) => v.id)}::int[], ${stored.map((v) => v.dealId)}::text[], ${stored.map((v) => v.contactId)}::text[],
                  ${stored.map((v) => v.stageId)}::text[], ${stored.map((v) => v.stageLabel)}::text[]) as v(id, deal_id, contact_id, stage_id, stage_label)
      where leads.id = v.id`.execute(db);
  }
  return done;
}

async function pushComments(db: Db, gw: HubSpotGateway, items: SyncItem[]): Promise<{ done: SyncItem[]; waiting: SyncItem[] }> {
  if (items.length === 0) return { done: [], waiting: [] };
  const rows = await db.selectFrom('comments')
    .innerJoin('leads', 'leads.id', 'comments.lead_id')
    .leftJoin('users', 'users.id', 'comments.author_id')
    .selectAll('comments')
    .select(['leads.hubspot_deal_id', 'users.display_name as author_name'])
    .where('comments.id', 'in', items.map((i) => i.entity_id))
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ready = rows.filter((r) => r.hubspot_deal_id);
  const waiting = items.filter((i) => byId.get(i.entity_id) && !byId.get(i.entity_id)!.hubspot_deal_id);
  const noteIds = ready.length ? await batchUpsert(gw, 'notes', COMMENT_ID_PROPERTY, ready.map((c) => ({ id: String(c.id), properties: noteProperties(c, c.author_name) }))) : new Map<string, string>();
  const pairs = ready.filter((c) => noteIds.get(String(c.id)) && c.hubspot_note_id !== noteIds.get(String(c.id)))
    .map((c) => ({ from: noteIds.get(String(c.id))!, to: c.hubspot_deal_id! }));
  if (pairs.length) await associate(gw, 'notes', 'deals', NOTE_TO_DEAL, pairs);
  const done: SyncItem[] = [];
  const stored: { id: number; noteId: string }[] = [];
  for (const item of items) {
    const c = byId.get(item.entity_id);
    if (!c) { done.push(item); continue; }
    const noteId = noteIds.get(String(c.id));
    if (!noteId) continue;
    if (c.hubspot_note_id !== noteId) stored.push({ id: c.id, noteId });
    done.push(item);
  }
  if (stored.length) {
    await sql`
      update comments set hubspot_note_id = v.note_id
      from unnest(${stored.map((v) => v.id)}::int[], ${stored.map((v) => v.noteId)}::text[]) as v(id, note_id)
      where comments.id = v.id`.execute(db);
  }
  return { done, waiting };
}

/** HubSpot ids of our objects found by our unique property (for deletes that raced their first sync). */
async function findByOwnId(gw: HubSpotGateway, type: string, idProperty: string, ownIds: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const part of chunk(ownIds, 100)) {
    const res = await gw.request('POST', `/crm/v3/objects/${type}/batch/read`, { inputs: part.map((id) => ({ id })), idProperty, properties: [idProperty] }, { okStatuses: [207], schema: batchResponse });
    for (const r of res.results) found.push(r.id);
  }
  return found;
}

async function pushDeletes(gw: HubSpotGateway, items: SyncItem[]): Promise<SyncItem[]> {
  const known = (type: 'lead' | 'comment', key: string) => items.filter((i) => i.entity_type === type).map((i) => i.payload?.[key]).filter((v): v is string => typeof v === 'string');
  const unknown = (type: 'lead' | 'comment', key: string) => items.filter((i) => i.entity_type === type && typeof i.payload?.[key] !== 'string').map((i) => String(i.entity_id));
  const deals = [...known('lead', 'dealId'), ...await findByOwnId(gw, 'deals', LEAD_ID_PROPERTY, unknown('lead', 'dealId'))];
  const notes = [...known('comment', 'noteId'), ...await findByOwnId(gw, 'notes', COMMENT_ID_PROPERTY, unknown('comment', 'noteId'))];
  if (deals.length) await archive(gw, 'deals', deals);
  if (notes.length) await archive(gw, 'notes', notes);
  return items;
}

export interface PushResult { claimed: number; synced: number; failed: number; deferred: number }

/** One round: claim a batch, push it, record the outcome per item. */
export async function pushOnce(db: Db, gw: HubSpotGateway, opts: PushOptions): Promise<PushResult> {
  const items = await claimDue(db, opts.workerId, opts.batchSize, opts.leaseSeconds);
  const result: PushResult = { claimed: items.length, synced: 0, failed: 0, deferred: 0 };
  if (items.length === 0) return result;
  const groups = {
    leads: items.filter((i) => i.entity_type === 'lead' && i.op === 'upsert'),
    comments: items.filter((i) => i.entity_type === 'comment' && i.op === 'upsert'),
    deletes: items.filter((i) => i.op === 'delete'),
  };
  for (const [name, group] of Object.entries(groups)) {
    if (group.length === 0) continue;
    try {
      let done: SyncItem[];
      let waiting: SyncItem[] = [];
      if (name === 'leads') done = await pushLeads(db, gw, group, opts);
      else if (name === 'comments') ({ done, waiting } = await pushComments(db, gw, group));
      else done = await pushDeletes(gw, group);
      await completeItems(db, done);
      await deferItems(db, waiting.map((i) => i.id), 2);
      result.synced += done.length;
      result.deferred += waiting.length;
      const settled = new Set([...done, ...waiting].map((i) => i.id));
      const unanswered = group.filter((i) => !settled.has(i.id));
      if (unanswered.length) await failItems(db, unanswered.map((i) => i.id), 'HubSpot did not return this object', 5, opts.maxAttempts);
    } catch (err) {
      const message = err instanceof HubSpotError ? err.message : `unexpected: ${(err as Error).message}`;
      const attempt = Math.max(...group.map((i) => i.attempts)) + 1;
      const delay = Math.ceil(backoffMs(attempt, { baseMs: 2000, capMs: 300_000 }) / 1000) + 1;
      opts.log.warn({ event: 'hubspot_push_failed', group: name, items: group.length, correlationId: err instanceof HubSpotError ? err.classified.correlationId : undefined, err: { message } }, 'HubSpot sync batch failed; will retry');
      await failItems(db, group.map((i) => i.id), message, delay, opts.maxAttempts);
      result.failed += group.length;
    }
  }
  return result;
}
