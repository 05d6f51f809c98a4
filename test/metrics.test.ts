import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';

describe('/metrics', () => {
  let t: TestApp;
  let secured: TestApp;
  before(async () => {
    t = await startTestApp('pglite');
    secured = await startTestApp('pglite', { env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
  });
  after(async () => {
    await t.close();
    await secured.close();
  });

  test('Prometheus text with request rates and latencies, pool usage and the sync queue', async () => {
    await new Client(t.app).get('/login');
    await t.app.db.insertInto('sync_items').values({ entity_type: 'lead', entity_id: 1, op: 'upsert' }).execute();
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/plain/);
    assert.match(res.body, /propart_http_requests_total\{method="GET",route="\/login",status="200"\} \d+/);
    assert.match(res.body, /propart_http_request_duration_seconds_bucket\{le="0.1",method="GET",route="\/login"\}/);
    assert.match(res.body, /propart_db_pool_connections\{state="total"\}/);
    assert.match(res.body, /propart_sync_queue_items\{status="pending"\} 1/);
    assert.match(res.body, /propart_hubspot_429_total/);
    assert.match(res.body, /propart_hubspot_retries_total/);
  });

  test('request counts and the duration histogram add up: cumulative buckets, +Inf = count = requests', async () => {
    const before = await t.app.inject({ method: 'GET', url: '/metrics' });
    const count = (body: string, line: RegExp) => Number(line.exec(body)?.[1] ?? 0);
    const requests = /propart_http_requests_total\{method="GET",route="\/healthz",status="200"\} (\d+)/;
    const start = count(before.body, requests);
    for (let i = 0; i < 3; i++) assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const { body } = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(count(body, requests), start + 3);
    const buckets = [...body.matchAll(/propart_http_request_duration_seconds_bucket\{le="([^"]+)",method="GET",route="\/healthz"\} (\d+)/g)].map((m) => [m[1], Number(m[2])] as const);
    assert.deepEqual(buckets.map(([le]) => le), ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf']);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]![1] >= buckets[i - 1]![1], 'buckets are cumulative');
    const total = count(body, /propart_http_request_duration_seconds_count\{method="GET",route="\/healthz"\} (\d+)/);
    assert.equal(buckets.at(-1)![1], total);
    assert.equal(total, start + 3, 'every request is both counted and timed');
    assert.ok(count(body, /propart_http_request_duration_seconds_sum\{method="GET",route="\/healthz"\} ([\d.e-]+)/) > 0);
  });

  test('the separate worker can serve its HubSpot counters on a loopback port', async () => {
    const { startMetricsServer, hubspotRetries } = await import('../src/platform/metrics.ts');
    hubspotRetries.inc();
    const server = await startMetricsServer(0);
    try {
      const { port } = server.address() as import('node:net').AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /propart_hubspot_retries_total [1-9]/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
    } finally {
      server.close();
    }
  });

  test('only loopback callers without a token; with METRICS_TOKEN only its bearer', async () => {
    const remote = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.5' });
    assert.equal(remote.statusCode, 403);
    assert.equal((await secured.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 403);
    assert.equal((await secured.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-000000000' } })).statusCode, 403);
    const ok = await secured.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.5', headers: { authorization: 'Bearer metrics-token-0123456789' } });
    assert.equal(ok.statusCode, 200);
  });
});
