// Outbox rounds (src/hubspot/push.server.ts, outbox.server.ts): a round claims up to SYNC_ROUND_SIZE items
// and pushes them in HubSpot batches of HUBSPOT_BATCH_SIZE, at most SYNC_CONCURRENCY calls in flight; a
// failed batch fails only its items; the round's lease is renewed while it runs, and a round whose lease
// cannot be confirmed stops sending. Against the fake HubSpot, on PGlite (and PostgreSQL with TEST_DATABASE_URL).
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import pino from 'pino';
import type { Database } from '../src/db/schema.ts';
import { loadStages, startSyncEngine } from '../src/hubspot/engine.ts';
import { claimDue, completeItems, holdClaims, LeaseLost, retryItems } from '../src/hubspot/outbox.server.ts';
import { pushOnce, type PushOptions } from '../src/hubspot/push.server.ts';
import type { RequestLogEntry } from './fake-hubspot/server.ts';
import { databaseKinds } from './helpers/database.ts';
import { waitFor } from './helpers/processes.ts';
import { silentLog, startSyncHarness, type SyncHarness } from './helpers/sync.ts';

type Db = Kysely<Database>;

/** An agent, `leads` leads (each its own email, but one shared by the leads listed in `sameEmail`), a comment on each of the first `comments`, all queued. */
async function seed(db: Db, n: { leads: number; comments?: number; sameEmail?: number[] }): Promise<{ leads: number[]; comments: number[] }> {
  const agent = await db.insertInto('users').values({
    username: 'rounds_agent', email: 'rounds.agent@propart.example', display_name: 'Агент Раунд', password_hash: 'x', role: 'agent',
  }).returning('id').executeTakeFirstOrThrow();
  const leads = await db.insertInto('leads').values(Array.from({ length: n.leads }, (_, i) => ({
    agent_id: agent.id, created_by: agent.id, deal_name: `Клієнт Раунд ${i}`, phone: `+38067${String(1_000_000 + i)}`, budget: '500к–1млн',
    email: n.sameEmail?.includes(i) ? 'shared.client@example.com' : `rounds.client${i}@example.com`,
  }))).returning('id').execute();
  const comments = n.comments ? await db.insertInto('comments').values(leads.slice(0, n.comments).map((l) => ({
    lead_id: l.id, author_id: agent.id, body: `Коментар ${l.id}`,
  }))).returning('id').execute() : [];
  await db.insertInto('sync_items').values([
    ...leads.map((l) => ({ entity_type: 'lead' as const, entity_id: l.id, op: 'upsert' as const })),
    ...comments.map((c) => ({ entity_type: 'comment' as const, entity_id: c.id, op: 'upsert' as const })),
  ]).execute();
  return { leads: leads.map((l) => l.id), comments: comments.map((c) => c.id) };
}

async function harness(t: TestContext, kind: Parameters<typeof startSyncHarness>[0], env: Record<string, string> = {}): Promise<SyncHarness> {
  const h = await startSyncHarness(kind, { env });
  t.after(() => h.close());
  await h.engine.drain(); // nothing queued yet: creates our unique properties, as the engine does before its first round
  return h;
}

const inputsOf = (r: RequestLogEntry) => (r.body as { inputs: { id?: string; from?: { id: string } }[] }).inputs;
const calls = (h: SyncHarness, path: string) => h.hs.state.requests.filter((r) => r.method === 'POST' && r.path === path);
const statusCounts = async (db: Db, type: 'lead' | 'comment') => Object.fromEntries((await db.selectFrom('sync_items')
  .select(['status', sql<number>`count(*)::int`.as('n')]).where('entity_type', '=', type).groupBy('status').execute()).map((r) => [r.status, r.n]));
/** The most requests the fake was answering at one moment (each shortened by 5 ms: its clocks round to the millisecond). */
function maxInFlight(requests: RequestLogEntry[]): number {
  const edges = requests.flatMap((r) => [{ t: r.at, d: 1 }, { t: r.at + r.durationMs - 5, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (now += e.d));
  return max;
}
const pushOptions = (h: SyncHarness, o: Partial<PushOptions> & { workerId: string }): PushOptions => ({
  batchSize: 100, roundSize: 1000, concurrency: 1, leaseSeconds: 120, leaseMarginMs: 0, maxAttempts: 8,
  pipelineId: h.t.config.hubspot.pipelineId, stages: loadStages(null), log: silentLog, ...o,
});

for (const kind of databaseKinds()) {
  describe(`HubSpot sync rounds [${kind}]`, () => {
    test('one round of 250 leads and 250 comments: batch calls of ≤ 100, a contact shared by two leads upserted once, associations in one call per kind', async (t) => {
      const h = await harness(t, kind);
      const { leads } = await seed(h.t.app.db, { leads: 250, comments: 250, sameEmail: [3, 203] });
      const r = await h.engine.drain();
      assert.deepEqual([r.claimed, r.synced, r.failed], [500, 500, 0], 'one round took all 500 (the default round is 1000)');

      const contactCalls = calls(h, '/crm/v3/objects/contacts/batch/upsert');
      const contactKeys = contactCalls.flatMap(inputsOf).map((i) => i.id);
      assert.ok(contactCalls.every((c) => inputsOf(c).length <= 100), 'contact batches of ≤ 100');
      assert.equal(contactKeys.length, 249, 'each contact once in the round');
      assert.equal(contactKeys.filter((k) => k === 'shared.client@example.com').length, 1, 'the contact shared by leads in different batches, once');
      for (const [path, n] of [['/crm/v3/objects/deals/batch/upsert', 250], ['/crm/v3/objects/notes/batch/upsert', 250]] as const) {
        assert.deepEqual(calls(h, path).map((c) => inputsOf(c).length).sort((a, b) => b - a), [100, 100, 50], `${path}: ${n} in batches of 100`);
      }
      for (const path of ['/crm/v4/associations/deals/contacts/batch/create', '/crm/v4/associations/notes/deals/batch/create']) {
        assert.deepEqual(calls(h, path).map((c) => inputsOf(c).length), [250], `${path}: the whole round in one call`);
      }
      assert.equal(h.hs.state.live('deals').length, 250);
      assert.equal(h.hs.state.live('contacts').length, 249);
      assert.equal(h.hs.state.live('notes').length, 250);
      const shared = await h.t.app.db.selectFrom('leads').select('hubspot_contact_id').where('id', 'in', [leads[3]!, leads[203]!]).execute();
      assert.equal(new Set(shared.map((s) => s.hubspot_contact_id)).size, 1, 'both leads point to the one contact');
      assert.deepEqual(await statusCounts(h.t.app.db, 'lead'), { synced: 250 });
      assert.deepEqual(await statusCounts(h.t.app.db, 'comment'), { synced: 250 });
    });

    test('a batch HubSpot refuses fails its own items only; the rest of the round is synced, and the failed ones follow', async (t) => {
      const h = await harness(t, kind);
      await seed(h.t.app.db, { leads: 300, comments: 300 });
      h.hs.faults.add({ action: 'status', status: 400, path: 'deals/batch/upsert', times: 1 });
      h.hs.faults.add({ action: 'status', status: 400, path: 'notes/batch/upsert', times: 1 });
      await h.engine.drain();
      const db = h.t.app.db;
      const items = await db.selectFrom('sync_items').selectAll().execute();
      const leadItems = items.filter((i) => i.entity_type === 'lead');
      const failedLeads = leadItems.filter((i) => i.status === 'pending');
      assert.equal(failedLeads.length, 100, 'one deals batch of 100 failed');
      assert.ok(failedLeads.every((i) => i.attempts === 1 && /400/.test(i.last_error ?? '') && i.claimed_by === null));
      assert.equal(leadItems.filter((i) => i.status === 'synced').length, 200, 'the other two batches of the round are synced');
      assert.equal(h.hs.state.live('deals').length, 200);
      // Comments: those on the failed leads wait for their deal (no attempt counted), one notes batch failed, the rest synced.
      const failedLeadIds = new Set(failedLeads.map((i) => i.entity_id));
      const commentLead = new Map((await db.selectFrom('comments').select(['id', 'lead_id']).execute()).map((c) => [c.id, c.lead_id]));
      const commentItems = items.filter((i) => i.entity_type === 'comment');
      const waiting = commentItems.filter((i) => failedLeadIds.has(commentLead.get(i.entity_id)!));
      assert.ok(waiting.every((i) => i.status === 'pending' && i.attempts === 0), 'comments on failed leads wait without an attempt');
      const refused = commentItems.filter((i) => i.attempts === 1);
      assert.ok(refused.length > 0 && refused.length <= 100 && refused.every((i) => i.status === 'pending'), `one notes batch failed (${refused.length})`);
      assert.equal(commentItems.filter((i) => i.status === 'synced').length, 300 - waiting.length - refused.length);
      assert.equal(h.hs.state.live('notes').length, 300 - waiting.length - refused.length);

      // Once due again, the failed items go through; nothing is duplicated.
      for (let i = 0; i < 3; i++) {
        await db.updateTable('sync_items').set({ next_attempt_at: new Date() }).where('status', '=', 'pending').execute();
        await h.engine.drain();
      }
      assert.deepEqual(await statusCounts(db, 'lead'), { synced: 300 });
      assert.deepEqual(await statusCounts(db, 'comment'), { synced: 300 });
      assert.equal(h.hs.state.live('deals').length, 300);
      assert.equal(h.hs.state.live('notes').length, 300);
    });

    if (kind === 'pglite') {
      for (const concurrency of [1, 3]) {
        test(`SYNC_CONCURRENCY=${concurrency}: at most ${concurrency} HubSpot call(s) of a round in flight, and that many used`, async (t) => {
          const h = await harness(t, kind, { SYNC_CONCURRENCY: String(concurrency) });
          await seed(h.t.app.db, { leads: 500 });
          h.hs.faults.latency(100);
          await h.engine.drain();
          const upserts = h.hs.state.requests.filter((r) => /\/batch\/(upsert|create)$/.test(r.path));
          assert.equal(upserts.length, 5 + 5 + 1, 'five contact batches, five deal batches, one association call');
          assert.equal(maxInFlight(upserts), concurrency);
          assert.equal(h.hs.state.live('deals').length, 500);
        });
      }
    }

    test('a round slower than its lease keeps its items: the lease is renewed while it runs, no other worker can claim them', async (t) => {
      const h = await harness(t, kind);
      const db = h.t.app.db;
      await seed(h.t.app.db, { leads: 200 });
      h.hs.faults.latency(300);
      // A 1 s lease, renewed every 250 ms; the round takes about 9 calls × 300 ms.
      const opts = pushOptions(h, { workerId: 'slow-round', batchSize: 50, leaseSeconds: 1 });
      const started = Date.now();
      let running = true;
      const round = pushOnce(db, h.engine.gateway, opts).finally(() => { running = false; });
      const stolen: number[] = [];
      let checks = 0;
      while (running) {
        await new Promise((r) => setTimeout(r, 100));
        if (!running) break;
        stolen.push(...(await claimDue(db, 'other-worker', 1000, 60)).map((i) => i.id));
        checks++;
      }
      const r = await round;
      const tookMs = Date.now() - started;
      t.diagnostic(`round of ${r.claimed} took ${tookMs} ms; ${checks} claim attempts by another worker`);
      assert.ok(tookMs > 2000, `the round outlasted its 1 s lease (${tookMs} ms)`);
      assert.deepEqual(stolen, [], 'another worker never got an item of the round');
      assert.deepEqual([r.claimed, r.synced, r.failed], [200, 200, 0]);
      assert.deepEqual(await statusCounts(db, 'lead'), { synced: 200 });
      assert.equal(h.hs.state.live('deals').length, 200);
    });

    test('a round whose lease cannot be confirmed sends nothing more, counts no attempt, and its items come back when the lease ends', async (t) => {
      const h = await harness(t, kind);
      const db = h.t.app.db;
      await seed(db, { leads: 50 });
      const lines: { event?: string; level: number }[] = [];
      const log = pino({ level: 'warn' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
      // A margin longer than the lease: from the start less than the margin is left.
      const before = h.hs.state.requests.length;
      const r = await pushOnce(db, h.engine.gateway, pushOptions(h, { workerId: 'unsure', leaseSeconds: 2, leaseMarginMs: 5000, log }));
      assert.equal(r.claimed, 50);
      assert.equal(h.hs.state.requests.length - before, 0, 'no HubSpot call was sent');
      const items = await db.selectFrom('sync_items').selectAll().execute();
      assert.ok(items.every((i) => i.status === 'pending' && i.attempts === 0 && i.last_error === null), 'no attempt, no error recorded');
      assert.ok(items.every((i) => i.claimed_by === 'unsure'), 'left claimed: they come back when the lease ends');
      assert.deepEqual(await claimDue(db, 'other-worker', 1000, 60), [], 'not before');
      assert.ok(lines.some((l) => l.event === 'hubspot_lease_lost' && l.level === 40), 'the log says so at WARNING');
      await db.updateTable('sync_items').set({ claimed_until: sql`now() - interval '1 second'` }).execute();
      await h.engine.drain();
      assert.deepEqual(await statusCounts(db, 'lead'), { synced: 50 });
      assert.equal(h.hs.state.live('deals').length, 50);
    });

    test('stopping: a round held up by an outage goes on for the grace period only, then sends nothing more; its items come back and reach HubSpot once', async (t) => {
      // Retries that would go on for a long time: without the grace cut, stop() would wait for all of them.
      const h = await harness(t, kind, { HUBSPOT_REQUEST_ATTEMPTS: '1000', HUBSPOT_BACKOFF_BASE_MS: '20', HUBSPOT_BACKOFF_CAP_MS: '50' });
      const db = h.t.app.db;
      const lines: { event?: string; level: number }[] = [];
      const log = pino({ level: 'warn' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
      const engine = startSyncEngine({ db, config: h.t.config, log, loop: true });
      t.after(() => engine.stop(0));
      await waitFor('the engine to be ready (its properties checked)', () => h.hs.state.requests.filter((r) => r.path.startsWith('/crm/v3/properties/')).length >= 6, { timeoutMs: 10_000, intervalMs: 20 });
      await h.hs.faults.outage({ durationMs: 600_000 });
      await seed(db, { leads: 30 });
      await waitFor('the round to be retrying in the outage', () => h.hs.state.requests.filter((r) => r.path === '/crm/v3/objects/contacts/batch/upsert' && r.status === 503).length >= 3, { timeoutMs: 15_000, intervalMs: 20 });

      const stopAt = Date.now();
      await engine.stop(300);
      const took = Date.now() - stopAt;
      assert.ok(took < 3000, `stop() returned ${took} ms after it was called (grace 300 ms)`);
      const sentBy = h.hs.state.requests.length;
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(h.hs.state.requests.length, sentBy, 'nothing is sent once stopped');
      const items = await db.selectFrom('sync_items').selectAll().execute();
      assert.ok(items.every((i) => i.status === 'pending' && i.attempts === 0 && i.claimed_by !== null), 'no attempt counted; left claimed until the lease ends (a call may have been on its way)');
      assert.ok(lines.some((l) => l.event === 'hubspot_round_stopped' && l.level === 40), 'the log says why at WARNING');

      await h.hs.faults.endOutage();
      await db.updateTable('sync_items').set({ claimed_until: sql`now() - interval '1 second'` }).execute();
      await h.engine.drain();
      assert.deepEqual(await statusCounts(db, 'lead'), { synced: 30 });
      assert.equal(h.hs.state.live('deals').length, 30, 'each lead once');
    });

    test('holdClaims: renewals keep the lease; when they fail, the signal aborts before the lease ends', async (t) => {
      const h = await harness(t, kind);
      const db = h.t.app.db;
      await seed(db, { leads: 3 });
      let broken = false;
      // The database as the worker sees it, unreachable on demand.
      const flaky = db.withPlugin({
        transformQuery: (a) => { if (broken) throw new Error('database unreachable'); return a.node; },
        transformResult: async (a) => a.result,
      });
      const claimedAt = Date.now();
      const ids = (await claimDue(db, 'holder', 10, 1)).map((i) => i.id);
      const hold = holdClaims(flaky, 'holder', ids, { leaseSeconds: 1, marginMs: 300, claimedAt });
      t.after(() => hold.release());
      await new Promise((r) => setTimeout(r, 2200));
      assert.equal(hold.signal.aborted, false, 'renewed: still held after twice the lease');
      assert.deepEqual(await claimDue(db, 'other-worker', 10, 60), []);
      broken = true;
      const brokeAt = Date.now();
      await new Promise<void>((resolve) => hold.signal.addEventListener('abort', () => resolve(), { once: true }));
      const abortedAfter = Date.now() - brokeAt;
      assert.ok(hold.signal.reason instanceof LeaseLost);
      assert.ok(abortedAfter < 1000 - 300 + 100, `aborted ${abortedAfter} ms after the last renewal could have been, at least the margin before the lease ends`);
      hold.release();
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await claimDue(db, 'other-worker', 10, 60)).length, 3, 'after the lease, another worker gets them');
    });

    test('outcomes touch only rows the worker still holds; an admin retry keeps a live claim and clears an expired one', async (t) => {
      const h = await harness(t, kind);
      const db = h.t.app.db;
      await seed(db, { leads: 2 });
      const [a, b] = await claimDue(db, 'first', 10, 60);
      // The first worker's lease ended and a second one claimed the item: the first may not complete it.
      await db.updateTable('sync_items').set({ claimed_by: 'second' }).where('id', '=', a!.id).execute();
      await completeItems(db, 'first', [a!, b!]);
      const rows = new Map((await db.selectFrom('sync_items').selectAll().execute()).map((r) => [r.id, r]));
      assert.equal(rows.get(a!.id)!.status, 'pending');
      assert.equal(rows.get(a!.id)!.claimed_by, 'second');
      assert.equal(rows.get(b!.id)!.status, 'synced');

      await retryItems(db, [a!.id]);
      const live = await db.selectFrom('sync_items').selectAll().where('id', '=', a!.id).executeTakeFirstOrThrow();
      assert.ok(live.claimed_until && live.claimed_until > new Date(), 'a round in flight keeps its lease');
      assert.deepEqual(await claimDue(db, 'third', 10, 60), [], 'so no second round can take it');
      await db.updateTable('sync_items').set({ claimed_until: sql`now() - interval '1 second'` }).where('id', '=', a!.id).execute();
      await retryItems(db, [a!.id]);
      assert.equal((await db.selectFrom('sync_items').select('claimed_until').where('id', '=', a!.id).executeTakeFirstOrThrow()).claimed_until, null);
    });
  });
}
