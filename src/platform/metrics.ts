// Prometheus metrics (prom-client): request rates and latencies, pool usage, the sync queue, HubSpot
// calls, 429s and retries. /metrics answers loopback callers, or anyone with METRICS_TOKEN.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import client from 'prom-client';
import { Forbidden } from './errors.ts';
import { isAssetPath } from './security.ts';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'propart_' });

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * Requests by method, route and status, and their durations by method and route. Counted in plain maps
 * on the request path — prom-client hashes and checks its labels on every call, ~3 % of a cached
 * dashboard — and given to the registry in prom-client's own format when /metrics is read.
 */
class RequestMetrics {
  static readonly BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  private readonly counts = new Map<string, { labels: { method: string; route: string; status: string }; value: number }>();
  private readonly durations = new Map<string, { labels: { method: string; route: string }; buckets: number[]; sum: number; count: number }>();

  record(method: string, route: string, statusCode: number, seconds: number): void {
    const key = `${method} ${route}`;
    const countKey = `${key} ${statusCode}`;
    let c = this.counts.get(countKey);
    if (!c) this.counts.set(countKey, (c = { labels: { method, route, status: String(statusCode) }, value: 0 }));
    c.value++;
    let d = this.durations.get(key);
    if (!d) this.durations.set(key, (d = { labels: { method, route }, buckets: RequestMetrics.BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const i = RequestMetrics.BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) d.buckets[i]!++;
    d.sum += seconds;
    d.count++;
  }

  readonly counter = {
    name: 'propart_http_requests_total', help: 'HTTP requests by method, route and status', type: 'counter', aggregator: 'sum',
    get: async () => ({ ...this.counter, values: [...this.counts.values()].map((c): MetricValue => ({ labels: c.labels, value: c.value })) }),
    reset: () => this.counts.clear(),
  };

  readonly histogram = {
    name: 'propart_http_request_duration_seconds', help: 'HTTP request duration by method and route', type: 'histogram', aggregator: 'sum',
    get: async () => {
      const name = this.histogram.name;
      const values: MetricValue[] = [];
      for (const d of this.durations.values()) {
        let cumulative = 0;
        RequestMetrics.BUCKETS.forEach((le, i) => {
          cumulative += d.buckets[i]!;
          values.push({ labels: { le, ...d.labels }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { le: '+Inf', ...d.labels }, value: d.count, metricName: `${name}_bucket` });
        values.push({ labels: d.labels, value: d.sum, metricName: `${name}_sum` });
        values.push({ labels: d.labels, value: d.count, metricName: `${name}_count` });
      }
      return { ...this.histogram, values };
    },
    reset: () => this.durations.clear(),
  };
}

const requestMetrics = new RequestMetrics();
registry.registerMetric(requestMetrics.counter as unknown as client.Metric);
registry.registerMetric(requestMetrics.histogram as unknown as client.Metric);
export const hubspotRequests = new client.Counter({ name: 'propart_hubspot_requests_total', help: 'Requests sent to HubSpot', registers: [registry] });
export const hubspotRateLimited = new client.Counter({ name: 'propart_hubspot_429_total', help: '429 answers from HubSpot', registers: [registry] });
export const hubspotRetries = new client.Counter({ name: 'propart_hubspot_retries_total', help: 'HubSpot requests retried', registers: [registry] });
export const hubspotLimitWaits = new client.Counter({ name: 'propart_hubspot_limit_waits_total', help: 'Times a HubSpot request waited for our own budget', registers: [registry] });

const isLoopback = (ip: string) => ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';

function allowed(request: FastifyRequest, token: string | null): boolean {
  if (token) {
    const given = Buffer.from(String(request.headers.authorization ?? '').replace(/^Bearer\s+/i, ''));
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want);
  }
  // request.ip is the real client behind a trusted proxy, so a local nginx does not make everyone "loopback".
  return isLoopback(request.ip);
}

/**
 * For the separate worker process (no web server of its own): HubSpot calls, 429s, retries and the
 * process metrics on a loopback-only port.
 */
export async function startMetricsServer(port: number, host = '127.0.0.1'): Promise<import('node:http').Server> {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics' || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

export function registerMetrics(app: FastifyInstance, token: string | null): void {
  const pool = new client.Gauge({
    name: 'propart_db_pool_connections', help: 'Database pool connections by state', labelNames: ['state'] as const, registers: [],
    collect() {
      const s = app.database.poolStats();
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });
  const queue = new client.Gauge({
    name: 'propart_sync_queue_items', help: 'HubSpot sync items by status', labelNames: ['status'] as const, registers: [],
    async collect() {
      const rows = await app.db.selectFrom('sync_items').select(['status', sql<number>`count(*)::int`.as('n')]).groupBy('status').execute();
      for (const status of ['pending', 'synced', 'failed', 'parked']) this.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
    },
  });
  // The dashboard's in-memory sessions (decision 023): whether the instance may answer from memory (it has
  // heard PostgreSQL within 3 s) and how many sessions it keeps; absent when it is off (PGlite, SESSION_CACHE=false).
  const sessionCache = new client.Gauge({
    name: 'propart_session_cache', help: 'In-memory sessions: live (1 = answering from memory) and sessions kept', labelNames: ['what'] as const, registers: [],
    collect() {
      const cache = app.sessionCache;
      if (!cache) return;
      this.set({ what: 'live' }, cache.state.live() ? 1 : 0);
      this.set({ what: 'sessions' }, cache.state.size);
    },
  });
  // Per-app gauges live in their own registry merged at scrape time (tests build many apps).
  const appRegistry = new client.Registry();
  appRegistry.registerMetric(pool);
  appRegistry.registerMetric(queue);
  appRegistry.registerMetric(sessionCache);

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (!isAssetPath(route)) {
      requestMetrics.record(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });

  app.get('/metrics', { config: { public: true }, logLevel: 'warn' }, async (request, reply) => {
    if (!allowed(request, token)) throw new Forbidden();
    const merged = client.Registry.merge([registry, appRegistry]);
    return reply.header('content-type', merged.contentType).send(await merged.metrics());
  });
}
