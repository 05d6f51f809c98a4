import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMemo, TtlCache } from './cache.ts';

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
  const keys = () => [...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()];
  assert.deepEqual(keys(), ['b', 'c', 'd'], 'bounded: the oldest go first');
  await cache.get('b', load);
  await cache.get('e', load);
  assert.deepEqual(keys(), ['c', 'd', 'e'], 'a hit does not refresh an entry: the oldest stored goes');
  await new Promise((r) => setTimeout(r, 60));
  await cache.get('f', load);
  assert.deepEqual(keys(), ['f'], 'expired entries are dropped by the next miss');
  const off = new TtlCache<number>(0, 3);
  const before = loads;
  assert.equal(await off.get('k', load), before + 1);
  assert.equal(await off.get('k', load), before + 2, 'ttl 0 never caches');
});

test('BoundedMemo computes once per key and forgets everything when its bound is reached', () => {
  let computed = 0;
  const memo = new BoundedMemo<string>(2);
  const get = (k: string) => memo.get(k, () => `${k}${++computed}`);
  assert.equal(get('a'), 'a1');
  assert.equal(get('a'), 'a1', 'kept');
  assert.equal(get('b'), 'b2');
  assert.equal(get('c'), 'c3', 'the bound reached: forgotten, then kept');
  assert.equal(get('a'), 'a4', 'computed again after the reset');
  assert.throws(() => memo.get('x', () => { throw new Error('bad'); }), /bad/);
  assert.equal(get('x'), 'x5', 'a failed computation is not kept');
});
