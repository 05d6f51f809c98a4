// The real `src/worker.ts` as separate processes against a real PostgreSQL server and the fake HubSpot:
// a SIGKILL in the middle of a round loses and duplicates nothing, two workers sharing Redis stay inside
// one request budget as HubSpot measures it (and without Redis they do not), SIGTERM is graceful.
// Needs TEST_DATABASE_URL (export TEST_DATABASE_URL=$(scripts/test-postgres.sh start)); the Redis tests
// also need redis-server. Each test starts its own fake, database and processes and kills them after.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { sql } from 'kysely';
import type { Db } from '../src/db/database.ts';
import { enqueueSync } from '../src/hubspot/outbox.server.ts';
import { startFakeHubSpot, type FakeHubSpot, type FakeHubSpotOptions, type RequestLogEntry } from './fake-hubspot/server.ts';
import { TEST_SECRET } from './helpers/app.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { killAll, spawnNode, type TestProcess, waitFor } from './helpers/processes.ts';
import { findRedisServer, startRedis, type TestRedis } from './helpers/redis.ts';

const NO_POSTGRES = process.env.TEST_DATABASE_URL
  ? false
  : 'TEST_DATABASE_URL is not set: these tests run the worker as real processes against a PostgreSQL server '
    + '(export TEST_DATABASE_URL=$(scripts/test-postgres.sh start); scripts/test-postgres.sh stop afterwards)';
const NO_REDIS = NO_POSTGRES || (findRedisServer() ? false : 'redis-server is not installed (apt-get install redis-server): the shared-budget test needs one');

interface Seeded {
  agentId: number;
  leads: { id: number; email: string | null }[];
  comments: { id: number; leadId: number }[];
}

/** Leads (every `noEmailEvery`-th without an email: its contact is keyed by our lead id) and comments, each with its pending sync_items row. */
async function seed(db: Db, opts: { leads: number; commentEvery: number; noEmailEvery: number }): Promise<Seeded> {
  return db.transaction().execute(async (trx) => {
    const agent = await trx.insertInto('users').values({
      username: 'worker_agent', email: 'worker.agent@propart.example', display_name: 'Агент Воркер', password_hash: 'x', role: 'agent',
    }).returning('id').executeTakeFirstOrThrow();
    const rows = Array.from({ length: opts.leads }, (_, i) => ({
      agent_id: agent.id, created_by: agent.id, deal_name: `Клієнт Процес ${i}`, phone: `+38050${String(1_000_000 + i)}`, budget: '500к–1млн',
      email: i % opts.noEmailEvery === opts.noEmailEvery - 1 ? null : `worker.client${i}@example.com`,
    }));
    const leads = await trx.insertInto('leads').values(rows).returning(['id', 'email']).execute();
    const commentRows = leads.filter((_, i) => i % opts.commentEvery === 0)
      .map((l) => ({ lead_id: l.id, author_id: agent.id, body: `Коментар до ліда ${l.id}` }));
    const comments = commentRows.length ? await trx.insertInto('comments').values(commentRows).returning(['id', 'lead_id']).execute() : [];
    for (const l of leads) await enqueueSync(trx, 'lead', l.id);
    for (const c of comments) await enqueueSync(trx, 'comment', c.id);
    return { agentId: agent.id, leads, comments: comments.map((c) => ({ id: c.id, leadId: c.lead_id })) };
  });
}

interface Scenario {
  fake: FakeHubSpot;
  database: TestDatabase;
  db: Db;
  dir: string;
  seeded: Seeded;
  workers: TestProcess[];
  startWorker(name: string, env?: Record<string, string>): TestProcess;
  /** Sync rows by status, and the tail of each worker's output: for timeout messages. */
  describe(): Promise<string>;
}

/** A fake HubSpot, a fresh migrated database with seeded leads, and a way to start workers; all torn down after the test. */
async function scenario(t: TestContext, opts: { fake: FakeHubSpotOptions; latencyMs: number; leads: number; commentEvery: number; noEmailEvery?: number; env: Record<string, string> }): Promise<Scenario> {
  const dir = mkdtempSync(path.join(tmpdir(), 'propart-worker-'));
  const workers: TestProcess[] = [];
  let fake: FakeHubSpot | undefined;
  let database: TestDatabase | undefined;
  t.after(async () => {
    // Always, also when an assertion failed: no worker outlives its test.
    await killAll();
    await fake?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  fake = await startFakeHubSpot({ indexingDelayMs: 0, ...opts.fake });
  if (opts.latencyMs > 0) fake.faults.latency(opts.latencyMs);
  database = await createTestDatabase('postgres');
  const db = database.handle.db;
  const seeded = await seed(db, { leads: opts.leads, commentEvery: opts.commentEvery, noEmailEvery: opts.noEmailEvery ?? 15 });
  const s: Scenario = {
    fake, database, db, dir, seeded, workers,
    startWorker: (name, env = {}) => {
      const w = spawnNode(name, 'src/worker.ts', {
        env: {
          NODE_ENV: 'test', SECRET_KEY: TEST_SECRET, DATABASE_URL: database!.url!, DB_POOL_MAX: '4',
          DATA_DIR: path.join(dir, name, 'data'), LOG_DIR: path.join(dir, name, 'logs'), LOG_TO_STDOUT: 'true', LOG_LEVEL: 'info',
          HUBSPOT_ACCESS_TOKEN: fake!.token, HUBSPOT_BASE_URL: fake!.url, HUBSPOT_PULL_INTERVAL_SECONDS: '0',
          HUBSPOT_BACKOFF_BASE_MS: '50', HUBSPOT_BACKOFF_CAP_MS: '500', HUBSPOT_TIMEOUT_MS: '5000', REDIS_URL: '',
          ...opts.env, ...env,
        },
      });
      workers.push(w);
      return w;
    },
    describe: async () => {
      const counts = await db.selectFrom('sync_items').select(['entity_type', 'status', sql<number>`count(*)::int`.as('n'), sql<number>`count(claimed_by)::int`.as('claimed')])
        .groupBy(['entity_type', 'status']).execute();
      const tails = workers.map((w) => `--- ${w.name} (pid ${w.pid}, exit ${JSON.stringify(w.exit())}):\n${w.output().split('\n').slice(-15).join('\n')}`);
      return `sync_items: ${JSON.stringify(counts)}\nfake requests: ${fake!.state.requests.length}\n${tails.join('\n')}`;
    },
  };
  return s;
}

const workerStarted = (w: TestProcess) => waitFor(`${w.name} to start`, () => {
  if (w.exit()) throw new Error(`${w.name} exited at start ${JSON.stringify(w.exit())}:\n${w.output()}`);
  return w.output().includes('HubSpot sync worker started');
}, { timeoutMs: 20_000 });

const allSynced = async (db: Db) => (await db.selectFrom('sync_items').select('id').where('status', '!=', 'synced').execute()).length === 0;

const isDealUpsert = (r: RequestLogEntry) => r.method === 'POST' && r.path === '/crm/v3/objects/deals/batch/upsert';
const upsertedIds = (r: RequestLogEntry) => ((r.body as { inputs?: { id: string }[] } | undefined)?.inputs ?? []).map((i) => i.id);

/** The rows a worker (by pid) holds right now. */
async function claimedBy(db: Db, pid: number) {
  return db.selectFrom('sync_items').selectAll().where('claimed_by', 'like', `%:${pid}:%`).where('claimed_until', '>', sql<Date>`now()`).execute();
}

/**
 * Every lead is in HubSpot exactly once: one deal per propart_lead_id, one contact per email (or per lead
 * id without one), the deal associated to that contact, each comment one note associated to its deal,
 * and the local rows hold those same ids. Nothing else exists in the fake.
 */
async function assertExactlyOnce(s: Scenario): Promise<void> {
  const { fake, db, seeded } = s;
  const group = (objs: { id: string; properties: Record<string, string> }[], key: (p: Record<string, string>) => string | undefined) => {
    const m = new Map<string, string[]>();
    for (const o of objs) {
      const k = key(o.properties);
      if (k !== undefined) m.set(k, [...(m.get(k) ?? []), o.id]);
    }
    return m;
  };
  const deals = fake.state.live('deals');
  const contacts = fake.state.live('contacts');
  const notes = fake.state.live('notes');
  const dealsByLead = group(deals, (p) => p.propart_lead_id);
  const contactsByEmail = group(contacts, (p) => p.email?.toLowerCase());
  const contactsByLead = group(contacts, (p) => p.propart_lead_id);
  const notesByComment = group(notes, (p) => p.propart_comment_id);
  const edges = [...fake.state.associations.values()];
  const edgeTargets = (fromType: string, fromId: string, toType: string) => edges.filter((e) => e.fromType === fromType && e.fromId === fromId && e.toType === toType).map((e) => e.toId);

  assert.equal(deals.length, seeded.leads.length, 'one deal per lead, no more');
  assert.equal(contacts.length, seeded.leads.length, 'one contact per lead (all emails differ), no more');
  assert.equal(notes.length, seeded.comments.length, 'one note per comment, no more');
  const rows = new Map((await db.selectFrom('leads').select(['id', 'hubspot_deal_id', 'hubspot_contact_id']).execute()).map((r) => [r.id, r]));
  for (const l of seeded.leads) {
    const dealIds = dealsByLead.get(String(l.id)) ?? [];
    assert.equal(dealIds.length, 1, `lead ${l.id}: ${dealIds.length} deals`);
    const contactIds = l.email ? contactsByEmail.get(l.email.toLowerCase()) ?? [] : contactsByLead.get(String(l.id)) ?? [];
    assert.equal(contactIds.length, 1, `lead ${l.id}: ${contactIds.length} contacts`);
    assert.deepEqual(edgeTargets('deals', dealIds[0]!, 'contacts'), [contactIds[0]], `lead ${l.id}: deal → its contact`);
    const row = rows.get(l.id)!;
    assert.equal(row.hubspot_deal_id, dealIds[0], `lead ${l.id}: local deal id`);
    assert.equal(row.hubspot_contact_id, contactIds[0], `lead ${l.id}: local contact id`);
  }
  const commentRows = new Map((await db.selectFrom('comments').select(['id', 'hubspot_note_id']).execute()).map((r) => [r.id, r]));
  for (const c of seeded.comments) {
    const noteIds = notesByComment.get(String(c.id)) ?? [];
    assert.equal(noteIds.length, 1, `comment ${c.id}: ${noteIds.length} notes`);
    const dealId = dealsByLead.get(String(c.leadId))![0]!;
    assert.deepEqual(edgeTargets('notes', noteIds[0]!, 'deals'), [dealId], `comment ${c.id}: note → its lead's deal`);
    assert.equal(commentRows.get(c.id)!.hubspot_note_id, noteIds[0], `comment ${c.id}: local note id`);
  }
}

describe('HubSpot sync worker as a process', { skip: NO_POSTGRES }, () => {
  test('a worker killed with SIGKILL in the middle of a round loses and duplicates nothing', { timeout: 90_000 }, async (t) => {
    // A token per worker, so the fake's log says who sent what.
    const tokens = { w1: 'fake-token-killed-worker', w2: 'fake-token-second-worker' };
    const s = await scenario(t, {
      fake: { burstMax: 100_000, tokens: Object.values(tokens) }, latencyMs: 50, leads: 300, commentEvery: 3,
      // Rounds of 100 in batches of 10 (default concurrency): 400 items make four rounds, so the kill comes
      // mid-round, with deals of finished batches written but their ids not yet stored.
      env: { HUBSPOT_BATCH_SIZE: '10', SYNC_ROUND_SIZE: '100', HUBSPOT_RATE_LIMIT: '100000' },
    });
    const w1 = s.startWorker('w1', { HUBSPOT_ACCESS_TOKEN: tokens.w1 });
    await workerStarted(w1);
    assert.match(readFileSync(`/proc/${w1.pid}/cmdline`, 'utf8'), /src\/worker\.ts/, 'the pid is the worker node process itself');

    // Kill it while a deal upsert is on the wire, once a good part (not all) of the leads is through.
    const inFlight = await waitFor('a deal upsert in flight after 60 deals', () => {
      const last = s.fake.state.requests.at(-1);
      const n = s.fake.state.live('deals').length;
      return last && isDealUpsert(last) && last.status === null && n >= 60 && n < 250 ? last : null;
    }, { timeoutMs: 30_000, intervalMs: 2, describe: s.describe });
    w1.signal('SIGKILL');
    const killedAt = s.fake.state.requests.length;
    assert.deepEqual(await w1.waitExit(5000), { code: null, signal: 'SIGKILL' });
    // The fake still applies the requests that were on the wire (HubSpot would too): written, never acknowledged.
    // With several calls in flight, some of them may reach the fake's log only after the kill.
    await waitFor('the in-flight upsert to be applied', () => inFlight.status !== null, { timeoutMs: 2000 });
    const held = await claimedBy(s.db, w1.pid);
    assert.ok(held.length > 0, 'the killed worker held a round');
    const heldLeads = held.filter((i) => i.entity_type === 'lead').map((i) => i.entity_id);
    // Its round's deals written so far (finished batches and the one on the wire) exist in HubSpot but not locally.
    const orphans = heldLeads.filter((id) => s.fake.state.live('deals').some((d) => d.properties.propart_lead_id === String(id)));
    const inFlightLeads = upsertedIds(inFlight).map(Number);
    assert.ok(inFlightLeads.every((id) => orphans.includes(id)), 'the in-flight deals exist in HubSpot');
    const orphanRows = await s.db.selectFrom('leads').select(['id', 'hubspot_deal_id']).where('id', 'in', orphans).execute();
    assert.ok(orphanRows.every((r) => r.hubspot_deal_id === null), 'but not locally');
    const orphanDealIds = new Map(orphans.map((id) => [id, s.fake.state.live('deals').find((d) => d.properties.propart_lead_id === String(id))!.id]));

    // A second worker does everything else, but not the dead worker's rows while their lease holds.
    const started = Date.now();
    const w2 = s.startWorker('w2', { HUBSPOT_ACCESS_TOKEN: tokens.w2 });
    await workerStarted(w2);
    const heldIds = new Set(held.map((i) => i.id));
    const heldLeadSet = new Set(heldLeads);
    const blockedComments = new Set(s.seeded.comments.filter((c) => heldLeadSet.has(c.leadId)).map((c) => c.id));
    await waitFor('the second worker to sync all but the leased rows', async () => {
      const left = await s.db.selectFrom('sync_items').select(['id', 'entity_type', 'entity_id']).where('status', '!=', 'synced').execute();
      return left.every((r) => heldIds.has(r.id) || (r.entity_type === 'comment' && blockedComments.has(r.entity_id)));
    }, { timeoutMs: 30_000, intervalMs: 100, describe: s.describe });
    const stillHeld = await s.db.selectFrom('sync_items').selectAll().where('id', 'in', [...heldIds]).execute();
    assert.ok(stillHeld.every((i) => i.status === 'pending' && i.claimed_by === held[0]!.claimed_by), 'leased rows are left alone');
    const touched = s.fake.state.requests.filter((r) => r.token === tokens.w2 && isDealUpsert(r)).flatMap(upsertedIds).filter((id) => heldLeadSet.has(Number(id)));
    assert.deepEqual(touched, [], 'no other worker pushed a leased lead');
    const late = s.fake.state.requests.slice(killedAt).filter((r) => r.token === tokens.w1);
    t.diagnostic(`${late.length} request(s) of the killed worker reached the fake after the kill: ${late.map((r) => r.path).join(', ')}`);

    // The lease ends (120 s in production; here we end it): the leftovers are pushed as upserts of the same objects.
    await s.db.updateTable('sync_items').set({ claimed_until: sql`now() - interval '1 second'` }).where('id', 'in', [...heldIds]).execute();
    await waitFor('every sync row to be synced', () => allSynced(s.db), { timeoutMs: 30_000, intervalMs: 100, describe: s.describe });
    t.diagnostic(`second worker finished in ${Date.now() - started} ms; ${s.fake.state.requests.length} HubSpot requests in all`);
    for (const [leadId, dealId] of orphanDealIds) {
      const row = await s.db.selectFrom('leads').select('hubspot_deal_id').where('id', '=', leadId).executeTakeFirstOrThrow();
      assert.equal(row.hubspot_deal_id, dealId, `lead ${leadId}: the deal written before the kill was found again, not created twice`);
    }
    await assertExactlyOnce(s);
    assert.equal(s.fake.state.requests.filter((r) => r.status === 429).length, 0);

    w2.signal('SIGTERM');
    assert.deepEqual(await w2.waitExit(10_000), { code: 0, signal: null }, w2.output().slice(-2000));
  });

  test('SIGTERM: the worker finishes its current round and exits 0', { timeout: 60_000 }, async (t) => {
    const s = await scenario(t, {
      fake: { burstMax: 100_000 }, latencyMs: 100, leads: 200, commentEvery: 4,
      // The scheduled pull is on (first due right after the first drain): stopping must not start it.
      // Rounds of 100 in batches of 20 (default concurrency): 250 items make three rounds.
      env: { HUBSPOT_BATCH_SIZE: '20', SYNC_ROUND_SIZE: '100', HUBSPOT_RATE_LIMIT: '100000', HUBSPOT_PULL_INTERVAL_SECONDS: '60' },
    });
    const w = s.startWorker('w');
    await workerStarted(w);
    // Mid-round: a contact upsert is on the wire (the deal upserts and association of that round are still to come).
    await waitFor('a contact upsert in flight after 40 deals', () => {
      const last = s.fake.state.requests.at(-1);
      return last && last.path === '/crm/v3/objects/contacts/batch/upsert' && last.status === null && s.fake.state.live('deals').length >= 40;
    }, { timeoutMs: 30_000, intervalMs: 2, describe: s.describe });
    const current = await claimedBy(s.db, w.pid);
    const signalledAt = Date.now();
    w.signal('SIGTERM');
    const signalledSeq = s.fake.state.requests.length;
    const exit = await w.waitExit(10_000);
    const tookMs = Date.now() - signalledAt;
    t.diagnostic(`exited ${JSON.stringify(exit)} ${tookMs} ms after SIGTERM; round of ${current.length} in flight`);
    assert.deepEqual(exit, { code: 0, signal: null }, w.output().slice(-3000));
    assert.ok(tookMs < 5000, `exited within a few seconds (${tookMs} ms)`);
    assert.match(w.output(), /worker stopping after the current round/);

    assert.ok(current.length > 0, 'a round was in flight at SIGTERM');
    const items = await s.db.selectFrom('sync_items').selectAll().execute();
    assert.deepEqual(items.filter((i) => i.claimed_by !== null || i.claimed_until !== null), [], 'no row is left claimed');
    const byId = new Map(items.map((i) => [i.id, i]));
    assert.ok(current.every((c) => byId.get(c.id)!.status === 'synced'), 'the round in flight at SIGTERM was finished');
    const pending = items.filter((i) => i.status === 'pending');
    assert.ok(pending.length > 0, 'it stopped before the end');
    assert.ok(items.every((i) => i.status === 'synced' || i.status === 'pending'));
    assert.ok(pending.every((i) => i.attempts === 0 && i.last_error === null), 'no failure recorded by the shutdown');
    // No half-written state: a synced lead is in HubSpot once with its ids stored; a pending one is not there at all.
    const leads = new Map((await s.db.selectFrom('leads').select(['id', 'hubspot_deal_id', 'hubspot_contact_id']).execute()).map((l) => [l.id, l]));
    const deals = s.fake.state.live('deals');
    for (const i of items.filter((x) => x.entity_type === 'lead')) {
      const found = deals.filter((d) => d.properties.propart_lead_id === String(i.entity_id));
      const row = leads.get(i.entity_id)!;
      if (i.status === 'synced') {
        assert.equal(found.length, 1, `synced lead ${i.entity_id}`);
        assert.equal(row.hubspot_deal_id, found[0]!.id);
        assert.ok(row.hubspot_contact_id);
      } else {
        assert.equal(found.length, 0, `pending lead ${i.entity_id} was not pushed`);
        assert.equal(row.hubspot_deal_id, null);
      }
    }
    // After SIGTERM only the current round went on: its remaining calls, nothing more.
    const currentLeads = new Set(current.filter((c) => c.entity_type === 'lead').map((c) => String(c.entity_id)));
    const after = s.fake.state.requests.slice(signalledSeq);
    assert.ok(after.filter(isDealUpsert).flatMap(upsertedIds).every((id) => currentLeads.has(id)), 'no new round after SIGTERM');
    assert.deepEqual(after.map((r) => r.path).filter((p) => !/\/batch\/(upsert|create)$/.test(p)), [], 'no pull (owners, search) after SIGTERM');
    // At most a round's calls: contacts (two key kinds) and deals in batches of 20, one association call.
    assert.ok(after.length <= 2 * Math.ceil(current.length / 20) + 2, `${after.length} requests after SIGTERM`);

    // A new worker picks up the rest: nothing was lost.
    s.startWorker('w-next', { HUBSPOT_PULL_INTERVAL_SECONDS: '0' });
    await waitFor('every sync row to be synced', () => allSynced(s.db), { timeoutMs: 30_000, intervalMs: 100, describe: s.describe });
    await assertExactlyOnce(s);
  });

  // The budget: 30 requests in any 2 s (HUBSPOT_RATE_LIMIT=30, HUBSPOT_RATE_WINDOW_MS=2000). HubSpot (the
  // fake) allows 33 per 2 s — a margin, like 90 of 100 in production — and counts a request when it
  // arrives, while our limiter counts it when it grants it. In between: ~50 ms for the first request of
  // each process (the HTTP client loads), and on a busy machine up to several hundred ms of scheduling
  // delay. A saturated limiter grants every request right at the edge of its window, so the fake
  // typically counts 31–32 in some 2000 ms (measured over 10 runs; never a 429). Hence the check on
  // arrival times allows each request up to TRANSIT_MS between grant and arrival: at most 30 in any
  // 2000 − TRANSIT_MS ms. Together with "no 429" it still catches a real overrun: a budget per process
  // (the test after this one) gets 6–12 429s and 35–37 requests in some 2000 ms.
  const budget = { limit: 30, windowMs: 2000 };
  const TRANSIT_MS = 750;
  const budgetScenario = (t: TestContext) => scenario(t, {
    fake: { burstMax: budget.limit + 3, burstIntervalMs: budget.windowMs }, latencyMs: 5, leads: 150, commentEvery: 5,
    // Rounds of 25 (five batches, default concurrency): both workers get a share of the 180 items.
    env: { HUBSPOT_BATCH_SIZE: '5', SYNC_ROUND_SIZE: '25', HUBSPOT_RATE_LIMIT: String(budget.limit), HUBSPOT_RATE_WINDOW_MS: String(budget.windowMs) },
  });
  const counted = (r: RequestLogEntry) => r.counted;

  test('two workers with Redis never exceed the budget in any rolling window, as measured by the fake', { timeout: 60_000, skip: NO_REDIS }, async (t) => {
    let redis: TestRedis | undefined;
    t.after(() => redis?.stop());
    redis = await startRedis();
    const s = await budgetScenario(t);
    const started = Date.now();
    const workers = [s.startWorker('a', { REDIS_URL: redis.url }), s.startWorker('b', { REDIS_URL: redis.url })];
    await Promise.all(workers.map(workerStarted));
    assert.ok(workers.every((w) => w.output().includes('"limiter":"redis"')));
    await waitFor('every sync row to be synced', () => allSynced(s.db), { timeoutMs: 45_000, intervalMs: 100, describe: s.describe });
    const elapsed = Date.now() - started;
    const requests = s.fake.state.requests;
    const max = s.fake.state.maxRequestsInWindow(budget.windowMs, counted);
    const maxInTransit = s.fake.state.maxRequestsInWindow(budget.windowMs - TRANSIT_MS, counted);
    t.diagnostic(`${requests.length} requests in ${elapsed} ms; at most ${max} in any ${budget.windowMs} ms window, ${maxInTransit} in any ${budget.windowMs - TRANSIT_MS} ms`);
    assert.ok(requests.length > 2.5 * budget.limit, `enough work to need several windows (${requests.length} requests)`);
    // Both did a share of the work (the budget really was shared, not used by one alone).
    for (const w of workers) assert.match(w.output(), /"event":"hubspot_sync"/, `${w.name} pushed something`);
    assert.equal(requests.filter((r) => r.status === 429).length, 0, `HubSpot (${budget.limit + 3} per ${budget.windowMs} ms) refused nothing`);
    assert.ok(maxInTransit <= budget.limit, `at most ${budget.limit} requests in any ${budget.windowMs} ms window (less ${TRANSIT_MS} ms for transit), the fake saw ${maxInTransit}`);
    await assertExactlyOnce(s);
  });

  test('…and without Redis (a budget per process) the same two workers exceed it: the check above can fail', { timeout: 60_000 }, async (t) => {
    const s = await budgetScenario(t);
    const workers = [s.startWorker('a'), s.startWorker('b')];
    await Promise.all(workers.map(workerStarted));
    assert.ok(workers.every((w) => w.output().includes('"limiter":"memory"')));
    await waitFor('every sync row to be synced', () => allSynced(s.db), { timeoutMs: 45_000, intervalMs: 100, describe: s.describe });
    const max = s.fake.state.maxRequestsInWindow(budget.windowMs, counted);
    const maxInTransit = s.fake.state.maxRequestsInWindow(budget.windowMs - TRANSIT_MS, counted);
    const rejected = s.fake.state.requests.filter((r) => r.status === 429).length;
    t.diagnostic(`${s.fake.state.requests.length} requests; at most ${max} in a ${budget.windowMs} ms window, ${maxInTransit} in ${budget.windowMs - TRANSIT_MS} ms; ${rejected} answered 429`);
    // What fails reliably (measured: 6–12 429s, 35–37 per 2000 ms); the transit-tolerant count is
    // 31–35 here, too close to 30 to assert on.
    assert.ok(rejected > 0, 'HubSpot answered 429');
    assert.ok(max > budget.limit, `two separate budgets of ${budget.limit} overrun the shared one (the fake saw ${max} in ${budget.windowMs} ms)`);
    // Retries still get everything through exactly once.
    await assertExactlyOnce(s);
  });
});
