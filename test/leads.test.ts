import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KyselyPlugin } from 'kysely';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client, selectIn } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

const baseLead = { deal_name: 'Олег Коваль', phone: '+380 50 123 4567', budget: '200к–500к' };
let queries = 0;
const counter: KyselyPlugin = {
  transformQuery: (args) => { queries++; return args.node; },
  transformResult: async (args) => args.result,
};

for (const kind of databaseKinds()) {
  describe(`leads [${kind}]`, () => {
    let t: TestApp;
    let adminId: number; let annaId: number; let borisId: number;
    let anna: Client; let boris: Client; let admin: Client;
    before(async () => {
      t = await startTestApp(kind, { wrapDb: (db) => db.withPlugin(counter), env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', DASHBOARD_CACHE_SECONDS: '0' } });
      adminId = await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin', display_name: 'Шеф' });
      annaId = await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна', admin_id: adminId });
      borisId = await seedUser(t, { username: 'boris', password: 'boris-password-1', display_name: 'Борис' });
      anna = new Client(t.app); boris = new Client(t.app); admin = new Client(t.app);
      await anna.login('anna', 'anna-password-1');
      await boris.login('boris', 'boris-password-1');
      await admin.login('chief', 'chief-password-1');
    });
    after(() => t.close());

    const createAs = async (c: Client, fields: Record<string, string>) => {
      await c.get('/leads/new');
      const res = await c.post('/leads', fields);
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      return Number(/\/leads\/(\d+)/.exec(String(res.headers.location))![1]);
    };
    const ledger = async (userId: number) => (await t.app.db.selectFrom('points_events').select(['kind', 'points']).where('user_id', '=', userId).orderBy('id').execute());
    const sum = async (userId: number) => (await ledger(userId)).reduce((a, e) => a + e.points, 0);

    test('an agent creates a lead: phone stored as E.164, enums stored unchanged, +100 points, "awaiting sync" shown', async () => {
      const before = await sum(annaId);
      const id = await createAs(anna, { ...baseLead, email: 'Oleg@Example.com', country: 'Дубай', purchase_goal: 'под аренду', source: 'сайт', agent_id: String(borisId) });
      const lead = await t.app.db.selectFrom('leads').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(lead.phone, '+380501234567');
      assert.equal(lead.email, 'oleg@example.com');
      assert.equal(lead.budget, '200к–500к');
      assert.equal(lead.purchase_goal, 'под аренду');
      assert.equal(lead.agent_id, annaId, "an agent's lead is always their own");
      assert.equal(await sum(annaId), before + 100);
      const page = await anna.get(`/leads/${id}`);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Очікує синхронізації/);
      assert.match(page.body, /\+380 50 123 4567/);
      assert.match(page.body, /Під аренду/);
    });

    test('bad input re-shows the form with field messages and everything typed', async () => {
      await anna.get('/leads/new');
      const res = await anna.post('/leads', { deal_name: 'О', phone: '12', budget: 'мільйон', company: 'ТОВ Ромашка', email: 'bad@' });
      assert.equal(res.statusCode, 400);
      for (const f of ['deal_name', 'phone', 'budget', 'email']) assert.match(res.body, new RegExp(`data-field-error="${f}"`), f);
      assert.match(res.body, /value="ТОВ Ромашка"/);
      assert.match(res.body, /value="12"/);
      const json = await anna.json('POST', '/leads', { deal_name: '' });
      assert.equal(json.statusCode, 400);
    });

    test("another agent's lead answers 404 on every route; agents cannot reassign or delete", async () => {
      const id = await createAs(anna, { ...baseLead, phone: '+380671112233' });
      assert.equal((await boris.get(`/leads/${id}`)).statusCode, 404);
      assert.equal((await boris.get(`/leads/${id}/edit`)).statusCode, 404);
      for (const path of ['', '/close', '/reopen', '/transfer']) {
        assert.equal((await boris.post(`/leads/${id}${path}`, { ...baseLead, status: 'closed' })).statusCode, 404, path);
      }
      assert.equal((await anna.post(`/leads/${id}/reassign`, { agent_id: String(borisId) })).statusCode, 403);
      assert.equal((await anna.post(`/leads/${id}/delete`)).statusCode, 403);
      assert.equal((await boris.get('/leads/not-a-number')).statusCode, 404);
      assert.equal((await boris.get('/leads/99999999999')).statusCode, 404, 'an id beyond integer range is not a 500');
      const lead = await t.app.db.selectFrom('leads').select(['agent_id', 'status']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual(lead, { agent_id: annaId, status: 'new' });
    });

    test('every field is editable; closing pays once, reopening and deleting reverse the points', async () => {
      const id = await createAs(anna, { ...baseLead, phone: '+380931234567' });
      const start = await sum(annaId);
      const edit = await anna.get(`/leads/${id}/edit`);
      assert.equal(edit.statusCode, 200);
      const res = await anna.post(`/leads/${id}`, {
        deal_name: 'Олег Коваль-молодший', phone: '0931234568', budget: '1млн+', email: 'o@k.ua', second_phone: '+48 601 234 567',
        company: 'Коваль і Ко', telegram_nickname: '@koval', messenger: 'viber', birth_date: '1990-05-17', country: 'Балі',
        purchase_goal: 'для себя', property_type: 'вторичка', object_type: 'вилла', communication_language: 'английский',
        source: 'рекомендация', refusal_reason: 'риелтор', status: 'qualified', is_transferred: 'on',
      });
      assert.equal(res.statusCode, 303);
      const lead = await t.app.db.selectFrom('leads').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(lead.deal_name, 'Олег Коваль-молодший');
      assert.equal(lead.phone, '+380931234568');
      assert.equal(lead.second_phone, '+48601234567');
      assert.equal(lead.birth_date, '1990-05-17');
      assert.equal(lead.object_type, 'вилла');
      assert.equal(lead.status, 'qualified');
      assert.equal(lead.is_transferred, true);
      assert.equal(await sum(annaId), start);

      await anna.get(`/leads/${id}`);
      assert.equal((await anna.post(`/leads/${id}/close`)).statusCode, 303);
      assert.equal(await sum(annaId), start + 1000);
      assert.equal((await anna.post(`/leads/${id}/close`)).statusCode, 303);
      assert.equal(await sum(annaId), start + 1000, 'closing the same deal twice gives nothing');
      await anna.post(`/leads/${id}/reopen`);
      assert.equal(await sum(annaId), start, 'reopening reverses the deal points');
      await anna.post(`/leads/${id}/close`);
      assert.equal(await sum(annaId), start + 1000);
      await admin.get(`/leads/${id}`);
      assert.equal((await admin.post(`/leads/${id}/delete`)).statusCode, 303);
      assert.equal(await sum(annaId), start - 100, 'deleting reverses the creation and the deal points');
      assert.equal(await t.app.db.selectFrom('leads').select('id').where('id', '=', id).executeTakeFirst(), undefined);
    });

    test('an admin picks the responsible agent and reassigns; the new agent sees it, the old one no longer', async () => {
      const id = await createAs(admin, { ...baseLead, phone: '+380631112299', agent_id: String(annaId) });
      assert.equal((await t.app.db.selectFrom('leads').select('agent_id').where('id', '=', id).executeTakeFirstOrThrow()).agent_id, annaId);
      await admin.get(`/leads/${id}`);
      const res = await admin.post(`/leads/${id}/reassign`, { agent_id: String(borisId) });
      assert.equal(res.statusCode, 303);
      assert.equal((await boris.get(`/leads/${id}`)).statusCode, 200);
      assert.equal((await anna.get(`/leads/${id}`)).statusCode, 404);
      const bad = await admin.post(`/leads/${id}/reassign`, { agent_id: '999999' });
      assert.equal(bad.statusCode, 400);
    });

    test('a duplicate client: the agent learns only that it exists; both leads are flagged; admins see them side by side', async () => {
      const first = await createAs(anna, { ...baseLead, deal_name: 'Секретна Клієнтка', phone: '+380991234567', email: 'secret@client.ua' });
      await boris.get('/leads/new');
      const hint = await boris.json('POST', '/leads/check-duplicate', { phone: '099 123 45 67' });
      assert.equal(hint.statusCode, 200);
      assert.deepEqual(hint.json(), { duplicate: true });
      assert.deepEqual((await boris.json('POST', '/leads/check-duplicate', { phone: '+380991230000' })).json(), { duplicate: false });
      assert.deepEqual((await boris.json('POST', '/leads/check-duplicate', { email: 'SECRET@client.ua' })).json(), { duplicate: true });
      const res = await boris.post('/leads', { ...baseLead, deal_name: 'Та сама', phone: '0991234567' });
      assert.equal(res.statusCode, 303);
      const second = Number(/\/leads\/(\d+)/.exec(String(res.headers.location))![1]);
      const page = await boris.get(`/leads/${second}`);
      assert.match(page.body, /вже зареєстрований|Можливий дублікат/);
      assert.doesNotMatch(page.body, /Секретна Клієнтка|secret@client\.ua|Анна/);
      const flags = await t.app.db.selectFrom('leads').select(['id', 'possible_duplicate']).where('id', 'in', [first, second]).execute();
      assert.ok(flags.every((f) => f.possible_duplicate));
      const adminView = await admin.get(`/leads/${second}`);
      assert.match(adminView.body, /data-testid="duplicates"/);
      assert.match(adminView.body, /Секретна Клієнтка/);
    });

    test('dashboard: own leads only for agents, filters, search, sort, paging, constant query count', async () => {
      for (let i = 0; i < 23; i++) {
        await t.app.db.insertInto('leads').values({ agent_id: borisId, deal_name: `Клієнт ${String(i).padStart(2, '0')}`, phone: `+38050000${String(1000 + i)}`, budget: 'до 200к', source: i % 2 ? 'сайт' : 'агент', status: i < 3 ? 'closed' : 'new' }).execute();
      }
      const page1 = await boris.get('/dashboard');
      assert.equal(page1.statusCode, 200);
      const borisTotal = (await t.app.db.selectFrom('leads').select('id').where('agent_id', '=', borisId).execute()).length;
      assert.match(page1.body, new RegExp(`data-testid="card-total">${borisTotal}<`));
      assert.equal((page1.body.match(/data-lead-id=/g) ?? []).length, 20);
      assert.doesNotMatch(page1.body, /Секретна Клієнтка/);
      const page2 = await boris.get('/dashboard?page=2');
      assert.equal((page2.body.match(/data-lead-id=/g) ?? []).length, borisTotal - 20);
      const closed = await boris.get('/dashboard?status=closed');
      assert.match(closed.body, /data-testid="card-total">3</);
      const search = await boris.get('/dashboard?q=0001005');
      assert.equal((search.body.match(/data-lead-id=/g) ?? []).length, 1);
      assert.match(search.body, /Клієнт 05/);
      const sorted = await boris.get('/dashboard?sort=deal_name&order=asc');
      assert.ok(sorted.body.indexOf('Клієнт 00') < sorted.body.indexOf('Клієнт 01'));
      const agentFilterIgnored = await boris.get(`/dashboard?agent=${annaId}`);
      assert.doesNotMatch(agentFilterIgnored.body, /Секретна Клієнтка/);
      const adminAll = await admin.get(`/dashboard?agent=${annaId}`);
      assert.match(adminAll.body, /Секретна Клієнтка/);
      const mine = await admin.get('/dashboard?agent=mine&q=Секретна');
      assert.match(mine.body, /Секретна Клієнтка/, "anna is chief's broker");
      assert.equal((await boris.get('/dashboard?page=abc&sort=evil;drop&status=zzz')).statusCode, 200);

      queries = 0; await admin.get('/dashboard');
      const few = queries;
      for (let i = 0; i < 30; i++) await t.app.db.insertInto('leads').values({ agent_id: annaId, deal_name: `Ще ${i}`, phone: `+38067000${String(2000 + i)}`, budget: 'до 200к' }).execute();
      queries = 0; await admin.get('/dashboard');
      assert.equal(queries, few, 'the number of queries does not grow with the rows shown');
      assert.ok(few <= 8, `dashboard used ${few} queries`);
    });

    test('dashboard table: the agent column for admins only, dates in figures (Kyiv), the agent filter\'s list from its own address', async () => {
      const { id } = await t.app.db.insertInto('leads').values({ agent_id: borisId, deal_name: 'Таблиця Дата', phone: '+380501114444', budget: 'до 200к', created_at: new Date('2026-03-31T21:30:00Z') }).returning('id').executeTakeFirstOrThrow();
      const row = (html: string) => { const at = html.indexOf(`data-lead-id="${id}"`); return html.slice(at, html.indexOf('</tr>', at)); };
      const headers = (html: string) => (html.slice(html.indexOf('<thead>'), html.indexOf('</thead>')).match(/<th /g) ?? []).length;
      const own = await boris.get('/dashboard?q=Таблиця');
      assert.equal(headers(own.body), 6, 'an agent\'s list has no "responsible agent" column: every lead is theirs');
      assert.equal((row(own.body).match(/<td/g) ?? []).length, 6);
      assert.doesNotMatch(row(own.body), /<td>Борис<\/td>/);
      // 21:30 UTC on 31 March is 00:30 on 1 April in Kyiv (UTC+3 from the last Sunday of March).
      assert.match(row(own.body), /<td title="01\.04\.2026, 00:30">01\.04\.2026<\/td>/);
      const all = await admin.get(`/dashboard?agent=${borisId}&q=Таблиця`);
      assert.equal(headers(all.body), 7);
      assert.match(row(all.body), /<td>Борис<\/td>/);
      // The agent filter carries "all", "my brokers" and the chosen agent; the others come from agents.json.
      const agentOptions = (html: string) => {
        const select = selectIn(html, 'flt-agent');
        assert.match(select.tag, /data-options="\/dashboard\/agents\.json"/);
        return select.options.map((o) => `${o.value}${o.selected ? ' selected' : ''}`);
      };
      assert.deepEqual(agentOptions(all.body), ['', 'mine', `${borisId} selected`]);
      assert.deepEqual(agentOptions((await admin.get('/dashboard')).body), ['', 'mine'], 'no agent listed in the page');
      const list = await admin.get('/dashboard/agents.json', { accept: 'application/json' });
      assert.equal(list.statusCode, 200);
      assert.match(String(list.headers['cache-control']), /^private, max-age=\d+$/);
      const agents = list.json().agents as { id: number; name: string }[];
      assert.deepEqual(agents.map((a) => a.name), [...agents.map((a) => a.name)].sort((a, b) => a.localeCompare(b)), 'by name');
      assert.ok(agents.some((a) => a.id === annaId && a.name === 'Анна') && agents.some((a) => a.id === borisId), 'every agent');
      assert.ok(!agents.some((a) => a.id === adminId), 'agents only');
      const again = await admin.get('/dashboard/agents.json', { accept: 'application/json', 'if-none-match': String(list.headers.etag) });
      assert.equal(again.statusCode, 304);
      assert.equal(again.body, '');
      const asAgent = await boris.get('/dashboard/agents.json', { accept: 'application/json' });
      assert.equal(asAgent.statusCode, 403, 'admins only');
      assert.equal((await t.app.inject({ method: 'GET', url: '/dashboard/agents.json', headers: { accept: 'application/json' } })).statusCode, 401);
    });

    test('a synced lead shows its HubSpot stage label and can be filtered by stage', async () => {
      const { id } = await t.app.db.insertInto('leads').values({
        agent_id: borisId, deal_name: 'Синхронізований', phone: '+380501119999', budget: 'до 200к',
        hubspot_deal_id: '9001', hubspot_stage_id: '3204738265', hubspot_stage_label: 'Переговоры', status: 'qualified',
      }).returning('id').executeTakeFirstOrThrow();
      const page = await boris.get(`/leads/${id}`);
      assert.match(page.body, /data-testid="status-badge">Переговоры</);
      assert.doesNotMatch(page.body, /Очікує синхронізації/);
      const filtered = await boris.get('/dashboard?stage=3204738265');
      assert.equal((filtered.body.match(/data-lead-id=/g) ?? []).length, 1);
      assert.match(filtered.body, /Синхронізований/);
    });

    test('CSV export follows the filter, only own leads, and neutralises formulas', async () => {
      await t.app.db.insertInto('leads').values({ agent_id: borisId, deal_name: '=HYPERLINK("http://evil","x")', phone: '+380501110000', budget: 'до 200к' }).execute();
      const res = await boris.get('/leads/export.csv');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/csv/);
      assert.match(String(res.headers['content-disposition']), /attachment; filename="leads_\d+\.csv"/);
      assert.match(res.body, /"'=HYPERLINK\(""http:\/\/evil"",""x""\)"/);
      assert.match(res.body, /'\+380 50 111 0000/);
      assert.doesNotMatch(res.body, /Секретна Клієнтка/);
      const filtered = await boris.get('/leads/export.csv?status=closed');
      assert.equal(filtered.body.trim().split('\r\n').length, 1 + 3);
    });

    test('profile statistics and the leaderboard show real numbers', async () => {
      const profile = await boris.get('/profile');
      const total = (await t.app.db.selectFrom('leads').select('id').where('agent_id', '=', borisId).execute()).length;
      assert.match(profile.body, new RegExp(`data-testid="stat-leads">${total}<`));
      assert.match(profile.body, new RegExp(`data-testid="stat-points">${await sum(borisId)}<`));
      const board = await boris.get('/leaderboard?period=all');
      assert.equal(board.statusCode, 200);
      assert.match(board.body, /Анна/);
      assert.match(board.body, /table-primary/);
    });
  });
}
