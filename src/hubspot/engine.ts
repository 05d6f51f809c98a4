// The sync engine: the outbound drain loop and the scheduled inbound pull, started in-process by the
// server (SYNC_WORKER=in-process) or as its own process (`npm run worker`). Off when HubSpot is not set up.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { DEFAULT_STAGES, type Stage } from '../leads/stages.ts';
import { HubSpotGateway } from './gateway.ts';
import { MemoryLimiter, type RateLimiter, RedisLimiter } from './limiter.ts';
import { RoundStopped } from './outbox.server.ts';
import { COMMENT_ID_PROPERTY, LEAD_ID_PROPERTY } from './mapping.ts';
import { acquireLease, pullOnce, releaseLease } from './pull.server.ts';
import { pushOnce, type PushResult } from './push.server.ts';

const stageFileSchema = z.array(z.object({ id: z.string().min(1), label: z.string().min(1), status: z.enum(['new', 'contacted', 'qualified', 'closed']) })).min(1);

/** The one stage map: from HUBSPOT_STAGE_MAP_FILE when given (no code change needed), else the default. */
export function loadStages(file: string | null): Stage[] {
  if (!file) return DEFAULT_STAGES;
  return stageFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export function createLimiters(config: Config['hubspot'], redis: Redis | null, log?: Logger): { limiter: RateLimiter; searchLimiter: RateLimiter } {
  const opts = { max: config.rateLimit, windowMs: config.rateWindowMs };
  const search = { max: config.searchPerSecond, windowMs: 1000 };
  const warn = (msg: string) => log?.warn({ event: 'hubspot_limiter' }, msg);
  return redis
    ? { limiter: new RedisLimiter(redis, opts, 'propart:hubspot', warn), searchLimiter: new RedisLimiter(redis, search, 'propart:hubspot-search', warn) }
    : { limiter: new MemoryLimiter(opts), searchLimiter: new MemoryLimiter(search) };
}

export function createGateway(config: Config['hubspot'], log: Logger, redis: Redis | null): HubSpotGateway {
  const { limiter, searchLimiter } = createLimiters(config, redis, log);
  return new HubSpotGateway({
    accessToken: config.accessToken ?? '', baseUrl: config.baseUrl, limiter, searchLimiter, log,
    maxAttempts: config.requestAttempts, backoffBaseMs: config.backoffBaseMs, backoffCapMs: config.backoffCapMs, timeoutMs: config.timeoutMs,
  });
}

/** Creates our unique properties once (409 = already there). */
export async function ensureCustomProperties(gw: HubSpotGateway, signal?: AbortSignal): Promise<void> {
  const defs = [
    { type: 'deals', name: LEAD_ID_PROPERTY, label: 'ProPart lead id' },
    { type: 'contacts', name: LEAD_ID_PROPERTY, label: 'ProPart lead id' },
    { type: 'notes', name: COMMENT_ID_PROPERTY, label: 'ProPart comment id' },
  ];
  for (const d of defs) {
    await gw.request('POST', `/crm/v3/properties/${d.type}`, {
      name: d.name, label: d.label, type: 'string', fieldType: 'text', groupName: d.type === 'contacts' ? 'contactinformation' : d.type === 'deals' ? 'dealinformation' : 'notes', hasUniqueValue: true,
    }, { okStatuses: [409], signal });
  }
}

export interface SyncEngine {
  gateway: HubSpotGateway;
  /** Drains the outbox until nothing is due (used by tests and benchmarks). */
  drain(): Promise<PushResult>;
  pull(): Promise<void>;
  /**
   * Graceful: no new round; the round in flight may finish for up to `graceMs` (SYNC_STOP_GRACE_MS by
   * default), then it starts no more HubSpot calls and its unsettled items wait for their lease.
   */
  stop(graceMs?: number): Promise<void>;
}

export function startSyncEngine(deps: { db: Db; config: Config; log: Logger; redis?: Redis | null; loop?: boolean }): SyncEngine {
  const { db, config, log } = deps;
  const hs = config.hubspot;
  const gateway = createGateway(hs, log, deps.redis ?? null);
  const stages = loadStages(hs.stageMapFile);
  const workerId = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  // A round claims SYNC_ROUND_SIZE items (1000: one association call's worth) and pushes them in HubSpot
  // batches of HUBSPOT_BATCH_SIZE, SYNC_CONCURRENCY calls in flight (the limiter still paces them): bench/sync.
  // Its lease (120 s, at least four request timeouts) is renewed every quarter while it runs; a call starts
  // only while a request timeout and 5 s of it are confirmed (docs/decisions/018).
  const stopping = new AbortController();
  const pushOpts = {
    stopSignal: stopping.signal,
    workerId, batchSize: hs.batchSize, roundSize: hs.roundSize, concurrency: hs.concurrency,
    leaseSeconds: Math.max(120, 4 * Math.ceil(hs.timeoutMs / 1000)), leaseMarginMs: hs.timeoutMs + 5000,
    maxAttempts: hs.maxAttempts, pipelineId: hs.pipelineId, stages, log,
  };
  let propertiesReady: Promise<void> | null = null;
  const ready = () => (propertiesReady ??= ensureCustomProperties(gateway, stopping.signal).catch((err: unknown) => {
    propertiesReady = null;
    throw err;
  }));

  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  const drain = async (): Promise<PushResult> => {
    await ready();
    const total: PushResult = { claimed: 0, synced: 0, failed: 0, deferred: 0 };
    for (;;) {
      const r = await pushOnce(db, gateway, pushOpts);
      total.claimed += r.claimed; total.synced += r.synced; total.failed += r.failed; total.deferred += r.deferred;
      if (r.claimed === 0 || stopped) return total;
    }
  };
  // With several workers the scheduled pull runs once per interval, on one of them (a lease in the
  // database, kept until the interval is over: released at once, the next worker would pull again).
  const pull = async () => {
    await ready();
    const started = Date.now();
    if (!(await acquireLease(db, 'pull', workerId, Math.max(60, hs.pullIntervalSeconds * 2)))) return;
    try {
      await pullOnce(db, gateway, { stages, pipelineId: hs.pipelineId, log });
    } finally {
      await releaseLease(db, 'pull', workerId, started + hs.pullIntervalSeconds * 1000);
    }
  };

  if (deps.loop !== false) {
    let lastPull = 0;
    const tick = async () => {
      while (!stopped) {
        try {
          const r = await drain();
          if (r.claimed > 0) log.info({ event: 'hubspot_sync', ...r }, 'HubSpot sync round');
          // Stopping (SIGTERM): the round in flight is done; no pull and no pause before exiting.
          if (!stopped && hs.pullIntervalSeconds > 0 && Date.now() - lastPull >= hs.pullIntervalSeconds * 1000) {
            lastPull = Date.now();
            await pull();
          }
        } catch (err) {
          log.warn({ err: { message: (err as Error).message } }, 'HubSpot sync loop error; retrying shortly');
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    current = tick();
  }

  return {
    gateway, drain, pull,
    stop: async (graceMs = hs.stopGraceMs) => {
      stopped = true;
      const cut = setTimeout(() => stopping.abort(new RoundStopped('the process is stopping')), graceMs);
      try {
        await current;
      } finally {
        clearTimeout(cut);
      }
    },
  };
}
