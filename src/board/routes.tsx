// /board: the leads by pipeline stage; POST /board/move: a lead to another stage (JSON for fetch, a
// redirect back to the board for the plain form).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireUser } from '../auth/guards.server.ts';
import { filterAgents, filterSchema, type LeadFilter } from '../dashboard/queries.server.ts';
import { loadStages } from '../hubspot/engine.ts';
import { POINTS } from '../leads/domain.ts';
import { wantsJson } from '../platform/error-handler.ts';
import { ValidationFailed } from '../platform/errors.ts';
import { parseForm } from '../platform/validation.ts';
import { loadBoard, moveLead, moveSchema } from './board.server.ts';
import { BoardPage, boardQuery } from './views.tsx';

/** The filter carried in a "come back to" address (only the board's own). */
function filterOfNext(next: string): LeadFilter {
  const query = next.includes('?') ? next.slice(next.indexOf('?') + 1).split('#')[0] ?? '' : '';
  return filterSchema.parse(Object.fromEntries(new URLSearchParams(query)));
}

export async function boardRoutes(app: FastifyInstance): Promise<void> {
  // The one stage map, as configured for the sync.
  const stages = loadStages(app.config.hubspot.stageMapFile);

  const render = async (request: FastifyRequest, reply: FastifyReply, filter: LeadFilter, status?: number, error?: string) => {
    const user = requireUser(request);
    const columns = await loadBoard(request.db, user, filter, stages);
    // The agent filter names only the chosen agent (the others come from its own address, decision 029).
    const agents = user.role !== 'admin' ? null : typeof filter.agent === 'number' ? await filterAgents(request.db, filter.agent) : [];
    return reply.view((ctx) => <BoardPage ctx={ctx} data={{ columns, stages, filter, agents, error }} />, status);
  };

  app.get('/board', async (request, reply) => render(request, reply, filterSchema.parse(request.query ?? {})));

  app.post('/board/move', async (request, reply) => {
    const user = requireUser(request);
    const json = wantsJson(request);
    const parsed = parseForm(moveSchema, request.body);
    const rawNext = (request.body as { next?: unknown } | undefined)?.next;
    // Back to the board with the same filters, rebuilt from the parsed filter (never an address as given).
    const next = `/board${boardQuery(filterOfNext(typeof rawNext === 'string' && (rawNext === '/board' || rawNext.startsWith('/board?')) ? rawNext : '/board'))}`;
    try {
      if (!parsed.ok) throw new ValidationFailed(parsed.fields);
      const result = await moveLead(request.db, user, parsed.data, stages, request);
      if (result.changed) request.log.info({ event: 'lead_stage', leadId: result.lead.id, stageId: result.stage.id }, 'lead moved on the board');
      if (json) {
        return {
          ok: true, changed: result.changed, awarded: result.awarded,
          lead: { id: result.lead.id, status: result.lead.status, stage_id: result.stage.id, stage_label: result.stage.label },
          message: request.t('board.moved', { name: result.lead.deal_name, stage: result.stage.label }),
        };
      }
      reply.flash('success', 'board.moved', { name: result.lead.deal_name, stage: result.stage.label });
      if (result.awarded) reply.flash('success', 'lead.closedDeal', { points: POINTS.deal_closed });
      return reply.redirect(`${next}#card-${result.lead.id}`, 303);
    } catch (err) {
      // The plain form comes back to the board with the message; fetch gets {error, fields} from the error handler.
      if (json || !(err instanceof ValidationFailed)) throw err;
      const message = Object.values(err.fields).map((k) => request.t(k)).join(' ');
      return render(request, reply, filterOfNext(next), 400, message);
    }
  });
}
