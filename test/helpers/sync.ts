// A test app wired to a fake HubSpot, with the sync engine driven by hand (drain/pull) instead of a loop.
import pino from 'pino';
import { startSyncEngine, type SyncEngine } from '../../src/hubspot/engine.ts';
import { startFakeHubSpot, type FakeHubSpot, type FakeHubSpotOptions } from '../fake-hubspot/server.ts';
import { startTestApp, type TestApp, type TestAppOptions } from './app.ts';
import type { DbKind } from './database.ts';

export interface SyncHarness { t: TestApp; hs: FakeHubSpot; engine: SyncEngine; close(): Promise<void> }

export async function startSyncHarness(kind: DbKind, opts: { fake?: FakeHubSpotOptions; env?: Record<string, string> } & Omit<TestAppOptions, 'env'> = {}): Promise<SyncHarness> {
  const hs = await startFakeHubSpot({ indexingDelayMs: 0, ...opts.fake });
  const t = await startTestApp(kind, {
    ...opts,
    env: {
      HUBSPOT_ACCESS_TOKEN: hs.token, HUBSPOT_BASE_URL: hs.url, SYNC_WORKER: 'off', LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      HUBSPOT_BACKOFF_BASE_MS: '5', HUBSPOT_BACKOFF_CAP_MS: '50', HUBSPOT_TIMEOUT_MS: '3000', HUBSPOT_PULL_INTERVAL_SECONDS: '0',
      ...opts.env,
    },
  });
  const engine = startSyncEngine({ db: t.app.db, config: t.config, log: t.log.logger, loop: false });
  // The app itself gets a gateway too (the lead page shows sync state only when HubSpot is configured).
  (t.app as unknown as { hubspot: unknown }).hubspot = engine.gateway;
  return {
    t, hs, engine,
    close: async () => {
      await engine.stop();
      await t.close();
      await hs.close();
    },
  };
}

export const silentLog = pino({ level: 'silent' });
