import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';
import { hashApiToken } from '../src/api/keys.server.ts';
import { API_RATE_PER_MINUTE } from '../src/api/routes.ts';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

const lead = { deal_name: 'Олег Коваль', phone: '+380 50 123 4567', budget: '200к–500к' };
const SITE = 'https://anna-realty.example';

for (const kind of databaseKinds()) {
  describe(`lead-capture API [${kind}]`, () => {
    let t: TestApp;
    let annaId: number; let borisId: number;
    let anna: Client; let boris: Client; let admin: Client;
    let annaKey: string; let borisKey: string;
    const tokens: string[] = [];

    const createKey = async (c: Client, name: string, origins = ''): Promise<string> => {
      await c.get('/profile');
      const res = await c.post('/profile/api-keys', { name, origins });
      assert.equal(res.statusCode, 201, res.body.slice(0, 400));
      const m = /data-testid="api-key-token">([^<]+)</.exec(res.body);
      assert.ok(m, 'the key is shown');
      tokens.push(m[1]!);
      return m[1]!;
    };
    const api = (method: string, url: string, key: string | null, opts: { payload?: unknown; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> =>
      t.app.inject({
        method: method as 'GET', url, payload: opts.payload as object,
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(opts.payload !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      });

    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', LOG_LEVEL: 'debug' } });
      const adminId = await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin' });
      annaId = await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна', admin_id: adminId });
      borisId = await seedUser(t, { username: 'boris', password: 'boris-password-1', display_name: 'Борис' });
      anna = new Client(t.app); boris = new Client(t.app); admin = new Client(t.app);
      await anna.login('anna', 'anna-password-1');
      await boris.login('boris', 'boris-password-1');
      await admin.login('chief', 'chief-password-1');
      annaKey = await createKey(anna, 'Anna site', `${SITE}\nhttps://www.anna-realty.example/`);
      borisKey = await createKey(boris, 'Boris CRM');
    });
    after(() => t.close());

    test('a key is created on the profile, shown once, stored only as its sha256, listed, and revoked', async () => {
      const rows = await t.app.db.selectFrom('api_keys').selectAll().where('user_id', '=', annaId).execute();
      assert.equal(rows.length, 1);
      const row = rows[0]!;
      assert.match(annaKey, /^pph_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
      assert.equal(row.key_hash.trim(), hashApiToken(annaKey));
      assert.ok(annaKey.startsWith(`pph_${row.prefix}_`));
      assert.deepEqual(row.allowed_origins, [SITE, 'https://www.anna-realty.example']);
      assert.ok(!JSON.stringify(row).includes(annaKey.slice(17)), 'the secret part is nowhere in the row');
      const audit = await t.app.db.selectFrom('audit_log').select(['action', 'after']).where('entity_type', '=', 'api_key').execute();
      assert.ok(audit.length >= 2);
      assert.ok(!JSON.stringify(audit).includes(annaKey.slice(17)), 'nor in the audit log');

      const profile = await anna.get('/profile');
      assert.equal(profile.statusCode, 200);
      assert.match(profile.body, /data-testid="api-key-row"/);
      assert.match(profile.body, /Anna site/);
      assert.match(profile.body, new RegExp(`pph_${row.prefix}_…`));
      assert.ok(!profile.body.includes(annaKey), 'the profile never shows the key again');
      assert.match(profile.body, /Ще не використовувався/);

      // Used once: the last use is shown.
      assert.equal((await api('GET', '/api/v1/stages', annaKey)).statusCode, 200);
      const used = await t.app.db.selectFrom('api_keys').select('last_used_at').where('id', '=', row.id).executeTakeFirstOrThrow();
      assert.ok(used.last_used_at);
      assert.doesNotMatch((await anna.get('/profile')).body, /Ще не використовувався/);

      // Bad input re-shows the form.
      const bad = await anna.post('/profile/api-keys', { name: '', origins: 'not a url' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /data-field-error="name"/);
      assert.match(bad.body, /data-field-error="origins"/);
      assert.equal((await anna.post('/profile/api-keys', { name: 'x', origins: 'https://a.example/path' })).statusCode, 400, 'an origin has no path');

      // Revoke a second key; another agent cannot revoke it.
      const temp = await createKey(anna, 'Temporary');
      const tempRow = await t.app.db.selectFrom('api_keys').select(['id']).where('key_hash', '=', hashApiToken(temp)).executeTakeFirstOrThrow();
      assert.equal((await api('GET', '/api/v1/leads', temp)).statusCode, 200);
      await boris.get('/profile');
      assert.equal((await boris.post(`/profile/api-keys/${tempRow.id}/revoke`)).statusCode, 404);
      assert.equal((await api('GET', '/api/v1/leads', temp)).statusCode, 200);
      const revoke = await anna.post(`/profile/api-keys/${tempRow.id}/revoke`);
      assert.equal(revoke.statusCode, 303);
      const after = await anna.get('/profile');
      assert.match(after.body, /data-testid="api-key-revoked"/);
      const res = await api('GET', '/api/v1/leads', temp);
      assert.equal(res.statusCode, 401, 'a revoked key is refused');
      assert.equal(res.json().error, 'Потрібен дійсний API-ключ (Authorization: Bearer …).');
      assert.ok(res.json().requestId);
    });

    test('admins have no API keys; creating keys needs the CSRF token', async () => {
      await admin.get('/profile');
      assert.doesNotMatch(admin.lastHtml, /data-testid="api-keys"/);
      assert.equal((await admin.post('/profile/api-keys', { name: 'Admin key' })).statusCode, 403);
      assert.equal((await anna.post('/profile/api-keys', { name: 'Forged' }, { csrf: false })).statusCode, 403);
    });

    test('POST /api/v1/leads creates a lead in the key owner\'s pipeline; invalid input → 400 {error, fields}', async () => {
      const before = await t.app.db.selectFrom('points_events').select('points').where('user_id', '=', annaId).execute();
      const res = await api('POST', '/api/v1/leads', annaKey, { payload: { ...lead, email: 'Oleg@Example.com', source: 'сайт', agent_id: borisId } });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.equal(body.phone, '+380501234567');
      assert.equal(body.email, 'oleg@example.com');
      assert.equal(body.status, 'new');
      assert.equal(res.headers.location, `/api/v1/leads/${body.id}`);
      const row = await t.app.db.selectFrom('leads').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow();
      assert.equal(row.agent_id, annaId, 'the key\'s agent, whatever agent_id says');
      assert.equal(row.created_by, annaId);
      const afterPts = await t.app.db.selectFrom('points_events').select('points').where('user_id', '=', annaId).execute();
      assert.equal(afterPts.length, before.length + 1, 'points awarded');
      const sync = await t.app.db.selectFrom('sync_items').selectAll().where('entity_type', '=', 'lead').where('entity_id', '=', body.id).execute();
      assert.equal(sync.length, 1, 'queued for HubSpot');

      const dup = await api('POST', '/api/v1/leads', annaKey, { payload: { ...lead, deal_name: 'Той самий' } });
      assert.equal(dup.statusCode, 201);
      assert.equal(dup.json().possible_duplicate, true);

      const bad = await api('POST', '/api/v1/leads', annaKey, { payload: { deal_name: 'О', phone: '12', budget: 'мільйон', email: 'bad@' } });
      assert.equal(bad.statusCode, 400);
      const err = bad.json();
      assert.equal(typeof err.error, 'string');
      assert.ok(err.requestId);
      assert.deepEqual(Object.keys(err.fields).sort(), ['budget', 'deal_name', 'email', 'phone']);
      const notObject = await api('POST', '/api/v1/leads', annaKey, { payload: [1, 2] });
      assert.equal(notObject.statusCode, 400);
      const malformed = await t.app.inject({ method: 'POST', url: '/api/v1/leads', payload: '{"deal_name":', headers: { authorization: `Bearer ${annaKey}`, 'content-type': 'application/json' } });
      assert.equal(malformed.statusCode, 400);
      assert.ok(malformed.json().error);
    });

    test('reading leads: own lead with comments, a page of own leads, another agent\'s lead → 404', async () => {
      const created = (await api('POST', '/api/v1/leads', annaKey, { payload: { ...lead, phone: '+380671112299' } })).json();
      const comment = await api('POST', `/api/v1/leads/${created.id}/comments`, annaKey, { payload: { body: '  Дзвонив\r\nзавтра ще раз ' } });
      assert.equal(comment.statusCode, 201, comment.body);
      assert.equal(comment.json().body, 'Дзвонив\nзавтра ще раз');
      assert.equal(comment.json().author_name, 'Анна');
      const reply = await api('POST', `/api/v1/leads/${created.id}/comments`, annaKey, { payload: { body: 'Відповідь', parent_id: comment.json().id } });
      assert.equal(reply.statusCode, 201);
      assert.equal((await api('POST', `/api/v1/leads/${created.id}/comments`, annaKey, { payload: { body: '' } })).json().fields.body !== undefined, true);

      const one = await api('GET', `/api/v1/leads/${created.id}`, annaKey);
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().id, created.id);
      assert.equal(one.json().comments.length, 1);
      assert.equal(one.json().comments[0].replies.length, 1);

      const page = await api('GET', '/api/v1/leads?page=1&per_page=2', annaKey);
      assert.equal(page.statusCode, 200);
      const p = page.json();
      assert.equal(p.items.length, 2);
      assert.equal(p.items[0].id, created.id, 'newest first');
      assert.ok(p.total >= 3);
      const page2 = (await api('GET', '/api/v1/leads?page=2&per_page=2', annaKey)).json();
      assert.ok(!page2.items.some((l: { id: number }) => p.items.some((q: { id: number }) => q.id === l.id)));
      assert.equal((await api('GET', '/api/v1/leads?page=0', annaKey)).statusCode, 400);

      // Boris's key sees none of Anna's leads.
      assert.equal((await api('GET', `/api/v1/leads/${created.id}`, borisKey)).statusCode, 404);
      assert.equal((await api('POST', `/api/v1/leads/${created.id}/comments`, borisKey, { payload: { body: 'hi' } })).statusCode, 404);
      assert.equal((await api('GET', '/api/v1/leads', borisKey)).json().total, 0);
      assert.equal((await api('GET', '/api/v1/leads/abc', annaKey)).statusCode, 404);
      assert.equal((await api('GET', '/api/v1/leads/99999999999', annaKey)).statusCode, 404);
      void borisId;
    });

    test('stages are listed', async () => {
      const res = await api('GET', '/api/v1/stages', borisKey);
      assert.equal(res.statusCode, 200);
      const stages = res.json();
      assert.ok(stages.length >= 4);
      assert.deepEqual(Object.keys(stages[0]).sort(), ['id', 'label', 'status']);
    });

    test('no key, an unknown key, a malformed key or a session cookie alone → 401 on every /api/v1 route', async () => {
      const forged = annaKey.slice(0, -4) + (annaKey.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const routes = t.app.routeTable.filter((r) => r.apiKey);
      assert.deepEqual(routes, t.app.routeTable.filter((r) => r.url.startsWith('/api/v1/') && r.method !== 'OPTIONS' && !r.url.endsWith('/openapi.json') && !r.url.endsWith('/docs')), 'every /api/v1 operation is an API-key route');
      assert.ok(routes.length >= 5);
      for (const r of routes) {
        const url = r.url.replace(':id', '1');
        for (const key of [null, forged, 'pph_unknownunkno_' + 'x'.repeat(43), 'garbage']) {
          const res = await api(r.method, url, key, { payload: r.method === 'POST' ? lead : undefined });
          assert.equal(res.statusCode, 401, `${r.method} ${r.url} with ${key?.slice(0, 8)}`);
          assert.equal(res.headers['content-type']?.toString().split(';')[0], 'application/json');
        }
        // Signed in, with a CSRF token even: the cookie is not an API credential.
        const res = await anna.json(r.method, url, r.method === 'POST' ? lead : undefined);
        assert.equal(res.statusCode, 401, `${r.method} ${r.url} with a session`);
      }
      const leads = await t.app.db.selectFrom('leads').select('id').where('deal_name', '=', lead.deal_name).where('agent_id', '=', annaId).execute();
      const before = leads.length;
      assert.equal((await anna.json('POST', '/api/v1/leads', lead)).statusCode, 401);
      const afterRows = await t.app.db.selectFrom('leads').select('id').where('deal_name', '=', lead.deal_name).where('agent_id', '=', annaId).execute();
      assert.equal(afterRows.length, before, 'nothing created');
    });

    test('a deactivated agent\'s key stops working', async () => {
      const id = await seedUser(t, { username: 'carla', password: 'carla-password-1' });
      const carla = new Client(t.app);
      await carla.login('carla', 'carla-password-1');
      const key = await createKey(carla, 'Carla');
      assert.equal((await api('GET', '/api/v1/leads', key)).statusCode, 200);
      await t.app.db.updateTable('users').set({ is_active: false }).where('id', '=', id).execute();
      assert.equal((await api('GET', '/api/v1/leads', key)).statusCode, 401);
    });

    test(`each key is limited to ${API_RATE_PER_MINUTE} requests a minute: then 429 JSON with Retry-After; other keys unaffected`, async () => {
      const key = await createKey(anna, 'Busy');
      for (let i = 0; i < API_RATE_PER_MINUTE; i++) {
        const res = await api('GET', '/api/v1/stages', key);
        assert.equal(res.statusCode, 200, `request ${i + 1}`);
      }
      const limited = await api('GET', '/api/v1/stages', key);
      assert.equal(limited.statusCode, 429);
      assert.ok(Number(limited.headers['retry-after']) > 0);
      assert.ok(limited.json().error);
      assert.equal((await api('GET', '/api/v1/stages', borisKey)).statusCode, 200, 'another key is not limited');
    });

    test('CORS: preflight answered only for origins on an active key; the actual request only for the key\'s own origins', async () => {
      const preflight = (origin: string) => t.app.inject({
        method: 'OPTIONS', url: '/api/v1/leads',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      const ok = await preflight(SITE);
      assert.equal(ok.statusCode, 204);
      assert.equal(ok.headers['access-control-allow-origin'], SITE);
      assert.match(String(ok.headers['access-control-allow-headers']), /authorization/);
      assert.match(String(ok.headers['access-control-allow-methods']), /POST/);
      const denied = await preflight('https://evil.example');
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.headers['access-control-allow-origin'], undefined);

      const fromSite = await api('POST', '/api/v1/leads', annaKey, { payload: { ...lead, phone: '+380931234500' }, headers: { origin: SITE } });
      assert.equal(fromSite.statusCode, 201);
      assert.equal(fromSite.headers['access-control-allow-origin'], SITE);
      assert.match(String(fromSite.headers.vary), /Origin/);

      // Anna's origin is allowed for a preflight (it is on an active key) but not with Boris's key.
      const wrongKey = await api('POST', '/api/v1/leads', borisKey, { payload: { ...lead, phone: '+380931234501' }, headers: { origin: SITE } });
      assert.equal(wrongKey.statusCode, 403);
      assert.equal(wrongKey.headers['access-control-allow-origin'], undefined);
      const evil = await api('GET', '/api/v1/leads', annaKey, { headers: { origin: 'https://evil.example' } });
      assert.equal(evil.statusCode, 403);
      assert.equal(evil.headers['access-control-allow-origin'], undefined);
      // A refused key's 401 is readable by a website whose origin is on an active key, not by others.
      const unknown = await api('GET', '/api/v1/leads', `pph_unknownunkno_${'x'.repeat(43)}`, { headers: { origin: SITE } });
      assert.equal(unknown.statusCode, 401);
      assert.equal(unknown.headers['access-control-allow-origin'], SITE);
      const unknownEvil = await api('GET', '/api/v1/leads', null, { headers: { origin: 'https://evil.example' } });
      assert.equal(unknownEvil.statusCode, 401);
      assert.equal(unknownEvil.headers['access-control-allow-origin'], undefined);
      // Server-to-server (no Origin) is fine.
      assert.equal((await api('GET', '/api/v1/leads', borisKey)).statusCode, 200);

      // Revoking the only key with an origin ends its preflights.
      const solo = await createKey(boris, 'Shop', 'https://boris-shop.example');
      assert.equal((await preflight('https://boris-shop.example')).statusCode, 204);
      const row = await t.app.db.selectFrom('api_keys').select('id').where('key_hash', '=', hashApiToken(solo)).executeTakeFirstOrThrow();
      await boris.get('/profile');
      assert.equal((await boris.post(`/profile/api-keys/${row.id}/revoke`)).statusCode, 303);
      assert.equal((await preflight('https://boris-shop.example')).statusCode, 403);
    });

    test('the OpenAPI document is valid JSON with every path and its schemas; the docs page lists them', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      const doc = JSON.parse(res.body);
      assert.equal(doc.openapi, '3.0.3');
      assert.ok(doc.info.title && doc.info.version);
      assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/v1/leads', '/api/v1/leads/{id}', '/api/v1/leads/{id}/comments', '/api/v1/stages']);
      assert.ok(doc.paths['/api/v1/leads'].post && doc.paths['/api/v1/leads'].get);
      assert.equal(doc.paths['/api/v1/leads'].post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/LeadInput');
      assert.ok(doc.paths['/api/v1/leads/{id}'].get.parameters.some((p: { name: string; in: string }) => p.name === 'id' && p.in === 'path'));
      assert.ok(doc.paths['/api/v1/leads'].get.parameters.some((p: { name: string; in: string }) => p.name === 'page' && p.in === 'query'));
      for (const s of ['Lead', 'LeadInput', 'LeadDetail', 'LeadPage', 'Comment', 'CommentInput', 'Stage', 'Error']) assert.ok(doc.components.schemas[s], s);
      assert.deepEqual(doc.components.schemas.LeadInput.required.sort(), ['budget', 'deal_name', 'phone']);
      assert.equal(doc.components.securitySchemes.apiKey.scheme, 'bearer');
      // Every $ref resolves.
      const refs = [...res.body.matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map((m) => m[1]!);
      for (const r of refs) assert.ok(doc.components.schemas[r], `$ref ${r}`);
      for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, unknown>; operationId: string }>>)) {
        for (const op of Object.values(ops)) {
          assert.ok(op.operationId, path);
          assert.ok(op.responses['401'] && op.responses['429'], `${path} documents 401 and 429`);
        }
      }
      // The schemas are usable JSON Schema: a real lead validates against Lead, a real input against LeadInput.
      const ajv = new Ajv({ strict: false, validateFormats: false });
      for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
      const created = (await api('POST', '/api/v1/leads', borisKey, { payload: { ...lead, phone: '+380931234777' } })).json();
      assert.ok(ajv.validate('#/components/schemas/Lead', created), JSON.stringify(ajv.errors));
      assert.ok(ajv.validate('#/components/schemas/LeadInput', lead), JSON.stringify(ajv.errors));
      assert.ok(!ajv.validate('#/components/schemas/LeadInput', { deal_name: 'x' }));

      const docs = await t.app.inject({ method: 'GET', url: '/api/v1/docs', headers: { accept: 'text/html' } });
      assert.equal(docs.statusCode, 200);
      assert.match(docs.body, /\/api\/v1\/leads\/:id\/comments/);
    });

    test('the plaintext key is never logged', async () => {
      await new Promise((r) => setTimeout(r, 300));
      const dir = t.logDir;
      assert.ok(existsSync(dir));
      const text = readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
      assert.match(text, /API key created/, 'the log is being written');
      for (const token of tokens) {
        assert.ok(!text.includes(token.slice(4)), 'no key in the log');
        assert.ok(!text.includes(hashApiToken(token)), 'nor its hash');
      }
    });
  });
}
