// deploy/nginx.conf for real: nginx (rendered from the template, TLS with a throwaway self-signed
// certificate) in front of two real app processes (`node --import tsx src/server.ts`, NODE_ENV=production,
// TRUST_PROXY=127.0.0.1) sharing a PostgreSQL database and a redis-server. Needs TEST_DATABASE_URL, nginx,
// openssl and redis-server; skipped with the reason otherwise. Clients connect from several loopback
// addresses (127.0.0.1, .2, .3 …) to be several clients.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { hashPassword } from '../src/auth/password.server.ts';
import {
  type AppInstance, freePort, makeCertificate, missingPrograms, type NginxHandle, type RedisHandle, stackDir, startAppInstance, startNginx, startRedis,
} from '../bench/lib/load-stack.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const skip = !process.env.TEST_DATABASE_URL
  ? 'TEST_DATABASE_URL is not set (two app instances need a PostgreSQL server)'
  : missingPrograms() ?? false;

interface Res { status: number; headers: IncomingHttpHeaders; raw: string[]; body: string; bytes: Buffer }

/** Every value of a response header, as sent (duplicates kept). */
function all(res: Res, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < res.raw.length; i += 2) if (res.raw[i]!.toLowerCase() === name) out.push(res.raw[i + 1]!);
  return out;
}

class Jar {
  readonly cookies = new Map<string, string>();
  readonly attributes = new Map<string, string>();
  absorb(res: Res): void {
    for (const line of all(res, 'set-cookie')) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '') this.cookies.delete(name); // cleared (the flash, once shown)
      else this.cookies.set(name, value);
      this.attributes.set(name, attrs.join(';').toLowerCase());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const csrfOf = (html: string) => /<meta name="csrf-token" content="([^"]*)"/.exec(html)?.[1] ?? '';

describe('deploy: nginx in front of two app instances', { skip, timeout: 240_000 }, () => {
  let dir: { dir: string; remove: () => void };
  let database: TestDatabase;
  let redis: RedisHandle;
  let apps: AppInstance[] = [];
  let nginx: NginxHandle;
  let cert: { cert: string; key: string };
  let ca: Buffer;

  function request(opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string; from?: string; plain?: boolean }): Promise<Res> {
    const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
    const common = {
      host: '127.0.0.1', method: opts.method ?? 'GET', path: opts.path, agent: false as const,
      localAddress: opts.from ?? '127.0.0.1',
      headers: { host: `localhost:${opts.plain ? nginx.httpPort : nginx.httpsPort}`, ...(body ? { 'content-length': String(body.length) } : {}), ...opts.headers },
    };
    return new Promise((resolve, reject) => {
      let answered = false;
      const onResponse = (res: http.IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => { const bytes = Buffer.concat(chunks); resolve({ status: res.statusCode!, headers: res.headers, raw: res.rawHeaders, body: bytes.toString('utf8'), bytes }); });
        res.on('error', reject);
      };
      const req = opts.plain
        ? http.request({ ...common, port: nginx.httpPort }, onResponse)
        : https.request({ ...common, port: nginx.httpsPort, servername: 'localhost', ca }, onResponse);
      // nginx may answer (413) and close before the whole body is written: the answer is what counts.
      req.on('error', (err) => { if (!answered) reject(err); });
      req.setTimeout(30_000, () => req.destroy(new Error(`${opts.method ?? 'GET'} ${opts.path}: no answer in 30 s`)));
      req.end(body);
    });
  }

  async function loginPage(from: string): Promise<{ jar: Jar; token: string }> {
    const jar = new Jar();
    const page = await request({ path: '/login', from, headers: { accept: 'text/html' } });
    assert.equal(page.status, 200, `GET /login from ${from}: ${page.status}`);
    jar.absorb(page);
    const token = csrfOf(page.body);
    assert.ok(token, 'the login page has a CSRF token');
    return { jar, token };
  }

  function postForm(path: string, jar: Jar, form: Record<string, string>, extra: { from?: string; headers?: Record<string, string> } = {}): Promise<Res> {
    return request({
      method: 'POST', path, from: extra.from, body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: jar.header(), ...extra.headers },
    });
  }

  before(async () => {
    dir = stackDir('deploy-test');
    cert = makeCertificate(dir.dir);
    ca = readFileSync(cert.cert);
    database = await createTestDatabase('postgres');
    const hash = await hashPassword('agent-one-password', 4);
    await database.handle.db.insertInto('users').values([
      { username: 'admin_one', email: 'admin_one@example.com', display_name: 'Admin', password_hash: hash, role: 'admin' },
      { username: 'agent_one', email: 'agent_one@example.com', display_name: 'Agent', password_hash: hash, role: 'agent' },
    ]).execute();
    redis = await startRedis(dir.dir);
    const env = {
      DATABASE_URL: database.url!, REDIS_URL: redis.url, SECRET_KEY: randomBytes(32).toString('hex'),
      BCRYPT_COST: '4', DB_POOL_MAX: '4', LOG_LEVEL: 'info',
    };
    const ports = [await freePort(), await freePort()];
    apps = await Promise.all(ports.map((port, i) => startAppInstance(`app${i + 1}`, { port, dir: dir.dir, env })));
    nginx = await startNginx({ dir: dir.dir, upstreams: [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`], cert });
  });

  after(async () => {
    await nginx?.proc.stop('SIGTERM', 5000);
    await Promise.all(apps.map((a) => a.proc.stop('SIGTERM', 20_000)));
    await redis?.proc.stop('SIGTERM', 5000);
    await database?.close();
    dir?.remove();
  });

  test('TLS 1.2 and 1.3 are offered, older protocols refused', async () => {
    const handshake = (min: tls.SecureVersion, max: tls.SecureVersion, extra: tls.ConnectionOptions = {}) => new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: nginx.httpsPort, servername: 'localhost', ca, minVersion: min, maxVersion: max, ...extra }, () => {
        const p = s.getProtocol() ?? '?';
        s.end();
        resolve(p);
      });
      s.on('error', reject);
    });
    assert.equal(await handshake('TLSv1.2', 'TLSv1.2'), 'TLSv1.2');
    assert.equal(await handshake('TLSv1.3', 'TLSv1.3'), 'TLSv1.3');
    // The client is willing (security level 0 allows TLS 1.0/1.1): it is the server that says no.
    await assert.rejects(handshake('TLSv1', 'TLSv1.1', { ciphers: 'DEFAULT@SECLEVEL=0' }), (err: NodeJS.ErrnoException) => {
      assert.match(`${err.code} ${err.message}`, /protocol.version|unsupported.protocol|no.protocols/i);
      return true;
    });
  });

  test('http:// answers 301 to the same path on https://, except the ACME challenge', async () => {
    const res = await request({ plain: true, path: '/dashboard?page=2' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `https://localhost:${nginx.httpsPort}/dashboard?page=2`);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(nginx.prefix, 'acme/.well-known/acme-challenge/token123'), 'token123.key');
    const acme = await request({ plain: true, path: '/.well-known/acme-challenge/token123' });
    assert.equal(acme.status, 200);
    assert.equal(acme.body, 'token123.key');
  });

  test('the security headers arrive exactly once on pages, static files and nginx\'s own answers', async () => {
    const appHeaders = (res: Res, what: string) => {
      const one = (name: string) => {
        const v = all(res, name);
        assert.equal(v.length, 1, `${what}: ${name} sent ${v.length} times (${JSON.stringify(v)})`);
        return v[0]!;
      };
      assert.match(one('content-security-policy'), /default-src 'self'/, what);
      assert.match(one('content-security-policy'), /frame-ancestors 'none'/, what);
      assert.equal(one('x-frame-options'), 'DENY', what);
      assert.equal(one('x-content-type-options'), 'nosniff', what);
      assert.equal(one('referrer-policy'), 'same-origin', what);
      assert.equal(one('strict-transport-security'), 'max-age=31536000; includeSubDomains', what);
    };
    const page = await request({ path: '/login', headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    appHeaders(page, 'GET /login');
    assert.equal(page.headers.server, 'nginx', 'no version in the Server header');

    const css = await request({ path: '/static/app.css', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(css.status, 200);
    appHeaders(css, 'GET /static/app.css');
    assert.equal(css.headers['cache-control'], 'max-age=3600');
    assert.ok(css.headers.expires, '/static/ has an Expires header');

    const vendor = await request({ path: '/vendor/bootstrap/css/bootstrap.min.css', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(vendor.status, 200);
    appHeaders(vendor, 'GET /vendor/bootstrap/css/bootstrap.min.css');
    assert.equal(vendor.headers['cache-control'], 'max-age=604800');
    assert.equal(vendor.headers['content-encoding'], 'gzip', 'CSS is compressed');
    assert.match(String(vendor.headers.vary), /accept-encoding/i);

    const missing = await request({ path: '/no-such-page', headers: { accept: 'text/html' } });
    assert.equal(missing.status, 404);
    appHeaders(missing, 'the app\'s 404 page');
    assert.ok(missing.headers['x-request-id'], 'the 404 page came from the app');

    // nginx's own answers carry HSTS (added with `always`), once.
    const metrics = await request({ path: '/metrics' });
    assert.equal(metrics.status, 404);
    assert.deepEqual(all(metrics, 'strict-transport-security'), ['max-age=31536000; includeSubDomains']);
  });

  test('signing in works through the proxy: Secure cookies over https, a session, the dashboard', async () => {
    const { jar, token } = await loginPage('127.0.0.9');
    assert.match(jar.attributes.get('propart_csrf') ?? '', /secure/);
    const res = await postForm('/login', jar, { _csrf: token, username: 'agent_one', password: 'agent-one-password' }, { from: '127.0.0.9' });
    assert.equal(res.status, 303, res.body.slice(0, 300));
    jar.absorb(res);
    assert.match(jar.attributes.get('propart_sid') ?? '', /secure/);
    assert.match(jar.attributes.get('propart_sid') ?? '', /httponly/);
    // Both instances serve the same session (it lives in PostgreSQL): several requests hit both.
    for (let i = 0; i < 4; i++) {
      const dash = await request({ path: '/dashboard', from: '127.0.0.9', headers: { accept: 'text/html', cookie: jar.header() } });
      assert.equal(dash.status, 200, `dashboard request ${i + 1}: ${dash.status}`);
      jar.absorb(dash);
    }
    // Compressed once (decision 031): a dashboard asked again comes gzipped from the app, and nginx passes
    // it on as it is; a page the app sends plain (the login form) is gzipped by nginx.
    for (let i = 0; i < 2; i++) {
      const dash = await request({ path: '/dashboard', from: '127.0.0.9', headers: { accept: 'text/html', cookie: jar.header(), 'accept-encoding': 'gzip' } });
      assert.equal(dash.status, 200);
      assert.deepEqual(all(dash, 'content-encoding'), ['gzip'], `dashboard ${i + 1}`);
      assert.equal(Number(dash.headers['content-length']), dash.bytes.length, "the app's gzip, passed on (nginx's own is chunked)");
      assert.match(gunzipSync(dash.bytes).toString('utf8'), /^<!doctype html>[^]*<meta name="csrf-token" content="[\w-]+"/, 'one gunzip gives the page');
    }
    const form = await request({ path: '/login', headers: { accept: 'text/html', 'accept-encoding': 'gzip' } });
    assert.deepEqual(all(form, 'content-encoding'), ['gzip']);
    assert.equal(form.headers['content-length'], undefined, 'compressed by nginx, as it goes');
    assert.match(gunzipSync(form.bytes).toString('utf8'), /^<!doctype html>/);
  });

  test('the login rate limit counts the real client address: a forged X-Forwarded-For buys nothing; each client has its own 10', async () => {
    for (const from of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      const { jar, token } = await loginPage(from);
      const statuses: number[] = [];
      let last: Res | undefined;
      for (let i = 1; i <= 11; i++) {
        // A different forged address on every attempt: if the app believed it, each would be a new bucket.
        last = await postForm('/login', jar, { _csrf: token, username: 'nobody_here', password: 'wrong-password-123' }, {
          from, headers: { 'x-forwarded-for': `203.0.113.${i}`, 'x-real-ip': `198.51.100.${i}` },
        });
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), 429], `attempts from ${from}`);
      // The 429 is the app's (a request id, its message, Retry-After), not nginx's looser limit.
      assert.ok(last!.headers['x-request-id'], 'the 429 came from the app');
      assert.ok(Number(last!.headers['retry-after']) > 0);
      assert.match(last!.body, /Забагато спроб/);
    }

    // Both instances took part and logged the real addresses, never a forged one.
    const logged = await waitForLogLines(apps, (l) => l.url === '/login' && l.method === 'POST', 33);
    const perInstance = logged.map((lines) => lines.length);
    assert.ok(perInstance.every((n) => n > 0), `POST /login lines per instance: ${perInstance.join(', ')} (round robin expected)`);
    const ips = new Set(logged.flat().map((l) => l.ip));
    for (const ip of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) assert.ok(ips.has(ip), `${ip} logged`);
    for (const ip of ips) assert.match(String(ip), /^127\.0\.0\.\d+$/, 'only real client addresses are logged, never a forged one');
  });

  test('nginx\'s own login limit is looser than the app\'s and answers 429 itself only beyond it', async () => {
    const from = '127.0.0.4';
    const { jar, token } = await loginPage(from);
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await postForm('/login', jar, { _csrf: token, username: 'nobody_here', password: 'wrong-password-123' }, { from });
      seen.push(res.status === 429 ? (res.headers['x-request-id'] ? 'app429' : 'nginx429') : String(res.status));
      if (res.status === 429 && !res.headers['x-request-id']) assert.match(res.body, /Забагато спроб/);
    }
    assert.deepEqual(seen.slice(0, 10), Array(10).fill('401'), seen.join(' '));
    assert.deepEqual(seen.slice(10, 21), Array(11).fill('app429'), `the app limits first: ${seen.join(' ')}`);
    assert.ok(seen.slice(21).includes('nginx429'), `nginx limits a flood beyond its burst: ${seen.join(' ')}`);
  });

  test('uploads: 9 MB reaches the app, over 10 MB the app answers 413, over 11 MB nginx answers 413', async () => {
    const from = '127.0.0.5';
    const multipart = (token: string, bytes: number) => {
      const b = `----propart${randomBytes(8).toString('hex')}`;
      return {
        contentType: `multipart/form-data; boundary=${b}`,
        body: Buffer.concat([
          Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n--${b}\r\nContent-Disposition: form-data; name="id_document"; filename="scan.pdf"\r\nContent-Type: application/pdf\r\n\r\n`),
          Buffer.alloc(bytes, 0x25),
          Buffer.from(`\r\n--${b}--\r\n`),
        ]),
      };
    };
    const send = async (bytes: number) => {
      // Signed in (the app refuses anonymous uploads before reading them), then the agent's verification
      // form: the whole multipart body is parsed before it answers (the file is then judged).
      const { jar, token } = await loginPage(from);
      const login = await postForm('/login', jar, { _csrf: token, username: 'agent_one', password: 'agent-one-password' }, { from });
      assert.equal(login.status, 303);
      jar.absorb(login);
      const page = await request({ path: '/dashboard', from, headers: { accept: 'text/html', cookie: jar.header() } });
      jar.absorb(page);
      const { contentType, body } = multipart(csrfOf(page.body) || token, bytes);
      return request({ method: 'POST', path: '/verification', from, body, headers: { 'content-type': contentType, accept: 'text/html', cookie: jar.header() } });
    };
    const MB = 1024 * 1024;

    const nine = await send(9 * MB);
    assert.equal(nine.status, 400, `9 MB: ${nine.status} ${nine.body.slice(0, 200)}`);
    assert.ok(nine.headers['x-request-id'], 'the app answered');
    assert.match(nine.body, /data-testid="verification-form"/, 'read whole: the form is shown again with what is wrong with the file');

    const overApp = await send(10.5 * MB);
    assert.equal(overApp.status, 413);
    assert.ok(overApp.headers['x-request-id'], 'the app answered');
    assert.match(overApp.body, /Файл завеликий: максимум 10 МБ/);

    const overNginx = await send(12 * MB);
    assert.equal(overNginx.status, 413);
    assert.equal(overNginx.headers['x-request-id'], undefined, 'nginx answered without troubling the app');
    assert.match(overNginx.body, /Файл завеликий/);
    assert.match(overNginx.body, /10 MB/);
    assert.deepEqual(all(overNginx, 'strict-transport-security'), ['max-age=31536000; includeSubDomains']);
  });

  test('/metrics is never served through the proxy, but each instance answers loopback scrapes', async () => {
    for (const p of ['/metrics', '/metrics/', '/metrics?x=1', '/%6Detrics']) {
      const res = await request({ path: p });
      assert.equal(res.status, 404, `${p} through nginx`);
      assert.equal(res.headers['x-request-id'], undefined, `${p}: nginx refused it, the app never saw it`);
    }
    const direct = await fetch(`http://127.0.0.1:${apps[0]!.port}/metrics`);
    assert.equal(direct.status, 200);
    assert.match(await direct.text(), /propart_http_requests_total/);
  });

  test('rolling restart, one instance at a time: no GET fails; a POST only in the instant an instance closes', async (t) => {
    const from = '127.0.0.6';
    const { jar, token } = await loginPage(from);
    let running = true;
    interface Failure { kind: string; what: string; phase: string; ms: number }
    const failures: Failure[] = [];
    let count = 0;
    let phase = 'running';
    let phaseAt = Date.now();
    const mark = (p: string) => { phase = p; phaseAt = Date.now(); };
    const loop = async (kind: 'get' | 'post') => {
      while (running) {
        try {
          const res = kind === 'get'
            ? await request({ path: '/login', from, headers: { accept: 'text/html' } })
            : await postForm('/logout', jar, { _csrf: token }, { from });
          count++;
          const ok = kind === 'get' ? res.status === 200 : res.status === 303;
          if (!ok) failures.push({ kind, what: `${res.status} ${res.body.slice(0, 60).replace(/\s+/g, ' ')}`, phase, ms: Date.now() - phaseAt });
        } catch (err) {
          failures.push({ kind, what: err instanceof Error ? err.message : String(err), phase, ms: Date.now() - phaseAt });
        }
        await new Promise((r) => setTimeout(r, 10)); // steady traffic, not a CPU-starving flood
      }
    };
    const loops = [loop('get'), loop('get'), loop('post'), loop('post')];
    await new Promise((r) => setTimeout(r, 300));
    for (const app of apps) {
      const before = count;
      mark(`stopping ${app.proc.name}`);
      await app.proc.stop('SIGTERM', 20_000);
      assert.equal((await app.proc.exited).code, 0, `${app.proc.name} stopped cleanly`);
      mark(`${app.proc.name} down`);
      await new Promise((r) => setTimeout(r, 300)); // traffic while it is down
      await app.restart();
      // The documented procedure (deploy/rolling-restart.sh): /readyz answers, then nginx's fail_timeout
      // (3 s) + 2 s, so that nginx has taken the instance back before the other one goes down.
      const ready = await fetch(`http://127.0.0.1:${app.port}/readyz`);
      assert.equal(ready.status, 200);
      mark(`${app.proc.name} back`);
      await new Promise((r) => setTimeout(r, 5000));
      assert.ok(count > before + 20, 'requests kept flowing');
    }
    running = false;
    await Promise.all(loops);
    // Known limit, app side: a POST that nginx writes on a kept-alive connection in the very instant the
    // stopping instance closes it cannot be retried by nginx (never for a POST already sent). Only those
    // are tolerated here, and only at the two instants a connection can close under it: SIGTERM, and the
    // end of the one-second drain (src/server.ts), when close() drops the idle connections.
    const race = (f: Failure) => f.kind === 'post' && f.phase.startsWith('stopping') && (f.ms < 250 || (f.ms >= 1000 && f.ms < 1250));
    const unexpected = failures.filter((f) => !race(f));
    assert.deepEqual(unexpected, [], `${unexpected.length} of ${count} requests failed outside the stop instant`);
    assert.ok(failures.length <= 4, `${failures.length} POSTs lost at SIGTERM: ${JSON.stringify(failures)}`);
    t.diagnostic(`${count} requests during two restarts; POSTs lost at the instant of SIGTERM: ${failures.length}`);
  });

  test('with both instances down nginx answers its own 503 page', async () => {
    await Promise.all(apps.map((a) => a.proc.stop('SIGTERM', 20_000)));
    const res = await request({ path: '/login', headers: { accept: 'text/html' } });
    assert.equal(res.status, 503);
    assert.match(res.body, /Сервіс тимчасово недоступний/);
    assert.deepEqual(all(res, 'strict-transport-security'), ['max-age=31536000; includeSubDomains']);
  });
});

interface LogLine { method?: string; url?: string; ip?: string; msg?: string }

/** Waits until the instances' logs hold at least `min` matching lines in total (the log is written asynchronously). */
async function waitForLogLines(apps: AppInstance[], match: (l: LogLine) => boolean, min: number): Promise<LogLine[][]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const per = apps.map((a) => {
      let text = '';
      try { text = readFileSync(path.join(a.logDir, 'propart.log'), 'utf8'); } catch { /* not yet */ }
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine).filter((l) => l.msg === 'request completed' && match(l));
    });
    if (per.flat().length >= min || Date.now() > deadline) return per;
    await new Promise((r) => setTimeout(r, 100));
  }
}
