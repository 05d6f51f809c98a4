// Admin: browse the audit log. Read-only by design: there is no route that edits or deletes an entry.
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/guards.server.ts';
import { parseForm, typedValues } from '../platform/validation.ts';
import { type AuditFilter, listAudit } from './audit.server.ts';
import { auditFilterSchema } from './schemas.ts';
import { AuditPage } from './views.tsx';

export async function auditRoutes(app: FastifyInstance): Promise<void> {
  app.get('/admin/audit', async (request, reply) => {
    requireAdmin(request);
    const values = typedValues(request.query);
    delete values.page;
    const parsed = parseForm(auditFilterSchema, request.query);
    if (!parsed.ok) {
      const filter: AuditFilter = { page: 1 };
      return reply.view((ctx) => <AuditPage ctx={ctx} data={{ form: { values, errors: parsed.fields }, filter, rows: [], hasNext: false }} />, 400);
    }
    const filter: AuditFilter = parsed.data;
    const { rows, hasNext } = await listAudit(request.db, filter);
    return reply.view((ctx) => <AuditPage ctx={ctx} data={{ form: { values, errors: {} }, filter, rows, hasNext }} />);
  });
}
