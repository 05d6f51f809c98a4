import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TtlCache } from './cache.ts';

test('TtlCache serves a value until it expires, shares concurrent loads, forgets failures, stays bounded', async () => {
  let loads = 0;
  const cache = new TtlCache<number>(50, 3);
  const load = async () => ++loads;
  const [a, b] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
  assert.equal(a, 1);
  assert.equal(b, 1, 'one load for concurrent misses');
  assert.equal(await cache.get('k', load), 1);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(await cache.get('k', load), 2, 'reloaded after expiry');
  await assert.rejects(cache.get('bad', async () => { throw new Error('x'); }));
  assert.equal(await cache.get('bad', async () => 7), 7, 'a failed load is not cached');
  for (const k of ['a', 'b', 'c', 'd']) await cache.get(k, load);
  assert.ok((cache as unknown as { entries: Map<string, unknown> }).entries.size <= 3);
  const off = new TtlCache<number>(0, 3);
  const before = loads;
  assert.equal(await off.get('k', load), before + 1);
  assert.equal(await off.get('k', load), before + 2, 'ttl 0 never caches');
});
