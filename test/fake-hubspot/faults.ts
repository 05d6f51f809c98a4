// Fault injection (HUBSPOT.md §5): latency, a share of 5xx (HTML 502s), commit-then-fail (the write
// happens, the answer is a 5xx or a dropped connection), drops, hangs, scripted statuses and 429s,
// and outage windows (503s by the fake's clock, or connections refused for a real-time period).
import { errorBody } from './http.ts';
import { rateLimitBody, type Policy } from './limits.ts';
import type { FakeState } from './state.ts';
import type { Reply } from './types.ts';

export type FaultAction = 'latency' | 'error' | 'status' | 'rate-limit' | 'drop' | 'hang' | 'commit-then-error' | 'commit-then-drop';

export interface FaultRule {
  id?: string;
  action: FaultAction;
  /** Only this HTTP method (any when absent). */
  method?: string;
  /** A regular expression tested against the path, without the query (any when absent). */
  path?: string;
  /** Share of matching requests affected, 0..1 (default 1), rolled with the fake's seeded RNG. */
  probability?: number;
  /** Affect at most this many requests, then the rule goes away (default: unlimited). */
  times?: number;
  /** error / status / commit-then-error: the status (error picks from `statuses` when given). */
  status?: number;
  statuses?: number[];
  /** Send an HTML page instead of JSON (default for 502, like HubSpot's edge). */
  html?: boolean;
  latencyMs?: number;
  jitterMs?: number;
  retryAfterSeconds?: number;
  /** rate-limit: which 429 to send (default TEN_SECONDLY_ROLLING). */
  policy?: Policy;
  /** status: a JSON body instead of the built-in one. */
  body?: unknown;
}

export interface OutageOptions {
  durationMs: number;
  /** '503': every API request answers 503 until the fake's clock passes the end (the default).
   *  'refuse': the server stops listening (connection refused) for durationMs of real time. */
  mode?: '503' | 'refuse';
}

export interface Outage { from: number; until: number; mode: '503' | 'refuse' }

export interface Selected { delayMs: number; rule: (FaultRule & { id: string }) | null }

const TEXT: Record<number, [string, string]> = {
  423: ['Locked', 'LOCKED'],
  477: ['Migration in progress', 'MIGRATION_IN_PROGRESS'],
  500: ['internal error', 'INTERNAL_ERROR'],
  502: ['Bad Gateway', 'BAD_GATEWAY'],
  503: ['Service Unavailable', 'SERVICE_UNAVAILABLE'],
  504: ['Gateway Timeout', 'TIMEOUT'],
};

const html = (status: number) => {
  const title = `${status} ${TEXT[status]?.[0] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n`;
};

/** An error reply for a status, in HubSpot's JSON shape (or an HTML page). */
export function statusReply(status: number, correlationId: string, asHtml = false, retryAfterSeconds?: number): Reply {
  const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
  if (asHtml) return { status, html: html(status), headers };
  const [message, category] = TEXT[status] ?? ['error', 'ERROR'];
  return { status, body: errorBody(correlationId, category, message), headers };
}

export class Faults {
  rules: (FaultRule & { id: string })[] = [];
  outages: Outage[] = [];
  private nextId = 1;
  private readonly state: FakeState;
  /** Set by the server: stop listening now, listen again after `ms`. */
  refuseFor: ((ms: number) => Promise<void>) | null = null;
  /** Set by the server: listen again now. */
  resume: (() => Promise<void>) | null = null;

  constructor(state: FakeState) {
    this.state = state;
  }

  add(rule: FaultRule): string {
    const id = rule.id ?? `fault-${this.nextId++}`;
    this.rules.push({ ...rule, id });
    return id;
  }

  remove(id: string): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  /** Removes every rule and ends every outage. */
  async clear(): Promise<void> {
    this.rules = [];
    this.outages = [];
    await this.resume?.();
  }

  latency(latencyMs: number, jitterMs = 0, match: Pick<FaultRule, 'method' | 'path'> = {}): string {
    return this.add({ action: 'latency', latencyMs, jitterMs, ...match });
  }

  /** A share of requests answer a 5xx before doing anything (502s as HTML). */
  errorRate(share: number, opts: Pick<FaultRule, 'method' | 'path' | 'statuses'> = {}): string {
    return this.add({ action: 'error', probability: share, statuses: opts.statuses ?? [500, 502, 503, 504], ...opts });
  }

  /** The next matching request(s) are applied, then answered with a 5xx ('drop': connection destroyed). */
  commitThenFail(opts: { status?: number | 'drop'; times?: number; probability?: number; method?: string; path?: string } = {}): string {
    const { status = 500, ...rest } = opts;
    return status === 'drop'
      ? this.add({ action: 'commit-then-drop', times: 1, ...rest })
      : this.add({ action: 'commit-then-error', status, times: 1, ...rest });
  }

  /** Scripted answers for the next requests, one rule each, in order (e.g. three 429s, then normal). */
  sequence(rules: FaultRule[]): string[] {
    return rules.map((r) => this.add({ times: 1, ...r }));
  }

  /** Starts an outage now. With 'refuse' the promise resolves once the port is closed. */
  async outage({ durationMs, mode = '503' }: OutageOptions): Promise<void> {
    const now = this.state.now();
    this.outages.push({ from: now, until: now + durationMs, mode });
    if (mode === 'refuse') await this.refuseFor?.(durationMs);
  }

  async endOutage(): Promise<void> {
    this.outages = [];
    await this.resume?.();
  }

  inOutage(): boolean {
    const now = this.state.now();
    this.outages = this.outages.filter((o) => o.until > now);
    return this.outages.some((o) => o.mode === '503' && o.from <= now);
  }

  /** Picks what happens to one request: the summed latency and the first terminal rule that fires. */
  select(method: string, path: string): Selected {
    let delayMs = 0;
    let rule: Selected['rule'] = null;
    for (const r of [...this.rules]) {
      if (r.method && r.method.toUpperCase() !== method) continue;
      if (r.path && !new RegExp(r.path).test(path)) continue;
      if (r.action !== 'latency' && rule) continue;
      if (r.probability !== undefined && this.state.random() >= r.probability) continue;
      if (r.action === 'latency') delayMs += (r.latencyMs ?? 0) + Math.round((r.jitterMs ?? 0) * this.state.random());
      else rule = r;
      if (r.times !== undefined && --r.times <= 0) this.remove(r.id);
    }
    return { delayMs, rule };
  }

  /** The reply of a terminal rule that answers without running the handler. */
  reply(rule: FaultRule, correlationId: string, rateLimitHeaders: Record<string, string>): Reply {
    switch (rule.action) {
      case 'rate-limit': {
        const headers: Record<string, string> = { ...rateLimitHeaders, ...(rule.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(rule.retryAfterSeconds) }) };
        if (rule.policy !== 'SECONDLY') headers['X-HubSpot-RateLimit-Remaining'] = '0';
        return { status: 429, body: rateLimitBody(rule.policy ?? 'TEN_SECONDLY_ROLLING', correlationId), headers };
      }
      case 'status': {
        const status = rule.status ?? 423;
        const reply = statusReply(status, correlationId, rule.html, rule.retryAfterSeconds);
        return rule.body === undefined ? reply : { ...reply, body: rule.body };
      }
      default: {
        const choices = rule.statuses?.length ? rule.statuses : [rule.status ?? 500];
        const status = choices[Math.floor(this.state.random() * choices.length)]!;
        return statusReply(status, correlationId, rule.html ?? status === 502, rule.retryAfterSeconds);
      }
    }
  }

  list(): { rules: FaultRule[]; outages: Outage[] } {
    return { rules: this.rules, outages: this.outages };
  }
}
