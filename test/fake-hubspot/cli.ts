// `npm run fake-hubspot`: the fake HubSpot on FAKE_HUBSPOT_PORT (default 4010) until Ctrl-C.
// Point the app at it with HUBSPOT_BASE_URL=<printed url> and the printed token.
import { startFakeHubSpot } from './server.ts';

const env = process.env;
const num = (name: string): number | undefined => (env[name] ? Number(env[name]) : undefined);

const hs = await startFakeHubSpot({
  port: num('FAKE_HUBSPOT_PORT') ?? 4010,
  host: env.FAKE_HUBSPOT_HOST ?? '127.0.0.1',
  tokens: env.FAKE_HUBSPOT_TOKENS ? env.FAKE_HUBSPOT_TOKENS.split(',').map((t) => t.trim()).filter(Boolean) : undefined,
  burstMax: num('FAKE_HUBSPOT_BURST_MAX'),
  dailyMax: num('FAKE_HUBSPOT_DAILY_MAX'),
  searchPerSecond: num('FAKE_HUBSPOT_SEARCH_PER_SECOND'),
  indexingDelayMs: num('FAKE_HUBSPOT_INDEXING_DELAY_MS'),
  seed: num('FAKE_HUBSPOT_SEED'),
});

console.log(`Fake HubSpot listening on ${hs.url}`);
console.log(`  token: ${hs.state.config.tokens.join(', ')}   control API: ${hs.url}/__fake/state, /__fake/requests, /__fake/faults`);

const shutdown = () => {
  void hs.close().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
