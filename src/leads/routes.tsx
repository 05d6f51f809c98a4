// Lead pages: create, view, edit, close/reopen, transfer, reassign (admin), delete (admin), duplicate hint.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireAdmin, requireUser } from '../auth/guards.server.ts';
import { CommentsSection } from '../comments/views.tsx';
import { listComments } from '../comments/comments.server.ts';
import { syncStateFor } from '../hubspot/outbox.server.ts';
import { ValidationFailed } from '../platform/errors.ts';
import { parseForm, parseOrThrow, typedValues } from '../platform/validation.ts';
import { emptyForm, type FormState } from '../views/forms.tsx';
import { POINTS } from './domain.ts';
import * as leads from './leads.server.ts';
import { createLeadSchema, duplicateCheckSchema, normalisePhone, updateLeadSchema } from './schemas.ts';
import { type AgentChoice, LeadFormPage, leadFormValues, type LeadPageData, LeadPage } from './views.tsx';
import * as catalogue from '../properties/properties.server.ts';
import { pickedProperties } from '../properties/schemas.ts';

type IdParams = { Params: { id: string } };
const leadId = (request: FastifyRequest<IdParams>) => Number(request.params.id);

async function agentChoices(request: FastifyRequest): Promise<AgentChoice[] | null> {
  return request.user?.role === 'admin' ? leads.assignableAgents(request.db) : null;
}

async function loadLeadPage(request: FastifyRequest, id: number): Promise<LeadPageData> {
  const user = requireUser(request);
  const lead = await leads.findLeadForUser(request.db, user, id);
  const agent = await request.db.selectFrom('users').select('display_name').where('id', '=', lead.agent_id).executeTakeFirst();
  let duplicates: LeadPageData['duplicates'] = null;
  if (user.role === 'admin' && lead.possible_duplicate) {
    const ids = await leads.findDuplicates(request.db, lead, lead.id);
    duplicates = ids.length === 0 ? [] : await request.db.selectFrom('leads').innerJoin('users', 'users.id', 'leads.agent_id')
      .select(['leads.id', 'leads.deal_name', 'leads.phone', 'leads.second_phone', 'leads.email', 'leads.status', 'leads.hubspot_stage_label', 'users.display_name as agent_name', 'leads.created_at'])
      .where('leads.id', 'in', ids).orderBy('leads.created_at').execute();
  }
  const syncItem = await syncStateFor(request.db, 'lead', lead.id);
  const properties = await catalogue.propertiesForLead(request.db, lead.id);
  return { properties, lead, agentName: agent?.display_name ?? '', duplicates, agents: await agentChoices(request), sync: { configured: !!request.server.hubspot, item: syncItem } };
}

export async function leadRoutes(app: FastifyInstance): Promise<void> {
  const renderForm = async (request: FastifyRequest, reply: FastifyReply, mode: 'new' | 'edit', form: FormState, status?: number, id?: number) => {
    const agents = await agentChoices(request);
    const properties = await catalogue.propertyChoices(request.db);
    return reply.view((ctx) => <LeadFormPage ctx={ctx} form={form} mode={mode} leadId={id} agents={agents} properties={properties} />, status);
  };

  app.get('/leads/new', async (request, reply) => {
    const user = requireUser(request);
    return renderForm(request, reply, 'new', emptyForm({ agent_id: String(user.id) }));
  });

  app.post('/leads', async (request, reply) => {
    const user = requireUser(request);
    const values = typedValues(request.body);
    const parsed = parseForm(createLeadSchema, request.body);
    const picked = pickedProperties(request.body);
    values.property_ids = picked.ids.join(',');
    if (!parsed.ok || picked.error) return renderForm(request, reply, 'new', { values, errors: { ...(parsed.ok ? {} : parsed.fields), ...(picked.error ? { property_ids: picked.error } : {}) } }, 400);
    try {
      await catalogue.assertPropertiesExist(request.db, picked.ids);
      const { lead, duplicate } = await leads.createLead(request.db, user, parsed.data, request);
      await catalogue.setLeadProperties(request.db, lead.id, picked.ids);
      request.log.info({ event: 'lead_created', leadId: lead.id, agentId: lead.agent_id, duplicate }, 'lead created');
      reply.flash(duplicate ? 'warning' : 'success', duplicate ? 'lead.createdDuplicate' : 'lead.created');
      return reply.redirect(`/leads/${lead.id}`, 303);
    } catch (err) {
      if (err instanceof ValidationFailed) return renderForm(request, reply, 'new', { values, errors: err.fields }, 400);
      throw err;
    }
  });

  app.get<IdParams>('/leads/:id', async (request, reply) => {
    const data = await loadLeadPage(request, leadId(request));
    const user = requireUser(request);
    const comments = await listComments(request.db, data.lead.id);
    return reply.view((ctx) => (
      <LeadPage ctx={ctx} data={data} comments={<CommentsSection ctx={ctx} leadId={data.lead.id} comments={comments} canModerate={user.role === 'admin'} />} />
    ));
  });

  app.get<IdParams>('/leads/:id/edit', async (request, reply) => {
    const user = requireUser(request);
    const lead = await leads.findLeadForUser(request.db, user, leadId(request));
    const values = leadFormValues(lead);
    values.property_ids = (await catalogue.propertiesForLead(request.db, lead.id)).map((p) => p.id).join(',');
    return renderForm(request, reply, 'edit', emptyForm(values), undefined, lead.id);
  });

  app.post<IdParams>('/leads/:id', async (request, reply) => {
    const user = requireUser(request);
    const id = leadId(request);
    await leads.findLeadForUser(request.db, user, id);
    const values = typedValues(request.body);
    const parsed = parseForm(updateLeadSchema, request.body);
    const picked = pickedProperties(request.body);
    values.property_ids = picked.ids.join(',');
    if (!parsed.ok || picked.error) return renderForm(request, reply, 'edit', { values, errors: { ...(parsed.ok ? {} : parsed.fields), ...(picked.error ? { property_ids: picked.error } : {}) } }, 400, id);
    try {
      await catalogue.assertPropertiesExist(request.db, picked.ids);
      await leads.updateLead(request.db, user, id, parsed.data, request);
      await catalogue.setLeadProperties(request.db, id, picked.ids);
    } catch (err) {
      if (err instanceof ValidationFailed) return renderForm(request, reply, 'edit', { values, errors: err.fields }, 400, id);
      throw err;
    }
    return reply.flash('success', 'lead.saved').redirect(`/leads/${id}`, 303);
  });

  app.post<IdParams>('/leads/:id/close', async (request, reply) => {
    const { awarded, lead } = await leads.closeDeal(request.db, requireUser(request), leadId(request), request);
    if (awarded) reply.flash('success', 'lead.closedDeal', { points: POINTS.deal_closed });
    else reply.flash('info', 'lead.alreadyClosed');
    return reply.redirect(`/leads/${lead.id}`, 303);
  });

  app.post<IdParams>('/leads/:id/reopen', async (request, reply) => {
    const lead = await leads.reopenDeal(request.db, requireUser(request), leadId(request), request);
    return reply.flash('info', 'lead.reopened').redirect(`/leads/${lead.id}`, 303);
  });

  app.post<IdParams>('/leads/:id/transfer', async (request, reply) => {
    const user = requireUser(request);
    const current = await leads.findLeadForUser(request.db, user, leadId(request));
    const lead = await leads.setTransferred(request.db, user, current.id, !current.is_transferred, request);
    return reply.flash('success', lead.is_transferred ? 'lead.transferredOn' : 'lead.transferredOff').redirect(`/leads/${lead.id}`, 303);
  });

  app.post<IdParams>('/leads/:id/reassign', async (request, reply) => {
    const admin = requireAdmin(request);
    const body = (request.body ?? {}) as { agent_id?: string };
    const { lead, agentName } = await leads.reassign(request.db, admin, leadId(request), Number(body.agent_id), request);
    return reply.flash('success', 'lead.reassigned', { name: agentName }).redirect(`/leads/${lead.id}`, 303);
  });

  app.post<IdParams>('/leads/:id/delete', async (request, reply) => {
    const admin = requireAdmin(request);
    await leads.deleteLead(request.db, admin, leadId(request), request);
    return reply.flash('success', 'lead.deleted').redirect('/dashboard', 303);
  });

  // The live hint while typing: only "already registered" or not — never whose client or any detail.
  app.post('/leads/check-duplicate', { config: { rateLimit: { max: 60, timeWindow: 60_000, keyGenerator: (r: FastifyRequest) => `dup:${r.user?.id ?? r.ip}` } } }, async (request) => {
    requireUser(request);
    const input = parseOrThrow(duplicateCheckSchema, request.body);
    const phone = input.phone ? normalisePhone(input.phone) : null;
    const email = input.email && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(input.email.trim()) ? input.email.trim() : null;
    const ids = await leads.findDuplicates(request.db, { phone, email }, input.exclude_id);
    return { duplicate: ids.length > 0 };
  });
}
