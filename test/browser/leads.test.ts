// In a real browser, the life of one lead: agent A creates it on a phone (the duplicate hint, the phone
// formatting), edits it, comments and replies, closes the deal through the confirm dialog; agent B cannot
// open it but is told the client is already registered (never whose); the admin reassigns it to agent B,
// who then sees it on the dashboard and in the CSV export, while agent A no longer can.
// The steps run in order and share the lead; every step also fails on console errors and CSP violations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';
import { seedUser } from '../helpers/app.ts';
import { type BrowserApp, DESKTOP, expectText, launchBrowser, newContext, PHONE, type PageProblems, startBrowserApp, watchForProblems, signIn } from '../helpers/browser.ts';

const LEAD_SCREENSHOT = process.env.PROPART_LEAD_SCREENSHOT ?? '/tmp/propart-lead.png';
const DASHBOARD_SCREENSHOT = process.env.PROPART_DASHBOARD_LEADS_SCREENSHOT ?? '/tmp/propart-dashboard-leads.png';

const ADMIN = { username: 'lead_admin', password: 'admin-password-1', display_name: 'Олена Адмінова', role: 'admin' as const };
const AGENT_A = { username: 'agent_a', password: 'agent-a-password-1', display_name: 'Андрій Перший' };
const AGENT_B = { username: 'agent_b', password: 'agent-b-password-1', display_name: 'Богдана Друга' };

const CLIENT = 'Марко Клієнтенко';
const PHONE_TYPED = '050 123 45 67';
const PHONE_SHOWN = '+380 50 123 4567';

interface Session { context: BrowserContext; page: Page; watched: PageProblems }

describe('browser: a lead from creation to reassignment', () => {
  let server: BrowserApp;
  let browser: Browser;
  const sessions: Session[] = [];
  let agentA: Session;
  let agentB: Session;
  let admin: Session;
  let leadUrl = '';
  let agentBId = 0;

  before(async () => {
    server = await startBrowserApp();
    const adminId = await seedUser(server.t, ADMIN);
    await seedUser(server.t, { ...AGENT_A, admin_id: adminId });
    agentBId = await seedUser(server.t, { ...AGENT_B, admin_id: adminId });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  /** A separate browser (own cookies) for one user, logged in and on the dashboard. */
  async function logIn(user: { username: string; password: string }, viewport = DESKTOP): Promise<Session> {
    const context = await newContext(browser, server.baseURL, { viewport });
    const watched = await watchForProblems(context);
    const page = await context.newPage();
    const session = { context, page, watched };
    sessions.push(session);
    await signIn(page, user.username, user.password);
    return session;
  }

  /**
   * Problems recorded since the mark. Chromium logs a console error for a 404 document too; the pages
   * that must be 404 are checked by expectNotFound, so only that message about the document itself is
   * left out (a 404 sub-resource still counts, and is also reported as "HTTP 404 for ...").
   */
  const DOCUMENT_404 = /^console error on (\S+): Failed to load resource: the server responded with a status of 404 \(Not Found\) \((\S+)\)$/;
  function problemsSince(s: Session, mark: number): string[] {
    return s.watched.problems.slice(mark).filter((p) => {
      const m = DOCUMENT_404.exec(p);
      return !(m && m[1] === m[2]);
    });
  }

  /** The value next to a label in the lead page's description lists. */
  const detail = (page: Page, label: string): Locator =>
    page.locator('dl > dt').filter({ hasText: new RegExp(`^${label}$`) }).locator('xpath=following-sibling::dd[1]');

  /** The app's 404 page, with its status (the document itself, not a sub-resource). */
  async function expectNotFound(page: Page, response: Response | null): Promise<void> {
    assert.equal(response?.status(), 404, `expected 404 for ${page.url()}`);
    await page.locator('.error-page[data-status="404"]').waitFor({ state: 'visible' });
    await expectText(page.getByTestId('error-message'), 'Сторінку не знайдено');
  }

  test('1. agent A creates a lead on a 390px phone via the sidebar', async () => {
    agentA = await logIn(AGENT_A, PHONE);
    const { page } = agentA;
    const mark = agentA.watched.problems.length;

    // The sidebar is off-canvas on a phone: open it with the hamburger, then "Додати лід".
    await page.locator('#sidebar').waitFor({ state: 'hidden' });
    await page.locator('button[aria-controls="sidebar"]').click();
    await page.locator('#sidebar.show').waitFor({ state: 'visible' });
    await page.locator('#sidebar').getByRole('link', { name: 'Додати лід' }).click();
    await page.waitForURL('**/leads/new');

    const form = page.getByTestId('lead-form');
    await form.waitFor({ state: 'visible' });
    await page.locator('#f-deal_name').fill(CLIENT);
    // Typed key by key, like a person: the live hint says it is a new client.
    await page.locator('#f-phone').pressSequentially(PHONE_TYPED);
    await page.locator('#duplicate-hint[data-state="new"]').waitFor({ state: 'visible' });
    await expectText(page.locator('#duplicate-hint'), 'Новий клієнт');
    await page.locator('#f-budget').selectOption({ label: '200к–500к' });
    await page.locator('#f-country').selectOption({ label: 'Дубай' });

    // The form fits the phone: nothing scrolls sideways, the submit button is on screen width.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scroll on the lead form (overflow ${overflow}px)`);
    const submit = page.getByTestId('lead-submit');
    await submit.scrollIntoViewIfNeeded();
    const box = await submit.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, `submit button within the screen: ${JSON.stringify(box)}`);
    await submit.click();

    await page.waitForURL(/\/leads\/\d+$/);
    leadUrl = new URL(page.url()).pathname;
    await expectText(page.locator('[data-flash="success"]'), 'Лід додано.');
    await expectText(page.locator('h1'), CLIENT);
    await expectText(page.getByTestId('lead-phone'), PHONE_SHOWN);
    assert.equal(await page.getByTestId('lead-phone').getAttribute('href'), 'tel:+380501234567');
    await expectText(page.getByTestId('status-badge'), 'Очікує синхронізації');
    await expectText(detail(page, 'Бюджет'), '200к–500к');
    await expectText(detail(page, 'Країна покупки'), 'Дубай');
    await expectText(page.getByTestId('lead-agent'), AGENT_A.display_name);
    assert.equal(await page.getByTestId('duplicate-badge').count(), 0, 'a new client is not flagged');

    assert.deepEqual(problemsSince(agentA, mark), [], 'no console errors, page errors, CSP violations or broken assets');
  });

  test('2. agent A edits budget, source and refusal reason', async () => {
    assert.ok(leadUrl, 'the lead from step 1');
    const { page } = agentA;
    const mark = agentA.watched.problems.length;

    await page.getByTestId('edit-lead').click();
    await page.waitForURL(`**${leadUrl}/edit`);
    // The form comes back filled in, the phone formatted.
    assert.equal(await page.locator('#f-deal_name').inputValue(), CLIENT);
    assert.equal(await page.locator('#f-phone').inputValue(), PHONE_SHOWN);
    assert.equal(await page.locator('#f-budget').inputValue(), '200к–500к');

    await page.locator('#f-budget').selectOption({ label: '1млн+' });
    await page.locator('#f-source').selectOption({ label: 'Рекомендація' });
    await page.locator('#f-refusal_reason').selectOption({ label: 'Недостатній бюджет' });
    await page.getByTestId('lead-submit').click();

    await page.waitForURL(`**${leadUrl}`);
    await expectText(page.locator('[data-flash="success"]'), 'Зміни збережено.');
    await expectText(detail(page, 'Бюджет'), '1млн+');
    await expectText(detail(page, 'Джерело привернення'), 'Рекомендація');
    await expectText(detail(page, 'Причина відмови'), 'Недостатній бюджет');
    await expectText(detail(page, 'Країна покупки'), 'Дубай');
    await expectText(page.getByTestId('lead-phone'), PHONE_SHOWN);

    assert.deepEqual(problemsSince(agentA, mark), [], 'no console errors, page errors, CSP violations or broken assets');
  });

  test('3. agent A comments (two lines and a link), then replies', async () => {
    const { page } = agentA;
    const mark = agentA.watched.problems.length;
    const comments = page.getByTestId('comments');
    await comments.getByTestId('comments-empty').waitFor({ state: 'visible' });

    await comments.locator('#comment-new').fill('Клієнт зацікавлений у віллі.\nДеталі: https://example.com');
    await comments.getByTestId('comment-add-form').locator('button[type="submit"]').click();
    await page.waitForURL(`**${leadUrl}#comments`);
    await expectText(page.locator('[data-flash="success"]'), 'Коментар додано.');

    const first = comments.locator('li.comment').first();
    await expectText(first.locator('.comment-author'), AGENT_A.display_name);
    const text = first.getByTestId('comment-text').first();
    await expectText(text, 'Клієнт зацікавлений у віллі.');
    assert.equal(await text.locator('br').count(), 1, 'the line break is kept');
    assert.equal(await text.innerText(), 'Клієнт зацікавлений у віллі.\nДеталі: https://example.com');
    const link = text.getByRole('link', { name: 'https://example.com' });
    await link.waitFor({ state: 'visible' });
    assert.equal(await link.getAttribute('href'), 'https://example.com/');
    assert.match((await link.getAttribute('rel')) ?? '', /\bnoopener\b/);
    assert.equal(await link.getAttribute('target'), '_blank');

    // Reply: the form opens in a <details>.
    await first.locator('details.comment-reply > summary').click();
    const replyForm = first.getByTestId('comment-reply-form');
    await replyForm.locator('textarea').fill('Передзвонити у п’ятницю');
    await replyForm.locator('button[type="submit"]').click();
    // The URL is already …#comments, so wait for the reply itself (it only exists on the new page).
    const reply = page.getByTestId('comments').locator('ol.comment-replies > li.comment');
    await expectText(reply.getByTestId('comment-text'), 'Передзвонити у п’ятницю');
    await expectText(page.locator('[data-flash="success"]'), 'Коментар додано.');
    assert.equal(await reply.count(), 1);
    assert.equal(await page.getByTestId('comments').locator('ol.comment-list > li.comment').count(), 1, 'the reply is nested, not a new thread');

    assert.deepEqual(problemsSince(agentA, mark), [], 'no console errors, page errors, CSP violations or broken assets');
  });

  test('4. agent A closes the deal through the confirm dialog', async () => {
    const { page } = agentA;
    const mark = agentA.watched.problems.length;

    // Dismissing the dialog keeps the deal open (no navigation, the button is still there).
    const dismissed = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.message()); void d.dismiss(); }));
    await page.getByTestId('close-deal').click();
    assert.match(await dismissed, /Закрити угоду\?/);
    await page.getByTestId('close-deal').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('reopen-deal').count(), 0);

    const accepted = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.message()); void d.accept(); }));
    await page.getByTestId('close-deal').click();
    assert.match(await accepted, /1000 поінтів/);
    await expectText(page.locator('[data-flash="success"]'), 'Угоду закрито! +1000 поінтів.');
    await page.getByTestId('reopen-deal').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('close-deal').count(), 0, 'the close button became "reopen"');

    await page.screenshot({ path: LEAD_SCREENSHOT, fullPage: true });
    assert.deepEqual(problemsSince(agentA, mark), [], 'no console errors, page errors, CSP violations or broken assets');
  });

  test('5. agent B cannot open the lead; the duplicate hint never names the client', async () => {
    agentB = await logIn(AGENT_B, DESKTOP);
    const { page } = agentB;
    const mark = agentB.watched.problems.length;

    await expectNotFound(page, await page.goto(leadUrl));
    await expectNotFound(page, await page.goto(`${leadUrl}/edit`));

    await page.goto('/leads/new');
    await page.getByTestId('lead-form').waitFor({ state: 'visible' });
    const checks: Promise<string>[] = [];
    page.on('response', (res) => {
      if (res.url().endsWith('/leads/check-duplicate')) checks.push(res.text());
    });
    await page.locator('#f-phone').pressSequentially(PHONE_TYPED);
    await page.locator('#duplicate-hint[data-state="duplicate"]').waitFor({ state: 'visible' });
    await expectText(page.locator('#duplicate-hint'), 'Цей клієнт уже зареєстрований у системі.');

    const shown = await page.locator('body').innerText();
    assert.ok(!shown.includes(CLIENT), 'the page never shows agent A\'s client');
    assert.ok(!shown.includes(AGENT_A.display_name), 'nor who owns the client');
    assert.ok(checks.length > 0, 'the hint came from the check endpoint');
    for (const body of await Promise.all(checks)) assert.deepEqual(JSON.parse(body), { duplicate: true }, 'the check answers only yes/no');

    assert.deepEqual(problemsSince(agentB, mark), [], 'no console errors, page errors, CSP violations or broken assets');
  });

  test('6. the admin reassigns the lead to agent B; A loses access, B gains it', async () => {
    admin = await logIn(ADMIN, DESKTOP);
    const { page } = admin;
    const mark = admin.watched.problems.length;

    await page.goto(leadUrl);
    await expectText(page.getByTestId('lead-agent'), AGENT_A.display_name);
    const form = page.getByTestId('reassign-form');
    await form.locator('select[name="agent_id"]').selectOption({ label: AGENT_B.display_name });
    assert.equal(await form.locator('select[name="agent_id"]').inputValue(), String(agentBId));
    await form.locator('button[type="submit"]').click();
    await expectText(page.locator('[data-flash="success"]'), `Відповідального агента змінено на ${AGENT_B.display_name}.`);
    await expectText(page.getByTestId('lead-agent'), AGENT_B.display_name);
    // The comments and the closed state travel with the lead.
    await expectText(page.getByTestId('comments').getByTestId('comment-text'), 'Передзвонити у п’ятницю');
    await page.getByTestId('reopen-deal').waitFor({ state: 'visible' });
    await page.screenshot({ path: LEAD_SCREENSHOT.replace(/\.png$/, '-admin.png'), fullPage: true });
    assert.deepEqual(problemsSince(admin, mark), [], 'admin: no console errors, page errors, CSP violations or broken assets');

    const markB = agentB.watched.problems.length;
    const res = await agentB.page.goto(leadUrl);
    assert.equal(res?.status(), 200);
    await expectText(agentB.page.locator('h1'), CLIENT);
    await expectText(agentB.page.getByTestId('lead-agent'), AGENT_B.display_name);
    await expectText(agentB.page.getByTestId('lead-phone'), PHONE_SHOWN);
    assert.deepEqual(problemsSince(agentB, markB), [], 'agent B: no console errors, page errors, CSP violations or broken assets');

    const markA = agentA.watched.problems.length;
    await expectNotFound(agentA.page, await agentA.page.goto(leadUrl));
    assert.deepEqual(problemsSince(agentA, markA), [], 'agent A: no console errors, page errors, CSP violations or broken assets');
  });

  test('7. agent B\'s dashboard lists the lead and exports it as CSV', async () => {
    const { page } = agentB;
    const mark = agentB.watched.problems.length;

    await page.goto('/dashboard');
    const leadId = leadUrl.split('/').at(-1)!;
    const table = page.getByTestId('leads-table');
    const row = table.locator(`tr[data-lead-id="${leadId}"]`);
    await expectText(row, CLIENT);
    await expectText(row, PHONE_SHOWN);
    await expectText(row, '1млн+');
    assert.equal(await row.getByText(AGENT_B.display_name).count(), 0, 'no "responsible agent" column in an agent\'s own list');
    assert.equal(await table.locator('tbody tr[data-lead-id]').count(), 1);
    await expectText(page.getByTestId('card-total'), /^1$/);
    await expectText(page.getByTestId('card-closed'), /^1$/);
    await page.getByTestId('chart-weekly').waitFor({ state: 'visible' });

    // Narrower screens drop country (under 1400 px), then source (under 1200 px); the date stays on one line.
    // Columns: deal, budget, status, country, source, date.
    await checkColumns(page, row, [[1500, [true, true, true, true, true, true]], [1300, [true, true, true, false, true, true]], [1000, [true, true, true, false, false, true]]]);

    // The lead link opens it.
    await row.getByRole('link', { name: CLIENT }).click();
    await page.waitForURL(`**${leadUrl}`);
    await page.goBack();
    await page.waitForURL('**/dashboard');

    // Asked again, the page comes gzipped (decision 031) and works as before: the row, the charts.
    const again = await page.reload();
    assert.equal((await again!.allHeaders())['content-encoding'], 'gzip');
    await expectText(row, CLIENT);
    await page.getByTestId('chart-weekly').waitFor({ state: 'visible' });

    // The export button: same cookies, a UTF-8 CSV with the lead.
    const href = await page.getByTestId('export-csv').getAttribute('href');
    assert.ok(href?.startsWith('/leads/export.csv'), `export link: ${href}`);
    const csv = await page.request.get(href!);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()['content-type'] ?? '', /^text\/csv/);
    assert.match(csv.headers()['content-disposition'] ?? '', /attachment; filename="leads_\d+\.csv"/);
    const body = await csv.text();
    assert.ok(body.includes(CLIENT), 'the CSV has the lead');
    assert.ok(body.includes(PHONE_SHOWN), 'with its phone');
    assert.equal(body.trim().split('\n').length, 2, 'a header and one lead');

    await page.screenshot({ path: DASHBOARD_SCREENSHOT, fullPage: true });
    assert.deepEqual(problemsSince(agentB, mark), [], 'no console errors, page errors, CSP violations or broken assets');
  });

  test('8. the admin\'s dashboard: the agent column, and the agent filter lists every agent from its own address', async () => {
    const { page } = admin;
    const mark = admin.watched.problems.length;
    await page.goto('/dashboard');
    const filter = page.locator('#flt-agent');
    await filter.and(page.locator('[data-loaded="true"]')).waitFor({ state: 'attached' });
    const labels = await filter.locator('option').allTextContents();
    assert.deepEqual(labels.slice(0, 2), ['Усі агенти', 'Мої брокери']);
    assert.ok(labels.includes(AGENT_A.display_name) && labels.includes(AGENT_B.display_name), `every agent listed: ${labels.join(', ')}`);
    await filter.selectOption({ label: AGENT_B.display_name });
    await page.getByTestId('filters').getByRole('button', { name: 'Застосувати' }).click();
    await page.waitForURL(/agent=\d+/);
    const leadId = leadUrl.split('/').at(-1)!;
    const table = page.getByTestId('leads-table');
    const row = table.locator(`tr[data-lead-id="${leadId}"]`);
    await expectText(row, AGENT_B.display_name);
    assert.equal(await table.locator('tbody tr[data-lead-id]').count(), 1);
    // After the list arrives the chosen agent is still chosen, in its place by name.
    await page.locator('#flt-agent[data-loaded="true"]').waitFor({ state: 'attached' });
    assert.equal(await filter.locator('option:checked').textContent(), AGENT_B.display_name);
    assert.equal(await filter.locator(`option[value="${await filter.inputValue()}"]`).count(), 1, 'listed once');
    // Columns: deal, agent, budget, status, country, source, date.
    await checkColumns(page, row, [[1500, [true, true, true, true, true, true, true]], [1300, [true, true, true, true, false, true, true]], [1000, [true, true, true, true, false, false, true]]]);
    assert.deepEqual(problemsSince(admin, mark), [], 'no console errors, page errors, CSP violations or broken assets');
  });
});

/** Which of the lead list's columns show at each width; the row's cells follow; the date stays on one line. */
async function checkColumns(page: Page, row: Locator, widths: [number, boolean[]][]): Promise<void> {
  const table = page.getByTestId('leads-table');
  const shown = async () => table.locator('thead th').evaluateAll((ths) => ths.map((th) => getComputedStyle(th).display !== 'none'));
  for (const [width, expected] of widths) {
    await page.setViewportSize({ width, height: 800 });
    assert.deepEqual(await shown(), expected, `columns shown at ${width} px`);
    const cells = await row.locator('td').evaluateAll((tds) => tds.map((td) => getComputedStyle(td).display !== 'none'));
    assert.deepEqual(cells, expected, `the row's cells follow the header at ${width} px`);
  }
  assert.equal(await row.locator('td').last().evaluate((td) => getComputedStyle(td).whiteSpace), 'nowrap');
  await page.setViewportSize(DESKTOP);
}
