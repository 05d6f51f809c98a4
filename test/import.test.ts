// CSV import over HTTP on both databases: UTF-8 and Windows-1251 files become the uploader's leads only
// after "Import"; bad files (wrong encoding forced, 50 MB, broken quotes) come back with a message next
// to the file field; per-row errors and duplicate flags are shown before anything is saved; formulas stay
// text and are escaped in the failed-rows download; another agent's import is "not found"; CSRF on every
// post; a database error or a crash leaves nothing of an import; 10,000 rows in one go.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { claimImport, createImportRunner, runImport } from '../src/import/run.server.ts';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';
import { startSyncHarness, type SyncHarness } from './helpers/sync.ts';
import { cp1251, leadsCsv } from './helpers/csv-files.ts';

const importIdOf = (res: LightMyRequestResponse) => {
  assert.equal(res.statusCode, 303, res.body.replace(/<head>[\s\S]*?<\/head>/, '').slice(0, 2000));
  const m = /^\/leads\/import\/(\d+)$/.exec(String(res.headers.location));
  assert.ok(m, `redirected to ${res.headers.location}`);
  return Number(m[1]);
};

/** The text of the element carrying data-field-error="file". */
const fileError = (html: string) => /data-field-error="file"[^>]*>([^<]*)</.exec(html)?.[1];

for (const kind of databaseKinds()) {
  describe(`CSV import [${kind}]`, () => {
    let t: TestApp;
    let adminId: number; let annaId: number; let borisId: number;
    let admin: Client; let anna: Client; let boris: Client;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
      adminId = await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin', display_name: 'Шеф', email: 'chief@propart.example' });
      annaId = await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна', email: 'anna@propart.example' });
      borisId = await seedUser(t, { username: 'boris', password: 'boris-password-1', display_name: 'Борис', email: 'boris@propart.example' });
      await seedUser(t, { username: 'gone', password: 'gone-password-1', display_name: 'Колишній', email: 'gone@propart.example', is_active: false });
      admin = new Client(t.app); anna = new Client(t.app); boris = new Client(t.app);
      for (const [c, u] of [[admin, 'chief'], [anna, 'anna'], [boris, 'boris']] as const) {
        assert.equal((await c.login(u, `${u}-password-1`)).statusCode, 303);
      }
    });
    after(() => t.close());

    const upload = async (c: Client, data: string | Buffer, fields: Record<string, string> = {}, name = 'leads.csv', opts: { csrf?: boolean } = {}) => {
      await c.get('/leads/import');
      return c.multipart('/leads/import', fields, [{ field: 'file', name, data: typeof data === 'string' ? Buffer.from(data) : data }], opts);
    };
    const preview = async (c: Client, id: number) => {
      const res = await c.get(`/leads/import/${id}`);
      assert.equal(res.statusCode, 200);
      return res.body;
    };
    const counts = (html: string) => Object.fromEntries([...html.matchAll(/data-count="(\w+)">[^<]*?(\d+)</g)].map((m) => [m[1], Number(m[2])]));
    const leadsOf = (id: number) => t.app.db.selectFrom('leads').selectAll().where('import_id', '=', id).orderBy('id').execute();
    /** "Import", then the progress endpoint until it says finished. */
    const importAndWait = async (c: Client, id: number) => {
      await c.get(`/leads/import/${id}`);
      const res = await c.post(`/leads/import/${id}/start`);
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `/leads/import/${id}`);
      for (let i = 0; i < 600; i++) {
        const p = await c.get(`/leads/import/${id}/progress`, { accept: 'application/json' });
        assert.equal(p.statusCode, 200);
        const body = p.json() as { status: string; processed: number; total: number; finished: boolean; imported: number; failed: number; percent: number };
        if (body.finished) return body;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the import did not finish');
    };

    test('a UTF-8 file with commas: the preview reads every row and saves nothing; "Import" makes them the agent\'s leads with points, sync and audit', async () => {
      const csv = "Ім'я,Телефон,Email,Бюджет,Країна,Мова,Примітка\n"
        + 'Олег Коваль,050 123 4567,Oleg@Example.com,до 200к,Дубай,українська,перший\n'
        + '"Марія ""Маша"" Петренко",+380 67 765 4321,,1млн+,Turkey,English,"з комою, і лапками"\n';
      const id = importIdOf(await upload(anna, csv));
      const html = await preview(anna, id);
      assert.match(html, /<select id="col-0" name="col_0"[^>]*>(?:(?!<\/select>).)*<option value="deal_name" selected>/s, 'guessed from the header');
      assert.doesNotMatch(/<select id="col-6" name="col_6"[^>]*>(.*?)<\/select>/s.exec(html)?.[1] ?? 'missing', /selected/, 'an unknown header is not imported');
      assert.deepEqual(counts(html), { valid: 2, invalid: 0, duplicates: 0 });
      assert.match(html, /Марія &quot;Маша&quot; Петренко/);
      assert.equal((await leadsOf(id)).length, 0, 'nothing saved before "Import"');

      const done = await importAndWait(anna, id);
      assert.deepEqual([done.status, done.imported, done.failed, done.percent], ['done', 2, 0, 100]);
      const leads = await leadsOf(id);
      assert.deepEqual(leads.map((l) => [l.deal_name, l.phone, l.email, l.budget, l.country, l.communication_language, l.agent_id, l.created_by, l.status]), [
        ['Олег Коваль', '+380501234567', 'oleg@example.com', 'до 200к', 'Дубай', 'украинский', annaId, annaId, 'new'],
        ['Марія "Маша" Петренко', '+380677654321', null, '1млн+', 'Турція', 'английский', annaId, annaId, 'new'],
      ]);
      const ids = leads.map((l) => l.id);
      const points = await t.app.db.selectFrom('points_events').select(['user_id', 'kind', 'points']).where('lead_id', 'in', ids).execute();
      assert.deepEqual(points.map((p) => [p.user_id, p.kind, p.points]), [[annaId, 'lead_created', 100], [annaId, 'lead_created', 100]]);
      const sync = await t.app.db.selectFrom('sync_items').select(['entity_id', 'status', 'op']).where('entity_type', '=', 'lead').where('entity_id', 'in', ids).orderBy('entity_id').execute();
      assert.deepEqual(sync.map((s) => [s.entity_id, s.status, s.op]), ids.map((i) => [i, 'pending', 'upsert']));
      const audit = await t.app.db.selectFrom('audit_log').select(['action', 'entity_type', 'entity_id', 'actor_id']).where('action', 'in', ['lead.create', 'lead.import']).where((eb) => eb.or([eb('entity_id', 'in', ids.map(String)), eb('entity_type', '=', 'lead_import')])).where('entity_id', 'in', [...ids.map(String), String(id)]).orderBy('id').execute();
      assert.deepEqual(audit.map((a) => [a.action, a.entity_type, a.entity_id, a.actor_id]), [
        ['lead.create', 'lead', String(ids[0]), annaId], ['lead.create', 'lead', String(ids[1]), annaId], ['lead.import', 'lead_import', String(id), annaId],
      ]);
      const page = await anna.get(`/leads/import/${id}`);
      assert.match(page.body, /data-testid="import-done"[^>]*>Імпорт завершено\. Створено лідів: 2\. Не імпортовано рядків: 0\./);
      assert.match(page.body, new RegExp(`<a href="/leads/${ids[0]}">Олег Коваль</a>`));
      assert.doesNotMatch(page.body, /download-failed/);
      const dashboard = await anna.get('/dashboard');
      assert.match(dashboard.body, /Олег Коваль/);
      // Once done it cannot be started again or changed.
      assert.equal((await anna.post(`/leads/import/${id}/start`)).statusCode, 303);
      assert.equal((await leadsOf(id)).length, 2);
    });

    test('a Windows-1251 file with semicolons (Excel) gives the same Cyrillic', async () => {
      const text = 'ПІБ;Телефон;Бюджет;Мета покупки;Джерело;Дата народження\r\n'
        + 'Євген Ґалаґан;0501112299;500к–1млн;для себе;Сайт;05.03.1985\r\n'
        + 'Їжак Іваненко;0671112299;до 200к;Перепродажа;рекомендация;\r\n';
      const id = importIdOf(await upload(anna, cp1251(text), {}, 'excel.csv'));
      const html = await preview(anna, id);
      assert.match(html, /кодування Windows-1251 · роздільник: крапка з комою/);
      assert.match(html, /Євген Ґалаґан/);
      assert.deepEqual(counts(html), { valid: 2, invalid: 0, duplicates: 0 });
      const done = await importAndWait(anna, id);
      assert.equal(done.imported, 2);
      const leads = await leadsOf(id);
      assert.deepEqual(leads.map((l) => [l.deal_name, l.phone, l.budget, l.purchase_goal, l.source, l.birth_date]), [
        ['Євген Ґалаґан', '+380501112299', '500к–1млн', 'для себя', 'сайт', '1985-03-05'],
        ['Їжак Іваненко', '+380671112299', 'до 200к', 'перепродажа', 'рекомендация', null],
      ]);
    });

    test('UTF-8 forced on a Windows-1251 file: a clear message next to the file field, the choices kept, nothing created', async () => {
      const before = await t.app.db.selectFrom('lead_imports').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      const res = await upload(anna, cp1251('Ім’я;Телефон;Бюджет\r\nОлег;0501234567;до 200к\r\n'), { encoding: 'utf-8', delimiter: 'semicolon' });
      assert.equal(res.statusCode, 400);
      assert.match(fileError(res.body) ?? '', /не в кодуванні UTF-8/);
      assert.match(res.body, /<option value="utf-8" selected>/);
      assert.match(res.body, /<option value="semicolon" selected>/);
      const after = await t.app.db.selectFrom('lead_imports').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      assert.equal(after.n, before.n);
      // Left to "detect", the same file is read as Windows-1251.
      const ok = await upload(anna, cp1251('Ім’я;Телефон;Бюджет\r\nОлег;0501234567;до 200к\r\n'));
      assert.match(await preview(anna, importIdOf(ok)), /Windows-1251/);
    });

    test('a 50 MB upload: 413 with the message next to the file field, and the app keeps serving', async () => {
      const big = Buffer.alloc(50 * 1024 * 1024, 'a,b,c\n');
      const res = await upload(anna, big, {}, 'huge.csv');
      assert.equal(res.statusCode, 413);
      assert.match(res.headers['content-type'] as string, /text\/html/);
      assert.match(fileError(res.body) ?? '', /Файл завеликий: не більше 10 MB/);
      assert.match(res.body, /data-testid="import-upload-form"/, 'the form is shown again');
      assert.equal((await anna.get('/dashboard')).statusCode, 200);
      // And just under the limit is read (and refused only for what it holds).
      const tooManyRows = await upload(anna, leadsCsv(10_001), {}, 'many.csv');
      assert.equal(tooManyRows.statusCode, 400);
      assert.match(fileError(tooManyRows.body) ?? '', /не більше 10000 лідів/);
    });

    test('broken quotes: the message names the line; a spreadsheet saved as .xlsx is "not a CSV"', async () => {
      const res = await upload(anna, 'Клієнт,Телефон,Бюджет\nОлег,0501234567,до 200к\n"Незакрита,0501234568,до 200к\n');
      assert.equal(res.statusCode, 400);
      assert.match(fileError(res.body) ?? '', /^Рядок 3: незакрита або зайва лапка/);
      const xlsx = await upload(anna, Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4]), {}, 'leads.xlsx');
      assert.equal(xlsx.statusCode, 400);
      assert.match(fileError(xlsx.body) ?? '', /Це не CSV-файл/);
      const none = await anna.multipart('/leads/import', {}, []);
      assert.equal(none.statusCode, 400);
      assert.equal(fileError(none.body), 'Оберіть файл CSV');
    });

    test('formulas are stored as text, shown escaped, and come out of the failed-rows download as text', async () => {
      const csv = 'Клієнт,Телефон,Бюджет,Компанія\n'
        + '"=HYPERLINK(""http://evil.example"",""клік"")",0501230001,до 200к,+SUM(A1:A9)\n'
        + '@cmd,not-a-phone,до 200к,"=1+1"\n'
        + '<script>alert(1)</script>,0501230002,дуже багато,-2+3\n';
      const id = importIdOf(await upload(anna, csv));
      const html = await preview(anna, id);
      assert.doesNotMatch(html, /<script>alert\(1\)<\/script>/);
      assert.match(html, /&lt;script>alert\(1\)&lt;\/script>|&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      // Before the import the download already lists the rows that would fail.
      const early = await anna.get(`/leads/import/${id}/failed.csv`);
      assert.equal(early.statusCode, 200);
      const done = await importAndWait(anna, id);
      assert.deepEqual([done.imported, done.failed], [1, 2]);
      const [lead] = await leadsOf(id);
      assert.equal(lead!.deal_name, '=HYPERLINK("http://evil.example","клік")');
      assert.equal(lead!.company, '+SUM(A1:A9)');
      const res = await anna.get(`/leads/import/${id}/failed.csv`);
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/csv/);
      assert.match(res.headers['content-disposition'] as string, /attachment; filename="leads_failed\.csv"/);
      const lines = res.body.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
      assert.deepEqual(lines, [
        'Клієнт,Телефон,Бюджет,Компанія,Рядок у файлі,Причина',
        `'@cmd,not-a-phone,до 200к,'=1+1,3,"Телефон: Введіть номер у міжнародному форматі, напр. +380 50 123 4567"`,
        '<script>alert(1)</script>,0501230002,дуже багато,\'-2+3,4,Бюджет: Оберіть значення зі списку',
      ]);
      assert.equal(early.body, res.body);
    });

    test('per-row errors are shown next to the cell before saving, and only the valid rows are imported', async () => {
      const csv = 'Клієнт,Телефон,Email,Бюджет,Дата народження,Месенджер\n'
        + 'Добрий Рядок,0502220001,good@example.com,до 200к,31.12.1990,WhatsApp\n'
        + 'Х,0502220002,bad-email,до 200к,,\n'
        + 'Погана Дата,0502220003,,до 200к,31.02.1990,голуби\n';
      const id = importIdOf(await upload(anna, csv));
      const html = await preview(anna, id);
      assert.deepEqual(counts(html), { valid: 1, invalid: 2, duplicates: 0 });
      const row = (line: number) => new RegExp(`<tr data-line="${line}"[^>]*>(.*?)</tr>`, 's').exec(html)?.[1] ?? '';
      assert.match(row(2), /Гаразд/);
      assert.match(row(3), /Назва угоди \(ім&#39;я клієнта\): Вкажіть назву угоди|Назва угоди \(ім'я клієнта\): Вкажіть назву угоди/);
      assert.match(row(3), /Email клієнта: Введіть коректну адресу email/);
      assert.match(row(3), /<td class="table-danger">bad-email<\/td>/);
      assert.match(row(4), /Дата народження: Введіть дату/);
      assert.match(row(4), /Месенджер: Оберіть значення зі списку/);
      assert.match(html, /data-testid="start-import"[^>]*>Імпортувати коректні рядки: 1</);
      assert.equal((await leadsOf(id)).length, 0);
      const done = await importAndWait(anna, id);
      assert.deepEqual([done.imported, done.failed], [1, 2]);
      const [lead] = await leadsOf(id);
      assert.deepEqual([lead!.deal_name, lead!.birth_date, lead!.messenger], ['Добрий Рядок', '1990-12-31', 'whatsapp']);
      const page = await anna.get(`/leads/import/${id}`);
      assert.match(page.body, /data-testid="download-failed"/);
    });

    test('mapping: a required field without a column is named next to the mapping and "Import" refused; the same field twice is flagged; a change re-checks', async () => {
      const id = importIdOf(await upload(anna, 'A,B,C\nМарко Вовк,0503330001,до 200к\nСофія Лис,0503330002,1млн+\n'));
      let html = await preview(anna, id);
      assert.match(html, /data-testid="mapping-missing"[^>]*>Оберіть стовпці для обов&#39;язкових полів: Назва угоди \(ім&#39;я клієнта\), Телефон, Бюджет\.|data-testid="mapping-missing"[^>]*>Оберіть стовпці для обов'язкових полів: Назва угоди \(ім'я клієнта\), Телефон, Бюджет\./);
      assert.match(html, /data-testid="start-import" disabled/);
      await anna.post(`/leads/import/${id}/start`);
      assert.equal((await t.app.db.selectFrom('lead_imports').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status, 'draft');

      let res = await anna.post(`/leads/import/${id}/mapping`, { col_0: 'deal_name', col_1: 'phone', col_2: 'phone' });
      assert.equal(res.statusCode, 303);
      html = await preview(anna, id);
      assert.match(html, /<select id="col-2" name="col_2" class="form-select form-select-sm is-invalid"/);
      assert.match(html, /Це поле вже обрано для іншого стовпця/);
      res = await anna.post(`/leads/import/${id}/mapping`, { col_0: 'deal_name', col_1: 'phone', col_2: 'budget', col_9: 'email', col_5: 'agent_email' });
      html = await preview(anna, id);
      assert.deepEqual(counts(html), { valid: 2, invalid: 0, duplicates: 0 });
      assert.doesNotMatch(html, /value="agent_email"/, 'agents never route rows to other agents');
      const stored = await t.app.db.selectFrom('lead_imports').select('mapping').where('id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual(stored.mapping, ['deal_name', 'phone', 'budget']);
      // An agent's import is always their own, whatever agent_id is posted.
      await anna.post(`/leads/import/${id}/mapping`, { col_0: 'deal_name', col_1: 'phone', col_2: 'budget', agent_id: String(borisId) });
      assert.equal((await importAndWait(anna, id)).imported, 2);
      assert.deepEqual((await leadsOf(id)).map((l) => l.agent_id), [annaId, annaId]);
    });

    test('duplicates against existing leads and within the file are flagged as in manual creation: the agent sees the flag, the admin which lead', async () => {
      const existing = await t.app.db.insertInto('leads').values({ agent_id: borisId, deal_name: 'Клієнт Бориса', phone: '+380504440001', email: 'taken@example.com', budget: 'до 200к' }).returning('id').executeTakeFirstOrThrow();
      const csv = 'Клієнт,Телефон,Email,Бюджет\n'
        + 'Той Самий,0504440001,,до 200к\n'
        + 'Інший Телефон,0504440002,TAKEN@example.com,до 200к\n'
        + 'Двійник А,0504440003,,до 200к\n'
        + 'Двійник Б,0504440003,,до 200к\n'
        + 'Новий,0504440004,,до 200к\n';
      const id = importIdOf(await upload(anna, csv));
      const html = await preview(anna, id);
      assert.deepEqual(counts(html), { valid: 5, invalid: 0, duplicates: 4 });
      const row = (line: number) => new RegExp(`<tr data-line="${line}"[^>]*>(.*?)</tr>`, 's').exec(html)?.[1] ?? '';
      assert.match(row(2), /data-testid="dup-existing"/);
      assert.match(row(3), /data-testid="dup-existing"/);
      assert.match(row(4), /data-testid="dup-in-file"/);
      assert.match(row(5), /data-testid="dup-in-file"/);
      assert.doesNotMatch(row(6), /dup-/);
      assert.doesNotMatch(html, /Клієнт Бориса/, 'an agent never learns whose client it is');
      // The admin's preview of the same kind of file names the lead.
      const adminId2 = importIdOf(await upload(admin, csv, { agent_id: String(adminId) }));
      assert.match(await preview(admin, adminId2), new RegExp(`<a href="/leads/${existing.id}">Клієнт Бориса</a>`));
      await admin.post(`/leads/import/${adminId2}/delete`);

      await importAndWait(anna, id);
      const leads = await leadsOf(id);
      assert.deepEqual(leads.map((l) => l.possible_duplicate), [true, true, true, true, false]);
      const old = await t.app.db.selectFrom('leads').select('possible_duplicate').where('id', '=', existing.id).executeTakeFirstOrThrow();
      assert.equal(old.possible_duplicate, true, 'the existing lead is flagged too');
      const adminView = await admin.get(`/leads/${leads[0]!.id}`);
      assert.match(adminView.body, /data-testid="duplicates"/);
      assert.match(adminView.body, /Клієнт Бориса/);
      const agentView = await anna.get(`/leads/${leads[0]!.id}`);
      assert.match(agentView.body, /data-testid="duplicate-badge"/);
      assert.doesNotMatch(agentView.body, /Клієнт Бориса/);
    });

    test('drafts nobody imported are removed after 7 days (an upload or a restart clears them); imports that ran are kept', async () => {
      const oldDraft = importIdOf(await upload(anna, leadsCsv(2, { start: 5_560_000 })));
      const freshDraft = importIdOf(await upload(anna, leadsCsv(2, { start: 5_570_000 })));
      const ran = importIdOf(await upload(anna, leadsCsv(2, { start: 5_580_000 })));
      await t.app.db.updateTable('lead_imports').set({ status: 'failed', error: 'import.failed.interrupted' }).where('id', '=', ran).execute();
      await t.app.db.updateTable('lead_imports').set({ created_at: sql<Date>`now() - interval '8 days'` }).where('id', 'in', [oldDraft, ran]).execute();
      await upload(anna, leadsCsv(1, { start: 5_590_000 }));
      const left = (await t.app.db.selectFrom('lead_imports').select('id').where('id', 'in', [oldDraft, freshDraft, ran]).execute()).map((r) => r.id).sort((a, b) => a - b);
      assert.deepEqual(left, [freshDraft, ran].sort((a, b) => a - b));
      assert.equal((await anna.get(`/leads/import/${oldDraft}`)).statusCode, 404);
      // At start, the runner's recovery does the same.
      await t.app.db.updateTable('lead_imports').set({ created_at: sql<Date>`now() - interval '8 days'` }).where('id', '=', freshDraft).execute();
      await createImportRunner({ db: t.app.db, kind: t.app.database.kind, log: t.app.log }).recover();
      assert.equal(await t.app.db.selectFrom('lead_imports').select('id').where('id', '=', freshDraft).executeTakeFirst(), undefined);
    });

    test("another agent's import is not found on every route; an admin sees it; agents list only their own", async () => {
      const id = importIdOf(await upload(anna, leadsCsv(2, { start: 5_550_000 })));
      await boris.get('/leads/import');
      for (const url of [`/leads/import/${id}`, `/leads/import/${id}/progress`, `/leads/import/${id}/failed.csv`]) {
        assert.equal((await boris.get(url)).statusCode, 404, url);
      }
      for (const url of [`/leads/import/${id}/mapping`, `/leads/import/${id}/start`, `/leads/import/${id}/delete`]) {
        assert.equal((await boris.post(url, { col_0: 'phone' })).statusCode, 404, url);
      }
      assert.equal((await boris.get('/leads/import/abc')).statusCode, 404);
      assert.equal((await boris.get('/leads/import/99999999999')).statusCode, 404);
      const row = await t.app.db.selectFrom('lead_imports').select(['status', 'mapping']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'draft');
      assert.doesNotMatch((await boris.get('/leads/import')).body, new RegExp(`/leads/import/${id}"`));
      assert.match((await anna.get('/leads/import')).body, new RegExp(`/leads/import/${id}"`));
      assert.equal((await admin.get(`/leads/import/${id}`)).statusCode, 200);
      assert.match((await admin.get('/leads/import')).body, new RegExp(`/leads/import/${id}"`));
      // Discarded by its owner: gone.
      assert.equal((await anna.post(`/leads/import/${id}/delete`)).statusCode, 303);
      assert.equal((await anna.get(`/leads/import/${id}`)).statusCode, 404);
    });

    test('CSRF: every post without the token is refused and changes nothing', async () => {
      const refused = await upload(anna, leadsCsv(1, { start: 5_560_000 }), {}, 'x.csv', { csrf: false });
      assert.equal(refused.statusCode, 403);
      const id = importIdOf(await upload(anna, leadsCsv(1, { start: 5_560_000 })));
      for (const url of [`/leads/import/${id}/mapping`, `/leads/import/${id}/start`, `/leads/import/${id}/delete`]) {
        assert.equal((await anna.post(url, {}, { csrf: false })).statusCode, 403, url);
      }
      const row = await t.app.db.selectFrom('lead_imports').select('status').where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'draft');
    });

    test('a database error mid-import leaves no lead of it: the import fails with a reason and succeeds when tried again', async () => {
      // Row 700 of 800 breaks in the database, after a first chunk of 500 has been inserted.
      const csv = leadsCsv(800, { start: 6_000_000, name: (i) => (i === 699 ? 'Збій Бази' : `Клієнт ${6_000_000 + i}`) });
      const id = importIdOf(await upload(anna, csv));
      await sql`create function import_test_fail() returns trigger language plpgsql as $$
        begin if new.deal_name = 'Збій Бази' then raise exception 'injected failure'; end if; return new; end $$`.execute(t.app.db);
      await sql`create trigger import_test_fail before insert on leads for each row execute function import_test_fail()`.execute(t.app.db);
      const leadsBefore = await t.app.db.selectFrom('leads').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      const syncBefore = await t.app.db.selectFrom('sync_items').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      try {
        const failed = await importAndWait(anna, id);
        assert.equal(failed.status, 'failed');
      } finally {
        await sql`drop trigger import_test_fail on leads`.execute(t.app.db);
        await sql`drop function import_test_fail()`.execute(t.app.db);
      }
      assert.equal((await leadsOf(id)).length, 0, 'no lead of the import');
      const leadsAfter = await t.app.db.selectFrom('leads').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      const syncAfter = await t.app.db.selectFrom('sync_items').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      assert.deepEqual([leadsAfter.n, syncAfter.n], [leadsBefore.n, syncBefore.n], 'no lead, no outbox row');
      const page = await anna.get(`/leads/import/${id}`);
      assert.match(page.body, /data-testid="import-failed"[^>]*><strong>Імпорт не вдався, нічого не збережено\.<\/strong> Під час збереження сталася помилка/);
      assert.doesNotMatch(page.body, /injected failure/, 'no database text reaches the page');
      assert.match(page.body, /data-testid="start-import"[^>]*>Спробувати ще раз: 800</);
      const retried = await importAndWait(anna, id);
      assert.deepEqual([retried.status, retried.imported], ['done', 800]);
      assert.equal((await leadsOf(id)).length, 800);
    });

    test('an import left running by a crashed process is marked failed when looked at, and can be tried again', async () => {
      const id = importIdOf(await upload(anna, leadsCsv(3, { start: 6_100_000 })));
      await t.app.db.updateTable('lead_imports').set({ status: 'running', started_at: sql`now() - interval '10 minutes'`, heartbeat_at: sql`now() - interval '10 minutes'` }).where('id', '=', id).execute();
      const p = await anna.get(`/leads/import/${id}/progress`, { accept: 'application/json' });
      assert.equal(p.json().status, 'failed');
      const page = await anna.get(`/leads/import/${id}`);
      assert.match(page.body, /Імпорт перервано/);
      assert.equal((await importAndWait(anna, id)).imported, 3);
    });

    test('progress is visible outside the import transaction while it runs', async () => {
      const id = importIdOf(await upload(anna, leadsCsv(1600, { start: 6_200_000 })));
      await t.app.db.updateTable('lead_imports').set({ status: 'queued' }).where('id', '=', id).execute();
      assert.equal(await claimImport(t.app.db, id), id);
      const seen: number[] = [];
      const rowReads: Promise<number>[] = [];
      const result = await runImport(t.app.db, id, {
        progressDb: kind === 'postgres' ? t.app.db : null,
        onProgress: (done) => {
          seen.push(done);
          // On PostgreSQL another connection reads the row while the transaction is open.
          if (kind === 'postgres') rowReads.push(t.app.db.selectFrom('lead_imports').select('processed').where('id', '=', id).executeTakeFirstOrThrow().then((r) => r.processed));
        },
      });
      assert.equal(result.status, 'done');
      assert.deepEqual(seen, [0, 0, 500, 1000, 1500, 1600, 1600]);
      if (kind === 'postgres') {
        const reads = await Promise.all(rowReads);
        assert.ok(reads.some((n) => n > 0 && n < 1600), `the row showed progress during the run: ${reads.join(',')}`);
        const during = await t.app.db.selectFrom('leads').select(sql<number>`count(*)::int`.as('n')).where('import_id', '=', id).executeTakeFirstOrThrow();
        assert.equal(during.n, 1600);
      }
    });

    test('admin: picks the responsible agent, and an "agent email" column routes rows; an unknown or inactive email fails its row', async () => {
      const csv = 'Клієнт,Телефон,Бюджет,Email агента\n'
        + 'Для Анни,0507770001,до 200к,ANNA@propart.example\n'
        + 'Для Бориса,0507770002,до 200к,\n'
        + 'Нікому,0507770003,до 200к,nobody@propart.example\n'
        + 'Колишньому,0507770004,до 200к,gone@propart.example\n';
      const bad = await upload(admin, csv, { agent_id: '999999' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /data-field-error="agent_id"/);
      const id = importIdOf(await upload(admin, csv, { agent_id: String(borisId) }));
      const html = await preview(admin, id);
      assert.match(html, /<option value="agent_email" selected>/);
      assert.deepEqual(counts(html), { valid: 2, invalid: 2, duplicates: 0 });
      assert.match(html, /Email агента: Немає активного користувача з таким email/);
      const done = await importAndWait(admin, id);
      assert.deepEqual([done.imported, done.failed], [2, 2]);
      assert.deepEqual((await leadsOf(id)).map((l) => [l.deal_name, l.agent_id, l.created_by]), [['Для Анни', annaId, adminId], ['Для Бориса', borisId, adminId]]);
      // The agent whose lead it became sees it; the import itself stays the admin's.
      assert.equal((await anna.get(`/leads/import/${id}`)).statusCode, 404);
    });

    test("an admin opening an agent's import keeps it that agent's: no agent column, no other responsible agent", async () => {
      const id = importIdOf(await upload(anna, 'Клієнт,Телефон,Бюджет,Агент\nЗоя Мороз,0508880001,до 200к,boris@propart.example\n'));
      let html = await preview(admin, id);
      assert.doesNotMatch(html, /value="agent_email"/);
      assert.doesNotMatch(html, /name="agent_id"/);
      await admin.post(`/leads/import/${id}/mapping`, { col_0: 'deal_name', col_1: 'phone', col_2: 'budget', col_3: 'agent_email', agent_id: String(borisId) });
      html = await preview(admin, id);
      assert.deepEqual(counts(html), { valid: 1, invalid: 0, duplicates: 0 });
      const done = await importAndWait(admin, id);
      assert.equal(done.imported, 1);
      assert.deepEqual((await leadsOf(id)).map((l) => [l.agent_id, l.created_by]), [[annaId, annaId]]);
    });

    test('10,000 rows: previewed without rendering them all, imported in one go', { timeout: 180_000 }, async () => {
      const csv = leadsCsv(10_000, { start: 7_000_000, name: (i) => (i === 5000 ? 'X' : `Клієнт ${7_000_000 + i}`) });
      const started = Date.now();
      const id = importIdOf(await upload(anna, csv, {}, 'big.csv'));
      const html = await preview(anna, id);
      assert.deepEqual(counts(html), { valid: 9_999, invalid: 1, duplicates: 0 });
      assert.equal((html.match(/<tr data-line=/g) ?? []).length, 101, 'the first 100 rows and the one with an error');
      assert.match(html, /data-line="5002" data-row-status="error"/);
      assert.match(html, /data-testid="rows-hidden"[^>]*>Показано 101 з 10000 рядків/);
      const beforeRun = Date.now();
      const done = await importAndWait(anna, id);
      const ran = Date.now() - beforeRun;
      assert.deepEqual([done.status, done.imported, done.failed], ['done', 9_999, 1]);
      const n = await t.app.db.selectFrom('leads').select(sql<number>`count(*)::int`.as('n')).where('import_id', '=', id).executeTakeFirstOrThrow();
      assert.equal(n.n, 9_999);
      const synced = await t.app.db.selectFrom('sync_items').innerJoin('leads', 'leads.id', 'sync_items.entity_id')
        .select(sql<number>`count(*)::int`.as('n')).where('sync_items.entity_type', '=', 'lead').where('leads.import_id', '=', id).executeTakeFirstOrThrow();
      assert.equal(synced.n, 9_999);
      t.log.logger.info({ kind, uploadAndPreviewMs: beforeRun - started, importMs: ran }, '10k import timing');
      process.stdout.write(`# 10,000-row import on ${kind}: upload+preview ${beforeRun - started} ms, import ${ran} ms\n`);
    });
  });

  describe(`CSV import → HubSpot in batches [${kind}]`, () => {
    let h: SyncHarness;
    before(async () => { h = await startSyncHarness(kind); });
    after(() => h.close());

    test('250 imported leads reach HubSpot through a few batch calls of at most 100, each once', async () => {
      await seedUser(h.t, { username: 'batch_agent', password: 'batch-agent-pass', email: 'batch@propart.example' });
      const c = new Client(h.t.app);
      await c.login('batch_agent', 'batch-agent-pass');
      await c.get('/leads/import');
      const up = await c.multipart('/leads/import', {}, [{ field: 'file', name: 'batch.csv', data: Buffer.from(leadsCsv(250, { start: 8_000_000 })) }]);
      const id = importIdOf(up);
      await c.get(`/leads/import/${id}`);
      await c.post(`/leads/import/${id}/start`);
      for (let i = 0; i < 200 && !(await c.get(`/leads/import/${id}/progress`, { accept: 'application/json' })).json().finished; i++) await new Promise((r) => setTimeout(r, 50));
      const r = await h.engine.drain();
      assert.equal(r.synced, 250);
      const dealCalls = h.hs.state.requests.filter((q) => q.method === 'POST' && q.path === '/crm/v3/objects/deals/batch/upsert');
      const sizes = dealCalls.map((q) => (q.body as { inputs: unknown[] }).inputs.length);
      assert.ok(dealCalls.length >= 3 && dealCalls.length <= 4, `deal batches: ${sizes.join(',')}`);
      assert.ok(sizes.every((n) => n <= 100), `deal batches: ${sizes.join(',')}`);
      assert.equal(sizes.reduce((a, b) => a + b, 0), 250, 'each lead pushed once');
      const leads = await h.t.app.db.selectFrom('leads').select(['hubspot_deal_id']).where('import_id', '=', id).execute();
      assert.equal(leads.filter((l) => l.hubspot_deal_id).length, 250);
      assert.equal(new Set(leads.map((l) => l.hubspot_deal_id)).size, 250);
      assert.equal((await h.engine.drain()).claimed, 0, 'nothing left to send');
    });
  });
}
