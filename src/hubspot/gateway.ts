// Every call to HubSpot goes through here: the official client's apiRequest (one Client per process,
// its own retries and limiter off), our shared limiter, our retry policy, WARNING logs with HubSpot's
// correlationId for each wait at the limit, each 429 and each retry.
import { Client } from '@hubspot/api-client';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { hubspotLimitWaits, hubspotRateLimited, hubspotRequests, hubspotRetries } from '../platform/metrics.ts';
import { anyJson } from './schemas.ts';
import type { RateLimiter } from './limiter.ts';
import { type Classified, classify, retryDelayMs } from './retry.ts';

export interface GatewayOptions {
  accessToken: string;
  baseUrl: string;
  limiter: RateLimiter;
  /** A separate, slower budget for the search API (its own per-second limit). */
  searchLimiter: RateLimiter;
  log: Logger;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  timeoutMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export class HubSpotError extends Error {
  readonly classified: Classified;
  constructor(c: Classified) {
    super(`HubSpot ${c.status ?? 'network'}: ${c.message}`);
    this.classified = c;
  }
}

/** The HTTP error shape classify() reads (the same fields the SDK's ApiException carries). */
class HttpFailure extends Error {
  readonly code: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(code: number, body: unknown, headers: Record<string, string>) {
    super(`HTTP-Code: ${code}`);
    this.code = code;
    this.body = body;
    this.headers = headers;
  }
}

export interface RequestOptions<S extends z.ZodType = typeof anyJson> {
  search?: boolean;
  okStatuses?: number[];
  schema?: S;
  /** Once aborted, no further attempt is sent and a backoff wait ends (a sync round that lost its lease, or the process stopping). */
  signal?: AbortSignal;
}

export interface CallStats { calls: number; rateLimited: number; retries: number; waitsAtLimit: number }

export class HubSpotGateway {
  readonly stats: CallStats = { calls: 0, rateLimited: 0, retries: 0, waitsAtLimit: 0 };
  private readonly client: Client;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly opts: GatewayOptions;
  constructor(opts: GatewayOptions) {
    this.opts = opts;
    this.client = new Client({ accessToken: opts.accessToken, basePath: opts.baseUrl.replace(/\/$/, ''), numberOfApiCallRetries: 0 });
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * One logical request with retries. Only call it for requests that are safe to repeat (reads,
   * upserts by a unique property, association writes, archives): a 5xx may have been applied.
   */
  async request<S extends z.ZodType = typeof anyJson>(method: string, path: string, body?: unknown, opts: RequestOptions<S> = {}): Promise<z.output<S>> {
    const { log, maxAttempts } = this.opts;
    for (let attempt = 1; ; attempt++) {
      opts.signal?.throwIfAborted();
      const limiter = opts.search ? this.opts.searchLimiter : this.opts.limiter;
      const slot = await limiter.take();
      const searchSlot = opts.search ? await this.opts.limiter.take() : null;
      // The request's place in the window counts from its answer (see Slot).
      const answered = () => { slot.done(); searchSlot?.done(); };
      // Checked again after the wait for a slot, which can be long: nothing is sent once aborted.
      if (opts.signal?.aborted) {
        answered();
        throw opts.signal.reason;
      }
      const waited = slot.waitedMs;
      if (waited > 50) {
        this.stats.waitsAtLimit++;
        hubspotLimitWaits.inc();
        log.warn({ event: 'hubspot_rate_limit_wait', waitedMs: waited, path }, 'HubSpot request budget reached; waited for the rolling window');
      }
      this.stats.calls++;
      hubspotRequests.inc();
      let raw: unknown;
      try {
        raw = await this.send(method, path, body, opts.okStatuses);
        answered();
      } catch (err) {
        answered();
        const c = classify(err);
        if (c.status === 429) {
          this.stats.rateLimited++;
          hubspotRateLimited.inc();
          log.warn({ event: 'hubspot_429', correlationId: c.correlationId, path, message: c.message }, 'HubSpot answered 429');
          if (c.kind === 'rate_limit') await limiter.pauseUntil(Date.now() + (c.retryAfterMs ?? 1000));
        }
        const delay = attempt < maxAttempts ? retryDelayMs(c, attempt, { baseMs: this.opts.backoffBaseMs, capMs: this.opts.backoffCapMs }) : null;
        if (delay === null) throw new HubSpotError(c);
        this.stats.retries++;
        hubspotRetries.inc();
        log.warn({ event: 'hubspot_retry', attempt, nextAttempt: attempt + 1, delayMs: delay, status: c.status, correlationId: c.correlationId, path }, 'retrying HubSpot request');
        // A stopping round does not sit out a long backoff or Retry-After.
        await (opts.signal ? untilAborted(this.sleep(delay), opts.signal) : this.sleep(delay));
        continue;
      }
      const parsed = (opts.schema ?? anyJson).safeParse(raw);
      if (!parsed.success) {
        throw new HubSpotError({ kind: 'permanent', status: null, correlationId: null, retryAfterMs: null, message: `unexpected response from ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}` });
      }
      return parsed.data as z.output<S>;
    }
  }

  private async send(method: string, path: string, body: unknown, okStatuses: number[] = []): Promise<unknown> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    const res = await Promise.race([
      this.client.apiRequest({ method, path, body, headers: { 'content-type': 'application/json' } }),
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(Object.assign(new Error('HubSpot request timed out'), { code: 'ETIMEDOUT' })))),
    ]);
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => { headers[k] = v; });
    this.observe(headers);
    const text = await res.text();
    let parsed: unknown = null;
    if (text) {
      try { parsed = JSON.parse(text); } catch { parsed = text; }
    }
    if (res.ok || okStatuses.includes(res.status)) return parsed;
    throw new HttpFailure(res.status, parsed, headers);
  }

  /** Adapts to HubSpot's own count: when it says the window is nearly spent, everyone waits a moment. */
  private observe(headers: Record<string, string>): void {
    const remaining = Number(headers['x-hubspot-ratelimit-remaining']);
    const interval = Number(headers['x-hubspot-ratelimit-interval-milliseconds']) || 10_000;
    const max = Number(headers['x-hubspot-ratelimit-max']);
    if (Number.isFinite(remaining) && headers['x-hubspot-ratelimit-remaining'] !== undefined && remaining <= 1 && max > 0) {
      void this.opts.limiter.pauseUntil(Date.now() + Math.ceil(interval / max) * 2);
    }
  }
}

/** `wait`, or the signal's reason as soon as it aborts. */
function untilAborted(wait: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    wait.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, reject);
  });
}
