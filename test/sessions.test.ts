import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { cacheCaughtUp, seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

for (const kind of databaseKinds()) {
  describe(`login, lockout and sessions [${kind}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
    });
    after(() => t.close());

    const userRow = (username: string) => t.app.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirstOrThrow();

    test('five wrong passwords lock the account for 30 minutes; the right one is then refused too', async () => {
      await seedUser(t, { username: 'lock_me', password: 'the-right-password' });
      const c = new Client(t.app);
      for (let i = 1; i <= 4; i++) {
        const res = await c.login('lock_me', `wrong-${i}-password`);
        assert.equal(res.statusCode, 401);
        assert.match(res.body, /Невірне ім&#39;я користувача або пароль|Невірне ім'я користувача або пароль/);
        assert.equal((await userRow('lock_me')).failed_login_attempts, i);
      }
      const fifth = await c.login('lock_me', 'wrong-5-password');
      assert.equal(fifth.statusCode, 429);
      assert.match(fifth.body, /тимчасово заблоковано, спробуйте через 30 хв/);
      assert.doesNotMatch(fifth.body, /\{minutes\}/);
      const row = await userRow('lock_me');
      const minutes = (new Date(row.locked_until!).getTime() - Date.now()) / 60000;
      assert.ok(minutes > 29 && minutes <= 30, `locked for ${minutes} min`);
      const right = await c.login('lock_me', 'the-right-password');
      assert.equal(right.statusCode, 429);
      assert.equal(right.headers.location, undefined);
      // After the lock has passed, the right password works and the counter starts again.
      await t.app.db.updateTable('users').set({ locked_until: sql`now() - interval '1 second'` }).where('username', '=', 'lock_me').execute();
      assert.equal((await c.login('lock_me', 'the-right-password')).statusCode, 303);
      assert.equal((await userRow('lock_me')).failed_login_attempts, 0);
    });

    test('unknown usernames are not counted and get the same message as a wrong password', async () => {
      const c = new Client(t.app);
      const res = await c.login('nobody_here', 'some-password-1');
      assert.equal(res.statusCode, 401);
      assert.match(res.body, /Невірне ім/);
    });

    test('a deactivated account is refused only with the right password, and its sessions end at once', async () => {
      await seedUser(t, { username: 'soon_gone', password: 'soon-gone-password' });
      const c = new Client(t.app);
      assert.equal((await c.login('soon_gone', 'soon-gone-password')).statusCode, 303);
      assert.equal((await c.get('/dashboard')).statusCode, 200);
      await t.app.db.updateTable('users').set({ is_active: false }).where('username', '=', 'soon_gone').execute();
      const next = await c.get('/dashboard');
      assert.equal(next.statusCode, 302, 'the existing session no longer works');
      const wrong = await new Client(t.app).login('soon_gone', 'not-the-password');
      assert.doesNotMatch(wrong.body, /деактивовано/);
      const right = await new Client(t.app).login('soon_gone', 'soon-gone-password');
      assert.equal(right.statusCode, 403);
      assert.match(right.body, /деактивовано/);
    });

    test('locking an account ends its open sessions', async () => {
      await seedUser(t, { username: 'locked_later', password: 'locked-later-password' });
      const c = new Client(t.app);
      assert.equal((await c.login('locked_later', 'locked-later-password')).statusCode, 303);
      for (let i = 0; i < 5; i++) await new Client(t.app).login('locked_later', 'guessing-wrong-pw');
      assert.equal((await c.get('/dashboard')).statusCode, 302);
    });

    test('the session id rotates at login, lives server-side, and logout destroys it', async () => {
      await seedUser(t, { username: 'rotator', password: 'rotator-password' });
      const c = new Client(t.app);
      await c.login('rotator', 'rotator-password');
      const first = c.cookies.get('propart_sid');
      assert.ok(first);
      const id = (await userRow('rotator')).id;
      assert.equal((await t.app.db.selectFrom('sessions').select('id').where('user_id', '=', id).execute()).length, 1);
      await c.login('rotator', 'rotator-password');
      const second = c.cookies.get('propart_sid');
      assert.notEqual(second, first);
      const rows = await t.app.db.selectFrom('sessions').select('id').where('user_id', '=', id).execute();
      assert.equal(rows.length, 1, 'the old session row was replaced');
      assert.notEqual(rows[0]!.id, second, 'only a hash of the token is stored');
      // The old token is useless.
      const stale = new Client(t.app);
      stale.cookies.set('propart_sid', first!);
      assert.equal((await stale.get('/dashboard')).statusCode, 302);
      await c.post('/logout');
      assert.equal((await t.app.db.selectFrom('sessions').select('id').where('user_id', '=', id).execute()).length, 0);
    });

    test('sessions expire after the idle timeout and after the absolute lifetime', async () => {
      await seedUser(t, { username: 'sleepy', password: 'sleepy-password' });
      const id = (await userRow('sleepy')).id;
      const idle = new Client(t.app);
      await idle.login('sleepy', 'sleepy-password');
      await t.app.db.updateTable('sessions').set({ last_seen_at: sql`now() - interval '121 minutes'` }).where('user_id', '=', id).execute();
      await cacheCaughtUp(t.app);
      assert.equal((await idle.get('/dashboard')).statusCode, 302);

      const old = new Client(t.app);
      await old.login('sleepy', 'sleepy-password');
      assert.equal((await old.get('/dashboard')).statusCode, 200);
      await t.app.db.updateTable('sessions').set({ expires_at: sql`now() - interval '1 second'` }).where('user_id', '=', id).execute();
      await cacheCaughtUp(t.app); // a dashboard kept in memory hears of the moved expiry (migrations/0017)
      assert.equal((await old.get('/dashboard')).statusCode, 302);
    });

    test('a temporary password must be changed before anything else', async () => {
      await seedUser(t, { username: 'temp_pw', password: 'temporary-pass-1' });
      await t.app.db.updateTable('users').set({ must_change_password: true }).where('username', '=', 'temp_pw').execute();
      const c = new Client(t.app);
      const login = await c.login('temp_pw', 'temporary-pass-1');
      assert.equal(login.headers.location, '/profile/password');
      const dash = await c.get('/dashboard');
      assert.equal(dash.statusCode, 302);
      assert.equal(dash.headers.location, '/profile/password');
      const form = await c.get('/profile/password');
      assert.equal(form.statusCode, 200);
      const bad = await c.post('/profile/password', { current_password: 'wrong-current-1', new_password: 'brand-new-pass-1', confirm_password: 'brand-new-pass-1' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /data-field-error="current_password"/);
      const ok = await c.post('/profile/password', { current_password: 'temporary-pass-1', new_password: 'brand-new-pass-1', confirm_password: 'brand-new-pass-1' });
      assert.equal(ok.statusCode, 303);
      assert.equal((await c.get('/dashboard')).statusCode, 200);
      assert.equal((await userRow('temp_pw')).must_change_password, false);
    });

    test('changing the password ends the other sessions but keeps this one', async () => {
      await seedUser(t, { username: 'two_phones', password: 'two-phones-pass' });
      const phone = new Client(t.app);
      const laptop = new Client(t.app);
      await phone.login('two_phones', 'two-phones-pass');
      await laptop.login('two_phones', 'two-phones-pass');
      const res = await laptop.post('/profile/password', { current_password: 'two-phones-pass', new_password: 'two-phones-new-pass', confirm_password: 'two-phones-new-pass' });
      assert.equal(res.statusCode, 303);
      assert.equal((await laptop.get('/profile')).statusCode, 200);
      assert.equal((await phone.get('/profile')).statusCode, 302);
    });

    test('profile edit: username and email change, taken values get a field message and keep what was typed', async () => {
      await seedUser(t, { username: 'editor', password: 'editor-password' });
      await seedUser(t, { username: 'other_one', password: 'other-one-password', email: 'other@example.com' });
      const c = new Client(t.app);
      await c.login('editor', 'editor-password');
      await c.get('/profile');
      const clash = await c.post('/profile', { username: 'editor', display_name: 'Ред Актор', email: 'other@example.com' });
      assert.equal(clash.statusCode, 409);
      assert.match(clash.body, /data-field-error="email"/);
      assert.match(clash.body, /value="Ред Актор"/);
      const ok = await c.post('/profile', { username: 'editor_new', display_name: 'Ред Актор', email: 'editor.new@example.com' });
      assert.equal(ok.statusCode, 303);
      const row = await userRow('editor_new');
      assert.equal(row.email, 'editor.new@example.com');
      assert.equal(row.display_name, 'Ред Актор');
    });
  });
}

describe('login rate limit per real client IP', () => {
  const attempt = (t: TestApp, ip: string) => {
    const c = new Client(t.app, { 'x-forwarded-for': ip });
    return c.login('nobody', 'wrong-password-x').then((r) => r.statusCode);
  };

  test('without a trusted proxy, X-Forwarded-For is ignored: the 11th attempt in a minute gets 429, not 500', async () => {
    const t = await startTestApp('pglite');
    try {
      const codes: number[] = [];
      for (let i = 0; i < 11; i++) codes.push(await attempt(t, `203.0.113.${i}`));
      assert.deepEqual(codes.slice(0, 10), Array(10).fill(401));
      assert.equal(codes[10], 429);
      const json = await t.app.inject({ method: 'POST', url: '/login', payload: {}, headers: { accept: 'application/json', 'content-type': 'application/json' } });
      assert.equal(json.statusCode, 429);
      assert.match(json.json().error, /Забагато спроб/);
      assert.ok(Number(json.headers['retry-after']) > 0);
    } finally {
      await t.close();
    }
  });

  test('with Redis configured but unreachable, the limit still holds (counted per instance)', async () => {
    const { Redis } = await import('ioredis');
    const redis = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    const t = await startTestApp('pglite', { redis });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 11; i++) codes.push(await attempt(t, '203.0.113.9'));
      assert.deepEqual(codes.slice(0, 10), Array(10).fill(401));
      assert.equal(codes[10], 429);
    } finally {
      await t.close();
      redis.disconnect();
    }
  });

  test('behind a trusted proxy each client IP has its own bucket', async () => {
    const t = await startTestApp('pglite', { env: { TRUST_PROXY: '127.0.0.1' } });
    try {
      for (let i = 0; i < 10; i++) assert.equal(await attempt(t, '198.51.100.7'), 401);
      assert.equal(await attempt(t, '198.51.100.7'), 429);
      assert.equal(await attempt(t, '198.51.100.8'), 401, 'another client is not blocked by the first');
    } finally {
      await t.close();
    }
  });
});
