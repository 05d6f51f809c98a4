// Security by construction: every route is private unless it says `public`, every state-changing route
// checks a CSRF token, and the login form is rate-limited per real client IP.
import { Signer } from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyRateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAbortHookHandler, onResponseHookHandler, onSendHookHandler, preHandlerHookHandler, RouteOptions } from 'fastify';
import { hash, randomFillSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { Redis } from 'ioredis';
import { BoundedMemo } from './cache.ts';
import { RateLimited, Unauthorized } from './errors.ts';
import { redisWithLocalFallback } from './rate-limit-store.ts';

export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The app's static files (public/ and node_modules assets): no guards, no request line, no metrics. */
export function isAssetPath(url: string): boolean {
  return url.startsWith('/static/') || url.startsWith('/vendor/');
}

export function isStateChanging(method: RouteOptions['method']): boolean {
  const methods = Array.isArray(method) ? method : [method];
  return methods.some((m) => !SAFE_METHODS.has(m.toUpperCase()));
}

/**
 * Signs cookies with SECRET_KEY (@fastify/cookie's own signer) and remembers its verdict on each signed
 * value it checks: the CSRF secret's cookie is checked on every page, and an HMAC per request was ~7 %
 * of a cached dashboard's time. The verdict depends on the value alone, so remembering it changes nothing.
 */
export function cookieSigner(secret: string): { sign(value: string): string; unsign(value: string): ReturnType<Signer['unsign']> } {
  const signer = new Signer(secret, 'sha256');
  const verdicts = new BoundedMemo<ReturnType<Signer['unsign']>>(10_000);
  return {
    sign: (value) => signer.sign(value),
    unsign: (value) => verdicts.get(value, () => Object.freeze(signer.unsign(value))),
  };
}

/** helmet's options: one place, in helmet's own vocabulary. */
function helmetOptions(): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Sent per request below: only over HTTPS.
    strictTransportSecurity: false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    // Read by no browser we support (decision 028): "0" turns off an XSS auditor that no current browser
    // has, and noopen is for Internet Explorer 8's download dialog.
    xXssProtection: false,
    xDownloadOptions: false,
  };
}

export const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * The headers helmet sets, worked out once: with no per-request input (no nonces) they are the same on
 * every response, and building helmet's middleware per request (as @fastify/helmet does) was a tenth of
 * a small response's cost.
 */
export function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = String(value); },
    removeHeader(name: string) { delete headers[name.toLowerCase()]; },
  };
  let error: unknown = new Error('helmet did not finish synchronously');
  helmet(helmetOptions())({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => { error = err ?? null; });
  if (error) throw error;
  return headers;
}

/**
 * helmet's headers on every answer, and in production HSTS on answers that went out over HTTPS: RFC 6797
 * §7.2 forbids it over plain HTTP, where a browser ignores it anyway. Behind nginx the request is HTTPS
 * when nginx says so (X-Forwarded-Proto) and TRUST_PROXY trusts it; nginx also sets HSTS itself.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const headers = securityHeaders();
  const overHttps = app.config.isProduction ? { ...headers, 'strict-transport-security': HSTS } : headers;
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.protocol === 'https' ? overHttps : headers);
    done();
  });
}

const CSRF_COOKIE = 'propart_csrf';
const CSRF_ALGORITHM = 'sha256';

export async function registerCsrf(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    csrfOpts: { algorithm: CSRF_ALGORITHM }, // csrfToken() below makes tokens with the same
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', secure: app.config.isProduction, signed: true },
    // Only from the form body or a header: never the query string, which ends up in logs and Referer.
    getToken: (req) => {
      const body = req.body as { _csrf?: unknown } | undefined;
      if (body && typeof body._csrf === 'string') return body._csrf;
      // A multipart form's fields arrive as { value } objects.
      const field = body?._csrf as { value?: unknown } | undefined;
      if (field && typeof field.value === 'string') return field.value;
      const header = req.headers['x-csrf-token'];
      return typeof header === 'string' ? header : undefined;
    },
  });
}

const salts = Buffer.alloc(4096);
let saltAt = salts.length;

/**
 * A new CSRF token for this response, made exactly as @fastify/csrf makes it — salt "-"
 * base64url(sha256(salt "-" secret)), which the plugin verifies — from the secret in the signed cookie,
 * with one hash call instead of a Hash object per token (~3 % of a cached dashboard). The salt, 8 hex
 * digits from the system's random source, makes every page's token differ (nginx gzips pages: BREACH).
 * Without a valid secret yet, the plugin makes one and sets its cookie.
 */
export function csrfToken(reply: FastifyReply): string {
  const cookie = reply.request.cookies[CSRF_COOKIE];
  const secret = cookie ? reply.request.unsignCookie(cookie) : null;
  if (!secret?.valid || !secret.value) return reply.generateCsrf();
  if (saltAt + 4 > salts.length) {
    randomFillSync(salts);
    saltAt = 0;
  }
  const salt = salts.toString('hex', saltAt, (saltAt += 4));
  return `${salt}-${hash(CSRF_ALGORITHM, `${salt}-${secret.value}`, 'base64url')}`;
}

export async function registerRateLimits(app: FastifyInstance, redis: Redis | null): Promise<void> {
  await app.register(fastifyRateLimit, {
    global: false,
    ...(redis ? { store: redisWithLocalFallback(redis, (msg) => app.log.warn({ event: 'rate_limit_store' }, msg)) as unknown as FastifyRateLimitStoreCtor } : {}),
    keyGenerator: (req) => req.ip,
    errorResponseBuilder: (_req, ctx) => new RateLimited(Math.ceil(ctx.ttl / 1000)),
  });
}

function requireSignedIn(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
  const cfg = request.routeOptions.config;
  if (!request.user) return done(new Unauthorized());
  if (request.user.mustChangePassword && !cfg.allowDuringPasswordChange) {
    if (request.method === 'GET') {
      reply.redirect('/profile/password');
      return;
    }
    return done(new Unauthorized());
  }
  done();
}

/** API routes: the request authenticated with an API key (src/api) — a session cookie alone is never enough. */
function requireApiKey(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  if (!request.apiKey || !request.user || request.user.id !== request.apiKey.userId) return done(new Unauthorized());
  done();
}

/**
 * What only state-changing routes need, run in the order added: the request transaction's begin (before
 * the handler), its commit and the session cache's "wrote" (on send), its rollback (after the response or
 * an abort). They are attached to those routes alone, so a page read runs none of them (see decision 023, "Later").
 */
export interface StateChangeHooks {
  beforeHandler: preHandlerHookHandler[];
  onSend: ((request: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown>)[];
  afterResponse: ((request: FastifyRequest) => Promise<void>)[];
}

export function stateChangeHooks(): StateChangeHooks {
  return { beforeHandler: [], onSend: [], afterResponse: [] };
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Adds the guards to every route as it is registered: CSRF on every state change first (so an
 * anonymous forged request is refused before anything else), then "signed in" unless public; and to
 * state-changing routes, the state-change hooks.
 */
export function enforceRouteGuards(app: FastifyInstance, stateChange: StateChangeHooks): void {
  // The lists are read per request, so a hook added after a route was registered still runs for it.
  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    for (const hook of stateChange.onSend) payload = await hook(request, reply, payload);
    return payload;
  };
  const afterResponse = async (request: FastifyRequest): Promise<void> => {
    for (const hook of stateChange.afterResponse) await hook(request);
  };
  app.addHook('onRoute', (route) => {
    if (isAssetPath(route.url)) return;
    const guards: preHandlerHookHandler[] = [];
    // An API-key route carries no cookies, so CSRF does not apply: it must then have a key, never a session.
    if (route.config?.apiKey) guards.push(requireApiKey as preHandlerHookHandler);
    else {
      if (isStateChanging(route.method)) guards.push(function csrf(request, reply, done) { app.csrfProtection(request, reply, done); });
      if (!route.config?.public) guards.push(requireSignedIn as preHandlerHookHandler);
    }
    if (isStateChanging(route.method)) {
      guards.push(...stateChange.beforeHandler); // filled before any route is registered
      route.onSend = [onSend as onSendHookHandler, ...asArray(route.onSend)];
      route.onResponse = [afterResponse as onResponseHookHandler, ...asArray(route.onResponse)];
      route.onRequestAbort = [afterResponse as onRequestAbortHookHandler, ...asArray(route.onRequestAbort)];
    }
    route.preHandler = [...guards, ...asArray(route.preHandler)];
  });
}
