// A faithful fake HubSpot CRM API on its own HTTP server (HUBSPOT.md §5). Every API request goes:
// log → outage → auth → rate limits → faults (latency, injected answers) → route → response headers.
// Usage: const hs = await startFakeHubSpot({ indexingDelayMs: 0 }); new Client({ basePath: hs.url, accessToken: hs.token }).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { associationRoutes } from './associations.ts';
import { batchRoutes } from './batch.ts';
import { CONTROL_PREFIX, handleControl } from './control.ts';
import { Faults, statusReply } from './faults.ts';
import { ApiError, errorBody } from './http.ts';
import { RateLimits, rateLimitBody } from './limits.ts';
import { metadataRoutes } from './metadata.ts';
import { objectRoutes } from './objects.ts';
import { matchRoute, type Route } from './router.ts';
import { searchRoutes } from './search.ts';
import { FakeState } from './state.ts';
import type { FakeHubSpotOptions, Outcome, Reply, RequestLogEntry } from './types.ts';

export type { FakeHubSpotOptions, FakeConfig, RequestLogEntry, ObjectType, CrmObject } from './types.ts';
export type { FaultRule, OutageOptions } from './faults.ts';
export { FakeState } from './state.ts';
export { Faults } from './faults.ts';
export { maxInWindow, RATE_LIMIT_MESSAGES } from './limits.ts';
export { LEADS_PIPELINE_ID } from './fixtures.ts';

export interface FakeHubSpot {
  /** Base URL to give the SDK as `basePath` (no trailing slash). */
  url: string;
  port: number;
  /** The first accepted token. */
  token: string;
  state: FakeState;
  faults: Faults;
  limits: RateLimits;
  /** Forget records, associations, the request log, limit counters and faults. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const ROUTES: Route[] = [...searchRoutes, ...batchRoutes, ...objectRoutes, ...associationRoutes, ...metadataRoutes];

const AUTH_MESSAGE = 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply, headers: Record<string, string>): void {
  if (res.destroyed) return;
  const all = { ...headers, ...reply.headers };
  if (reply.status === 204) {
    res.writeHead(204, all).end();
  } else if (reply.html !== undefined) {
    res.writeHead(reply.status, { ...all, 'Content-Type': 'text/html; charset=utf-8' }).end(reply.html);
  } else {
    res.writeHead(reply.status, { ...all, 'Content-Type': 'application/json;charset=utf-8' }).end(JSON.stringify(reply.body ?? {}));
  }
}

const outcomeOf = (status: number): Outcome => (status >= 500 ? 'server-error' : status >= 400 ? 'client-error' : 'ok');

export async function startFakeHubSpot(options: FakeHubSpotOptions = {}): Promise<FakeHubSpot> {
  const state = new FakeState(options);
  const limits = new RateLimits(state.config, () => state.now());
  const faults = new Faults(state);
  const hung = new Set<ServerResponse>();
  const host = options.host ?? '127.0.0.1';
  let baseUrl = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const raw = await readBody(req);
    let body: unknown;
    let badJson: string | null = null;
    if (raw.trim()) {
      try { body = JSON.parse(raw); } catch (err) { badJson = (err as Error).message; }
    }

    if (path.startsWith(CONTROL_PREFIX)) {
      send(res, await handleControl(method, path, url.searchParams, body, { state, faults, limits }), {});
      return;
    }

    const correlationId = randomUUID();
    const entry: RequestLogEntry = {
      seq: state.newSeq(), at: state.now(), method, path, query: url.search, token: null, body: state.config.logBodies ? body : undefined,
      status: null, outcome: 'ok', counted: false, correlationId, fault: null, durationMs: 0,
    };
    state.requests.push(entry);
    if (state.requests.length > state.config.maxLoggedRequests) state.requests.splice(0, state.requests.length - state.config.maxLoggedRequests);
    let headers: Record<string, string> = { 'X-HubSpot-Correlation-Id': correlationId };
    const finish = (reply: Reply, outcome: Outcome = outcomeOf(reply.status)) => {
      send(res, reply, headers);
      Object.assign(entry, { status: reply.status, outcome, durationMs: performance.now() - startedAt });
    };
    const drop = (outcome: Outcome) => {
      req.socket.destroy();
      Object.assign(entry, { outcome, durationMs: performance.now() - startedAt });
    };

    if (faults.inOutage()) return finish(statusReply(503, correlationId), 'outage');

    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
    if (token && state.config.expiredTokens.includes(token)) {
      return finish({ status: 401, body: errorBody(correlationId, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired 3600 second(s) ago.') }, 'unauthorized');
    }
    if (!token || !state.config.tokens.includes(token)) {
      return finish({ status: 401, body: errorBody(correlationId, 'INVALID_AUTHENTICATION', AUTH_MESSAGE) }, 'unauthorized');
    }
    entry.token = token;

    const match = matchRoute(ROUTES, method, path);
    const decision = limits.check(token, match?.route.search === true);
    entry.counted = decision.counted;
    headers = { ...headers, ...decision.headers };
    if (!decision.ok) return finish({ status: 429, body: rateLimitBody(decision.policy, correlationId) }, 'rate-limited');

    const { delayMs, rule } = faults.select(method, path);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    entry.fault = rule?.id ?? null;
    if (rule?.action === 'drop') return drop('dropped');
    if (rule?.action === 'hang') {
      hung.add(res);
      entry.outcome = 'hung';
      return;
    }
    if (rule && (rule.action === 'error' || rule.action === 'status' || rule.action === 'rate-limit')) {
      const reply = faults.reply(rule, correlationId, decision.headers);
      return finish(reply, reply.status === 429 ? 'rate-limited' : 'fault');
    }

    let reply: Reply;
    try {
      if (badJson !== null) throw new ApiError(400, 'VALIDATION_ERROR', `Invalid input JSON on line 1, column 1: ${badJson}`);
      if (!match) throw new ApiError(404, 'OBJECT_NOT_FOUND', `No route for ${method} ${path} in the fake HubSpot`);
      reply = await match.route.handler({ state, method, path, params: match.params, query: url.searchParams, body, baseUrl });
    } catch (err) {
      if (err instanceof ApiError) {
        reply = { status: err.status, body: errorBody(correlationId, err.category, err.message, err.extra) };
      } else {
        console.error('fake HubSpot handler failed', err);
        reply = { status: 500, body: errorBody(correlationId, 'INTERNAL_ERROR', `fake HubSpot bug: ${(err as Error).message}`) };
      }
    }
    if (rule?.action === 'commit-then-drop') return drop('dropped');
    if (rule?.action === 'commit-then-error') return finish(faults.reply(rule, correlationId, decision.headers), 'fault');
    finish(reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error('fake HubSpot failed', err);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json;charset=utf-8' }).end('{"status":"error","message":"fake failure","category":"INTERNAL_ERROR"}');
    });
  });

  let listening = false;
  let reopenTimer: NodeJS.Timeout | null = null;
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      listening = true;
      resolve();
    });
  });
  const stop = () => new Promise<void>((resolve) => {
    if (!listening) return resolve();
    listening = false;
    for (const res of hung) res.destroy();
    hung.clear();
    server.close(() => resolve());
    server.closeAllConnections();
  });

  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${host}:${port}`;

  const resume = async () => {
    if (reopenTimer) clearTimeout(reopenTimer);
    reopenTimer = null;
    if (!listening) await listen(port);
  };
  faults.refuseFor = async (ms) => {
    await stop();
    reopenTimer = setTimeout(() => void resume().catch((err: unknown) => console.error('fake HubSpot could not listen again', err)), ms);
  };
  faults.resume = resume;

  return {
    url: baseUrl,
    port,
    token: state.config.tokens[0] ?? '',
    state,
    faults,
    limits,
    async reset() {
      state.reset();
      limits.reset();
      await faults.clear();
    },
    async close() {
      if (reopenTimer) clearTimeout(reopenTimer);
      reopenTimer = null;
      await stop();
    },
  };
}
