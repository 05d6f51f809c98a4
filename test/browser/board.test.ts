// In a real browser, the pipeline board: a card dragged to another column is saved (and still there after
// a reload); the keyboard path (Tab to the card's stage list, choose, Enter) moves a card without a mouse;
// on a phone the columns scroll sideways while the page itself does not; no console errors or CSP violations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { seedUser } from '../helpers/app.ts';
import { type BrowserApp, DESKTOP, launchBrowser, newContext, PHONE, type PageProblems, startBrowserApp, watchForProblems, signIn } from '../helpers/browser.ts';
import { DEFAULT_STAGES } from '../../src/leads/stages.ts';

const AGENT = { username: 'board_agent', password: 'board-agent-password-1', display_name: 'Борд Агент' };
const [NEW, SENT, MEETING, , NEGOTIATION] = DEFAULT_STAGES.map((s) => s.id) as [string, string, string, string, string];

interface Session { context: BrowserContext; page: Page; watched: PageProblems }

describe('browser: the pipeline board', () => {
  let server: BrowserApp;
  let browser: Browser;
  const sessions: Session[] = [];
  let agentId = 0;
  const ids: Record<string, number> = {};

  before(async () => {
    server = await startBrowserApp({ env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
    agentId = await seedUser(server.t, AGENT);
    let n = 0;
    for (const name of ['Тягни Мене', 'Клавіатурний Клієнт', 'Третій Клієнт', 'Четвертий Клієнт', 'Без Скриптів']) {
      n++;
      ids[name] = (await server.t.app.db.insertInto('leads').values({ agent_id: agentId, deal_name: name, phone: `+38050700000${n}`, budget: 'до 200к' })
        .returning('id').executeTakeFirstOrThrow()).id;
    }
    browser = await launchBrowser();
  });
  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function logIn(viewport = DESKTOP, javaScriptEnabled = true): Promise<Session> {
    const context = await newContext(browser, server.baseURL, { viewport, javaScriptEnabled });
    const watched = await watchForProblems(context);
    const page = await context.newPage();
    sessions.push({ context, page, watched });
    await signIn(page, AGENT.username, AGENT.password);
    return { context, page, watched };
  }

  const column = (page: Page, stageId: string) => page.getByTestId(`board-col-${stageId}`);
  const card = (page: Page, id: number) => page.locator(`#card-${id}`);
  const stored = (id: number) => server.t.app.db.selectFrom('leads').select(['status', 'hubspot_stage_id', 'hubspot_stage_label']).where('id', '=', id).executeTakeFirstOrThrow();

  test('drag a card to another column: saved, and still there after a reload', async () => {
    const s = await logIn();
    const { page } = s;
    await page.locator('#sidebar').getByRole('link', { name: 'Воронка' }).click();
    await page.waitForURL('**/board');
    const id = ids['Тягни Мене']!;
    await card(page, id).waitFor({ state: 'visible' });
    await page.locator('[data-board][data-enhanced="true"]').waitFor({ state: 'attached' });
    assert.equal(await column(page, NEW).locator(`#card-${id}`).count(), 1, 'starts in the first stage');
    const moved = page.waitForResponse((r) => r.url().endsWith('/board/move') && r.request().method() === 'POST');
    // Grabbed by its top corner (not the stage list or the link inside it).
    // (Both columns on screen: a drag does not survive Playwright scrolling the target into view.)
    await card(page, id).dragTo(column(page, MEETING).locator('.board-list'), { sourcePosition: { x: 6, y: 6 } });
    const res = await moved;
    assert.equal(res.status(), 200);
    assert.equal(res.request().headers()['x-csrf-token']?.length ? 'sent' : 'missing', 'sent');
    await column(page, MEETING).locator(`#card-${id}`).waitFor({ state: 'visible' });
    assert.equal(await column(page, MEETING).getByTestId('board-col-count').innerText(), '1');
    assert.deepEqual(await stored(id), { status: 'qualified', hubspot_stage_id: MEETING, hubspot_stage_label: 'Назначена встреча/тур' });
    const item = await server.t.app.db.selectFrom('sync_items').select('status').where('entity_type', '=', 'lead').where('entity_id', '=', id).executeTakeFirst();
    assert.equal(item?.status, 'pending', 'queued for HubSpot');

    // A column off screen: held at the board's right edge, the board scrolls until it shows.
    const far = ids['Четвертий Клієнт']!;
    const from = (await card(page, far).boundingBox())!;
    const edge = (await page.getByTestId('board').boundingBox())!;
    const movedFar = page.waitForResponse((r) => r.url().endsWith('/board/move') && r.request().method() === 'POST');
    await page.mouse.move(from.x + 6, from.y + 6);
    await page.mouse.down();
    await page.mouse.move(from.x + 40, from.y + 20, { steps: 4 });
    const target = column(page, NEGOTIATION).locator('.board-list');
    for (let i = 0; i < 80; i++) {
      const box = await target.boundingBox();
      if (box && box.x + box.width < edge.x + edge.width - 60) break;
      await page.mouse.move(edge.x + edge.width - 10 - (i % 2), from.y + 20);
    }
    const goal = (await target.boundingBox())!;
    await page.mouse.move(goal.x + goal.width / 2, goal.y + goal.height / 2, { steps: 4 });
    await page.mouse.up();
    assert.equal((await movedFar).status(), 200);
    assert.equal((await stored(far)).hubspot_stage_id, NEGOTIATION);

    await page.reload();
    await column(page, MEETING).locator(`#card-${id}`).waitFor({ state: 'visible' });
    await column(page, NEGOTIATION).locator(`#card-${far}`).waitFor({ state: 'attached' });
    assert.equal(await column(page, NEW).locator(`#card-${id}`).count(), 0);
    assert.equal(await page.locator(`#move-${id}`).inputValue(), MEETING, 'the card\'s own list shows its stage');
    assert.deepEqual(s.watched.problems, []);
  });

  test('keyboard: Tab to the card\'s stage list, choose a stage, Enter', async () => {
    const s = await logIn();
    const { page } = s;
    await page.goto('/board');
    const id = ids['Клавіатурний Клієнт']!;
    // From the card's link, the next Tab stop is its stage list.
    await card(page, id).locator('a.board-card-title').focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), `move-${id}`);
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.locator(`#move-${id}`).inputValue(), SENT, 'ArrowDown chooses the next stage');
    await Promise.all([page.waitForURL(new RegExp(`/board#card-${id}$`)), page.keyboard.press('Enter')]);
    await column(page, SENT).locator(`#card-${id}`).waitFor({ state: 'visible' });
    await page.locator('[data-flash="success"]').filter({ hasText: 'Клавіатурний Клієнт' }).waitFor({ state: 'visible' });
    assert.deepEqual(await stored(id), { status: 'contacted', hubspot_stage_id: SENT, hubspot_stage_label: DEFAULT_STAGES[1]!.label });

    // The button does the same without Enter on the list (and so without JavaScript).
    const other = ids['Третій Клієнт']!;
    await page.locator(`#move-${other}`).focus();
    await page.locator(`#move-${other}`).selectOption(NEGOTIATION);
    await page.keyboard.press('Tab');
    await Promise.all([page.waitForURL(new RegExp(`/board#card-${other}$`)), page.keyboard.press('Enter')]);
    await column(page, NEGOTIATION).locator(`#card-${other}`).waitFor({ state: 'visible' });
    assert.equal((await stored(other)).hubspot_stage_id, NEGOTIATION);
    assert.deepEqual(s.watched.problems, []);
  });

  test('without JavaScript the card\'s form still moves it', async () => {
    const s = await logIn(DESKTOP, false);
    const { page } = s;
    await page.goto('/board');
    const id = ids['Без Скриптів']!;
    assert.equal(await page.locator('[data-board]').getAttribute('data-enhanced'), null, 'board.js did not run');
    await page.locator(`#move-${id}`).selectOption(SENT);
    await Promise.all([page.waitForURL(new RegExp(`/board#card-${id}$`)), card(page, id).getByRole('button', { name: 'Перемістити' }).click()]);
    await column(page, SENT).locator(`#card-${id}`).waitFor({ state: 'visible' });
    assert.equal((await stored(id)).hubspot_stage_id, SENT);
    assert.deepEqual(s.watched.problems, []);
  });

  test('on a phone the columns scroll sideways (snapping), the page does not', async () => {
    const s = await logIn(PHONE);
    const { page } = s;
    await page.goto('/board');
    const board = page.getByTestId('board');
    await board.waitFor({ state: 'visible' });
    const m = await board.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, snap: getComputedStyle(el).scrollSnapType }));
    assert.ok(m.scroll > m.client + 100, `the board is wider than the screen: ${JSON.stringify(m)}`);
    assert.match(m.snap, /x mandatory/);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page itself does not scroll sideways (overflow ${overflow}px)`);
    // A sideways scroll over the board moves it towards the next column.
    await board.hover({ position: { x: 50, y: 20 } });
    await page.mouse.wheel(300, 0);
    await page.waitForFunction(() => (document.querySelector('[data-testid="board"]')?.scrollLeft ?? 0) > 0);
    const last = column(page, DEFAULT_STAGES.at(-1)!.id);
    await last.scrollIntoViewIfNeeded();
    const box = await last.boundingBox();
    assert.ok(box && box.x >= -1 && box.x + box.width <= PHONE.width + 1, `the last column can be brought on screen: ${JSON.stringify(box)}`);
    assert.deepEqual(s.watched.problems, []);
    assert.deepEqual(s.watched.cspViolations, []);
  });
});
