// What the platform plugins add to Fastify's request, reply and instance — declared in one place.
import type { Transaction } from 'kysely';
import type { VNode } from 'preact';
import type { Config } from '../config.ts';
import type { DatabaseHandle, Db } from '../db/database.ts';
import type { Database, Locale } from '../db/schema.ts';
import type { CurrentUser, Flash, FlashType, ViewContext } from '../views/context.ts';
import type { MessageKey, Translate } from './i18n.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    routeTable: { method: string; url: string; public: boolean; apiKey: boolean }[];
    database: DatabaseHandle;
    /** The base handle; in a request use request.db, which is the request's transaction on writes. */
    db: Db;
    hubspot: import('../hubspot/gateway.ts').HubSpotGateway | null;
    storage: import('../storage/storage.server.ts').FileStorage;
  }
  interface FastifyRequest {
    /** The request's database handle: a transaction for every state-changing request. */
    db: Db | Transaction<Database>;
    user: CurrentUser | null;
    sessionId: string | null;
    locale: Locale;
    t: Translate;
    flashesIn: Flash[];
    /** The API key a /api/v1 request authenticated with (routes flagged `apiKey`); null elsewhere. */
    apiKey: { id: number; userId: number; allowedOrigins: string[] } | null;
  }
  interface FastifyReply {
    flashesOut: Flash[];
    flash(type: FlashType, key: MessageKey, params?: Record<string, string | number>): FastifyReply;
    /** Renders a page with the request's view context and sends it as HTML. */
    view(page: (ctx: ViewContext) => VNode, statusCode?: number): FastifyReply;
    /**
     * Sends a page rendered ahead (platform/views.ts pageTemplate) with this request's CSRF token; when the
     * request has flash messages to show, renders `page` instead.
     */
    viewTemplate(template: import('../views/render.ts').PageTemplate, page: (ctx: ViewContext) => VNode): FastifyReply;
  }
  interface FastifyContextConfig {
    /** Reachable without signing in (login, registration, health). */
    public?: boolean;
    /** Reachable while the user must still change a temporary password. */
    allowDuringPasswordChange?: boolean;
    /** An API route: authenticated by an API key only (never the session cookie), so no CSRF token. */
    apiKey?: boolean;
  }
}
