// In a real browser: an agent requests verification with a PDF (ID and signed agreement), the admin opens
// the document and approves with a commission (after being told an empty one is not enough), the agent
// then sees "verified" and the commission on the profile; another agent cannot download those documents,
// not even by guessing ids. Every step also fails on console errors and CSP violations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { seedUser } from '../helpers/app.ts';
import { type BrowserApp, expectText, launchBrowser, newContext, type PageProblems, startBrowserApp, watchForProblems, signIn } from '../helpers/browser.ts';

const SCREENSHOT = process.env.PROPART_VERIFICATION_SCREENSHOT ?? '/tmp/propart-verification.png';

const ADMIN = { username: 'ver_admin', password: 'admin-password-1', display_name: 'Олена Адмінова', role: 'admin' as const };
const AGENT = { username: 'ver_agent', password: 'agent-password-1', display_name: 'Андрій Агентенко' };
const OTHER = { username: 'ver_other', password: 'other-password-1', display_name: 'Богдана Інша' };

/** A tiny but well-formed one-page PDF. */
function smallPdf(text: string): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${`BT /F1 18 Tf 20 70 Td (${text}) Tj ET`.length} >>\nstream\nBT /F1 18 Tf 20 70 Td (${text}) Tj ET\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => { offsets.push(body.length); body += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

interface Session { context: BrowserContext; page: Page; watched: PageProblems }

describe('browser: verification from request to approval', () => {
  let server: BrowserApp;
  let browser: Browser;
  const sessions: Session[] = [];
  let agentId = 0;
  let agent: Session;

  before(async () => {
    server = await startBrowserApp();
    const adminId = await seedUser(server.t, ADMIN);
    agentId = await seedUser(server.t, { ...AGENT, admin_id: adminId });
    await seedUser(server.t, { ...OTHER, admin_id: adminId });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function logIn(user: { username: string; password: string }): Promise<Session> {
    const context = await newContext(browser, server.baseURL, { acceptDownloads: true });
    const watched = await watchForProblems(context);
    const page = await context.newPage();
    const session = { context, page, watched };
    sessions.push(session);
    await signIn(page, user.username, user.password);
    return session;
  }

  // Chromium logs a console error for a document answered 4xx (a form re-shown with 400, the 404 page);
  // those statuses are checked directly. A 4xx sub-resource still counts.
  const DOCUMENT_4XX = /^console error on (\S+): Failed to load resource: the server responded with a status of 4\d\d \([^)]*\) \((\S+)\)$/;
  const problemsSince = (s: Session, mark: number) => s.watched.problems.slice(mark).filter((p) => {
    const m = DOCUMENT_4XX.exec(p);
    return !(m && m[1] === m[2]);
  });

  test('1. the agent requests verification with a PDF from the profile', async () => {
    agent = await logIn(AGENT);
    const { page } = agent;
    const mark = agent.watched.problems.length;
    await page.goto('/profile');
    await expectText(page.getByTestId('verification-state'), 'Не верифіковано');
    await page.getByTestId('verification-request').click();
    await page.waitForURL('**/verification');

    // Sending without files is answered next to each field.
    await page.getByTestId('verification-submit').click();
    await page.locator('[data-field-error="id_document"]').waitFor({ state: 'visible' });
    await expectText(page.locator('[data-field-error="agreement"]'), 'Оберіть файл');

    await page.locator('#f-id_document').setInputFiles({ name: 'паспорт.pdf', mimeType: 'application/pdf', buffer: smallPdf('Passport') });
    await page.locator('#f-agreement').setInputFiles({ name: 'договір.pdf', mimeType: 'application/pdf', buffer: smallPdf('Agreement') });
    await page.getByTestId('verification-submit').click();
    await page.waitForURL('**/profile');
    await expectText(page.locator('[data-flash="success"]'), 'Запит на верифікацію надіслано');
    await expectText(page.getByTestId('verification-state'), 'На розгляді');
    await expectText(page.getByTestId('verification-state'), /Запит надіслано \d/);
    await expectText(page.getByTestId('profile-documents'), 'паспорт.pdf');
    assert.deepEqual(problemsSince(agent, mark), []);
  });

  test('2. the admin opens the document and approves with a commission', async () => {
    const admin = await logIn(ADMIN);
    const { page } = admin;
    const mark = admin.watched.problems.length;
    await page.locator('#sidebar').getByRole('link', { name: 'Верифікація' }).click();
    await page.waitForURL('**/admin/verification');
    await expectText(page.getByTestId('verification-count-pending'), '1');
    const row = page.getByTestId('pending-table').locator(`tr[data-agent-id="${agentId}"]`);
    await expectText(row, AGENT.display_name);

    // The document downloads as an attachment under its original name.
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'паспорт.pdf' }).click()]);
    assert.equal(download.suggestedFilename(), 'паспорт.pdf');
    const saved = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const c of saved) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).subarray(0, 5).equals(Buffer.from('%PDF-')), 'the PDF bytes');

    // An empty commission is refused next to the field; then 7.5 is accepted.
    await row.getByTestId('approve').click();
    await expectText(page.locator(`tr[data-agent-id="${agentId}"] [data-field-error="commission"]`), 'Вкажіть комісію');
    await page.locator(`#f-commission-${agentId}`).fill('7.5');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.getByTestId('pending-table').locator(`tr[data-agent-id="${agentId}"]`).getByTestId('approve').click();
    await page.waitForURL('**/admin/verification');
    await expectText(page.locator('[data-flash="success"]'), `Агента ${AGENT.display_name} верифіковано, комісія 7,5 %.`);
    await expectText(page.getByTestId('verification-count-verified'), '1');
    await page.getByTestId('no-pending').waitFor({ state: 'visible' });
    assert.deepEqual(problemsSince(admin, mark), []);
  });

  test('3. the agent sees "verified" and the commission on the profile', async () => {
    const { page } = agent;
    const mark = agent.watched.problems.length;
    await page.goto('/profile');
    await expectText(page.getByTestId('verification-state'), 'Верифіковано');
    await expectText(page.getByTestId('verification-commission'), 'Комісія: 7,5 %');
    await expectText(page.getByTestId('profile-commission'), '7,5');
    assert.equal(await page.getByTestId('verification-request').count(), 0);
    assert.deepEqual(problemsSince(agent, mark), []);
  });

  test("4. another agent cannot download the agent's documents, even by guessing ids", async () => {
    const other = await logIn(OTHER);
    const { page } = other;
    const mark = other.watched.problems.length;
    const ids = (await server.t.app.db.selectFrom('user_documents').select('id').where('user_id', '=', agentId).execute()).map((d) => d.id);
    assert.equal(ids.length, 2);
    const response = await page.goto(`/documents/${ids[0]}/download`);
    assert.equal(response?.status(), 404);
    await page.locator('.error-page[data-status="404"]').waitFor({ state: 'visible' });
    await expectText(page.getByTestId('error-message'), 'Сторінку не знайдено');
    for (let id = 1; id <= Math.max(...ids) + 5; id++) {
      const res = await page.request.get(`/documents/${id}/download`);
      assert.equal(res.status(), 404, `document ${id}`);
      assert.ok(!(await res.body()).includes(Buffer.from('%PDF-')), `document ${id} bytes`);
    }
    assert.equal((await page.request.get(`/admin/users/${agentId}/documents`, { headers: { accept: 'application/json' } })).status(), 404);
    assert.equal((await page.goto('/admin/verification'))?.status(), 403);
    assert.deepEqual(problemsSince(other, mark), []);
  });
});
