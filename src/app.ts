// buildApp(): every capability of the server, registered in order. It never listens (server.ts does).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { apiRoutes } from './api/routes.ts';
import { authRoutes } from './auth/routes.tsx';
import type { Config } from './config.ts';
import { commentRoutes } from './comments/routes.tsx';
import { dashboardRoutes } from './dashboard/routes.tsx';
import { boardRoutes } from './board/routes.tsx';
import { documentRoutes } from './documents/routes.tsx';
import { leadRoutes } from './leads/routes.tsx';
import { importRoutes } from './import/routes.tsx';
import type { DatabaseHandle } from './db/database.ts';
import type { HubSpotGateway } from './hubspot/gateway.ts';
import { createStorage, type FileStorage } from './storage/storage.server.ts';
import { syncAdminRoutes } from './hubspot/routes.tsx';
import { registerErrorHandling } from './platform/error-handler.ts';
import { registerHealth } from './platform/health.ts';
import { registerMetrics } from './platform/metrics.ts';
import { requestLoggerFactory, scrubUrl } from './platform/logging.ts';
import { cookieSigner, enforceRouteGuards, isAssetPath, registerCsrf, registerRateLimits, registerSecurityHeaders, stateChangeHooks } from './platform/security.ts';
import { registerSessions } from './platform/session.ts';
import { registerRequestTransactions } from './platform/transaction.ts';
import './platform/types.ts';
import { registerViews } from './platform/views.ts';
import { profileRoutes } from './profile/routes.tsx';
import { apiKeyProfileRoutes } from './profile/api-keys-routes.tsx';
import { verificationRoutes } from './verification/routes.tsx';
import { auditRoutes } from './audit/routes.tsx';
import { hubspotContactsRoutes } from './admin/hubspot-contacts.tsx';
import { adminUserRoutes } from './users/admin-routes.tsx';
import { propertyRoutes } from './properties/routes.tsx';
import { knowledgeRoutes } from './knowledge/routes.tsx';

export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface AppDeps {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  redis?: Redis | null;
  /** Null when HubSpot is not configured. Only the admin's "test connection" uses it inside a request. */
  hubspot?: HubSpotGateway | null;
  /** Private file storage; built from config.storage when not given. */
  storage?: FileStorage;
  /** Extra routes registered after the guards (tests use it to probe the platform). */
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
}

export async function buildApp({ config, logger, database, redis = null, hubspot = null, storage, extraRoutes }: AppDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One "request completed" line per request is written by our own onResponse hook.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    // A request's logger child is made when it first writes a line (most never do at the usual levels).
    childLoggerFactory: requestLoggerFactory as unknown as FastifyServerOptions['childLoggerFactory'],
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // A hop count is accepted at run time although the types only name the other forms.
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    // A request that reaches a stopping instance on a connection it still has open is served (the
    // database closes only after the server): nginx never retries a POST it already sent, so a 503 here
    // would lose it. New connections are refused from close() on; idle ones are closed then.
    return503OnClosing: false,
  });

  // Every registered route, for the CSRF/authorisation tests and diagnostics.
  const routeTable: { method: string; url: string; public: boolean; apiKey: boolean }[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routeTable.push({ method, url: r.url, public: !!r.config?.public, apiKey: !!r.config?.apiKey });
  });
  app.decorate('config', config);
  app.decorate('database', database);
  app.decorate('db', database.db);
  app.decorate('hubspot', hubspot);
  app.decorate('storage', storage ?? createStorage(config.storage));

  // Plumbing: parsing, cookies (signed with SECRET_KEY), headers.
  await app.register(fastifyCookie, { secret: cookieSigner(config.secretKey) });
  await app.register(fastifyFormbody);
  registerSecurityHeaders(app);
  // Hooks that never wait are written with `done`: an async one costs every request a promise and a turn.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (!isAssetPath(request.url)) {
      const level = reply.statusCode >= 500 ? 'error' : reply.statusCode >= 400 ? 'warn' : 'info';
      // Written by the root logger with the request id, as the request's child would write it, so a request
      // that logs nothing else needs no child (RequestLogger); the request's level (a route's) still rules.
      if ((request.log as unknown as Logger).isLevelEnabled(level)) {
        app.log[level]({ reqId: request.id, method: request.method, url: scrubUrl(request.url), statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime), ip: request.ip }, 'request completed');
      }
    }
    done();
  });

  // Guards, added by an onRoute hook to every route registered after this line — which is all of them:
  // CSRF on each state change, then "signed in" unless the route is public, then the request transaction.
  const stateChange = stateChangeHooks();
  registerRequestTransactions(app, stateChange);
  enforceRouteGuards(app, stateChange);

  // Per-request state: language and flash messages, session.
  registerViews(app);
  registerSessions(app, stateChange);
  registerErrorHandling(app);

  await registerCsrf(app);
  await registerRateLimits(app, redis);

  // Assets from node_modules and public/, served by the app itself (no CDN: the CSP stays strict).
  await app.register(fastifyStatic, { root: path.join(ROOT_DIR, 'public'), prefix: '/static/', maxAge: '1h' });
  await app.register(fastifyStatic, { root: path.join(ROOT_DIR, 'node_modules/bootstrap/dist'), prefix: '/vendor/bootstrap/', decorateReply: false, maxAge: '7d', immutable: true });
  await app.register(fastifyStatic, { root: path.join(ROOT_DIR, 'node_modules/chart.js/dist'), prefix: '/vendor/chart.js/', decorateReply: false, maxAge: '7d', immutable: true, allowedPath: (p) => p.endsWith('.js') });
  await app.register(fastifyStatic, { root: path.join(ROOT_DIR, 'node_modules/bootstrap-icons/font'), prefix: '/vendor/bootstrap-icons/', decorateReply: false, maxAge: '7d', immutable: true });

  // Features.
  registerHealth(app);
  registerMetrics(app, config.metricsToken);
  await app.register(authRoutes);
  await app.register(profileRoutes);
  await app.register(dashboardRoutes);
  await app.register(boardRoutes);
  await app.register(leadRoutes);
  await app.register(commentRoutes);
  await app.register(syncAdminRoutes);
  await app.register(adminUserRoutes);
  await app.register(auditRoutes);
  await app.register(hubspotContactsRoutes);
  await app.register(knowledgeRoutes);
  // Multipart bodies are parsed only by the features whose forms upload files: anywhere else such a body
  // is refused unread (415), and no other page pays for @fastify/multipart's three hooks per request. They
  // are parsed before the guards run, so the CSRF field is checked like any other.
  await app.register(async (uploads) => {
    await uploads.register(fastifyMultipart, { attachFieldsToBody: true, limits: { fileSize: config.storage.maxBytes, files: 20, fields: 50, parts: 70 } });
    await uploads.register(importRoutes);
    await uploads.register(documentRoutes);
    await uploads.register(verificationRoutes);
    await uploads.register(propertyRoutes);
  });
  await app.register(apiKeyProfileRoutes);
  await app.register(apiRoutes);
  if (extraRoutes) await app.register(async (child) => extraRoutes(child));

  return app;
}
