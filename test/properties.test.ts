import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

const MAX_BYTES = 300_000;

const png = (w = 64, h = 48, colour = { r: 200, g: 40, b: 40 }) => sharp({ create: { width: w, height: h, channels: 3, background: colour } }).png().toBuffer();
const jpeg = (w = 1200, h = 900) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 20, g: 90, b: 160 } } }).jpeg().toBuffer();
/** Random noise barely compresses: a PNG bigger than MAX_BYTES. */
const bigPng = () => sharp(Buffer.from(Array.from({ length: 500 * 500 * 3 }, () => Math.floor(Math.random() * 256))), { raw: { width: 500, height: 500, channels: 3 } }).png().toBuffer();
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

type Upload = { name: string; data: Buffer; type?: string };

/** A multipart post whose files are given per form field. */
function postMultipart(c: Client, url: string, fields: Record<string, string>, files: Record<string, Upload[]> = {}) {
  return c.multipart(url, fields, Object.entries(files).flatMap(([field, list]) => list.map((f) => ({ field, ...f }))));
}

function storedFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

/** Storage is cleaned once the response is out (after the commit): wait for it, up to a few seconds. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  assert.fail(what);
}
const settle = () => new Promise((r) => setTimeout(r, 150));

const project = {
  name: 'Sea Breeze Residence', country: 'Дубай', city: 'Дубай Марина', district: 'JBR', price_from: '150 000', price_to: '420000',
  payment_terms: '20% зараз, решта — розстрочка на 3 роки', description: 'Апартаменти біля моря.',
  unit_type_0: '2', unit_size_from_0: '45', unit_size_to_0: '60', unit_price_0: '150000',
  unit_type_1: 'studio', unit_size_from_1: '28,5', unit_size_to_1: '', unit_price_1: '99000',
  unit_type_2: '', unit_size_from_2: '', unit_size_to_2: '', unit_price_2: '',
};

for (const kind of databaseKinds()) {
  describe(`properties [${kind}]`, () => {
    let t: TestApp;
    let admin: Client; let anna: Client; let anon: Client;
    let storageDir: string;
    let createdId = 0;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', UPLOAD_MAX_BYTES: String(MAX_BYTES) } });
      storageDir = t.config.storage.dir;
      await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin', display_name: 'Шеф' });
      await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна' });
      admin = new Client(t.app); anna = new Client(t.app); anon = new Client(t.app);
      await admin.login('chief', 'chief-password-1');
      await anna.login('anna', 'anna-password-1');
    });
    after(() => t.close());

    test('an admin creates a project with two layouts, photos and a brochure; everything is saved', async () => {
      await admin.get('/properties/new');
      const res = await postMultipart(admin, '/properties', project, {
        photos: [{ name: 'front.png', data: await png(), type: 'image/png' }, { name: 'pool.jpg', data: await jpeg(), type: 'image/jpeg' }],
        document_0: [{ name: 'Брошура.pdf', data: PDF, type: 'application/pdf' }],
      });
      assert.equal(res.statusCode, 303, res.body.slice(0, 500));
      createdId = Number(/\/properties\/(\d+)$/.exec(String(res.headers.location))![1]);
      const p = await t.app.db.selectFrom('properties').selectAll().where('id', '=', createdId).executeTakeFirstOrThrow();
      assert.equal(p.price_from, '150000.00');
      assert.equal(p.price_to, '420000.00');
      const units = await t.app.db.selectFrom('property_units').selectAll().where('property_id', '=', createdId).orderBy('position').execute();
      assert.deepEqual(units.map((u) => [u.unit_type, u.size_from, u.size_to, u.price]), [['2', '45.00', '60.00', '150000.00'], ['studio', '28.50', null, '99000.00']]);
      const photos = await t.app.db.selectFrom('property_photos').selectAll().where('property_id', '=', createdId).orderBy('position').execute();
      assert.equal(photos.length, 2);
      assert.deepEqual(photos.map((ph) => ph.is_main), [true, false], 'the first photo becomes the main one');
      assert.equal(photos[1]!.width, 1200, 'a photo under 1600 px keeps its size');
      const docs = await t.app.db.selectFrom('property_documents').selectAll().where('property_id', '=', createdId).execute();
      assert.equal(docs.length, 1);
      assert.equal(docs[0]!.filename, 'Брошура.pdf');
      assert.equal(docs[0]!.content_type, 'application/pdf');
      assert.equal(storedFiles(storageDir).length, 5, 'two photos × (picture + thumbnail) + one document');

      const page = await anna.get(`/properties/${createdId}`);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Sea Breeze Residence/);
      assert.match(page.body, /від \$150\s000 до \$420\s000/u);
      assert.match(page.body, /2 кімнати/);
      assert.match(page.body, /45 – 60 м²/);
      assert.match(page.body, /від 28,5 м²/);
      assert.match(page.body, /Студія/);
      assert.match(page.body, /Брошура\.pdf/);
      assert.match(page.body, /Лідів, які цікавились: 0/);
      assert.doesNotMatch(page.body, /data-testid="edit-property"/, 'agents get no admin buttons');
    });

    test('photos are private, re-encoded thumbnails with caching headers; documents are attachments', async () => {
      const photos = await t.app.db.selectFrom('property_photos').selectAll().where('property_id', '=', createdId).orderBy('position').execute();
      const url = `/properties/${createdId}/photos/${photos[1]!.id}/thumb`;
      const res = await anna.get(url);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'image/webp');
      assert.match(String(res.headers['cache-control']), /^private, max-age=\d+/);
      assert.ok(res.headers.etag);
      const meta = await sharp(res.rawPayload).metadata();
      assert.equal(meta.format, 'webp');
      assert.equal(meta.width, 400, 'thumbnail is 400 px wide');
      const again = await anna.get(url, { 'if-none-match': String(res.headers.etag) });
      assert.equal(again.statusCode, 304);
      const full = await anna.get(`/properties/${createdId}/photos/${photos[1]!.id}/full`);
      assert.equal(full.statusCode, 200);
      assert.equal((await sharp(full.rawPayload).metadata()).width, 1200);
      assert.equal((await anna.get(`/properties/${createdId}/photos/${photos[1]!.id}/original`)).statusCode, 404);
      assert.equal((await anna.get(`/properties/${createdId + 1}/photos/${photos[1]!.id}/thumb`)).statusCode, 404, 'a photo only under its own project');

      const anonymous = await anon.get(url);
      assert.equal(anonymous.statusCode, 302);
      assert.match(String(anonymous.headers.location), /^\/login/);
      const json = await t.app.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
      assert.equal(json.statusCode, 401);

      const doc = await t.app.db.selectFrom('property_documents').selectAll().where('property_id', '=', createdId).executeTakeFirstOrThrow();
      const dl = await anna.get(`/properties/${createdId}/documents/${doc.id}`);
      assert.equal(dl.statusCode, 200);
      assert.equal(dl.headers['content-type'], 'application/pdf');
      assert.match(String(dl.headers['content-disposition']), /^attachment; filename=".*"; filename\*=UTF-8''%D0%91/);
      assert.ok(dl.rawPayload.equals(PDF), 'the bytes as uploaded');
      assert.equal((await anon.get(`/properties/${createdId}/documents/${doc.id}`)).statusCode, 302);
    });

    test('bad input: clear messages next to each field and each file, everything typed kept, nothing written', async () => {
      const before = { rows: await t.app.db.selectFrom('properties').select('id').execute(), files: storedFiles(storageDir).length };
      await admin.get('/properties/new');
      const res = await postMultipart(admin, '/properties', {
        ...project, name: 'X', price_from: 'дорого', price_to: '100', unit_price_0: '', unit_size_to_1: '10', city: 'Кірінія-Центр',
      }, {
        photos: [{ name: 'big.png', data: await bigPng(), type: 'image/png' }, { name: 'notes.jpg', data: Buffer.from('just some text, not an image at all'), type: 'image/jpeg' },
          { name: 'broken.jpg', data: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]), type: 'image/jpeg' }],
        document_1: [{ name: 'virus.exe', data: Buffer.from('MZ\x90\x00 this is not a document at all'), type: 'application/pdf' }],
      });
      assert.equal(res.statusCode, 400);
      for (const f of ['name', 'price_from', 'unit_price_0', 'unit_size_to_1', 'photos', 'documents']) assert.match(res.body, new RegExp(`data-field-error="${f}"`), f);
      assert.match(res.body, /«big\.png»: файл більший за 0\.3 МБ/);
      assert.match(res.body, /«notes\.jpg»: це не фото JPEG, PNG чи WebP/);
      assert.match(res.body, /«broken\.jpg»: зображення пошкоджене/);
      assert.match(res.body, /«virus\.exe»: дозволені лише PDF, DOCX/);
      assert.match(res.body, /value="Кірінія-Центр"/);
      assert.match(res.body, /20% зараз, решта — розстрочка на 3 роки<\/textarea>/);
      assert.match(res.body, /<option value="studio" selected/);
      assert.match(res.body, /data-testid="files-dropped"/, 'the admin is told to choose the files again');
      assert.deepEqual(await t.app.db.selectFrom('properties').select('id').execute(), before.rows);
      await settle();
      assert.equal(storedFiles(storageDir).length, before.files);

      const range = await postMultipart(admin, '/properties', { ...project, price_from: '500000', price_to: '100000' });
      assert.equal(range.statusCode, 400);
      assert.match(range.body, /data-field-error="price_to"[^>]*>«Ціна до» не може бути меншою/);
    });

    test('"add a row" without JavaScript re-shows the form with more rows and saves nothing', async () => {
      const before = await t.app.db.selectFrom('properties').select('id').execute();
      await admin.get('/properties/new');
      const res = await postMultipart(admin, '/properties', { ...project, _action: 'more_units' });
      assert.equal(res.statusCode, 200);
      assert.equal((res.body.match(/data-testid="unit-row"/g) ?? []).length, 6);
      assert.match(res.body, /name="unit_price_1" [^>]*value="99000"/);
      assert.deepEqual(await t.app.db.selectFrom('properties').select('id').execute(), before);
    });

    test('editing: layouts updated, removed and added; main photo, order and removal; documents up to five', async () => {
      const form = await admin.get(`/properties/${createdId}/edit`);
      assert.equal(form.statusCode, 200);
      assert.match(form.body, /name="price_from" [^>]*value="150000"/);
      const units = await t.app.db.selectFrom('property_units').selectAll().where('property_id', '=', createdId).orderBy('position').execute();
      const res = await postMultipart(admin, `/properties/${createdId}`, {
        ...project, name: 'Sea Breeze Residence II',
        unit_id_0: String(units[0]!.id), unit_type_0: '3', unit_size_from_0: '80', unit_size_to_0: '95', unit_price_0: '310000',
        unit_id_1: String(units[1]!.id), unit_remove_1: 'on',
        unit_type_2: '1', unit_size_from_2: '38', unit_price_2: '120000',
      }, {
        photos: [{ name: 'third.png', data: await png(80, 60, { r: 0, g: 160, b: 0 }), type: 'image/png' }],
        document_0: [{ name: 'prices.png', data: await png(), type: 'application/pdf' }],
        document_1: [{ name: 'plan.pdf', data: PDF }],
      });
      assert.equal(res.statusCode, 303, res.body.slice(0, 400));
      const after = await t.app.db.selectFrom('property_units').selectAll().where('property_id', '=', createdId).orderBy('position').execute();
      assert.deepEqual(after.map((u) => [u.unit_type, u.size_from, u.price]), [['3', '80.00', '310000.00'], ['1', '38.00', '120000.00']]);
      assert.equal(after[0]!.id, units[0]!.id, 'the kept row is updated in place');
      const docs = await t.app.db.selectFrom('property_documents').selectAll().where('property_id', '=', createdId).orderBy('id').execute();
      assert.deepEqual(docs.map((d) => d.content_type), ['application/pdf', 'image/png', 'application/pdf'], 'the type comes from the bytes, not the browser');

      let photos = await t.app.db.selectFrom('property_photos').selectAll().where('property_id', '=', createdId).orderBy('position').execute();
      assert.equal(photos.length, 3);
      await admin.get(`/properties/${createdId}/edit`);
      assert.equal((await admin.post(`/properties/${createdId}/photos/${photos[2]!.id}/main`)).statusCode, 303);
      assert.equal((await admin.post(`/properties/${createdId}/photos/${photos[2]!.id}/move`, { direction: 'up' })).statusCode, 303);
      photos = await t.app.db.selectFrom('property_photos').selectAll().where('property_id', '=', createdId).orderBy('position').execute();
      assert.deepEqual(photos.map((p) => p.is_main), [false, true, false]);
      const list = await anna.get('/properties');
      assert.match(list.body, new RegExp(`/properties/${createdId}/photos/${photos[1]!.id}/thumb`), 'the card shows the main photo');

      const mainKeys = [photos[1]!.storage_key, photos[1]!.thumb_key];
      assert.equal((await admin.post(`/properties/${createdId}/photos/${photos[1]!.id}/delete`)).statusCode, 303);
      for (const key of mainKeys) await eventually(() => !existsSync(path.join(storageDir, key)), `its files are gone from storage: ${key}`);
      const left = await t.app.db.selectFrom('property_photos').selectAll().where('property_id', '=', createdId).orderBy('position').execute();
      assert.equal(left.length, 2);
      assert.deepEqual(left.map((p) => p.is_main), [true, false], 'deleting the main photo promotes the first one left');

      const more = await postMultipart(admin, `/properties/${createdId}`, { ...project, unit_type_2: '' }, {
        document_0: [{ name: 'a.pdf', data: PDF }], document_1: [{ name: 'b.pdf', data: PDF }], document_2: [{ name: 'c.pdf', data: PDF }],
      });
      assert.equal(more.statusCode, 400, 'three more would make six');
      assert.match(more.body, /data-field-error="documents"[^>]*>У об'єкта може бути до 5 документів/);
      assert.equal((await t.app.db.selectFrom('property_documents').select('id').where('property_id', '=', createdId).execute()).length, 3);

      assert.equal((await admin.post(`/properties/${createdId}/documents/${docs[0]!.id}/delete`)).statusCode, 303);
      await eventually(() => !existsSync(path.join(storageDir, docs[0]!.storage_key)), 'the document file is gone');
    });

    test('catalogue filters: country, city, price overlap, layout type and size on the same layout; sorting', async () => {
      const add = async (name: string, country: string, city: string, from: string, to: string, units: [string, string, string | null][]) => {
        const p = await t.app.db.insertInto('properties').values({ name, country, city, price_from: from, price_to: to || null }).returning('id').executeTakeFirstOrThrow();
        for (const [i, [type, sFrom, sTo]] of units.entries()) {
          await t.app.db.insertInto('property_units').values({ property_id: p.id, unit_type: type, size_from: sFrom, size_to: sTo, price: from, position: i }).execute();
        }
        return p.id;
      };
      await add('Alpha Bali Villas', 'Балі', 'Убуд', '200000', '350000', [['3', '120', '150'], ['studio', '30', null]]);
      await add('Beta Batumi', 'Турція', 'Batumi', '50000', '', []);
      await add('Gamma Kyrenia', 'Північний Кіпр', 'Кірінія', '90000', '180000', [['2', '60', '70'], ['1', '40', '45']]);
      await add('Delta Kyrenia Hills', 'Північний Кіпр', 'кірінія', '400000', '900000', [['2', '100', '130']]);
      const names = async (q: string) => {
        const res = await anna.get(`/properties?${q}`);
        assert.equal(res.statusCode, 200);
        return [...res.body.matchAll(/class="stretched-link text-decoration-none">([^<]+)</g)].map((m) => m[1]);
      };
      assert.deepEqual(await names(`country=${encodeURIComponent('Північний Кіпр')}&sort=name`), ['Delta Kyrenia Hills', 'Gamma Kyrenia']);
      assert.deepEqual(await names(`city=${encodeURIComponent('КІРІН')}&sort=price_asc`), ['Gamma Kyrenia', 'Delta Kyrenia Hills'], 'city matches case-insensitively');
      assert.deepEqual(await names('price_min=300000&price_max=450000&sort=price_asc'), ['Sea Breeze Residence II', 'Alpha Bali Villas', 'Delta Kyrenia Hills'], 'price ranges that touch the wanted one');
      assert.deepEqual(await names('unit_type=2&size_min=90&sort=name'), ['Delta Kyrenia Hills'], 'a 2-room layout of at least 90 m²');
      assert.deepEqual(await names('unit_type=1&size_min=60&sort=name'), [], 'size and type must hold for the same layout');
      assert.deepEqual(await names('size_max=35&sort=name'), ['Alpha Bali Villas']);
      assert.deepEqual(await names('sort=price_desc&price_max=250000'), ['Alpha Bali Villas', 'Sea Breeze Residence II', 'Gamma Kyrenia', 'Beta Batumi']);
      assert.deepEqual(await names('price_min=abc&unit_type=penthouse&sort=nonsense&page=-4&city=' + 'x'.repeat(300)), await names(''), 'nonsense filters are ignored, not errors');
      const empty = await anna.get('/properties?country=' + encodeURIComponent('Україна'));
      assert.match(empty.body, /Жоден об'єкт не відповідає фільтрам/);
    });

    test('a lead names the projects its client wants: links on the lead, counts on the project', async () => {
      const ids = (await t.app.db.selectFrom('properties').select(['id', 'name']).orderBy('id').execute());
      const gamma = ids.find((p) => p.name === 'Gamma Kyrenia')!.id;
      const form = await anna.get('/leads/new');
      assert.match(form.body, /data-testid="property-picker"/);
      assert.match(form.body, /Gamma Kyrenia/);
      const bad = await anna.post('/leads', { deal_name: 'Ірина Клієнт', phone: '+380 50 765 4321', budget: '200к–500к', property_ids: '99999' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /data-field-error="property_ids"/);
      assert.match(bad.body, /value="Ірина Клієнт"/);
      assert.equal((await t.app.db.selectFrom('leads').select('id').execute()).length, 0, 'nothing saved');

      const body = new URLSearchParams([['_csrf', anna.csrfToken], ['deal_name', 'Ірина Клієнт'], ['phone', '+380 50 765 4321'], ['budget', '200к–500к'],
        ['property_ids', String(gamma)], ['property_ids', String(createdId)]]).toString();
      const res = await t.app.inject({ method: 'POST', url: '/leads', payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: [...anna.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      const leadId = Number(/\/leads\/(\d+)/.exec(String(res.headers.location))![1]);
      const lead = await anna.get(`/leads/${leadId}`);
      assert.match(lead.body, new RegExp(`<a href="/properties/${gamma}">Gamma Kyrenia</a>`));
      assert.match(lead.body, new RegExp(`<a href="/properties/${createdId}">Sea Breeze Residence II</a>`));
      const edit = await anna.get(`/leads/${leadId}/edit`);
      assert.match(edit.body, new RegExp(`value="${gamma}" id="f-property-${gamma}" checked`));

      await seedUser(t, { username: 'boris', password: 'boris-password-1' });
      const boris = new Client(t.app);
      await boris.login('boris', 'boris-password-1');
      const page = await boris.get(`/properties/${gamma}`);
      assert.match(page.body, /Лідів, які цікавились: 1/);
      assert.doesNotMatch(page.body, /Ірина Клієнт/, 'another agent sees a count, never the lead');

      const cleared = await anna.post(`/leads/${leadId}`, { deal_name: 'Ірина Клієнт', phone: '+380 50 765 4321', budget: '200к–500к', status: 'new' });
      assert.equal(cleared.statusCode, 303);
      assert.match((await boris.get(`/properties/${gamma}`)).body, /Лідів, які цікавились: 0/);
    });

    test('XSS: a project name full of markup is shown as text everywhere', async () => {
      const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>"'`;
      await admin.get('/properties/new');
      const res = await postMultipart(admin, '/properties', { ...project, name: evil, district: '<b>bold</b>', description: '<iframe src="javascript:alert(3)">' });
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      const id = Number(/\/properties\/(\d+)$/.exec(String(res.headers.location))![1]);
      for (const url of ['/properties', `/properties/${id}`, '/leads/new', `/properties/${id}/edit`]) {
        const page = url.endsWith('/edit') ? await admin.get(url) : await anna.get(url);
        assert.equal(page.statusCode, 200, url);
        assert.doesNotMatch(page.body, /<script>alert|<img src=x|<b>bold|<iframe/, url);
        assert.match(page.body, /&lt;script>alert\(1\)&lt;\/script>/, url);
      }
    });

    test('deleting a project removes its rows, its lead links and its files', async () => {
      const photos = await t.app.db.selectFrom('property_photos').select(['storage_key', 'thumb_key']).where('property_id', '=', createdId).execute();
      assert.ok(photos.length > 0);
      await admin.get(`/properties/${createdId}`);
      const res = await admin.post(`/properties/${createdId}/delete`);
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/properties');
      assert.equal(await t.app.db.selectFrom('properties').select('id').where('id', '=', createdId).executeTakeFirst(), undefined);
      assert.equal((await t.app.db.selectFrom('property_units').select('id').where('property_id', '=', createdId).execute()).length, 0);
      for (const p of photos) for (const key of [p.storage_key, p.thumb_key]) await eventually(() => !existsSync(path.join(storageDir, key)), key);
      assert.equal((await anna.get(`/properties/${createdId}`)).statusCode, 404);
      // Creating, editing and deleting a project are admin actions in the audit log.
      const actions = (await t.app.db.selectFrom('audit_log').select('action').where('entity_type', '=', 'property').where('entity_id', '=', String(createdId)).execute()).map((r) => r.action);
      for (const a of ['property.create', 'property.update', 'property.delete']) assert.ok(actions.includes(a), `${a} in ${actions.join(', ')}`);
    });

    test('agents cannot change anything: every catalogue and knowledge route answers 403/404 to them, login/401 to strangers', async () => {
      const p = await t.app.db.insertInto('properties').values({ name: 'Guarded', country: 'Балі', city: 'Чангу', price_from: '1' }).returning('id').executeTakeFirstOrThrow();
      await admin.get('/properties/new');
      await postMultipart(admin, `/properties/${p.id}`, { name: 'Guarded', country: 'Балі', city: 'Чангу', price_from: '1' }, {
        photos: [{ name: 'g.png', data: await png() }], document_0: [{ name: 'g.pdf', data: PDF }],
      });
      const photo = await t.app.db.selectFrom('property_photos').select('id').where('property_id', '=', p.id).executeTakeFirstOrThrow();
      const doc = await t.app.db.selectFrom('property_documents').select('id').where('property_id', '=', p.id).executeTakeFirstOrThrow();
      const cat = await t.app.db.insertInto('knowledge_categories').values({ name: 'Guarded' }).returning('id').executeTakeFirstOrThrow();
      const art = await t.app.db.insertInto('knowledge_articles').values({ category_id: cat.id, title: 'Guarded', body: 'x' }).returning('id').executeTakeFirstOrThrow();
      const concrete = (url: string) => url.replace(':id', String(url.startsWith('/knowledge/categories') ? cat.id : url.startsWith('/knowledge') ? art.id : p.id))
        .replace(':photoId', String(photo.id)).replace(':documentId', String(doc.id)).replace(':variant', 'thumb');
      const snapshot = async () => JSON.stringify(await Promise.all(['properties', 'property_units', 'property_photos', 'property_documents', 'knowledge_categories', 'knowledge_articles']
        .map((table) => t.app.db.selectFrom(table as 'properties').selectAll().orderBy('id').execute())));
      const before = await snapshot();
      const routes = t.app.routeTable.filter((r) => r.url.startsWith('/properties') || r.url.startsWith('/knowledge'));
      assert.ok(routes.length >= 20, `expected the catalogue and knowledge routes, got ${routes.length}`);
      const adminPages = ['/properties/new', '/properties/:id/edit', '/knowledge/new', '/knowledge/:id/edit', '/knowledge/categories'];
      await anna.get('/properties');
      for (const r of routes) {
        if (r.method === 'HEAD') continue;
        const url = concrete(r.url);
        if (r.method === 'GET') {
          const res = await anna.get(url);
          assert.equal(res.statusCode, adminPages.includes(r.url) ? 403 : 200, `agent GET ${r.url}`);
          const stranger = await anon.get(url);
          assert.equal(stranger.statusCode, 302, `anonymous GET ${r.url}`);
          assert.match(String(stranger.headers.location), /^\/login\?next=/);
          continue;
        }
        const res = await anna.post(url, { name: 'Hacked', title: 'Hacked', body: 'x', country: 'Балі', city: 'Hack', price_from: '1', direction: 'up', category_id: String(cat.id) });
        assert.ok([403, 404].includes(res.statusCode), `agent ${r.method} ${r.url} answered ${res.statusCode}`);
        const multi = await postMultipart(anna, url, { name: 'Hacked', country: 'Балі', city: 'Hack', price_from: '1' }, { photos: [{ name: 'h.png', data: await png() }] });
        // The knowledge base takes no uploads: a multipart body is refused there unread.
        assert.ok((r.url.startsWith('/knowledge') ? [415] : [403, 404]).includes(multi.statusCode), `agent multipart ${r.method} ${r.url} answered ${multi.statusCode}`);
        await anon.get('/login');
        const stranger = await anon.post(url, { name: 'Hacked' });
        assert.equal(stranger.statusCode, 401, `anonymous ${r.method} ${r.url}`);
      }
      assert.equal(await snapshot(), before, 'nothing changed');
    });
  });
}
