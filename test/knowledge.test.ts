import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

const ARTICLE = [
  '# Як працює розстрочка', '', 'Забудовник дає **розстрочку до 3 років**.', '', '1. Перший внесок 20%', '2. Решта щомісяця', '',
  '| Країна | Внесок |', '|---|---|', '| Дубай | 20% |', '', 'Деталі: [прайс](https://example.com/price.pdf) або [каталог](/properties).',
].join('\n');

const XSS = [
  '<script>alert(1)</script>', '<img src=x onerror=alert(2)>', '<a href="javascript:alert(3)">click</a>', '<iframe src="https://evil.example"></iframe>',
  '[one](javascript:alert(4)) [two](JavaScript:alert(5)) [three](java&#x0A;script:alert(6)) [four](data:text/html,<script>alert(7)</script>)',
  '<javascript:alert(8)> [five](vbscript:msgbox(9)) [six]( javascript:alert(10) "title")', '[ok](https://safe.example/)',
].join('\n\n');

/** The rendered article: what sits inside the one place raw HTML is allowed. */
const articleBody = (html: string) => /<div class="article-body" data-testid="article-body">([\s\S]*?)<\/div><\/div><\/article>/.exec(html)?.[1] ?? '';

for (const kind of databaseKinds()) {
  describe(`knowledge base [${kind}]`, () => {
    let t: TestApp;
    let admin: Client; let anna: Client;
    let articleId = 0;
    before(async () => {
      t = await startTestApp(kind, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
      await seedUser(t, { username: 'chief', password: 'chief-password-1', role: 'admin', display_name: 'Шеф' });
      await seedUser(t, { username: 'anna', password: 'anna-password-1', display_name: 'Анна' });
      admin = new Client(t.app); anna = new Client(t.app);
      await admin.login('chief', 'chief-password-1');
      await anna.login('anna', 'anna-password-1');
    });
    after(() => t.close());

    test('everyone sees the knowledge base in the sidebar; an empty one says so', async () => {
      const dash = await anna.get('/dashboard');
      assert.match(dash.body, /<a href="\/knowledge"[^>]*>.*База знань<\/a>/);
      const page = await anna.get('/knowledge');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Статей ще немає/);
      assert.doesNotMatch(page.body, /data-testid="new-article"/, 'no writing for agents');
    });

    test('an admin writes an article in a new category; agents read it rendered from Markdown', async () => {
      await admin.get('/knowledge/new');
      const res = await admin.post('/knowledge', { title: 'Розстрочка від забудовника', category_id: '', new_category: 'Фінанси', body: ARTICLE });
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      articleId = Number(/\/knowledge\/(\d+)$/.exec(String(res.headers.location))![1]);
      const page = await anna.get(`/knowledge/${articleId}`);
      assert.equal(page.statusCode, 200);
      const body = articleBody(page.body);
      assert.match(body, /<h1>Як працює розстрочка<\/h1>/);
      assert.match(body, /<strong>розстрочку до 3 років<\/strong>/);
      assert.match(body, /<ol>\s*<li>Перший внесок 20%<\/li>/);
      assert.match(body, /<td>Дубай<\/td>/);
      assert.match(body, /<a href="https:\/\/example\.com\/price\.pdf" rel="noopener noreferrer nofollow" target="_blank">прайс<\/a>/);
      assert.match(body, /<a href="\/properties" rel="noopener noreferrer nofollow">каталог<\/a>/);
      assert.match(page.body, /Фінанси/);
      assert.doesNotMatch(page.body, /data-testid="edit-article"/);
      const index = await anna.get('/knowledge');
      assert.match(index.body, /<h2 class="h6"><i class="bi bi-folder2-open" aria-hidden="true"><\/i> Фінанси<\/h2>/);
      assert.match(index.body, new RegExp(`<a href="/knowledge/${articleId}">Розстрочка від забудовника</a>`));
    });

    test('writing and deleting articles are admin actions in the audit log', async () => {
      const created = await t.app.db.selectFrom('audit_log').selectAll().where('action', '=', 'article.create').where('entity_id', '=', String(articleId)).execute();
      assert.equal(created.length, 1);
      await admin.get('/knowledge/new');
      const res = await admin.post('/knowledge', { title: 'Тимчасова', category_id: '', new_category: 'Тимчасове', body: 'текст' });
      const id = Number(/\/knowledge\/(\d+)$/.exec(String(res.headers.location))![1]);
      await admin.get(`/knowledge/${id}`);
      assert.equal((await admin.post(`/knowledge/${id}/delete`)).statusCode, 303);
      const deleted = await t.app.db.selectFrom('audit_log').selectAll().where('action', '=', 'article.delete').where('entity_id', '=', String(id)).execute();
      assert.equal(deleted.length, 1);
    });

    test('XSS: raw HTML is shown as text and dangerous links never become links', async () => {
      await admin.get('/knowledge/new');
      const cat = await t.app.db.selectFrom('knowledge_categories').select('id').executeTakeFirstOrThrow();
      const res = await admin.post('/knowledge', { title: '<script>alert("title")</script>', category_id: String(cat.id), body: XSS });
      assert.equal(res.statusCode, 303);
      const id = Number(/\/knowledge\/(\d+)$/.exec(String(res.headers.location))![1]);
      const page = await anna.get(`/knowledge/${id}`);
      const body = articleBody(page.body);
      assert.ok(body.length > 100, 'the article body was found');
      assert.doesNotMatch(page.body, /<script>alert|<img src=x|<iframe|<a href="javascript/i);
      assert.doesNotMatch(body, /<(script|img|iframe)\b/i);
      assert.match(body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'shown as text');
      const hrefs = [...body.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1]);
      assert.ok(hrefs.includes('https://safe.example/'));
      for (const href of hrefs) assert.match(href!, /^https:\/\//, 'only http(s) links survive (a bare URL in text is linkified, safely)');
      assert.match(page.body, /<title>&lt;script>alert\(&quot;title&quot;\)&lt;\/script> · /);
      // The editor's preview goes through the same renderer.
      await admin.get(`/knowledge/${id}/edit`);
      const preview = await admin.post(`/knowledge/${id}`, { title: 'x', category_id: String(cat.id), body: XSS, _action: 'preview' });
      assert.equal(preview.statusCode, 200);
      assert.doesNotMatch(preview.body, /<script>alert|<img src=x|<a href="javascript/i);
      assert.match(preview.body, /data-testid="article-preview"/);
      await admin.post(`/knowledge/${id}/delete`);
    });

    test('search finds words in titles and text, title matches first; % and _ are not wildcards', async () => {
      const cat = await t.app.db.selectFrom('knowledge_categories').select('id').executeTakeFirstOrThrow();
      await admin.get('/knowledge/new');
      await admin.post('/knowledge', { title: 'Комісія агента', category_id: String(cat.id), body: 'Комісія виплачується після угоди. Розстрочка не впливає.' });
      await admin.post('/knowledge', { title: 'Бронювання', category_id: '', new_category: 'Процеси', body: 'Депозит 100% повертається.' });
      const titles = async (q: string) => [...(await anna.get(`/knowledge?q=${encodeURIComponent(q)}`)).body.matchAll(/<a href="\/knowledge\/\d+" class="fw-semibold">([^<]+)<\/a>/g)].map((m) => m[1]);
      assert.deepEqual(await titles('РОЗСТРОЧКА'), ['Розстрочка від забудовника', 'Комісія агента'], 'case-insensitive, title match first');
      assert.deepEqual(await titles('депозит'), ['Бронювання']);
      assert.deepEqual(await titles('100%'), ['Бронювання']);
      assert.deepEqual(await titles('%'), ['Бронювання', 'Розстрочка від забудовника'], 'a percent sign is a percent sign (20% and 100%), not "anything"');
      assert.deepEqual(await titles('_'), []);
      const none = await anna.get('/knowledge?q=blockchain');
      assert.match(none.body, /Нічого не знайдено/);
      const processes = await t.app.db.selectFrom('knowledge_categories').select('id').where('name', '=', 'Процеси').executeTakeFirstOrThrow();
      const byCategory = await anna.get(`/knowledge?category=${processes.id}`);
      assert.match(byCategory.body, /Бронювання/);
      assert.doesNotMatch(byCategory.body, /Комісія агента/);
      assert.equal((await anna.get('/knowledge?category=abc&q=' + 'x'.repeat(500))).statusCode, 200, 'nonsense search is not an error');
    });

    test('bad input keeps the form with messages; preview saves nothing', async () => {
      const count = async () => (await t.app.db.selectFrom('knowledge_articles').select('id').execute()).length;
      const before = await count();
      await admin.get('/knowledge/new');
      const res = await admin.post('/knowledge', { title: 'Ок', category_id: '', new_category: '', body: 'Текст, який варто зберегти' });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /data-field-error="title"/);
      assert.match(res.body, /data-field-error="category_id"[^>]*>Оберіть категорію або введіть нову/);
      assert.match(res.body, /Текст, який варто зберегти<\/textarea>/);
      const long = await admin.post('/knowledge', { title: 'Довга стаття', category_id: '', new_category: 'Інше', body: 'я'.repeat(50_001) });
      assert.equal(long.statusCode, 400);
      assert.match(long.body, /data-field-error="body"/);
      const missing = await admin.post('/knowledge', { title: 'Стаття', category_id: '999999', body: 'x' });
      assert.equal(missing.statusCode, 400);
      assert.match(missing.body, /data-field-error="category_id"/);
      const preview = await admin.post('/knowledge', { title: 'Чернетка', category_id: '', new_category: 'Чернетки', body: '**жирно**', _action: 'preview' });
      assert.equal(preview.statusCode, 200);
      assert.match(preview.body, /<strong>жирно<\/strong>/);
      assert.equal(await count(), before);
      assert.equal(await t.app.db.selectFrom('knowledge_categories').select('id').where('name', '=', 'Чернетки').executeTakeFirst(), undefined, 'preview creates no category');
    });

    test('editing and deleting articles; categories: unique names, rename, only empty ones deleted', async () => {
      await admin.get(`/knowledge/${articleId}/edit`);
      const cat = await t.app.db.selectFrom('knowledge_categories').select(['id', 'name']).where('name', '=', 'Фінанси').executeTakeFirstOrThrow();
      const saved = await admin.post(`/knowledge/${articleId}`, { title: 'Розстрочка: умови', category_id: String(cat.id), body: 'Нові умови.' });
      assert.equal(saved.statusCode, 303);
      const page = await anna.get(`/knowledge/${articleId}`);
      assert.match(page.body, /Розстрочка: умови/);
      assert.match(page.body, /Оновлено .* · Шеф/);

      await admin.get('/knowledge/categories');
      const dup = await admin.post('/knowledge/categories', { name: 'фінанси' });
      assert.equal(dup.statusCode, 400);
      assert.match(dup.body, /Категорія з такою назвою вже є/);
      assert.match(dup.body, /value="фінанси"/);
      assert.equal((await admin.post(`/knowledge/categories/${cat.id}`, { name: 'Фінанси та оплата' })).statusCode, 303);
      const refused = await admin.post(`/knowledge/categories/${cat.id}/delete`);
      assert.equal(refused.statusCode, 303);
      assert.ok(await t.app.db.selectFrom('knowledge_categories').select('id').where('id', '=', cat.id).executeTakeFirst(), 'a category with articles stays');
      assert.match((await admin.get('/knowledge/categories')).body, /У категорії є статті/);
      const empty = await admin.post('/knowledge/categories', { name: 'Порожня' });
      assert.equal(empty.statusCode, 303);
      const emptyId = (await t.app.db.selectFrom('knowledge_categories').select('id').where('name', '=', 'Порожня').executeTakeFirstOrThrow()).id;
      assert.equal((await admin.post(`/knowledge/categories/${emptyId}/delete`)).statusCode, 303);
      assert.equal(await t.app.db.selectFrom('knowledge_categories').select('id').where('id', '=', emptyId).executeTakeFirst(), undefined);

      assert.equal((await admin.post(`/knowledge/${articleId}/delete`)).statusCode, 303);
      assert.equal((await anna.get(`/knowledge/${articleId}`)).statusCode, 404);
      assert.equal((await anna.get('/knowledge/not-a-number')).statusCode, 404);
    });

    test('agents cannot write: 403 on every change, nothing saved', async () => {
      const cat = await t.app.db.selectFrom('knowledge_categories').select('id').executeTakeFirstOrThrow();
      const before = await t.app.db.selectFrom('knowledge_articles').selectAll().orderBy('id').execute();
      await anna.get('/knowledge');
      for (const [url, form] of [
        ['/knowledge', { title: 'Agent article', category_id: String(cat.id), body: 'x' }],
        [`/knowledge/${before[0]!.id}`, { title: 'Agent edit', category_id: String(cat.id), body: 'x' }],
        [`/knowledge/${before[0]!.id}/delete`, {}],
        ['/knowledge/categories', { name: 'Agent category' }],
        [`/knowledge/categories/${cat.id}`, { name: 'Agent rename' }],
        [`/knowledge/categories/${cat.id}/delete`, {}],
      ] as const) {
        assert.equal((await anna.post(url, form)).statusCode, 403, url);
      }
      for (const url of ['/knowledge/new', `/knowledge/${before[0]!.id}/edit`, '/knowledge/categories']) assert.equal((await anna.get(url)).statusCode, 403, url);
      assert.deepEqual(await t.app.db.selectFrom('knowledge_articles').selectAll().orderBy('id').execute(), before);
      assert.equal(await t.app.db.selectFrom('knowledge_categories').select('id').where('name', 'like', 'Agent%').executeTakeFirst(), undefined);
    });
  });
}
