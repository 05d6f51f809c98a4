// The dashboard's session read from the instance's memory, kept current by PostgreSQL's notifications
// (src/platform/session-cache.ts, migrations/0016, decision 023). PostgreSQL server only: PGlite reads
// every session from the database, which every other suite covers.
//
// Changes "from another process" are made here with the test's own statements, which no request of this
// instance sees; `settle()` waits until everything committed before it has been heard (a heartbeat sent
// after the change came back) — what a moment of real time gives an instance in production.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type KyselyPlugin, sql } from 'kysely';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/database.ts';
import { cacheCaughtUp, seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';

/** Counts one app's session lookups (the statement session.ts sends to the database). */
function sessionReadCounter() {
  const counted = { reads: 0, plugin: null as unknown as KyselyPlugin };
  counted.plugin = {
    transformQuery: (args) => {
      if (JSON.stringify(args.node).includes('from sessions s join users u')) counted.reads++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return counted;
}
const readsOnA = sessionReadCounter();

const total = (html: string) => Number(/data-testid="card-total">(\d+)</.exec(html)?.[1] ?? NaN);

describe('session cache [postgres]', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL' }, () => {
  let t: TestApp;
  let bossId: number; let olenaId: number; let petroId: number;
  before(async () => {
    t = await startTestApp('postgres', { wrapDb: (db) => db.withPlugin(readsOnA.plugin), env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', DASHBOARD_CACHE_SECONDS: '3600' } });
    bossId = await seedUser(t, { username: 'boss', password: 'boss-password-1', role: 'admin' });
    olenaId = await seedUser(t, { username: 'olena', password: 'olena-password-1', display_name: 'Олена', admin_id: bossId });
    petroId = await seedUser(t, { username: 'petro', password: 'petro-password-1' });
  });
  after(() => t?.close());

  const cache = () => t.app.sessionCache!;
  /** Waits until the instance has heard everything committed so far (connecting first if it must). */
  const settle = () => cacheCaughtUp(t.app);
  /** A user whose last state change was over FRESH_SECONDS ago (the browser dropped the cookie). */
  const later = (c: Client) => {
    c.cookies.delete('propart_fresh');
    c.cookieExpiry.delete('propart_fresh');
    return c;
  };
  const signedIn = async (username: string, password: string) => {
    const c = new Client(t.app);
    assert.equal((await c.login(username, password)).statusCode, 303);
    return later(c);
  };
  const dashboard = async (c: Client) => {
    const before = readsOnA.reads;
    const res = await c.get('/dashboard');
    return { res, read: readsOnA.reads - before };
  };
  let phone = 100;
  const insertLead = (agentId: number) => t.app.db.insertInto('leads')
    .values({ agent_id: agentId, deal_name: 'Клієнт з іншого процесу', phone: `+380507770${phone++}`, budget: 'до 200к' }).execute();

  test('a dashboard seen again is answered from memory, without reading the session; other pages still read it', async () => {
    assert.ok(cache(), 'on by default on a PostgreSQL server');
    const c = await signedIn('olena', 'olena-password-1');
    await settle();
    const first = await dashboard(c);
    assert.equal(first.res.statusCode, 200);
    assert.equal(first.read, 1, 'the first one reads the session');
    for (let i = 0; i < 3; i++) {
      const again = await dashboard(c);
      assert.equal(again.res.statusCode, 200);
      assert.equal(again.read, 0, 'from memory');
      assert.match(again.res.body, /data-testid="dashboard-hello">Вітаємо, Олена</);
    }
    const before = readsOnA.reads;
    assert.equal((await c.get('/profile')).statusCode, 200);
    assert.equal(readsOnA.reads - before, 1, 'a page that did not opt in reads the session');
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /propart_session_cache\{what="live"\} 1/);
    assert.match(metrics, /propart_session_cache\{what="sessions"\} [1-9]/);
  });

  test('every change a kept session depends on, made by another process, ends or updates it once heard', async () => {
    const c = await signedIn('olena', 'olena-password-1');
    await settle();
    await dashboard(c);
    assert.equal((await dashboard(c)).read, 0);

    await t.app.db.updateTable('users').set({ display_name: 'Олена Петрівна' }).where('id', '=', olenaId).execute();
    await settle();
    const renamed = await dashboard(c);
    assert.equal(renamed.read, 1, 'the rename made the session read again');
    assert.match(renamed.res.body, /Вітаємо, Олена Петрівна</);

    await t.app.db.updateTable('users').set({ role: 'admin' }).where('id', '=', olenaId).execute();
    await settle();
    assert.match((await dashboard(c)).res.body, /href="\/admin\/users"/, 'promoted: the admin menu shows');
    await t.app.db.updateTable('users').set({ role: 'agent' }).where('id', '=', olenaId).execute();
    await settle();
    assert.doesNotMatch((await dashboard(c)).res.body, /href="\/admin\/users"/, 'demoted: it is gone');
    assert.equal((await dashboard(c)).read, 0);

    await t.app.db.updateTable('users').set({ is_active: false }).where('id', '=', olenaId).execute();
    await settle();
    const out = await dashboard(c);
    assert.equal(out.res.statusCode, 302, 'deactivated: signed out');
    assert.match(String(out.res.headers.location), /^\/login/);
    await t.app.db.updateTable('users').set({ is_active: true }).where('id', '=', olenaId).execute();

    const d = await signedIn('olena', 'olena-password-1');
    await settle();
    await dashboard(d);
    assert.equal((await dashboard(d)).read, 0);
    await t.app.db.updateTable('users').set({ locked_until: new Date(Date.now() + 600_000) }).where('id', '=', olenaId).execute();
    await settle();
    assert.equal((await dashboard(d)).res.statusCode, 302, 'locked: signed out');
    await t.app.db.updateTable('users').set({ locked_until: null }).where('id', '=', olenaId).execute();

    const e = await signedIn('olena', 'olena-password-1');
    await settle();
    await dashboard(e);
    assert.equal((await dashboard(e)).read, 0);
    await t.app.db.deleteFrom('sessions').where('user_id', '=', olenaId).execute();
    await settle();
    assert.equal((await dashboard(e)).res.statusCode, 302, 'signed out everywhere: out here too');

    // An operator ending sessions by moving their expiry (migrations/0017); the last-seen touch is not told.
    const f = await signedIn('olena', 'olena-password-1');
    await settle();
    await dashboard(f);
    await t.app.db.updateTable('sessions').set({ last_seen_at: sql`now()` }).where('user_id', '=', olenaId).execute();
    await settle();
    assert.equal((await dashboard(f)).read, 0, 'a touch of last_seen_at leaves the kept session');
    await t.app.db.updateTable('sessions').set({ expires_at: sql`now() - interval '1 second'` }).where('user_id', '=', olenaId).execute();
    await settle();
    assert.equal((await dashboard(f)).res.statusCode, 302, 'expired by an operator: out at once');
  });

  test('leads written by another process show once heard, still without reading the session', async () => {
    const agent = await signedIn('petro', 'petro-password-1');
    const boss = await signedIn('boss', 'boss-password-1');
    await settle();
    const agentBefore = total((await dashboard(agent)).res.body);
    const bossBefore = total((await dashboard(boss)).res.body);
    await insertLead(petroId);
    await settle();
    const a = await dashboard(agent);
    const b = await dashboard(boss);
    assert.equal(total(a.res.body), agentBefore + 1);
    assert.equal(total(b.res.body), bossBefore + 1, "the admin's version is the sum over every agent");
    assert.equal(a.read + b.read, 0, 'the versions came with the notices');
  });

  test('a change made through this instance is seen at once by every user of it', async () => {
    const agent = await signedIn('petro', 'petro-password-1');
    const boss = await signedIn('boss', 'boss-password-1');
    await settle();
    const bossBefore = total((await dashboard(boss)).res.body);
    assert.equal((await dashboard(boss)).read, 0);
    await agent.get('/leads/new');
    const created = await agent.post('/leads', { deal_name: 'Клієнт цього процесу', phone: '+380507771234', budget: 'до 200к' });
    assert.equal(created.statusCode, 303, created.body.slice(0, 300));
    // No settle: the instance itself holds its answers from memory until it has heard of its own commit.
    const after = await dashboard(boss);
    assert.equal(total(after.res.body), bossBefore + 1);
  });

  test("an anonymous request (a login attempt) does not hold the instance's answers from memory", async () => {
    await settle();
    const stranger = new Client(t.app);
    await stranger.get('/login');
    const res = await stranger.post('/login', { username: 'boss', password: 'wrong-password-1' });
    assert.equal(res.statusCode, 401, res.body.slice(0, 200));
    assert.equal(cache().state.live(), true, 'no wait for a heartbeat after it');
    assert.equal(res.cookies.some((k: { name: string }) => k.name === 'propart_fresh'), false, 'no session: no cookie');
    await t.app.db.updateTable('users').set({ failed_login_attempts: 0 }).where('id', '=', bossId).execute();
  });

  test("a state change answers with a short-lived cookie; while the browser sends it, the user's pages read the database", async () => {
    const c = await signedIn('petro', 'petro-password-1');
    await settle();
    await dashboard(c);
    assert.equal((await dashboard(c)).read, 0);
    await c.get('/leads/new');
    const res = await c.post('/leads', { deal_name: 'Свіжий Клієнт', phone: '+380507775678', budget: 'до 200к' });
    const fresh = (res.cookies as { name: string; maxAge?: number; httpOnly?: boolean }[]).find((k) => k.name === 'propart_fresh');
    assert.ok(fresh, 'set on the answer to the POST');
    assert.equal(fresh.maxAge, 5);
    assert.equal(fresh.httpOnly, true);
    await settle();
    const next = await dashboard(c);
    assert.equal(next.read, 1, 'read from the database while the cookie lives');
    assert.match(next.res.body, /Свіжий Клієнт/);
    assert.equal((await dashboard(later(c))).read, 0, 'then from memory again');
  });

  test('a lost connection answers nothing from memory; changes made meanwhile count; it listens again by itself', async () => {
    const agent = await signedIn('petro', 'petro-password-1');
    const c = await signedIn('olena', 'olena-password-1');
    await settle();
    await dashboard(agent);
    await dashboard(c);
    assert.equal((await dashboard(agent)).read, 0);
    const killed = await sql<{ ok: boolean }>`select pg_terminate_backend(pid) as ok from pg_stat_activity
      where application_name = 'propart_session_cache' and datname = current_database()`.execute(t.app.db);
    assert.equal(killed.rows.length, 1, 'one listening connection per instance');
    for (let i = 0; i < 100 && cache().state.live(); i++) await sleep(20);
    assert.equal(cache().state.live(), false);
    assert.match((await t.app.inject({ method: 'GET', url: '/metrics' })).body, /propart_session_cache\{what="live"\} 0/);
    const meanwhile = await dashboard(agent);
    assert.equal(meanwhile.res.statusCode, 200);
    assert.equal(meanwhile.read, 1, 'the session is read from the database');
    await t.app.db.updateTable('users').set({ is_active: false }).where('id', '=', olenaId).execute();
    assert.equal((await dashboard(c)).res.statusCode, 302, 'a deactivation while not listening is seen at once');
    await t.app.db.updateTable('users').set({ is_active: true }).where('id', '=', olenaId).execute();
    await settle();
    await dashboard(agent);
    assert.equal((await dashboard(agent)).read, 0, 'listening again');
  });

  test('what the database tells about sessions: each user whose sessions ended or whose expiry moved, u:* past 100 users, nothing for a last-seen touch', async () => {
    const client = t.app.database.listenerClient!();
    await client.connect();
    const heard: string[] = [];
    client.on('notification', (n) => { if (n.payload && !n.payload.startsWith('t:')) heard.push(n.payload); });
    await client.query('listen propart_cache');
    // What was told by the time a notice sent after the statement arrives (delivered in commit order).
    const told = async (statement: () => Promise<unknown>) => {
      heard.length = 0;
      await statement();
      await client.query("select pg_notify('propart_cache', 'mark')");
      for (let i = 0; i < 200 && !heard.includes('mark'); i++) await sleep(10);
      return heard.filter((p) => p !== 'mark').sort();
    };
    try {
      const ids = (await sql<{ id: number }>`insert into users (username, email, display_name, password_hash)
        select 'bulk_' || g, 'bulk_' || g || '@example.com', 'Bulk', 'x' from generate_series(1, 101) g returning id`.execute(t.app.db)).rows.map((r) => r.id);
      const sessionsFor = () => sql`insert into sessions (id, user_id, expires_at)
        select md5(id::text) || md5(id::text), id, now() + interval '1 day' from users where id = any(${ids})`.execute(t.app.db);
      const each = (list: number[]) => list.map((id) => `u:${id}`).sort();
      await sessionsFor();
      assert.deepEqual(await told(() => t.app.db.updateTable('sessions').set({ last_seen_at: sql`now()` }).where('user_id', 'in', ids).execute()), [], 'a last-seen touch tells nothing');
      assert.deepEqual(await told(() => t.app.db.updateTable('sessions').set({ expires_at: sql`now()` }).where('user_id', 'in', ids.slice(0, 2)).execute()), each(ids.slice(0, 2)), 'expiry moved: each user');
      assert.deepEqual(await told(() => t.app.db.updateTable('sessions').set({ expires_at: sql`now()` }).where('user_id', 'in', ids).execute()), ['u:*'], 'expiry moved for 101 users: forget every session');
      assert.deepEqual(await told(() => t.app.db.deleteFrom('sessions').where('user_id', '=', ids[0]!).execute()), each([ids[0]!]), 'ended: that user');
      assert.deepEqual(await told(() => t.app.db.deleteFrom('sessions').where('user_id', 'in', ids).execute()), each(ids.slice(1)), 'ended for exactly 100 users: each of them');
      await sessionsFor();
      assert.deepEqual(await told(() => t.app.db.deleteFrom('sessions').where('user_id', 'in', ids).execute()), ['u:*'], 'ended for 101 users: forget every session');
      await t.app.db.deleteFrom('users').where('id', 'in', ids).execute();
    } finally {
      await client.end();
    }
  });
});

describe('session cache across two instances [postgres]', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL' }, () => {
  // Instance A is the test app; B is a second app on the same database and SECRET_KEY (as behind nginx).
  let t: TestApp;
  let bHandle: DatabaseHandle;
  let b: FastifyInstance;
  const readsOnB = sessionReadCounter();
  before(async () => {
    t = await startTestApp('postgres', { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', DASHBOARD_CACHE_SECONDS: '3600' } });
    await seedUser(t, { username: 'marta', password: 'marta-password-1' });
    const opened = await openDatabase({ ...t.config.database, url: t.database.url! }, pino({ level: 'silent' }));
    bHandle = { ...opened, db: opened.db.withPlugin(readsOnB.plugin) };
    b = await buildApp({ config: t.config, logger: pino({ level: 'silent' }), database: bHandle });
    await b.ready();
  });
  after(async () => {
    await b?.close();
    await bHandle?.close();
    await t?.close();
  });

  /** The same browser, its next request reaching the other instance. */
  const onB = (c: Client) => {
    const other = new Client(b);
    for (const [k, v] of c.cookies) other.cookies.set(k, v);
    for (const [k, v] of c.cookieExpiry) other.cookieExpiry.set(k, v);
    other.csrfToken = c.csrfToken;
    return other;
  };
  const settleB = async () => {
    for (let i = 0; i < 200; i++) {
      try {
        await b.sessionCache!.listener.sync();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error('instance B never caught up');
  };

  test('the page after "saved" shows what was saved on the other instance too: it reads the database while the cookie lives', async () => {
    const a = new Client(t.app);
    assert.equal((await a.login('marta', 'marta-password-1')).statusCode, 303);
    a.cookies.delete('propart_fresh');
    a.cookieExpiry.delete('propart_fresh');
    await settleB();
    const onOther = onB(a);
    const before = total((await onOther.get('/dashboard')).body);
    const readsBefore = readsOnB.reads;
    await onOther.get('/dashboard');
    assert.equal(readsOnB.reads, readsBefore, 'B answers the repeat from memory');

    await a.get('/leads/new');
    const saved = await a.post('/leads', { deal_name: 'Клієнт Інстансу А', phone: '+380507779999', budget: 'до 200к' });
    assert.equal(saved.statusCode, 303, saved.body.slice(0, 300));
    // The redirect's next page lands on B, before B may have heard of the lead.
    const next = onB(a);
    const reads = readsOnB.reads;
    const page = await next.get('/dashboard');
    assert.ok(readsOnB.reads > reads, 'B read the session (and the lead version) from the database');
    assert.equal(total(page.body), before + 1);
    assert.match(page.body, /Клієнт Інстансу А/);
  });
});
