// One-line guards at the top of a handler. The route layer already refuses anonymous requests;
// these give the handler a typed user and check the role.
import type { FastifyRequest } from 'fastify';
import { Forbidden, Unauthorized } from '../platform/errors.ts';
import type { CurrentUser } from '../views/context.ts';

export function requireUser(request: FastifyRequest): CurrentUser {
  if (!request.user) throw new Unauthorized();
  return request.user;
}

export function requireAdmin(request: FastifyRequest): CurrentUser {
  const user = requireUser(request);
  if (user.role !== 'admin') throw new Forbidden();
  return user;
}
