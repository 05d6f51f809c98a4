import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, seedUser, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

for (const kind of databaseKinds()) {
  describe(`auth [${kind}]`, () => {
    let t: TestApp;
    let adminId: number;
    before(async () => {
      t = await startTestApp(kind);
      adminId = await seedUser(t, { username: 'boss', password: 'boss-password-1', role: 'admin', display_name: 'Олена Адмінова', email: 'boss@agency.ua' });
    });
    after(() => t.close());

    test('registration shows admins by display name only, never their email or username', async () => {
      const c = new Client(t.app);
      const res = await c.get('/register');
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /Олена Адмінова/);
      assert.doesNotMatch(res.body, /boss@agency\.ua/);
      assert.doesNotMatch(res.body, />boss</);
    });

    test('registration with bad input re-shows the form with messages next to fields and the typed values', async () => {
      const c = new Client(t.app);
      await c.get('/register');
      const res = await c.post('/register', { username: 'Ivan', display_name: 'Іван Петренко', email: 'not-an-email', admin_id: '', password: 'short', confirm_password: 'other' });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /data-field-error="username"[^>]*>Використовуйте лише малі літери/);
      assert.match(res.body, /data-field-error="email"/);
      assert.match(res.body, /data-field-error="admin_id"/);
      assert.match(res.body, /data-field-error="password"[^>]*>Пароль має містити щонайменше 10 символів/);
      assert.match(res.body, /value="Іван Петренко"/);
      assert.match(res.body, /value="not-an-email"/);
      assert.doesNotMatch(res.body, /value="short"/, 'passwords are never echoed back');
    });

    test('register, log in, see the dashboard, log out', async () => {
      const c = new Client(t.app);
      await c.get('/register');
      const reg = await c.post('/register', { username: 'ivan petrenko', display_name: 'Іван Петренко', email: 'Ivan@Example.com', admin_id: String(adminId), password: 'correct horse 1', confirm_password: 'correct horse 1' });
      assert.equal(reg.statusCode, 303);
      assert.equal(reg.headers.location, '/login');
      const row = await t.app.db.selectFrom('users').selectAll().where('username', '=', 'ivan_petrenko').executeTakeFirstOrThrow();
      assert.equal(row.role, 'agent');
      assert.equal(row.admin_id, adminId);
      assert.equal(row.email, 'ivan@example.com');
      assert.match(row.password_hash, /^\$2b\$04\$/);

      const login = await c.login('ivan_petrenko', 'correct horse 1');
      assert.equal(login.statusCode, 303);
      assert.equal(login.headers.location, '/dashboard');
      const dash = await c.get('/dashboard');
      assert.equal(dash.statusCode, 200);
      assert.match(dash.body, /Вітаємо, Іван Петренко/);

      const out = await c.post('/logout');
      assert.equal(out.statusCode, 303);
      const again = await c.get('/dashboard');
      assert.equal(again.statusCode, 302);
      assert.match(String(again.headers.location), /^\/login\?next=/);
    });

    test('duplicate username or email is refused with a field message', async () => {
      await seedUser(t, { username: 'taken_name', password: 'whatever-password', email: 'taken@example.com' });
      const c = new Client(t.app);
      await c.get('/register');
      const res = await c.post('/register', { username: 'taken_name', display_name: 'X Y', email: 'TAKEN@example.com', admin_id: String(adminId), password: 'long enough pw', confirm_password: 'long enough pw' });
      assert.equal(res.statusCode, 409);
      assert.match(res.body, /data-field-error="username"/);
      assert.match(res.body, /data-field-error="email"/);
    });
  });
}
