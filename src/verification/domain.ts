// Where an agent stands, from users.is_verified and their latest request — a pure function so every
// combination is tested in a table (verification.test.ts at the repository root drives the routes).
import type { VerificationRequest } from '../db/schema.ts';

export type AgentVerification =
  | { state: 'verified'; commission: number; since: Date | null }
  | { state: 'pending'; requestedAt: Date }
  | { state: 'rejected'; reason: string; decidedAt: Date }
  | { state: 'revoked'; reason: string; decidedAt: Date }
  | { state: 'none' };

type Latest = Pick<VerificationRequest, 'status' | 'requested_at' | 'decided_at' | 'reason'> | undefined;

export function verificationState(user: { is_verified: boolean; commission: string | number }, latest: Latest): AgentVerification {
  if (user.is_verified) return { state: 'verified', commission: Number(user.commission), since: latest?.status === 'approved' ? latest.decided_at : null };
  if (!latest) return { state: 'none' };
  switch (latest.status) {
    case 'pending': return { state: 'pending', requestedAt: latest.requested_at };
    case 'rejected': return { state: 'rejected', reason: latest.reason ?? '', decidedAt: latest.decided_at ?? latest.requested_at };
    case 'revoked': return { state: 'revoked', reason: latest.reason ?? '', decidedAt: latest.decided_at ?? latest.requested_at };
    // Approved once, unverified since by other means (e.g. the users page): nothing pending.
    default: return { state: 'none' };
  }
}

/** An agent may (re-)apply unless verified or already waiting. */
export const canRequest = (v: AgentVerification): boolean => v.state === 'none' || v.state === 'rejected' || v.state === 'revoked';

/** The documents a request needs; each is asked for unless one of its kind is already on file. */
export const REQUIRED_DOCUMENTS = [
  { field: 'id_document', kind: 'id' },
  { field: 'agreement', kind: 'agreement' },
] as const;

/** "7", "2.5": a commission typed as 0–100 in steps of 0.1 (a comma also works), or why not. */
export function parseCommission(raw: unknown): { ok: true; value: number } | { ok: false; error: 'verification.commissionRequired' | 'verification.commissionRange' } {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim().replace(',', '.') : '';
  if (text === '') return { ok: false, error: 'verification.commissionRequired' };
  if (!/^\d{1,3}(\.\d+)?$/.test(text)) return { ok: false, error: 'verification.commissionRange' };
  const value = Number(text);
  if (value > 100 || Math.abs(value * 10 - Math.round(value * 10)) > 1e-9) return { ok: false, error: 'verification.commissionRange' };
  return { ok: true, value: Math.round(value * 10) / 10 };
}
