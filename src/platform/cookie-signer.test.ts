// Signed cookies (the CSRF secret, flash messages) are checked with SECRET_KEY on every page; the
// verdicts are remembered (security.ts cookieSigner). Remembering must never turn a bad signature good.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Signer } from '@fastify/cookie';
import { cookieSigner } from './security.ts';

test('the remembering signer gives the same verdicts as the plain one, every time', () => {
  const key = 'k'.repeat(64);
  const signer = cookieSigner(key);
  const plain = new Signer(key, 'sha256');
  const signed = signer.sign('secret-value');
  assert.equal(signed, plain.sign('secret-value'));
  const tampered = `${signed.slice(0, -1)}${signed.endsWith('A') ? 'B' : 'A'}`;
  const otherKey = new Signer('z'.repeat(64), 'sha256').sign('secret-value');
  for (let round = 0; round < 2; round++) {
    assert.deepEqual({ ...signer.unsign(signed) }, { valid: true, renew: false, value: 'secret-value' });
    assert.equal(signer.unsign(tampered).valid, false);
    assert.equal(signer.unsign(tampered).value, null);
    assert.equal(signer.unsign(otherKey).valid, false);
    assert.equal(signer.unsign('no-signature').valid, false);
  }
  assert.ok(Object.isFrozen(signer.unsign(signed)), 'a remembered verdict cannot be changed by a caller');
});
