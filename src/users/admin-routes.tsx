// Admin: users list and one user's management (activate, unlock, role, admin, commission, temporary
// password, delete). Every route starts with requireAdmin; every change is audited by the service.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireAdmin } from '../auth/guards.server.ts';
import { deleteAllDocumentsOf } from '../documents/documents.server.ts';
import { ValidationFailed } from '../platform/errors.ts';
import type { MessageKey } from '../platform/i18n.ts';
import { parseForm, typedValues } from '../platform/validation.ts';
import { safeLocalPath } from '../platform/views.ts';
import { assignAdminSchema, commissionSchema, deleteUserSchema, roleSchema, usersFilterSchema } from './admin-schemas.ts';
import * as admin from './admin-users.server.ts';
import { type UserForms, UserPage, UsersPage } from './admin-views.tsx';

type IdParams = { Params: { id: string } };
const idOf = (request: FastifyRequest<IdParams>) => Number(request.params.id);

export async function adminUserRoutes(app: FastifyInstance): Promise<void> {
  const showUser = async (request: FastifyRequest, reply: FastifyReply, id: number, opts: { forms?: UserForms; tempPassword?: string; status?: number } = {}) => {
    const user = await admin.userForAdmin(request.db, id);
    const admins = await admin.activeAdmins(request.db);
    const receivers = user.leads > 0 ? await admin.possibleReceivers(request.db, user.id) : [];
    return reply.view((ctx) => <UserPage ctx={ctx} data={{ user, admins, receivers }} forms={opts.forms} tempPassword={opts.tempPassword} />, opts.status);
  };

  /** After a change: back to where the admin was (the list keeps its filter), with a message. */
  const done = (request: FastifyRequest<IdParams>, reply: FastifyReply, key: MessageKey, params?: Record<string, string | number>) => {
    const next = (request.body as { next?: unknown } | undefined)?.next;
    return reply.flash('success', key, params).redirect(safeLocalPath(next, `/admin/users/${idOf(request)}`), 303);
  };

  /** A form the service refused (field messages) is shown again with what was typed. */
  const orReshow = async (request: FastifyRequest<IdParams>, reply: FastifyReply, form: keyof UserForms, change: () => Promise<FastifyReply>) => {
    try {
      return await change();
    } catch (err) {
      if (!(err instanceof ValidationFailed)) throw err;
      const status = err.fields.receiver_id === 'admin.users.deleteHasLeads' ? 409 : 400;
      return showUser(request, reply, idOf(request), { forms: { [form]: { values: typedValues(request.body), errors: err.fields } }, status });
    }
  };

  app.get('/admin/users', async (request, reply) => {
    requireAdmin(request);
    const filter = usersFilterSchema.parse(request.query ?? {});
    const counts = await admin.userCounts(request.db);
    const { rows, total, pages } = await admin.listUsers(request.db, filter);
    const admins = await admin.activeAdmins(request.db);
    return reply.view((ctx) => <UsersPage ctx={ctx} data={{ counts, rows, total, pages, filter, admins }} />);
  });

  app.get<IdParams>('/admin/users/:id', async (request, reply) => {
    requireAdmin(request);
    return showUser(request, reply, idOf(request));
  });

  app.post<IdParams>('/admin/users/:id/activate', async (request, reply) => {
    const me = requireAdmin(request);
    const user = await admin.setActive(request.db, me, idOf(request), true, request);
    return done(request, reply, 'users.activated', { name: user.display_name });
  });

  app.post<IdParams>('/admin/users/:id/deactivate', async (request, reply) => {
    const me = requireAdmin(request);
    const user = await admin.setActive(request.db, me, idOf(request), false, request);
    request.log.info({ event: 'user_deactivated', userId: user.id, by: me.id }, 'user deactivated; sessions ended');
    return done(request, reply, 'users.deactivated', { name: user.display_name });
  });

  app.post<IdParams>('/admin/users/:id/unlock', async (request, reply) => {
    const me = requireAdmin(request);
    const user = await admin.unlock(request.db, me, idOf(request), request);
    return done(request, reply, 'users.unlocked', { name: user.display_name });
  });

  app.post<IdParams>('/admin/users/:id/role', async (request, reply) => {
    const me = requireAdmin(request);
    const parsed = parseForm(roleSchema, request.body);
    if (!parsed.ok) return showUser(request, reply, idOf(request), { forms: { role: { values: typedValues(request.body), errors: parsed.fields } }, status: 400 });
    const user = await admin.setRole(request.db, me, idOf(request), parsed.data.role, request);
    return done(request, reply, 'users.roleChanged', { name: user.display_name });
  });

  app.post<IdParams>('/admin/users/:id/admin', async (request, reply) => {
    const me = requireAdmin(request);
    return orReshow(request, reply, 'admin', async () => {
      const parsed = parseForm(assignAdminSchema, request.body);
      if (!parsed.ok) throw new ValidationFailed(parsed.fields);
      const user = await admin.assignAdmin(request.db, me, idOf(request), parsed.data.admin_id ?? null, request);
      return done(request, reply, 'users.adminAssigned', { name: user.display_name });
    });
  });

  app.post<IdParams>('/admin/users/:id/commission', async (request, reply) => {
    const me = requireAdmin(request);
    return orReshow(request, reply, 'commission', async () => {
      const parsed = parseForm(commissionSchema, request.body);
      if (!parsed.ok) throw new ValidationFailed(parsed.fields);
      const user = await admin.setCommission(request.db, me, idOf(request), parsed.data.commission, request);
      return done(request, reply, 'users.commissionSet', { name: user.display_name, commission: Number(user.commission) });
    });
  });

  // The temporary password is shown in this response only: never in a redirect, a flash cookie or a log.
  app.post<IdParams>('/admin/users/:id/password', async (request, reply) => {
    const me = requireAdmin(request);
    const { user, password } = await admin.resetPassword(request.db, me, idOf(request), app.config.security.bcryptCost, request);
    request.log.info({ event: 'password_reset', userId: user.id, by: me.id }, 'temporary password issued');
    return showUser(request, reply, user.id, { tempPassword: password });
  });

  app.post<IdParams>('/admin/users/:id/delete', async (request, reply) => {
    const me = requireAdmin(request);
    return orReshow(request, reply, 'delete', async () => {
      const parsed = parseForm(deleteUserSchema, request.body);
      if (!parsed.ok) throw new ValidationFailed(parsed.fields);
      const { user, moved } = await admin.deleteUser(request.db, me, idOf(request), {
        receiverId: parsed.data.receiver_id ?? null, audit: request,
        removeDocuments: (db, userId) => deleteAllDocumentsOf(db, app.storage, userId),
      });
      request.log.info({ event: 'user_deleted', userId: user.id, by: me.id, leadsMoved: moved }, 'user deleted');
      return reply.flash('success', moved > 0 ? 'users.deletedMoved' : 'users.deleted', { name: user.display_name, count: moved }).redirect('/admin/users', 303);
    });
  });
}
