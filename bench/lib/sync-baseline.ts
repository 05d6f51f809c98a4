// The baseline for bench/sync: the "one call per object" sync a first version would write. Each HubSpot
// record is created with its own basic-create request and each association with its own request:
//   lead    → POST contacts, POST deals, PUT deal→contact association      (3 calls)
//   comment → POST notes, PUT note→deal association                        (2 calls)
// i.e. 2.5 calls per synced object when every lead has one comment — "the original needed about 2.5".
// With associations: 'inline' the association goes into the create body instead (2 + 1 calls, 1.5 per object),
// the best a per-object sync can do. Every request goes through the app's own gateway, so it is paced by the
// same limiter (HUBSPOT_RATE_LIMIT per HUBSPOT_RATE_WINDOW_MS), retried and logged like the engine's.
//
// Basic creates are not idempotent (a retry after "written, then 500" duplicates): fine against a fake
// with no faults, and one more reason the app does not work this way. The HubSpot ids are not written
// back to the database (that would overwrite the engine's ids; its cost is not what is compared here).
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../../src/db/database.ts';
import type { Comment, Lead } from '../../src/db/schema.ts';
import type { HubSpotGateway } from '../../src/hubspot/gateway.ts';
import { contactProperties, DEAL_TO_CONTACT, dealProperties, NOTE_TO_DEAL, noteProperties } from '../../src/hubspot/mapping.ts';
import type { Stage } from '../../src/leads/stages.ts';

export type AssociationMode = 'separate' | 'inline';

export interface BaselineOptions {
  /** Synced objects in the sample: half leads, half comments on those leads. */
  objects: number;
  associations: AssociationMode;
  pipelineId: string;
  stages: Stage[];
}

export interface BaselineResult {
  leads: number;
  comments: number;
  /** Requests the loop made (gateway attempts, retries included). */
  calls: number;
  wallMs: number;
  contactIds: Map<number, string>;
  dealIds: Map<number, string>;
  noteIds: Map<number, string>;
}

const created = z.object({ id: z.string() });
const assoc = (typeId: number, to: string) => [{ to: { id: to }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId }] }];

type LeadRow = Lead & { agent_name: string | null; owner_id: string | null };
type CommentRow = Comment & { author_name: string | null };

export async function runBaseline(db: Db, gw: HubSpotGateway, opts: BaselineOptions): Promise<BaselineResult> {
  const leadCount = Math.ceil(opts.objects / 2);
  const leads = await db.selectFrom('leads')
    .leftJoin('users', 'users.id', 'leads.agent_id')
    .leftJoin('hubspot_owners', (j) => j.on(sql`lower(hubspot_owners.email)`, '=', sql`lower(users.email)`))
    .selectAll('leads')
    .select(['users.display_name as agent_name', 'hubspot_owners.id as owner_id'])
    .orderBy('leads.id').limit(leadCount)
    .execute() as LeadRow[];
  const comments = await db.selectFrom('comments')
    .leftJoin('users', 'users.id', 'comments.author_id')
    .selectAll('comments').select('users.display_name as author_name')
    .where('comments.lead_id', 'in', leads.map((l) => l.id))
    .orderBy('comments.id').limit(opts.objects - leadCount)
    .execute() as CommentRow[];
  const commentsOf = new Map<number, CommentRow[]>();
  for (const c of comments) commentsOf.set(c.lead_id, [...commentsOf.get(c.lead_id) ?? [], c]);

  const inline = opts.associations === 'inline';
  const contactIds = new Map<number, string>();
  const dealIds = new Map<number, string>();
  const noteIds = new Map<number, string>();
  const callsBefore = gw.stats.calls;
  const started = performance.now();
  // Lead by lead, as a per-object sync handles each change: contact, deal, association, then its comments.
  for (const l of leads) {
    const contact = await gw.request('POST', '/crm/v3/objects/contacts', { properties: contactProperties(l) }, { schema: created });
    contactIds.set(l.id, contact.id);
    const properties = dealProperties(l, { pipelineId: opts.pipelineId, stages: opts.stages, ownerId: l.owner_id, agentName: l.agent_name ?? '' });
    const deal = await gw.request('POST', '/crm/v3/objects/deals',
      inline ? { properties, associations: assoc(DEAL_TO_CONTACT, contact.id) } : { properties }, { schema: created });
    dealIds.set(l.id, deal.id);
    if (!inline) await gw.request('PUT', `/crm/v4/objects/deals/${deal.id}/associations/default/contacts/${contact.id}`);
    for (const c of commentsOf.get(l.id) ?? []) {
      const props = noteProperties(c, c.author_name);
      const note = await gw.request('POST', '/crm/v3/objects/notes',
        inline ? { properties: props, associations: assoc(NOTE_TO_DEAL, deal.id) } : { properties: props }, { schema: created });
      noteIds.set(c.id, note.id);
      if (!inline) await gw.request('PUT', `/crm/v4/objects/notes/${note.id}/associations/default/deals/${deal.id}`);
    }
  }
  return {
    leads: leads.length, comments: comments.length, calls: gw.stats.calls - callsBefore, wallMs: performance.now() - started,
    contactIds, dealIds, noteIds,
  };
}
