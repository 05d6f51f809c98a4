// The fake's own control API under /__fake (no auth, not logged, not rate limited): state and
// request-log introspection, reset, faults and outages, config changes, the clock and the index.
import { isRecord, json, noContent } from './http.ts';
import type { FaultRule, Faults, OutageOptions } from './faults.ts';
import type { RateLimits } from './limits.ts';
import type { FakeState } from './state.ts';
import type { FakeConfig, Reply } from './types.ts';

export interface ControlDeps { state: FakeState; faults: Faults; limits: RateLimits }

export const CONTROL_PREFIX = '/__fake';

/** Applies a POST /__fake/faults body; returns the ids of the rules added. */
export async function applyFaults(faults: Faults, body: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  if (body.replace === true) await faults.clear();
  if (Array.isArray(body.rules)) for (const r of body.rules) if (isRecord(r)) ids.push(faults.add(r as unknown as FaultRule));
  if (Array.isArray(body.sequence)) ids.push(...faults.sequence(body.sequence.filter(isRecord) as unknown as FaultRule[]));
  if (typeof body.latencyMs === 'number') ids.push(faults.latency(body.latencyMs, typeof body.jitterMs === 'number' ? body.jitterMs : 0));
  if (typeof body.errorRate === 'number') {
    const statuses = Array.isArray(body.statuses) ? body.statuses.map(Number) : undefined;
    ids.push(faults.errorRate(body.errorRate, statuses ? { statuses } : {}));
  }
  if (isRecord(body.commitThenFail)) ids.push(faults.commitThenFail(body.commitThenFail as Parameters<Faults['commitThenFail']>[0]));
  if (isRecord(body.outage) && typeof body.outage.durationMs === 'number') await faults.outage(body.outage as unknown as OutageOptions);
  return ids;
}

export async function handleControl(method: string, path: string, query: URLSearchParams, body: unknown, deps: ControlDeps): Promise<Reply> {
  const { state, faults, limits } = deps;
  const b = isRecord(body) ? body : {};
  const route = `${method} ${path.slice(CONTROL_PREFIX.length) || '/'}`;
  switch (route) {
    case 'GET /health':
      return json(200, { ok: true });
    case 'GET /state':
      return json(200, { ...state.snapshot(), usage: limits.usage(), faults: faults.list() });
    case 'GET /requests': {
      const since = Number(query.get('since') ?? 0);
      return json(200, {
        requests: state.requests.filter((r) => r.seq > since),
        maxRequestsIn10s: state.maxRequestsInWindow(10_000, (r) => r.counted),
      });
    }
    case 'POST /reset':
      state.reset();
      limits.reset();
      await faults.clear();
      return noContent();
    case 'GET /faults':
      return json(200, faults.list());
    case 'POST /faults':
      return json(200, { ids: await applyFaults(faults, b), ...faults.list() });
    case 'DELETE /faults':
      await faults.clear();
      return noContent();
    case 'POST /outage':
      await faults.outage({ durationMs: Number(b.durationMs ?? 0), mode: b.mode === 'refuse' ? 'refuse' : '503' });
      return json(200, faults.list());
    case 'DELETE /outage':
      await faults.endOutage();
      return noContent();
    case 'PATCH /config':
      for (const [k, v] of Object.entries(b)) {
        if (k in state.config && typeof v === typeof state.config[k as keyof FakeConfig]) Object.assign(state.config, { [k]: v });
      }
      return json(200, state.config);
    case 'POST /daily/reset':
      limits.resetDaily();
      return noContent();
    case 'POST /clock/advance':
      state.clock.advance(Number(b.ms ?? 0));
      return json(200, { now: state.now() });
    case 'POST /search/flush':
      state.flushSearchIndex();
      return noContent();
    default:
      if (method === 'DELETE' && path.startsWith(`${CONTROL_PREFIX}/faults/`)) {
        faults.remove(decodeURIComponent(path.slice(`${CONTROL_PREFIX}/faults/`.length)));
        return noContent();
      }
      return json(404, { status: 'error', message: `No control endpoint ${method} ${path}`, category: 'OBJECT_NOT_FOUND' });
  }
}
