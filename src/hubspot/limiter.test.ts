import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryLimiter } from './limiter.ts';
import { backoffMs, classify, retryDelayMs } from './retry.ts';

/** A fake clock: sleeping advances time instantly, so window tests take no real time. */
function clock() {
  let now = 1_000_000;
  return { now: () => now, sleep: async (ms: number) => { now += ms; } };
}

describe('rolling-window limiter', () => {
  test('never more than max requests in any rolling window', async () => {
    const c = clock();
    const limiter = new MemoryLimiter({ max: 90, windowMs: 10_000, ...c });
    const stamps: number[] = [];
    for (let i = 0; i < 400; i++) {
      await limiter.acquire();
      stamps.push(c.now());
    }
    for (let i = 0; i + 90 < stamps.length; i++) {
      assert.ok(stamps[i + 90]! - stamps[i]! >= 10_000, `requests ${i}..${i + 90} fit in ${stamps[i + 90]! - stamps[i]!} ms`);
    }
    // And it is not needlessly slow: 400 requests at 90/10 s take about 40 s, not much more.
    assert.ok(stamps.at(-1)! - stamps[0]! < 45_000);
  });

  test('a pause holds every caller until it ends', async () => {
    const c = clock();
    const limiter = new MemoryLimiter({ max: 10, windowMs: 1000, ...c });
    const start = c.now();
    await limiter.pauseUntil(start + 5000);
    const waited = await limiter.acquire();
    assert.ok(c.now() - start >= 5000);
    assert.ok(waited >= 5000);
  });
});

describe('retry policy', () => {
  const rateBody = { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', correlationId: 'abc-123', policyName: 'TEN_SECONDLY_ROLLING' };
  test('classifies HubSpot failures', () => {
    assert.equal(classify({ code: 429, body: rateBody }).kind, 'rate_limit');
    assert.equal(classify({ code: 429, body: rateBody }).correlationId, 'abc-123');
    assert.equal(classify({ code: 429, body: { ...rateBody, policyName: 'DAILY' } }).kind, 'daily_limit');
    for (const code of [500, 502, 503, 504, 423]) assert.equal(classify({ code, body: '<html>' }).kind, 'transient');
    assert.equal(classify(new TypeError('fetch failed')).kind, 'transient');
    for (const code of [400, 401, 403, 404, 409]) assert.equal(classify({ code, body: {} }).kind, 'permanent');
  });

  test('honours Retry-After, never retries permanent errors, jitters within the exponential ceiling', () => {
    const opts = { baseMs: 1000, capMs: 60_000 };
    assert.equal(retryDelayMs(classify({ code: 503, body: {}, headers: { 'retry-after': '7' } }), 1, opts), 7000);
    assert.equal(retryDelayMs(classify({ code: 400, body: {} }), 1, opts), null);
    assert.equal(retryDelayMs(classify({ code: 429, body: { ...rateBody, policyName: 'DAILY' } }), 1, opts), null);
    assert.ok(retryDelayMs(classify({ code: 429, body: rateBody }), 1, opts)! >= 1000);
    for (let attempt = 1; attempt <= 10; attempt++) {
      const d = backoffMs(attempt, opts);
      assert.ok(d >= 0 && d <= Math.min(60_000, 1000 * 2 ** (attempt - 1)));
    }
    assert.equal(backoffMs(3, { ...opts, random: () => 0.999999 }), 3999);
  });
});
