// Admin: the contacts known from HubSpot ("Номери телефонів з HubSpot CRM"), searchable, paged, and as CSV.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth/guards.server.ts';
import { csvLine } from '../dashboard/csv.ts';
import { formatPhone } from '../leads/schemas.ts';
import { blank, pageSchema } from '../users/admin-schemas.ts';
import type { ViewContext } from '../views/context.ts';
import { AppPage } from '../views/layout.tsx';
import { AdminLinks, Pager, queryOf } from './components.tsx';
import { CONTACTS_PAGE_SIZE, type ContactRow, countContacts, listContacts } from './hubspot-contacts.server.ts';

const filterSchema = z.object({
  q: z.preprocess(blank, z.string().trim().max(100).optional()).catch(undefined),
  page: pageSchema,
});
type ContactsFilter = z.output<typeof filterSchema>;

const EXPORT_BATCH = 1000;
const EXPORT_MAX_ROWS = 200_000;

interface ContactsPageData { rows: ContactRow[]; total: number; pages: number; filter: ContactsFilter }

function ContactsPage({ ctx, data }: { ctx: ViewContext; data: ContactsPageData }) {
  const f = data.filter;
  return (
    <AppPage ctx={ctx} title={ctx.t('contacts.title')} actions={<AdminLinks ctx={ctx} />}>
      <p class="text-body-secondary small">{ctx.t('contacts.intro')}</p>
      <form method="get" action="/admin/hubspot-contacts" class="card mb-3" data-testid="contacts-filters"><div class="card-body row g-2 align-items-end">
        <div class="col-12 col-md-5">
          <label class="form-label small" for="flt-q">{ctx.t('contacts.search')}</label>
          <input id="flt-q" type="search" name="q" class="form-control form-control-sm" value={f.q ?? ''} maxLength={100} />
        </div>
        <div class="col-12 col-md-auto d-flex gap-2">
          <button type="submit" class="btn btn-sm btn-primary">{ctx.t('dashboard.apply')}</button>
          <a href="/admin/hubspot-contacts" class="btn btn-sm btn-outline-secondary">{ctx.t('dashboard.reset')}</a>
          <a href={`/admin/hubspot-contacts.csv${queryOf({ q: f.q })}`} class="btn btn-sm btn-outline-success" data-testid="export-csv">
            <i class="bi bi-download" aria-hidden="true"></i> {ctx.t('dashboard.export')}
          </a>
        </div>
      </div></form>
      <div class="card">
        <div class="card-header small" data-testid="contacts-count">{ctx.t('contacts.count', { count: data.total })}</div>
        <div class="table-responsive">
          <table class="table table-sm table-hover align-middle mb-0" data-testid="contacts-table">
            <thead><tr>
              <th>{ctx.t('contacts.name')}</th><th>{ctx.t('dashboard.col.phone')}</th><th>{ctx.t('contacts.secondPhone')}</th>
              <th>{ctx.t('dashboard.col.email')}</th><th>{ctx.t('contacts.contactId')}</th>
            </tr></thead>
            <tbody>
              {data.rows.length === 0 && <tr><td colSpan={5} class="text-center text-body-secondary py-4">{ctx.t('contacts.none')}</td></tr>}
              {data.rows.map((c) => (
                <tr data-contact-id={c.contact_id ?? ''}>
                  <td><a href={`/leads/${c.lead_id}`}>{c.name}</a></td>
                  <td class="text-nowrap">{formatPhone(c.phone)}</td>
                  <td class="text-nowrap">{formatPhone(c.second_phone)}</td>
                  <td class="small">{c.email ?? ''}</td>
                  <td class="small font-monospace">{c.contact_id ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager ctx={ctx} base="/admin/hubspot-contacts" filter={f} page={f.page} hasNext={f.page < data.pages}
          info={ctx.t('dashboard.pageOf', { page: f.page, pages: data.pages, total: data.total })} />
      </div>
    </AppPage>
  );
}

export async function hubspotContactsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/admin/hubspot-contacts', async (request, reply) => {
    requireAdmin(request);
    const filter = filterSchema.parse(request.query ?? {});
    const total = await countContacts(request.db, filter.q);
    const rows = await listContacts(request.db, filter.q, CONTACTS_PAGE_SIZE, (filter.page - 1) * CONTACTS_PAGE_SIZE);
    const pages = Math.max(1, Math.ceil(total / CONTACTS_PAGE_SIZE));
    return reply.view((ctx) => <ContactsPage ctx={ctx} data={{ rows, total, pages, filter }} />);
  });

  // Streamed in batches; every cell escaped against spreadsheet formulas (a phone starts with "+").
  app.get('/admin/hubspot-contacts.csv', async (request, reply) => {
    requireAdmin(request);
    const { q } = filterSchema.parse(request.query ?? {});
    const { t } = request;
    const db = request.db;
    async function* rows() {
      yield `\uFEFF${csvLine([t('contacts.name'), t('dashboard.col.phone'), t('contacts.secondPhone'), t('dashboard.col.email'), t('contacts.contactId')])}`;
      for (let offset = 0; offset < EXPORT_MAX_ROWS; offset += EXPORT_BATCH) {
        const batch = await listContacts(db, q, EXPORT_BATCH, offset);
        let chunk = '';
        for (const c of batch) chunk += csvLine([c.name, formatPhone(c.phone), formatPhone(c.second_phone), c.email, c.contact_id]);
        if (chunk) yield chunk;
        if (batch.length < EXPORT_BATCH) break;
      }
    }
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
    request.log.info({ event: 'contacts_exported', by: request.user?.id }, 'HubSpot contacts exported');
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="hubspot_contacts_${stamp}.csv"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(rows()));
  });
}
