// Verification over HTTP on both databases: an agent applies with documents, the admin sees the request
// and its documents, approves with a commission (0–100, step 0.1) or rejects with a reason the agent sees,
// the agent re-applies; revoking; the history; who may do what; CSRF on the multipart request form.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client, type FilePart } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

const PDF = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n', 'latin1');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 7)]);
const HTML = Buffer.from('<html><script>alert(1)</script></html>');

const bothDocuments = [{ field: 'id_document', name: 'паспорт.pdf', data: PDF }, { field: 'agreement', name: 'договір.jpg', data: JPEG }];

for (const kind of databaseKinds()) {
  describe(`verification [${kind}]`, () => {
    let t: TestApp;
    let adminId: number; let annaId: number; let borisId: number; let vasylId: number;
    let admin: Client; let anna: Client; let boris: Client;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
      adminId = await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin', display_name: 'Шеф' });
      annaId = await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна' });
      borisId = await seedUser(t, { username: 'boris', password: 'boris-password-1', display_name: 'Борис' });
      vasylId = await seedUser(t, { username: 'vasyl', password: 'vasyl-password-1', display_name: 'Василь' });
      admin = new Client(t.app); anna = new Client(t.app); boris = new Client(t.app);
      await admin.login('chief', 'chief-password-1');
      await anna.login('anna', 'anna-password-1');
      await boris.login('boris', 'boris-password-1');
    });
    after(() => t.close());

    const apply = async (c: Client, files: FilePart[], opts: { csrf?: boolean; json?: boolean } = {}) => {
      await c.get('/verification');
      return c.multipart('/verification', {}, files, opts);
    };
    const requests = (agentId: number) => t.app.db.selectFrom('verification_requests').selectAll().where('agent_id', '=', agentId).orderBy('id').execute();
    const user = (id: number) => t.app.db.selectFrom('users').select(['is_verified', 'commission']).where('id', '=', id).executeTakeFirstOrThrow();
    const decide = async (agentId: number, action: 'approve' | 'reject', form: Record<string, string>) => {
      await admin.get('/admin/verification');
      return admin.post(`/admin/verification/${agentId}/${action}`, form);
    };

    test('a new agent sees "not verified" and the request button on the profile', async () => {
      const page = await anna.get('/profile');
      assert.match(page.body, /data-testid="verification-state" data-state="none"/);
      assert.match(page.body, /Не верифіковано/);
      assert.match(page.body, /href="\/verification"[^>]*data-testid="verification-request"[^>]*>Запросити верифікацію/);
    });

    test('the request needs an ID and a signed agreement, checked by their bytes; nothing is kept from a refused form', async () => {
      const none = await apply(anna, []);
      assert.equal(none.statusCode, 400);
      assert.match(none.body, /data-field-error="id_document"[^>]*>Оберіть файл/);
      assert.match(none.body, /data-field-error="agreement"[^>]*>Оберіть файл/);
      const badType = await apply(anna, [{ field: 'id_document', name: 'passport.pdf', data: HTML }, bothDocuments[1]!]);
      assert.equal(badType.statusCode, 400);
      assert.match(badType.body, /data-field-error="id_document"[^>]*>Це не PDF/);
      assert.doesNotMatch(badType.body, /data-field-error="agreement"/);
      const tooBig = await apply(anna, [bothDocuments[0]!, { field: 'agreement', name: 'big.pdf', data: Buffer.concat([PDF, Buffer.alloc(t.config.storage.maxBytes)]) }]);
      assert.equal(tooBig.statusCode, 413);
      assert.match(tooBig.body, /data-field-error="agreement"[^>]*>Файл завеликий: максимум 10 МБ\./);
      assert.equal((await requests(annaId)).length, 0);
      const docs = await t.app.db.selectFrom('user_documents').select('id').where('user_id', '=', annaId).execute();
      assert.equal(docs.length, 0, 'the valid file of a refused form is not kept either');
    });

    test('an agent requests verification with documents: pending on the profile, documents kept with the request', async () => {
      const res = await apply(anna, bothDocuments);
      assert.equal(res.statusCode, 303, res.body.slice(0, 400));
      assert.equal(res.headers.location, '/profile');
      const [req] = await requests(annaId);
      assert.equal(req?.status, 'pending');
      const docs = await t.app.db.selectFrom('user_documents').selectAll().where('user_id', '=', annaId).orderBy('id').execute();
      assert.deepEqual(docs.map((d) => [d.kind, d.content_type, d.verification_request_id, d.uploaded_by]), [
        ['id', 'application/pdf', req!.id, annaId], ['agreement', 'image/jpeg', req!.id, annaId],
      ]);
      const page = await anna.get('/profile');
      assert.match(page.body, /Запит на верифікацію надіслано/);
      assert.match(page.body, /data-state="pending"/);
      assert.match(page.body, /На розгляді/);
      assert.match(page.body, /Запит надіслано \d/);
      assert.match(page.body, /паспорт\.pdf/);
      // A second request while one is pending changes nothing.
      const again = await apply(anna, bothDocuments);
      assert.equal(again.statusCode, 303);
      assert.equal(again.headers.location, '/verification');
      assert.match((await anna.get('/verification')).body, /Запит на верифікацію вже на розгляді\./);
      assert.equal((await requests(annaId)).length, 1);
      assert.equal((await anna.json('POST', '/verification', {})).statusCode, 409);
    });

    test('admins do not apply; agents never reach the admin pages or decisions', async () => {
      await admin.get('/profile');
      assert.equal((await admin.multipart('/verification', {}, bothDocuments)).statusCode, 403);
      const redirect = await admin.get('/verification');
      assert.equal(redirect.statusCode, 302);
      assert.equal(redirect.headers.location, '/admin/verification');
      assert.equal((await boris.get('/admin/verification')).statusCode, 403);
      assert.equal((await boris.get(`/admin/verification/${annaId}`)).statusCode, 403);
      await boris.get('/profile');
      assert.equal((await boris.post(`/admin/verification/${annaId}/approve`, { commission: '50' })).statusCode, 403);
      assert.equal((await boris.post(`/admin/verification/${borisId}/approve`, { commission: '50' })).statusCode, 403);
      assert.equal((await boris.post(`/admin/verification/${annaId}/reject`, { reason: 'Бо так' })).statusCode, 403);
      assert.equal((await user(borisId)).is_verified, false);
      const anon = new Client(t.app);
      assert.equal((await anon.get('/admin/verification')).statusCode, 302);
      assert.equal((await anon.json('GET', '/admin/verification')).statusCode, 401);
    });

    test('the admin page: counts, the pending request with its documents, all agents', async () => {
      const page = await admin.get('/admin/verification');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /data-testid="verification-count-pending">1</);
      assert.match(page.body, /data-testid="verification-count-verified">0</);
      assert.match(page.body, /data-testid="verification-count-unverified">2</);
      assert.match(page.body, /data-testid="verification-count-total">3</);
      const pending = /data-testid="pending-table"[\s\S]*?<\/table>/.exec(page.body)?.[0] ?? '';
      assert.match(pending, /Анна/);
      assert.match(pending, /href="\/documents\/\d+\/download"[^>]*>паспорт\.pdf/);
      assert.doesNotMatch(pending, /Борис/);
      assert.match(page.body, /data-testid="agents-table"[\s\S]*Борис[\s\S]*Василь/);
      assert.doesNotMatch(page.body, /data-agent-id="\d+" data-state="[a-z]+">[\s\S]{0,200}Шеф/, 'admins are not in the agents table');
      const json = await admin.json('GET', '/admin/verification');
      assert.deepEqual(json.json().counts, { pending: 1, verified: 0, unverified: 2, total: 3 });
      // The admin opens a document.
      const docId = Number(/href="\/documents\/(\d+)\/download"/.exec(pending)![1]);
      const file = await admin.get(`/documents/${docId}/download`);
      assert.equal(file.statusCode, 200);
      assert.match(String(file.headers['content-disposition']), /^attachment;/);
      const details = await admin.get(`/admin/verification/${annaId}`);
      assert.equal(details.statusCode, 200);
      assert.match(details.body, /data-testid="verification-history"/);
      assert.match(details.body, /паспорт\.pdf/);
      assert.equal((await admin.get(`/admin/verification/${adminId}`)).statusCode, 404, 'an admin is not an agent');
      assert.equal((await admin.get('/admin/verification/999999')).statusCode, 404);
    });

    test('approve requires a commission from 0 to 100 in steps of 0.1, shown next to the field with the value kept', async () => {
      const cases: [string | undefined, RegExp][] = [
        [undefined, /Вкажіть комісію/], ['', /Вкажіть комісію/], ['101', /від 0 до 100/], ['-1', /від 0 до 100/],
        ['2.55', /від 0 до 100/], ['abc', /від 0 до 100/], ['100.5', /від 0 до 100/],
      ];
      for (const [value, message] of cases) {
        const res = await decide(annaId, 'approve', value === undefined ? {} : { commission: value });
        assert.equal(res.statusCode, 400, String(value));
        assert.match(res.body, new RegExp(`id="f-commission-${annaId}"[^>]*value${value ? `="${value}"` : '[ />]'}`), 'the typed value is kept');
        const err = new RegExp(`data-field-error="commission">([^<]*)<`).exec(res.body)?.[1] ?? '';
        assert.match(err, message, String(value));
      }
      // From the details page the form comes back there.
      const fromDetails = await decide(annaId, 'approve', { commission: '200', next: `/admin/verification/${annaId}` });
      assert.equal(fromDetails.statusCode, 400);
      assert.match(fromDetails.body, /Агент: Анна/);
      const json = await admin.json('POST', `/admin/verification/${annaId}/approve`, { commission: 150 });
      assert.equal(json.statusCode, 400);
      assert.equal(json.json().fields.commission, 'Комісія — число від 0 до 100 з кроком 0,1');
      assert.equal((await user(annaId)).is_verified, false);
      assert.equal((await requests(annaId))[0]?.status, 'pending');
    });

    test('reject requires a reason; the agent sees it on the profile and re-applies', async () => {
      for (const reason of [undefined, '', '  ', 'ok']) {
        const res = await decide(annaId, 'reject', reason === undefined ? {} : { reason });
        assert.equal(res.statusCode, 400, String(reason));
        assert.match(res.body, /data-field-error="reason">Вкажіть причину/);
      }
      assert.equal((await requests(annaId))[0]?.status, 'pending');
      const res = await decide(annaId, 'reject', { reason: 'Скан паспорта нечитабельний' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/admin/verification');
      const [rejected] = await requests(annaId);
      assert.equal(rejected?.status, 'rejected');
      assert.equal(rejected?.decided_by, adminId);
      assert.equal(rejected?.reason, 'Скан паспорта нечитабельний');
      const profile = await anna.get('/profile');
      assert.match(profile.body, /data-state="rejected"/);
      assert.match(profile.body, /Причина: Скан паспорта нечитабельний/);
      assert.match(profile.body, /data-testid="verification-request"[^>]*>Подати запит повторно/);
      // Nothing left to reject.
      assert.equal((await admin.json('POST', `/admin/verification/${annaId}/reject`, { reason: 'Ще раз' })).statusCode, 409);
      // Re-apply: both kinds are on file, so a new ID scan alone is enough.
      const page = await anna.get('/verification');
      assert.match(page.body, /Уже є серед ваших документів/);
      const again = await anna.multipart('/verification', {}, [{ field: 'id_document', name: 'паспорт-2.pdf', data: PDF }]);
      assert.equal(again.statusCode, 303, again.body.slice(0, 300));
      const all = await requests(annaId);
      assert.deepEqual(all.map((r) => r.status), ['rejected', 'pending']);
    });

    test('approve with a commission: verified with the commission on the profile, the history says who and when', async () => {
      const res = await decide(annaId, 'approve', { commission: '7,5' });
      assert.equal(res.statusCode, 303);
      assert.match((await admin.get('/admin/verification')).body, /Агента Анна верифіковано, комісія 7,5 %\./);
      const u = await user(annaId);
      assert.equal(u.is_verified, true);
      assert.equal(Number(u.commission), 7.5);
      const [first, second] = await requests(annaId);
      assert.equal(first?.status, 'rejected');
      assert.equal(second?.status, 'approved');
      assert.equal(Number(second?.commission), 7.5);
      assert.equal(second?.decided_by, adminId);
      assert.ok(second?.decided_at);
      const profile = await anna.get('/profile');
      assert.match(profile.body, /data-state="verified"/);
      assert.match(profile.body, /Верифіковано/);
      assert.match(profile.body, /data-testid="verification-commission">Комісія: 7,5 %/);
      assert.match(profile.body, /data-testid="profile-commission">7,5</);
      assert.doesNotMatch(profile.body, /data-testid="verification-request"/);
      const details = await admin.get(`/admin/verification/${annaId}`);
      const history = /data-testid="verification-history"[\s\S]*?<\/table>/.exec(details.body)?.[0] ?? '';
      assert.match(history, /Підтверджено[\s\S]*Шеф[\s\S]*7,5/);
      assert.match(history, /Відхилено[\s\S]*Скан паспорта нечитабельний/);
      // Approving again is a conflict, not a silent change.
      assert.equal((await admin.json('POST', `/admin/verification/${annaId}/approve`, { commission: 9 })).statusCode, 409);
      // A verified agent cannot apply.
      assert.equal((await anna.json('POST', '/verification', {})).statusCode, 409);
      const audit = await t.app.db.selectFrom('audit_log').select(['action', 'entity_type', 'entity_id', 'actor_id']).where('entity_type', '=', 'verification').orderBy('id').execute();
      assert.deepEqual(audit.map((a) => a.action), ['verification.request', 'verification.reject', 'verification.request', 'verification.approve']);
      assert.ok(audit.every((a) => a.entity_id === String(annaId)));
    });

    test('the admin verifies an agent who never applied, and revokes with a reason the agent sees; JSON works too', async () => {
      const res = await admin.json('POST', `/admin/verification/${vasylId}/approve`, { commission: 5 });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { agent_id: vasylId, state: 'verified' });
      assert.equal((await user(vasylId)).is_verified, true);
      const revoke = await decide(vasylId, 'reject', { reason: 'Договір розірвано' });
      assert.equal(revoke.statusCode, 303);
      assert.deepEqual((await requests(vasylId)).map((r) => r.status), ['approved', 'revoked']);
      assert.equal((await user(vasylId)).is_verified, false);
      const vasyl = new Client(t.app);
      await vasyl.login('vasyl', 'vasyl-password-1');
      const profile = await vasyl.get('/profile');
      assert.match(profile.body, /data-state="revoked"/);
      assert.match(profile.body, /Причина: Договір розірвано/);
      assert.match(profile.body, /data-testid="verification-request"/);
      // Targets must be agents.
      assert.equal((await admin.json('POST', `/admin/verification/${adminId}/approve`, { commission: 5 })).statusCode, 404);
      assert.equal((await admin.json('POST', '/admin/verification/abc/approve', { commission: 5 })).statusCode, 404);
      const page = await admin.get('/admin/verification');
      assert.match(page.body, /data-testid="verification-count-verified">1</);
      assert.match(page.body, /data-testid="verification-count-pending">0</);
      assert.match(page.body, /data-testid="verification-count-unverified">2</);
    });

    test('the request form without the CSRF token is refused with 403 and keeps nothing', async () => {
      const before = await requests(borisId);
      const res = await apply(boris, bothDocuments, { csrf: false });
      assert.equal(res.statusCode, 403);
      assert.deepEqual(await requests(borisId), before);
      const docs = await t.app.db.selectFrom('user_documents').select('id').where('user_id', '=', borisId).execute();
      assert.equal(docs.length, 0);
      await admin.get('/admin/verification');
      const approve = await admin.post(`/admin/verification/${borisId}/approve`, { commission: '5' }, { csrf: false });
      assert.equal(approve.statusCode, 403);
    });
  });
}
