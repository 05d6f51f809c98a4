// Running an import: every valid row saved in ONE transaction with bulk statements — leads, their points,
// their HubSpot outbox rows and audit entries, and the import's own "done" — so an import is either
// entirely there or not at all (a crash or a database error rolls everything back). Progress cannot be
// read from a transaction that has not committed, so it is reported beside it: in this process's memory,
// and on a PostgreSQL server also written to the lead_imports row through another pooled connection.
import type { FastifyBaseLogger } from 'fastify';
import { sql } from 'kysely';
import { type AuditChange, recordAudit, recordAuditMany } from '../audit/audit.server.ts';
import type { Db } from '../db/database.ts';
import type { ImportFailure, LeadImport } from '../db/schema.ts';
import { enqueueSyncMany } from '../hubspot/outbox.server.ts';
import { awardMany } from '../points/points.server.ts';
import type { CurrentUser } from '../views/context.ts';
import { type CheckedRow, checkRows, expireDrafts, failStaleImports, failureOf, STALE_SECONDS, validateRows } from './imports.server.ts';

/** Rows per multi-row INSERT: 17 parameters a lead, well under PostgreSQL's 65,535. */
const INSERT_CHUNK = 500;

/** pino's or Fastify's logger. */
type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

export interface LiveProgress { processed: number; total: number }

/** Imports running in this process and how far they are (read by the progress endpoint). */
const live = new Map<number, LiveProgress>();
export const liveProgress = (id: number): LiveProgress | undefined => live.get(id);
export const runningHere = (): number[] => [...live.keys()];

export interface RunOptions {
  /** Called after every chunk (and once at the start); the CLI draws its progress bar from it. */
  onProgress?: (processed: number, total: number) => void;
  /**
   * A handle outside the import's transaction for progress and heartbeats (a PostgreSQL pool); null on
   * PGlite, whose only connection the transaction holds.
   */
  progressDb?: Db | null;
  log?: Log;
}

export interface RunResult { status: 'done' | 'failed'; imported: number; failed: number; error: string | null }

async function uploader(db: Db, userId: number): Promise<CurrentUser> {
  const u = await db.selectFrom('users').select(['id', 'username', 'display_name', 'email', 'role']).where('id', '=', userId).executeTakeFirstOrThrow();
  return { id: u.id, username: u.username, displayName: u.display_name, email: u.email, role: u.role, mustChangePassword: false };
}

/**
 * Runs an import already marked 'running' (claimImport, or the CLI). Never throws for a database
 * failure: the import is then marked failed, with nothing of it saved.
 */
export async function runImport(db: Db, importId: number, opts: RunOptions = {}): Promise<RunResult> {
  const imp = await db.selectFrom('lead_imports').selectAll().where('id', '=', importId).executeTakeFirstOrThrow();
  const total = imp.rows.length;
  const progress: LiveProgress = { processed: 0, total };
  live.set(importId, progress);
  const report = async (processed: number) => {
    progress.processed = processed;
    opts.onProgress?.(processed, total);
    if (opts.progressDb) {
      await opts.progressDb.updateTable('lead_imports').set({ processed, heartbeat_at: sql`now()` }).where('id', '=', importId).execute()
        .catch((err: unknown) => opts.log?.warn({ err, importId }, 'could not record import progress'));
    }
  };
  try {
    const user = await uploader(db, imp.user_id);
    // The form's rules are CPU work: done before the transaction, which then only writes.
    const validated = validateRows(imp);
    await report(0);
    const result = await db.transaction().execute(async (trx) => {
      const checked = await checkRows(trx, imp, user.role, validated);
      const failures: ImportFailure[] = checked.rows.filter((r) => !r.input).map((r) => failureOf(imp, r));
      const good = checked.rows.filter((r): r is CheckedRow & { input: NonNullable<CheckedRow['input']>; agentId: number } => !!r.input && r.agentId !== null);
      let processed = failures.length;
      await report(processed);
      const existingDuplicates = new Set<number>();
      for (let i = 0; i < good.length; i += INSERT_CHUNK) {
        const part = good.slice(i, i + INSERT_CHUNK);
        const values = part.map((r) => ({
          ...r.input, agent_id: r.agentId, created_by: user.id, status: 'new' as const,
          possible_duplicate: r.inFile || r.existing.length > 0, import_id: imp.id,
        }));
        const inserted = await trx.insertInto('leads').values(values).returning(['id', 'created_at']).execute();
        // PostgreSQL returns a multi-row VALUES insert's rows in the order given.
        await awardMany(trx, inserted.map((l, k) => ({ userId: values[k]!.agent_id, leadId: l.id })), 'lead_created');
        await enqueueSyncMany(trx, 'lead', inserted.map((l) => l.id));
        const changes: AuditChange[] = inserted.map((l, k) => ({ action: 'lead.create', entityType: 'lead', entityId: l.id, before: null, after: { id: l.id, ...values[k] } }));
        await recordAuditMany(trx, user, changes);
        for (const r of part) for (const id of r.existing) existingDuplicates.add(id);
        processed += part.length;
        await report(processed);
      }
      // As in manual creation: the leads a new one duplicates are flagged too.
      const flag = [...existingDuplicates];
      for (let i = 0; i < flag.length; i += 1000) {
        await trx.updateTable('leads').set({ possible_duplicate: true }).where('id', 'in', flag.slice(i, i + 1000)).where('possible_duplicate', '=', false).execute();
      }
      await recordAudit(trx, user, {
        action: 'lead.import', entityType: 'lead_import', entityId: imp.id, before: null,
        after: { filename: imp.filename, rows: total, imported: good.length, failed: failures.length, agent_id: imp.agent_id },
      });
      await trx.updateTable('lead_imports').set({
        status: 'done', processed: total, imported: good.length, failed: failures.length, failures: JSON.stringify(failures),
        error: null, finished_at: sql`now()`, heartbeat_at: sql`now()`, rows: '[]', lines: '[]',
      }).where('id', '=', imp.id).execute();
      return { imported: good.length, failed: failures.length };
    });
    progress.processed = total;
    opts.onProgress?.(total, total);
    opts.log?.info({ event: 'lead_import_done', importId, ...result }, 'lead import done');
    return { status: 'done', ...result, error: null };
  } catch (err) {
    opts.log?.error({ err, importId }, 'lead import failed; nothing of it was saved');
    const error = 'import.failed.database';
    await db.updateTable('lead_imports').set({ status: 'failed', error, processed: 0, finished_at: sql`now()` })
      .where('id', '=', importId).where('status', '=', 'running').execute()
      .catch((e: unknown) => opts.log?.error({ err: e, importId }, 'could not mark the import failed'));
    return { status: 'failed', imported: 0, failed: 0, error };
  } finally {
    live.delete(importId);
  }
}

/** Takes the oldest queued import for this process (SKIP LOCKED: two instances never take the same). */
export async function claimImport(db: Db, id?: number): Promise<LeadImport['id'] | null> {
  const res = await sql<{ id: number }>`
    update lead_imports set status = 'running', started_at = now(), heartbeat_at = now(), processed = 0
    where id = (
      select id from lead_imports where status = 'queued' ${id ? sql`and id = ${id}` : sql``}
      order by id limit 1 for update skip locked)
    returning id`.execute(db);
  return res.rows[0]?.id ?? null;
}

export interface ImportRunner {
  /** Look for queued imports now (called after an "Import" has committed). */
  kick(): void;
  /** At start: imports interrupted by a crash become 'failed' (the user can try again). */
  recover(): Promise<void>;
  /** Marks stale imports failed (a dead instance's), never one running here. */
  sweep(): Promise<void>;
  /** Resolves when nothing is running (tests, and shutdown after the current import). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** The in-process runner of the web server: imports run one at a time, in the instance that queued them. */
export function createImportRunner(deps: { db: Db; kind: 'postgres' | 'pglite'; log: Log }): ImportRunner {
  const { db, kind, log } = deps;
  let loop: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const drain = async () => {
    do {
      again = false;
      for (;;) {
        if (stopped) return;
        const id = await claimImport(db).catch((err: unknown) => {
          log.warn({ err }, 'could not look for queued imports');
          return null;
        });
        if (id === null) break;
        await runImport(db, id, { progressDb: kind === 'postgres' ? db : null, log });
      }
    } while (again && !stopped);
  };
  return {
    kick() {
      if (stopped) return;
      if (loop) {
        again = true;
        return;
      }
      loop = drain().finally(() => { loop = null; });
    },
    async recover() {
      // PGlite: one process owns the data folder, so whatever was running died with the last one.
      const ids = await failStaleImports(db, { olderThanSeconds: kind === 'pglite' ? null : STALE_SECONDS, exceptIds: runningHere() });
      if (ids.length) log.warn({ event: 'lead_import_interrupted', importIds: ids }, 'interrupted lead imports marked failed');
      const expired = await expireDrafts(db);
      if (expired) log.info({ event: 'lead_import_drafts_expired', count: expired }, 'old lead import drafts removed');
    },
    async sweep() {
      await failStaleImports(db, { olderThanSeconds: STALE_SECONDS, exceptIds: runningHere() });
    },
    idle: async () => {
      while (loop) await loop;
    },
    async stop() {
      stopped = true;
      while (loop) await loop;
    },
  };
}
