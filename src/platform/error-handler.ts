// One place turns every error into a response: user mistakes → 4xx with a message (and fields),
// database down → 503, anything else → 500 with only a request id. Never a stack, SQL or exception text.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { ErrorPage } from '../views/error-page.tsx';
import { HttpError, RateLimited, Unauthorized, ValidationFailed, type FieldErrors } from './errors.ts';
import type { MessageKey } from './i18n.ts';
import { markRequestFailed } from './transaction.ts';

export function wantsJson(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/')) return true;
  const accept = request.headers.accept ?? '';
  if (accept.includes('text/html')) return false;
  return accept.includes('application/json') || (request.headers['content-type'] ?? '').includes('application/json');
}

interface Described { status: number; key: MessageKey; fields?: FieldErrors; retryAfter?: number }

function describe(err: FastifyError | Error): Described {
  if (err instanceof ValidationFailed) return { status: err.statusCode, key: err.messageKey, fields: err.fields };
  if (err instanceof RateLimited) return { status: 429, key: err.messageKey, retryAfter: err.retryAfterSeconds };
  if (err instanceof HttpError) return { status: err.statusCode, key: err.messageKey };
  const fe = err as FastifyError;
  if (fe.code?.startsWith('FST_CSRF')) return { status: 403, key: 'error.csrf' };
  if (fe.validation) {
    const fields: FieldErrors = {};
    for (const v of fe.validation) {
      const name = (v.instancePath?.replace(/^\//, '').replace(/\//g, '.') || (v.params as { missingProperty?: string })?.missingProperty) ?? '_';
      fields[name] = 'validation.invalid';
    }
    return { status: 400, key: 'error.badRequest', fields };
  }
  if (isDatabaseUnavailable(err)) return { status: 503, key: 'error.unavailable' };
  const status = fe.statusCode;
  if (status === 429) return { status: 429, key: 'error.rateLimited' };
  if (status === 413) return { status: 413, key: 'error.tooLarge' };
  if (status === 415) return { status: 415, key: 'error.unsupportedMedia' };
  if (status && status >= 400 && status < 500) return { status, key: status === 404 ? 'error.notFound' : status === 403 ? 'error.forbidden' : 'error.badRequest' };
  return { status: 500, key: 'error.internal' };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, d: Described) {
  if (d.retryAfter) reply.header('retry-after', String(d.retryAfter));
  if (wantsJson(request) || !request.t) {
    const t = request.t;
    const body: Record<string, unknown> = { error: t ? t(d.key) : d.key, requestId: request.id };
    if (d.fields) body.fields = Object.fromEntries(Object.entries(d.fields).map(([k, v]) => [k, t ? t(v) : v]));
    return reply.code(d.status).header('cache-control', 'no-store').send(body);
  }
  return reply.view((ctx) => ErrorPage({ ctx, status: d.status, messageKey: d.key }), d.status);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    markRequestFailed(request);
    if (err instanceof Unauthorized && !wantsJson(request) && request.method === 'GET') {
      const next = encodeURIComponent(request.url);
      return reply.flash('info', 'login.required').redirect(`/login?next=${next}`);
    }
    const d = describe(err);
    if (d.status >= 500) {
      const level = d.status === 503 ? 'warn' : 'error';
      request.log[level]({ err, statusCode: d.status }, d.status === 503 ? 'database unavailable' : 'unhandled error');
    } else if (d.status === 429) {
      request.log.warn({ statusCode: 429 }, 'rate limit hit');
    }
    return sendError(request, reply, d);
  });

  app.setNotFoundHandler((request, reply) => sendError(request, reply, { status: 404, key: 'error.notFound' }));
}
