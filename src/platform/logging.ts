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
        err: pino.stdSerializers.err,
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
