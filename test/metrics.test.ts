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
