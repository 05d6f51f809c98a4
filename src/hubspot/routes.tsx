// Admin: the sync overview (queue, failures, parked items, unassigned deals), retries, connection test.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { requireAdmin } from '../auth/guards.server.ts';
import { NotFound } from '../platform/errors.ts';
import { HubSpotError } from './gateway.ts';
import { retryItems } from './outbox.server.ts';
import { SyncPage, type SyncPageData } from './views.tsx';

export async function syncAdminRoutes(app: FastifyInstance): Promise<void> {
  app.get('/admin/sync', async (request, reply) => {
    requireAdmin(request);
    const db = request.db;
    const countRows = await db.selectFrom('sync_items').select(['status', sql<number>`count(*)::int`.as('n')]).groupBy('status').execute();
    const counts: SyncPageData['counts'] = { pending: 0, synced: 0, failed: 0, parked: 0 };
    for (const r of countRows) counts[r.status] = r.n;
    const problems = await db.selectFrom('sync_items')
      .leftJoin('leads', (j) => j.onRef('leads.id', '=', 'sync_items.entity_id').on('sync_items.entity_type', '=', 'lead'))
      .selectAll('sync_items').select('leads.deal_name as label')
      .where((eb) => eb.or([eb('sync_items.status', 'in', ['parked', 'failed']), eb('sync_items.last_error', 'is not', null)]))
      .orderBy('sync_items.status', 'desc').orderBy('sync_items.updated_at', 'desc').limit(200).execute();
    const unassigned = await db.selectFrom('hubspot_unassigned').select(['deal_id', 'deal_name', 'owner_email', 'seen_at']).orderBy('seen_at', 'desc').limit(200).execute();
    return reply.view((ctx) => <SyncPage ctx={ctx} data={{ configured: !!app.hubspot, counts, problems, unassigned }} />);
  });

  app.post<{ Params: { id: string } }>('/admin/sync/:id/retry', async (request, reply) => {
    requireAdmin(request);
    const id = Number(request.params.id);
    if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw new NotFound();
    const item = await request.db.selectFrom('sync_items').select(['id', 'entity_type', 'entity_id']).where('id', '=', id).executeTakeFirst();
    if (!item) throw new NotFound();
    await retryItems(request.db, [item.id]);
    request.log.info({ event: 'sync_retry', syncItemId: item.id, by: request.user?.id }, 'admin retried a sync item');
    reply.flash('success', 'sync.retried');
    return reply.redirect(item.entity_type === 'lead' ? `/leads/${item.entity_id}` : '/admin/sync', 303);
  });

  app.post('/admin/sync/retry-parked', async (request, reply) => {
    requireAdmin(request);
    const ids = (await request.db.selectFrom('sync_items').select('id').where('status', 'in', ['parked', 'failed']).execute()).map((r) => r.id);
    await retryItems(request.db, ids);
    return reply.flash('success', 'sync.retried').redirect('/admin/sync', 303);
  });

  // The one request that waits on HubSpot, on purpose: an admin asking "does it work?".
  app.post('/admin/sync/test', async (request, reply) => {
    requireAdmin(request);
    if (!app.hubspot) throw new NotFound();
    try {
      await app.hubspot.request('GET', '/crm/v3/owners?limit=1');
      reply.flash('success', 'sync.testOk');
    } catch (err) {
      reply.flash('danger', 'sync.testFailed', { reason: err instanceof HubSpotError ? err.message : 'network error' });
    }
    return reply.redirect('/admin/sync', 303);
  });
}
