// pino JSON logs to stdout and to logs/propart.log, rotated by size (seed: 10 MB × 10 files).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createStream } from 'rotating-file-stream';
import type { Config } from '../config.ts';

export const LOG_FILE = 'propart.log';

/** Anything that could hold a credential is replaced before a line is written. */
export const REDACT_PATHS = [
  'password', '*.password', '*.currentPassword', '*.newPassword', '*.confirmPassword', '*.confirm_password',
  '*.password_hash', 'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie', '*.token', '*.accessToken',
  '*.secret', '*.secretKey', '*.apiKey', '*._csrf', 'body', '*.body',
];

/**
 * Database errors carry the data they failed on: PostgreSQL's `detail` ("Failing row contains (…)" — the
 * whole row, password hash included), PGlite's `params`. An error keeps its message, code, constraint,
 * table and stack in the log; those fields are dropped (here and in nested errors).
 */
const ERROR_DATA_FIELDS = ['detail', 'params', 'parameters', 'internalQuery'];

function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  if (!out || typeof out !== 'object' || out === err) return out;
  // Only the serializer's own copies are changed (never the error itself or objects it points to).
  const proto = Object.getPrototypeOf(out) as object;
  const strip = (e: Record<string, unknown>, depth: number): void => {
    for (const k of ERROR_DATA_FIELDS) if (Object.hasOwn(e, k)) e[k] = '[Redacted]';
    if (depth >= 5) return;
    const nested = [...Object.values(e), ...(Array.isArray(e.aggregateErrors) ? e.aggregateErrors : [])];
    for (const v of nested) if (v && typeof v === 'object' && Object.getPrototypeOf(v) === proto) strip(v as Record<string, unknown>, depth + 1);
  };
  strip(out as Record<string, unknown>, 0);
  return out;
}

const SENSITIVE_QUERY = /([?&](?:token|code|key|password|_csrf)=)[^&]*/gi;

export function scrubUrl(url: string): string {
  return url.replace(SENSITIVE_QUERY, '$1[Redacted]');
}

export interface LogHandle {
  logger: Logger;
  /** Flushes and closes the file stream. */
  close(): Promise<void>;
}

export function createLogger(config: Config['log']): LogHandle {
  mkdirSync(config.dir, { recursive: true });
  const file = createStream((index: number | Date | null) => (index ? `${LOG_FILE}.${String(index)}` : LOG_FILE), {
    path: path.resolve(config.dir),
    size: `${config.maxBytes}B`,
    rotate: config.count,
  });
  file.on('error', (err) => process.stderr.write(`log file error: ${err.message}\n`));
  const streams: pino.StreamEntry[] = [{ level: config.level, stream: file }];
  if (config.stdout) streams.push({ level: config.level, stream: process.stdout });
  const logger = pino(
    {
      level: config.level,
      base: { service: 'propart' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      serializers: {
        req: (req: { method: string; url: string; ip?: string; id?: string }) => ({ method: req.method, url: scrubUrl(req.url), ip: req.ip }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
      },
    },
    pino.multistream(streams),
  );
  return {
    logger,
    close: () => new Promise<void>((resolve) => {
      file.end(() => resolve());
    }),
  };
}
