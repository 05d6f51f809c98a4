// Inbound: deals changed since a stored cursor (search API, within its own limit) update the local
// lead's stage, label, status and responsible agent; notes are read by association to those deals only.
// The agent is matched by the owner's email, never guessed: no match → the admins' "unassigned" list.
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { recordAudit } from '../audit/audit.server.ts';
import { setStatus } from '../leads/leads.server.ts';
import type { Stage } from '../leads/stages.ts';
import type { HubSpotGateway } from './gateway.ts';
import type { z } from 'zod';
import { COMMENT_ID_PROPERTY, LEAD_ID_PROPERTY, leadUpdateFromDeal } from './mapping.ts';
import { associationsPage, batchResponse, ownersPage, searchPage } from './schemas.ts';

type HsObject = z.output<typeof searchPage>['results'][number];

const CURSOR_KEY = 'deals_cursor';
const SYNC_ACTOR = { id: null, name: 'HubSpot sync', ip: null };
const OWNERS_KEY = 'owners_refreshed_at';

async function getState(db: Db, key: string): Promise<string | null> {
  return (await db.selectFrom('sync_state').select('value').where('key', '=', key).executeTakeFirst())?.value ?? null;
}
async function setState(db: Db, key: string, value: string): Promise<void> {
  await db.insertInto('sync_state').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: sql`now()` })).execute();
}

/**
 * A lease so that, with several workers, a scheduled job runs on one of them at a time: the row is
 * taken only when it is free or its previous holder's lease has run out.
 */
export async function acquireLease(db: Db, name: string, holder: string, seconds: number): Promise<boolean> {
  const now = Date.now();
  const value = `${now + seconds * 1000}|${holder}`;
  const res = await sql<{ key: string }>`
    insert into sync_state (key, value) values (${`lease:${name}`}, ${value})
    on conflict (key) do update set value = excluded.value, updated_at = now()
    where split_part(sync_state.value, '|', 1)::bigint < ${now} or split_part(sync_state.value, '|', 2) = ${holder}
    returning key`.execute(db);
  return res.rows.length > 0;
}

/**
 * Gives the lease up; with `keepUntilMs` in the future it stays taken until then instead, so a job that
 * runs every N seconds runs once per round however many workers find it due.
 */
export async function releaseLease(db: Db, name: string, holder: string, keepUntilMs = 0): Promise<void> {
  if (keepUntilMs > Date.now()) {
    await db.updateTable('sync_state').set({ value: `${keepUntilMs}|${holder}`, updated_at: sql`now()` })
      .where('key', '=', `lease:${name}`).where(sql`split_part(value, '|', 2)`, '=', holder).execute();
    return;
  }
  await db.deleteFrom('sync_state').where('key', '=', `lease:${name}`).where(sql`split_part(value, '|', 2)`, '=', holder).execute();
}

export async function refreshOwners(db: Db, gw: HubSpotGateway): Promise<number> {
  let after: string | undefined;
  let count = 0;
  do {
    const page = await gw.request('GET', `/crm/v3/owners?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`, undefined, { schema: ownersPage });
    for (const o of page.results) {
      await db.insertInto('hubspot_owners').values({ id: o.id, email: o.email ?? null, first_name: o.firstName ?? null, last_name: o.lastName ?? null })
        .onConflict((oc) => oc.column('id').doUpdateSet({ email: o.email ?? null, first_name: o.firstName ?? null, last_name: o.lastName ?? null, updated_at: sql`now()` })).execute();
      count++;
    }
    after = page.paging?.next?.after;
  } while (after);
  await setState(db, OWNERS_KEY, new Date().toISOString());
  return count;
}

const htmlToText = (s: string) => s.replace(/<br\s*\/?>/gi, '\n').replace(/<\/p>/gi, '\n').replace(/<[^>]*>/g, '').replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').trim();

export async function pullOnce(db: Db, gw: HubSpotGateway, opts: { stages: Stage[]; pipelineId: string; log: Logger }): Promise<{ deals: number; notes: number }> {
  const ownersAt = await getState(db, OWNERS_KEY);
  if (!ownersAt || Date.now() - Date.parse(ownersAt) > 10 * 60_000) await refreshOwners(db, gw);

  const cursor = Number(await getState(db, CURSOR_KEY) ?? '0');
  let maxSeen = cursor;
  let after: string | undefined;
  const changed: HsObject[] = [];
  do {
    const page = await gw.request('POST', '/crm/v3/objects/deals/search', {
      filterGroups: [{ filters: [
        { propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(cursor) },
        { propertyName: 'pipeline', operator: 'EQ', value: opts.pipelineId },
      ] }],
      sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }],
      properties: ['dealname', 'dealstage', 'pipeline', 'hubspot_owner_id', LEAD_ID_PROPERTY, 'hs_lastmodifieddate'],
      limit: 100, ...(after ? { after } : {}),
    }, { search: true, schema: searchPage });
    changed.push(...page.results);
    after = page.paging?.next?.after;
    if (changed.length >= 10_000) break; // the search API's hard cap; the next pull continues from the cursor
  } while (after);

  const dealIdsWithLeads: string[] = [];
  for (const deal of changed) {
    const p = deal.properties;
    const modified = Date.parse(p.hs_lastmodifieddate ?? '') || Number(p.hs_lastmodifieddate) || 0;
    if (modified > maxSeen) maxSeen = modified;
    const localId = Number(p[LEAD_ID_PROPERTY]);
    const lead = await db.selectFrom('leads').selectAll()
      .where((eb) => eb.or([eb('hubspot_deal_id', '=', deal.id), ...(Number.isSafeInteger(localId) && localId > 0 ? [eb('id', '=', localId)] : [])]))
      .executeTakeFirst();
    const owner = p.hubspot_owner_id
      ? await db.selectFrom('hubspot_owners').leftJoin('users', (j) => j.on(sql`lower(users.email)`, '=', sql`lower(hubspot_owners.email)`).on('users.is_active', '=', true))
        .select(['hubspot_owners.email', 'users.id as user_id']).where('hubspot_owners.id', '=', p.hubspot_owner_id).executeTakeFirst()
      : undefined;
    if (p.hubspot_owner_id && !owner?.user_id) {
      await db.insertInto('hubspot_unassigned').values({ deal_id: deal.id, deal_name: p.dealname ?? null, owner_id: p.hubspot_owner_id, owner_email: owner?.email ?? null, stage_id: p.dealstage ?? null })
        .onConflict((oc) => oc.column('deal_id').doUpdateSet({ deal_name: p.dealname ?? null, owner_id: p.hubspot_owner_id, owner_email: owner?.email ?? null, stage_id: p.dealstage ?? null, seen_at: sql`now()` })).execute();
    } else {
      await db.deleteFrom('hubspot_unassigned').where('deal_id', '=', deal.id).execute();
    }
    if (!lead) continue;
    dealIdsWithLeads.push(deal.id);
    const update = leadUpdateFromDeal(p, opts.stages);
    await db.transaction().execute(async (trx) => {
      let current = lead;
      // A stage set in HubSpot moves the local status, with the same points rules as a local close/reopen.
      if (update && update.status !== lead.status) current = await setStatus(trx, lead, update.status);
      const changes = {
        ...(update ? { status: update.status, hubspot_stage_id: update.hubspot_stage_id, hubspot_stage_label: update.hubspot_stage_label } : {}),
        ...(owner?.user_id && owner.user_id !== current.agent_id ? { agent_id: owner.user_id } : {}),
      };
      await trx.updateTable('leads').set({ hubspot_deal_id: deal.id, ...changes, last_sync_at: sql`now()` }).where('id', '=', lead.id).execute();
      // Changes made in HubSpot are part of the lead's history too (who: the sync, from the deal).
      const before = Object.fromEntries(Object.keys(changes).map((k) => [k, (lead as Record<string, unknown>)[k] ?? null]));
      if (Object.entries(changes).some(([k, v]) => before[k] !== v)) {
        await recordAudit(trx, SYNC_ACTOR, { action: 'lead.hubspot_update', entityType: 'lead', entityId: lead.id, before, after: changes });
      }
    });
  }

  const notes = dealIdsWithLeads.length ? await pullNotes(db, gw, dealIdsWithLeads) : 0;
  if (maxSeen > cursor) await setState(db, CURSOR_KEY, String(maxSeen));
  if (changed.length) opts.log.info({ event: 'hubspot_pull', deals: changed.length, notes }, 'pulled changes from HubSpot');
  return { deals: changed.length, notes };
}

async function pullNotes(db: Db, gw: HubSpotGateway, dealIds: string[]): Promise<number> {
  const noteToDeal = new Map<string, string>();
  for (let i = 0; i < dealIds.length; i += 1000) {
    const page = await gw.request('POST', '/crm/v4/associations/deals/notes/batch/read', { inputs: dealIds.slice(i, i + 1000).map((id) => ({ id })) }, { okStatuses: [207], schema: associationsPage });
    for (const r of page.results) for (const t of r.to) noteToDeal.set(String(t.toObjectId), r.from.id);
  }
  const known = noteToDeal.size ? new Set((await db.selectFrom('comments').select('hubspot_note_id').where('hubspot_note_id', 'in', [...noteToDeal.keys()]).execute()).map((r) => r.hubspot_note_id)) : new Set();
  const unknown = [...noteToDeal.keys()].filter((id) => !known.has(id));
  let created = 0;
  for (let i = 0; i < unknown.length; i += 100) {
    const page = await gw.request('POST', '/crm/v3/objects/notes/batch/read', {
      inputs: unknown.slice(i, i + 100).map((id) => ({ id })), properties: ['hs_note_body', 'hs_timestamp', 'hubspot_owner_id', COMMENT_ID_PROPERTY],
    }, { okStatuses: [207], schema: batchResponse });
    for (const note of page.results) {
      if (note.properties[COMMENT_ID_PROPERTY]) continue; // one of ours
      const lead = await db.selectFrom('leads').select('id').where('hubspot_deal_id', '=', noteToDeal.get(note.id)!).executeTakeFirst();
      const text = htmlToText(note.properties.hs_note_body ?? '').slice(0, 3000);
      if (!lead || !text) continue;
      const author = note.properties.hubspot_owner_id
        ? await db.selectFrom('hubspot_owners').innerJoin('users', (j) => j.on(sql`lower(users.email)`, '=', sql`lower(hubspot_owners.email)`))
          .select('users.id').where('hubspot_owners.id', '=', note.properties.hubspot_owner_id).executeTakeFirst()
        : undefined;
      await db.insertInto('comments').values({
        lead_id: lead.id, author_id: author?.id ?? null, body: text, hubspot_note_id: note.id,
        created_at: note.properties.hs_timestamp ? new Date(Date.parse(note.properties.hs_timestamp) || Number(note.properties.hs_timestamp)) : new Date(),
      }).execute();
      created++;
    }
  }
  return created;
}
