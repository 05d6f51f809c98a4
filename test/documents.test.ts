// Private documents over HTTP on both databases: type from the bytes, the size limit with the form kept,
// download headers, 404 for anyone but the owner and admins, delete removes the stored object, CSRF on
// multipart forms, and no way to reach a stored file through the static folders.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT_DIR } from '../src/app.ts';
import { deleteAllDocumentsOf } from '../src/documents/documents.server.ts';
import { NotFoundInStorage } from '../src/storage/storage.server.ts';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client, type FilePart } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

export const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
const HTML = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');

for (const kind of databaseKinds()) {
  describe(`documents [${kind}]`, () => {
    let t: TestApp;
    let adminId: number; let annaId: number; let borisId: number;
    let admin: Client; let anna: Client; let boris: Client;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
      adminId = await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin', display_name: 'Шеф' });
      annaId = await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна' });
      borisId = await seedUser(t, { username: 'boris', password: 'boris-password-1', display_name: 'Борис' });
      admin = new Client(t.app); anna = new Client(t.app); boris = new Client(t.app);
      await admin.login('chief', 'chief-password-1');
      await anna.login('anna', 'anna-password-1');
      await boris.login('boris', 'boris-password-1');
    });
    after(() => t.close());

    const upload = async (userId: number, file: FilePart | null, fields: Record<string, string> = {}, opts: { csrf?: boolean; json?: boolean; as?: Client } = {}) => {
      const c = opts.as ?? admin;
      await c.get('/profile');
      return c.multipart(`/admin/users/${userId}/documents`, fields, file ? [file] : [], opts);
    };
    const rows = (userId: number) => t.app.db.selectFrom('user_documents').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    const stored = async (key: string) => {
      try {
        const chunks: Buffer[] = [];
        for await (const c of await t.app.storage.get(key)) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      } catch (err) {
        if (err instanceof NotFoundInStorage) return null;
        throw err;
      }
    };

    test('a PDF named .png is accepted and stored as a PDF under a random key; the original name is only metadata', async () => {
      const res = await upload(annaId, { field: 'file', name: 'паспорт скан.png', data: PDF, type: 'image/png' }, { kind: 'id', description: 'Паспорт' });
      assert.equal(res.statusCode, 303, res.body.slice(0, 500));
      assert.equal(res.headers.location, `/admin/users/${annaId}/documents`);
      const [doc] = await rows(annaId);
      assert.ok(doc);
      assert.equal(doc.content_type, 'application/pdf', 'the type comes from the bytes, not the name or the browser');
      assert.equal(doc.filename, 'паспорт скан.png');
      assert.equal(doc.kind, 'id');
      assert.equal(doc.size_bytes, PDF.length);
      assert.equal(doc.uploaded_by, adminId);
      assert.match(doc.storage_key, new RegExp(`^documents/${annaId}/[0-9a-f]{32}\\.pdf$`));
      assert.ok(!doc.storage_key.includes('паспорт'), 'the name never becomes part of the key');
      assert.deepEqual(await stored(doc.storage_key), PDF);
      const page = await admin.get(`/admin/users/${annaId}/documents`);
      assert.match(page.body, /Документ «паспорт скан\.png» завантажено\./);
      assert.match(page.body, /паспорт скан\.png/);
      assert.doesNotMatch(page.body, new RegExp(doc.storage_key.split('/').pop()!), 'the storage key is never shown');
    });

    test('an HTML file named .pdf is refused by its bytes, with the message next to the field and the form kept', async () => {
      const before = (await rows(annaId)).length;
      const res = await upload(annaId, { field: 'file', name: 'договір.pdf', data: HTML, type: 'application/pdf' }, { kind: 'agreement', description: 'Мій опис' });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /data-field-error="file"[^>]*>Це не PDF, JPEG, PNG, HEIC чи DOCX/);
      assert.match(res.body, /value="Мій опис"/);
      assert.match(res.body, /<option value="agreement" selected/);
      assert.equal((await rows(annaId)).length, before);
      const json = await upload(annaId, { field: 'file', name: 'x.pdf', data: HTML }, {}, { json: true });
      assert.equal(json.statusCode, 400);
      assert.match(json.json().fields.file, /Це не PDF/);
    });

    test('10 MB + 1 byte is refused with a clear message and the rest of the form kept; exactly 10 MB is accepted', async () => {
      const max = t.config.storage.maxBytes;
      assert.equal(max, 10 * 1024 * 1024);
      const before = (await rows(annaId)).length;
      const big = Buffer.concat([PDF, Buffer.alloc(max + 1 - PDF.length, 0x20)]);
      const res = await upload(annaId, { field: 'file', name: 'великий.pdf', data: big }, { kind: 'agreement', description: 'Залишся' });
      assert.equal(res.statusCode, 413);
      assert.match(res.body, /data-field-error="file"[^>]*>Файл завеликий: максимум 10 МБ\./);
      assert.match(res.body, /value="Залишся"/);
      assert.match(res.body, /<option value="agreement" selected/);
      assert.equal((await rows(annaId)).length, before, 'nothing stored');
      const json = await upload(annaId, { field: 'file', name: 'великий.pdf', data: big }, {}, { json: true });
      assert.equal(json.statusCode, 413);
      assert.equal(json.json().fields.file, 'Файл завеликий: максимум 10 МБ.');
      const exact = await upload(annaId, { field: 'file', name: 'рівно.pdf', data: big.subarray(0, max) });
      assert.equal(exact.statusCode, 303);
      assert.equal((await rows(annaId)).at(-1)?.size_bytes, max);
    });

    test('an empty file and no file at all are refused', async () => {
      const empty = await upload(annaId, { field: 'file', name: 'порожній.pdf', data: Buffer.alloc(0) });
      assert.equal(empty.statusCode, 400);
      assert.match(empty.body, /data-field-error="file"[^>]*>Файл порожній\./);
      const none = await upload(annaId, { field: 'file', name: '', data: Buffer.alloc(0) });
      assert.equal(none.statusCode, 400);
      assert.match(none.body, /data-field-error="file"[^>]*>Оберіть файл/);
      const noPart = await upload(annaId, null, { description: 'без файлу' });
      assert.equal(noPart.statusCode, 400);
      assert.match(noPart.body, /value="без файлу"/);
    });

    test('download: attachment with the original name, nosniff, the sniffed type, no caching; the bytes unchanged', async () => {
      const doc = (await rows(annaId))[0]!;
      for (const c of [anna, admin]) {
        const res = await c.get(`/documents/${doc.id}/download`);
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-type'], 'application/pdf');
        assert.match(String(res.headers['content-disposition']), /^attachment; filename="[^"]*\.png"; filename\*=UTF-8''%D0%BF%D0%B0%D1%81%D0%BF%D0%BE%D1%80%D1%82%20%D1%81%D0%BA%D0%B0%D0%BD\.png$/);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.match(String(res.headers['cache-control']), /no-store/);
        assert.match(String(res.headers['content-security-policy']), /sandbox/);
        assert.deepEqual(res.rawPayload, PDF);
      }
    });

    test("another agent's documents answer 404 everywhere, even by guessing ids; an agent cannot upload or delete", async () => {
      const docs = await rows(annaId);
      const maxId = Math.max(...docs.map((d) => d.id));
      for (let id = 1; id <= maxId + 3; id++) {
        assert.equal((await boris.get(`/documents/${id}/download`)).statusCode, 404, `download ${id}`);
        await boris.get('/profile');
        assert.equal((await boris.post(`/admin/users/${annaId}/documents/${id}/delete`)).statusCode, 404, `delete ${id}`);
        assert.equal((await boris.json('DELETE', `/admin/users/${annaId}/documents/${id}`, {})).statusCode, 404, `DELETE ${id}`);
        assert.equal((await boris.post(`/admin/users/${borisId}/documents/${id}/delete`)).statusCode, 404, `delete via own id ${id}`);
      }
      for (const bad of ['0', '-1', 'abc', '99999999999', '1.5']) assert.equal((await boris.get(`/documents/${bad}/download`)).statusCode, 404, bad);
      assert.equal((await boris.get(`/admin/users/${annaId}/documents`)).statusCode, 404);
      assert.equal((await boris.json('GET', `/admin/users/${annaId}/documents`)).statusCode, 404);
      // Her own: she may list and download, but only admins delete and upload.
      const own = await anna.json('GET', `/admin/users/${annaId}/documents`);
      assert.equal(own.statusCode, 200);
      assert.equal(own.json().documents.length, docs.length);
      assert.ok(!JSON.stringify(own.json()).includes('storage_key') && !JSON.stringify(own.json()).includes(docs[0]!.storage_key));
      await anna.get('/profile');
      assert.equal((await anna.post(`/admin/users/${annaId}/documents/${docs[0]!.id}/delete`)).statusCode, 403);
      assert.equal((await upload(annaId, { field: 'file', name: 'a.pdf', data: PDF }, {}, { as: anna })).statusCode, 403);
      assert.equal((await upload(borisId, { field: 'file', name: 'a.pdf', data: PDF }, {}, { as: anna })).statusCode, 403);
      assert.equal((await rows(annaId)).length, docs.length);
      // Anonymous: sent to the login form, or 401.
      const anon = new Client(t.app);
      assert.equal((await anon.get(`/documents/${docs[0]!.id}/download`)).statusCode, 302);
      assert.equal((await anon.json('GET', `/documents/${docs[0]!.id}/download`)).statusCode, 401);
    });

    test('the profile lists the own documents with download links; an admin can upload for an admin', async () => {
      const profile = await anna.get('/profile');
      assert.match(profile.body, /data-testid="profile-documents"/);
      assert.match(profile.body, /паспорт скан\.png/);
      assert.match(profile.body, /href="\/documents\/\d+\/download"/);
      const res = await upload(adminId, { field: 'file', name: 'photo.jpg', data: PNG }, { kind: 'other' });
      assert.equal(res.statusCode, 303);
      assert.equal((await rows(adminId))[0]?.content_type, 'image/png');
    });

    test('admin delete removes the row and the stored object', async () => {
      await upload(borisId, { field: 'file', name: 'видалити.pdf', data: PDF });
      const [doc] = await rows(borisId);
      assert.ok(doc);
      assert.ok(await stored(doc.storage_key));
      await admin.get(`/admin/users/${borisId}/documents`);
      const res = await admin.post(`/admin/users/${borisId}/documents/${doc.id}/delete`, { next: `/admin/users/${borisId}/documents` });
      assert.equal(res.statusCode, 303);
      assert.equal((await rows(borisId)).length, 0);
      assert.equal(await stored(doc.storage_key), null, 'the stored object is gone');
      assert.equal((await admin.get(`/documents/${doc.id}/download`)).statusCode, 404);
      // The JSON route too.
      await upload(borisId, { field: 'file', name: 'ще.pdf', data: PDF });
      const [doc2] = await rows(borisId);
      const json = await admin.json('DELETE', `/admin/users/${borisId}/documents/${doc2!.id}`, {});
      assert.equal(json.statusCode, 200);
      assert.equal(await stored(doc2!.storage_key), null);
      // A document id under the wrong user's path is not found.
      await upload(borisId, { field: 'file', name: 'третій.pdf', data: PDF });
      const [doc3] = await rows(borisId);
      assert.equal((await admin.json('DELETE', `/admin/users/${annaId}/documents/${doc3!.id}`, {})).statusCode, 404);
      assert.ok(await stored(doc3!.storage_key));
    });

    test('deleting a user: their rows and stored objects go (deleteAllDocumentsOf, then the FK cascade)', async () => {
      const id = await seedUser(t, { username: 'leaving', password: 'leaving-password-1' });
      await upload(id, { field: 'file', name: 'a.pdf', data: PDF });
      await upload(id, { field: 'file', name: 'b.png', data: PNG });
      const keys = (await rows(id)).map((r) => r.storage_key);
      assert.equal(keys.length, 2);
      await t.app.db.transaction().execute(async (trx) => {
        assert.equal(await deleteAllDocumentsOf(trx, t.app.storage, id), 2);
        await trx.deleteFrom('users').where('id', '=', id).execute();
      });
      for (const k of keys) assert.equal(await stored(k), null);
      // Without the helper the foreign key still removes the rows (the files would stay: hence the helper).
      const other = await seedUser(t, { username: 'leaving2', password: 'leaving-password-1' });
      await upload(other, { field: 'file', name: 'c.pdf', data: PDF });
      await t.app.db.deleteFrom('users').where('id', '=', other).execute();
      assert.equal((await rows(other)).length, 0);
    });

    test('multipart forms without the CSRF token are refused with 403 and store nothing', async () => {
      const before = await t.app.db.selectFrom('user_documents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const res = await upload(annaId, { field: 'file', name: 'a.pdf', data: PDF }, {}, { csrf: false });
      assert.equal(res.statusCode, 403);
      const wrong = await upload(annaId, { field: 'file', name: 'a.pdf', data: PDF }, { _csrf: 'forged' }, { csrf: false });
      assert.equal(wrong.statusCode, 403);
      await admin.get('/profile');
      const del = await admin.app.inject({ method: 'POST', url: `/admin/users/${annaId}/documents/1/delete`, headers: { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
      assert.equal(del.statusCode, 403);
      const after = await t.app.db.selectFrom('user_documents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), Number(before.n));
    });

    test('a stored file is not reachable under /static or /vendor', async () => {
      const doc = (await rows(annaId))[0]!;
      const storageDir = path.resolve(t.config.storage.dir);
      assert.ok(!storageDir.startsWith(path.join(ROOT_DIR, 'public')), 'the storage folder is outside the static root');
      const name = doc.storage_key.split('/').pop()!;
      const rel = path.relative(ROOT_DIR, path.join(storageDir, doc.storage_key));
      const urls = [
        `/static/${doc.storage_key}`, `/static/uploads/${doc.storage_key}`, `/static/uploads/${name}`, `/static/documents/${name}`,
        `/static/../${rel}`, `/static/..%2f..%2f${encodeURIComponent(rel)}`, `/static/%2e%2e/%2e%2e/${rel}`,
        `/vendor/bootstrap/../../../${rel}`, `/vendor/bootstrap/..%2f..%2f..%2f${encodeURIComponent(rel)}`, `/uploads/${doc.storage_key}`, `/${doc.storage_key}`,
      ];
      for (const url of urls) {
        for (const c of [anna, admin]) {
          const res = await c.get(url);
          assert.notEqual(res.statusCode, 200, url);
          assert.ok(!res.rawPayload.includes(PDF), `${url} must not return the file`);
        }
      }
    });
  });
}
