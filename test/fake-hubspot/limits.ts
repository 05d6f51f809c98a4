// HubSpot's request budgets (HUBSPOT.md §1): a true rolling ten-second window per token, a daily
// counter per account, and a per-second bucket for search, with the exact 429 bodies and headers.
import type { FakeConfig } from './types.ts';

export type Policy = 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';

export const RATE_LIMIT_MESSAGES: Record<Policy, string> = {
  TEN_SECONDLY_ROLLING: 'You have reached your ten_secondly_rolling limit.',
  DAILY: 'You have reached your daily limit.',
  SECONDLY: 'You have reached your secondly limit.',
};

export function rateLimitBody(policy: Policy, correlationId: string): Record<string, string> {
  return { status: 'error', message: RATE_LIMIT_MESSAGES[policy], errorType: 'RATE_LIMIT', correlationId, policyName: policy };
}

export type LimitDecision =
  | { ok: true; headers: Record<string, string>; counted: boolean }
  | { ok: false; policy: Policy; headers: Record<string, string>; counted: boolean };

const SEARCH_WINDOW_MS = 1000;

export class RateLimits {
  private readonly burst = new Map<string, number[]>();
  private readonly search = new Map<string, number[]>();
  private dailyCount = 0;
  private dayKey = '';
  private readonly config: FakeConfig;
  private readonly now: () => number;

  constructor(config: FakeConfig, now: () => number) {
    this.config = config;
    this.now = now;
  }

  reset(): void {
    this.burst.clear();
    this.search.clear();
    this.dailyCount = 0;
  }

  resetDaily(): void {
    this.dailyCount = 0;
  }

  /** Requests used today and in each token's current window. */
  usage(): { daily: number; burst: Record<string, number> } {
    const now = this.now();
    const burst: Record<string, number> = {};
    for (const [token, stamps] of this.burst) burst[token] = prune(stamps, now, this.config.burstIntervalMs).length;
    this.rollDay(now);
    return { daily: this.dailyCount, burst };
  }

  /** Decides one request and records it. */
  check(token: string, isSearch: boolean): LimitDecision {
    const { config } = this;
    const now = this.now();
    this.rollDay(now);
    const countsBurst = !isSearch || config.searchCountsTowardBurst;
    const window = prune(this.windowOf(this.burst, token), now, config.burstIntervalMs);
    const searchWindow = isSearch ? prune(this.windowOf(this.search, token), now, SEARCH_WINDOW_MS) : [];

    let policy: Policy | null = null;
    if (countsBurst && !config.oauth && this.dailyCount >= config.dailyMax) policy = 'DAILY';
    else if (countsBurst && window.length >= config.burstMax) policy = 'TEN_SECONDLY_ROLLING';
    else if (isSearch && searchWindow.length >= config.searchPerSecond) policy = 'SECONDLY';

    const counted = policy === null || config.countRejected;
    if (counted) {
      if (countsBurst) {
        window.push(now);
        if (!config.oauth) this.dailyCount++;
      }
      if (isSearch) searchWindow.push(now);
    }

    const headers = isSearch && !config.searchRateLimitHeaders ? {} : this.headers(window, now);
    if (policy && config.retryAfter) headers['Retry-After'] = String(this.retryAfterSeconds(policy, window, searchWindow, now));
    return policy ? { ok: false, policy, headers, counted } : { ok: true, headers, counted };
  }

  private headers(window: number[], now: number): Record<string, string> {
    const { config } = this;
    const headers: Record<string, string> = {
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(config.burstIntervalMs),
      'X-HubSpot-RateLimit-Max': String(config.burstMax),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, config.burstMax - prune(window, now, config.burstIntervalMs).length)),
    };
    if (!config.oauth) {
      headers['X-HubSpot-RateLimit-Daily'] = String(config.dailyMax);
      headers['X-HubSpot-RateLimit-Daily-Remaining'] = String(Math.max(0, config.dailyMax - this.dailyCount));
    }
    return headers;
  }

  private retryAfterSeconds(policy: Policy, window: number[], searchWindow: number[], now: number): number {
    if (policy === 'DAILY') return Math.ceil((this.nextMidnight(now) - now) / 1000);
    const stamps = policy === 'SECONDLY' ? searchWindow : window;
    const span = policy === 'SECONDLY' ? SEARCH_WINDOW_MS : this.config.burstIntervalMs;
    const limit = policy === 'SECONDLY' ? this.config.searchPerSecond : this.config.burstMax;
    // The slot that must expire before one more request fits.
    const oldest = stamps[stamps.length - limit] ?? stamps[0] ?? now;
    return Math.max(1, Math.ceil((oldest + span - now) / 1000));
  }

  private windowOf(map: Map<string, number[]>, token: string): number[] {
    let stamps = map.get(token);
    if (!stamps) map.set(token, (stamps = []));
    return stamps;
  }

  private rollDay(now: number): void {
    const key = new Date(now + this.config.dailyResetUtcOffsetMinutes * 60_000).toISOString().slice(0, 10);
    if (key !== this.dayKey) {
      this.dayKey = key;
      this.dailyCount = 0;
    }
  }

  private nextMidnight(now: number): number {
    const offset = this.config.dailyResetUtcOffsetMinutes * 60_000;
    const local = new Date(now + offset);
    return Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1) - offset;
  }
}

/** Drops timestamps that left the rolling window (in place) and returns the array. */
function prune(stamps: number[], now: number, span: number): number[] {
  let drop = 0;
  while (drop < stamps.length && stamps[drop]! <= now - span) drop++;
  if (drop) stamps.splice(0, drop);
  return stamps;
}

/** The largest number of timestamps inside any window of `span` ms (two pointers over sorted times). */
export function maxInWindow(times: number[], span: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let lo = 0, hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= span) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
