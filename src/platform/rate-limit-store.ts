// The login rate limit's store: shared through Redis when configured, and when Redis is unreachable
// it keeps counting in this process instead of letting every attempt through.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

const require = createRequire(import.meta.url);
type Callback = (err: Error | null, res: { current: number; ttl: number } | null) => void;
interface Store {
  incr(key: string, cb: Callback, timeWindow: number, max: number): void;
  child(routeOptions: unknown): Store;
}
type StoreCtor = new (...args: unknown[]) => Store;
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as StoreCtor;
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as StoreCtor;

interface GlobalParams { continueExceeding: boolean; exponentialBackoff: boolean }

export function redisWithLocalFallback(redis: Redis, warn: (msg: string) => void): new (params: GlobalParams) => Store {
  let degraded = false;
  class FallbackStore implements Store {
    readonly shared: Store;
    readonly local: Store;
    constructor(params: GlobalParams, shared?: Store, local?: Store) {
      this.shared = shared ?? new RedisStore(params.continueExceeding, params.exponentialBackoff, redis, 'propart-rl:');
      this.local = local ?? new LocalStore(params.continueExceeding, params.exponentialBackoff, 5000);
    }
    incr(key: string, cb: Callback, timeWindow: number, max: number): void {
      this.shared.incr(key, (err, res) => {
        if (!err) {
          if (degraded) { degraded = false; warn('Redis is back: login rate limits are shared again'); }
          return cb(null, res);
        }
        if (!degraded) { degraded = true; warn('Redis unavailable: login rate limits are counted per instance until it is back'); }
        this.local.incr(key, cb, timeWindow, max);
      }, timeWindow, max);
    }
    child(routeOptions: unknown): Store {
      return new FallbackStore({ continueExceeding: false, exponentialBackoff: false }, this.shared.child(routeOptions), this.local.child(routeOptions));
    }
  }
  return FallbackStore;
}
