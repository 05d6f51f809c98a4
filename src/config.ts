// Environment → typed, validated configuration. The SECRET_KEY rules live here.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const KNOWN_PLACEHOLDERS = new Set([
  'changeme', 'change-me', 'change_me', 'secret', 'your-secret-key', 'your_secret_key', 'dev-secret-key',
  'your-secret-key-here', 'replace-me', 'please-change-me', 'supersecret', 'default', 'secret_key',
]);

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no', '']).transform((v) => ['true', '1', 'yes'].includes(v));
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(3000, 0),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('data'),
  DATABASE_URL: z.string().url().optional().or(z.literal('').transform(() => undefined)),
  DB_POOL_MAX: int(10, 1),
  DB_CONNECT_TIMEOUT_MS: int(3000, 100),
  DB_IDLE_TIMEOUT_MS: int(30000, 0),
  DB_STATEMENT_TIMEOUT_MS: int(5000, 0),
  DB_MIGRATE_ON_START: bool.default(true),
  SECRET_KEY: z.string().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_DIR: z.string().default('logs'),
  LOG_FILE_MAX_BYTES: int(10 * 1024 * 1024, 1),
  LOG_FILE_COUNT: int(10, 1),
  LOG_TO_STDOUT: bool.default(true),
  TRUST_PROXY: z.string().default(''),
  LOGIN_RATE_LIMIT_PER_MINUTE: int(10, 1),
  LOCKOUT_THRESHOLD: int(5, 1),
  LOCKOUT_MINUTES: int(30, 1),
  BCRYPT_COST: int(12, 4),
  SESSION_IDLE_MINUTES: int(120, 1),
  SESSION_ABSOLUTE_HOURS: int(12, 1),
  ADMIN_2FA_REQUIRED: bool.default(true),
  REDIS_URL: z.string().optional().or(z.literal('').transform(() => undefined)),
  HUBSPOT_ACCESS_TOKEN: z.string().optional().or(z.literal('').transform(() => undefined)),
  HUBSPOT_BASE_URL: z.string().url().default('https://api.hubapi.com'),
  HUBSPOT_RATE_LIMIT: int(90, 1),
  HUBSPOT_RATE_WINDOW_MS: int(10_000, 100),
  HUBSPOT_SEARCH_PER_SECOND: int(4, 1),
  HUBSPOT_REQUEST_ATTEMPTS: int(5, 1),
  HUBSPOT_BACKOFF_BASE_MS: int(1000, 1),
  HUBSPOT_BACKOFF_CAP_MS: int(60_000, 1),
  HUBSPOT_TIMEOUT_MS: int(30_000, 100),
  HUBSPOT_MAX_ATTEMPTS: int(8, 1),
  HUBSPOT_BATCH_SIZE: z.coerce.number().int().min(1).max(100).default(100),
  SYNC_ROUND_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(10).default(4),
  SYNC_STOP_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  HUBSPOT_PIPELINE_ID: z.string().regex(/^[\w-]+$/).default('2341107958'),
  HUBSPOT_STAGE_MAP_FILE: z.string().optional().or(z.literal('').transform(() => undefined)),
  HUBSPOT_PULL_INTERVAL_SECONDS: int(60, 0),
  SYNC_WORKER: z.enum(['in-process', 'off']).default('in-process'),
  DASHBOARD_CACHE_SECONDS: int(10, 0),
  SESSION_CACHE: bool.default(true),
  METRICS_TOKEN: z.string().min(16).optional().or(z.literal('').transform(() => undefined)),
  WORKER_METRICS_PORT: int(0, 0),
  STORAGE_DIR: z.string().optional(),
  UPLOAD_MAX_BYTES: int(10 * 1024 * 1024, 1024),
  S3_BUCKET: z.string().optional().or(z.literal('').transform(() => undefined)),
  S3_REGION: z.string().default('eu-central-1'),
  S3_ENDPOINT: z.string().url().optional().or(z.literal('').transform(() => undefined)),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),
  INITIAL_ADMIN_USERNAME: z.string().regex(/^[a-z_][a-z0-9_]{3,24}$/).default('admin'),
  INITIAL_ADMIN_EMAIL: z.string().email().default('admin@propart.local'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  port: number;
  host: string;
  dataDir: string;
  database: {
    url?: string;
    pgliteDir: string;
    poolMax: number;
    connectTimeoutMs: number;
    idleTimeoutMs: number;
    statementTimeoutMs: number;
  };
  /**
   * Whether the server and the worker apply pending migrations when they start. False when the app's
   * database role may not change the schema (scripts/db-roles.sql): they then refuse to start while a
   * migration is pending, and `npm run db:migrate` runs as the owner role.
   */
  migrateOnStart: boolean;
  secretKey: string;
  log: { level: Env['LOG_LEVEL']; dir: string; maxBytes: number; count: number; stdout: boolean };
  /** Fastify's trustProxy: false, a hop count, or a list of proxy addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  security: {
    loginRatePerMinute: number;
    lockoutThreshold: number;
    lockoutMinutes: number;
    bcryptCost: number;
    sessionIdleMinutes: number;
    sessionAbsoluteHours: number;
    /** Administrators must enrol in two-factor sign-in before they can use anything else. */
    adminTwoFactorRequired: boolean;
  };
  redisUrl?: string;
  /** How old the agency-wide dashboard figures shown to admins may be (0 = always live). */
  dashboardCacheSeconds: number;
  /** Dashboards may read the session from memory kept current by PostgreSQL's notifications (decision 023). */
  sessionCache: boolean;
  /** Bearer token for /metrics; without it only loopback callers may scrape. */
  metricsToken: string | null;
  /** `npm run worker` serves /metrics on 127.0.0.1 at this port (0 = off). */
  workerMetricsPort: number;
  /** Private uploads: a folder (default data/uploads) or an S3-compatible bucket. */
  storage: {
    dir: string;
    maxBytes: number;
    s3: { bucket: string; region: string; endpoint?: string; accessKeyId?: string; secretAccessKey?: string; forcePathStyle: boolean } | null;
  };
  hubspot: {
    /** Null when HubSpot is not configured: sync is off, leads stay local and say so. */
    accessToken: string | null;
    baseUrl: string;
    rateLimit: number;
    rateWindowMs: number;
    searchPerSecond: number;
    requestAttempts: number;
    backoffBaseMs: number;
    backoffCapMs: number;
    timeoutMs: number;
    maxAttempts: number;
    /** Objects per HubSpot batch call (≤ 100). */
    batchSize: number;
    /** Outbox items one round claims and pushes, in batches of batchSize; its associations go out together. */
    roundSize: number;
    /** HubSpot calls of one round in flight at once (the limiter still paces them). */
    concurrency: number;
    /** On shutdown, how long the round in flight may go on before it stops sending. */
    stopGraceMs: number;
    pipelineId: string;
    stageMapFile: string | null;
    pullIntervalSeconds: number;
    worker: 'in-process' | 'off';
  };
  initialAdmin: { username: string; email: string };
}

export class ConfigError extends Error {}

const SECRET_HOWTO = 'Generate one with `npm run secret` (or: openssl rand -hex 32) and put it in .env as SECRET_KEY=...';

/** Why a SECRET_KEY is unusable, or null when it is fine. */
export function secretKeyProblem(key: string | undefined): string | null {
  if (!key) return 'SECRET_KEY is not set';
  if (Buffer.byteLength(key) < 32) return 'SECRET_KEY is shorter than 32 bytes';
  if (KNOWN_PLACEHOLDERS.has(key.toLowerCase()) || /^(x+|0+|changeme.*|your[-_ ]?secret.*)$/i.test(key)) {
    return 'SECRET_KEY is a known placeholder';
  }
  return null;
}

function parseTrustProxy(raw: string): Config['trustProxy'] {
  const v = raw.trim();
  if (v === '' || v === 'false') return false;
  // Trusting every hop lets any client forge X-Forwarded-For and escape the login rate limit.
  if (v === 'true') throw new ConfigError('TRUST_PROXY=true would trust any client\'s X-Forwarded-For. Give the proxy addresses (e.g. TRUST_PROXY=127.0.0.1) or a hop count (TRUST_PROXY=1).');
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

export interface LoadedConfig {
  config: Config;
  /** Warnings to log once the logger exists (e.g. the generated development secret). */
  warnings: string[];
}

/** Reads and validates the environment; throws ConfigError with a human explanation. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const warnings: string[] = [];
  const isProduction = env.NODE_ENV === 'production';
  let secretKey = env.SECRET_KEY;
  const problem = secretKeyProblem(secretKey);
  if (problem) {
    if (isProduction) throw new ConfigError(`${problem}: refusing to start in production. ${SECRET_HOWTO}`);
    if (secretKey) warnings.push(`${problem}; using a generated development key instead. ${SECRET_HOWTO}`);
    else warnings.push(`SECRET_KEY not set: using a generated development key kept in ${env.DATA_DIR}/secret_key. ${SECRET_HOWTO}`);
    secretKey = developmentSecret(env.DATA_DIR);
  }
  const config: Config = {
    env: env.NODE_ENV,
    isProduction,
    port: env.PORT,
    host: env.HOST,
    dataDir: env.DATA_DIR,
    database: {
      url: env.DATABASE_URL,
      pgliteDir: path.join(env.DATA_DIR, 'pglite'),
      poolMax: env.DB_POOL_MAX,
      connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: env.DB_IDLE_TIMEOUT_MS,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    },
    migrateOnStart: env.DB_MIGRATE_ON_START,
    secretKey: secretKey!,
    log: { level: env.LOG_LEVEL, dir: env.LOG_DIR, maxBytes: env.LOG_FILE_MAX_BYTES, count: env.LOG_FILE_COUNT, stdout: env.LOG_TO_STDOUT },
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    security: {
      loginRatePerMinute: env.LOGIN_RATE_LIMIT_PER_MINUTE,
      lockoutThreshold: env.LOCKOUT_THRESHOLD,
      lockoutMinutes: env.LOCKOUT_MINUTES,
      bcryptCost: env.BCRYPT_COST,
      sessionIdleMinutes: env.SESSION_IDLE_MINUTES,
      sessionAbsoluteHours: env.SESSION_ABSOLUTE_HOURS,
      adminTwoFactorRequired: env.ADMIN_2FA_REQUIRED,
    },
    redisUrl: env.REDIS_URL,
    dashboardCacheSeconds: env.DASHBOARD_CACHE_SECONDS,
    sessionCache: env.SESSION_CACHE,
    metricsToken: env.METRICS_TOKEN ?? null,
    workerMetricsPort: env.WORKER_METRICS_PORT,
    storage: {
      dir: env.STORAGE_DIR ?? path.join(env.DATA_DIR, 'uploads'),
      maxBytes: env.UPLOAD_MAX_BYTES,
      s3: env.S3_BUCKET ? {
        bucket: env.S3_BUCKET, region: env.S3_REGION, endpoint: env.S3_ENDPOINT, accessKeyId: env.S3_ACCESS_KEY_ID,
        secretAccessKey: env.S3_SECRET_ACCESS_KEY, forcePathStyle: env.S3_FORCE_PATH_STYLE,
      } : null,
    },
    hubspot: {
      accessToken: env.HUBSPOT_ACCESS_TOKEN ?? null,
      baseUrl: env.HUBSPOT_BASE_URL,
      rateLimit: env.HUBSPOT_RATE_LIMIT,
      rateWindowMs: env.HUBSPOT_RATE_WINDOW_MS,
      searchPerSecond: env.HUBSPOT_SEARCH_PER_SECOND,
      requestAttempts: env.HUBSPOT_REQUEST_ATTEMPTS,
      backoffBaseMs: env.HUBSPOT_BACKOFF_BASE_MS,
      backoffCapMs: env.HUBSPOT_BACKOFF_CAP_MS,
      timeoutMs: env.HUBSPOT_TIMEOUT_MS,
      maxAttempts: env.HUBSPOT_MAX_ATTEMPTS,
      batchSize: env.HUBSPOT_BATCH_SIZE,
      roundSize: env.SYNC_ROUND_SIZE,
      concurrency: env.SYNC_CONCURRENCY,
      stopGraceMs: env.SYNC_STOP_GRACE_MS,
      pipelineId: env.HUBSPOT_PIPELINE_ID,
      stageMapFile: env.HUBSPOT_STAGE_MAP_FILE ?? null,
      pullIntervalSeconds: env.HUBSPOT_PULL_INTERVAL_SECONDS,
      worker: env.SYNC_WORKER,
    },
    initialAdmin: { username: env.INITIAL_ADMIN_USERNAME, email: env.INITIAL_ADMIN_EMAIL },
  };
  return { config, warnings };
}

/** A development-only key, generated once and kept in DATA_DIR/secret_key with mode 0600. */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret_key');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (!secretKeyProblem(kept)) return kept;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('hex');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

/** Loads .env from the working directory when present (real environment variables win). */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
