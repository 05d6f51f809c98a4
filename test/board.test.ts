// The pipeline board (/board) and POST /board/move, on both databases: a move is saved (stage, label,
// status through the points rules), queued for HubSpot in the same transaction, scoped to the user.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client, selectIn } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_STAGES } from '../src/leads/stages.ts';
import { startSyncHarness, type SyncHarness } from './helpers/sync.ts';

const [NEW, SENT, MEETING, , NEGOTIATION, , CLOSED] = DEFAULT_STAGES.map((s) => s.id) as [string, string, string, string, string, string, string];

for (const kind of databaseKinds()) {
  describe(`board [${kind}]`, () => {
    let t: TestApp;
    let adminId: number; let annaId: number; let borisId: number;
    let anna: Client; let boris: Client; let admin: Client;
    let seq = 0;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', DASHBOARD_CACHE_SECONDS: '0' } });
      adminId = await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin', display_name: 'Шеф' });
      annaId = await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна', admin_id: adminId });
      borisId = await seedUser(t, { username: 'boris', password: 'boris-password-1', display_name: 'Борис' });
      anna = new Client(t.app); boris = new Client(t.app); admin = new Client(t.app);
      await anna.login('anna', 'anna-password-1');
      await boris.login('boris', 'boris-password-1');
      await admin.login('chief', 'chief-password-1');
    });
    after(() => t.close());

    const insertLead = async (agentId: number, fields: Record<string, unknown> = {}) => {
      seq++;
      const row = await t.app.db.insertInto('leads').values({
        agent_id: agentId, deal_name: `Клієнт ${seq}`, phone: `+38050${String(1000000 + seq)}`, budget: 'до 200к', ...fields,
      }).returning('id').executeTakeFirstOrThrow();
      return row.id;
    };
    const lead = (id: number) => t.app.db.selectFrom('leads').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const points = async (userId: number, leadId: number) => (await t.app.db.selectFrom('points_events').select(['kind', 'points'])
      .where('user_id', '=', userId).where('lead_id', '=', leadId).orderBy('id').execute());
    const syncItem = (id: number) => t.app.db.selectFrom('sync_items').selectAll().where('entity_type', '=', 'lead').where('entity_id', '=', id).executeTakeFirst();
    const cardsIn = (html: string, stageId: string) => {
      const start = html.indexOf(`data-stage-id="${stageId}"`);
      assert.ok(start > 0, `column ${stageId} shown`);
      const end = html.indexOf('<section', start);
      return [...html.slice(start, end < 0 ? undefined : end).matchAll(/data-lead-id="(\d+)"/g)].map((m) => Number(m[1]));
    };

    test('columns are the stages; a lead without a stage id sits in the first stage of its status; agents see only their own', async () => {
      const fresh = await insertLead(annaId, { deal_name: 'Свіжа Заявка' });
      const qualified = await insertLead(annaId, { status: 'qualified' });
      const negotiating = await insertLead(annaId, { status: 'qualified', hubspot_stage_id: NEGOTIATION, hubspot_stage_label: 'Переговоры' });
      const borisLead = await insertLead(borisId, { deal_name: 'Чужий Клієнт' });
      const page = await anna.get('/board');
      assert.equal(page.statusCode, 200);
      for (const s of DEFAULT_STAGES) assert.match(page.body, new RegExp(`data-stage-id="${s.id}"`));
      assert.ok(cardsIn(page.body, NEW).includes(fresh));
      assert.ok(cardsIn(page.body, MEETING).includes(qualified), 'the first qualified stage');
      assert.ok(cardsIn(page.body, NEGOTIATION).includes(negotiating));
      assert.ok(!cardsIn(page.body, MEETING).includes(negotiating));
      assert.doesNotMatch(page.body, /Чужий Клієнт/);
      assert.ok(page.body.includes('<script src="/static/board.js" defer>'), page.body.slice(page.body.indexOf("board-status"), page.body.indexOf("board-status") + 300));
      assert.match(page.body, /draggable="true"/);
      assert.match(page.body, /<select id="move-\d+" name="stage_id"/);
      const adminPage = await admin.get('/board');
      assert.ok(cardsIn(adminPage.body, NEW).includes(borisLead), 'admins see every lead');
      assert.match(adminPage.body, /id="bflt-agent"/);
      assert.doesNotMatch((await anna.get('/board')).body, /id="bflt-agent"/, 'no agent filter for agents');
      assert.match(adminPage.body, /href="\/board" class="nav-link/, 'the sidebar links to the board');
    });

    test('the form moves a lead: stage, label and status saved, one sync item queued, redirect back to the board', async () => {
      const id = await insertLead(annaId);
      await anna.get('/board?q=%D0%9A%D0%BB%D1%96%D1%94%D0%BD%D1%82');
      const res = await anna.post('/board/move', { lead_id: String(id), stage_id: SENT, next: '/board?q=Клієнт' });
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      assert.equal(res.headers.location, `/board?q=${encodeURIComponent('Клієнт')}#card-${id}`);
      const saved = await lead(id);
      assert.equal(saved.hubspot_stage_id, SENT);
      assert.equal(saved.hubspot_stage_label, DEFAULT_STAGES[1]!.label);
      assert.equal(saved.status, 'contacted');
      const item = await syncItem(id);
      assert.equal(item?.status, 'pending');
      const audit = await t.app.db.selectFrom('audit_log').select(['action']).where('entity_type', '=', 'lead').where('entity_id', '=', String(id)).execute();
      assert.ok(audit.some((a) => a.action === 'lead.stage'), 'the move is audited');
      const page = await anna.get(`/board`);
      assert.ok(cardsIn(page.body, SENT).includes(id));
      assert.match(page.body, /data-flash="success"/);
      // Off-site "next" is ignored.
      const evil = await anna.post('/board/move', { lead_id: String(id), stage_id: MEETING, next: '//evil.example/board' });
      assert.equal(evil.headers.location, `/board#card-${id}`);
    });

    test('JSON moves: closing awards the deal points once, moving out reverses them; every move queues a sync', async () => {
      const id = await insertLead(annaId, { status: 'qualified', hubspot_stage_id: MEETING, hubspot_stage_label: 'x' });
      await anna.get('/board');
      const close = await anna.json('POST', '/board/move', { lead_id: id, stage_id: CLOSED });
      assert.equal(close.statusCode, 200, close.body);
      assert.deepEqual(close.json().lead, { id, status: 'closed', stage_id: CLOSED, stage_label: 'Сделка закрыта' });
      assert.equal(close.json().awarded, true);
      assert.deepEqual(await points(annaId, id), [{ kind: 'deal_closed', points: 1000 }]);
      const closed = await lead(id);
      assert.equal(closed.status, 'closed');
      assert.ok(closed.closed_at);
      const v1 = (await syncItem(id))!.version;
      const again = await anna.json('POST', '/board/move', { lead_id: id, stage_id: CLOSED });
      assert.equal(again.statusCode, 200);
      assert.equal(again.json().changed, false);
      assert.equal((await points(annaId, id)).length, 1, 'the same stage again pays nothing');
      const reopen = await anna.json('POST', '/board/move', { lead_id: id, stage_id: NEGOTIATION });
      assert.equal(reopen.statusCode, 200);
      const reopened = await lead(id);
      assert.equal(reopened.status, 'qualified');
      assert.equal(reopened.hubspot_stage_id, NEGOTIATION);
      assert.equal(reopened.closed_at, null);
      const ledger = await points(annaId, id);
      assert.equal(ledger.reduce((a, e) => a + e.points, 0), 0, 'moving out of the closed stage reverses the points');
      const item = await syncItem(id);
      assert.ok(item!.version > v1, 'the change is queued again');
      assert.equal(item!.status, 'pending');
      await anna.json('POST', '/board/move', { lead_id: id, stage_id: CLOSED });
      assert.equal((await points(annaId, id)).reduce((a, e) => a + e.points, 0), 1000, 'closing again pays again (once)');
    });

    test("another agent's lead is 404; a bad stage is 400 with a field message; nothing changes", async () => {
      const id = await insertLead(annaId);
      await boris.get('/board');
      const other = await boris.json('POST', '/board/move', { lead_id: id, stage_id: SENT });
      assert.equal(other.statusCode, 404);
      assert.equal((await boris.post('/board/move', { lead_id: String(id), stage_id: SENT })).statusCode, 404);
      assert.equal((await boris.json('POST', '/board/move', { lead_id: 99999999999, stage_id: SENT })).statusCode, 400);
      await anna.get('/board');
      const bad = await anna.json('POST', '/board/move', { lead_id: id, stage_id: '999' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().fields.stage_id, 'Оберіть етап воронки зі списку');
      const missing = await anna.json('POST', '/board/move', { lead_id: id });
      assert.equal(missing.statusCode, 400);
      assert.ok(missing.json().fields.stage_id);
      const form = await anna.post('/board/move', { lead_id: String(id), stage_id: 'nope', next: '/board' });
      assert.equal(form.statusCode, 400);
      assert.match(form.body, /data-testid="board-error"[^>]*>Оберіть етап воронки зі списку/);
      const unchanged = await lead(id);
      assert.equal(unchanged.status, 'new');
      assert.equal(unchanged.hubspot_stage_id, null);
      assert.equal(await syncItem(id), undefined, 'nothing queued');
      // "Moving" a lead to the column it already sits in (the first stage of its status) changes nothing.
      const same = await anna.json('POST', '/board/move', { lead_id: id, stage_id: NEW });
      assert.equal(same.statusCode, 200);
      assert.equal(same.json().changed, false);
      assert.equal((await lead(id)).hubspot_stage_id, null);
      assert.equal(await syncItem(id), undefined, 'still nothing queued');
    });

    test('CSRF: a move without the token is refused with 403', async () => {
      const id = await insertLead(annaId);
      await anna.get('/board');
      assert.equal((await anna.post('/board/move', { lead_id: String(id), stage_id: SENT }, { csrf: false })).statusCode, 403);
      assert.equal((await anna.json('POST', '/board/move', { lead_id: id, stage_id: SENT }, { csrf: false })).statusCode, 403);
      assert.equal((await anna.post('/board/move', { lead_id: String(id), stage_id: SENT, _csrf: 'forged' })).statusCode, 403);
      assert.equal((await lead(id)).status, 'new');
      const anon = new Client(t.app);
      assert.equal((await anon.post('/board/move', { lead_id: String(id), stage_id: SENT }, { csrf: false })).statusCode, 403);
      assert.equal((await anon.post('/board/move', { lead_id: String(id), stage_id: SENT })).statusCode, 401, 'a valid token but no session');
      const page = await anon.get('/board');
      assert.equal(page.statusCode, 302, 'anonymous users are sent to the login');
    });

    test('filters as on the dashboard: search, source, country, agent (admins only), dates', async () => {
      const a = await insertLead(annaId, { deal_name: 'Фільтр Дубай', source: 'сайт', country: 'Дубай' });
      const b = await insertLead(annaId, { deal_name: 'Фільтр Балі', source: 'агент', country: 'Балі' });
      const c = await insertLead(borisId, { deal_name: 'Фільтр Бориса', source: 'сайт', country: 'Дубай' });
      const ids = (html: string) => new Set([...html.matchAll(/data-lead-id="(\d+)"/g)].map((m) => Number(m[1])));
      let got = ids((await anna.get('/board?q=Фільтр')).body);
      assert.ok(got.has(a) && got.has(b) && !got.has(c));
      got = ids((await anna.get(`/board?q=Фільтр&source=${encodeURIComponent('сайт')}`)).body);
      assert.ok(got.has(a) && !got.has(b));
      got = ids((await anna.get(`/board?q=Фільтр&country=${encodeURIComponent('Балі')}`)).body);
      assert.ok(!got.has(a) && got.has(b));
      got = ids((await anna.get(`/board?q=Фільтр&agent=${borisId}`)).body);
      assert.ok(!got.has(c), 'an agent cannot see another agent by filtering');
      const chosen = await admin.get(`/board?q=Фільтр&agent=${borisId}`);
      got = ids(chosen.body);
      assert.ok(got.has(c) && !got.has(a));
      // The board's agent filter, as the dashboard's: all, my brokers and the chosen agent; the rest from agents.json.
      const agentSelect = selectIn(chosen.body, 'bflt-agent');
      assert.match(agentSelect.tag, /data-options="\/dashboard\/agents\.json"/);
      assert.deepEqual(agentSelect.options.map((o) => [o.value, o.selected ? ' selected' : '', o.label]),
        [['', '', 'Усі агенти'], ['mine', '', 'Мої брокери'], [String(borisId), ' selected', 'Борис']]);
      assert.equal(selectIn((await admin.get('/board')).body, 'bflt-agent').options.length, 2, 'no agent listed without one chosen');
      got = ids((await admin.get('/board?q=Фільтр&agent=mine')).body);
      assert.ok(got.has(a) && !got.has(c), "anna is chief's broker");
      got = ids((await anna.get('/board?q=Фільтр&from=2000-01-01&to=2000-01-31')).body);
      assert.equal(got.size, 0);
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Kyiv' }).format(new Date());
      got = ids((await anna.get(`/board?q=Фільтр&from=${today}&to=${today}`)).body);
      assert.ok(got.has(a) && got.has(b));
      assert.equal((await anna.get('/board?from=garbage&agent=x&stage=<script>')).statusCode, 200);
    });

    test('columns are capped, with a "+N more" link to the dashboard filtered by stage', async () => {
      for (let i = 0; i < 53; i++) await insertLead(borisId, { deal_name: `Пачка ${i}`, status: 'contacted', hubspot_stage_id: SENT, hubspot_stage_label: 'x' });
      const page = await boris.get('/board?q=Пачка');
      assert.equal(cardsIn(page.body, SENT).length, 50);
      assert.ok(page.body.includes(`href="/dashboard?q=${encodeURIComponent("Пачка")}&amp;sort=updated_at&amp;stage=${SENT}" data-testid="board-more">+3 ще<`), "+3 more link");
      assert.match(page.body, /data-testid="board-col-count"[^>]*>53</);
      const dash = await boris.get(`/dashboard?stage=${SENT}&q=${encodeURIComponent('Пачка')}`);
      assert.match(dash.body, /data-testid="card-total">53</);
    });
  });

  describe(`board and the HubSpot sync [${kind}]`, () => {
    let h: SyncHarness;
    let agent: Client;
    let agentId: number;
    const dir = mkdtempSync(path.join(tmpdir(), 'propart-board-stages-'));
    // A shorter map of the portal's pipeline, with its own labels: the board follows the configured map, like the sync.
    const STAGES = [
      { id: '3204738258', label: 'Вхідні', status: 'new' },
      { id: '3204738262', label: 'У роботі', status: 'qualified' },
      { id: '3204738266', label: 'Думає', status: 'qualified' },
      { id: '3204738267', label: 'Виграно', status: 'closed' },
    ];
    before(async () => {
      const file = path.join(dir, 'stages.json');
      writeFileSync(file, JSON.stringify(STAGES));
      h = await startSyncHarness(kind, { env: { HUBSPOT_STAGE_MAP_FILE: file } });
      agentId = await seedUser(h.t, { username: 'sync_agent', password: 'sync-agent-pass', email: 'sales1@propart.example' });
      agent = new Client(h.t.app);
      await agent.login('sync_agent', 'sync-agent-pass');
    });
    after(async () => {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the columns are the configured stages; a move is pushed to HubSpot as that stage', async () => {
      const { id } = await h.t.app.db.insertInto('leads').values({ agent_id: agentId, deal_name: 'Угода Дошки', phone: '+380509990001', budget: 'до 200к', status: 'contacted' })
        .returning('id').executeTakeFirstOrThrow();
      const page = await agent.get('/board');
      for (const st of STAGES) assert.ok(page.body.includes(`data-stage-id="${st.id}"`), st.id);
      assert.ok(!page.body.includes(`data-stage-id="${SENT}"`), 'not the default map');
      assert.ok(page.body.includes('>Думає</h2>'), 'the configured labels');
      const firstColumn = page.body.slice(page.body.indexOf('data-stage-id="3204738258"'), page.body.indexOf('data-stage-id="3204738262"'));
      assert.ok(firstColumn.includes(`data-lead-id="${id}"`), 'a status without a stage of its own sits in the first column');

      const res = await agent.json('POST', '/board/move', { lead_id: id, stage_id: '3204738266' });
      assert.equal(res.statusCode, 200, res.body);
      const drained = await h.engine.drain();
      const why = await h.t.app.db.selectFrom('sync_items').select(['status', 'last_error']).where('entity_id', '=', id).execute();
      assert.equal(drained.failed, 0, JSON.stringify({ drained, why }));
      const deals = () => h.hs.state.live('deals').filter((d) => d.properties.propart_lead_id === String(id));
      assert.equal(deals().length, 1);
      assert.equal(deals()[0]!.properties.dealstage, '3204738266', 'the chosen stage, not just the first of its status');
      let row = await h.t.app.db.selectFrom('leads').select(['status', 'hubspot_stage_id', 'hubspot_stage_label']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual(row, { status: 'qualified', hubspot_stage_id: '3204738266', hubspot_stage_label: 'Думає' });

      await agent.json('POST', '/board/move', { lead_id: id, stage_id: '3204738267' });
      await h.engine.drain();
      assert.equal(deals()[0]!.properties.dealstage, '3204738267');
      row = await h.t.app.db.selectFrom('leads').select(['status', 'hubspot_stage_id', 'hubspot_stage_label']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual(row, { status: 'closed', hubspot_stage_id: '3204738267', hubspot_stage_label: 'Виграно' });
      const item = await h.t.app.db.selectFrom('sync_items').select('status').where('entity_type', '=', 'lead').where('entity_id', '=', id).executeTakeFirstOrThrow();
      assert.equal(item.status, 'synced');
      assert.equal((await agent.json('POST', '/board/move', { lead_id: id, stage_id: SENT })).statusCode, 400, 'a default stage is not in this map');
    });
  });
}
