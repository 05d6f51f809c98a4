// Our own HubSpot request budget: at most N requests in any rolling window (default 90 per 10 s),
// shared by every process of the installation through Redis when REDIS_URL is set, else in memory.
// It also adapts: when HubSpot says fewer calls remain than we think, or answers 429, everyone waits.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A place in the window for one request. HubSpot counts a request when it arrives, which is somewhere
 * between our admission and the answer; done() moves the request's stamp to the answer, so the next
 * window opens a full window after HubSpot can have counted it, however long this process stalled
 * between admission and sending (a busy event loop, a slow connect).
 */
export interface Slot { waitedMs: number; done(): void }

export interface RateLimiter {
  /** Resolves when a request may be sent; returns how long it waited (ms). */
  acquire(): Promise<number>;
  /** acquire() for a request that calls done() once it is answered (or failed). */
  take(): Promise<Slot>;
  /** Pause all senders until `untilMs` (epoch ms), e.g. after a 429 or a low Remaining header. */
  pauseUntil(untilMs: number): Promise<void>;
  readonly kind: 'memory' | 'redis';
}

export interface LimiterOptions { max: number; windowMs: number; now?: () => number; sleep?: (ms: number) => Promise<void> }

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class MemoryLimiter implements RateLimiter {
  readonly kind = 'memory' as const;
  private readonly stamps: { t: number }[] = [];
  private pausedUntil = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly opts: Required<LimiterOptions>;
  constructor(opts: LimiterOptions) {
    this.opts = { now: Date.now, sleep: realSleep, ...opts };
  }

  async acquire(): Promise<number> {
    return (await this.take()).waitedMs;
  }

  take(): Promise<Slot> {
    // Callers are served one at a time, in order, so the window math never races.
    const turn = this.queue.then(() => this.admit());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async admit(): Promise<Slot> {
    const { max, windowMs, now, sleep } = this.opts;
    const start = now();
    for (;;) {
      const t = now();
      while (this.stamps.length && this.stamps[0]!.t <= t - windowMs) this.stamps.shift();
      const waitPause = this.pausedUntil - t;
      const waitWindow = this.stamps.length >= max ? this.stamps[0]!.t + windowMs - t : 0;
      const wait = Math.max(waitPause, waitWindow);
      if (wait <= 0) {
        const stamp = { t };
        this.stamps.push(stamp);
        return {
          waitedMs: t - start,
          done: () => {
            stamp.t = Math.max(stamp.t, now());
            this.stamps.sort((a, b) => a.t - b.t);
          },
        };
      }
      await sleep(wait + 1);
    }
  }

  async pauseUntil(untilMs: number): Promise<void> {
    this.pausedUntil = Math.max(this.pausedUntil, untilMs);
  }
}

// Atomically: drop stamps older than the window; if paused or full, answer how long to wait;
// otherwise record this request. One round trip per attempt, correct across processes. The time is
// Redis's own, read inside the script: a stamp taken in an earlier round trip is stale by however long
// this process stalled in between, and a stale stamp lets the next window open that much too early.
const ACQUIRE_LUA = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key, pauseKey = KEYS[1], KEYS[2]
local window, max, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', pauseKey) or '0')
if paused > now then return paused - now end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= max then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window * 2)
return 0`;

// The request was answered: its stamp moves to now (if it is still in the window).
const DONE_LUA = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'XX', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
return 0`;

export class RedisLimiter implements RateLimiter {
  readonly kind = 'redis' as const;
  private readonly opts: Required<LimiterOptions>;
  private readonly redis: Redis;
  private readonly prefix: string;
  /** While Redis is unreachable this process keeps its own budget, so sync goes on (per instance). */
  private readonly fallback: MemoryLimiter;
  private degraded = false;
  private readonly warn: (msg: string) => void;
  constructor(redis: Redis, opts: LimiterOptions, prefix = 'propart:hubspot', warn: (msg: string) => void = () => {}) {
    this.redis = redis;
    this.prefix = prefix;
    this.opts = { now: Date.now, sleep: realSleep, ...opts };
    this.fallback = new MemoryLimiter(opts);
    this.warn = warn;
  }

  async acquire(): Promise<number> {
    return (await this.take()).waitedMs;
  }

  async take(): Promise<Slot> {
    try {
      const slot = await this.takeShared();
      if (this.degraded) {
        this.degraded = false;
        this.warn('Redis is back: the HubSpot request budget is shared again');
      }
      return slot;
    } catch {
      if (!this.degraded) {
        this.degraded = true;
        this.warn('Redis unavailable: the HubSpot request budget falls back to this process alone');
      }
      return this.fallback.take();
    }
  }

  private async takeShared(): Promise<Slot> {
    const { max, windowMs, sleep } = this.opts;
    const start = Date.now();
    const key = `${this.prefix}:window`;
    const member = randomUUID();
    for (;;) {
      // Redis's clock is the one clock every process shares (read by the script itself).
      const wait = Number(await this.redis.eval(ACQUIRE_LUA, 2, key, `${this.prefix}:paused`, windowMs, max, member));
      if (wait <= 0) {
        return {
          waitedMs: Date.now() - start,
          done: () => { this.redis.eval(DONE_LUA, 1, key, member).catch(() => { /* the admission stamp stays */ }); },
        };
      }
      await sleep(Math.min(wait + 1, windowMs));
    }
  }

  async pauseUntil(untilMs: number): Promise<void> {
    await this.fallback.pauseUntil(untilMs);
    try {
      await this.pauseShared(untilMs);
    } catch { /* the local pause holds */ }
  }

  private async pauseShared(untilMs: number): Promise<void> {
    const [sec, micro] = await this.redis.time();
    const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
    const ttl = Math.max(1, untilMs - Date.now());
    // Keep the later of two pauses.
    await this.redis.eval(`local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
      if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end return 0`, 1, `${this.prefix}:paused`, now + ttl, ttl);
  }
}
