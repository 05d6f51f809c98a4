// Renders deploy/nginx.conf (a template with @@NAME@@ placeholders) for production, and wraps it in a
// complete nginx configuration for the tests and the load benchmark, which run nginx as a child process.
//
//   npx node deploy/render-nginx.ts [--out FILE] [NAME=value …]
//
//   npx node deploy/render-nginx.ts --out /etc/nginx/sites-available/propart.conf SERVER_NAME=propart.example.com
//
// Without --out the result goes to stdout. Unknown names and placeholders left unreplaced are errors.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX_TEMPLATE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'nginx.conf');

export interface NginxVars {
  SERVER_NAME: string;
  PUBLIC_ORIGIN: string;
  LISTEN_HTTP: string;
  LISTEN_HTTPS: string;
  SSL_CERTIFICATE: string;
  SSL_CERTIFICATE_KEY: string;
  ACME_ROOT: string;
  APP_1: string;
  APP_2: string;
  ACCESS_LOG: string;
}

/** Production defaults; the ones derived from SERVER_NAME follow it unless given. */
export function defaultVars(given: Partial<NginxVars> = {}): NginxVars {
  const name = given.SERVER_NAME ?? 'propart.example.com';
  return {
    SERVER_NAME: name,
    PUBLIC_ORIGIN: `https://${name}`,
    LISTEN_HTTP: '80',
    LISTEN_HTTPS: '443',
    SSL_CERTIFICATE: `/etc/letsencrypt/live/${name}/fullchain.pem`,
    SSL_CERTIFICATE_KEY: `/etc/letsencrypt/live/${name}/privkey.pem`,
    ACME_ROOT: '/var/www/acme',
    APP_1: '127.0.0.1:3001',
    APP_2: '127.0.0.1:3002',
    ACCESS_LOG: '/var/log/nginx/propart.access.log',
    ...given,
  };
}

const NAMES = Object.keys(defaultVars()) as (keyof NginxVars)[];

/** The site configuration (http{} context) with every placeholder replaced. */
export function renderSite(given: Partial<NginxVars> = {}, template = readFileSync(NGINX_TEMPLATE, 'utf8')): string {
  for (const k of Object.keys(given)) if (!NAMES.includes(k as keyof NginxVars)) throw new Error(`unknown placeholder ${k} (known: ${NAMES.join(', ')})`);
  const vars = defaultVars(given);
  for (const [k, v] of Object.entries(vars)) {
    // A value is pasted into nginx syntax: no quotes, semicolons, braces or line breaks.
    if (!/^[\w.:/\[\]@%+-]+$/.test(v)) throw new Error(`${k}=${JSON.stringify(v)}: only letters, digits and . : / [ ] @ % + - _ are allowed`);
  }
  const out = template.replace(/@@([A-Z0-9_]+)@@/g, (m, name: string) => {
    const v = vars[name as keyof NginxVars];
    if (v === undefined) throw new Error(`the template uses ${m}, which has no value`);
    return v;
  });
  return out;
}

export interface StandaloneOptions {
  /** Folder for the pid file, the logs and nginx's temporary files (must exist). */
  prefix: string;
  /** The rendered site file to include. */
  siteFile: string;
  /** Worker processes (default 1; 'auto' = one per CPU). */
  workers?: number | 'auto';
}

/**
 * A complete nginx.conf around the site file, for running nginx in the foreground as a child process
 * (`nginx -p PREFIX -c FILE`): no daemon, every path inside `prefix`. As root the workers run as root
 * too, because the temporary folders are private to the test; as anyone else `user` is not used.
 */
export function renderStandalone({ prefix, siteFile, workers = 1 }: StandaloneOptions): string {
  const mimeTypes = existsSync('/etc/nginx/mime.types') ? 'include /etc/nginx/mime.types;' : 'types { text/html html; text/css css; application/javascript js; }';
  const p = (f: string) => path.join(prefix, f);
  return [
    process.getuid?.() === 0 ? 'user root;' : '',
    'daemon off;',
    'master_process on;',
    `worker_processes ${workers};`,
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  ${mimeTypes}`,
    '  default_type application/octet-stream;',
    '  sendfile on;',
    '  tcp_nopush on;',
    `  client_body_temp_path ${p('client_body')};`,
    `  proxy_temp_path ${p('proxy')};`,
    `  fastcgi_temp_path ${p('fastcgi')};`,
    `  uwsgi_temp_path ${p('uwsgi')};`,
    `  scgi_temp_path ${p('scgi')};`,
    `  access_log ${p('access.log')};`,
    `  include ${siteFile};`,
    '}',
    '',
  ].join('\n');
}

// ---- command line ----
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let out: string | undefined;
  const given: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--out') out = args[++i];
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`usage: node deploy/render-nginx.ts [--out FILE] [NAME=value …]\nnames and defaults:\n${Object.entries(defaultVars()).map(([k, v]) => `  ${k}=${v}`).join('\n')}\n`);
      process.exit(0);
    } else if (/^[A-Z0-9_]+=/.test(a)) {
      const eq = a.indexOf('=');
      given[a.slice(0, eq)] = a.slice(eq + 1);
    } else {
      process.stderr.write(`render-nginx: unexpected argument ${a} (try --help)\n`);
      process.exit(2);
    }
  }
  try {
    const text = renderSite(given as Partial<NginxVars>);
    if (out) {
      writeFileSync(out, text);
      process.stderr.write(`render-nginx: wrote ${out}; check it with: nginx -t\n`);
    } else process.stdout.write(text);
  } catch (err) {
    process.stderr.write(`render-nginx: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
