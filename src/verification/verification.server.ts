// Verification requests and decisions. Every request and every admin decision is a row in
// verification_requests (the history); users.is_verified and users.commission hold the current state.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, DocumentKind, User, VerificationRequest, VerificationStatus } from '../db/schema.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { documentsByUser, type DocumentRow, storeDocument } from '../documents/documents.server.ts';
import type { UploadedFile } from '../documents/upload.ts';
import { Conflict, NotFound } from '../platform/errors.ts';
import type { SniffedType } from '../storage/sniff.ts';
import type { FileStorage } from '../storage/storage.server.ts';
import { type AgentVerification, verificationState } from './domain.ts';

type DbLike = Kysely<Database> | Transaction<Database>;
type AgentRow = Pick<User, 'id' | 'username' | 'display_name' | 'email' | 'is_verified' | 'commission' | 'is_active' | 'created_at'>;
const AGENT_COLUMNS = ['id', 'username', 'display_name', 'email', 'is_verified', 'commission', 'is_active', 'created_at'] as const;

export function latestRequest(db: DbLike, agentId: number): Promise<VerificationRequest | undefined> {
  return db.selectFrom('verification_requests').selectAll().where('agent_id', '=', agentId).orderBy('id', 'desc').limit(1).executeTakeFirst();
}

/** Where one agent stands (for the profile and the agent's verification page). */
export async function stateOf(db: DbLike, user: Pick<User, 'id' | 'is_verified' | 'commission'>): Promise<AgentVerification> {
  return verificationState(user, await latestRequest(db, user.id));
}

/** Kinds of documents the user already has on file. */
export async function kindsOnFile(db: DbLike, userId: number): Promise<Set<DocumentKind>> {
  const rows = await db.selectFrom('user_documents').select('kind').distinct().where('user_id', '=', userId).execute();
  return new Set(rows.map((r) => r.kind));
}

export type HistoryRow = VerificationRequest & { decided_by_name: string | null };

export function history(db: DbLike, agentId: number): Promise<HistoryRow[]> {
  return db.selectFrom('verification_requests as r').leftJoin('users as d', 'd.id', 'r.decided_by')
    .selectAll('r').select('d.display_name as decided_by_name')
    .where('r.agent_id', '=', agentId).orderBy('r.id', 'desc').execute();
}

async function lockAgent(db: DbLike, agentId: number): Promise<AgentRow> {
  if (!Number.isSafeInteger(agentId) || agentId <= 0 || agentId > 2_147_483_647) throw new NotFound();
  const agent = await db.selectFrom('users').select(AGENT_COLUMNS).where('id', '=', agentId).where('role', '=', 'agent').forUpdate().executeTakeFirst();
  if (!agent) throw new NotFound();
  return agent;
}

const pendingOf = (db: DbLike, agentId: number) =>
  db.selectFrom('verification_requests').selectAll().where('agent_id', '=', agentId).where('status', '=', 'pending').forUpdate().executeTakeFirst();

export interface RequestUpload { kind: DocumentKind; file: UploadedFile; type: SniffedType }

/** An agent asks to be verified, with the documents they send now (kept with the request). */
export async function requestVerification(db: DbLike, storage: FileStorage, agentId: number, uploads: RequestUpload[]): Promise<{ request: VerificationRequest; documentIds: number[] }> {
  const agent = await lockAgent(db, agentId);
  if (agent.is_verified) throw new Conflict('verification.alreadyVerified');
  if (await pendingOf(db, agentId)) throw new Conflict('verification.alreadyPending');
  let request: VerificationRequest;
  try {
    request = await db.insertInto('verification_requests').values({ agent_id: agentId }).returningAll().executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err, 'verification_requests_one_pending_idx')) throw new Conflict('verification.alreadyPending');
    throw err;
  }
  const stored: { id: number; storage_key: string }[] = [];
  try {
    for (const u of uploads) {
      stored.push(await storeDocument(db, storage, { userId: agentId, uploadedBy: agentId, kind: u.kind, file: u.file, type: u.type, verificationRequestId: request.id }));
    }
  } catch (err) {
    // The rows roll back with the request; the files already written must go too.
    for (const d of stored) await storage.delete(d.storage_key).catch(() => {});
    throw err;
  }
  return { request, documentIds: stored.map((d) => d.id) };
}

export interface Decision { agent: AgentRow; request: VerificationRequest; status: VerificationStatus }

/** Approves the pending request, or verifies an agent directly; sets the commission. */
export async function approve(db: DbLike, adminId: number, agentId: number, commission: number): Promise<Decision> {
  const agent = await lockAgent(db, agentId);
  if (agent.is_verified) throw new Conflict('verification.alreadyVerified');
  const pending = await pendingOf(db, agentId);
  const decided = { status: 'approved' as const, decided_at: sql<Date>`now()`, decided_by: adminId, commission, reason: null };
  const request = pending
    ? await db.updateTable('verification_requests').set(decided).where('id', '=', pending.id).returningAll().executeTakeFirstOrThrow()
    : await db.insertInto('verification_requests').values({ agent_id: agentId, ...decided }).returningAll().executeTakeFirstOrThrow();
  await db.updateTable('users').set({ is_verified: true, commission, updated_at: sql`now()` }).where('id', '=', agentId).execute();
  return { agent, request, status: 'approved' };
}

/** Rejects the pending request, or revokes a verified agent; the agent sees the reason and may re-apply. */
export async function reject(db: DbLike, adminId: number, agentId: number, reason: string): Promise<Decision> {
  const agent = await lockAgent(db, agentId);
  const pending = await pendingOf(db, agentId);
  if (!pending && !agent.is_verified) throw new Conflict('verification.nothingToReject');
  const status = pending ? 'rejected' as const : 'revoked' as const;
  const decided = { status, decided_at: sql<Date>`now()`, decided_by: adminId, reason, commission: null };
  const request = pending
    ? await db.updateTable('verification_requests').set(decided).where('id', '=', pending.id).returningAll().executeTakeFirstOrThrow()
    : await db.insertInto('verification_requests').values({ agent_id: agentId, ...decided }).returningAll().executeTakeFirstOrThrow();
  if (agent.is_verified) await db.updateTable('users').set({ is_verified: false, updated_at: sql`now()` }).where('id', '=', agentId).execute();
  return { agent, request, status };
}

export type AgentOverview = AgentRow & { verification: AgentVerification };

export interface Overview {
  counts: { pending: number; verified: number; unverified: number; total: number };
  pending: (AgentOverview & { requestedAt: Date; documents: DocumentRow[] })[];
  agents: AgentOverview[];
}

/** The admin page: every agent with their state, the pending ones (oldest first) with their documents. */
export async function overview(db: DbLike): Promise<Overview> {
  const agents = await db.selectFrom('users').select(AGENT_COLUMNS).where('role', '=', 'agent').orderBy('display_name').orderBy('id').execute();
  const latest = await db.selectFrom('verification_requests').selectAll().distinctOn('agent_id').orderBy('agent_id').orderBy('id', 'desc').execute();
  const latestBy = new Map(latest.map((r) => [r.agent_id, r]));
  const all: AgentOverview[] = agents.map((a) => ({ ...a, verification: verificationState(a, latestBy.get(a.id)) }));
  const waiting = all.filter((a) => a.verification.state === 'pending');
  const docs = await documentsByUser(db, waiting.map((a) => a.id));
  const pending = waiting
    .map((a) => ({ ...a, requestedAt: (a.verification as { requestedAt: Date }).requestedAt, documents: docs.get(a.id) ?? [] }))
    .sort((x, y) => new Date(x.requestedAt).getTime() - new Date(y.requestedAt).getTime());
  const verified = all.filter((a) => a.verification.state === 'verified').length;
  return {
    counts: { pending: pending.length, verified, unverified: all.length - verified - pending.length, total: all.length },
    pending,
    agents: all,
  };
}

/** One agent for the admin's details page; 404 for anyone who is not an agent. */
export async function agentForAdmin(db: DbLike, agentId: number): Promise<AgentOverview> {
  if (!Number.isSafeInteger(agentId) || agentId <= 0 || agentId > 2_147_483_647) throw new NotFound();
  const agent = await db.selectFrom('users').select(AGENT_COLUMNS).where('id', '=', agentId).where('role', '=', 'agent').executeTakeFirst();
  if (!agent) throw new NotFound();
  return { ...agent, verification: await stateOf(db, agent) };
}
