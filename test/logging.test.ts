// Centralised logging (seed §2): JSON lines in logs/propart.log, rotated by size into propart.log.1 … .N,
// levels info/warn/error honouring LOG_LEVEL, and never a password, session token or CSRF token.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { createLogger, LOG_FILE, redact, requestLoggerFactory } from '../src/platform/logging.ts';
import { seedUser, startTestApp, TEST_SECRET, type TestApp } from './helpers/app.ts';
import { Client } from './helpers/client.ts';
import { databaseKinds } from './helpers/database.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'propart-logtest-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface LogLine { level: string; msg?: string; reqId?: string; [k: string]: unknown }

/** Every line of every file in the folder, parsed; a line that is not JSON fails the test. */
function readLogDir(dir: string): { files: string[]; raw: string; lines: LogLine[] } {
  const files = readdirSync(dir).sort();
  let raw = '';
  const lines: LogLine[] = [];
  for (const f of files) {
    const text = readFileSync(path.join(dir, f), 'utf8');
    raw += text;
    for (const line of text.split('\n').filter(Boolean)) {
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        assert.fail(`${f}: not a JSON line: ${line.slice(0, 200)}`);
      }
    }
  }
  return { files, raw, lines };
}

describe('log rotation', () => {
  test('the defaults are the seed\'s: logs/propart.log, 10 MB per file, 10 files, level info', () => {
    const { config } = loadConfig({ NODE_ENV: 'test', SECRET_KEY: TEST_SECRET, DATA_DIR: tempDir() });
    assert.equal(config.log.dir, 'logs');
    assert.equal(LOG_FILE, 'propart.log');
    assert.equal(config.log.maxBytes, 10 * 1024 * 1024);
    assert.equal(config.log.count, 10);
    assert.equal(config.log.level, 'info');
  });

  test('a tiny size limit rotates into propart.log.1 … .3 and never keeps more than 3 rotated files', async () => {
    const dir = path.join(tempDir(), 'logs'); // does not exist yet: createLogger makes it
    const maxBytes = 2000;
    const write = async (from: number, to: number) => {
      const log = createLogger({ level: 'info', dir, maxBytes, count: 3, stdout: false });
      for (let i = from; i < to; i++) log.logger.info({ seq: i, pad: 'x'.repeat(60) }, 'rotation probe');
      await log.close();
    };
    await write(0, 400); // ~80 KB: about 40 rotations
    let { files, lines } = readLogDir(dir);
    assert.deepEqual(files, ['propart.log', 'propart.log.1', 'propart.log.2', 'propart.log.3']);

    const lineBytes = Math.max(...readFileSync(path.join(dir, 'propart.log.1'), 'utf8').split('\n').filter(Boolean).map((l) => Buffer.byteLength(l) + 1));
    for (const f of files) {
      const size = statSync(path.join(dir, f)).size;
      assert.ok((size > 0 || f === 'propart.log') && size <= maxBytes + lineBytes, `${f} is ${size} bytes; the limit is ${maxBytes} (+ at most one line)`);
    }
    // Classic numbering: .3 is the oldest, propart.log the newest; together they hold the last lines
    // written, in order, with none lost in between (propart.log may be empty right after a rotation).
    const assertNewestInOrder = (last: number) => {
      const seqOf = (f: string) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);
      const ordered = ['propart.log.3', 'propart.log.2', 'propart.log.1', 'propart.log'].flatMap(seqOf);
      const perFile = Math.floor(maxBytes / lineBytes); // a rotated file is full: at least this many lines
      assert.ok(ordered.length >= 3 * perFile, `only ${ordered.length} lines kept, expected 3 full files of ${perFile}+`);
      assert.deepEqual(ordered, Array.from({ length: ordered.length }, (_, i) => last + 1 - ordered.length + i), 'the kept files hold the newest lines, in order');
    };
    assertNewestInOrder(399);
    assert.ok(lines.every((l) => l.level === 'info' && l.msg === 'rotation probe'));

    // A restart appends to the existing propart.log and keeps rotating within the same limit.
    await write(400, 600);
    ({ files } = readLogDir(dir));
    assert.deepEqual(files, ['propart.log', 'propart.log.1', 'propart.log.2', 'propart.log.3']);
    assertNewestInOrder(599);
  });

  test('count is honoured for other values too (count 1)', async () => {
    const dir = tempDir();
    const log = createLogger({ level: 'info', dir, maxBytes: 500, count: 1, stdout: false });
    for (let i = 0; i < 100; i++) log.logger.warn({ seq: i }, 'rotation probe');
    await log.close();
    assert.deepEqual(readdirSync(dir).sort(), ['propart.log', 'propart.log.1']);
  });
});

describe('writing the file', () => {
  test('lines logged in one turn of the event loop are in the file by the next, in order, without close()', async () => {
    const dir = tempDir();
    const log = createLogger({ level: 'info', dir, maxBytes: 1024 * 1024, count: 2, stdout: false });
    for (let i = 0; i < 50; i++) log.logger.info({ seq: i }, 'turn probe');
    assert.equal(statSync(path.join(dir, LOG_FILE)).size, 0, 'gathered, not yet written, within the turn');
    await new Promise((resolve) => setImmediate(resolve));
    const seqs = readFileSync(path.join(dir, LOG_FILE), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i));
    await log.close();
  });

  test('a long burst in one turn is written as it goes: memory holds at most ~64 KiB of lines', async () => {
    const dir = tempDir();
    const log = createLogger({ level: 'info', dir, maxBytes: 10 * 1024 * 1024, count: 2, stdout: false });
    for (let i = 0; i < 2000; i++) log.logger.info({ seq: i, pad: 'x'.repeat(100) }, 'burst probe'); // ~340 KB
    const written = statSync(path.join(dir, LOG_FILE)).size;
    assert.ok(written > 200_000, `only ${written} bytes were written during the burst`);
    await log.close();
    assert.equal(readLogDir(dir).lines.length, 2000);
  });

  test('stdout gets the lines of one turn in one write, in order', async () => {
    const dir = tempDir();
    const log = createLogger({ level: 'info', dir, maxBytes: 1024 * 1024, count: 2, stdout: true });
    const writes: string[] = [];
    const original = process.stdout.write;
    // Ours are kept; anything else (the test runner reports on stdout too) goes through.
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (!String(chunk).includes('stdout probe')) return (original as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
      writes.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      for (let i = 0; i < 50; i++) log.logger.info({ seq: i }, 'stdout probe');
      assert.equal(writes.length, 0, 'gathered within the turn');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.stdout.write = original;
    }
    assert.equal(writes.length, 1, 'one write for the turn');
    assert.deepEqual(writes[0]!.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq), Array.from({ length: 50 }, (_, i) => i));
    await log.close();
  });

  for (const how of ['process.exit(3)', 'an uncaught exception']) {
    test(`lines gathered when the process ends (${how}) are still written`, () => {
      const dir = tempDir();
      const end = how === 'process.exit(3)' ? 'process.exit(3);' : "throw new Error('crash probe');";
      const script = `
        import { createLogger } from ${JSON.stringify(path.resolve('src/platform/logging.ts'))};
        const log = createLogger({ level: 'info', dir: ${JSON.stringify(dir)}, maxBytes: 1048576, count: 2, stdout: true });
        for (let i = 0; i < 10; i++) log.logger.info({ seq: i }, 'last words');
        ${end}`;
      let stdout = '';
      try {
        execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'pipe' });
        assert.fail('the child should have exited with an error');
      } catch (err) {
        assert.notEqual((err as { status: number | null }).status, 0);
        stdout = String((err as { stdout: Buffer }).stdout);
      }
      const { lines } = readLogDir(dir);
      assert.deepEqual(lines.map((l) => l.seq), Array.from({ length: 10 }, (_, i) => i), 'in the file');
      const printed = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { seq: number }).seq);
      assert.deepEqual(printed, Array.from({ length: 10 }, (_, i) => i), 'on stdout');
    });
  }
});

describe('redaction', () => {
  test('a sensitive key is replaced at any depth, in arrays too; the caller\'s object is not changed', () => {
    const input = { user: { name: 'Ann', password: 'pw-1', nested: { headers: { cookie: 'sid=1', accept: 'x' } } }, list: [{ token: 't-1' }, 'plain'], ok: 1 };
    const before = JSON.stringify(input);
    const out = redact(input) as typeof input;
    assert.equal(JSON.stringify(input), before, 'the input is untouched');
    assert.deepEqual(out, { user: { name: 'Ann', password: '[Redacted]', nested: { headers: { cookie: '[Redacted]', accept: 'x' } } }, list: [{ token: '[Redacted]' }, 'plain'], ok: 1 });
    assert.equal(out.list[1], 'plain');
    const clean = { a: { b: [1, 2] }, c: 'd' };
    assert.equal(redact(clean), clean, 'nothing to replace: the same object, no copy');
  });

  test('through the logger: logged objects, child bindings and errors (an HTTP error\'s headers and body) lose their secrets', async () => {
    const dir = tempDir();
    const log = createLogger({ level: 'info', dir, maxBytes: 1024 * 1024, count: 2, stdout: false });
    const child = log.logger.child({ apiKey: 'ak-secret-1', who: 'sync' });
    child.info({ form: { username: 'ann', password: 'pw-secret-2', _csrf: 'csrf-secret-3' }, headers: { authorization: 'Bearer hs-secret-4' } }, 'form probe');
    const err = Object.assign(new Error('HTTP 401'), {
      code: 401,
      headers: { authorization: 'Bearer hs-secret-5', 'content-type': 'application/json' },
      body: { message: 'secret-6 body' },
      detail: 'Failing row contains (secret-7)',
      cause: Object.assign(new Error('inner'), { token: 'tok-secret-8' }),
    });
    log.logger.error({ err }, 'error probe');
    log.logger.warn({ job: 'sync', cause: Object.assign(new Error('nested failure'), { body: 'nested-secret-9', status: 502 }) }, 'nested error probe');
    await log.close();
    const { raw, lines } = readLogDir(dir);
    for (const secret of ['ak-secret-1', 'pw-secret-2', 'csrf-secret-3', 'hs-secret-4', 'hs-secret-5', 'secret-6', 'secret-7', 'tok-secret-8', 'nested-secret-9']) {
      assert.ok(!raw.includes(secret), `${secret} was written to the log`);
    }
    const form = lines.find((l) => l.msg === 'form probe')!;
    assert.equal(form.who, 'sync');
    assert.deepEqual(form.form, { username: 'ann', password: '[Redacted]', _csrf: '[Redacted]' });
    const logged = lines.find((l) => l.msg === 'error probe')!.err as Record<string, unknown>;
    assert.match(String(logged.message), /^HTTP 401/);
    assert.equal(logged.code, 401);
    assert.deepEqual(logged.headers, { authorization: '[Redacted]', 'content-type': 'application/json' });
    assert.equal(err.headers.authorization, 'Bearer hs-secret-5', 'the error itself is not changed');
    const nested = lines.find((l) => l.msg === 'nested error probe')!.cause as Record<string, unknown>;
    assert.equal(nested.message, 'nested failure', 'an error under another key keeps its message');
    assert.equal(nested.status, 502);
    assert.match(String(nested.stack), /nested failure/);
  });
});

describe('LOG_LEVEL', () => {
  test('with warn, info lines are not written; warn and error are', async () => {
    const dir = tempDir();
    const log = createLogger({ level: 'warn', dir, maxBytes: 1024 * 1024, count: 2, stdout: false });
    log.logger.debug('a debug line');
    log.logger.info('an info line');
    log.logger.warn('a warn line');
    log.logger.error('an error line');
    await log.close();
    const { lines } = readLogDir(dir);
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [['warn', 'a warn line'], ['error', 'an error line']]);
  });

  test('a request\'s logger makes its pino child on the first line written, with the request id and redacted bindings', async () => {
    const dir = tempDir();
    const log = createLogger({ level: 'warn', dir, maxBytes: 1024 * 1024, count: 2, stdout: false });
    const child = log.logger.child;
    let children = 0;
    log.logger.child = function (this: unknown, ...args: Parameters<typeof child>) { children++; return child.apply(this, args); } as typeof child;
    const quiet = requestLoggerFactory(log.logger, { reqId: 'r1' }, {});
    quiet.info({ url: '/dashboard' }, 'request completed');
    quiet.debug('nothing');
    assert.equal(children, 0, 'nothing written, no child made');
    assert.equal(quiet.level, 'warn');
    assert.equal(quiet.isLevelEnabled('info'), false);
    const loud = requestLoggerFactory(log.logger, { reqId: 'r2', token: 'tok-secret' }, {});
    loud.warn({ statusCode: 404 }, 'request completed');
    loud.error('second line');
    assert.equal(children, 1, 'one child, made on the first line');
    const routeLevel = requestLoggerFactory(log.logger, { reqId: 'r3' }, { level: 'error' });
    assert.equal(children, 2, 'a route with its own level gets its child at once');
    routeLevel.warn('under the route\'s level');
    routeLevel.error('at the route\'s level');
    await log.close();
    const { lines, raw } = readLogDir(dir);
    assert.deepEqual(lines.map((l) => [l.reqId, l.level, l.msg]), [['r2', 'warn', 'request completed'], ['r2', 'error', 'second line'], ['r3', 'error', 'at the route\'s level']]);
    assert.equal(lines[0]!.token, '[Redacted]');
    assert.doesNotMatch(raw, /tok-secret/);
  });

  test('through the app at info: one "request completed" line per request with its id; health checks (route level warn) none', async () => {
    const t = await startTestApp('pglite', { env: { LOG_LEVEL: 'info' } });
    try {
      const page = await t.app.inject({ method: 'GET', url: '/login' });
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      await t.app.close();
      await t.log.close();
      const lines = readLogDir(t.logDir).lines.filter((l) => l.msg === 'request completed');
      const pageLines = lines.filter((l) => l.reqId === page.headers['x-request-id']);
      assert.equal(pageLines.length, 1);
      assert.deepEqual(Object.keys(pageLines[0]!).slice(0, 5), ['level', 'time', 'service', 'reqId', 'method'], 'the id where a child would put it');
      assert.equal(pageLines[0]!.url, '/login');
      assert.ok(!lines.some((l) => l.reqId === health.headers['x-request-id'] || l.url === '/healthz'), 'health checks are not logged at info');
    } finally {
      await t.close();
    }
  });

  test('through the app: LOG_LEVEL=warn drops the info request lines and keeps the 4xx/5xx ones', async () => {
    const t = await startTestApp('pglite', {
      env: { LOG_LEVEL: 'warn' },
      extraRoutes: (app) => {
        app.get('/probe/explode', { config: { public: true } }, async () => {
          throw new Error('probe explosion');
        });
      },
    });
    let lines: LogLine[];
    try {
      const ok = await t.app.inject({ method: 'GET', url: '/login' });
      assert.equal(ok.statusCode, 200);
      const missing = await t.app.inject({ method: 'GET', url: '/no-such-page' });
      assert.equal(missing.statusCode, 404);
      const boom = await t.app.inject({ method: 'GET', url: '/probe/explode' });
      assert.equal(boom.statusCode, 500);
      await t.app.close();
      await t.log.close();
      lines = readLogDir(t.logDir).lines;
      assert.ok(lines.length > 0);
      assert.ok(lines.every((l) => l.level === 'warn' || l.level === 'error'), `only warn/error: ${JSON.stringify(lines.map((l) => l.level))}`);
      assert.ok(!lines.some((l) => l.reqId === ok.headers['x-request-id']), 'the 200 request is not logged at warn');
      assert.ok(lines.some((l) => l.reqId === missing.headers['x-request-id'] && l.level === 'warn'));
      assert.ok(lines.some((l) => l.reqId === boom.headers['x-request-id'] && l.level === 'error' && l.msg === 'unhandled error'));
    } finally {
      await t.close();
    }
  });
});

for (const kind of databaseKinds()) describe(`what the log never contains [${kind}]`, () => {
  const WRONG = 'Wr0ng-Distinctive-Pa55-7319';
  const RIGHT = 'R1ght-Distinctive-Pa55-5521';
  const REGISTER = 'Reg1ster-Distinctive-Pa55-8846';
  const REGISTER_CONFIRM = 'Reg1ster-Confirm-Pa55-2290';
  const QUERY = 'Qu3ry-Distinctive-Pa55-6644';
  const JSON_PW = 'Js0n-Distinctive-Pa55-1177';

  test('logins, registrations and failures never write a password, session token, CSRF token or password hash', async () => {
    let hash = '';
    const t: TestApp = await startTestApp(kind, {
      env: { LOG_LEVEL: 'info' },
      extraRoutes: (app: FastifyInstance) => {
        // A database error whose detail carries the whole row (a CHECK violation), logged as a 500.
        app.post('/probe/check-violation', async (request) => {
          await sql`update users set commission = 150 where id = ${request.user!.id}`.execute(request.db);
          return { ok: true };
        });
      },
    });
    const responses: LightMyRequestResponse[] = [];
    const keep = (r: LightMyRequestResponse) => (responses.push(r), r);
    let c: Client;
    try {
      const adminId = await seedUser(t, { username: 'log_admin', password: 'admin-password-1', role: 'admin' });
      await seedUser(t, { username: 'log_agent', password: RIGHT });
      hash = (await t.app.db.selectFrom('users').select('password_hash').where('username', '=', 'log_agent').executeTakeFirstOrThrow()).password_hash;

      c = new Client(t.app);
      keep(await c.get('/login'));
      const wrong = keep(await c.post('/login', { username: 'log_agent', password: WRONG }));
      assert.equal(wrong.statusCode, 401);
      const unknown = keep(await c.post('/login', { username: 'nobody_here', password: WRONG }));
      assert.equal(unknown.statusCode, 401);
      const noCsrf = keep(await c.post('/login', { username: 'log_agent', password: WRONG }, { csrf: false }));
      assert.equal(noCsrf.statusCode, 403);
      const right = keep(await c.post('/login', { username: 'log_agent', password: RIGHT }));
      assert.equal(right.statusCode, 303);
      const dash = keep(await c.get('/dashboard'));
      assert.equal(dash.statusCode, 200);
      const boom = keep(await c.post('/probe/check-violation'));
      assert.equal(boom.statusCode, 500);

      // A password in a query string (a form sent with GET by mistake) and one inside malformed JSON.
      keep(await t.app.inject({ method: 'GET', url: `/login?next=%2Fdashboard&password=${QUERY}` }));
      keep(await t.app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/json' }, payload: `{"username":"log_agent","password":"${JSON_PW}"` }));

      const r = new Client(t.app);
      keep(await r.get('/register'));
      const bad = keep(await r.post('/register', { username: 'new_agent', display_name: 'Новий Агент', email: 'new@example.com', admin_id: String(adminId), password: REGISTER, confirm_password: REGISTER_CONFIRM }));
      assert.equal(bad.statusCode, 400);
      const good = keep(await r.post('/register', { username: 'new_agent', display_name: 'Новий Агент', email: 'new@example.com', admin_id: String(adminId), password: REGISTER, confirm_password: REGISTER }));
      assert.equal(good.statusCode, 303);

      await t.app.close();
      await t.log.close();
      const { files, raw, lines } = readLogDir(t.logDir);
      assert.deepEqual(files, ['propart.log']);

      for (const secret of [WRONG, RIGHT, REGISTER, REGISTER_CONFIRM, QUERY, JSON_PW]) {
        assert.ok(!raw.includes(secret), `a password (${secret}) was written to the log`);
      }
      const sid = c.cookies.get('propart_sid');
      const csrfCookie = c.cookies.get('propart_csrf');
      assert.ok(sid && csrfCookie && c.csrfToken, 'the client holds a session, a CSRF cookie and a token');
      assert.ok(!raw.includes(sid!), 'the session token was written to the log');
      assert.ok(!raw.includes(decodeURIComponent(csrfCookie!)) && !raw.includes(csrfCookie!), 'the CSRF cookie was written to the log');
      assert.ok(!raw.includes(c.csrfToken) && !raw.includes(r.csrfToken), 'a CSRF token was written to the log');
      assert.ok(!raw.includes(hash) && !raw.includes(hash.slice(7)), 'a password hash was written to the log');

      // Every line is JSON with a level name the seed knows; every request has its line with a reqId.
      for (const l of lines) assert.ok(['info', 'warn', 'error'].includes(l.level), `level ${String(l.level)}`);
      const completed = lines.filter((l) => l.msg === 'request completed');
      for (const res of responses) {
        const id = String(res.headers['x-request-id']);
        const line = completed.find((l) => l.reqId === id);
        assert.ok(line, `no "request completed" line for ${res.raw.req.method} ${res.raw.req.url}`);
        assert.equal(line.statusCode, res.statusCode);
        assert.equal(line.level, res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info');
      }
      for (const l of lines.filter((x) => x.msg !== undefined && /login|registered|unhandled error/.test(String(x.msg)))) {
        assert.match(String(l.reqId), /^[0-9a-f-]{36}$/, `"${l.msg}" has no reqId`);
      }
      assert.ok(lines.some((l) => l.msg === 'login failed' && l.level === 'warn' && l.reqId === wrong.headers['x-request-id']));
      assert.ok(lines.some((l) => l.msg === 'user logged in' && l.level === 'info' && l.reqId === right.headers['x-request-id']));
      const boomLine = lines.find((l) => l.msg === 'unhandled error' && l.level === 'error' && l.reqId === boom.headers['x-request-id']);
      assert.ok(boomLine, 'the 500 is logged at error level with its reqId');
      const err = boomLine.err as Record<string, unknown>;
      assert.equal(err.code, '23514', 'the error keeps what is needed to debug it (SQLSTATE, message, stack)');
      assert.match(String(err.message), /check constraint/);
      assert.ok(!err.detail || err.detail === '[Redacted]', `the failing row (detail) is not logged: ${String(err.detail)}`);
      assert.ok(lines.some((l) => String(l.url).includes('password=[Redacted]')), 'the query string password is redacted, the rest of the URL kept');
    } finally {
      await t.close();
    }
    assert.equal(existsSync(t.logDir), false);
  });
});
