// Leads: ownership-scoped data access and the state changes (create, edit, close, reopen, delete).
// Every query that touches a lead goes through leadScope(), so an agent can only ever reach their own.
import { type ExpressionBuilder, type Kysely, sql, type Transaction } from 'kysely';
import { type AuditSource, recordAudit } from '../audit/audit.server.ts';
import type { Database, Lead } from '../db/schema.ts';
import { NotFound, ValidationFailed } from '../platform/errors.ts';
import { enqueueSync } from '../hubspot/outbox.server.ts';
import * as points from '../points/points.server.ts';
import type { CurrentUser } from '../views/context.ts';
import type { CreateLeadInput, UpdateLeadInput } from './schemas.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

/** The leads a user may see: an agent their own, an admin all. */
export function leadScope(user: CurrentUser) {
  return (eb: ExpressionBuilder<Database, 'leads'>) => (user.role === 'admin' ? eb.val(true) : eb('leads.agent_id', '=', user.id));
}

/** A lead the user may see; another agent's lead is simply "not found". */
export async function findLeadForUser(db: DbLike, user: CurrentUser, id: number, opts: { forUpdate?: boolean } = {}): Promise<Lead> {
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw new NotFound();
  let q = db.selectFrom('leads').selectAll().where('id', '=', id).where(leadScope(user));
  if (opts.forUpdate) q = q.forUpdate();
  const lead = await q.executeTakeFirst();
  if (!lead) throw new NotFound();
  return lead;
}

export interface DuplicateProbe { phone?: string | null; second_phone?: string | null; email?: string | null }

/** Ids of other leads with the same phone (either field) or email. Only admins ever see which. */
export async function findDuplicates(db: DbLike, probe: DuplicateProbe, excludeId?: number): Promise<number[]> {
  const phones = [probe.phone, probe.second_phone].filter((p): p is string => !!p);
  const email = probe.email?.toLowerCase() ?? null;
  if (phones.length === 0 && !email) return [];
  let q = db.selectFrom('leads').select('id').where((eb) => {
    const ors = [];
    if (phones.length) ors.push(eb('phone', 'in', phones), eb('second_phone', 'in', phones));
    if (email) ors.push(eb(sql`lower(email)`, '=', email));
    return eb.or(ors);
  }).orderBy('id').limit(20);
  if (excludeId) q = q.where('id', '!=', excludeId);
  return (await q.execute()).map((r) => r.id);
}

/** Agents (and admins) an admin may make responsible for a lead. */
export function assignableAgents(db: DbLike): Promise<{ id: number; display_name: string; role: 'agent' | 'admin'; admin_id: number | null }[]> {
  return db.selectFrom('users').select(['id', 'display_name', 'role', 'admin_id']).where('is_active', '=', true).orderBy('role', 'desc').orderBy('display_name').execute();
}

async function resolveAgent(db: DbLike, user: CurrentUser, requested: number | null, fallback: number): Promise<number> {
  if (user.role !== 'admin') return fallback; // an agent's lead is always their own
  if (requested === null) return fallback;
  const target = await db.selectFrom('users').select('id').where('id', '=', requested).where('is_active', '=', true).executeTakeFirst();
  if (!target) throw new ValidationFailed({ agent_id: 'validation.agent' });
  return target.id;
}

// Every change below is audited in the caller's transaction; `audit` is the request (for the IP) or, by default, the user.
export async function createLead(db: DbLike, user: CurrentUser, input: CreateLeadInput, audit: AuditSource = user): Promise<{ lead: Lead; duplicate: boolean }> {
  const agentId = await resolveAgent(db, user, input.agent_id, user.id);
  const duplicates = await findDuplicates(db, input);
  const { agent_id: _ignored, ...fields } = input;
  const lead = await db.insertInto('leads').values({
    ...fields, agent_id: agentId, created_by: user.id, status: 'new', possible_duplicate: duplicates.length > 0,
  }).returningAll().executeTakeFirstOrThrow();
  await points.award(db, agentId, lead.id, 'lead_created');
  await enqueueSync(db, 'lead', lead.id);
  if (duplicates.length > 0) {
    await db.updateTable('leads').set({ possible_duplicate: true }).where('id', 'in', duplicates).execute();
  }
  await recordAudit(db, audit, { action: 'lead.create', entityType: 'lead', entityId: lead.id, before: null, after: lead });
  return { lead, duplicate: duplicates.length > 0 };
}

export async function updateLead(db: DbLike, user: CurrentUser, id: number, input: UpdateLeadInput, audit: AuditSource = user): Promise<Lead> {
  const lead = await findLeadForUser(db, user, id, { forUpdate: true });
  const agentId = await resolveAgent(db, user, input.agent_id, lead.agent_id);
  const { agent_id: _a, status, ...fields } = input;
  const duplicates = await findDuplicates(db, input, lead.id);
  const updated = await db.updateTable('leads')
    .set({ ...fields, agent_id: agentId, possible_duplicate: duplicates.length > 0 || lead.possible_duplicate, updated_at: sql`now()` })
    .where('id', '=', lead.id).returningAll().executeTakeFirstOrThrow();
  if (duplicates.length > 0) await db.updateTable('leads').set({ possible_duplicate: true }).where('id', 'in', duplicates).execute();
  await enqueueSync(db, 'lead', lead.id);
  const final = status !== lead.status ? await setStatus(db, { ...updated }, status) : updated;
  await recordAudit(db, audit, { action: 'lead.update', entityType: 'lead', entityId: lead.id, before: lead, after: final });
  return final;
}

/** Status changes carry the points rules: closing pays once, reopening reverses it. */
export async function setStatus(db: DbLike, lead: Lead, status: Lead['status']): Promise<Lead> {
  if (status === lead.status) return lead;
  const closing = status === 'closed';
  const reopening = lead.status === 'closed';
  const updated = await db.updateTable('leads')
    .set({ status, closed_at: closing ? sql`now()` : null, updated_at: sql`now()` })
    .where('id', '=', lead.id).returningAll().executeTakeFirstOrThrow();
  if (closing) await points.award(db, lead.agent_id, lead.id, 'deal_closed');
  if (reopening) await points.reverse(db, lead.id, ['deal_closed', 'deal_reopened'], 'deal_reopened');
  return updated;
}

export async function closeDeal(db: DbLike, user: CurrentUser, id: number, audit: AuditSource = user): Promise<{ lead: Lead; awarded: boolean }> {
  const lead = await findLeadForUser(db, user, id, { forUpdate: true });
  if (lead.status === 'closed') return { lead, awarded: false };
  await enqueueSync(db, 'lead', lead.id);
  const closed = await setStatus(db, lead, 'closed');
  await recordAudit(db, audit, { action: 'lead.close', entityType: 'lead', entityId: lead.id, before: lead, after: closed });
  return { lead: closed, awarded: true };
}

export async function reopenDeal(db: DbLike, user: CurrentUser, id: number, audit: AuditSource = user): Promise<Lead> {
  const lead = await findLeadForUser(db, user, id, { forUpdate: true });
  if (lead.status !== 'closed') return lead;
  await enqueueSync(db, 'lead', lead.id);
  const reopened = await setStatus(db, lead, 'qualified');
  await recordAudit(db, audit, { action: 'lead.reopen', entityType: 'lead', entityId: lead.id, before: lead, after: reopened });
  return reopened;
}

export async function setTransferred(db: DbLike, user: CurrentUser, id: number, value: boolean, audit: AuditSource = user): Promise<Lead> {
  const lead = await findLeadForUser(db, user, id, { forUpdate: true });
  const updated = await db.updateTable('leads').set({ is_transferred: value, updated_at: sql`now()` }).where('id', '=', lead.id).returningAll().executeTakeFirstOrThrow();
  await recordAudit(db, audit, { action: 'lead.transfer', entityType: 'lead', entityId: lead.id, before: lead, after: updated });
  return updated;
}

export async function reassign(db: DbLike, admin: CurrentUser, id: number, agentId: number, audit: AuditSource = admin): Promise<{ lead: Lead; agentName: string }> {
  const lead = await findLeadForUser(db, admin, id, { forUpdate: true });
  const target = await db.selectFrom('users').select(['id', 'display_name']).where('id', '=', agentId).where('is_active', '=', true).executeTakeFirst();
  if (!target) throw new ValidationFailed({ agent_id: 'validation.agent' });
  const updated = await db.updateTable('leads').set({ agent_id: target.id, updated_at: sql`now()` }).where('id', '=', lead.id).returningAll().executeTakeFirstOrThrow();
  await enqueueSync(db, 'lead', lead.id);
  await recordAudit(db, audit, { action: 'lead.reassign', entityType: 'lead', entityId: lead.id, before: lead, after: updated });
  return { lead: updated, agentName: target.display_name };
}

/** Deleting a lead removes its comments and reverses every point it earned anyone. */
export async function deleteLead(db: DbLike, admin: CurrentUser, id: number, audit: AuditSource = admin): Promise<void> {
  const lead = await findLeadForUser(db, admin, id, { forUpdate: true });
  await points.reverse(db, lead.id, ['lead_created', 'deal_closed', 'deal_reopened', 'lead_deleted'], 'lead_deleted');
  // The deal is archived in HubSpot (the contact stays: it may be the agency's client elsewhere).
  const comments = await db.selectFrom('comments').select('id').where('lead_id', '=', lead.id).execute();
  await db.deleteFrom('sync_items').where('entity_type', '=', 'comment').where('entity_id', 'in', comments.length ? comments.map((c) => c.id) : [0]).execute();
  // Always queued, even before the deal id is known: a push in flight may be creating it right now.
  await enqueueSync(db, 'lead', lead.id, 'delete', { dealId: lead.hubspot_deal_id });
  await db.deleteFrom('leads').where('id', '=', lead.id).execute();
  await recordAudit(db, audit, { action: 'lead.delete', entityType: 'lead', entityId: lead.id, before: lead, after: null });
}

/** Days until the next birthday (0 = today), or null; computed in Kyiv for the current year. */
export function daysUntilBirthday(birthDate: string | null, today: Date = new Date()): number | null {
  if (!birthDate) return null;
  const [, m, d] = birthDate.split('-').map(Number);
  const kyiv = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Kyiv', year: 'numeric', month: '2-digit', day: '2-digit' }).format(today);
  const [y, tm, td] = kyiv.split('-').map(Number);
  const todayUtc = Date.UTC(y!, tm! - 1, td!);
  let next = Date.UTC(y!, m! - 1, d!);
  if (next < todayUtc) next = Date.UTC(y! + 1, m! - 1, d!);
  return Math.round((next - todayUtc) / 86_400_000);
}
