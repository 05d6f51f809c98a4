import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { TwoFactorTables } from '../src/auth/totp-store.server.ts';
import {
  base32Decode, base32Encode, decryptSecret, encryptSecret, generateSecret, hotp, otpauthUri, timeStep, totp, verifyTotp,
} from '../src/auth/totp.server.ts';
import { seedUser, startTestApp, TEST_SECRET, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

describe('TOTP (RFC 6238)', () => {
  // RFC 6238 Appendix B: 8 digits, the three HMAC variants with their own seeds.
  const seeds = {
    sha1: Buffer.from('12345678901234567890'),
    sha256: Buffer.from('12345678901234567890123456789012'),
    sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
  } as const;
  const vectors: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  test('the RFC test vectors', () => {
    for (const [seconds, s1, s256, s512] of vectors) {
      assert.equal(totp(seeds.sha1, seconds * 1000, { digits: 8 }), s1, `sha1 @ ${seconds}`);
      assert.equal(totp(seeds.sha256, seconds * 1000, { digits: 8, algorithm: 'sha256' }), s256, `sha256 @ ${seconds}`);
      assert.equal(totp(seeds.sha512, seconds * 1000, { digits: 8, algorithm: 'sha512' }), s512, `sha512 @ ${seconds}`);
    }
    // RFC 4226 Appendix D (HOTP, 6 digits).
    const hotpVectors = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    hotpVectors.forEach((v, i) => assert.equal(hotp(seeds.sha1, i), v));
  });

  test('base32 round trip, ±1 step window, replay refused', () => {
    assert.equal(base32Encode(Buffer.from('12345678901234567890')), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    const secret = generateSecret();
    assert.equal(secret.length, 32);
    assert.deepEqual(base32Decode(base32Encode(base32Decode(secret))), base32Decode(secret));
    const key = base32Decode(secret);
    const now = 1_700_000_000_000;
    const step = timeStep(now);
    assert.equal(verifyTotp(secret, totp(key, now), now), step);
    assert.equal(verifyTotp(secret, totp(key, now - 30_000), now), step - 1);
    assert.equal(verifyTotp(secret, totp(key, now + 30_000), now), step + 1);
    assert.equal(verifyTotp(secret, totp(key, now - 60_000), now), null);
    assert.equal(verifyTotp(secret, totp(key, now + 60_000), now), null);
    assert.equal(verifyTotp(secret, totp(key, now), now, step), null, 'a step already used is refused');
    assert.equal(verifyTotp(secret, totp(key, now), now, step - 1), step);
    assert.equal(verifyTotp(secret, 'abcdef', now), null);
  });

  test('the secret is encrypted (AES-GCM, authenticated) and the otpauth URI names the issuer', () => {
    const secret = generateSecret();
    const enc = encryptSecret(TEST_SECRET, secret);
    assert.ok(!enc.includes(secret));
    assert.notEqual(enc, encryptSecret(TEST_SECRET, secret), 'a fresh IV every time');
    assert.equal(decryptSecret(TEST_SECRET, enc), secret);
    assert.throws(() => decryptSecret('another-secret-key-0123456789abcdef0123456789', enc));
    const uri = otpauthUri(secret, 'agent_smith');
    assert.match(uri, /^otpauth:\/\/totp\/ProPart%20Hub:agent_smith\?/);
    const params = new URL(uri).searchParams;
    assert.equal(params.get('issuer'), 'ProPart Hub');
    assert.equal(params.get('secret'), secret);
  });
});

const codeFor = (secret: string, offsetMs = 0) => totp(base32Decode(secret), Date.now() + offsetMs);

for (const kind of databaseKinds()) {
  describe(`two-factor sign-in [${kind}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
    });
    after(() => t.close());

    const db = () => t.app.db.withTables<TwoFactorTables>();
    const userRow = (username: string) => t.app.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirstOrThrow();
    /** The code steps already used are forgotten, so the test can log in again within the same 30 seconds. */
    const forgetSteps = (userId: number) => db().updateTable('user_totp').set({ last_step: null }).where('user_id', '=', userId).execute();

    async function enrol(c: Client): Promise<{ secret: string; codes: string[] }> {
      const page = await c.get('/profile/two-factor');
      assert.equal(page.statusCode, 200);
      const secret = /data-testid="two-factor-secret">([^<]+)</.exec(page.body)![1]!.replace(/\s/g, '');
      const res = await c.post('/profile/two-factor/enable', { code: codeFor(secret) });
      assert.equal(res.statusCode, 200, res.body.slice(0, 500));
      const list = /data-testid="recovery-codes">(.*?)<\/ul>/s.exec(res.body)![1]!;
      const codes = [...list.matchAll(/<li>([^<]+)<\/li>/g)].map((m) => m[1]!);
      return { secret, codes };
    }

    async function userWith2fa(username: string) {
      const id = await seedUser(t, { username, password: 'the-right-password' });
      const c = new Client(t.app);
      assert.equal((await c.login(username, 'the-right-password')).statusCode, 303);
      const { secret, codes } = await enrol(c);
      await forgetSteps(id);
      return { id, secret, codes };
    }

    test('enrolment: QR code and secret shown, a wrong code is refused, the right one enables it; the secret is not stored in plaintext', async () => {
      const id = await seedUser(t, { username: 'enrol_me', password: 'the-right-password' });
      const c = new Client(t.app);
      await c.login('enrol_me', 'the-right-password');
      const profile = await c.get('/profile');
      assert.match(profile.body, /data-testid="profile-two-factor"/);
      const page = await c.get('/profile/two-factor');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+"/);
      const secret = /data-testid="two-factor-secret">([^<]+)</.exec(page.body)![1]!.replace(/\s/g, '');
      assert.match(secret, /^[A-Z2-7]{32}$/);
      const qr = Buffer.from(/data:image\/svg\+xml;base64,([^"]+)/.exec(page.body)![1]!, 'base64').toString();
      assert.match(qr, /^<svg/);
      // A reload keeps the same secret (the scanned QR stays valid).
      assert.ok((await c.get('/profile/two-factor')).body.includes(secret.replace(/(.{4})/g, '$1 ').trim()));

      const wrong = String((Number(codeFor(secret)) + 1) % 1_000_000).padStart(6, '0');
      const refused = await c.post('/profile/two-factor/enable', { code: wrong });
      assert.equal(refused.statusCode, 400);
      assert.equal((await db().selectFrom('user_totp').select('enabled_at').where('user_id', '=', id).executeTakeFirstOrThrow()).enabled_at, null);

      const ok = await c.post('/profile/two-factor/enable', { code: codeFor(secret) });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.headers['cache-control'], 'no-store');
      const codes = [...ok.body.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map((m) => m[1]!);
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);

      const row = await db().selectFrom('user_totp').selectAll().where('user_id', '=', id).executeTakeFirstOrThrow();
      assert.ok(row.enabled_at);
      assert.ok(!row.secret_enc.includes(secret), 'secret stored encrypted');
      assert.ok(!row.secret_enc.toLowerCase().includes(base32Decode(secret).toString('hex')));
      assert.equal(decryptSecret(TEST_SECRET, row.secret_enc), secret);
      const stored = await db().selectFrom('user_recovery_codes').select('code_hash').where('user_id', '=', id).execute();
      assert.equal(stored.length, 10);
      for (const s of stored) assert.ok(!codes.some((code) => s.code_hash.includes(code) || s.code_hash.includes(code.replace('-', ''))));
      // Shown once: the page now only says how many are left.
      const status = await c.get('/profile/two-factor');
      assert.match(status.body, /data-testid="two-factor-on"/);
      assert.ok(!codes.some((code) => status.body.includes(code)));
    });

    test('login requires the code; the password alone gives no session', async () => {
      const { secret } = await userWith2fa('needs_code');
      const c = new Client(t.app);
      const first = await c.login('needs_code', 'the-right-password');
      assert.equal(first.statusCode, 303);
      assert.equal(first.headers.location, '/login/two-factor');
      assert.ok(!c.cookies.has('propart_sid'));
      assert.ok(c.cookies.has('propart_2fa'));
      assert.equal((await c.get('/dashboard')).statusCode, 302);
      assert.equal((await c.get('/login/two-factor')).statusCode, 200);
      const bad = await c.post('/login/two-factor', { code: '000000' === codeFor(secret) ? '111111' : '000000' });
      assert.equal(bad.statusCode, 401);
      assert.ok(!c.cookies.has('propart_sid'));
      const ok = await c.post('/login/two-factor', { code: codeFor(secret) });
      assert.equal(ok.statusCode, 303);
      assert.equal(ok.headers.location, '/dashboard');
      assert.ok(c.cookies.has('propart_sid'));
      assert.ok(!c.cookies.has('propart_2fa'));
      assert.equal((await c.get('/dashboard')).statusCode, 200);
      assert.equal((await userRow('needs_code')).failed_login_attempts, 0);
    });

    test('a code cannot be replayed', async () => {
      const { secret } = await userWith2fa('no_replay');
      const code = codeFor(secret);
      const a = new Client(t.app);
      await a.login('no_replay', 'the-right-password');
      assert.equal((await a.post('/login/two-factor', { code })).statusCode, 303);
      const b = new Client(t.app);
      await b.login('no_replay', 'the-right-password');
      const replay = await b.post('/login/two-factor', { code });
      assert.equal(replay.statusCode, 401);
      assert.ok(!b.cookies.has('propart_sid'));
      // An older code (previous step) is refused too once a later one has been used.
      const older = codeFor(secret, -30_000);
      if (older !== code) assert.equal((await b.post('/login/two-factor', { code: older })).statusCode, 401);
    });

    test('a recovery code works once', async () => {
      const { codes } = await userWith2fa('recovery_user');
      const a = new Client(t.app);
      await a.login('recovery_user', 'the-right-password');
      assert.equal((await a.post('/login/two-factor', { code: codes[0]!.toUpperCase() })).statusCode, 303);
      const b = new Client(t.app);
      await b.login('recovery_user', 'the-right-password');
      assert.equal((await b.post('/login/two-factor', { code: codes[0]! })).statusCode, 401);
      assert.equal((await b.post('/login/two-factor', { code: codes[1]! })).statusCode, 303);
      const status = await b.get('/profile/two-factor');
      assert.match(status.body, /: 8</);
    });

    test('wrong codes count toward the lockout', async () => {
      const { secret } = await userWith2fa('code_guesser');
      const c = new Client(t.app);
      await c.login('code_guesser', 'the-right-password');
      const right = codeFor(secret);
      const wrongs = ['000001', '000002', '000003', '000004', '000005', '000006'].filter((w) => w !== right && w !== codeFor(secret, -30_000) && w !== codeFor(secret, 30_000));
      for (let i = 1; i <= 4; i++) {
        assert.equal((await c.post('/login/two-factor', { code: wrongs[i - 1]! })).statusCode, 401);
        assert.equal((await userRow('code_guesser')).failed_login_attempts, i);
      }
      const fifth = await c.post('/login/two-factor', { code: wrongs[4]! });
      assert.equal(fifth.statusCode, 429);
      assert.ok((await userRow('code_guesser')).locked_until);
      // The pending login is gone and the password alone is refused while locked.
      assert.equal((await c.post('/login/two-factor', { code: right })).statusCode, 303);
      assert.ok(!c.cookies.has('propart_sid'));
      assert.equal((await c.login('code_guesser', 'the-right-password')).statusCode, 429);
      // The password step does not reset the counter when a code is still to come.
      await t.app.db.updateTable('users').set({ locked_until: null, failed_login_attempts: 3 }).where('username', '=', 'code_guesser').execute();
      await c.login('code_guesser', 'the-right-password');
      assert.equal((await userRow('code_guesser')).failed_login_attempts, 3);
    });

    test('the pending login expires', async () => {
      const { id, secret } = await userWith2fa('slow_typist');
      const c = new Client(t.app);
      await c.login('slow_typist', 'the-right-password');
      const pending = await db().selectFrom('pending_logins').selectAll().where('user_id', '=', id).executeTakeFirstOrThrow();
      const minutes = (new Date(pending.expires_at).getTime() - Date.now()) / 60000;
      assert.ok(minutes > 4.5 && minutes <= 5, `pending for ${minutes} min`);
      assert.ok(!pending.id.includes(c.cookies.get('propart_2fa')!), 'only the token hash is stored');
      await db().updateTable('pending_logins').set({ expires_at: sql`now() - interval '1 second'` }).where('user_id', '=', id).execute();
      const res = await c.post('/login/two-factor', { code: codeFor(secret) });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/login');
      assert.ok(!c.cookies.has('propart_sid'));
      assert.equal((await c.get('/login/two-factor')).statusCode, 303);
    });

    test('turning it off needs the password and a code', async () => {
      const { id, secret } = await userWith2fa('turn_off');
      const c = new Client(t.app);
      await c.login('turn_off', 'the-right-password');
      await c.post('/login/two-factor', { code: codeFor(secret) });
      await forgetSteps(id);
      assert.equal((await c.post('/profile/two-factor/disable', { password: 'wrong-password!', code: codeFor(secret) })).statusCode, 400);
      assert.equal((await c.post('/profile/two-factor/disable', { password: 'the-right-password', code: '12345' })).statusCode, 400);
      const ok = await c.post('/profile/two-factor/disable', { password: 'the-right-password', code: codeFor(secret) });
      assert.equal(ok.statusCode, 303);
      assert.equal(await db().selectFrom('user_totp').select('user_id').where('user_id', '=', id).executeTakeFirst(), undefined);
      const again = new Client(t.app);
      const login = await again.login('turn_off', 'the-right-password');
      assert.equal(login.headers.location, '/dashboard');
    });
  });

  describe(`two-factor sign-in: rate limit and the admin requirement [${kind}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '4', ADMIN_2FA_REQUIRED: 'true' } });
    });
    after(() => t.close());
    const db = () => t.app.db.withTables<TwoFactorTables>();

    test('the second step is rate limited per IP', async () => {
      const id = await seedUser(t, { username: 'rate_agent', password: 'the-right-password' });
      const c = new Client(t.app);
      await c.login('rate_agent', 'the-right-password');
      const page = await c.get('/profile/two-factor');
      const secret = /data-testid="two-factor-secret">([^<]+)</.exec(page.body)![1]!.replace(/\s/g, '');
      assert.equal((await c.post('/profile/two-factor/enable', { code: codeFor(secret) })).statusCode, 200);
      await db().updateTable('user_totp').set({ last_step: null }).where('user_id', '=', id).execute();
      const d = new Client(t.app, { 'x-test': 'rate' });
      await d.login('rate_agent', 'the-right-password');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await d.post('/login/two-factor', { code: '999999' === codeFor(secret) ? '888888' : '999999' })).statusCode);
      assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
      assert.equal(statuses[4], 429);
      await t.app.db.updateTable('users').set({ failed_login_attempts: 0, locked_until: null }).where('id', '=', id).execute();
    });

    test('an administrator without 2FA reaches only the enrolment pages (after changing a temporary password first)', async () => {
      const id = await seedUser(t, { username: 'boss_admin', password: 'the-right-password', role: 'admin' });
      await t.app.db.updateTable('users').set({ must_change_password: true }).where('id', '=', id).execute();
      const c = new Client(t.app, { 'x-forwarded-for': '10.0.0.2' });
      await c.login('boss_admin', 'the-right-password');
      // The temporary password comes first.
      assert.equal((await c.get('/profile/two-factor')).headers.location, '/profile/password');
      await c.get('/profile/password');
      assert.equal((await c.post('/profile/password', { current_password: 'the-right-password', new_password: 'a-brand-new-password', confirm_password: 'a-brand-new-password' })).statusCode, 303);
      // Then only enrolment.
      for (const path of ['/dashboard', '/profile', '/admin/users', '/leads/new']) {
        const res = await c.get(path);
        assert.equal(res.statusCode, 302, path);
        assert.equal(res.headers.location, '/profile/two-factor', path);
      }
      assert.equal((await c.post('/profile', { username: 'boss_admin', display_name: 'Boss', email: 'boss@example.com' })).statusCode, 403);
      const page = await c.get('/profile/two-factor');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /data-testid="two-factor-required"/);
      const secret = /data-testid="two-factor-secret">([^<]+)</.exec(page.body)![1]!.replace(/\s/g, '');
      assert.equal((await c.post('/profile/two-factor/enable', { code: codeFor(secret) })).statusCode, 200);
      assert.equal((await c.get('/dashboard')).statusCode, 200);
      // Required for admins: it cannot be turned off.
      await db().updateTable('user_totp').set({ last_step: null }).where('user_id', '=', id).execute();
      assert.equal((await c.post('/profile/two-factor/disable', { password: 'a-brand-new-password', code: codeFor(secret) })).statusCode, 403);
      assert.ok(await db().selectFrom('user_totp').select('user_id').where('user_id', '=', id).where('enabled_at', 'is not', null).executeTakeFirst());
      // Logging out works during enrolment too (it is public); an agent is not affected by the requirement.
      const agent = await seedUser(t, { username: 'plain_agent', password: 'the-right-password' });
      assert.ok(agent);
      const a = new Client(t.app, { 'x-forwarded-for': '10.0.0.3' });
      await a.login('plain_agent', 'the-right-password');
      assert.equal((await a.get('/dashboard')).statusCode, 200);
    });
  });
}
