// In a real browser: an agent is working in one browser; the admin deactivates them from the users page
// in another (through the confirm dialog). The agent's very next page is the login form, and signing in
// again is refused. Every step also fails on console errors and CSP violations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { seedUser } from '../helpers/app.ts';
import { type BrowserApp, expectText, launchBrowser, newContext, type PageProblems, startBrowserApp, watchForProblems, signIn } from '../helpers/browser.ts';

const SCREENSHOT = process.env.PROPART_ADMIN_USERS_SCREENSHOT ?? '/tmp/propart-admin-users.png';

const ADMIN = { username: 'users_admin', password: 'admin-password-1', display_name: 'Ірина Адмін', role: 'admin' as const };
const AGENT = { username: 'field_agent', password: 'agent-password-1', display_name: 'Тарас Польовий' };

interface Session { context: BrowserContext; page: Page; watched: PageProblems }

describe('browser: deactivating an agent who is signed in elsewhere', () => {
  let server: BrowserApp;
  let browser: Browser;
  const sessions: Session[] = [];

  before(async () => {
    server = await startBrowserApp();
    const adminId = await seedUser(server.t, ADMIN);
    await seedUser(server.t, { ...AGENT, admin_id: adminId });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function logIn(user: { username: string; password: string }): Promise<Session> {
    const context = await newContext(browser, server.baseURL);
    const watched = await watchForProblems(context);
    const page = await context.newPage();
    const session = { context, page, watched };
    sessions.push(session);
    await signIn(page, user.username, user.password);
    return session;
  }

  test("the admin deactivates the agent; the agent's next page is the login page", async () => {
    const agent = await logIn(AGENT);
    await expectText(agent.page.getByTestId('current-user'), AGENT.display_name);

    const admin = await logIn(ADMIN);
    const { page } = admin;
    await page.locator('#sidebar').getByRole('link', { name: 'Користувачі' }).click();
    await page.waitForURL('**/admin/users');
    await expectText(page.locator('h1'), 'Управління користувачами');
    const row = page.locator(`tr[data-username="${AGENT.username}"]`);
    await expectText(row, AGENT.display_name);
    await expectText(row.getByTestId('user-status'), 'Активний');

    // Dismissing the confirm dialog changes nothing.
    const dismissed = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.message()); void d.dismiss(); }));
    await row.getByTestId('deactivate').click();
    assert.match(await dismissed, /Деактивувати Тарас Польовий\?/);
    await row.getByTestId('deactivate').waitFor({ state: 'visible' });

    const accepted = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.message()); void d.accept(); }));
    await row.getByTestId('deactivate').click();
    assert.match(await accepted, /сеанси/);
    await expectText(page.locator('[data-flash="success"]'), `Користувача ${AGENT.display_name} деактивовано`);
    await page.waitForURL('**/admin/users');
    await expectText(row.getByTestId('user-status'), 'Деактивований');
    await row.getByTestId('activate').waitFor({ state: 'visible' });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // The agent, still looking at their dashboard, clicks on: the next page is the login form.
    await agent.page.locator('#sidebar').getByRole('link', { name: 'Профіль' }).click();
    await agent.page.waitForURL('**/login?next=%2Fprofile');
    await agent.page.getByTestId('login-form').waitFor({ state: 'visible' });
    assert.equal(await agent.page.getByTestId('current-user').count(), 0, 'no longer signed in');

    // And signing in again is refused.
    await agent.page.locator('#f-username').fill(AGENT.username);
    await agent.page.locator('#f-password').fill(AGENT.password);
    await agent.page.getByTestId('login-form').locator('button[type="submit"]').click();
    await expectText(agent.page.getByTestId('form-errors'), /деактивован/i);
    assert.ok(agent.page.url().includes('/login'));

    // A refused login answers 403 — the document itself, which the console reports; nothing else may fail.
    const expected403 = /^console error on \S+\/login: Failed to load resource: the server responded with a status of 403/;
    assert.deepEqual(agent.watched.problems.filter((p) => !expected403.test(p)), [], 'agent: no console errors or CSP violations');
    assert.deepEqual(admin.watched.problems, [], 'admin: no console errors or CSP violations');
  });
});
