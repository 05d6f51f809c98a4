// The audit log: what is recorded (only changed fields, never secrets), for leads and user administration,
// who/when/IP; the table refuses UPDATE/DELETE/TRUNCATE on the database itself; the admin page filters.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { auditDiff, recordAudit } from '../src/audit/audit.server.ts';
import type { AuditEntry } from '../src/db/schema.ts';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

describe('auditDiff', () => {
  test('keeps only the fields that changed; numbers stored as text compare by value', () => {
    const d = auditDiff(
      { id: 1, deal_name: 'Олег', status: 'new', commission: '5.00', updated_at: new Date('2025-01-01'), closed_at: null },
      { id: 1, deal_name: 'Олег', status: 'closed', commission: 5, updated_at: new Date('2025-02-01'), closed_at: new Date('2025-02-01T10:00:00Z') },
    );
    assert.deepEqual(d, { before: { status: 'new', closed_at: null }, after: { status: 'closed', closed_at: '2025-02-01T10:00:00.000Z' } });
  });

  test('a creation records what was set, a deletion what there was; empty fields are left out', () => {
    assert.deepEqual(auditDiff(null, { id: 7, phone: '+380501234567', email: null, company: '' }), { before: null, after: { id: 7, phone: '+380501234567' } });
    assert.deepEqual(auditDiff({ id: 7, phone: '+380501234567', email: null }, null), { before: { id: 7, phone: '+380501234567' }, after: null });
  });

  test('secrets never survive: by name, nested, or by the shape of a bcrypt hash', () => {
    const d = auditDiff(
      { password_hash: '$2b$12$abcdefghijklmnopqrstuv', email: 'a@b.c', note: '$2a$10$0123456789012345678901', meta: { api_key: 'k', token: 't', ok: 1 }, storage_key: 'docs/x' },
      { password_hash: '$2b$12$zzzzzzzzzzzzzzzzzzzzzz', email: 'b@b.c', note: '$2a$10$9999999999999999999999', meta: { api_key: 'k2', token: 't2', ok: 2 }, storage_key: 'docs/y' },
    );
    assert.deepEqual(d, { before: { email: 'a@b.c', meta: { ok: 1 } }, after: { email: 'b@b.c', meta: { ok: 2 } } });
    assert.doesNotMatch(JSON.stringify(d), /\$2[aby]\$|password|token|api_key|storage/);
  });
});

for (const kind of databaseKinds()) {
  describe(`audit log [${kind}]`, () => {
    let t: TestApp;
    let adminId: number; let agentId: number; let otherId: number;
    let admin: Client; let agent: Client;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
      adminId = await seedUser(t, { username: 'auditor', password: 'auditor-password-1', role: 'admin', display_name: 'Аудитор' });
      agentId = await seedUser(t, { username: 'agent_a', password: 'agent-a-password-1', display_name: 'Агент А' });
      otherId = await seedUser(t, { username: 'agent_b', password: 'agent-b-password-1', display_name: 'Агент Б' });
      admin = new Client(t.app); agent = new Client(t.app);
      await admin.login('auditor', 'auditor-password-1');
      await agent.login('agent_a', 'agent-a-password-1');
    });
    after(() => t.close());

    const entries = (where: { entity_type?: string; entity_id?: number; action?: string } = {}) => {
      let q = t.app.db.selectFrom('audit_log').selectAll().orderBy('id');
      if (where.entity_type) q = q.where('entity_type', '=', where.entity_type);
      if (where.entity_id !== undefined) q = q.where('entity_id', '=', String(where.entity_id));
      if (where.action) q = q.where('action', '=', where.action);
      return q.execute();
    };
    const only = async (where: Parameters<typeof entries>[0]): Promise<AuditEntry> => {
      const rows = await entries(where);
      assert.equal(rows.length, 1, `one ${JSON.stringify(where)} entry, got ${rows.length}`);
      return rows[0]!;
    };

    test("a lead's whole life is recorded: who, from where, and only what changed", async () => {
      await agent.get('/leads/new');
      const created = await agent.post('/leads', { deal_name: 'Марія Аудитна', phone: '050 111 22 33', budget: 'до 200к', company: 'ТОВ Аудит' });
      const id = Number(/\/leads\/(\d+)/.exec(String(created.headers.location))![1]);
      const create = await only({ entity_type: 'lead', entity_id: id, action: 'lead.create' });
      assert.equal(create.actor_id, agentId);
      assert.equal(create.actor_name, 'agent_a');
      assert.equal(create.ip, '127.0.0.1');
      assert.equal(create.before, null);
      assert.equal(create.after!.deal_name, 'Марія Аудитна');
      assert.equal(create.after!.phone, '+380501112233');
      assert.equal(create.after!.agent_id, agentId);
      assert.ok(!('email' in create.after!), 'empty fields are not listed');
      assert.ok(Date.now() - new Date(create.created_at).getTime() < 60_000);

      await agent.get(`/leads/${id}/edit`);
      await agent.post(`/leads/${id}`, { deal_name: 'Марія Аудитна-Коваль', phone: '+380501112233', budget: 'до 200к', company: 'ТОВ Аудит', status: 'new' });
      const edit = await only({ entity_type: 'lead', entity_id: id, action: 'lead.update' });
      assert.deepEqual({ before: edit.before, after: edit.after }, { before: { deal_name: 'Марія Аудитна' }, after: { deal_name: 'Марія Аудитна-Коваль' } });

      await agent.post(`/leads/${id}/close`);
      const close = await only({ entity_type: 'lead', entity_id: id, action: 'lead.close' });
      assert.equal(close.before!.status, 'new');
      assert.equal(close.after!.status, 'closed');
      await agent.post(`/leads/${id}/close`);
      assert.equal((await entries({ entity_id: id, action: 'lead.close' })).length, 1, 'closing a closed deal changes nothing and records nothing');
      await agent.post(`/leads/${id}/reopen`);
      assert.deepEqual((await only({ entity_id: id, action: 'lead.reopen' })).after!.status, 'qualified');
      await agent.post(`/leads/${id}/transfer`);
      assert.deepEqual((await only({ entity_id: id, action: 'lead.transfer' })).after, { is_transferred: true });

      await admin.get(`/leads/${id}`);
      await admin.post(`/leads/${id}/reassign`, { agent_id: String(otherId) });
      const reassign = await only({ entity_id: id, action: 'lead.reassign' });
      assert.deepEqual({ actor: reassign.actor_id, before: reassign.before, after: reassign.after }, { actor: adminId, before: { agent_id: agentId }, after: { agent_id: otherId } });
      await admin.post(`/leads/${id}/delete`);
      const del = await only({ entity_id: id, action: 'lead.delete' });
      assert.equal(del.after, null);
      assert.equal(del.before!.deal_name, 'Марія Аудитна-Коваль');
    });

    test('a refused change leaves no entry: the entry and the change share one transaction', async () => {
      const count = (await entries()).length;
      await agent.get('/leads/new');
      assert.equal((await agent.post('/leads', { deal_name: 'Х', phone: '1', budget: 'нема' })).statusCode, 400);
      await admin.get('/admin/users');
      assert.equal((await admin.post(`/admin/users/${adminId}/deactivate`)).statusCode, 403);
      assert.equal((await admin.post(`/admin/users/${agentId}/commission`, { commission: '101' })).statusCode, 400);
      assert.equal((await entries()).length, count);
    });

    test('every user administration action is recorded with before/after, and no entry ever holds a password or hash', async () => {
      const victim = await seedUser(t, { username: 'victim', password: 'victim-password-1' });
      await admin.get(`/admin/users/${victim}`);
      await admin.post(`/admin/users/${victim}/commission`, { commission: '7,25' });
      await admin.post(`/admin/users/${victim}/deactivate`);
      await admin.post(`/admin/users/${victim}/activate`);
      await t.app.db.updateTable('users').set({ locked_until: new Date(Date.now() + 60_000) }).where('id', '=', victim).execute();
      await admin.post(`/admin/users/${victim}/unlock`);
      await admin.post(`/admin/users/${victim}/admin`, { admin_id: String(adminId) });
      await admin.post(`/admin/users/${victim}/role`, { role: 'admin' });
      await admin.post(`/admin/users/${victim}/role`, { role: 'agent' });
      const reset = await admin.post(`/admin/users/${victim}/password`);
      const temp = /data-testid="temp-password">([^<]+)</.exec(reset.body)![1]!;
      await admin.post(`/admin/users/${victim}/delete`);

      const log = await entries({ entity_type: 'user', entity_id: victim });
      assert.deepEqual(log.map((e) => e.action), [
        'user.commission', 'user.deactivate', 'user.activate', 'user.unlock', 'user.assign_admin', 'user.role', 'user.role', 'user.password_reset', 'user.delete',
      ]);
      const by = (a: string) => log.find((e) => e.action === a)!;
      assert.deepEqual([by('user.commission').before, by('user.commission').after], [{ commission: '0.00' }, { commission: '7.25' }]);
      assert.deepEqual([by('user.deactivate').before, by('user.deactivate').after], [{ is_active: true }, { is_active: false }]);
      assert.deepEqual(by('user.assign_admin').after, { admin_id: adminId });
      assert.equal(by('user.unlock').after!.locked_until, null);
      assert.deepEqual(by('user.password_reset').after, { must_change_password: true }, 'the new hash is not recorded, only that a reset happened');
      assert.equal(by('user.delete').before!.username, 'victim');
      assert.ok(log.every((e) => e.actor_id === adminId && e.actor_name === 'auditor' && e.ip === '127.0.0.1'));

      const everything = JSON.stringify(await entries());
      assert.doesNotMatch(everything, /\$2[abxy]\$\d\d\$/, 'no bcrypt hash anywhere in the log');
      assert.doesNotMatch(everything, /password_hash|victim-password-1/);
      assert.ok(!everything.includes(temp), 'nor the temporary password');
    });

    test('the table is append-only in the database itself: UPDATE, DELETE and TRUNCATE are refused', async () => {
      await recordAudit(t.app.db, { id: null, name: 'test' }, { action: 'test.append', entityType: 'test', entityId: 1, after: { x: 1 } });
      const row = await only({ action: 'test.append' });
      const refused = async (run: () => Promise<unknown>, what: string) => {
        await assert.rejects(run, (err: { code?: string; message?: string }) => err.code === '42501' && /append-only/.test(String(err.message)), what);
      };
      await refused(() => t.app.db.updateTable('audit_log').set({ actor_name: 'forged' }).where('id', '=', row.id).execute(), 'update');
      await refused(() => t.app.db.deleteFrom('audit_log').where('id', '=', row.id).execute(), 'delete');
      await refused(() => t.app.db.deleteFrom('audit_log').execute(), 'delete all');
      await refused(() => sql`truncate audit_log`.execute(t.app.db), 'truncate');
      assert.equal((await only({ action: 'test.append' })).actor_name, 'test', 'the entry is unchanged');
      assert.equal(t.app.routeTable.filter((r) => r.url.startsWith('/admin/audit') && r.method !== 'GET' && r.method !== 'HEAD').length, 0, 'no route changes the log');
      assert.equal((await admin.post('/admin/audit', { id: String(row.id) })).statusCode, 404);
    });

    test('the audit page filters by actor, entity, action and Kyiv dates, pages by 50, and shows bad input next to the field', async () => {
      const page = await admin.get('/admin/audit');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /data-testid="audit-table"/);
      assert.match(page.body, /user\.delete/);

      const rowsOf = (html: string) => [...html.matchAll(/data-action="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(rowsOf((await admin.get('/admin/audit?actor=agent_a')).body).every((a) => a.startsWith('lead.')));
      assert.ok(rowsOf((await admin.get(`/admin/audit?actor=${adminId}`)).body).length > 0);
      const userActions = rowsOf((await admin.get('/admin/audit?action=user.')).body);
      assert.ok(userActions.length >= 9 && userActions.every((a) => a.startsWith('user.')), 'a prefix ending in "." finds a family');
      assert.deepEqual(rowsOf((await admin.get('/admin/audit?action=user.role')).body), ['user.role', 'user.role']);
      assert.deepEqual(rowsOf((await admin.get(`/admin/audit?entity_type=user&entity_id=${agentId}`)).body), []);
      assert.ok(rowsOf((await admin.get('/admin/audit?entity_type=lead')).body).every((a) => a.startsWith('lead.')));

      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Kyiv' }).format(new Date());
      assert.ok(rowsOf((await admin.get(`/admin/audit?from=${today}&to=${today}`)).body).length > 0, 'today in Kyiv includes now');
      assert.deepEqual(rowsOf((await admin.get('/admin/audit?to=2000-01-01')).body), []);

      const bad = await admin.get('/admin/audit?from=2025-13-40&to=2025-01-01&action=DROP%20TABLE&actor=chief');
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /data-field-error="from"/);
      assert.match(bad.body, /data-field-error="action"/);
      assert.match(bad.body, /name="actor"[^>]*value="chief"/, 'the form keeps what was typed');
      const range = await admin.get('/admin/audit?from=2025-02-01&to=2025-01-01');
      assert.equal(range.statusCode, 400);
      assert.match(range.body, /data-field-error="to"/);

      for (let i = 0; i < 60; i++) await recordAudit(t.app.db, { id: null, name: 'bulk' }, { action: 'test.bulk', entityType: 'test', entityId: i });
      const first = await admin.get('/admin/audit?action=test.bulk');
      assert.equal(rowsOf(first.body).length, 50);
      assert.match(first.body, /href="\/admin\/audit\?action=test\.bulk&amp;page=2"/);
      const second = await admin.get('/admin/audit?action=test.bulk&page=2');
      assert.equal(rowsOf(second.body).length, 10);
      assert.match(second.body, /page-item disabled"><a class="page-link" href="[^"]*" data-testid="next-page"/);

      assert.equal((await agent.get('/admin/audit')).statusCode, 403);
    });
  });
}
