import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { type KyselyPlugin, sql } from 'kysely';
import { requireUser } from '../src/auth/guards.server.ts';
import { listComments } from '../src/comments/comments.server.ts';
import { commentRoutes } from '../src/comments/routes.tsx';
import { CommentsSection } from '../src/comments/views.tsx';
import { findLeadForUser } from '../src/leads/leads.server.ts';
import { AppPage } from '../src/views/layout.tsx';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

const LENGTH_MESSAGE = 'Коментар має містити від 1 до 3000 символів';

/** The comment routes (unless app.ts registers them already), plus a bare page showing a lead's comments. */
async function testRoutes(app: FastifyInstance): Promise<void> {
  if (!app.hasRoute({ method: 'POST', url: '/leads/:id/comments' })) await commentRoutes(app);
  app.get<{ Params: { id: string } }>('/test/leads/:id/comments', async (request, reply) => {
    const user = requireUser(request);
    const lead = await findLeadForUser(request.db, user, Number(request.params.id));
    const comments = await listComments(request.db, lead.id);
    return reply.view((ctx) => AppPage({ ctx, title: lead.deal_name, children: CommentsSection({ ctx, leadId: lead.id, comments, canModerate: user.role === 'admin' }) }));
  });
}

for (const kind of databaseKinds()) {
  describe(`comments [${kind}]`, () => {
    let t: TestApp;
    let agentA: number, agentB: number, adminId: number;
    let owner: Client, stranger: Client, admin: Client;

    before(async () => {
      t = await startTestApp(kind, { extraRoutes: testRoutes, env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
      adminId = await seedUser(t, { username: 'boss', password: 'boss-password-1', role: 'admin', display_name: 'Бос' });
      agentA = await seedUser(t, { username: 'agent_a', password: 'agent-a-password', display_name: 'Агент А', admin_id: adminId });
      agentB = await seedUser(t, { username: 'agent_b', password: 'agent-b-password', display_name: 'Агент Б', admin_id: adminId });
      owner = new Client(t.app);
      stranger = new Client(t.app);
      admin = new Client(t.app);
      assert.equal((await owner.login('agent_a', 'agent-a-password')).statusCode, 303);
      assert.equal((await stranger.login('agent_b', 'agent-b-password')).statusCode, 303);
      assert.equal((await admin.login('boss', 'boss-password-1')).statusCode, 303);
    });
    after(() => t.close());

    const newLead = async (agentId: number, dealName = 'Клієнт') => (await t.app.db.insertInto('leads')
      .values({ agent_id: agentId, deal_name: dealName, phone: '+380501234567', budget: 'до 200к' })
      .returning('id').executeTakeFirstOrThrow()).id;
    const rows = (leadId: number) => t.app.db.selectFrom('comments').selectAll().where('lead_id', '=', leadId).orderBy('id').execute();
    const row = (id: number) => t.app.db.selectFrom('comments').selectAll().where('id', '=', id).executeTakeFirst();
    const insertComment = async (leadId: number, authorId: number, body: string, parentId: number | null = null) => (await t.app.db.insertInto('comments')
      .values({ lead_id: leadId, author_id: authorId, body, parent_id: parentId }).returning('id').executeTakeFirstOrThrow()).id;
    const page = (c: Client, leadId: number) => c.get(`/test/leads/${leadId}/comments`);
    const del = (c: Client, url: string, csrf = true) => c.app.inject({
      method: 'DELETE', url,
      headers: { accept: 'application/json', cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(csrf ? { 'x-csrf-token': c.csrfToken } : {}) },
    });
    const jsonError = (res: LightMyRequestResponse) => res.json() as { error: string; fields?: Record<string, string> };

    test('an agent adds, replies to, edits and deletes comments on their lead through the page forms', async () => {
      const leadId = await newLead(agentA);
      assert.equal((await page(owner, leadId)).statusCode, 200);
      assert.match(owner.lastHtml, /data-testid="comments-empty"/);

      const added = await owner.post(`/leads/${leadId}/comments`, { body: '  Перший дзвінок\r\nпередзвонити завтра  ' });
      assert.equal(added.statusCode, 303);
      assert.equal(added.headers.location, `/leads/${leadId}#comments`);
      const [first] = await rows(leadId);
      assert.equal(first!.body, 'Перший дзвінок\nпередзвонити завтра', 'trimmed, line breaks normalised');
      assert.equal(first!.author_id, agentA);

      const shown = await page(owner, leadId);
      assert.match(shown.body, /Коментар додано\./);
      assert.match(shown.body, /Перший дзвінок<br\/>передзвонити завтра/);
      assert.match(shown.body, /Агент А/);
      assert.doesNotMatch(shown.body, /data-testid="comment-edited"/);

      assert.equal((await owner.post(`/leads/${leadId}/comments`, { body: 'Відповідь', parent_id: String(first!.id) })).statusCode, 303);
      const reply = (await rows(leadId))[1]!;
      assert.equal(reply.parent_id, first!.id);
      assert.equal((await owner.post(`/leads/${leadId}/comments`, { body: 'Відповідь на відповідь', parent_id: String(reply.id) })).statusCode, 303);
      assert.equal((await rows(leadId))[2]!.parent_id, first!.id, 'a reply to a reply joins the top-level comment');

      const threaded = await page(owner, leadId);
      assert.match(threaded.body, new RegExp(`id="comment-${first!.id}"[\\s\\S]*class="comment-replies[^"]*"[\\s\\S]*id="comment-${reply.id}"`));
      assert.equal((threaded.body.match(/data-testid="comment-reply-form"/g) ?? []).length, 1, 'only top-level comments get a reply form');

      const edited = await owner.post(`/comments/${first!.id}/edit`, { body: 'Виправлений текст' });
      assert.equal(edited.statusCode, 303);
      assert.equal(edited.headers.location, `/leads/${leadId}#comment-${first!.id}`);
      const after = (await row(first!.id))!;
      assert.equal(after.body, 'Виправлений текст');
      assert.ok(new Date(after.updated_at) > new Date(after.created_at), 'updated_at moves on edit');
      const editedPage = await page(owner, leadId);
      assert.match(editedPage.body, /Коментар оновлено\./);
      assert.match(editedPage.body, /data-testid="comment-edited">\(змінено\)/);

      const deleted = await owner.post(`/comments/${reply.id}/delete`);
      assert.equal(deleted.statusCode, 303);
      assert.equal(await row(reply.id), undefined);
      assert.match((await page(owner, leadId)).body, /Коментар видалено\./);
    });

    test('the JSON API lists threads, creates (201), updates and deletes (204)', async () => {
      const leadId = await newLead(agentA);
      await page(owner, leadId);
      const created = await owner.json('POST', `/api/leads/${leadId}/comments`, { body: 'Через API' });
      assert.equal(created.statusCode, 201);
      const { comment } = created.json();
      assert.equal(comment.body, 'Через API');
      assert.equal(comment.author_name, 'Агент А');
      assert.equal(comment.parent_id, null);
      assert.equal(comment.edited, false);
      const replied = await admin.json('POST', `/api/leads/${leadId}/comments`, { body: 'Відповідь адміна', parent_id: comment.id });
      assert.equal(replied.statusCode, 201);

      const list = await owner.json('GET', `/api/leads/${leadId}/comments`);
      assert.equal(list.statusCode, 200);
      const data = list.json();
      assert.equal(data.total, 2);
      assert.equal(data.comments.length, 1);
      assert.equal(data.comments[0].replies[0].author_name, 'Бос');
      assert.match(data.comments[0].created_at, /^\d{4}-\d\d-\d\dT/);

      const put = await owner.json('PUT', `/api/comments/${comment.id}`, { body: 'Змінено через API' });
      assert.equal(put.statusCode, 200);
      assert.equal(put.json().comment.body, 'Змінено через API');
      assert.equal(put.json().comment.edited, true);

      const gone = await del(owner, `/api/comments/${comment.id}`);
      assert.equal(gone.statusCode, 204);
      assert.equal(await row(comment.id), undefined);
      const left = (await owner.json('GET', `/api/leads/${leadId}/comments`)).json();
      assert.equal(left.total, 1, "the admin's reply stays when the comment it answered is deleted");
      assert.equal(left.comments[0].body, 'Відповідь адміна');
      assert.equal(left.comments[0].parent_id, null);
    });

    test("another agent gets 404 from every comment route on a lead they cannot see, and changes nothing", async () => {
      const leadId = await newLead(agentA);
      const commentId = await insertComment(leadId, agentA, 'Секрет');
      await page(stranger, (await newLead(agentB)));
      const html = [
        await stranger.post(`/leads/${leadId}/comments`, { body: 'Чужий' }),
        await stranger.post(`/leads/${leadId}/comments`, { body: '' }),
        await stranger.post(`/comments/${commentId}/edit`, { body: 'Зламано' }),
        await stranger.post(`/comments/${commentId}/delete`),
        await stranger.get(`/test/leads/${leadId}/comments`),
      ];
      for (const res of html) {
        assert.equal(res.statusCode, 404);
        assert.match(res.body, /Сторінку не знайдено/);
        assert.doesNotMatch(res.body, /Секрет/);
      }
      const json = [
        await stranger.json('GET', `/api/leads/${leadId}/comments`),
        await stranger.json('POST', `/api/leads/${leadId}/comments`, { body: 'Чужий' }),
        await stranger.json('PUT', `/api/comments/${commentId}`, { body: 'Зламано' }),
        await del(stranger, `/api/comments/${commentId}`),
      ];
      for (const res of json) {
        assert.equal(res.statusCode, 404);
        assert.equal(jsonError(res).error, 'Сторінку не знайдено.');
      }
      const after = await rows(leadId);
      assert.equal(after.length, 1);
      assert.equal(after[0]!.body, 'Секрет');
    });

    test('ids that are not positive integers are 404, never 500', async () => {
      await page(owner, await newLead(agentA));
      for (const id of ['abc', '0', '-1', '1e3', '1.5', '99999999999', '2147483648']) {
        assert.equal((await owner.json('GET', `/api/leads/${id}/comments`)).statusCode, 404, `GET lead ${id}`);
        assert.equal((await owner.json('POST', `/api/leads/${id}/comments`, { body: 'x' })).statusCode, 404, `POST lead ${id}`);
        assert.equal((await owner.json('PUT', `/api/comments/${id}`, { body: 'x' })).statusCode, 404, `PUT ${id}`);
        assert.equal((await del(owner, `/api/comments/${id}`)).statusCode, 404, `DELETE ${id}`);
        assert.equal((await owner.post(`/comments/${id}/edit`, { body: 'x' })).statusCode, 404, `edit ${id}`);
        assert.equal((await owner.post(`/comments/${id}/delete`)).statusCode, 404, `delete ${id}`);
      }
      assert.equal((await owner.json('PUT', '/api/comments/2147483647', { body: 'x' })).statusCode, 404);
    });

    test("a reply must answer a comment on the same lead", async () => {
      const leadId = await newLead(agentA);
      const otherLead = await newLead(agentA);
      const foreign = await insertComment(otherLead, agentA, 'На іншому ліді');
      await page(owner, leadId);
      for (const parent of [foreign, 'abc', 99999999999]) {
        const res = await owner.json('POST', `/api/leads/${leadId}/comments`, { body: 'Відповідь', parent_id: parent });
        assert.equal(res.statusCode, 400, `parent ${parent}`);
        assert.equal(jsonError(res).fields?.parent_id, 'Коментар, на який ви відповідали, видалено. Текст можна надіслати як звичайний коментар.');
      }
      // On the page, the text comes back in a form that posts it as a plain comment.
      const form = await owner.post(`/leads/${leadId}/comments`, { body: 'Не загубіть мене', parent_id: String(foreign) });
      assert.equal(form.statusCode, 400);
      assert.match(form.body, /Не загубіть мене<\/textarea>/);
      assert.doesNotMatch(form.body, /name="parent_id"/);
      assert.equal((await rows(leadId)).length, 0);
    });

    test("only the author or an admin may change a comment: the lead's owner gets 403 on the admin's comment", async () => {
      const leadId = await newLead(agentA);
      const adminComment = await insertComment(leadId, adminId, 'Від адміна');
      const page1 = await page(owner, leadId);
      assert.doesNotMatch(page1.body, new RegExp(`/comments/${adminComment}/(edit|delete)`), 'no edit/delete controls on others\' comments');
      assert.equal((await owner.post(`/comments/${adminComment}/edit`, { body: 'Ні' })).statusCode, 403);
      assert.equal((await owner.post(`/comments/${adminComment}/delete`)).statusCode, 403);
      assert.equal((await owner.json('PUT', `/api/comments/${adminComment}`, { body: 'Ні' })).statusCode, 403);
      assert.equal((await del(owner, `/api/comments/${adminComment}`)).statusCode, 403);
      assert.equal((await row(adminComment))!.body, 'Від адміна');
    });

    test('an author who lost the lead (reassigned by an admin) can no longer edit or delete their comment', async () => {
      const leadId = await newLead(agentA);
      await page(owner, leadId);
      const made = await owner.json('POST', `/api/leads/${leadId}/comments`, { body: 'Мій коментар' });
      const id = made.json().comment.id as number;
      await t.app.db.updateTable('leads').set({ agent_id: agentB }).where('id', '=', leadId).execute();

      assert.equal((await owner.post(`/comments/${id}/edit`, { body: 'Пізно' })).statusCode, 404);
      assert.equal((await owner.post(`/comments/${id}/delete`)).statusCode, 404);
      assert.equal((await owner.json('PUT', `/api/comments/${id}`, { body: 'Пізно' })).statusCode, 404);
      assert.equal((await del(owner, `/api/comments/${id}`)).statusCode, 404);
      assert.equal((await owner.json('GET', `/api/leads/${leadId}/comments`)).statusCode, 404);
      // The new owner sees it but may not change another agent's words.
      await page(stranger, leadId);
      assert.match(stranger.lastHtml, /Мій коментар/);
      assert.equal((await stranger.post(`/comments/${id}/edit`, { body: 'Моє тепер' })).statusCode, 403);
      assert.equal((await row(id))!.body, 'Мій коментар');
    });

    test('an admin can edit and delete any comment', async () => {
      const leadId = await newLead(agentA);
      const c1 = await insertComment(leadId, agentA, 'Агентський');
      const c2 = await insertComment(leadId, agentA, 'Ще один');
      const shown = await page(admin, leadId);
      assert.match(shown.body, new RegExp(`/comments/${c1}/edit`));
      assert.equal((await admin.post(`/comments/${c1}/edit`, { body: 'Відредаговано адміном' })).statusCode, 303);
      assert.equal((await row(c1))!.body, 'Відредаговано адміном');
      assert.equal((await row(c1))!.author_id, agentA, 'the author stays the author');
      assert.equal((await admin.json('PUT', `/api/comments/${c2}`, { body: 'Теж адмін' })).statusCode, 200);
      assert.equal((await admin.post(`/comments/${c1}/delete`)).statusCode, 303);
      assert.equal((await del(admin, `/api/comments/${c2}`)).statusCode, 204);
      assert.equal((await rows(leadId)).length, 0);
    });

    test('the text must be 1–3000 characters after trimming: 400 with the field message, the typed text kept', async () => {
      const leadId = await newLead(agentA);
      const commentId = await insertComment(leadId, agentA, 'Оригінал');
      await page(owner, leadId);
      const long = 'я'.repeat(3001);
      for (const body of [long, '', '   \n\t  ', undefined, 42]) {
        const res = await owner.json('POST', `/api/leads/${leadId}/comments`, body === undefined ? {} : { body });
        assert.equal(res.statusCode, 400, `body ${JSON.stringify(body)?.slice(0, 20)}`);
        assert.equal(jsonError(res).fields?.body, LENGTH_MESSAGE);
        const put = await owner.json('PUT', `/api/comments/${commentId}`, body === undefined ? {} : { body });
        assert.equal(put.statusCode, 400);
        assert.equal(jsonError(put).fields?.body, LENGTH_MESSAGE);
      }
      assert.equal((await owner.json('POST', `/api/leads/${leadId}/comments`, { body: 'я'.repeat(3000) })).statusCode, 201);

      const form = await owner.post(`/leads/${leadId}/comments`, { body: long });
      assert.equal(form.statusCode, 400);
      assert.match(form.body, /data-field-error="body">Коментар має містити від 1 до 3000 символів/);
      assert.ok(form.body.includes(`>${long}</textarea>`), 'the typed text comes back');
      assert.match(form.body, new RegExp(`action="/leads/${leadId}/comments"`));
      const reply = await owner.post(`/leads/${leadId}/comments`, { body: '   ', parent_id: String(commentId) });
      assert.equal(reply.statusCode, 400);
      assert.match(reply.body, new RegExp(`name="parent_id" value="${commentId}"`), 'a reply stays a reply');
      const edit = await owner.post(`/comments/${commentId}/edit`, { body: '' });
      assert.equal(edit.statusCode, 400);
      assert.match(edit.body, new RegExp(`action="/comments/${commentId}/edit"`));
      assert.match(edit.body, new RegExp(`href="/leads/${leadId}#comments"`));
      assert.equal((await row(commentId))!.body, 'Оригінал');
      assert.equal((await rows(leadId)).length, 2);
    });

    test('a stored XSS payload is shown as text', async () => {
      const leadId = await newLead(agentA);
      await page(owner, leadId);
      const payload = '<script>alert(1)</script> <img src=x onerror=alert(2)> "><svg onload=alert(3)> javascript:alert(4) https://ok.example/p?a=1&b=2';
      assert.equal((await owner.json('POST', `/api/leads/${leadId}/comments`, { body: payload })).statusCode, 201);
      await t.app.db.updateTable('users').set({ display_name: '<b onmouseover=alert(5)>Агент</b>' }).where('id', '=', agentA).execute();
      const res = await page(admin, leadId);
      const start = res.body.indexOf('data-testid="comments"');
      assert.ok(start > 0, 'the comments block is on the page');
      const section = res.body.slice(start);
      assert.doesNotMatch(section, /<script|<img|<svg|<b /);
      assert.match(section, /&lt;script>alert\(1\)&lt;\/script>/);
      assert.match(section, /&quot;>&lt;svg onload=alert\(3\)>/);
      assert.match(section, /&lt;b onmouseover=alert\(5\)>Агент&lt;\/b>/);
      const hrefs = [...section.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1]);
      assert.deepEqual(hrefs, ['https://ok.example/p?a=1&amp;b=2']);
      await t.app.db.updateTable('users').set({ display_name: 'Агент А' }).where('id', '=', agentA).execute();
    });

    test('state changes without the CSRF token are refused with 403', async () => {
      const leadId = await newLead(agentA);
      const commentId = await insertComment(leadId, agentA, 'Захищений');
      assert.equal((await owner.post(`/leads/${leadId}/comments`, { body: 'Підробка' }, { csrf: false })).statusCode, 403);
      assert.equal((await owner.post(`/comments/${commentId}/edit`, { body: 'Підробка' }, { csrf: false })).statusCode, 403);
      assert.equal((await owner.post(`/comments/${commentId}/delete`, {}, { csrf: false })).statusCode, 403);
      assert.equal((await owner.json('POST', `/api/leads/${leadId}/comments`, { body: 'Підробка' }, { csrf: false })).statusCode, 403);
      assert.equal((await owner.json('PUT', `/api/comments/${commentId}`, { body: 'Підробка' }, { csrf: false })).statusCode, 403);
      assert.equal((await del(owner, `/api/comments/${commentId}`, false)).statusCode, 403);
      const after = await rows(leadId);
      assert.deepEqual(after.map((r) => r.body), ['Захищений']);
    });

    test('listComments reads every comment and its author in one query, oldest first', async () => {
      const leadId = await newLead(agentA);
      const top = await insertComment(leadId, agentA, 'Перший');
      await insertComment(leadId, adminId, 'Другий');
      const r1 = await insertComment(leadId, adminId, 'Відповідь 1', top);
      await insertComment(leadId, agentA, 'Відповідь на відповідь', r1);
      await t.app.db.updateTable('comments').set({ created_at: sql`created_at + interval '1 hour'` }).where('body', '=', 'Другий').where('lead_id', '=', leadId).execute();
      let queries = 0;
      const counter: KyselyPlugin = {
        transformQuery: (args) => { queries++; return args.node; },
        transformResult: async (args) => args.result,
      };
      const threads = await listComments(t.app.db.withPlugin(counter), leadId);
      assert.equal(queries, 1);
      assert.deepEqual(threads.map((c) => c.body), ['Перший', 'Другий']);
      assert.deepEqual(threads[0]!.replies.map((c) => [c.body, c.author_name, c.parent_id]), [['Відповідь 1', 'Бос', top], ['Відповідь на відповідь', 'Агент А', top]]);
      assert.deepEqual(threads[1]!.replies, []);
    });
  });
}
