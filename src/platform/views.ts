// Per-request language, flash messages (a signed cookie, so they survive the redirect) and page rendering.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Locale } from '../db/schema.ts';
import type { Flash, FlashType, ViewContext } from '../views/context.ts';
import { acceptsGzip } from '../views/gzip.ts';
import { fillPageTemplate, type PageTemplate, renderDocumentBytes, renderPageTemplate } from '../views/render.ts';
import { DEFAULT_LOCALE, isLocale, isMessageKey, type MessageKey, translator } from './i18n.ts';
import { csrfToken } from './security.ts';

export const LOCALE_COOKIE = 'propart_lang';
const FLASH_COOKIE = 'propart_flash';
const flashSchema = z.array(z.object({
  type: z.enum(['success', 'info', 'warning', 'danger']),
  key: z.string().refine(isMessageKey),
  params: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
})).max(10);

function readFlashes(request: FastifyRequest): Flash[] {
  const raw = request.cookies[FLASH_COOKIE];
  if (!raw) return [];
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || !unsigned.value) return [];
  try {
    const parsed = flashSchema.safeParse(JSON.parse(unsigned.value));
    return parsed.success ? (parsed.data as Flash[]) : [];
  } catch {
    return [];
  }
}

/** A path on this site to go back to: never another origin (open redirect). */
export function safeLocalPath(next: unknown, fallback = '/dashboard'): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  return next;
}

/**
 * The address of the page being shown, for the active menu item and the language switch's return.
 * A form re-shown after a POST lives at the page the user came from, not at the POST address.
 */
export function pagePath(request: FastifyRequest): string {
  if (request.method === 'GET' || request.method === 'HEAD') return request.url.split('?')[0] ?? '/';
  const referer = request.headers.referer;
  if (referer) {
    try {
      const url = new URL(referer);
      // Compared as URLs, so "localhost:80" and "localhost" are one host.
      if (url.host === new URL(`${url.protocol}//${request.headers.host ?? ''}`).host) return safeLocalPath(url.pathname, '/dashboard');
    } catch { /* not a URL */ }
  }
  return '/dashboard';
}

/**
 * The page as this request would see it without flash messages, rendered ahead with the CSRF token left
 * out (reply.viewTemplate puts each request's in). Cache it under everything the page depends on: the
 * user (name, role), the language, the path and the page's own data.
 */
export function pageTemplate(request: FastifyRequest, page: (ctx: ViewContext) => import('preact').VNode): PageTemplate {
  return renderPageTemplate((csrfToken) => page(viewContext(request, csrfToken, [], '')));
}

function viewContext(request: FastifyRequest, csrfToken: string, flashes: Flash[], requestId: string): ViewContext {
  return { t: request.t, locale: request.locale, user: request.user, csrfToken, flashes, path: pagePath(request), requestId };
}

export function registerViews(app: FastifyInstance): void {
  app.decorateRequest('locale', DEFAULT_LOCALE);
  app.decorateRequest('t', null as never);
  app.decorateRequest('flashesIn', null as never);
  app.decorateReply('flashesOut', null as never);

  app.addHook('onRequest', (request, reply, done) => {
    const cookie = request.cookies[LOCALE_COOKIE];
    request.locale = isLocale(cookie) ? cookie : DEFAULT_LOCALE;
    request.t = translator(request.locale);
    request.flashesIn = readFlashes(request);
    reply.flashesOut = [];
    done();
  });

  app.decorateReply('flash', function (this: FastifyReply, type: FlashType, key: MessageKey, params?: Record<string, string | number>) {
    this.flashesOut.push({ type, key, ...(params ? { params } : {}) });
    const pending = [...this.request.flashesIn, ...this.flashesOut].slice(-10);
    this.setCookie(FLASH_COOKIE, JSON.stringify(pending), { path: '/', httpOnly: true, sameSite: 'lax', signed: true, secure: app.config.isProduction });
    return this;
  });

  const sendPage = (reply: FastifyReply, html: Buffer) =>
    reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(html);

  app.decorateReply('view', function (this: FastifyReply, page: (ctx: ViewContext) => import('preact').VNode, statusCode?: number) {
    const request = this.request;
    const flashes = [...request.flashesIn, ...this.flashesOut];
    if (flashes.length > 0) this.clearCookie(FLASH_COOKIE, { path: '/' });
    const ctx = viewContext(request, csrfToken(this), flashes, request.id);
    // Sent as bytes: encoded once, where a string would be scanned for its length and then encoded again;
    // a part encoded ahead (EncodedHtml, from a cache) is copied in as it is.
    const html = renderDocumentBytes(page(ctx));
    if (statusCode) this.code(statusCode);
    return sendPage(this, html);
  });

  // A page rendered ahead (pageTemplate) with this request's CSRF token, gzipped for a client that takes it
  // once the page is asked again (decision 031); rendered afresh by `page` when the request has flash
  // messages to show.
  app.decorateReply('viewTemplate', function (this: FastifyReply, template: PageTemplate, page: (ctx: ViewContext) => import('preact').VNode) {
    // Either encoding may come back for the same address: caches must key on the header.
    this.header('vary', 'accept-encoding');
    if (this.request.flashesIn.length > 0 || this.flashesOut.length > 0) return this.view(page);
    const { body, written, gzip } = fillPageTemplate(template, csrfToken(this), acceptsGzip(this.request.headers['accept-encoding']));
    this.raw.once('finish', written);
    if (gzip) this.header('content-encoding', 'gzip');
    return sendPage(this, body);
  });

  // The language switch: a POST (it changes state), remembered for a year.
  app.post('/locale', { config: { public: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as { locale?: unknown; next?: unknown };
    const locale: Locale = isLocale(body.locale) ? body.locale : DEFAULT_LOCALE;
    reply.setCookie(LOCALE_COOKIE, locale, { path: '/', sameSite: 'lax', httpOnly: true, maxAge: 365 * 24 * 3600, secure: app.config.isProduction });
    if (request.user) await request.db.updateTable('users').set({ locale }).where('id', '=', request.user.id).execute();
    return reply.redirect(safeLocalPath(body.next), 303);
  });
}
