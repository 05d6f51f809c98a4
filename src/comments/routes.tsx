// Comment routes: HTML forms on the lead page (add, reply, edit, delete → back to the lead), and a JSON API.
// Ids that are not positive integers are "not found"; every access check is the lead's (comments.server.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireUser } from '../auth/guards.server.ts';
import { findLeadForUser } from '../leads/leads.server.ts';
import { NotFound, ValidationFailed } from '../platform/errors.ts';
import * as comments from './comments.server.ts';
import { toId } from './schemas.ts';
import { CommentFormPage } from './views.tsx';

type IdParams = { Params: { id: string } };

function idParam(request: FastifyRequest<IdParams>): number {
  const id = toId(request.params.id);
  if (id === null) throw new NotFound();
  return id;
}

/**
 * The fields of a comment form or JSON body. Wrong types become values the service refuses with a field
 * message (after its access check), so a stranger learns nothing from a malformed request.
 */
function commentInput(raw: unknown): { body: string; parentId: number | null } {
  const input = (raw && typeof raw === 'object' ? raw : {}) as { body?: unknown; parent_id?: unknown };
  const body = typeof input.body === 'string' ? input.body : '';
  const given = input.parent_id !== undefined && input.parent_id !== null && input.parent_id !== '';
  return { body, parentId: given ? (toId(input.parent_id) ?? -1) : null };
}

const toLead = (leadId: number, anchor = 'comments') => `/leads/${leadId}#${anchor}`;

export async function commentRoutes(app: FastifyInstance): Promise<void> {
  // HTML forms. A comment that fails validation is shown again on its own page with the typed text
  // (the lead page belongs to the leads module), instead of being lost in a redirect.
  app.post<IdParams>('/leads/:id/comments', async (request, reply) => {
    const user = requireUser(request);
    const leadId = idParam(request);
    const { body, parentId } = commentInput(request.body);
    try {
      await comments.addComment(request.db, user, leadId, body, parentId);
    } catch (err) {
      if (!(err instanceof ValidationFailed)) throw err;
      return reply.view((ctx) => (
        <CommentFormPage ctx={ctx} mode="add" action={`/leads/${leadId}/comments`} leadId={leadId} parentId={parentId} body={body} errors={err.fields} />
      ), 400);
    }
    return reply.flash('success', 'comment.added').redirect(toLead(leadId), 303);
  });

  app.post<IdParams>('/comments/:id/edit', async (request, reply) => {
    const user = requireUser(request);
    const id = idParam(request);
    const { body } = commentInput(request.body);
    try {
      const comment = await comments.editComment(request.db, user, id, body);
      return reply.flash('success', 'comment.updated').redirect(toLead(comment.lead_id, `comment-${comment.id}`), 303);
    } catch (err) {
      if (!(err instanceof ValidationFailed)) throw err;
      const comment = await comments.findCommentForChange(request.db, user, id);
      return reply.view((ctx) => <CommentFormPage ctx={ctx} mode="edit" action={`/comments/${id}/edit`} leadId={comment.lead_id} body={body} errors={err.fields} />, 400);
    }
  });

  app.post<IdParams>('/comments/:id/delete', async (request, reply) => {
    const user = requireUser(request);
    const deleted = await comments.deleteComment(request.db, user, idParam(request));
    return reply.flash('success', 'comment.deleted').redirect(toLead(deleted.lead_id), 303);
  });

  // JSON API: 4xx errors are {error, fields} from the error handler.
  app.get<IdParams>('/api/leads/:id/comments', async (request) => {
    const user = requireUser(request);
    const lead = await findLeadForUser(request.db, user, idParam(request));
    const threads = await comments.listComments(request.db, lead.id);
    return { comments: threads, total: comments.countComments(threads) };
  });

  app.post<IdParams>('/api/leads/:id/comments', async (request, reply) => {
    const user = requireUser(request);
    const { body, parentId } = commentInput(request.body);
    const comment = await comments.addComment(request.db, user, idParam(request), body, parentId);
    return reply.code(201).send({ comment });
  });

  app.put<IdParams>('/api/comments/:id', async (request) => {
    const user = requireUser(request);
    const { body } = commentInput(request.body);
    return { comment: await comments.editComment(request.db, user, idParam(request), body) };
  });

  app.delete<IdParams>('/api/comments/:id', async (request, reply) => {
    const user = requireUser(request);
    await comments.deleteComment(request.db, user, idParam(request));
    return reply.code(204).send();
  });
}
