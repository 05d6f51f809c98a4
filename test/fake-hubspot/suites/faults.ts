// (b) Fault injection: commit-then-fail really writes, drops, 5xx shares (HTML 502), latency, hangs,
// scripted sequences, outage windows (503 and connection refused), and the HTTP control API.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { client, OpenApiValidator } from '../openapi.ts';
import { startFakeHubSpot, type FakeHubSpot } from '../server.ts';

describe('fake HubSpot: fault injection', () => {
  let hs: FakeHubSpot;
  let call: ReturnType<typeof client>;

  before(async () => {
    hs = await startFakeHubSpot({ indexingDelayMs: 0, seed: 42 });
    call = client(hs.url, hs.token, new OpenApiValidator());
  });
  afterEach(() => hs.reset());
  after(() => hs.close());

  const create = (email: string) => call('POST', '/crm/v3/objects/contacts', { properties: { email } });

  test('write-then-500: the answer is a 500 but the contact exists; a retry gets 409 with its id', async () => {
    hs.faults.commitThenFail({ status: 500, method: 'POST', path: '^/crm/v3/objects/contacts$' });
    const failed = await create('ann@example.com');
    assert.equal(failed.status, 500);
    assert.equal(failed.body.status, 'error');
    const stored = hs.state.live('contacts');
    assert.equal(stored.length, 1);
    const retry = await create('ann@example.com');
    assert.equal(retry.status, 409);
    assert.equal(retry.body.message, `Contact already exists. Existing ID: ${stored[0]!.id}`);
    assert.equal(hs.state.requests[0]?.outcome, 'fault');
  });

  test('write-then-drop: the client sees a network error, the batch upsert was applied', async () => {
    hs.faults.commitThenFail({ status: 'drop', path: 'batch/upsert' });
    const body = { inputs: [{ id: 'L-1', idProperty: 'propart_lead_id', properties: { dealname: 'D', pipeline: '2341107958', dealstage: '3204738258' } }] };
    await assert.rejects(call('POST', '/crm/v3/objects/deals/batch/upsert', body), TypeError);
    assert.equal(hs.state.live('deals').length, 1);
    const again = await call('POST', '/crm/v3/objects/deals/batch/upsert', body);
    assert.equal(again.body.results[0].new, false);
    assert.equal(hs.state.live('deals').length, 1);
    assert.deepEqual(hs.state.requests.map((r) => [r.status, r.outcome]), [[null, 'dropped'], [200, 'ok']]);
  });

  test('a share of 5xx answers before writing; 502s are HTML pages', async () => {
    hs.faults.errorRate(1, { statuses: [502] });
    const res = await fetch(`${hs.url}/crm/v3/objects/contacts`, { method: 'POST', headers: { authorization: `Bearer ${hs.token}` }, body: '{"properties":{"email":"a@example.com"}}' });
    assert.equal(res.status, 502);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await res.text(), /502 Bad Gateway/);
    assert.equal(hs.state.live('contacts').length, 0);
    await hs.faults.clear();
    hs.faults.errorRate(0.5, { statuses: [500, 503] });
    const statuses = [];
    for (let i = 0; i < 40; i++) statuses.push((await call('GET', '/crm/v3/owners')).status);
    const failures = statuses.filter((s) => s >= 500).length;
    assert.ok(failures > 8 && failures < 32, `about half failed: ${failures}`);
  });

  test('latency, and a hanging request that only a client timeout ends', async () => {
    hs.faults.latency(150, 0, { path: 'owners' });
    const started = performance.now();
    assert.equal((await call('GET', '/crm/v3/owners')).status, 200);
    assert.ok(performance.now() - started >= 145);
    hs.faults.add({ action: 'hang', times: 1 });
    await assert.rejects(fetch(`${hs.url}/crm/v3/owners`, { headers: { authorization: `Bearer ${hs.token}` }, signal: AbortSignal.timeout(300) }), /TimeoutError|aborted/i);
    assert.equal(hs.state.requests.at(-1)?.outcome, 'hung');
  });

  test('scripted sequence: two 429s, a 423 with Retry-After, then normal answers', async () => {
    hs.faults.sequence([{ action: 'rate-limit' }, { action: 'rate-limit' }, { action: 'status', status: 423, retryAfterSeconds: 2 }]);
    const first = await call('GET', '/crm/v3/owners');
    assert.equal(first.status, 429);
    assert.equal(first.body.policyName, 'TEN_SECONDLY_ROLLING');
    assert.equal(first.headers.get('x-hubspot-ratelimit-remaining'), '0');
    assert.equal((await call('GET', '/crm/v3/owners')).status, 429);
    const locked = await call('GET', '/crm/v3/owners');
    assert.equal(locked.status, 423);
    assert.equal(locked.headers.get('retry-after'), '2');
    assert.equal((await call('GET', '/crm/v3/owners')).status, 200);
  });

  test('outage, 503 mode: every request fails until the fake clock passes the window', async () => {
    await hs.faults.outage({ durationMs: 60_000 });
    const down = await create('a@example.com');
    assert.equal(down.status, 503);
    assert.equal(down.body.category, 'SERVICE_UNAVAILABLE');
    assert.equal((await call('GET', '/crm/v3/owners')).status, 503);
    assert.equal(hs.state.live('contacts').length, 0);
    hs.state.clock.advance(60_000);
    assert.equal((await create('a@example.com')).status, 201);
  });

  test('outage, refuse mode: connections are refused, then the same URL works again', async () => {
    await hs.faults.outage({ durationMs: 300, mode: 'refuse' });
    type NetError = Error & { cause?: { code?: string } };
    // A pooled keep-alive socket may see the close first ("other side closed"); a new one is refused.
    await assert.rejects(call('GET', '/crm/v3/owners'), TypeError);
    await assert.rejects(call('GET', '/crm/v3/owners'), (err: NetError) => err.cause?.code === 'ECONNREFUSED');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await call('GET', '/crm/v3/owners')).status, 200);
    await hs.faults.outage({ durationMs: 60_000, mode: 'refuse' });
    await hs.faults.endOutage();
    assert.equal((await call('GET', '/crm/v3/owners')).status, 200);
  });

  test('control API over HTTP: faults, requests log, state, reset', async () => {
    const post = (path: string, body: unknown) => fetch(`${hs.url}/__fake${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const set = await (await post('/faults', { commitThenFail: { status: 504, method: 'POST' } })).json() as { ids: string[] };
    assert.equal(set.ids.length, 1);
    assert.equal((await create('c@example.com')).status, 504);
    const log = await (await fetch(`${hs.url}/__fake/requests`)).json() as { requests: { at: number; status: number }[]; maxRequestsIn10s: number };
    assert.equal(log.requests.length, 1);
    assert.equal(log.requests[0]?.status, 504);
    assert.equal(log.maxRequestsIn10s, 1);
    const state = await (await fetch(`${hs.url}/__fake/state`)).json() as { counts: Record<string, number> };
    assert.equal(state.counts.contacts, 1);
    assert.equal((await fetch(`${hs.url}/__fake/config`, { method: 'PATCH', body: JSON.stringify({ burstMax: 190 }) })).status, 200);
    assert.equal((await call('GET', '/crm/v3/owners')).headers.get('x-hubspot-ratelimit-max'), '190');
    assert.equal((await post('/reset', {})).status, 204);
    assert.equal(hs.state.requests.length, 0);
    hs.state.config.burstMax = 100;
  });
});
