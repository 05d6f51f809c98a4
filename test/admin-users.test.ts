// The back office: every /admin route is closed to agents and anonymous visitors; the users page (one
// aggregated query, no writes in GETs) and each account change; "My brokers"; the HubSpot contacts page
// and its CSV export.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KyselyPlugin } from 'kysely';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

let queries = 0;
let writes = 0;
const counter: KyselyPlugin = {
  transformQuery: (args) => {
    queries++;
    if (['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode'].includes(args.node.kind)) writes++;
    return args.node;
  },
  transformResult: async (args) => args.result,
};

const concrete = (url: string, id: number) => url.replace(/:id\b/, String(id)).replace(/:[A-Za-z_]+/g, '1').replace(/\*$/, 'x');
const lead = { deal_name: 'Клієнт Адмінки', phone: '+380 50 765 4321', budget: 'до 200к' };

for (const kind of databaseKinds()) {
  describe(`admin: users and contacts [${kind}]`, () => {
    let t: TestApp;
    let bossId: number; let deputyId: number; let annaId: number; let borisId: number;
    let boss: Client; let anna: Client; let boris: Client;

    before(async () => {
      t = await startTestApp(kind, { wrapDb: (db) => db.withPlugin(counter), env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
      bossId = await seedUser(t, { username: 'boss', password: 'boss-password-1', role: 'admin', display_name: 'Бос Головний' });
      deputyId = await seedUser(t, { username: 'deputy', password: 'deputy-password-1', role: 'admin', display_name: 'Заступниця' });
      annaId = await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна Брокер', admin_id: bossId });
      borisId = await seedUser(t, { username: 'boris', password: 'boris-password-1', display_name: 'Борис Агент' });
      boss = new Client(t.app); anna = new Client(t.app); boris = new Client(t.app);
      assert.equal((await boss.login('boss', 'boss-password-1')).statusCode, 303);
      assert.equal((await anna.login('anna', 'anna-password-1')).statusCode, 303);
      assert.equal((await boris.login('boris', 'boris-password-1')).statusCode, 303);
    });
    after(() => t.close());

    const userRow = (id: number) => t.app.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    const createLeadAs = async (c: Client, fields: Record<string, string>) => {
      await c.get('/leads/new');
      const res = await c.post('/leads', fields);
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      return Number(/\/leads\/(\d+)/.exec(String(res.headers.location))![1]);
    };
    const points = async (userId: number) => (await t.app.db.selectFrom('points_events').select('points').where('user_id', '=', userId).execute()).reduce((a, e) => a + e.points, 0);

    test('every /admin route answers 403 to an agent and sends anonymous visitors to the login form, changing nothing', async () => {
      const routes = t.app.routeTable.filter((r) => r.url.startsWith('/admin') && r.method !== 'HEAD');
      for (const url of ['/admin/users', '/admin/users/:id', '/admin/audit', '/admin/hubspot-contacts', '/admin/hubspot-contacts.csv']) {
        assert.ok(routes.some((r) => r.url === url && r.method === 'GET'), `GET ${url} is registered`);
      }
      for (const p of ['activate', 'deactivate', 'unlock', 'role', 'admin', 'commission', 'password', 'delete']) {
        assert.ok(routes.some((r) => r.url === `/admin/users/:id/${p}` && r.method === 'POST'), `POST /admin/users/:id/${p} is registered`);
      }
      const anon = new Client(t.app);
      await anon.get('/login');
      await boris.get('/dashboard');
      const before = JSON.stringify(await t.app.db.selectFrom('users').selectAll().orderBy('id').execute());
      for (const r of routes) {
        const url = concrete(r.url, annaId);
        const form = { active: 'false', role: 'admin', admin_id: String(deputyId), commission: '50', receiver_id: String(borisId) };
        const asAgent = r.method === 'GET' ? await boris.get(url) : await boris.json(r.method, url, form);
        assert.ok([403, 404].includes(asAgent.statusCode), `${r.method} ${r.url} answered ${asAgent.statusCode} to an agent`);
        assert.doesNotMatch(asAgent.body, /Анна Брокер|anna@example\.com/, `${r.method} ${r.url} leaks nothing to an agent`);
        const asAnon = r.method === 'GET' ? await anon.get(url) : await anon.json(r.method, url, form);
        if (r.method === 'GET') {
          assert.equal(asAnon.statusCode, 302, `${r.method} ${r.url} answered ${asAnon.statusCode} to an anonymous visitor`);
          assert.match(String(asAnon.headers.location), /^\/login\?next=/);
        } else {
          assert.ok([401, 403].includes(asAnon.statusCode), `${r.method} ${r.url} answered ${asAnon.statusCode} to an anonymous visitor`);
        }
      }
      assert.equal(JSON.stringify(await t.app.db.selectFrom('users').selectAll().orderBy('id').execute()), before, 'no user changed');
    });

    test('users page: counts, real figures, filters and search in one aggregated query; no writes in any admin GET', async () => {
      const l1 = await createLeadAs(anna, { ...lead, phone: '+380501110001' });
      await createLeadAs(anna, { ...lead, phone: '+380501110002' });
      await anna.post(`/leads/${l1}/close`);
      await t.app.db.updateTable('users').set({ is_verified: true, commission: '7.50' }).where('id', '=', annaId).execute();

      queries = 0; writes = 0;
      const page = await boss.get('/admin/users');
      assert.equal(page.statusCode, 200);
      const few = queries;
      assert.equal(writes, 0, 'the list writes nothing');
      assert.match(page.body, /data-testid="users-count-total">4</);
      assert.match(page.body, /data-testid="users-count-admins">2</);
      assert.match(page.body, /data-testid="users-count-agents">2</);
      const annaRow = page.body.slice(page.body.indexOf('data-username="anna"'));
      assert.match(annaRow.slice(0, 3000), /data-testid="user-stats"><a href="\/dashboard\?agent=\d+"[^>]*>2 \/ 1<\/a> · /, 'leads / closed deals from the leads table, linking to her leads on the dashboard');
      assert.match(annaRow.slice(0, 3000), /Бос Головний/, 'her admin');
      assert.match(annaRow.slice(0, 3000), /7\.5 %/);
      const bossRow = page.body.slice(page.body.indexOf('data-username="boss"'));
      assert.match(bossRow.slice(0, 3000), /data-testid="this-is-you"/, 'no deactivate button on my own row');
      assert.match(page.body, /href="\/admin\/audit"/);
      assert.match(page.body, /href="\/admin\/hubspot-contacts"/);

      for (let i = 0; i < 30; i++) {
        await t.app.db.insertInto('users').values({ username: `bulk_${i}`, email: `bulk_${i}@example.com`, display_name: `Масовий ${i}`, password_hash: 'x', admin_id: bossId }).execute();
      }
      queries = 0;
      const big = await boss.get('/admin/users');
      assert.equal(queries, few, 'the number of queries does not grow with the users shown');
      assert.ok(few <= 6, `users page used ${few} queries`);
      assert.equal((big.body.match(/data-user-id=/g) ?? []).length, 20, '20 per page');
      assert.match(big.body, /Сторінка 1 з 2 \(всього: 34\)/);
      assert.equal(((await boss.get('/admin/users?page=2')).body.match(/data-user-id=/g) ?? []).length, 14);

      const rowsOf = (html: string) => [...html.matchAll(/data-username="([^"]+)"/g)].map((m) => m[1]!);
      assert.deepEqual(rowsOf((await boss.get('/admin/users?role=admin')).body).sort(), ['boss', 'deputy']);
      assert.deepEqual(rowsOf((await boss.get('/admin/users?q=Брокер')).body), ['anna']);
      assert.deepEqual(rowsOf((await boss.get('/admin/users?q=ANNA%40example')).body), ['anna']);
      assert.deepEqual(rowsOf((await boss.get('/admin/users?verified=yes')).body), ['anna']);
      assert.deepEqual(rowsOf((await boss.get('/admin/users?admin=none')).body), ['boris']);
      assert.equal(rowsOf((await boss.get(`/admin/users?admin=${bossId}&q=bulk_1`)).body).length, 11);
      assert.equal((await boss.get('/admin/users?role=evil&page=-3&active=maybe&q=%25')).statusCode, 200, 'odd filters are ignored, not errors');

      writes = 0;
      for (const url of [`/admin/users/${annaId}`, '/admin/audit', '/admin/audit?entity_type=user', '/admin/hubspot-contacts', '/admin/hubspot-contacts.csv', '/profile']) {
        assert.equal((await boss.get(url)).statusCode, 200, url);
      }
      assert.equal(writes, 0, 'no admin page writes anything while being read');
    });

    test('deactivation ends every session of the user at once; activation lets them sign in again', async () => {
      const carla = await seedUser(t, { username: 'carla', password: 'carla-password-1' });
      const phone = new Client(t.app); const laptop = new Client(t.app);
      await phone.login('carla', 'carla-password-1');
      await laptop.login('carla', 'carla-password-1');
      assert.equal((await phone.get('/dashboard')).statusCode, 200);

      await boss.get(`/admin/users/${carla}`);
      const res = await boss.post(`/admin/users/${carla}/deactivate`);
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `/admin/users/${carla}`);
      for (const c of [phone, laptop]) {
        const next = await c.get('/dashboard');
        assert.equal(next.statusCode, 302);
        assert.match(String(next.headers.location), /^\/login/);
      }
      assert.equal((await t.app.db.selectFrom('sessions').select('id').where('user_id', '=', carla).execute()).length, 0, 'the sessions are gone, not just refused');
      assert.equal((await new Client(t.app).login('carla', 'carla-password-1')).statusCode, 403);

      await boss.get('/admin/users');
      const back = await boss.post(`/admin/users/${carla}/activate`, { next: '/admin/users?role=agent' });
      assert.equal(back.headers.location, '/admin/users?role=agent', 'back to the filtered list');
      assert.equal((await new Client(t.app).login('carla', 'carla-password-1')).statusCode, 303);

      const self = await boss.post(`/admin/users/${bossId}/deactivate`);
      assert.equal(self.statusCode, 403);
      assert.equal((await userRow(bossId))!.is_active, true);
      assert.equal((await boss.post(`/admin/users/999999/deactivate`)).statusCode, 404);
      assert.equal((await boss.post(`/admin/users/abc/deactivate`)).statusCode, 404);
    });

    test('unlock clears a lockout', async () => {
      const dan = await seedUser(t, { username: 'dan_locked', password: 'dan-password-12' });
      await t.app.db.updateTable('users').set({ locked_until: new Date(Date.now() + 30 * 60_000), failed_login_attempts: 3 }).where('id', '=', dan).execute();
      assert.equal((await new Client(t.app).login('dan_locked', 'dan-password-12')).statusCode, 429);
      const page = await boss.get(`/admin/users/${dan}`);
      assert.match(page.body, /data-testid="unlock"/);
      assert.equal((await boss.post(`/admin/users/${dan}/unlock`)).statusCode, 303);
      const row = (await userRow(dan))!;
      assert.equal(row.locked_until, null);
      assert.equal(row.failed_login_attempts, 0);
      assert.equal((await new Client(t.app).login('dan_locked', 'dan-password-12')).statusCode, 303);
    });

    test("role: never one's own; a new admin has no admin; an admin made agent leaves their brokers unassigned", async () => {
      await boss.get(`/admin/users/${bossId}`);
      const self = await boss.post(`/admin/users/${bossId}/role`, { role: 'agent' });
      assert.equal(self.statusCode, 403);
      assert.equal((await userRow(bossId))!.role, 'admin');
      const page = await boss.get(`/admin/users/${bossId}`);
      assert.doesNotMatch(page.body, /data-testid="role-form"/, 'no role form on my own page');

      const eva = await seedUser(t, { username: 'eva_promo', password: 'eva-password-123', admin_id: deputyId });
      const bad = await boss.post(`/admin/users/${eva}/role`, { role: 'owner' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /data-field-error="role"/);
      assert.equal((await boss.post(`/admin/users/${eva}/role`, { role: 'admin' })).statusCode, 303);
      assert.deepEqual({ role: (await userRow(eva))!.role, admin_id: (await userRow(eva))!.admin_id }, { role: 'admin', admin_id: null });
      const evaClient = new Client(t.app);
      await evaClient.login('eva_promo', 'eva-password-123');
      assert.equal((await evaClient.get('/admin/users')).statusCode, 200, 'the new admin may manage users at once');

      const fred = await seedUser(t, { username: 'fred_broker', password: 'fred-password-12', admin_id: eva });
      await boss.get(`/admin/users/${eva}`);
      assert.equal((await boss.post(`/admin/users/${eva}/role`, { role: 'agent' })).statusCode, 303);
      assert.equal((await userRow(eva))!.role, 'agent');
      assert.equal((await userRow(fred))!.admin_id, null, "the former admin's broker is unassigned");
      assert.equal((await evaClient.get('/admin/users')).statusCode, 403, 'the demoted admin loses access on the next request');
    });

    test('an agent is assigned to an admin; only an active admin can be chosen', async () => {
      await boss.get(`/admin/users/${borisId}`);
      assert.equal((await boss.post(`/admin/users/${borisId}/admin`, { admin_id: String(deputyId) })).statusCode, 303);
      assert.equal((await userRow(borisId))!.admin_id, deputyId);
      const wrong = await boss.post(`/admin/users/${borisId}/admin`, { admin_id: String(annaId) });
      assert.equal(wrong.statusCode, 400);
      assert.match(wrong.body, /data-field-error="admin_id"/);
      assert.match(wrong.body, /Оберіть адміністратора зі списку/);
      assert.equal((await userRow(borisId))!.admin_id, deputyId);
      assert.equal((await boss.post(`/admin/users/${borisId}/admin`, { admin_id: '' })).statusCode, 303);
      assert.equal((await userRow(borisId))!.admin_id, null, 'empty = not assigned');
      const toAdmin = await boss.post(`/admin/users/${deputyId}/admin`, { admin_id: String(bossId) });
      assert.equal(toAdmin.statusCode, 400, 'an admin has no admin');
    });

    test('commission: 0–100 with two decimals; a bad value is shown next to the field with what was typed', async () => {
      await boss.get(`/admin/users/${borisId}`);
      for (const bad of ['101', '-1', 'abc', '5.555', '']) {
        const res = await boss.post(`/admin/users/${borisId}/commission`, { commission: bad });
        assert.equal(res.statusCode, 400, bad);
        assert.match(res.body, /data-field-error="commission"/, bad);
        if (bad) assert.match(res.body, new RegExp(`name="commission"[^>]*value="${bad.replace('.', '\\.')}"`), `${bad} is kept in the form`);
      }
      const msg = await boss.post(`/admin/users/${borisId}/commission`, { commission: '101' });
      assert.match(msg.body, /Комісія — число від 0 до 100/);
      assert.equal(Number((await userRow(borisId))!.commission), 0, 'nothing saved');
      const ok = await boss.post(`/admin/users/${borisId}/commission`, { commission: '12,5' });
      assert.equal(ok.statusCode, 303);
      assert.equal(Number((await userRow(borisId))!.commission), 12.5);
      assert.equal((await boss.post(`/admin/users/${borisId}/commission`, { commission: '100' })).statusCode, 303);
      assert.equal(Number((await userRow(borisId))!.commission), 100);
    });

    test('a temporary password is shown once, ends the sessions, must be changed at sign-in and then stops working', async () => {
      const gleb = await seedUser(t, { username: 'gleb', password: 'gleb-old-password' });
      const glebOld = new Client(t.app);
      await glebOld.login('gleb', 'gleb-old-password');
      await boss.get(`/admin/users/${gleb}`);
      const res = await boss.post(`/admin/users/${gleb}/password`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      const temp = /data-testid="temp-password">([^<]+)</.exec(res.body)?.[1];
      assert.ok(temp && temp.length >= 10, 'the page shows the temporary password');
      assert.ok(![res.headers['set-cookie']].flat().some((c) => String(c).includes(temp)), 'never in a cookie');
      assert.doesNotMatch((await boss.get(`/admin/users/${gleb}`)).body, new RegExp(temp), 'shown only once');
      assert.match(String((await glebOld.get('/dashboard')).headers.location), /^\/login/, 'the old session ended');
      assert.equal((await new Client(t.app).login('gleb', 'gleb-old-password')).statusCode, 401, 'the old password is gone');

      const c = new Client(t.app);
      const login = await c.login('gleb', temp);
      assert.equal(login.statusCode, 303);
      assert.equal(login.headers.location, '/profile/password');
      assert.equal((await c.get('/dashboard')).headers.location, '/profile/password', 'nothing else until it is changed');
      await c.get('/profile/password');
      assert.equal((await c.post('/profile/password', { current_password: temp, new_password: 'gleb-own-password', confirm_password: 'gleb-own-password' })).statusCode, 303);
      assert.equal((await c.get('/dashboard')).statusCode, 200);
      assert.equal((await userRow(gleb))!.must_change_password, false);
      assert.equal((await new Client(t.app).login('gleb', temp)).statusCode, 401, 'the temporary password worked once');
      assert.equal((await new Client(t.app).login('gleb', 'gleb-own-password')).statusCode, 303);

      for (const file of readdirSync(t.logDir)) {
        assert.ok(!readFileSync(path.join(t.logDir, file), 'utf8').includes(temp), `the temporary password is not in ${file}`);
      }
      assert.equal((await boss.post(`/admin/users/${bossId}/password`)).statusCode, 403, 'not on oneself (the profile has a form for that)');
    });

    test('delete: refused while the user owns leads; with a receiver the leads move in the same step and points stay put', async () => {
      const hanna = await seedUser(t, { username: 'hanna', password: 'hanna-password-1' });
      const ivan = await seedUser(t, { username: 'ivan_rcv', password: 'ivan-password-12' });
      const h = new Client(t.app);
      await h.login('hanna', 'hanna-password-1');
      const leadA = await createLeadAs(h, { ...lead, phone: '+380502220001' });
      const leadB = await createLeadAs(h, { ...lead, phone: '+380502220002' });
      const ivanPoints = await points(ivan);

      const page = await boss.get(`/admin/users/${hanna}`);
      assert.match(page.body, /name="receiver_id"/, 'the delete form asks who receives the leads');
      const refused = await boss.post(`/admin/users/${hanna}/delete`);
      assert.equal(refused.statusCode, 409);
      assert.match(refused.body, /data-field-error="receiver_id"/);
      assert.match(refused.body, /оберіть, кому їх передати/);
      assert.ok(await userRow(hanna), 'still there');
      assert.equal((await boss.post(`/admin/users/${hanna}/delete`, { receiver_id: String(hanna) })).statusCode, 400, 'not to herself');
      assert.equal((await boss.post(`/admin/users/${hanna}/delete`, { receiver_id: '999999' })).statusCode, 400);
      assert.ok(await userRow(hanna));

      const ok = await boss.post(`/admin/users/${hanna}/delete`, { receiver_id: String(ivan) });
      assert.equal(ok.statusCode, 303);
      assert.equal(ok.headers.location, '/admin/users');
      assert.equal(await userRow(hanna), undefined);
      const moved = await t.app.db.selectFrom('leads').select(['id', 'agent_id']).where('id', 'in', [leadA, leadB]).orderBy('id').execute();
      assert.deepEqual(moved, [{ id: leadA, agent_id: ivan }, { id: leadB, agent_id: ivan }]);
      assert.equal(await points(ivan), ivanPoints, "the receiver gets the leads, not the points someone else earned");
      const queued = await t.app.db.selectFrom('sync_items').select('entity_id').where('entity_type', '=', 'lead').where('entity_id', 'in', [leadA, leadB]).execute();
      assert.equal(queued.length, 2, 'the new owner goes to HubSpot');
      const i = new Client(t.app);
      await i.login('ivan_rcv', 'ivan-password-12');
      assert.equal((await i.get(`/leads/${leadA}`)).statusCode, 200);

      const noLeads = await seedUser(t, { username: 'julia_gone', password: 'julia-password-1' });
      assert.doesNotMatch((await boss.get(`/admin/users/${noLeads}`)).body, /name="receiver_id"/);
      assert.equal((await boss.post(`/admin/users/${noLeads}/delete`)).statusCode, 303);
      assert.equal(await userRow(noLeads), undefined);
      assert.equal((await boss.post(`/admin/users/${bossId}/delete`, { receiver_id: String(deputyId) })).statusCode, 403, 'never oneself');
    });

    test("a deleted user's private documents go with them (rows and stored files), never on a refused deletion", async () => {
      const kate = await seedUser(t, { username: 'kate_docs', password: 'kate-password-12' });
      const k = new Client(t.app);
      await k.login('kate_docs', 'kate-password-12');
      await createLeadAs(k, { ...lead, phone: '+380502220077' });
      const key = `documents/${kate}/test-passport.pdf`;
      await t.app.storage.put(key, Buffer.from('%PDF-1.4 test'), 'application/pdf');
      await t.app.db.insertInto('user_documents').values({ user_id: kate, kind: 'id', storage_key: key, filename: 'passport.pdf', content_type: 'application/pdf', size_bytes: 13, uploaded_by: bossId }).execute();
      const stored = async () => t.app.storage.get(key).then((s) => { s.destroy(); return true; }, () => false);

      await boss.get(`/admin/users/${kate}`);
      assert.equal((await boss.post(`/admin/users/${kate}/delete`)).statusCode, 409);
      assert.ok(await stored(), 'a refused deletion leaves the file alone');
      assert.equal((await boss.post(`/admin/users/${kate}/delete`, { receiver_id: String(borisId) })).statusCode, 303);
      assert.equal(await userRow(kate), undefined);
      assert.equal((await t.app.db.selectFrom('user_documents').select('id').where('storage_key', '=', key).execute()).length, 0);
      assert.equal(await stored(), false, 'the stored file is removed too');
      const entry = await t.app.db.selectFrom('audit_log').select('before').where('action', '=', 'user.delete').where('entity_id', '=', String(kate)).executeTakeFirstOrThrow();
      assert.equal(entry.before!.documents_deleted, 1);
    });

    test("an admin's profile lists their brokers with real figures", async () => {
      const res = await boss.get('/profile');
      assert.equal(res.statusCode, 200);
      const block = res.body.slice(res.body.indexOf('data-testid="my-brokers"'));
      assert.ok(block.length > 0 && res.body.includes('data-testid="my-brokers"'));
      const brokers = await t.app.db.selectFrom('users').select('id').where('admin_id', '=', bossId).where('role', '=', 'agent').execute();
      assert.match(block, new RegExp(`Мої брокери \\(${brokers.length}\\)`));
      const annaItem = block.slice(block.indexOf(`data-broker-id="${annaId}"`));
      assert.match(annaItem.slice(0, 800), /Анна Брокер/);
      assert.match(annaItem.slice(0, 800), /data-testid="broker-verified"/);
      assert.match(annaItem.slice(0, 800), /Ліди: 2 · Угоди: 1/);
      assert.doesNotMatch((await anna.get('/profile')).body, /data-testid="my-brokers"/, 'agents have no brokers block');
    });

    test('HubSpot contacts: from the synced leads only, one row per contact, search, 20 per page, CSV escaped against formulas', async () => {
      await t.app.db.insertInto('leads').values([
        { agent_id: borisId, deal_name: '=HYPERLINK("http://evil.example","клік")', phone: '+380671234567', second_phone: '+48601234567', email: 'evil@example.com', budget: 'до 200к', hubspot_contact_id: '5001', hubspot_deal_id: '9101' },
        { agent_id: borisId, deal_name: 'Ольга Контакт', phone: '+380931112233', email: 'olga@example.com', budget: 'до 200к', hubspot_contact_id: '5002', hubspot_deal_id: '9102' },
        { agent_id: annaId, deal_name: 'Ольга Контакт (друга угода)', phone: '+380931112233', email: 'olga@example.com', budget: 'до 200к', hubspot_contact_id: '5002', hubspot_deal_id: '9103' },
        { agent_id: annaId, deal_name: 'Без HubSpot', phone: '+380931119999', budget: 'до 200к' },
      ]).execute();
      for (let i = 0; i < 22; i++) {
        await t.app.db.insertInto('leads').values({ agent_id: borisId, deal_name: `Контакт ${String(i).padStart(2, '0')}`, phone: `+38050333${String(1000 + i)}`, budget: 'до 200к', hubspot_contact_id: String(6000 + i) }).execute();
      }
      const page = await boss.get('/admin/hubspot-contacts');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Контактів: 24/, 'one per contact id; leads without a contact are not listed');
      assert.equal((page.body.match(/data-contact-id=/g) ?? []).length, 20);
      assert.equal(((await boss.get('/admin/hubspot-contacts?page=2')).body.match(/data-contact-id=/g) ?? []).length, 4);
      assert.doesNotMatch(page.body, /Без HubSpot/);
      const search = await boss.get('/admin/hubspot-contacts?q=093%20111%2022');
      assert.equal((search.body.match(/data-contact-id=/g) ?? []).length, 1, 'found by phone digits');
      assert.match(search.body, /data-contact-id="5002"/);
      assert.match((await boss.get('/admin/hubspot-contacts?q=OLGA@')).body, /data-contact-id="5002"/, 'by email');
      assert.match((await boss.get('/admin/hubspot-contacts?q=6003')).body, /Контакт 03/, 'by contact id');

      const csv = await boss.get('/admin/hubspot-contacts.csv');
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(String(csv.headers['content-disposition']), /attachment; filename="hubspot_contacts_\d+\.csv"/);
      const lines = csv.body.replace(/^\uFEFF/, '').trim().split('\r\n');
      assert.equal(lines.length, 25, 'a header and every contact, not just one page');
      const evil = lines.find((l) => l.includes('HYPERLINK'))!;
      assert.ok(evil.startsWith(`"'=HYPERLINK(""http://evil.example"",""клік"")"`), `a formula becomes text: ${evil}`);
      assert.match(evil, /,'\+380 67 123 4567,'\+48 601 234 567,evil@example\.com,5001$/, 'phones cannot start a formula either');
      const filtered = await boss.get('/admin/hubspot-contacts.csv?q=olga');
      assert.equal(filtered.body.trim().split('\r\n').length, 2, 'the export follows the search');
      assert.equal((await boris.get('/admin/hubspot-contacts.csv')).statusCode, 403);
    });
  });
}
