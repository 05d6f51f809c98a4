// /leads/import: upload a CSV (step 1) → map its columns and preview every row's verdict (step 2) →
// import in the background with a progress bar, then the summary and the failed rows (step 3).
// Agents reach only their own imports (another's id is "not found"); admins all of them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireUser } from '../auth/guards.server.ts';
import type { LeadImport } from '../db/schema.ts';
import { formFields, formFile } from '../documents/upload.ts';
import { assignableAgents, leadScope } from '../leads/leads.server.ts';
import { Conflict, ValidationFailed, type FieldErrors } from '../platform/errors.ts';
import { attachmentHeader } from '../storage/sniff.ts';
import type { CurrentUser } from '../views/context.ts';
import { type CsvDelimiter, type CsvEncoding, CsvFileError, IMPORT_MAX_BYTES, readCsv } from './csv.ts';
import { failedFilename, failedRowsCsv } from './failed-csv.ts';
import { cleanMapping, mappingOk, mappingProblems } from './fields.ts';
import * as imports from './imports.server.ts';
import type { ImportSummary } from './imports.server.ts';
import { ImportPreviewPage, type PreviewData } from './preview-view.tsx';
import { createImportRunner, liveProgress, runningHere } from './run.server.ts';
import { ImportDonePage, ImportProgressPage, ImportUploadPage, LEADS_SHOWN, percentOf, type UploadForm } from './views.tsx';

type IdParams = { Params: { id: string } };
const importId = (request: FastifyRequest<IdParams>) => Number(request.params.id);

const ENCODINGS: Record<string, CsvEncoding | undefined> = { '': undefined, 'utf-8': 'utf-8', 'windows-1251': 'windows-1251' };
const DELIMITERS: Record<string, CsvDelimiter | undefined> = { '': undefined, comma: ',', semicolon: ';', tab: '\t' };

/**
 * The upload route reads at most IMPORT_MAX_BYTES of the file: a bigger one is cut there and marked
 * truncated (not an error thrown mid-body), so the form comes back with a message next to the file field.
 */
const UPLOAD_CONFIG = { multipartOptions: { throwFileSizeLimit: false, limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 10, parts: 12 } } as Record<string, unknown> };

export async function importRoutes(app: FastifyInstance): Promise<void> {
  const runner = createImportRunner({ db: app.db, kind: app.database.kind, log: app.log });
  app.addHook('onReady', async () => {
    await runner.recover().catch((err: unknown) => app.log.warn({ err }, 'could not check for interrupted lead imports'));
    // On a server, imports queued just before a restart (e.g. a rolling one) are picked up here.
    if (app.database.kind === 'postgres') runner.kick();
  });
  // Shutdown waits for the import in progress (its transaction commits or rolls back whole).
  app.addHook('onClose', async () => runner.stop());
  // An import is queued in the request's transaction; the runner looks for it once that has committed.
  const kickAfter = new WeakSet<FastifyRequest>();
  app.addHook('onResponse', async (request) => {
    if (kickAfter.has(request)) runner.kick();
  });

  const agentsFor = (request: FastifyRequest, user: CurrentUser) => (user.role === 'admin' ? assignableAgents(request.db) : Promise.resolve(null));

  const uploadPage = async (request: FastifyRequest, reply: FastifyReply, form: UploadForm, status?: number) => {
    const user = requireUser(request);
    const [agents, list] = await Promise.all([agentsFor(request, user), imports.listImports(request.db, user)]);
    return reply.view((ctx) => <ImportUploadPage ctx={ctx} form={form} data={{ agents, imports: list }} />, status);
  };

  /** An import left 'running' by a dead process is turned into 'failed' when someone looks at it. */
  const freshImport = async (request: FastifyRequest, user: CurrentUser, id: number): Promise<ImportSummary> => {
    const imp = await imports.findImportSummary(request.db, user, id);
    const stale = (imp.status === 'running' || imp.status === 'queued') && !runningHere().includes(imp.id)
      && imp.heartbeat_at && Date.now() - new Date(imp.heartbeat_at).getTime() > imports.STALE_SECONDS * 1000;
    if (!stale) return imp;
    await runner.sweep();
    return imports.findImportSummary(request.db, user, id);
  };

  const previewPage = async (request: FastifyRequest, reply: FastifyReply, imp: LeadImport, status?: number, agentError?: PreviewData['agentError']) => {
    const user = requireUser(request);
    const role = await imports.uploaderRole(request.db, imp);
    const problems = mappingProblems(imp.mapping);
    const check = mappingOk(problems) ? await imports.checkRows(request.db, imp, role) : null;
    let duplicateNames: Map<number, string> | null = null;
    if (user.role === 'admin' && check) {
      const ids = [...new Set(check.rows.flatMap((r) => r.existing.slice(0, 5)))].slice(0, 2000);
      const rows = ids.length ? await request.db.selectFrom('leads').select(['id', 'deal_name']).where('id', 'in', ids).execute() : [];
      duplicateNames = new Map(rows.map((r) => [r.id, r.deal_name]));
    }
    const agents = role === 'admin' ? await agentsFor(request, user) : null;
    const agent = await request.db.selectFrom('users').select('display_name').where('id', '=', imp.agent_id).executeTakeFirst();
    const data: PreviewData = { imp, role, check, problems, agents, agentName: agent?.display_name ?? '', duplicateNames, agentError };
    return reply.view((ctx) => <ImportPreviewPage ctx={ctx} data={data} />, status);
  };

  app.get('/leads/import', async (request, reply) => {
    const user = requireUser(request);
    return uploadPage(request, reply, { values: { agent_id: String(user.id) }, errors: {} });
  });

  app.post('/leads/import', { config: UPLOAD_CONFIG }, async (request, reply) => {
    const user = requireUser(request);
    const values = formFields(request.body);
    delete values._csrf;
    const errors: FieldErrors = {};
    let params: Record<string, string | number> | undefined;
    let agentId = user.id;
    if (user.role === 'admin') {
      const chosen = await imports.activeUserId(request.db, Number(values.agent_id));
      if (chosen === null) errors.agent_id = 'validation.agent';
      else agentId = chosen;
    }
    const encoding = ENCODINGS[values.encoding ?? ''];
    const delimiter = DELIMITERS[values.delimiter ?? ''];
    if (!((values.encoding ?? '') in ENCODINGS)) errors.encoding = 'validation.choose';
    if (!((values.delimiter ?? '') in DELIMITERS)) errors.delimiter = 'validation.choose';
    const file = formFile(request.body, 'file');
    let csv = null;
    // A file input left empty still sends a part: no name and no bytes.
    if (!file || (file.filename === '' && file.data.length === 0)) errors.file = 'import.fileRequired';
    else if (file.truncated) {
      errors.file = 'import.error.tooLarge';
      params = { max: `${IMPORT_MAX_BYTES / (1024 * 1024)} MB` };
    } else if (!errors.encoding && !errors.delimiter) {
      try {
        csv = readCsv(new Uint8Array(file.data.buffer, file.data.byteOffset, file.data.byteLength), { encoding, delimiter });
      } catch (err) {
        if (!(err instanceof CsvFileError)) throw err;
        errors.file = err.key;
        params = err.params;
      }
    }
    if (Object.keys(errors).length > 0 || !csv || !file) {
      request.log.info({ event: 'lead_import_refused', reason: errors.file ?? Object.values(errors)[0], bytes: file?.data.length ?? 0 }, 'CSV upload refused');
      return uploadPage(request, reply, { values, errors, params }, errors.file === 'import.error.tooLarge' ? 413 : 400);
    }
    // Every upload also clears out forgotten drafts (anyone's: a small table, one statement).
    await imports.expireDrafts(request.db);
    const imp = await imports.createDraft(request.db, user, { filename: file.filename, csv, agentId });
    request.log.info({ event: 'lead_import_uploaded', importId: imp.id, rows: csv.rows.length, encoding: csv.encoding }, 'CSV uploaded for import');
    return reply.redirect(`/leads/import/${imp.id}`, 303);
  });

  app.get<IdParams>('/leads/import/:id', async (request, reply) => {
    const user = requireUser(request);
    const imp = await freshImport(request, user, importId(request));
    if (imp.status === 'draft' || imp.status === 'failed') return previewPage(request, reply, await imports.findImportForUser(request.db, user, imp.id));
    if (imp.status === 'done') {
      const leads = await request.db.selectFrom('leads').select(['id', 'deal_name']).where('import_id', '=', imp.id).where(leadScope(user))
        .orderBy('id').limit(LEADS_SHOWN).execute();
      return reply.view((ctx) => <ImportDonePage ctx={ctx} data={{ imp, leads }} />);
    }
    const processed = liveProgress(imp.id)?.processed ?? imp.processed;
    return reply.header('cache-control', 'no-store').view((ctx) => <ImportProgressPage ctx={ctx} imp={imp} processed={processed} />);
  });

  app.post<IdParams>('/leads/import/:id/mapping', async (request, reply) => {
    const user = requireUser(request);
    const imp = await imports.findImportForUser(request.db, user, importId(request));
    const body = (request.body ?? {}) as Record<string, unknown>;
    const mapping = cleanMapping(imp.headers.map((_, i) => body[`col_${i}`]), imp.headers.length, await imports.uploaderRole(request.db, imp));
    const agentId = user.role === 'admin' && typeof body.agent_id === 'string' ? Number(body.agent_id) : null;
    try {
      await imports.saveMapping(request.db, user, imp.id, mapping, agentId);
    } catch (err) {
      if (err instanceof ValidationFailed) return previewPage(request, reply, { ...imp, mapping }, 400, 'validation.agent');
      if (err instanceof Conflict) return reply.redirect(`/leads/import/${imp.id}`, 303);
      throw err;
    }
    return reply.redirect(`/leads/import/${imp.id}`, 303);
  });

  app.post<IdParams>('/leads/import/:id/start', async (request, reply) => {
    const user = requireUser(request);
    try {
      const imp = await imports.queueImport(request.db, user, importId(request));
      request.log.info({ event: 'lead_import_queued', importId: imp.id, rows: imp.total }, 'lead import queued');
      kickAfter.add(request);
      reply.flash('info', 'import.queued');
    } catch (err) {
      // Clicked twice, or already done: the page shows where it is. Without a complete mapping: the preview says why.
      if (err instanceof ValidationFailed) reply.flash('warning', 'import.mapping.incomplete');
      else if (!(err instanceof Conflict)) throw err;
    }
    return reply.redirect(`/leads/import/${importId(request)}`, 303);
  });

  app.post<IdParams>('/leads/import/:id/delete', async (request, reply) => {
    const user = requireUser(request);
    try {
      const imp = await imports.discardImport(request.db, user, importId(request));
      return reply.flash('success', 'import.discarded', { name: imp.filename }).redirect('/leads/import', 303);
    } catch (err) {
      if (err instanceof Conflict) return reply.redirect(`/leads/import/${importId(request)}`, 303);
      throw err;
    }
  });

  // For the progress bar (public/import.js): where the import is, from this process's memory while it
  // runs here, else from the row (on PostgreSQL the runner writes its progress there as it goes).
  app.get<IdParams>('/leads/import/:id/progress', async (request, reply) => {
    const user = requireUser(request);
    const imp = await freshImport(request, user, importId(request));
    const processed = imp.status === 'done' ? imp.total : liveProgress(imp.id)?.processed ?? imp.processed;
    return reply.header('cache-control', 'no-store').send({
      id: imp.id, status: imp.status, processed, total: imp.total, percent: percentOf(processed, imp.total),
      imported: imp.imported, failed: imp.failed, finished: imp.status === 'done' || imp.status === 'failed',
      text: request.t('import.progress.text', { done: processed, total: imp.total }),
    });
  });

  app.get<IdParams>('/leads/import/:id/failed.csv', async (request, reply) => {
    const user = requireUser(request);
    const imp = await imports.findImportForUser(request.db, user, importId(request));
    // After the import: what was kept; before it: the rows that would fail now.
    const failures = imp.status === 'done' ? imp.failures
      : mappingOk(mappingProblems(imp.mapping)) ? (await imports.checkRows(request.db, imp, await imports.uploaderRole(request.db, imp))).rows.filter((r) => !r.input).map((r) => imports.failureOf(imp, r))
        : [];
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', attachmentHeader(failedFilename(imp.filename)))
      .header('cache-control', 'private, no-store')
      .header('x-content-type-options', 'nosniff')
      .send(failedRowsCsv(request.t, imp.headers, failures));
  });
}
