// In a real browser: the admin creates a project (two layouts, a third row added by the page's script,
// two photos and a brochure), then picks another main photo; an agent on a phone-sized screen filters the
// catalogue, opens the project, sees the gallery and layouts, and downloads the brochure. Every step also
// fails on console errors, CSP violations and broken images.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { seedUser } from '../helpers/app.ts';
import { type BrowserApp, DESKTOP, expectText, launchBrowser, newContext, PHONE, type PageProblems, startBrowserApp, watchForProblems, signIn } from '../helpers/browser.ts';

const ADMIN = { username: 'catalogue_admin', password: 'admin-password-1', display_name: 'Олена Адмінова', role: 'admin' as const };
const AGENT = { username: 'catalogue_agent', password: 'agent-password-1', display_name: 'Андрій Агент' };
const NAME = 'Lagoon Park Residences';
const BROCHURE = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

interface Session { context: BrowserContext; page: Page; watched: PageProblems }

describe('browser: the property catalogue', () => {
  let server: BrowserApp;
  let browser: Browser;
  const sessions: Session[] = [];
  let projectUrl = '';

  before(async () => {
    server = await startBrowserApp();
    await seedUser(server.t, ADMIN);
    await seedUser(server.t, AGENT);
    // Something else in the catalogue, so the filters have work to do.
    await server.t.app.db.insertInto('properties').values({ name: 'Other Project', country: 'Балі', city: 'Убуд', price_from: '90000' }).execute();
    browser = await launchBrowser();
  });
  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function logIn(user: { username: string; password: string }, viewport = DESKTOP): Promise<Session> {
    const context = await newContext(browser, server.baseURL, { viewport, acceptDownloads: true });
    const watched = await watchForProblems(context);
    const page = await context.newPage();
    const session = { context, page, watched };
    sessions.push(session);
    await signIn(page, user.username, user.password);
    return session;
  }

  /** Every <img> on the page has loaded real pixels (a private photo route that fails would show as broken). */
  async function expectImagesLoaded(page: Page, selector: string): Promise<number> {
    await page.waitForFunction((sel) => [...document.querySelectorAll<HTMLImageElement>(sel)].every((i) => i.complete), selector);
    const widths = await page.locator(selector).evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    assert.ok(widths.length > 0 && widths.every((w) => w > 0), `images loaded: ${JSON.stringify(widths)}`);
    return widths.length;
  }

  test('1. the admin creates a project with two layouts, photos and a brochure, and marks a main photo', async () => {
    const s = await logIn(ADMIN);
    const { page } = s;
    await page.goto('/properties');
    await page.getByTestId('new-property').click();
    await page.waitForURL('**/properties/new');

    await page.locator('#f-name').fill(NAME);
    await page.locator('#f-country').selectOption({ label: 'Північний Кіпр' });
    await page.locator('#f-city').fill('Фамагуста');
    await page.locator('#f-district').fill('Іскеле');
    await page.locator('#f-price_from').fill('120 000');
    await page.locator('#f-price_to').fill('380000');
    await page.locator('#f-payment_terms').fill('30% внесок, решта — 24 місяці');
    await page.locator('#f-description').fill('Комплекс біля лагуни.\nБасейн, спортзал.');

    await page.locator('#f-unit_type_0').selectOption({ label: '1 кімната' });
    await page.locator('#f-unit_size_from_0').fill('48');
    await page.locator('#f-unit_size_to_0').fill('55');
    await page.locator('#f-unit_price_0').fill('120000');
    await page.locator('#f-unit_type_1').selectOption({ label: '2 кімнати' });
    await page.locator('#f-unit_size_from_1').fill('82');
    await page.locator('#f-unit_price_1').fill('215000');
    // "Add a row" is handled by /static/properties.js: no reload, a fresh empty row with new names.
    const rows = page.getByTestId('unit-row');
    const count = await rows.count();
    await page.getByTestId('add-unit').click();
    assert.equal(await rows.count(), count + 1);
    assert.equal(page.url().endsWith('/properties/new'), true, 'no round trip');
    assert.equal(await rows.last().locator('select').getAttribute('name'), `unit_type_${count}`);
    assert.equal(await page.locator('#f-unit_type_0').inputValue(), '1', 'typed rows kept');

    const photo1 = await sharp({ create: { width: 1800, height: 1200, channels: 3, background: { r: 30, g: 120, b: 200 } } }).jpeg().toBuffer();
    const photo2 = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 230, g: 170, b: 40 } } }).png().toBuffer();
    await page.locator('#f-photos').setInputFiles([
      { name: 'facade.jpg', mimeType: 'image/jpeg', buffer: photo1 },
      { name: 'pool.png', mimeType: 'image/png', buffer: photo2 },
    ]);
    await page.locator('#f-document_0').setInputFiles({ name: 'Брошура Lagoon.pdf', mimeType: 'application/pdf', buffer: BROCHURE });
    await page.locator('#f-document_description_0').fill('Брошура та ціни 2026');
    await page.getByTestId('property-submit').click();

    await page.waitForURL(/\/properties\/\d+$/);
    projectUrl = new URL(page.url()).pathname;
    await expectText(page.locator('[data-flash="success"]'), "Об'єкт створено.");
    await expectText(page.locator('h1'), NAME);
    await expectText(page.getByTestId('property-price'), /від \$120\s000 до \$380\s000/u);
    assert.equal(await page.getByTestId('units-table').locator('tbody tr').count(), 2);
    await expectText(page.getByTestId('units-table'), '48 – 55 м²');
    await expectText(page.getByTestId('units-table'), 'від 82 м²');
    assert.equal(await expectImagesLoaded(page, '[data-testid="gallery"] img'), 4, 'two slides and two thumbnails');

    // Another main photo, on the edit page's photo section.
    await page.getByTestId('edit-property').click();
    await page.waitForURL(`**${projectUrl}/edit`);
    const managed = page.getByTestId('managed-photo');
    assert.equal(await managed.count(), 2);
    assert.equal(await managed.nth(0).getAttribute('data-main'), 'true', 'the first photo starts as the main one');
    await expectImagesLoaded(page, '[data-testid="managed-photo"] img');
    await managed.nth(1).getByTestId('make-main').click();
    await page.waitForURL(`**${projectUrl}/edit#photos`);
    await expectText(page.locator('[data-flash="success"]'), 'Головне фото змінено.');
    assert.equal(await page.getByTestId('managed-photo').nth(1).getAttribute('data-main'), 'true');
    assert.equal(await page.getByTestId('managed-photo').nth(0).getAttribute('data-main'), 'false');
    const mainId = await page.getByTestId('managed-photo').nth(1).getAttribute('data-photo-id');

    // The catalogue card shows the new main photo.
    await page.goto('/properties');
    const card = page.getByTestId('property-card').filter({ hasText: NAME });
    assert.match((await card.locator('img').getAttribute('src')) ?? '', new RegExp(`/photos/${mainId}/thumb$`));
    await expectImagesLoaded(page, '[data-testid="property-card"] img');
    assert.deepEqual(s.watched.problems, [], 'no console errors, page errors, CSP violations or broken assets');
  });

  test('2. an agent on a phone filters the catalogue, opens the project and downloads the brochure', async () => {
    assert.ok(projectUrl, 'the project from step 1');
    const s = await logIn(AGENT, PHONE);
    const { page } = s;
    await page.goto('/properties');
    assert.equal(await page.getByTestId('property-card').count(), 2);
    assert.equal(await page.getByTestId('new-property').count(), 0, 'agents cannot add projects');

    await page.locator('#filter-country').selectOption({ label: 'Північний Кіпр' });
    await page.locator('#filter-unit_type').selectOption({ label: '2 кімнати' });
    await page.locator('#filter-size_min').fill('80');
    await page.locator('#filter-price_max').fill('200000');
    await page.getByTestId('apply-filters').click();
    await page.waitForURL(/country=/);
    assert.equal(await page.getByTestId('property-card').count(), 1);
    await expectText(page.getByTestId('property-count'), "Знайдено об'єктів: 1");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scroll on the catalogue (overflow ${overflow}px)`);

    await page.getByTestId('property-card').getByRole('link', { name: NAME }).click();
    await page.waitForURL(`**${projectUrl}`);
    await expectText(page.locator('h1'), NAME);
    await expectText(page.getByTestId('lead-count'), 'Лідів, які цікавились: 0');
    assert.equal(await page.getByTestId('edit-property').count(), 0);
    await expectImagesLoaded(page, '[data-testid="gallery"] img');
    assert.equal(await page.getByTestId('main-photo').count(), 1);
    assert.equal(await page.locator('.carousel-item.active [data-testid="main-photo"]').count(), 1, 'the main photo comes first');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('document-link').click()]);
    assert.equal(download.suggestedFilename(), 'Брошура Lagoon.pdf');
    assert.ok(readFileSync(await download.path()).equals(BROCHURE), 'the brochure as uploaded');
    assert.deepEqual(s.watched.problems, [], 'no console errors, page errors, CSP violations or broken assets');
  });
});
