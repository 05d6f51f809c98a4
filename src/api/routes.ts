// /api/v1: the lead-capture JSON API. Authenticated by an agent's API key only (`Authorization: Bearer`),
// never the session cookie; rate-limited per key; CORS per key (see the preflight below). Errors are the
// app's JSON errors {error, fields?, requestId}. Every route is declared with apiRoute(), which registers it
// and lists it in the OpenAPI document served at /api/v1/openapi.json.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { z } from 'zod';
import { addComment, listComments, type CommentEntry, type CommentThread } from '../comments/comments.server.ts';
import { toId } from '../comments/schemas.ts';
import type { Lead } from '../db/schema.ts';
import { loadStages } from '../hubspot/engine.ts';
import { createLead, findLeadForUser } from '../leads/leads.server.ts';
import { DEFAULT_STAGES, type Stage } from '../leads/stages.ts';
import { Forbidden, HttpError, NotFound } from '../platform/errors.ts';
import { parseOrThrow } from '../platform/validation.ts';
import { authenticateApiToken, bearerToken, originOnAnyActiveKey } from './keys.server.ts';
import { ApiDocsPage } from './docs.tsx';
import { type ApiOperation, buildOpenApiDocument } from './openapi.ts';
import {
  apiCommentInputSchema, apiCommentSchema, apiCommentThreadSchema, apiErrorSchema, apiLeadDetailSchema, apiLeadInputSchema,
  apiLeadListQuery, apiLeadPageSchema, apiLeadSchema, apiStageSchema, idParams,
} from './schemas.ts';

export const API_PREFIX = '/api/v1';
/** Requests per key per minute. */
export const API_RATE_PER_MINUTE = 60;
const EXPOSED_HEADERS = 'retry-after, x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, location';

/** A missing, unknown, malformed or revoked key. */
export class ApiKeyInvalid extends HttpError {
  constructor() { super(401, 'api.keyInvalid'); }
}

export function toApiLead(lead: Lead): z.output<typeof apiLeadSchema> {
  const iso = (d: Date | string) => new Date(d).toISOString();
  return {
    id: lead.id, deal_name: lead.deal_name, phone: lead.phone, second_phone: lead.second_phone, email: lead.email, budget: lead.budget,
    company: lead.company, telegram_nickname: lead.telegram_nickname, messenger: lead.messenger, birth_date: lead.birth_date,
    country: lead.country, purchase_goal: lead.purchase_goal, property_type: lead.property_type, object_type: lead.object_type,
    communication_language: lead.communication_language, source: lead.source, status: lead.status, refusal_reason: lead.refusal_reason,
    is_transferred: lead.is_transferred,
    stage: lead.hubspot_stage_id ? { id: lead.hubspot_stage_id, label: lead.hubspot_stage_label ?? '' } : null,
    possible_duplicate: lead.possible_duplicate,
    created_at: iso(lead.created_at), updated_at: iso(lead.updated_at), closed_at: lead.closed_at ? iso(lead.closed_at) : null,
  };
}

function toApiComment(c: CommentEntry): z.output<typeof apiCommentSchema> {
  return {
    id: c.id, lead_id: c.lead_id, author_name: c.author_name, parent_id: c.parent_id, body: c.body,
    created_at: new Date(c.created_at).toISOString(), updated_at: new Date(c.updated_at).toISOString(), edited: c.edited,
  };
}
const toApiThread = (t: CommentThread) => ({ ...toApiComment(t), replies: t.replies.map(toApiComment) });

function stagesOf(app: FastifyInstance): Stage[] {
  try {
    return loadStages(app.config.hubspot.stageMapFile);
  } catch (err) {
    app.log.warn({ err }, 'stage map unreadable: the API lists the default stages');
    return DEFAULT_STAGES;
  }
}

const COMMON_ERRORS = {
  401: { description: 'Missing, unknown or revoked API key', schema: 'Error' },
  403: { description: "The request's Origin is not allowed for this key", schema: 'Error' },
  429: { description: 'Rate limit exceeded', schema: 'Error', headers: { 'retry-after': 'Seconds until the next request is accepted' } },
} as const;

export async function apiRoutes(app: FastifyInstance): Promise<void> {
  const operations: ApiOperation[] = [];
  app.decorateRequest('apiKey', null);

  /** Every /api/v1 request: the key, and only the key, decides who the caller is. */
  const authenticate: onRequestAsyncHookHandler = async (request) => {
    // A session cookie the browser happened to send is ignored: a key is required, a cookie is never enough.
    request.user = null;
    request.sessionId = null;
    request.apiKey = null;
    const token = bearerToken(request.headers.authorization);
    const principal = token ? await authenticateApiToken(app.db, token) : null;
    if (!principal) {
      request.log.info({ event: 'api_auth_failed', reason: token ? 'unknown_or_revoked' : 'missing' }, 'API key refused');
      throw new ApiKeyInvalid();
    }
    request.apiKey = { id: principal.key.id, userId: principal.user.id, allowedOrigins: principal.key.allowed_origins };
    const origin = request.headers.origin;
    if (origin !== undefined && !principal.key.allowed_origins.includes(origin)) {
      request.log.info({ event: 'api_origin_refused', apiKeyId: principal.key.id }, 'API origin not allowed for this key');
      throw new Forbidden('api.originNotAllowed');
    }
    request.user = principal.user;
  };

  // CORS on the answers: the key's own origins; when no key was accepted (401), any active key's origins,
  // so a website can read the error it caused.
  app.addHook('onSend', async (request, reply, payload) => {
    const origin = request.headers.origin;
    if (!origin || !request.url.startsWith(`${API_PREFIX}/`)) return payload;
    reply.header('vary', 'Origin');
    if (request.url.startsWith(`${API_PREFIX}/openapi.json`)) return payload;
    const allowed = request.apiKey ? request.apiKey.allowedOrigins.includes(origin) : reply.statusCode === 401 && await originOnAnyActiveKey(app.db, origin);
    if (allowed) reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', EXPOSED_HEADERS);
    return payload;
  });

  function apiRoute<B = unknown>(op: Omit<ApiOperation, 'auth' | 'tag'> & { tag?: string }, handler: (request: FastifyRequest<{ Params: { id: string }; Querystring: Record<string, string>; Body: B }>, reply: FastifyReply) => Promise<unknown>): void {
    const full: ApiOperation = { ...op, tag: op.tag ?? 'leads', auth: true, responses: { ...op.responses, ...COMMON_ERRORS } };
    operations.push(full);
    app.route({
      method: op.method,
      url: op.url,
      onRequest: [authenticate],
      config: {
        apiKey: true,
        rateLimit: { max: API_RATE_PER_MINUTE, timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => `api-key:${req.apiKey?.id ?? req.ip}` },
      },
      handler: async (request, reply) => {
        reply.header('cache-control', 'no-store');
        return handler(request as never, reply);
      },
    });
  }

  const leadId = (raw: string) => {
    const id = toId(raw);
    if (id === null) throw new NotFound();
    return id;
  };

  apiRoute({
    method: 'POST', url: `${API_PREFIX}/leads`, operationId: 'createLead', summary: 'Create a lead in your pipeline',
    description: 'Phones are read as Ukrainian when they have no country code and stored as E.164. A lead with the same phone or email as another is created and flagged `possible_duplicate`.',
    body: apiLeadInputSchema, bodyComponent: 'LeadInput',
    responses: {
      201: { description: 'Created', schema: 'Lead', headers: { location: 'The new lead\'s URL' } },
      400: { description: 'Invalid input: `fields` names each wrong field', schema: 'Error' },
    },
  }, async (request, reply) => {
    const input = parseOrThrow(apiLeadInputSchema, request.body);
    const user = request.user!;
    const { lead } = await createLead(request.db, user, { ...input, agent_id: null }, request);
    request.log.info({ event: 'api_lead_created', leadId: lead.id, userId: user.id, apiKeyId: request.apiKey?.id }, 'lead created through the API');
    return reply.code(201).header('location', `${API_PREFIX}/leads/${lead.id}`).send(toApiLead(lead));
  });

  apiRoute({
    method: 'GET', url: `${API_PREFIX}/leads`, operationId: 'listLeads', summary: 'Your leads, newest first, a page at a time',
    query: apiLeadListQuery,
    responses: { 200: { description: 'One page of leads', schema: 'LeadPage' }, 400: { description: 'Invalid page', schema: 'Error' } },
  }, async (request) => {
    const { page, per_page } = parseOrThrow(apiLeadListQuery, request.query);
    const user = request.user!;
    const [items, count] = await Promise.all([
      request.db.selectFrom('leads').selectAll().where('agent_id', '=', user.id)
        .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(per_page).offset((page - 1) * per_page).execute(),
      request.db.selectFrom('leads').select((eb) => eb.fn.countAll<string>().as('n')).where('agent_id', '=', user.id).executeTakeFirstOrThrow(),
    ]);
    return { items: items.map(toApiLead), page, per_page, total: Number(count.n) };
  });

  apiRoute({
    method: 'GET', url: `${API_PREFIX}/leads/:id`, operationId: 'getLead', summary: 'One of your leads with its comments',
    params: idParams,
    responses: { 200: { description: 'The lead', schema: 'LeadDetail' }, 404: { description: 'No such lead of yours', schema: 'Error' } },
  }, async (request) => {
    const lead = await findLeadForUser(request.db, request.user!, leadId(request.params.id));
    const comments = await listComments(request.db, lead.id);
    return { ...toApiLead(lead), comments: comments.map(toApiThread) };
  });

  apiRoute<{ body?: unknown; parent_id?: unknown }>({
    method: 'POST', url: `${API_PREFIX}/leads/:id/comments`, operationId: 'addComment', summary: 'Add a comment (or a reply) to one of your leads',
    params: idParams,
    body: apiCommentInputSchema, bodyComponent: 'CommentInput',
    responses: {
      201: { description: 'Created', schema: 'Comment' },
      400: { description: 'Invalid input', schema: 'Error' },
      404: { description: 'No such lead of yours', schema: 'Error' },
    },
  }, async (request, reply) => {
    const id = leadId(request.params.id);
    const input = parseOrThrow(apiCommentInputSchema, request.body);
    const comment = await addComment(request.db, request.user!, id, input.body, input.parent_id ?? null);
    return reply.code(201).send(toApiComment(comment));
  });

  const stages = stagesOf(app);
  apiRoute({
    method: 'GET', url: `${API_PREFIX}/stages`, operationId: 'listStages', tag: 'pipeline', summary: 'The pipeline stages and the lead status each means',
    responses: { 200: { description: 'The stages in pipeline order', schema: { arrayOf: 'Stage' } } },
  }, async () => stages.map((s) => ({ id: s.id, label: s.label, status: s.status })));

  const components = {
    LeadInput: apiLeadInputSchema, Lead: apiLeadSchema, LeadDetail: apiLeadDetailSchema, LeadPage: apiLeadPageSchema,
    CommentInput: apiCommentInputSchema, Comment: apiCommentSchema, CommentThread: apiCommentThreadSchema, Stage: apiStageSchema, Error: apiErrorSchema,
  };
  let document: Record<string, unknown> | null = null;
  app.get(`${API_PREFIX}/openapi.json`, { config: { public: true } }, async (_request, reply) => {
    document ??= buildOpenApiDocument(operations, components, { version: '1.0.0' });
    return reply.header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=300').send(document);
  });

  app.get(`${API_PREFIX}/docs`, { config: { public: true } }, async (_request, reply) =>
    reply.view((ctx) => ApiDocsPage({ ctx, operations })));

  // CORS preflight. The key travels in a header, so browsers ask first — without the key. The answer is
  // yes for an origin listed on ANY active key; the actual request is then held to its own key's origins.
  app.options(`${API_PREFIX}/*`, {
    config: { public: true, rateLimit: { max: 600, timeWindow: 60_000 } },
  }, async (request, reply) => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (!origin || !(await originOnAnyActiveKey(app.db, origin))) return reply.code(403).header('cache-control', 'no-store').send();
    return reply.code(204)
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-methods', 'GET, POST')
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', '600')
      .send();
  });
}
