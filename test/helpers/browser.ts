// Browser tests: Debian's Chromium driven by playwright-core (no browser download), and the real app
// listening on 127.0.0.1 with its own PGlite database. Everything opened here must be closed by the
// caller (browser, contexts, app) or the test process never exits.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type ConsoleMessage, type Locator, type Page } from 'playwright-core';
import { type TestApp, type TestAppOptions, startTestApp } from './app.ts';

/** Debian's Chromium; override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Generous enough for a cold PGlite query on a 2-core CI box, short enough to fail fast. */
export const DEFAULT_TIMEOUT_MS = 15_000;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y --no-install-recommends chromium fonts-liberation (never "npx playwright install")`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A fresh, isolated context (own cookies and storage) per test. */
export async function newContext(browser: Browser, baseURL: string, opts: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: DESKTOP, locale: 'uk-UA', ...opts });
  context.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(DEFAULT_TIMEOUT_MS);
  return context;
}

export interface BrowserApp {
  t: TestApp;
  baseURL: string;
  close(): Promise<void>;
}

/** The real app (PGlite) listening on 127.0.0.1 on a free port. */
export async function startBrowserApp(opts: TestAppOptions = {}): Promise<BrowserApp> {
  const t = await startTestApp('pglite', opts);
  try {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await t.close();
    throw err;
  }
  const { port } = t.app.server.address() as AddressInfo;
  return { t, baseURL: `http://127.0.0.1:${port}`, close: () => t.close() };
}

export interface PageProblems {
  /** Console errors, uncaught exceptions, CSP violations, failed or 4xx/5xx sub-resources. */
  readonly problems: string[];
  /** Only the CSP violations (also included in `problems`). */
  readonly cspViolations: string[];
}

/**
 * Records everything that would show up red in DevTools, for every page of the context (call it
 * before opening pages). CSP violations are caught twice: Chromium's console message, and a
 * `securitypolicyviolation` listener installed before any page script runs.
 */
export async function watchForProblems(context: BrowserContext): Promise<PageProblems> {
  const problems: string[] = [];
  const cspViolations: string[] = [];
  await context.exposeBinding('__reportCspViolation', (_source, text: string) => {
    cspViolations.push(text);
    problems.push(`CSP violation: ${text}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __reportCspViolation?: (t: string) => void }).__reportCspViolation;
      report?.(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} on ${e.documentURI}`);
    });
  });
  const watch = (page: Page) => {
    page.on('console', (msg: ConsoleMessage) => {
      if (msg.type() !== 'error') return;
      problems.push(`console error on ${page.url()}: ${msg.text()}${msg.location().url ? ` (${msg.location().url})` : ""}`);
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(`uncaught exception on ${page.url()}: ${err.message}`));
    page.on('requestfailed', (req) => {
      // A navigation that replaces a page still loading is not a problem of the page, nor is a page's own
      // fetch that the browser cancels when the user leaves it (the agent filter's list, say: the app's
      // scripts never abort a fetch themselves).
      if (req.failure()?.errorText === 'net::ERR_ABORTED' && (req.isNavigationRequest() || req.resourceType() === 'fetch')) return;
      problems.push(`request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText})`);
    });
    page.on('response', (res) => {
      const req = res.request();
      if (res.status() >= 400 && !req.isNavigationRequest()) problems.push(`HTTP ${res.status()} for ${req.method()} ${res.url()}`);
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return { problems, cspViolations };
}

/**
 * Waits (auto-retrying) until the locator has an element whose text matches; on timeout the error
 * says what the text actually was. playwright-core has no `expect`, this is the small part we need.
 */
export async function expectText(locator: Locator, text: string | RegExp, timeout = DEFAULT_TIMEOUT_MS): Promise<void> {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout });
  } catch (err) {
    const actual = await locator.allInnerTexts().catch(() => ['<unavailable>']);
    throw new Error(`expected ${locator} to show ${String(text)}; it shows ${JSON.stringify(actual)}`, { cause: err });
  }
}

/** Waits until the page's <html lang> is the given locale. */
export async function expectHtmlLang(page: Page, lang: string, timeout = DEFAULT_TIMEOUT_MS): Promise<void> {
  await page.locator(`html[lang="${lang}"]`).waitFor({ state: 'attached', timeout });
}

/** Signs in through the real login form and waits for the dashboard. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.locator('#f-username').fill(username);
  await page.locator('#f-password').fill(password);
  await page.getByTestId('login-form').locator('button[type="submit"]').click();
  await page.waitForURL('**/dashboard');
}
