// Which HubSpot failures are worth another try, and how long to wait: exponential backoff with full
// jitter, honouring Retry-After, pausing everyone on a 10-second 429 and stopping on the daily limit.

export type FailureKind = 'rate_limit' | 'daily_limit' | 'transient' | 'permanent';

export interface Classified {
  kind: FailureKind;
  status: number | null;
  correlationId: string | null;
  retryAfterMs: number | null;
  message: string;
}

interface ApiLikeError { code?: number; body?: unknown; headers?: Record<string, string>; message?: string; cause?: unknown }

const TRANSIENT_STATUS = new Set([423, 477, 500, 502, 503, 504, 521, 523, 524]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function bodyOf(err: ApiLikeError): Record<string, unknown> {
  if (err.body && typeof err.body === 'object') return err.body as Record<string, unknown>;
  if (typeof err.body === 'string') {
    try {
      const parsed: unknown = JSON.parse(err.body);
      if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
    } catch { /* an HTML 502 page */ }
  }
  return {};
}

export function classify(error: unknown): Classified {
  const err = (error ?? {}) as ApiLikeError;
  const status = typeof err.code === 'number' ? err.code : null;
  const body = bodyOf(err);
  const correlationId = typeof body.correlationId === 'string' ? body.correlationId : (err.headers?.['x-hubspot-correlation-id'] ?? null);
  const ra = err.headers?.['retry-after'];
  const retryAfterMs = ra && /^\d+(\.\d+)?$/.test(ra) ? Math.round(Number(ra) * 1000) : null;
  const message = (typeof body.message === 'string' ? body.message : err.message ?? String(error)).slice(0, 400);
  if (status === 429) {
    const policy = body.policyName;
    if (policy === 'DAILY') return { kind: 'daily_limit', status, correlationId, retryAfterMs, message };
    return { kind: 'rate_limit', status, correlationId, retryAfterMs, message };
  }
  if (status !== null && TRANSIENT_STATUS.has(status)) return { kind: 'transient', status, correlationId, retryAfterMs, message };
  if (status === null) {
    // fetch failed, socket reset, timeout, a JSON body that never arrived: the request may or may not
    // have been applied — our writes are upserts, so trying again is safe.
    let c: unknown = err;
    for (let i = 0; i < 4 && c; i++, c = (c as ApiLikeError).cause) {
      const code = (c as { code?: unknown }).code;
      if (typeof code === 'string' && NETWORK_CODES.has(code)) break;
    }
    return { kind: 'transient', status, correlationId, retryAfterMs, message };
  }
  return { kind: 'permanent', status, correlationId, retryAfterMs, message };
}

export interface BackoffOptions { baseMs: number; capMs: number; random?: () => number }

/** Full jitter: a random wait between 0 and min(cap, base × 2^attempt). */
export function backoffMs(attempt: number, opts: BackoffOptions): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor((opts.random ?? Math.random)() * ceiling);
}

/** How long to wait before the next attempt of a failure, or null when it must not be retried. */
export function retryDelayMs(c: Classified, attempt: number, opts: BackoffOptions): number | null {
  if (c.kind === 'permanent') return null;
  if (c.retryAfterMs !== null) return Math.min(c.retryAfterMs, opts.capMs * 10);
  if (c.kind === 'rate_limit') return Math.max(1000, backoffMs(attempt, opts));
  if (c.kind === 'daily_limit') return null;
  return backoffMs(attempt, opts);
}
