import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedUser, startTestApp, TEST_SECRET, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';
import { HSTS, securityHeaders } from '../src/platform/security.ts';

const concrete = (url: string) => url.replace(/:[A-Za-z_]+/g, '1').replace(/\*$/, 'x');

for (const kind of databaseKinds()) {
  describe(`security [${kind}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(kind);
      await seedUser(t, { username: 'agent_one', password: 'agent-one-password' });
    });
    after(() => t.close());

    test('every registered state-changing route answers 403 without a CSRF token', async () => {
      const routes = t.app.routeTable.filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method));
      assert.ok(routes.length >= 6, `expected the app's POST routes, got ${routes.length}`);
      const anon = new Client(t.app);
      const agent = new Client(t.app);
      assert.equal((await agent.login('agent_one', 'agent-one-password')).statusCode, 303);
      for (const r of routes) {
        for (const c of [anon, agent]) {
          const res = await c.app.inject({
            method: r.method as 'POST', url: concrete(r.url), payload: 'a=1',
            headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
          });
          // API-key routes (/api/v1) take no cookies and so no CSRF token: without a key they answer 401.
          const expected = r.apiKey ? 401 : 403;
          assert.equal(res.statusCode, expected, `${r.method} ${r.url} answered ${res.statusCode} without a token`);
        }
      }
    });

    test('anonymous multipart uploads are refused before their body is read', async () => {
      const boundary = 'x-boundary';
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--${boundary}--\r\n`;
      const res = await t.app.inject({ method: 'POST', url: '/login', payload: body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'application/json' } });
      assert.equal(res.statusCode, 401);
    });

    test('only the upload forms take multipart bodies: elsewhere one is refused unread (415), even signed in', async () => {
      const c = new Client(t.app);
      await c.login('agent_one', 'agent-one-password');
      const before = await t.app.db.selectFrom('leads').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const res = await c.multipart('/leads', { deal_name: 'Через multipart', phone: '+380501234567', budget: 'до 200к' }, [{ field: 'file', name: 'a.pdf', type: 'application/pdf', data: Buffer.from('%PDF-1.4') }]);
      assert.equal(res.statusCode, 415);
      assert.match(res.body, /Ця адреса не приймає дані такого формату \(наприклад, файли\)\./, 'a message that says what went wrong');
      const after = await t.app.db.selectFrom('leads').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), Number(before.n), 'nothing saved');
      const upload = await c.multipart('/verification', {}, [{ field: 'id_document', name: 'a.txt', type: 'text/plain', data: Buffer.from('not a scan') }]);
      assert.equal(upload.statusCode, 400, 'an upload form parses it and judges the file');
      assert.match(upload.body, /data-testid="verification-form"/);
    });

    test('a CSRF token from another browser is refused', async () => {
      const a = new Client(t.app);
      const b = new Client(t.app);
      await a.get('/login');
      await b.get('/login');
      const res = await b.post('/login', { username: 'agent_one', password: 'agent-one-password', _csrf: a.csrfToken });
      assert.equal(res.statusCode, 403);
    });

    test('each page gets a token of its own, made from the cookie\'s secret; a token changed by one character is refused', async () => {
      const c = new Client(t.app);
      await c.get('/login'); // the first page: the plugin makes the secret and its cookie
      const tokens = new Set<string>();
      for (let i = 0; i < 5; i++) {
        await c.get('/login');
        assert.match(c.csrfToken, /^[0-9a-f]{8}-[\w-]{43}$/, 'salt "-" base64url(sha256)');
        tokens.add(c.csrfToken);
      }
      assert.equal(tokens.size, 5, 'a new salt on every page');
      const good = c.csrfToken;
      const last = good.at(-1) === 'A' ? 'B' : 'A';
      const bad = await c.post('/login', { username: 'agent_one', password: 'agent-one-password', _csrf: good.slice(0, -1) + last });
      assert.equal(bad.statusCode, 403);
      const ok = await c.post('/login', { username: 'agent_one', password: 'agent-one-password', _csrf: good });
      assert.notEqual(ok.statusCode, 403, 'an older page\'s token still works: tokens are checked against the secret');
    });

    test('security headers: strict CSP without inline script, no framing, nosniff, referrer policy, no HSTS in development', async () => {
      const res = await new Client(t.app).get('/login');
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.equal(res.headers['referrer-policy'], 'same-origin');
      assert.equal(res.headers['strict-transport-security'], undefined);
      assert.doesNotMatch(res.body, /<script>|<script [^>]*>[^<]/, 'no inline script in pages');
    });

    test('every answer carries the security headers: a page, a 404, a static file, JSON; no legacy headers; HSTS only over HTTPS', async () => {
      const client = new Client(t.app);
      const answers = [
        await client.get('/login'),
        await client.get('/no/such/page'),
        await client.get('/static/app.css'),
        await t.app.inject({ method: 'GET', url: '/healthz' }),
      ];
      const want = securityHeaders();
      assert.ok(Object.keys(want).length >= 9, 'helmet set its headers');
      for (const res of answers) {
        for (const [name, value] of Object.entries(want)) assert.equal(res.headers[name], value, `${name} on ${res.statusCode}`);
      }
      assert.equal(answers[2]!.statusCode, 200, 'the static file exists');
      assert.equal(want['x-dns-prefetch-control'], 'off');
      assert.equal(want['strict-transport-security'], undefined, 'HSTS is added per request, over HTTPS only');
      for (const legacy of ['x-xss-protection', 'x-download-options']) {
        for (const res of answers) assert.equal(res.headers[legacy], undefined, `${legacy}: read by no supported browser`);
      }
    });

    test('unknown pages answer a 404 page or JSON', async () => {
      const html = await new Client(t.app).get('/no/such/page');
      assert.equal(html.statusCode, 404);
      assert.match(html.body, /Сторінку не знайдено/);
      const json = await t.app.inject({ method: 'GET', url: '/api/nothing', headers: { accept: 'application/json' } });
      assert.equal(json.statusCode, 404);
      assert.equal(json.json().error, 'Сторінку не знайдено.');
    });

    test('private pages redirect anonymous visitors to the login form and keep where they were going', async () => {
      const res = await new Client(t.app).get('/profile');
      assert.equal(res.statusCode, 302);
      assert.equal(res.headers.location, '/login?next=%2Fprofile');
      const json = await t.app.inject({ method: 'GET', url: '/profile', headers: { accept: 'application/json' } });
      assert.equal(json.statusCode, 401);
    });

    test('the login form never redirects to another site', async () => {
      const c = new Client(t.app);
      await c.get('/login?next=//evil.example/x');
      const res = await c.post('/login', { username: 'agent_one', password: 'agent-one-password', next: '//evil.example/x' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/dashboard');
    });
  });
}

describe('production settings', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('pglite', { env: { NODE_ENV: 'production', SECRET_KEY: TEST_SECRET, TRUST_PROXY: '127.0.0.1' } });
    await seedUser(t, { username: 'prod_agent', password: 'prod-agent-password' });
  });
  after(() => t.close());

  test('HSTS is sent over HTTPS only (RFC 6797 §7.2), as the trusted proxy tells it', async () => {
    const overHttps = await t.app.inject({ method: 'GET', url: '/login', headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(overHttps.headers['strict-transport-security'], HSTS);
    assert.equal(overHttps.headers['content-security-policy'], securityHeaders()['content-security-policy'], 'and the other headers with it');
    const plain = await t.app.inject({ method: 'GET', url: '/login' });
    assert.equal(plain.headers['strict-transport-security'], undefined, 'not over plain HTTP');
    assert.equal(plain.headers['x-frame-options'], 'DENY');
    const untrusted = await t.app.inject({ method: 'GET', url: '/login', remoteAddress: '203.0.113.9', headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(untrusted.headers['strict-transport-security'], undefined, 'a client that is not the proxy cannot claim HTTPS');
  });

  test('cookies are Secure, HttpOnly and SameSite=Lax', async () => {
    const c = new Client(t.app, { 'x-forwarded-proto': 'https' });
    await c.get('/login');
    const res = await c.post('/login', { username: 'prod_agent', password: 'prod-agent-password' });
    assert.equal(res.statusCode, 303);
    const sid = [res.headers['set-cookie']].flat().find((h) => String(h).startsWith('propart_sid='));
    assert.ok(sid, 'session cookie set');
    assert.match(String(sid), /; HttpOnly/);
    assert.match(String(sid), /; Secure/);
    assert.match(String(sid), /; SameSite=Lax/);
  });
});
