// The production topology on one machine, for `npm run bench:load` and test/deploy-nginx.test.ts:
// nginx (rendered from deploy/nginx.conf, TLS with a throwaway self-signed certificate) in front of two
// real app processes (`node --import tsx src/server.ts`, as systemd runs them) sharing one redis-server.
// Everything is a child process of the caller, on 127.0.0.1 and free ports, with its files in one temp
// folder; stop() undoes it all, and an exit hook kills whatever is left if the caller crashes.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSite, renderStandalone } from '../../deploy/render-nginx.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// ---- finding the programs ----
function which(name: string, extra: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}
/** nginx ($NGINX_BIN, else PATH, else /usr/sbin), or null. */
export const findNginx = () => (process.env.NGINX_BIN && existsSync(process.env.NGINX_BIN) ? process.env.NGINX_BIN : which('nginx', ['/usr/sbin', '/usr/local/sbin']));
export const findOpenssl = () => which('openssl');
export const findRedisServer = () => (process.env.REDIS_SERVER && existsSync(process.env.REDIS_SERVER) ? process.env.REDIS_SERVER : which('redis-server', ['/usr/bin', '/usr/sbin']));

/** Why the stack cannot run here (a missing program), or null. */
export function missingPrograms(): string | null {
  const missing = [['nginx', findNginx()], ['openssl', findOpenssl()], ['redis-server', findRedisServer()]].filter(([, p]) => !p).map(([n]) => n);
  return missing.length ? `${missing.join(', ')} not installed (apt-get install -y ${missing.join(' ')})` : null;
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port. */
async function waitForPort(port: number, host: string, timeoutMs: number, alive: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`${what()} exited before listening`);
    if (Date.now() > deadline) throw new Error(`${what()} did not listen on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- child processes ----
export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** The last 64 kB of stdout + stderr. */
  output(): string;
  /** Sends `signal`, waits `graceMs`, then SIGKILL; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<Managed>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // The caller crashed or forgot: nothing may outlive it. nginx gets SIGTERM (its master then ends its
  // workers), everything else SIGKILL.
  process.on('exit', () => {
    for (const m of live) {
      try { process.kill(m.pid, m.name.startsWith('nginx') ? 'SIGTERM' : 'SIGKILL'); } catch { /* gone */ }
    }
  });
}

export function spawnManaged(name: string, file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Managed {
  hookExit();
  const child = spawn(file, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`);
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString('utf8');
    if (out.length > 65536) out = out.slice(-65536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      live.delete(m);
      resolve({ code, signal });
    });
  });
  const m: Managed = {
    name, pid: child.pid, child, exited,
    alive: () => !done,
    output: () => out,
    stop: async (signal = 'SIGTERM', graceMs = 20_000) => {
      if (done) return;
      try { process.kill(child.pid!, signal); } catch { /* gone */ }
      const timer = setTimeout(() => { try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(m);
  return m;
}

// ---- the pieces ----
/** A self-signed certificate for localhost and 127.0.0.1 (ECDSA P-256, valid 2 days). */
export function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(findOpenssl() ?? 'openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert, key };
}

export interface RedisHandle { url: string; proc: Managed }

export async function startRedis(dir: string): Promise<RedisHandle> {
  const bin = findRedisServer();
  if (!bin) throw new Error('redis-server not found');
  const port = await freePort();
  const data = path.join(dir, 'redis');
  mkdirSync(data, { recursive: true });
  const proc = spawnManaged('redis-server', bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', data, '--daemonize', 'no']);
  await waitForPort(port, '127.0.0.1', 10_000, proc.alive, () => `redis-server:\n${proc.output()}`);
  return { url: `redis://127.0.0.1:${port}`, proc };
}

export interface AppInstance {
  port: number;
  logDir: string;
  proc: Managed;
  /** Starts it again on the same port with the same settings (after stop()). */
  restart(): Promise<void>;
}

/**
 * One app instance as production runs it: `node --import tsx src/server.ts`, NODE_ENV=production,
 * HOST=127.0.0.1, TRUST_PROXY=127.0.0.1, its own log folder. `env` adds to / overrides those; nothing
 * from the caller's environment leaks in except PATH, HOME and TZ.
 */
export async function startAppInstance(name: string, opts: { port: number; dir: string; env: Record<string, string> }): Promise<AppInstance> {
  const logDir = path.join(opts.dir, `${name}-logs`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
    NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(opts.port), TRUST_PROXY: '127.0.0.1',
    DATA_DIR: path.join(opts.dir, `${name}-data`), LOG_DIR: logDir, LOG_TO_STDOUT: 'false',
    ...opts.env,
  };
  const launch = async (): Promise<Managed> => {
    const proc = spawnManaged(name, process.execPath, ['--import', 'tsx', 'src/server.ts'], { env });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!proc.alive()) throw new Error(`${name} exited during start-up:\n${proc.output()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${opts.port}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return proc;
      } catch { /* not yet */ }
      if (Date.now() > deadline) {
        await proc.stop('SIGKILL');
        throw new Error(`${name} did not answer /healthz on port ${opts.port} within 60 s:\n${proc.output()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const inst: AppInstance = {
    port: opts.port, logDir, proc: await launch(),
    restart: async () => { inst.proc = await launch(); },
  };
  return inst;
}

export interface NginxHandle {
  httpPort: number;
  httpsPort: number;
  prefix: string;
  siteFile: string;
  proc: Managed;
  errorLog(): string;
}

/** nginx in the foreground with the rendered deploy/nginx.conf in front of `upstreams` (two host:port). */
export async function startNginx(opts: { dir: string; upstreams: [string, string]; cert: { cert: string; key: string }; workers?: number | 'auto' }): Promise<NginxHandle> {
  const bin = findNginx();
  if (!bin) throw new Error('nginx not found');
  const prefix = mkdtempSync(path.join(opts.dir, 'nginx-'));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'acme/.well-known/acme-challenge']) mkdirSync(path.join(prefix, d), { recursive: true });
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const siteFile = path.join(prefix, 'propart.conf');
  writeFileSync(siteFile, renderSite({
    SERVER_NAME: 'localhost',
    PUBLIC_ORIGIN: `https://localhost:${httpsPort}`,
    LISTEN_HTTP: `127.0.0.1:${httpPort}`,
    LISTEN_HTTPS: `127.0.0.1:${httpsPort}`,
    SSL_CERTIFICATE: opts.cert.cert,
    SSL_CERTIFICATE_KEY: opts.cert.key,
    ACME_ROOT: path.join(prefix, 'acme'),
    APP_1: opts.upstreams[0],
    APP_2: opts.upstreams[1],
    ACCESS_LOG: path.join(prefix, 'propart.access.log'),
  }));
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, renderStandalone({ prefix, siteFile, workers: opts.workers ?? 1 }));
  const proc = spawnManaged('nginx', bin, ['-p', prefix, '-c', conf], { cwd: prefix });
  const errorLog = () => {
    try { return readFileSync(path.join(prefix, 'error.log'), 'utf8'); } catch { return ''; }
  };
  await waitForPort(httpsPort, '127.0.0.1', 10_000, proc.alive, () => `nginx:\n${proc.output()}\n${errorLog()}`);
  await waitForPort(httpPort, '127.0.0.1', 10_000, proc.alive, () => `nginx:\n${proc.output()}\n${errorLog()}`);
  return { httpPort, httpsPort, prefix, siteFile, proc, errorLog };
}

/** A temp folder for one stack, removed by the returned function. */
export function stackDir(label: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `propart-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
