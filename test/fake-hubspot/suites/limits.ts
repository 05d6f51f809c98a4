// (b) Request budgets and auth: the rolling ten-second window with HubSpot's exact 429 body and
// headers, the daily limit, search's own per-second limit, and 401s. The clock is the fake's own
// (advanced by the test), so nothing sleeps.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { client, OpenApiValidator } from '../openapi.ts';
import { startFakeHubSpot, type FakeHubSpot } from '../server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('fake HubSpot: rate limits and auth', () => {
  let hs: FakeHubSpot;
  let call: ReturnType<typeof client>;
  const v = new OpenApiValidator();

  before(async () => {
    hs = await startFakeHubSpot({ now: () => Date.parse('2026-03-02T10:00:00.000Z') });
    call = client(hs.url, hs.token, v);
  });
  afterEach(() => hs.reset());
  after(() => hs.close());

  test('the 101st request inside 10 s gets 429 TEN_SECONDLY_ROLLING with the exact body and headers', async () => {
    for (let i = 1; i <= 100; i++) {
      const res = await call('GET', '/crm/v3/owners');
      assert.equal(res.status, 200, `request ${i}`);
      assert.equal(res.headers.get('x-hubspot-ratelimit-remaining'), String(100 - i));
      hs.state.clock.advance(50); // 100 requests over 5 s
    }
    const res = await call('GET', '/crm/v3/objects/contacts');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('content-type'), 'application/json;charset=utf-8');
    assert.match(res.body.correlationId, UUID);
    assert.deepEqual(res.body, {
      status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT',
      correlationId: res.headers.get('x-hubspot-correlation-id'), policyName: 'TEN_SECONDLY_ROLLING',
    });
    assert.equal(res.headers.get('x-hubspot-ratelimit-max'), '100');
    assert.equal(res.headers.get('x-hubspot-ratelimit-remaining'), '0');
    assert.equal(res.headers.get('x-hubspot-ratelimit-interval-milliseconds'), '10000');
    assert.equal(res.headers.get('x-hubspot-ratelimit-daily'), '250000');
    assert.equal(res.headers.get('x-hubspot-ratelimit-daily-remaining'), String(250000 - 101));
    assert.equal(res.headers.get('retry-after'), null);
    assert.equal(hs.state.requests.at(-1)?.outcome, 'rate-limited');
    assert.equal(hs.state.maxRequestsInWindow(), 101);
  });

  test('the window rolls: slots free up 10 s after each request, not at a fixed boundary', async () => {
    hs.state.config.countRejected = false;
    try {
      for (let i = 0; i < 50; i++) assert.equal((await call('GET', '/crm/v3/owners')).status, 200);
      hs.state.clock.advance(5000);
      for (let i = 0; i < 50; i++) assert.equal((await call('GET', '/crm/v3/owners')).status, 200);
      hs.state.clock.advance(4999); // 9.999 s after the first 50: still all inside the window
      assert.equal((await call('GET', '/crm/v3/owners')).status, 429);
      hs.state.clock.advance(1); // the first 50 expire, the second 50 do not
      const ok = await call('GET', '/crm/v3/owners');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('x-hubspot-ratelimit-remaining'), '49');
    } finally {
      hs.state.config.countRejected = true;
    }
  });

  test('rejected requests take a slot when countRejected is on (the default)', async () => {
    hs.state.config.burstMax = 2;
    try {
      await call('GET', '/crm/v3/owners');
      hs.state.clock.advance(4000);
      await call('GET', '/crm/v3/owners');
      hs.state.clock.advance(4000);
      assert.equal((await call('GET', '/crm/v3/owners')).status, 429); // t=8 s, counted
      hs.state.clock.advance(2001); // t=10.001 s: the first expired, but the rejected one is still in
      assert.equal((await call('GET', '/crm/v3/owners')).status, 429);
      assert.equal(hs.state.requests.filter((r) => r.counted).length, 4);
    } finally {
      hs.state.config.burstMax = 100;
    }
  });

  test('the daily limit answers 429 DAILY until reset; Retry-After only when switched on', async () => {
    hs.state.config.dailyMax = 3;
    hs.state.config.retryAfter = true;
    try {
      for (let i = 0; i < 3; i++) assert.equal((await call('GET', '/crm/v3/owners')).status, 200);
      const res = await call('GET', '/crm/v3/owners');
      assert.equal(res.status, 429);
      assert.deepEqual(res.body, { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', correlationId: res.body.correlationId, policyName: 'DAILY' });
      assert.equal(res.headers.get('x-hubspot-ratelimit-daily-remaining'), '0');
      assert.equal(res.headers.get('retry-after'), String(Math.ceil((Date.parse('2026-03-03T00:00:00.000Z') - hs.state.now()) / 1000))); // midnight UTC
      assert.equal((await fetch(`${hs.url}/__fake/daily/reset`, { method: 'POST' })).status, 204);
      assert.equal((await call('GET', '/crm/v3/owners')).status, 200);
    } finally {
      hs.state.config.dailyMax = 250_000;
      hs.state.config.retryAfter = false;
    }
  });

  test('search has its own per-second limit and its answers carry no rate-limit headers', async () => {
    const search = () => call('POST', '/crm/v3/objects/contacts/search', { filterGroups: [], limit: 1 });
    for (let i = 0; i < 4; i++) {
      const res = await search();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-hubspot-ratelimit-remaining'), null);
    }
    const res = await search();
    assert.equal(res.status, 429);
    assert.equal(res.body.message, 'You have reached your secondly limit.');
    assert.equal(res.body.errorType, 'RATE_LIMIT');
    assert.equal((await call('GET', '/crm/v3/owners')).status, 200); // other endpoints are unaffected
    hs.state.clock.advance(1000);
    assert.equal((await search()).status, 200);
  });

  test('OAuth mode: no daily headers and no daily limit', async () => {
    Object.assign(hs.state.config, { oauth: true, dailyMax: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await call('GET', '/crm/v3/owners');
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-hubspot-ratelimit-daily'), null);
        assert.equal(res.headers.get('x-hubspot-ratelimit-max'), '100');
      }
    } finally {
      Object.assign(hs.state.config, { oauth: false, dailyMax: 250_000 });
    }
  });

  test('401 without a token, with an unknown one, and EXPIRED_AUTHENTICATION for an expired one; none counted', async () => {
    for (const token of [null, 'wrong-token']) {
      const res = await call('GET', '/crm/v3/objects/contacts', undefined, { token });
      assert.equal(res.status, 401);
      assert.equal(res.body.category, 'INVALID_AUTHENTICATION');
      assert.match(res.body.message, /^Authentication credentials not found/);
      assert.match(res.headers.get('x-hubspot-correlation-id') ?? '', UUID);
    }
    const expired = await call('GET', '/crm/v3/objects/contacts', undefined, { token: 'expired-hubspot-token' });
    assert.equal(expired.status, 401);
    assert.equal(expired.body.category, 'EXPIRED_AUTHENTICATION');
    assert.equal(hs.state.requests.filter((r) => r.counted).length, 0);
  });
});
