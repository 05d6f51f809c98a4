import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedUser } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';
import { startSyncHarness, type SyncHarness } from './helpers/sync.ts';

const lead = (i: number, extra: Record<string, string> = {}) => ({ deal_name: `Клієнт Синк ${i}`, phone: `+3805012${String(10000 + i)}`, budget: '500к–1млн', email: `client${i}@example.com`, ...extra });

for (const kind of databaseKinds()) {
  describe(`HubSpot sync [${kind}]`, () => {
    let h: SyncHarness;
    let agent: Client;
    let admin: Client;
    let agentId: number;
    before(async () => {
      h = await startSyncHarness(kind);
      agentId = await seedUser(h.t, { username: 'sync_agent', password: 'sync-agent-pass', email: 'sales1@propart.example', display_name: 'Андрій' });
      await seedUser(h.t, { username: 'sync_admin', password: 'sync-admin-pass', role: 'admin' });
      agent = new Client(h.t.app); admin = new Client(h.t.app);
      await agent.login('sync_agent', 'sync-agent-pass');
      await admin.login('sync_admin', 'sync-admin-pass');
    });
    after(() => h.close());

    const create = async (fields: Record<string, string>) => {
      await agent.get('/leads/new');
      const res = await agent.post('/leads', fields);
      assert.equal(res.statusCode, 303, res.body.slice(0, 200));
      return Number(/\/leads\/(\d+)/.exec(String(res.headers.location))![1]);
    };
    const dealsFor = (leadId: number) => h.hs.state.live('deals').filter((d) => d.properties.propart_lead_id === String(leadId));
    const edges = (fromType: string, fromId: string, toType: string) => [...h.hs.state.associations.values()].filter((e) => e.fromType === fromType && e.fromId === fromId && e.toType === toType);

    test('a new lead and its comment reach HubSpot once: contact by email, deal in the pipeline, associations by id, note on the deal', async () => {
      const id = await create(lead(1, { country: 'Дубай', source: 'сайт' }));
      const before = await agent.get(`/leads/${id}`);
      assert.match(before.body, /data-sync-status="pending"/);
      await agent.post(`/leads/${id}/comments`, { body: 'Клієнт хоче віллу з видом на море' });
      const r = await h.engine.drain();
      assert.ok(r.synced >= 2);
      const deals = dealsFor(id);
      assert.equal(deals.length, 1);
      const deal = deals[0]!;
      assert.equal(deal.properties.pipeline, '2341107958');
      assert.equal(deal.properties.dealstage, '3204738258');
      assert.equal(deal.properties.dealname, 'Клієнт Синк 1');
      assert.equal(deal.properties.amount, '750000');
      assert.equal(deal.properties.purchase_country, 'Дубай');
      assert.equal(deal.properties.hubspot_owner_id ?? null, null, 'owner unknown until owners are loaded');
      const contacts = h.hs.state.live('contacts').filter((c) => c.properties.email === 'client1@example.com');
      assert.equal(contacts.length, 1);
      assert.deepEqual(edges('deals', deal.id, 'contacts').map((e) => e.toId), [contacts[0]!.id]);
      const row = await h.t.app.db.selectFrom('leads').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.hubspot_deal_id, deal.id);
      assert.equal(row.hubspot_contact_id, contacts[0]!.id);
      assert.equal(row.hubspot_stage_label, 'Новая заявка');
      const notes = h.hs.state.live('notes').filter((n) => edges('notes', n.id, 'deals').some((e) => e.toId === deal.id));
      assert.equal(notes.length, 1);
      assert.match(String(notes[0]!.properties.hs_note_body), /віллу з видом на море/);
      const page = await agent.get(`/leads/${id}`);
      assert.match(page.body, /data-sync-status="synced"/);
      assert.match(page.body, /data-testid="status-badge">.*Новая заявка/s);
      // Draining again changes nothing.
      const calls = h.engine.gateway.stats.calls;
      await h.engine.drain();
      assert.equal(h.engine.gateway.stats.calls, calls);
    });

    test('edits, close and delete are pushed; written-then-500 and dropped connections never duplicate', async () => {
      const id = await create(lead(2));
      h.hs.faults.commitThenFail({ status: 500, path: 'deals/batch/upsert', times: 1 });
      h.hs.faults.commitThenFail({ status: 'drop', path: 'contacts/batch/upsert', times: 1 });
      await h.engine.drain();
      assert.equal(dealsFor(id).length, 1);
      assert.equal(h.hs.state.live('contacts').filter((c) => c.properties.email === 'client2@example.com').length, 1);
      await agent.get(`/leads/${id}`);
      await agent.post(`/leads/${id}/close`);
      await h.engine.drain();
      assert.equal(dealsFor(id)[0]!.properties.dealstage, '3204738267');
      const dealId = dealsFor(id)[0]!.id;
      await admin.get(`/leads/${id}`);
      assert.equal((await admin.post(`/leads/${id}/delete`)).statusCode, 303);
      await h.engine.drain();
      assert.equal(dealsFor(id).length, 0, 'the deal is archived');
      assert.ok(h.hs.state.objects.deals.get(dealId)?.archived);
    });

    test('a 429 storm, 20 % 5xx and an outage: afterwards every lead is in HubSpot exactly once, within the limit', async () => {
      const ids: number[] = [];
      for (let i = 10; i < 40; i++) ids.push(await create(lead(i)));
      h.hs.faults.sequence(Array.from({ length: 6 }, () => ({ action: 'rate-limit' as const })));
      h.hs.faults.errorRate(0.2, { statuses: [500, 502, 503, 504] });
      await h.engine.drain();
      h.hs.faults.clear();
      h.hs.faults.outage({ durationMs: 300, mode: 'refuse' });
      for (let i = 40; i < 45; i++) ids.push(await create(lead(i)));
      await h.engine.drain().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 400));
      // Failed items wait for their backoff; an admin's retry (or time) brings them back.
      await h.t.app.db.updateTable('sync_items').set({ next_attempt_at: new Date() }).where('status', '=', 'pending').execute();
      for (let round = 0; round < 5; round++) {
        await h.engine.drain();
        const left = await h.t.app.db.selectFrom('sync_items').select('id').where('status', '!=', 'synced').execute();
        if (left.length === 0) break;
        await h.t.app.db.updateTable('sync_items').set({ next_attempt_at: new Date() }).where('status', '=', 'pending').execute();
      }
      for (const id of ids) assert.equal(dealsFor(id).length, 1, `lead ${id}`);
      const emails = h.hs.state.live('contacts').map((c) => c.properties.email).filter(Boolean);
      assert.equal(new Set(emails).size, emails.length, 'no duplicate contacts');
      assert.ok(h.hs.state.maxRequestsInWindow(10_000, (r) => r.counted) <= 90);
      // Each 429 and retry was logged at WARNING with HubSpot's correlationId.
      await h.t.log.close();
      const lines = readdirSync(h.t.logDir).flatMap((f) => readFileSync(path.join(h.t.logDir, f), 'utf8').split('\n')).filter(Boolean).map((l) => JSON.parse(l));
      const warned429 = lines.filter((l) => l.event === 'hubspot_429');
      assert.ok(warned429.length >= 1);
      assert.ok(warned429.every((l) => l.level === 'warn' && typeof l.correlationId === 'string'));
      assert.ok(lines.some((l) => l.event === 'hubspot_retry' && l.level === 'warn'));
      assert.ok(!lines.some((l) => l.level === 'error' && /429/.test(JSON.stringify(l))), 'no 429 reaches the log as an error');
    });

    test('a two-minute outage (on the fake\'s clock): nothing is lost, nothing duplicated, and it resumes by itself', async () => {
      const ids: number[] = [];
      for (let i = 70; i < 80; i++) ids.push(await create(lead(i)));
      await h.hs.faults.outage({ durationMs: 120_000, mode: '503' });
      await h.engine.drain();
      const during = await h.t.app.db.selectFrom('sync_items').select(['status', 'attempts', 'last_error']).where('entity_type', '=', 'lead').where('entity_id', 'in', ids).execute();
      assert.ok(during.every((r) => r.status === 'pending' && r.attempts >= 1 && r.last_error), 'waiting with the reason, not parked, not lost');
      for (const id of ids) assert.equal(dealsFor(id).length, 0);
      h.hs.state.clock.advance(121_000); // two minutes later
      await h.t.app.db.updateTable('sync_items').set({ next_attempt_at: new Date() }).where('status', '=', 'pending').execute();
      await h.engine.drain();
      for (const id of ids) assert.equal(dealsFor(id).length, 1, `lead ${id}`);
    });

    test('a lead HubSpot keeps refusing is parked after N attempts, shown to admins, and retried on request', async () => {
      const id = await create(lead(50));
      const rule = h.hs.faults.add({ action: 'status', status: 400, path: 'deals/batch/upsert' });
      for (let i = 0; i < 10; i++) {
        await h.engine.drain();
        await h.t.app.db.updateTable('sync_items').set({ next_attempt_at: new Date() }).where('status', '=', 'pending').execute();
      }
      const item = await h.t.app.db.selectFrom('sync_items').selectAll().where('entity_type', '=', 'lead').where('entity_id', '=', id).executeTakeFirstOrThrow();
      assert.equal(item.status, 'parked');
      assert.equal(item.attempts, h.t.config.hubspot.maxAttempts);
      const adminPage = await admin.get('/admin/sync');
      assert.equal(adminPage.statusCode, 200);
      assert.match(adminPage.body, new RegExp(`/leads/${id}`));
      const agentPage = await agent.get(`/leads/${id}`);
      assert.match(agentPage.body, /data-sync-status="parked"/);
      assert.doesNotMatch(agentPage.body, /VALIDATION|HubSpot 400/, 'agents never see HubSpot error text');
      assert.equal((await agent.get('/admin/sync')).statusCode, 403);
      h.hs.faults.remove(rule);
      await admin.get(`/leads/${id}`);
      const retry = await admin.post(`/admin/sync/${item.id}/retry`);
      assert.equal(retry.statusCode, 303);
      await h.engine.drain();
      assert.equal(dealsFor(id).length, 1);
    });

    test('inbound: a stage and owner set in HubSpot update the lead; an unknown owner lands in the unassigned list; notes become comments', async () => {
      const id = await create(lead(60));
      await h.engine.drain();
      const dealId = dealsFor(id)[0]!.id;
      const api = (method: string, p: string, body?: unknown) => fetch(`${h.hs.url}${p}`, { method, headers: { authorization: `Bearer ${h.hs.token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      const other = await seedUser(h.t, { username: 'sync_other', password: 'sync-other-pass', email: 'sales2@propart.example', display_name: 'Ірина' });
      assert.equal((await api('PATCH', `/crm/v3/objects/deals/${dealId}`, { properties: { dealstage: '3204738267', hubspot_owner_id: '41629781' } })).status, 200);
      const noteRes = await api('POST', '/crm/v3/objects/notes', {
        properties: { hs_note_body: '<p>Менеджер: клієнт <b>підписав</b> договір</p>', hs_timestamp: new Date().toISOString(), hubspot_owner_id: '41629779' },
        associations: [{ to: { id: dealId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 214 }] }],
      });
      assert.equal(noteRes.status, 201);
      const foreign = await api('POST', '/crm/v3/objects/deals', { properties: { dealname: 'Чужа угода', pipeline: '2341107958', dealstage: '3204738259', hubspot_owner_id: '41629779' } });
      assert.equal(foreign.status, 201);
      const pointsBefore = (await h.t.app.db.selectFrom('points_events').select('points').where('user_id', '=', agentId).execute()).reduce((a, r) => a + r.points, 0);
      await h.engine.pull();
      const row = await h.t.app.db.selectFrom('leads').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'closed');
      assert.equal(row.hubspot_stage_label, 'Сделка закрыта');
      assert.equal(row.agent_id, other, 'owner matched by email');
      const history = await h.t.app.db.selectFrom('audit_log').selectAll().where('entity_type', '=', 'lead').where('entity_id', '=', String(id)).where('action', '=', 'lead.hubspot_update').execute();
      assert.equal(history.length, 1, 'the change made in HubSpot is in the audit log');
      assert.match(JSON.stringify(history[0]), /3204738267/);
      const pointsAfter = (await h.t.app.db.selectFrom('points_events').select('points').where('user_id', '=', agentId).execute()).reduce((a, r) => a + r.points, 0);
      assert.equal(pointsAfter, pointsBefore + 1000, 'closing in HubSpot pays the deal points once');
      const comments = await h.t.app.db.selectFrom('comments').selectAll().where('lead_id', '=', id).execute();
      assert.equal(comments.length, 1);
      assert.equal(comments[0]!.body, 'Менеджер: клієнт підписав договір');
      const unassigned = await h.t.app.db.selectFrom('hubspot_unassigned').selectAll().execute();
      assert.ok(unassigned.some((u) => u.deal_name === 'Чужа угода' && u.owner_email === 'manager@propart.example'));
      // Pulling again (same cursor) adds nothing twice.
      await h.engine.pull();
      assert.equal((await h.t.app.db.selectFrom('comments').select('id').where('lead_id', '=', id).execute()).length, 1);
      const searches = h.hs.state.requests.filter((r) => r.path.endsWith('/search'));
      assert.ok(searches.length >= 1);
      assert.ok(!h.hs.state.requests.some((r) => r.path.includes('/crm/v3/objects/notes/search')), 'notes are read by association, never by a portal-wide search');
    });
  });
}

describe('HubSpot not configured', () => {
  test('leads stay local and say so; nothing errors', async () => {
    const { startTestApp } = await import('./helpers/app.ts');
    const t = await startTestApp('pglite');
    try {
      await seedUser(t, { username: 'local_only', password: 'local-only-pass' });
      const c = new Client(t.app);
      await c.login('local_only', 'local-only-pass');
      await c.get('/leads/new');
      const res = await c.post('/leads', lead(99));
      assert.equal(res.statusCode, 303);
      const page = await c.get(String(res.headers.location));
      assert.match(page.body, /data-sync-status="off"/);
      assert.match(page.body, /HubSpot не налаштовано/);
    } finally {
      await t.close();
    }
  });
});

describe('scheduled jobs with several workers', () => {
  test('a lease lets only one holder run the pull at a time, and frees it on release or expiry', async () => {
    const { startTestApp } = await import('./helpers/app.ts');
    const { acquireLease, releaseLease } = await import('../src/hubspot/pull.server.ts');
    const t = await startTestApp('pglite');
    try {
      const db = t.app.db;
      assert.equal(await acquireLease(db, 'pull', 'worker-a', 60), true);
      assert.equal(await acquireLease(db, 'pull', 'worker-b', 60), false, 'b must wait while a holds it');
      assert.equal(await acquireLease(db, 'pull', 'worker-a', 60), true, 'the holder may renew');
      await releaseLease(db, 'pull', 'worker-b');
      assert.equal(await acquireLease(db, 'pull', 'worker-b', 60), false, 'only the holder releases');
      await releaseLease(db, 'pull', 'worker-a');
      assert.equal(await acquireLease(db, 'pull', 'worker-b', 1), true);
      await db.updateTable('sync_state').set({ value: `${Date.now() - 1}|worker-b` }).where('key', '=', 'lease:pull').execute();
      assert.equal(await acquireLease(db, 'pull', 'worker-a', 60), true, 'an expired lease is taken over');
    } finally {
      await t.close();
    }
  });
});
