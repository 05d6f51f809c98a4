// The dashboard's cards and charts, and its whole rendered body, are cached under the lead version the
// database keeps per agent (migrations/0012, 0013): with a long cache expiry, every change to the leads —
// or to an agent's name or admin — still shows at once, and nothing of one request is reused for another.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { KyselyPlugin } from 'kysely';
import { type AgentFigureCaches, cachedSummary, filterSchema, summary, type Summary } from '../src/dashboard/queries.server.ts';
import { TtlCache } from '../src/platform/cache.ts';
import type { CurrentUser } from '../src/views/context.ts';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

let groupedScans = 0;
let leadReads = 0;
let statements = 0;
let lastGrouped = '';
// Counts the summary's grouped scan (the statement the cache exists to avoid), and every read of leads.
const counter: KyselyPlugin = {
  transformQuery: (args) => {
    statements++;
    const text = JSON.stringify(args.node);
    if (args.node.kind === 'SelectQueryNode' && args.node.groupBy && text.includes('filter (where is_transferred)')) {
      groupedScans++;
      lastGrouped = JSON.stringify(args.node.where ?? null);
    }
    if (args.node.kind === 'SelectQueryNode' && text.includes('"name":"leads"')) leadReads++;
    return args.node;
  },
  transformResult: async (args) => args.result,
};

/** Pipelined HTTP/1.1 responses read back from one socket, each cut at its Content-Length. */
function splitResponses(bytes: Buffer): { status: number; headers: string; body: Buffer }[] {
  const out: { status: number; headers: string; body: Buffer }[] = [];
  for (let at = 0; at < bytes.length;) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const headers = bytes.subarray(at, end).toString('latin1');
    const length = Number(/^content-length: (\d+)$/im.exec(headers)?.[1]);
    if (end + 4 + length > bytes.length) break;
    out.push({ status: Number(headers.slice(9, 12)), headers, body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

const total = (html: string) => Number(/data-testid="card-total">(\d+)</.exec(html)?.[1] ?? NaN);
/** The cached part of the page: what lies inside the dashboard body. */
const body = (html: string) => html.slice(html.indexOf('data-testid="dashboard-body"'), html.indexOf('</main>'));
const closed = (html: string) => Number(/data-testid="card-closed">(\d+)</.exec(html)?.[1] ?? NaN);

for (const kind of databaseKinds()) {
  describe(`dashboard figures cache [${kind}]`, () => {
    let t: TestApp;
    let borisId: number; let annaId: number; let adminId: number;
    let anna: Client; let boris: Client; let admin: Client;
    before(async () => {
      // An hour: anything seen below within the test was not an expiry.
      t = await startTestApp(kind, { wrapDb: (db) => db.withPlugin(counter), env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', DASHBOARD_CACHE_SECONDS: '3600' } });
      adminId = await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin' });
      annaId = await seedUser(t, { username: 'anna', password: 'anna-password-1', admin_id: adminId });
      borisId = await seedUser(t, { username: 'boris', password: 'boris-password-1' });
      anna = new Client(t.app); boris = new Client(t.app); admin = new Client(t.app);
      await anna.login('anna', 'anna-password-1');
      await boris.login('boris', 'boris-password-1');
      await admin.login('chief', 'chief-password-1');
    });
    after(() => t.close());

    // The app on a real port, for the tests that need real connections (opened once).
    let open: Promise<string> | undefined;
    const listening = () => (open ??= t.app.listen({ port: 0, host: '127.0.0.1' }));

    let phone = 1000;
    const create = async (c: Client, dealName = 'Клієнт Кешу') => {
      await c.get('/leads/new');
      const res = await c.post('/leads', { deal_name: dealName, phone: `+38050123${phone++}`, budget: '200к–500к' });
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      return Number(/\/leads\/(\d+)/.exec(String(res.headers.location))![1]);
    };
    const figures = async (c: Client, query = '') => {
      const res = await c.get(`/dashboard${query}`);
      assert.equal(res.statusCode, 200);
      return res.body;
    };

    test('an unchanged dashboard is served from the cache: the grouped scan runs once', async () => {
      await figures(anna);
      groupedScans = 0;
      await figures(anna);
      await figures(anna, '?page=2&sort=deal_name');
      assert.equal(groupedScans, 0, 'paging and sorting reuse the figures');
      await figures(anna, `?source=${encodeURIComponent('сайт')}`);
      assert.equal(groupedScans, 1, 'another filter has its own figures');
    });

    test("a lead created shows at once in the agent's and the admins' figures", async () => {
      const annaBefore = total(await figures(anna));
      const adminBefore = total(await figures(admin));
      const mineBefore = total(await figures(admin, '?agent=mine'));
      await create(anna);
      assert.equal(total(await figures(anna)), annaBefore + 1);
      assert.equal(total(await figures(admin)), adminBefore + 1);
      assert.equal(total(await figures(admin, '?agent=mine')), mineBefore + 1, 'anna is one of chief\'s brokers');
    });

    test("another agent's change does not touch an agent's cached figures, and is seen by admins", async () => {
      await figures(anna);
      const adminBefore = total(await figures(admin));
      groupedScans = 0;
      await create(boris);
      await figures(anna);
      assert.equal(groupedScans, 0, "boris's lead leaves anna's figures cached");
      assert.equal(total(await figures(admin)), adminBefore + 1);
    });

    test("after one agent's change an admin's figures read only that agent's leads again (decision 025)", async () => {
      await create(anna);
      await create(boris);
      await figures(admin);
      await figures(admin, '?agent=mine');
      await create(boris);
      groupedScans = 0;
      const html = await figures(admin);
      assert.equal(groupedScans, 1);
      const listed = /"agent_id".*"values":\[([\d,]*)\]/.exec(lastGrouped)?.[1];
      assert.equal(listed, String(borisId), "the scan reads boris's leads only: anna's figures are reused");
      groupedScans = 0;
      await figures(admin, '?agent=mine');
      assert.equal(groupedScans, 0, "boris is not chief's broker: \"my brokers\" reuses every agent's figures");
      assert.equal(total(html), Number((await t.app.db.selectFrom('leads').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n));
    });

    test("an admin's figures summed per agent equal one scan of every lead, charts included", async () => {
      await create(anna, 'Клієнт Суми');
      const admins: CurrentUser = { id: adminId, username: 'chief', displayName: 'chief', email: '', role: 'admin', mustChangePassword: false };
      for (const query of [{}, { agent: 'mine' }, { agent: String(borisId) }]) {
        const f = filterSchema.parse(query);
        const caches: AgentFigureCaches = { groups: new TtlCache(60_000, 100), weeks: new TtlCache(60_000, 100) };
        const scan: Summary = await summary(t.app.db, admins, f);
        groupedScans = 0;
        const summed = await cachedSummary(t.app.db, admins, f, new TtlCache(60_000, 10), 1, caches);
        assert.equal(groupedScans, 1, 'summed per agent, not scanned by summary()');
        assert.match(lastGrouped, /agent_id/);
        assert.deepEqual(summed, scan, JSON.stringify(query));
        assert.ok(scan.cards.total > 0 && scan.charts.weekly.length > 0);
      }
    });

    test('closing, reassigning and deleting show at once for everyone concerned', async () => {
      const id = await create(anna);
      const closedBefore = closed(await figures(anna));
      const res = await anna.post(`/leads/${id}/close`);
      assert.equal(res.statusCode, 303);
      assert.equal(closed(await figures(anna)), closedBefore + 1);

      const annaBefore = total(await figures(anna));
      const borisBefore = total(await figures(boris));
      assert.equal((await admin.post(`/leads/${id}/reassign`, { agent_id: String(borisId) })).statusCode, 303);
      assert.equal(total(await figures(anna)), annaBefore - 1, 'the old agent loses it');
      assert.equal(total(await figures(boris)), borisBefore + 1, 'the new agent gets it');

      const adminBefore = total(await figures(admin));
      assert.equal((await admin.post(`/leads/${id}/delete`)).statusCode, 303);
      assert.equal(total(await figures(boris)), borisBefore);
      assert.equal(total(await figures(admin)), adminBefore - 1);
    });

    test('a change written outside the app (e.g. the HubSpot pull) is seen at once too', async () => {
      const id = await create(anna);
      await figures(anna);
      await t.app.db.updateTable('leads').set({ hubspot_stage_label: 'Переговори з кешем' }).where('id', '=', id).execute();
      assert.match(await figures(anna), /Переговори з кешем/);
    });

    test('an unchanged page is rendered once: a repeat reads no lead and gets the same body', async () => {
      await create(anna);
      const first = await figures(anna, '?sort=deal_name');
      leadReads = 0;
      const again = await figures(anna, '?sort=deal_name');
      assert.equal(leadReads, 0, 'the repeat is served from the rendered body');
      assert.equal(body(again), body(first));
      for (const c of [anna, admin]) {
        await figures(c);
        statements = 0;
        await figures(c);
        assert.equal(statements, 1, 'a repeat is one statement: the session lookup, which reads the lead version too');
      }
      await figures(anna, '?sort=deal_name&order=asc');
      assert.ok(leadReads > 0, 'another order is its own page');
    });

    test('over real connections, concurrent dashboards each carry one token of their own, in every place', async () => {
      await figures(anna);
      await figures(anna);
      const address = await listening();
      const cookie = [...anna.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const bodies = await Promise.all(Array.from({ length: 200 }, async () => {
        const res = await fetch(`${address}/dashboard`, { headers: { cookie } });
        assert.equal(res.status, 200);
        return res.text();
      }));
      const tokenPlaces = /(?:name="csrf-token" content|name="_csrf" value)="([^"]+)"/g;
      const tokens = bodies.map((b) => {
        const found = [...b.matchAll(tokenPlaces)].map((m) => m[1]);
        assert.ok(found.length >= 2, 'the meta tag and the sign-out form at least');
        assert.equal(new Set(found).size, 1, 'one token in every place of a page');
        return found[0];
      });
      assert.equal(new Set(tokens).size, bodies.length, 'no two pages share a token');
      const withoutTokens = (b: string) => b.replace(tokenPlaces, (place, token: string) => place.replace(token, ''));
      for (const b of bodies) assert.equal(withoutTokens(b), withoutTokens(bodies[0]!), 'otherwise the same page');
    });

    test('a dashboard asked again is sent gzipped to a client that takes gzip: the same page, a working token (decision 031)', async () => {
      const query = '?sort=budget&order=asc';
      const gzipped = { 'accept-encoding': 'gzip, deflate, br, zstd' };
      await figures(anna); // any flash from signing in is shown (a page with a flash is never a cached one)
      const first = await anna.get(`/dashboard${query}`, gzipped);
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers['content-encoding'], undefined, 'a page asked once is not compressed');
      assert.equal(first.headers.vary, 'accept-encoding');
      const second = await anna.get(`/dashboard${query}`, gzipped);
      assert.equal(second.headers['content-encoding'], 'gzip');
      assert.equal(second.headers.vary, 'accept-encoding', 'caches keep the two encodings apart');
      assert.equal(Number(second.headers['content-length']), second.rawPayload.length);
      assert.ok(second.rawPayload.length < first.rawPayload.length / 2, `${second.rawPayload.length} bytes gzipped, ${first.rawPayload.length} plain`);
      const page = gunzipSync(second.rawPayload).toString('utf8');
      const token = /<meta name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
      assert.notEqual(token, /<meta name="csrf-token" content="([^"]+)"/.exec(first.body)![1], "each page has the request's own token");
      assert.equal(body(page), body(first.body), 'the same dashboard');
      // The token read from the gzipped page signs a form: the client gets what it can use.
      const res = await anna.post('/locale', { locale: 'uk', next: '/dashboard', _csrf: token }, { csrf: false });
      assert.equal(res.statusCode, 303);
      const plain = await anna.get(`/dashboard${query}`);
      assert.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding, no compression');
      assert.equal(body(plain.body), body(first.body));
      const refused = await anna.get(`/dashboard${query}`, { 'accept-encoding': 'gzip;q=0, br' });
      assert.equal(refused.headers['content-encoding'], undefined, 'gzip refused by q=0');
    });

    for (const encoding of ['identity', 'gzip']) {
      test(`a page queued behind a client that does not read keeps its token (bytes used again only once written; ${encoding})`, async () => {
        await figures(anna);
        await figures(anna);
        const address = new URL(await listening());
        const cookie = [...anna.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
        const { connect } = await import('node:net');
        const socket = connect(Number(address.port), address.hostname);
        await new Promise((resolve) => socket.once('connect', resolve));
        const count = encoding === 'gzip' ? 1500 : 300; // more than the socket buffers hold, so most wait in the server
        socket.pause();
        socket.write(`GET /dashboard HTTP/1.1\r\nhost: x\r\ncookie: ${cookie}\r\naccept-encoding: ${encoding}\r\n\r\n`.repeat(count));
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.resume();
        let responses: { status: number; headers: string; body: Buffer }[] = [];
        for (let i = 0; i < 200 && responses.length < count; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          responses = splitResponses(Buffer.concat(chunks));
        }
        socket.destroy();
        assert.equal(responses.length, count);
        const tokenPlaces = /(?:name="csrf-token" content|name="_csrf" value)="([^"]+)"/g;
        const tokens = responses.map((r) => {
          assert.equal(r.status, 200);
          assert.equal(/^content-encoding: gzip$/im.test(r.headers), encoding === 'gzip');
          const page = (encoding === 'gzip' ? gunzipSync(r.body) : r.body).toString('utf8');
          const found = [...page.matchAll(tokenPlaces)].map((m) => m[1]);
          assert.equal(new Set(found).size, 1, 'one token in every place of a page');
          return found[0];
        });
        assert.equal(new Set(tokens).size, count, 'no two pages share a token');
      });
    }

    test('the cached body keeps every value escaped', async () => {
      await create(anna, '<script>alert(1)</script> Кеш');
      for (let i = 0; i < 2; i++) {
        const html = await figures(anna, '?sort=deal_name&order=asc');
        assert.match(html, /&lt;script>alert\(1\)&lt;\/script> Кеш/);
        assert.doesNotMatch(html, /<script>alert/);
      }
    });

    test("the CSRF token, flashes and greeting are each request's own, not the cached body's", async () => {
      await figures(anna);
      // A second session of the same agent gets the cached body with its own token, which works.
      const other = new Client(t.app);
      await other.login('anna', 'anna-password-1');
      const html = await figures(other);
      assert.notEqual(other.csrfToken, anna.csrfToken);
      assert.ok(html.includes(other.csrfToken));
      assert.ok(!html.includes(anna.csrfToken));
      const res = await other.post('/leads', { deal_name: 'Клієнт Другої Сесії', phone: `+38050123${phone++}`, budget: '200к–500к' });
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      // The flash of the lead just saved is shown once, around the body.
      assert.equal((await figures(other)).includes('alert-success'), true);
      assert.equal((await figures(other)).includes('alert-success'), false);
      // Two admins share figures but each is greeted by name.
      await seedUser(t, { username: 'deputy', password: 'deputy-password-1', role: 'admin', display_name: 'Заступник' });
      const deputy = new Client(t.app);
      await deputy.login('deputy', 'deputy-password-1');
      await figures(admin);
      assert.match(await figures(deputy), /data-testid="dashboard-hello">Вітаємо, Заступник</);
      assert.match(await figures(admin), /data-testid="dashboard-hello">Вітаємо, chief</);
    });

    test('the language is part of the key', async () => {
      assert.match(await figures(anna), /Всього лідів/);
      await anna.post('/locale', { locale: 'en', next: '/dashboard' });
      const english = await figures(anna);
      assert.match(english, /Total leads/);
      assert.doesNotMatch(english, /Всього лідів/);
      await anna.post('/locale', { locale: 'uk', next: '/dashboard' });
      assert.match(await figures(anna), /Всього лідів/);
    });

    test("renaming an agent or moving them to another admin shows at once (migrations/0013)", async () => {
      await create(anna);
      assert.match(await figures(admin), /<td>anna<\/td>/);
      const mineBefore = total(await figures(admin, '?agent=mine'));
      assert.ok(mineBefore > 0);
      await t.app.db.updateTable('users').set({ display_name: 'Анна Перейменована' }).where('id', '=', annaId).execute();
      const renamed = await figures(admin);
      assert.match(renamed, /<td>Анна Перейменована<\/td>/);
      assert.doesNotMatch(renamed, /<td>anna<\/td>/);
      await t.app.db.updateTable('users').set({ admin_id: null }).where('id', '=', annaId).execute();
      assert.equal(total(await figures(admin, '?agent=mine')), 0, "anna is no longer chief's broker");
      await t.app.db.updateTable('users').set({ admin_id: adminId }).where('id', '=', annaId).execute();
      assert.equal(total(await figures(admin, '?agent=mine')), mineBefore);
    });
  });
}
