// An HTTPS client for the load benchmark's set-up: trusts exactly the stack's self-signed certificate,
// keeps cookies, signs in like a browser (GET the form for the CSRF cookie and token, POST it).
import https from 'node:https';

export interface Reply { status: number; headers: Record<string, string | string[] | undefined>; setCookies: string[]; body: string }

export class HttpsClient {
  readonly cookies = new Map<string, string>();
  readonly port: number;
  readonly ca: Buffer;
  readonly localAddress: string;
  constructor(port: number, ca: Buffer, localAddress = '127.0.0.1') {
    this.port = port;
    this.ca = ca;
    this.localAddress = localAddress;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  request(method: string, path: string, form?: Record<string, string>): Promise<Reply> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: this.port, servername: 'localhost', ca: this.ca, method, path, agent: false, localAddress: this.localAddress,
        headers: {
          host: `localhost:${this.port}`, accept: 'text/html', cookie: this.cookieHeader(),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          for (const line of setCookies) {
            const pair = line.split(';')[0]!;
            const eq = pair.indexOf('=');
            this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
          }
          resolve({ status: res.statusCode!, headers: res.headers, setCookies, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.end(body);
    });
  }

  /** The CSRF token of a page (its <meta name="csrf-token">). */
  async csrfFrom(path: string): Promise<string> {
    const page = await this.request('GET', path);
    const token = /<meta name="csrf-token" content="([^"]*)"/.exec(page.body)?.[1];
    if (page.status !== 200 || !token) throw new Error(`GET ${path}: status ${page.status}, no CSRF token`);
    return token;
  }

  async login(username: string, password: string): Promise<void> {
    const token = await this.csrfFrom('/login');
    const res = await this.request('POST', '/login', { _csrf: token, username, password });
    if (res.status !== 303 || !this.cookies.get('propart_sid')) throw new Error(`POST /login as ${username}: status ${res.status}`);
  }
}
