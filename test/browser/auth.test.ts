// In a real browser: registration, login, the dashboard shell, language switch, logout, phone sidebar.
// Every test also fails on console errors, uncaught exceptions, CSP violations and broken assets.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { seedUser } from '../helpers/app.ts';
import { type BrowserApp, DESKTOP, expectHtmlLang, expectText, launchBrowser, newContext, PHONE, type PageProblems, startBrowserApp, watchForProblems, signIn } from '../helpers/browser.ts';

const ADMIN_NAME = 'Олена Адмінова';
const SCREENSHOT = process.env.PROPART_SCREENSHOT ?? '/tmp/propart-dashboard.png';

describe('browser: auth', () => {
  let server: BrowserApp;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let watched: PageProblems;

  before(async () => {
    server = await startBrowserApp();
    await seedUser(server.t, { username: 'boss', password: 'boss-password-1', role: 'admin', display_name: ADMIN_NAME, email: 'boss@agency.ua' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openPage(viewport = DESKTOP): Promise<Page> {
    context = await newContext(browser, server.baseURL, { viewport });
    watched = await watchForProblems(context);
    return context.newPage();
  }
  beforeEach(() => { context = undefined; });
  afterEach(async () => {
    await context?.close();
  });

  async function logIn(page: Page, username: string, password: string): Promise<void> {
    await signIn(page, username, password);
  }

  test('register, log in, switch to English (remembered), log out — desktop', async () => {
    const page = await openPage(DESKTOP);

    // Registration, in Ukrainian (the default language).
    await page.goto('/register');
    await expectHtmlLang(page, 'uk');
    await page.locator('#f-username').fill('ivan_petrenko');
    await page.locator('#f-display_name').fill('Іван Петренко');
    await page.locator('#f-email').fill('ivan@example.com');
    await page.locator('#f-admin_id').selectOption({ label: ADMIN_NAME });
    await page.locator('#f-password').fill('correct horse 1');
    await page.locator('#f-confirm_password').fill('correct horse 1');
    await page.getByTestId('register-form').locator('button[type="submit"]').click();

    await page.waitForURL('**/login');
    await expectText(page.locator('[data-flash="success"]'), `Реєстрація успішна! Ви працюєте з адміном: ${ADMIN_NAME}.`);

    // Log in: the dashboard shell with the sidebar.
    await page.locator('#f-username').fill('ivan_petrenko');
    await page.locator('#f-password').fill('correct horse 1');
    await page.getByTestId('login-form').locator('button[type="submit"]').click();
    await page.waitForURL('**/dashboard');
    await expectText(page.getByTestId('dashboard-hello'), 'Вітаємо, Іван Петренко');
    await page.locator('#sidebar').waitFor({ state: 'visible' });
    await expectText(page.locator('#sidebar a.nav-link'), 'Дашборд');
    await page.getByTestId('logout').waitFor({ state: 'visible' });
    await page.getByTestId('dashboard-empty').waitFor({ state: 'visible' });

    // Switch to English.
    await page.getByTestId('switch-language').click();
    await expectHtmlLang(page, 'en');
    assert.match(page.url(), /\/dashboard$/, 'the language switch returns to the same page');
    await expectText(page.locator('h1'), /^Dashboard$/);
    await expectText(page.getByTestId('dashboard-hello'), 'Welcome, Іван Петренко');
    await expectText(page.locator('#sidebar'), 'Log out');
    await expectText(page.getByTestId('switch-language'), 'Українська');

    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Remembered on the next page.
    await page.locator('#sidebar a[href="/profile"]').click();
    await page.waitForURL('**/profile');
    await expectHtmlLang(page, 'en');
    await expectText(page.locator('h1'), /^Profile$/);

    // Log out: back to the login page, in English, and the dashboard is closed again.
    await page.getByTestId('logout').click();
    await page.waitForURL('**/login');
    await expectText(page.locator('[data-flash="info"]'), 'You have logged out.');
    await expectText(page.locator('h1'), /^Log in$/);
    await page.goto('/dashboard');
    await page.waitForURL(/\/login\?next=/);
    await page.getByTestId('login-form').waitFor({ state: 'visible' });

    assert.deepEqual(watched.problems, [], 'no console errors, page errors, CSP violations or broken assets');
    assert.deepEqual(watched.cspViolations, []);
  });

  test('on a 390px phone the sidebar is off-canvas and the hamburger opens it', async () => {
    await seedUser(server.t, { username: 'phone_agent', password: 'phone-password-1', display_name: 'Марія Мобільна', admin_id: null });
    const page = await openPage(PHONE);
    await logIn(page, 'phone_agent', 'phone-password-1');
    await expectText(page.getByTestId('dashboard-hello'), 'Марія Мобільна');

    const sidebar = page.locator('#sidebar');
    await sidebar.waitFor({ state: 'hidden' });
    assert.equal(await page.getByTestId('logout').isVisible(), false, 'logout is inside the closed off-canvas sidebar');

    const hamburger = page.locator('button[aria-controls="sidebar"]');
    await hamburger.click();
    await page.locator('#sidebar.show').waitFor({ state: 'visible' });
    await page.getByTestId('logout').waitFor({ state: 'visible' });
    const box = await sidebar.boundingBox();
    assert.ok(box && box.x >= -1 && box.width > 0 && box.width <= PHONE.width, `sidebar on screen: ${JSON.stringify(box)}`);
    await expectText(page.locator('#sidebar a.nav-link'), 'Профіль');

    // The page does not scroll sideways on a phone.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scroll (overflow ${overflow}px)`);

    // The close button hides it again.
    await page.locator('#sidebar .btn-close').click();
    await sidebar.waitFor({ state: 'hidden' });

    assert.deepEqual(watched.problems, [], 'no console errors, page errors, CSP violations or broken assets');
  });
});
