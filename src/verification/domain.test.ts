import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canRequest, parseCommission, verificationState } from './domain.ts';

const at = new Date('2026-03-01T10:00:00Z');
const later = new Date('2026-03-02T10:00:00Z');
const req = (status: 'pending' | 'approved' | 'rejected' | 'revoked', reason: string | null = null) =>
  ({ status, requested_at: at, decided_at: status === 'pending' ? null : later, reason });

test('the agent state from is_verified and the latest request', () => {
  const cases: [boolean, ReturnType<typeof req> | undefined, string][] = [
    [false, undefined, 'none'],
    [false, req('pending'), 'pending'],
    [false, req('rejected', 'Скан нечитабельний'), 'rejected'],
    [false, req('revoked', 'Договір розірвано'), 'revoked'],
    [false, req('approved'), 'none'],
    [true, req('approved'), 'verified'],
    [true, undefined, 'verified'],
  ];
  for (const [isVerified, latest, expected] of cases) {
    const s = verificationState({ is_verified: isVerified, commission: '7.50' }, latest);
    assert.equal(s.state, expected, `${isVerified} ${latest?.status}`);
  }
  const v = verificationState({ is_verified: true, commission: '7.50' }, req('approved'));
  assert.deepEqual(v, { state: 'verified', commission: 7.5, since: later });
  const r = verificationState({ is_verified: false, commission: '0' }, req('rejected', 'Скан нечитабельний'));
  assert.deepEqual(r, { state: 'rejected', reason: 'Скан нечитабельний', decidedAt: later });
  assert.deepEqual(verificationState({ is_verified: false, commission: 0 }, req('pending')), { state: 'pending', requestedAt: at });
});

test('who may apply: not verified and nothing pending', () => {
  assert.equal(canRequest({ state: 'none' }), true);
  assert.equal(canRequest({ state: 'rejected', reason: 'x', decidedAt: at }), true);
  assert.equal(canRequest({ state: 'revoked', reason: 'x', decidedAt: at }), true);
  assert.equal(canRequest({ state: 'pending', requestedAt: at }), false);
  assert.equal(canRequest({ state: 'verified', commission: 5, since: null }), false);
});

test('commission: 0–100 in steps of 0.1, comma or point', () => {
  const ok: [unknown, number][] = [['0', 0], ['5', 5], ['2.5', 2.5], ['2,5', 2.5], [' 15 ', 15], ['100', 100], [7.5, 7.5], ['99.9', 99.9], ['3.10', 3.1]];
  for (const [raw, value] of ok) assert.deepEqual(parseCommission(raw), { ok: true, value }, String(raw));
  const bad: [unknown, string][] = [
    ['', 'verification.commissionRequired'], [undefined, 'verification.commissionRequired'], ['  ', 'verification.commissionRequired'],
    ['-1', 'verification.commissionRange'], ['100.1', 'verification.commissionRange'], ['101', 'verification.commissionRange'],
    ['2.55', 'verification.commissionRange'], ['abc', 'verification.commissionRange'], ['1e2', 'verification.commissionRange'],
    ['0x10', 'verification.commissionRange'], ['NaN', 'verification.commissionRange'], [-5, 'verification.commissionRange'],
  ];
  for (const [raw, error] of bad) assert.deepEqual(parseCommission(raw), { ok: false, error }, String(raw));
});
