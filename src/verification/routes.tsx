// Verification: the agent's request with documents (/verification), the admin's overview, agent details,
// approve with a commission, reject or revoke with a reason the agent sees.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.server.ts';
import { requireAdmin, requireUser } from '../auth/guards.server.ts';
import { personalStats } from '../dashboard/queries.server.ts';
import { listDocuments } from '../documents/documents.server.ts';
import { checkUpload, formFields, formFile, UPLOAD_ROUTE_CONFIG } from '../documents/upload.ts';
import { megabytes } from '../documents/views.tsx';
import { wantsJson } from '../platform/error-handler.ts';
import { Conflict, type FieldErrors, Forbidden, NotFound } from '../platform/errors.ts';
import { fieldErrorsOf } from '../platform/validation.ts';
import { safeLocalPath } from '../platform/views.ts';
import { totalFor } from '../points/points.server.ts';
import * as users from '../users/users.server.ts';
import { parseCommission, REQUIRED_DOCUMENTS } from './domain.ts';
import * as verification from './verification.server.ts';
import { AdminVerificationPage, AgentDetailsPage, AgentVerificationPage, type DecisionForm, formatCommission } from './views.tsx';

type AgentParams = { Params: { id: string } };

const reasonSchema = z.object({ reason: z.string('verification.reasonRequired').trim().min(3, 'verification.reasonRequired').max(1000, 'validation.tooLong') });

/** Form fields from a urlencoded form or a JSON body, as strings. */
function bodyValues(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) if ((typeof v === 'string' || typeof v === 'number') && k !== '_csrf') out[k] = String(v);
  }
  return out;
}

export async function verificationRoutes(app: FastifyInstance): Promise<void> {
  const maxBytes = app.config.storage.maxBytes;

  const agentPage = async (request: FastifyRequest, reply: FastifyReply, errors: FieldErrors = {}, status?: number) => {
    const me = requireUser(request);
    const user = await users.findById(request.db, me.id);
    if (!user) throw new NotFound();
    const data = {
      v: await verification.stateOf(request.db, user),
      onFile: await verification.kindsOnFile(request.db, user.id),
      documents: await listDocuments(request.db, user.id),
      history: await verification.history(request.db, user.id),
      maxBytes,
    };
    return reply.view((ctx) => <AgentVerificationPage ctx={ctx} data={data} errors={errors} />, status);
  };

  app.get('/verification', async (request, reply) => {
    if (requireUser(request).role === 'admin') return reply.redirect('/admin/verification');
    return agentPage(request, reply);
  });

  app.post('/verification', { config: UPLOAD_ROUTE_CONFIG }, async (request, reply) => {
    const me = requireUser(request);
    if (me.role !== 'agent') throw new Forbidden('verification.adminsNotNeeded');
    const onFile = await verification.kindsOnFile(request.db, me.id);
    const errors: FieldErrors = {};
    const uploads: verification.RequestUpload[] = [];
    // Every file is checked before anything is stored: a refused form keeps nothing.
    for (const d of REQUIRED_DOCUMENTS) {
      const file = formFile(request.body, d.field);
      const verdict = checkUpload(file, { required: !onFile.has(d.kind) });
      if (verdict && !verdict.ok) errors[d.field] = verdict.error;
      else if (verdict?.ok && file) uploads.push({ kind: d.kind, file, type: verdict.type });
    }
    if (Object.keys(errors).length > 0) {
      const status = Object.values(errors).includes('documents.tooLarge') ? 413 : 400;
      if (wantsJson(request)) {
        const fields = Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, request.t(v, { mb: megabytes(maxBytes) })]));
        return reply.code(status).send({ error: request.t('validation.formErrors'), fields });
      }
      return agentPage(request, reply, errors, status);
    }
    try {
      const { request: req, documentIds } = await verification.requestVerification(request.db, app.storage, me.id, uploads);
      await recordAudit(request.db, request, { action: 'verification.request', entityType: 'verification', entityId: me.id, after: { status: 'pending', request_id: req.id, documents: documentIds } });
      request.log.info({ event: 'verification_requested', agentId: me.id, requestId: req.id, documents: documentIds.length }, 'verification requested');
    } catch (err) {
      // A second tab or a double click: say where things stand instead of an error page.
      if (err instanceof Conflict && !wantsJson(request)) return reply.flash('info', err.messageKey).redirect('/verification', 303);
      throw err;
    }
    if (wantsJson(request)) return reply.code(201).send({ state: 'pending' });
    return reply.flash('success', 'verification.requested').redirect('/profile', 303);
  });

  const overviewPage = async (request: FastifyRequest, reply: FastifyReply, form: DecisionForm | null = null, status?: number) => {
    const data = await verification.overview(request.db);
    return reply.view((ctx) => <AdminVerificationPage ctx={ctx} data={data} form={form} />, status);
  };

  const detailsPage = async (request: FastifyRequest, reply: FastifyReply, agentId: number, form: DecisionForm | null = null, status?: number) => {
    const agent = await verification.agentForAdmin(request.db, agentId);
    const stats = await personalStats(request.db, agent.id);
    const data = {
      agent,
      stats: { leads: stats.leads, closed: stats.closed, points: await totalFor(request.db, agent.id) },
      documents: await listDocuments(request.db, agent.id),
      history: await verification.history(request.db, agent.id),
    };
    return reply.view((ctx) => <AgentDetailsPage ctx={ctx} data={data} form={form} />, status);
  };

  app.get('/admin/verification', async (request, reply) => {
    requireAdmin(request);
    if (wantsJson(request)) {
      const data = await verification.overview(request.db);
      return reply.header('cache-control', 'no-store').send({
        counts: data.counts,
        pending: data.pending.map((a) => ({ id: a.id, display_name: a.display_name, email: a.email, requested_at: a.requestedAt, documents: a.documents.map((d) => ({ id: d.id, kind: d.kind, filename: d.filename })) })),
        agents: data.agents.map((a) => ({ id: a.id, display_name: a.display_name, email: a.email, state: a.verification.state, commission: Number(a.commission) })),
      });
    }
    return overviewPage(request, reply);
  });

  app.get<AgentParams>('/admin/verification/:id', async (request, reply) => {
    requireAdmin(request);
    return detailsPage(request, reply, Number(request.params.id));
  });

  /** A decision form that came back with a mistake: re-shown where it was sent from, with what was typed. */
  const reshow = async (request: FastifyRequest<AgentParams>, reply: FastifyReply, form: DecisionForm) => {
    if (wantsJson(request)) {
      return reply.code(400).send({ error: request.t('validation.formErrors'), fields: Object.fromEntries(Object.entries(form.errors).map(([k, v]) => [k, request.t(v)])) });
    }
    // The agent must exist (and be an agent) before we talk about their form.
    await verification.agentForAdmin(request.db, form.agentId);
    const next = safeLocalPath(form.values.next, '/admin/verification');
    return next === `/admin/verification/${form.agentId}` ? detailsPage(request, reply, form.agentId, form, 400) : overviewPage(request, reply, form, 400);
  };

  const done = (request: FastifyRequest, reply: FastifyReply, agentId: number, key: 'verification.approved' | 'verification.rejected' | 'verification.revoked', params: Record<string, string>, state: string) => {
    if (wantsJson(request)) return reply.send({ agent_id: agentId, state });
    const next = safeLocalPath(bodyValues(request.body).next, '/admin/verification');
    return reply.flash('success', key, params).redirect(next, 303);
  };

  app.post<AgentParams>('/admin/verification/:id/approve', async (request, reply) => {
    const admin = requireAdmin(request);
    const agentId = Number(request.params.id);
    const values = bodyValues(request.body);
    const commission = parseCommission((request.body as { commission?: unknown } | undefined)?.commission);
    if (!commission.ok) return reshow(request, reply, { agentId, action: 'approve', values, errors: { commission: commission.error } });
    const d = await verification.approve(request.db, admin.id, agentId, commission.value);
    await recordAudit(request.db, request, {
      action: 'verification.approve', entityType: 'verification', entityId: agentId,
      before: { is_verified: d.agent.is_verified, commission: Number(d.agent.commission) },
      after: { is_verified: true, commission: commission.value, request_id: d.request.id },
    });
    request.log.info({ event: 'verification_approved', agentId, requestId: d.request.id, by: admin.id }, 'agent verified');
    return done(request, reply, agentId, 'verification.approved', { name: d.agent.display_name, commission: formatCommission(request.locale, commission.value) }, 'verified');
  });

  app.post<AgentParams>('/admin/verification/:id/reject', async (request, reply) => {
    const admin = requireAdmin(request);
    const agentId = Number(request.params.id);
    const values = bodyValues(request.body);
    const parsed = reasonSchema.safeParse(values);
    if (!parsed.success) return reshow(request, reply, { agentId, action: 'reject', values, errors: fieldErrorsOf(parsed.error) });
    const d = await verification.reject(request.db, admin.id, agentId, parsed.data.reason);
    await recordAudit(request.db, request, {
      action: d.status === 'revoked' ? 'verification.revoke' : 'verification.reject', entityType: 'verification', entityId: agentId,
      before: { is_verified: d.agent.is_verified }, after: { is_verified: false, reason: parsed.data.reason, request_id: d.request.id },
    });
    request.log.info({ event: `verification_${d.status}`, agentId, requestId: d.request.id, by: admin.id }, 'verification refused');
    return done(request, reply, agentId, d.status === 'revoked' ? 'verification.revoked' : 'verification.rejected', { name: d.agent.display_name }, d.status);
  });
}
