// In a real browser, the CSV import: an agent uploads a file, gives an unrecognised column its field (the
// preview checks again at once), sees a row's error and a duplicate flag, imports, watches the progress
// reach the summary and finds the leads on the dashboard; the same works without JavaScript (a button to
// check again, a progress page that reloads itself); no console errors or CSP violations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { seedUser } from '../helpers/app.ts';
import { type BrowserApp, expectText, launchBrowser, newContext, type PageProblems, signIn, startBrowserApp, watchForProblems } from '../helpers/browser.ts';

const AGENT = { username: 'import_agent', password: 'import-agent-password-1', display_name: 'Імпорт Агент' };

const FILE = [
  'Клієнт,Контакт,Бюджет,Країна',
  'Ганна Сидоренко,050 901 0001,до 200к,Дубай',
  'Без Бюджету,050 901 0002,мільйон,Турція',
  'Вже Відомий,050 901 0003,1млн+,Балі',
  'Петро Нечипорук,050 901 0004,500к–1млн,Оман',
].join('\n');

interface Session { context: BrowserContext; page: Page; watched: PageProblems }

describe('browser: CSV import', () => {
  let server: BrowserApp;
  let browser: Browser;
  const sessions: Session[] = [];
  let agentId = 0;

  before(async () => {
    server = await startBrowserApp({ env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
    agentId = await seedUser(server.t, AGENT);
    // Someone else's client with the number the file's third row has.
    const other = await seedUser(server.t, { username: 'other_agent', password: 'other-agent-password-1' });
    await server.t.app.db.insertInto('leads').values({ agent_id: other, deal_name: 'Чужий Клієнт', phone: '+380509010003', budget: 'до 200к' }).execute();
    browser = await launchBrowser();
  });
  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function logIn(javaScriptEnabled = true): Promise<Session> {
    const context = await newContext(browser, server.baseURL, { javaScriptEnabled });
    const watched = await watchForProblems(context);
    const page = await context.newPage();
    sessions.push({ context, page, watched });
    await signIn(page, AGENT.username, AGENT.password);
    return { context, page, watched };
  }

  const upload = async (page: Page, name: string, text: string) => {
    await page.locator('#sidebar').getByRole('link', { name: 'Імпорт CSV' }).click();
    await page.waitForURL('**/leads/import');
    await page.locator('#f-file').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
    await page.getByTestId('import-upload').click();
    await page.waitForURL(/\/leads\/import\/\d+$/);
  };
  const row = (page: Page, line: number) => page.locator(`tr[data-line="${line}"]`);

  test('upload, map a column in the preview, see an error and a duplicate, import, watch it finish, find the leads', async () => {
    const { page, watched } = await logIn();
    await upload(page, 'клієнти.csv', FILE);
    // "Контакт" is not recognised: the phone has no column yet, and the page says so next to the mapping.
    await expectText(page.getByTestId('mapping-missing'), 'Телефон');
    assert.equal(await page.getByTestId('start-import').isDisabled(), true);

    await page.getByLabel('Контакт').selectOption('phone');
    // The preview checks the rows again by itself.
    await page.getByTestId('import-counts').waitFor();
    assert.equal(await page.getByTestId('mapping-missing').count(), 0);
    await expectText(page.getByTestId('import-counts'), 'Готові до імпорту: 3');
    await expectText(page.getByTestId('import-counts'), 'З помилками: 1');
    await expectText(row(page, 3).getByTestId('row-errors'), 'Бюджет: Оберіть значення зі списку');
    assert.match(await row(page, 3).locator('td.table-danger').innerText(), /мільйон/);
    await row(page, 4).getByTestId('dup-existing').waitFor();
    assert.equal(await row(page, 4).getByText('Чужий Клієнт').count(), 0, 'an agent never learns whose client it is');
    assert.equal(await server.t.app.db.selectFrom('leads').select('id').where('agent_id', '=', agentId).execute().then((r) => r.length), 0, 'nothing saved yet');

    await page.getByTestId('start-import').click();
    await page.getByTestId('import-done').waitFor({ timeout: 30_000 });
    await expectText(page.getByTestId('import-done'), 'Створено лідів: 3. Не імпортовано рядків: 1.');
    await expectText(page.getByTestId('imported-leads'), 'Ганна Сидоренко');
    const download = page.waitForEvent('download');
    await page.getByTestId('download-failed').click();
    const file = await download;
    assert.equal(file.suggestedFilename(), 'клієнти_failed.csv');

    await page.getByRole('link', { name: 'До дашборду' }).click();
    await page.waitForURL('**/dashboard');
    for (const name of ['Ганна Сидоренко', 'Вже Відомий', 'Петро Нечипорук']) await expectText(page.locator('main'), name);
    assert.deepEqual(watched.problems, []);
  });

  test('without JavaScript: "Check again" applies the mapping, and the progress page reloads itself until done', async () => {
    const { page, watched } = await logIn(false);
    const text = FILE.replace(/050 901 000(\d)/g, '050 902 000$1');
    await upload(page, 'без-js.csv', text);
    await page.getByLabel('Контакт').selectOption('phone');
    await page.getByTestId('update-preview').click();
    await expectText(page.getByTestId('import-counts'), 'Готові до імпорту: 3');
    await page.getByTestId('start-import').click();
    await page.getByTestId('import-done').waitFor({ timeout: 30_000 });
    await expectText(page.getByTestId('import-done'), 'Створено лідів: 3');
    assert.deepEqual(watched.problems, []);
  });

  test('the progress page follows an import running elsewhere (another instance writes its progress to the row) and shows the summary when it ends', async () => {
    const { page, watched } = await logIn();
    await upload(page, 'інший.csv', FILE.replace(/050 901 000(\d)/g, '050 903 000$1').replace('Контакт', 'Телефон'));
    const id = Number(/\/leads\/import\/(\d+)$/.exec(page.url())![1]);
    const db = server.t.app.db;
    await db.updateTable('lead_imports').set({ status: 'running', processed: 2, heartbeat_at: new Date() }).where('id', '=', id).execute();
    await page.reload();
    const bar = page.getByTestId('import-progress');
    await bar.waitFor();
    assert.equal(await bar.getAttribute('value'), '2');
    await expectText(page.locator('[data-progress-text]'), 'Оброблено 2 з 4 рядків');
    await db.updateTable('lead_imports').set({ processed: 3 }).where('id', '=', id).execute();
    await expectText(page.locator('[data-progress-percent]'), '75%');
    await db.updateTable('lead_imports').set({ status: 'done', processed: 4, imported: 0, failed: 0, finished_at: new Date() }).where('id', '=', id).execute();
    await page.getByTestId('import-done').waitFor();
    assert.deepEqual(watched.problems, []);
  });

  test('a file over 10 MB is refused next to the file field before it is sent', async () => {
    const { page, watched } = await logIn();
    await page.goto('/leads/import');
    let posted = false;
    page.on('request', (r) => { if (r.method() === 'POST') posted = true; });
    await page.locator('#f-file').setInputFiles({ name: 'huge.csv', mimeType: 'text/csv', buffer: Buffer.alloc(11 * 1024 * 1024, 'a,b\n') });
    await page.getByTestId('import-upload').click();
    await expectText(page.locator('[data-field-error="file"]'), 'Файл завеликий');
    assert.equal(posted, false);
    assert.equal(page.url(), `${server.baseURL}/leads/import`);
    assert.deepEqual(watched.problems, []);
  });
});
