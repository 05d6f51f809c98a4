// Deep pages of the lead list are read through their ids first (src/dashboard/queries.server.ts,
// pageIds): every sort, order and page must give exactly the rows a plain OFFSET over the full query gives.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { filterSchema, listQuery, page, PAGE_SIZE, SORTS } from '../src/dashboard/queries.server.ts';
import type { CurrentUser } from '../src/views/context.ts';
import { seedUser, startTestApp, type TestApp } from './helpers/app.ts';
import { databaseKinds } from './helpers/database.ts';

const COUNTRIES = ['Дубай', 'Оман', null] as const;
const SOURCES = ['сайт', 'агент', null] as const;

for (const kind of databaseKinds()) {
  describe(`lead list pages [${kind}]`, () => {
    let t: TestApp;
    let agent: CurrentUser; let admin: CurrentUser;
    before(async () => {
      t = await startTestApp(kind);
      const adminId = await seedUser(t, { username: 'pager_admin', password: 'pager-password-1', role: 'admin' });
      const ids = [
        await seedUser(t, { username: 'pager_a', password: 'pager-password-1', display_name: 'Ярина' }),
        await seedUser(t, { username: 'pager_b', password: 'pager-password-1', display_name: 'Андрій' }),
      ];
      agent = { id: ids[0]!, username: 'pager_a', displayName: 'Ярина', email: '', role: 'agent', mustChangePassword: false };
      admin = { id: adminId, username: 'pager_admin', displayName: '', email: '', role: 'admin', mustChangePassword: false };
      // 70 leads: repeated names, budgets, statuses and nullable columns, so ties and nulls are exercised.
      await t.app.db.insertInto('leads').values(Array.from({ length: 70 }, (_, i) => ({
        agent_id: ids[i % 3 === 0 ? 1 : 0]!, deal_name: `Клієнт ${String(i % 9)}`, phone: `+38050${String(2_000_000 + i)}`,
        budget: i % 2 ? '200к–500к' : 'до 200к', status: (['new', 'contacted', 'qualified', 'closed'] as const)[i % 4]!,
        country: COUNTRIES[i % 3], source: SOURCES[i % 5 === 0 ? 2 : i % 2],
        created_at: new Date(Date.UTC(2026, 0, 1 + (i % 20))), updated_at: new Date(Date.UTC(2026, 1, 1 + (i % 7))),
      }))).execute();
    });
    after(() => t.close());

    test('every sort, order and page equals a plain OFFSET over the whole list, for an agent and an admin', async () => {
      for (const user of [agent, admin]) {
        for (const sort of SORTS) {
          for (const order of ['asc', 'desc'] as const) {
            const all = await listQuery(t.app.db, user, filterSchema.parse({ sort, order })).execute();
            const pages = Math.ceil(all.length / PAGE_SIZE);
            for (let n = 1; n <= pages + 1; n++) {
              const f = filterSchema.parse({ sort, order, page: String(n) });
              const got = await page(t.app.db, user, f, all.length);
              const want = all.slice((n - 1) * PAGE_SIZE, n * PAGE_SIZE);
              assert.deepEqual(got.rows.map((r) => r.id), want.map((r) => r.id), `${user.role} sort=${sort} ${order} page ${n}`);
            }
          }
        }
      }
    });

    test('a filtered deep page keeps its filter', async () => {
      const f = { sort: 'deal_name', order: 'asc', country: 'Оман', page: '2' };
      const all = await listQuery(t.app.db, admin, filterSchema.parse({ ...f, page: '1' })).execute();
      assert.ok(all.length > PAGE_SIZE, 'more than one page of Оман');
      const got = await page(t.app.db, admin, filterSchema.parse(f), all.length);
      assert.deepEqual(got.rows.map((r) => r.id), all.slice(PAGE_SIZE, 2 * PAGE_SIZE).map((r) => r.id));
      assert.ok(got.rows.every((r) => r.country === 'Оман'));
    });
  });
}
