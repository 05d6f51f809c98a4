// A browser-like client over app.inject: keeps cookies, finds the CSRF token on the last page.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/** A file in a multipart form: the form field, the file name the browser sends, the bytes. */
export interface FilePart { field: string; name: string; data: Uint8Array; type?: string }

export class Client {
  readonly cookies = new Map<string, string>();
  /** When a cookie set with Max-Age or Expires stops being sent, as a browser would (ms since the epoch). */
  readonly cookieExpiry = new Map<string, number>();
  csrfToken = '';
  lastHtml = '';
  readonly app: FastifyInstance;
  readonly headers: Record<string, string>;
  constructor(app: FastifyInstance, headers: Record<string, string> = {}) {
    this.app = app;
    this.headers = headers;
  }

  private cookieHeader(): string {
    const now = Date.now();
    for (const [name, at] of this.cookieExpiry) if (at <= now) { this.cookies.delete(name); this.cookieExpiry.delete(name); }
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private absorb(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const c of res.cookies as { name: string; value: string; expires?: Date; maxAge?: number }[]) {
      if (c.value === '' || (c.expires && c.expires.getTime() < Date.now()) || c.maxAge === 0) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
      if (c.maxAge) this.cookieExpiry.set(c.name, Date.now() + c.maxAge * 1000);
      else if (c.expires) this.cookieExpiry.set(c.name, c.expires.getTime());
      else this.cookieExpiry.delete(c.name);
    }
    if ((res.headers['content-type'] ?? '').toString().includes('text/html')) {
      this.lastHtml = res.body;
      const m = /<meta name="csrf-token" content="([^"]*)"/.exec(res.body);
      if (m?.[1]) this.csrfToken = m[1];
    }
    return res;
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.absorb(await this.app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...this.headers, cookie: this.cookieHeader(), ...headers } }));
  }

  /** Posts a form the way a browser does, with the page's CSRF token unless `_csrf` is given. */
  async post(url: string, form: Record<string, string> = {}, opts: { csrf?: boolean; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
    if (opts.csrf !== false && !this.csrfToken) await this.get('/login');
    const body = new URLSearchParams({ ...(opts.csrf === false ? {} : { _csrf: this.csrfToken }), ...form }).toString();
    return this.absorb(await this.app.inject({
      method: 'POST', url, payload: body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...this.headers, cookie: this.cookieHeader(), ...opts.headers },
    }));
  }

  /** Posts a multipart form (fields and files) the way a browser does, with the page's CSRF token unless csrf: false. */
  async multipart(url: string, fields: Record<string, string>, files: FilePart[], opts: { csrf?: boolean; json?: boolean } = {}): Promise<LightMyRequestResponse> {
    if (opts.csrf !== false && !this.csrfToken) await this.get('/login');
    const fd = new FormData();
    if (opts.csrf !== false) fd.append('_csrf', this.csrfToken);
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    for (const f of files) fd.append(f.field, new Blob([new Uint8Array(f.data)], { type: f.type ?? 'application/octet-stream' }), f.name);
    const req = new Request('http://localhost/', { method: 'POST', body: fd });
    return this.absorb(await this.app.inject({
      method: 'POST', url, payload: Buffer.from(await req.arrayBuffer()),
      headers: { 'content-type': req.headers.get('content-type')!, accept: opts.json ? 'application/json' : 'text/html', ...this.headers, cookie: this.cookieHeader() },
    }));
  }

  async json(method: string, url: string, payload?: unknown, opts: { csrf?: boolean } = {}): Promise<LightMyRequestResponse> {
    if (opts.csrf !== false && !this.csrfToken) await this.get('/login');
    return this.absorb(await this.app.inject({
      method: method as 'POST', url, payload: payload as object,
      headers: { accept: 'application/json', 'content-type': 'application/json', ...this.headers, cookie: this.cookieHeader(), ...(opts.csrf === false ? {} : { 'x-csrf-token': this.csrfToken }) },
    }));
  }

  async login(username: string, password: string): Promise<LightMyRequestResponse> {
    await this.get('/login');
    return this.post('/login', { username, password });
  }
}

/** The `<select id="…">` of a page: its opening tag and its options (value, selected, label) as rendered. */
export function selectIn(html: string, id: string): { tag: string; options: { value: string; selected: boolean; label: string }[] } {
  const at = html.indexOf(`<select id="${id}"`);
  if (at < 0) throw new Error(`no <select id="${id}"> in the page`);
  const inner = html.slice(at, html.indexOf('</select>', at));
  return {
    tag: inner.slice(0, inner.indexOf('>') + 1),
    options: [...inner.matchAll(/<option([^>]*)>([^<]*)/g)].map((m) => ({
      value: /\bvalue="([^"]*)"/.exec(m[1]!)?.[1] ?? '',
      selected: /\sselected(?=[\s=]|$)/.test(m[1]!),
      label: m[2]!,
    })),
  };
}
