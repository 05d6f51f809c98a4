// The per-request read (the session, with the dashboard's lead version on the dashboard) is a pg named statement: planned once per
// connection, then only executed (src/db/database.ts, PREPARED; decision 020). PostgreSQL server only:
// PGlite runs them as ordinary statements, which every other suite covers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';

describe('prepared statements [postgres]', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL' }, () => {
  let t: TestApp;
  before(async () => {
    // One connection, so the statements prepared by requests are visible to the test's own queries.
    // Every request reads its session from the database here (test/session-cache.test.ts covers the memory).
    t = await startTestApp('postgres', { dbOverrides: { poolMax: 1 }, env: { SESSION_CACHE: 'false' } });
    await seedUser(t, { username: 'prep_agent', password: 'prep-agent-password' });
  });
  after(() => t?.close());

  const prepared = async () => (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(t.app.db)).rows;

  test('the session lookup is prepared once per shape, then only executed; the dashboard reads the lead version with it', async () => {
    const c = new Client(t.app);
    assert.equal((await c.login('prep_agent', 'prep-agent-password')).statusCode, 303);
    for (let i = 0; i < 3; i++) {
      assert.equal((await c.get('/dashboard')).statusCode, 200);
      assert.equal((await c.get('/profile')).statusCode, 200);
    }
    const rows = await prepared();
    const session = rows.filter((r) => /from sessions s join users u/.test(r.statement));
    assert.equal(session.length, 2, 'one statement per shape on the connection');
    assert.equal(session.filter((r) => /as lead_version/.test(r.statement)).length, 1, 'the dashboard\'s lookup brings the lead version');
    for (const r of session) assert.match(r.name, /^propart_[0-9a-f]{24}$/);
    // Ordinary statements are not kept on the connection.
    assert.ok(rows.every((r) => r.statement.startsWith('/* prepared */')), rows.map((r) => r.statement.slice(0, 40)).join(' | '));
  });

  test('a signed-in user stays signed in while a migration adds a column to users or changes the type of one it reads; a deactivated one is out at once', async () => {
    const c = new Client(t.app);
    await c.login('prep_agent', 'prep-agent-password');
    assert.equal((await c.get('/dashboard')).statusCode, 200);
    await sql`alter table users add column prep_extra text`.execute(t.app.db);
    assert.equal((await c.get('/dashboard')).statusCode, 200);
    // A column it reads changes type: PostgreSQL refuses the prepared statement once ("cached plan must not
    // change result type"); the lookup is prepared again under a new name, and no request fails.
    await sql`alter table users alter column email type varchar(320)`.execute(t.app.db);
    for (let i = 0; i < 3; i++) assert.equal((await c.get('/dashboard')).statusCode, 200);
    await t.app.db.updateTable('users').set({ is_active: false }).where('username', '=', 'prep_agent').execute();
    const out = await c.get('/dashboard');
    assert.equal(out.statusCode, 302);
    assert.match(String(out.headers.location), /^\/login/);
  });
});
