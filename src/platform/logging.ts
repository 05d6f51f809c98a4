// pino JSON logs to stdout and to logs/propart.log, rotated by size (seed: 10 MB × 10 files).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from '../config.ts';
import { LogFile, StdoutLines } from './log-file.ts';

export const LOG_FILE = 'propart.log';

const CENSOR = '[Redacted]';

/**
 * Keys whose values could hold a credential (or a request's body): replaced by "[Redacted]" wherever they
 * appear in a line — in the logged object, in nested objects and arrays, in a child logger's bindings and
 * in a serialized error. pino's own `redact` option (path patterns) cost ~10 % of a request at info
 * level, parsing its patterns on every line (decision 024).
 */
export const SENSITIVE_KEYS: ReadonlySet<string> = new Set([
  'password', 'currentPassword', 'newPassword', 'confirmPassword', 'confirm_password', 'password_hash',
  'token', 'accessToken', 'secret', 'secretKey', 'apiKey', '_csrf', 'body',
  'authorization', 'cookie', 'set-cookie', 'x-csrf-token',
]);

const MAX_DEPTH = 8;

/**
 * `value` with every sensitive key's value replaced. Copy on write: what has nothing to replace is
 * returned as it is, and the caller's objects are never changed. Plain objects and arrays are walked and
 * errors serialized; other instances of classes are not walked (requests and replies have serializers).
 */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  // An error under any key but the top-level `err` (which pino hands to its serializer) is serialized
  // here: message, stack and its own fields, redacted (JSON.stringify would drop the message and keep the rest).
  if (value instanceof Error) return serializeError(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const r = redact(v, depth + 1);
      if (r !== v) (out ??= value.slice())[i] = r;
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== Object.prototype && proto !== null) return value;
  const obj = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    const r = SENSITIVE_KEYS.has(key) && v !== undefined ? CENSOR : depth === 0 && key === 'err' ? v : redact(v, depth + 1);
    if (r !== v) (out ??= { ...obj })[key] = r;
  }
  return out ?? obj;
}

/**
 * Database errors carry the data they failed on: PostgreSQL's `detail` ("Failing row contains (…)" — the
 * whole row, password hash included), PGlite's `params`. An error keeps its message, code, constraint,
 * table and stack in the log; those fields are dropped (here and in nested errors), and so is every
 * sensitive key (an HTTP client's error may carry the request's headers or the answer's body).
 */
const ERROR_DATA_FIELDS = new Set(['detail', 'params', 'parameters', 'internalQuery']);

function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  if (!out || typeof out !== 'object' || out === err) return out;
  // Only the serializer's own copies are changed (never the error itself or objects it points to).
  const proto = Object.getPrototypeOf(out) as object;
  const strip = (e: Record<string, unknown>, depth: number): void => {
    for (const [k, v] of Object.entries(e)) {
      if (ERROR_DATA_FIELDS.has(k) || (SENSITIVE_KEYS.has(k) && v !== undefined)) e[k] = CENSOR;
      else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === proto) {
        if (depth < 5) strip(v as Record<string, unknown>, depth + 1);
      } else e[k] = redact(v, depth + 1);
    }
    if (Array.isArray(e.aggregateErrors) && depth < 5) {
      for (const v of e.aggregateErrors as unknown[]) if (v && typeof v === 'object' && Object.getPrototypeOf(v) === proto) strip(v as Record<string, unknown>, depth + 1);
    }
  };
  strip(out as Record<string, unknown>, 0);
  return out;
}

const SENSITIVE_QUERY = /([?&](?:token|code|key|password|_csrf)=)[^&]*/gi;

export function scrubUrl(url: string): string {
  if (!url.includes('=')) return url;
  return url.replace(SENSITIVE_QUERY, '$1[Redacted]');
}

let lastMs = 0;
let lastTime = '';
/** pino's ISO time, made once per millisecond: a busy instance writes many lines in the same one. */
function isoTime(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastTime = `,"time":"${new Date(ms).toISOString()}"`;
  }
  return lastTime;
}

export interface LogHandle {
  logger: Logger;
  /** Flushes and closes the file stream. */
  close(): Promise<void>;
}

export function createLogger(config: Config['log']): LogHandle {
  mkdirSync(config.dir, { recursive: true });
  const file = new LogFile(path.resolve(config.dir), LOG_FILE, { maxBytes: config.maxBytes, count: config.count });
  const streams: pino.StreamEntry[] = [{ level: config.level, stream: file }];
  const stdout = config.stdout ? new StdoutLines() : null;
  if (stdout) streams.push({ level: config.level, stream: stdout });
  const logger = pino(
    {
      level: config.level,
      base: { service: 'propart' },
      timestamp: isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redact(bindings) as pino.Bindings,
        log: (obj) => redact(obj) as Record<string, unknown>,
      },
      serializers: {
        req: (req: { method: string; url: string; ip?: string; id?: string }) => ({ method: req.method, url: scrubUrl(req.url), ip: req.ip }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
      },
    },
    pino.multistream(streams),
  );
  // pino formats only the root's bindings; a child's (Fastify's per-request one included) are redacted
  // here. Children are made with Object.create(parent), so every descendant inherits this child().
  type Child = (this: unknown, bindings: pino.Bindings, options?: object) => unknown;
  const original = logger.child as unknown as Child;
  (logger as unknown as { child: Child }).child = function (bindings, options) {
    return original.call(this, redact(bindings) as pino.Bindings, options);
  };
  return {
    logger,
    close: async () => {
      await stdout?.close();
      await file.close();
    },
  };
}

const LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
type LevelName = (typeof LEVEL_NAMES)[number];

/**
 * A request's logger (Fastify's `childLoggerFactory`): the pino child with the request id is made on the
 * first line that is written, not for every request. At the usual levels most requests write nothing
 * below `warn`, and a child per request was ~2 % of a cached page's time. Once made, it is the child.
 */
export class RequestLogger {
  private made: Logger | undefined;
  private readonly parent: Logger;
  private readonly bindingsOfRequest: pino.Bindings;
  constructor(parent: Logger, bindings: pino.Bindings) {
    this.parent = parent;
    this.bindingsOfRequest = bindings;
  }

  /** The pino child, made now if it is not yet. */
  get logger(): Logger {
    this.made ??= this.parent.child(this.bindingsOfRequest);
    return this.made;
  }
  get level(): string { return (this.made ?? this.parent).level; }
  set level(level: string) { this.logger.level = level; }
  isLevelEnabled(level: string): boolean { return (this.made ?? this.parent).isLevelEnabled(level); }
  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger { return this.logger.child(bindings, options); }
  bindings(): pino.Bindings { return this.made ? this.made.bindings() : { ...this.parent.bindings(), ...this.bindingsOfRequest }; }
  silent(): void {}
}
export interface RequestLogger extends Record<LevelName, pino.LogFn> {}
for (const level of LEVEL_NAMES) {
  RequestLogger.prototype[level] = function (this: RequestLogger, ...args: Parameters<pino.LogFn>) {
    if (!this.isLevelEnabled(level)) return;
    (this.logger[level] as (...a: unknown[]) => void)(...args);
  } as pino.LogFn;
}

/** Fastify's childLoggerFactory: a lazy RequestLogger, or at once a child when the route sets a level. */
export function requestLoggerFactory(logger: Logger, bindings: pino.Bindings, options: pino.ChildLoggerOptions): Logger | RequestLogger {
  return options.level ? logger.child(bindings, options) : new RequestLogger(logger, bindings);
}
