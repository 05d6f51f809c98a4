import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../src/auth/password.server.ts';
import { parseOrThrow } from '../src/platform/validation.ts';
import { ensureInitialAdmin } from '../src/users/bootstrap-admin.server.ts';
import { en } from '../src/views/i18n/en.ts';
import { uk } from '../src/views/i18n/uk.ts';
import { nextMigrationName } from '../scripts/db-new-migration.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

for (const kind of databaseKinds()) {
  describe(`error handling [${kind}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(kind, {
        extraRoutes: (app) => {
          app.get('/probe/boom', { config: { public: true } }, async () => {
            throw new Error('secret internals: select * from users where password = hunter2');
          });
          app.post('/probe/json', { config: { public: true } }, async (request) => {
            const body = parseOrThrow(z.object({ amount: z.coerce.number().min(1, 'validation.invalid'), email: z.email('validation.email') }), request.body);
            return { ok: true, body };
          });
        },
      });
    });
    after(() => t.close());

    test('an unexpected error is a 500 page with a request id and nothing of the exception', async () => {
      const res = await new Client(t.app).get('/probe/boom');
      assert.equal(res.statusCode, 500);
      assert.match(res.body, /Виникла помилка. Спробуйте пізніше./);
      assert.match(res.body, new RegExp(`Код запиту: ${res.headers['x-request-id']}`));
      assert.doesNotMatch(res.body, /secret internals|hunter2|select|Error:|at /);
    });

    test('the same error as JSON carries only a message and the request id', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/probe/boom', headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 500);
      assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'requestId']);
      assert.equal(res.json().requestId, res.headers['x-request-id']);
      assert.doesNotMatch(res.body, /hunter2|stack/);
    });

    test('bad JSON input answers 400 {error, fields} naming each field', async () => {
      const c = new Client(t.app);
      const res = await c.json('POST', '/probe/json', { amount: 0, email: 'nope' });
      assert.equal(res.statusCode, 400);
      const body = res.json();
      assert.equal(body.error, 'Перевірте виділені поля.');
      assert.deepEqual(Object.keys(body.fields).sort(), ['amount', 'email']);
      assert.equal(body.fields.email, 'Введіть коректну адресу email');
      const ok = await c.json('POST', '/probe/json', { amount: 3, email: 'a@b.co' });
      assert.equal(ok.statusCode, 200);
    });

    test('malformed JSON is a 400, never a 500', async () => {
      const c = new Client(t.app);
      await c.get('/login');
      const res = await t.app.inject({
        method: 'POST', url: '/probe/json', payload: '{"amount": ',
        headers: { 'content-type': 'application/json', accept: 'application/json', cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': c.csrfToken },
      });
      assert.equal(res.statusCode, 400);
    });

    test('English is switchable and remembered', async () => {
      const c = new Client(t.app);
      await c.get('/login');
      const res = await c.post('/locale', { locale: 'en', next: '/register' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/register');
      const page = await c.get('/login');
      assert.match(page.body, /<html lang="en"/);
      assert.match(page.body, />Log in</);
      const err = await c.get('/no-such-page');
      assert.match(err.body, /Page not found/);
    });

    test('after a form is re-shown, the language switch returns to the page, not the POST address', async () => {
      const c = new Client(t.app);
      await c.get('/register');
      const res = await c.post('/register', { username: 'x' }, { headers: { referer: 'http://localhost:80/register', host: 'localhost:80' } });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /name="next" value="\/register"/);
      const other = await c.post('/register', { username: 'x' }, { headers: { referer: 'https://evil.example/x' } });
      assert.match(other.body, /name="next" value="\/dashboard"/);
    });

    test('/healthz and /readyz', async () => {
      const h = await t.app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(h.statusCode, 200);
      assert.equal(h.json().status, 'ok');
      const r = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().status, 'ready');
    });

    test('the first start creates exactly one admin with a random password that must be changed', async () => {
      const opts = { username: 'admin', email: 'admin@propart.local', bcryptCost: 4 };
      const [a, b] = await Promise.all([ensureInitialAdmin(t.app.db, opts), ensureInitialAdmin(t.app.db, opts)]);
      const created = [a, b].filter(Boolean);
      assert.equal(created.length, 1);
      assert.ok(created[0]!.password.length >= 16);
      assert.equal(await ensureInitialAdmin(t.app.db, opts), null, 'never again');
      const admins = await t.app.db.selectFrom('users').selectAll().where('role', '=', 'admin').execute();
      assert.equal(admins.length, 1);
      assert.equal(admins[0]!.must_change_password, true);
      assert.ok(await verifyPassword(created[0]!.password, admins[0]!.password_hash));
      const again = await startTestApp(kind);
      try {
        const other = await ensureInitialAdmin(again.app.db, opts);
        assert.notEqual(other?.password, created[0]!.password, 'no fixed default password');
      } finally {
        await again.close();
      }
    });
  });
}

describe('building blocks', () => {
  test('bcrypt cost 12 by default', async () => {
    const hash = await hashPassword('a long password');
    assert.match(hash, /^\$2b\$12\$/);
    assert.ok(await verifyPassword('a long password', hash));
    assert.equal(await verifyPassword('another password', hash), false);
  });

  test('the English catalog has every Ukrainian key, none empty', () => {
    assert.deepEqual(Object.keys(en).sort(), Object.keys(uk).sort());
    for (const [k, v] of [...Object.entries(uk), ...Object.entries(en)]) assert.ok(v.trim().length > 0, k);
  });

  test('new migration files get the next number', () => {
    assert.equal(nextMigrationName(['0001_users_and_sessions.ts', '0002_leads.ts'], 'Add comments!'), '0003_add_comments.ts');
    assert.equal(nextMigrationName([], 'init'), '0001_init.ts');
    assert.throws(() => nextMigrationName([], '  '));
  });
});
