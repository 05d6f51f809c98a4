// CSV imports: the lead_imports rows (ownership-scoped like leads: an agent reaches only their own
// imports, an admin all), and the checks every row goes through before anything is saved — the lead
// form's rules (fields.ts), the responsible agent, and duplicates against existing leads and the file.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, ImportFailure, ImportStatus, LeadImport, Role } from '../db/schema.ts';
import { Conflict, NotFound, ValidationFailed } from '../platform/errors.ts';
import type { CurrentUser } from '../views/context.ts';
import type { CsvFile } from './csv.ts';
import {
  duplicateKeys, guessMapping, inFileDuplicates, type LeadRowInput, mappingOk, mappingProblems, type RowError, validateRow,
} from './fields.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

/** A running import that has not shown a sign of life for this long was interrupted (crash, kill). */
export const STALE_SECONDS = 120;

export type ImportSummary = Pick<LeadImport, 'id' | 'user_id' | 'agent_id' | 'filename' | 'status' | 'total' | 'processed' | 'imported' | 'failed' | 'error' | 'created_at' | 'finished_at' | 'heartbeat_at'>;
const SUMMARY_COLUMNS = ['id', 'user_id', 'agent_id', 'filename', 'status', 'total', 'processed', 'imported', 'failed', 'error', 'created_at', 'finished_at', 'heartbeat_at'] as const;

export function validId(id: number): boolean {
  return Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647;
}

export async function createDraft(db: DbLike, user: CurrentUser, opts: { filename: string; csv: CsvFile; agentId: number }): Promise<LeadImport> {
  const { csv } = opts;
  return db.insertInto('lead_imports').values({
    user_id: user.id,
    agent_id: user.role === 'admin' ? opts.agentId : user.id, // an agent's import is always their own
    filename: opts.filename.slice(0, 255) || 'import.csv',
    encoding: csv.encoding,
    delimiter: csv.delimiter,
    headers: JSON.stringify(csv.headers),
    rows: JSON.stringify(csv.rows),
    lines: JSON.stringify(csv.lines),
    mapping: JSON.stringify(guessMapping(csv.headers, user.role)),
    total: csv.rows.length,
  }).returningAll().executeTakeFirstOrThrow();
}

/** An import the user may see (theirs; any for an admin); anyone else's is simply "not found". */
export async function findImportForUser(db: DbLike, user: CurrentUser, id: number, opts: { forUpdate?: boolean } = {}): Promise<LeadImport> {
  if (!validId(id)) throw new NotFound();
  let q = db.selectFrom('lead_imports').selectAll().where('id', '=', id);
  if (user.role !== 'admin') q = q.where('user_id', '=', user.id);
  if (opts.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw new NotFound();
  return row;
}

/** The status part only (no rows), for the progress endpoint. */
export async function findImportSummary(db: DbLike, user: CurrentUser, id: number): Promise<ImportSummary> {
  if (!validId(id)) throw new NotFound();
  let q = db.selectFrom('lead_imports').select(SUMMARY_COLUMNS).where('id', '=', id);
  if (user.role !== 'admin') q = q.where('user_id', '=', user.id);
  const row = await q.executeTakeFirst();
  if (!row) throw new NotFound();
  return row;
}

export function listImports(db: DbLike, user: CurrentUser, limit = 20): Promise<(ImportSummary & { agent_name: string })[]> {
  let q = db.selectFrom('lead_imports').innerJoin('users', 'users.id', 'lead_imports.agent_id')
    .select([...SUMMARY_COLUMNS.map((c) => `lead_imports.${c}` as const), 'users.display_name as agent_name'])
    .orderBy('lead_imports.created_at', 'desc').orderBy('lead_imports.id', 'desc').limit(limit);
  if (user.role !== 'admin') q = q.where('lead_imports.user_id', '=', user.id);
  return q.execute();
}

const EDITABLE: ImportStatus[] = ['draft', 'failed'];

/** The id of an active user (one an admin may make responsible, as on the lead form), else null. */
export async function activeUserId(db: DbLike, id: number): Promise<number | null> {
  if (!validId(id)) return null;
  const row = await db.selectFrom('users').select('id').where('id', '=', id).where('is_active', '=', true).executeTakeFirst();
  return row?.id ?? null;
}

/**
 * An import follows its uploader's rights, whoever looks at it: an agent's import stays that agent's
 * (no agent column, no other responsible agent) even when an admin opens it.
 */
export async function uploaderRole(db: DbLike, imp: Pick<LeadImport, 'user_id'>): Promise<Role> {
  const row = await db.selectFrom('users').select('role').where('id', '=', imp.user_id).executeTakeFirst();
  return row?.role ?? 'agent';
}

export async function saveMapping(db: DbLike, user: CurrentUser, id: number, mapping: string[], agentId: number | null): Promise<LeadImport> {
  const imp = await findImportForUser(db, user, id, { forUpdate: true });
  if (!EDITABLE.includes(imp.status)) throw new Conflict('import.notEditable');
  let agent = imp.agent_id;
  if (user.role === 'admin' && (await uploaderRole(db, imp)) === 'admin' && agentId !== null && agentId !== imp.agent_id) {
    const found = await activeUserId(db, agentId);
    if (!found) throw new ValidationFailed({ agent_id: 'validation.agent' });
    agent = found;
  }
  return db.updateTable('lead_imports').set({ mapping: JSON.stringify(mapping), agent_id: agent })
    .where('id', '=', imp.id).returningAll().executeTakeFirstOrThrow();
}

/** "Import": the draft (or a failed attempt) is queued; the runner picks it up after the commit. */
export async function queueImport(db: DbLike, user: CurrentUser, id: number): Promise<LeadImport> {
  const imp = await findImportForUser(db, user, id, { forUpdate: true });
  if (!EDITABLE.includes(imp.status)) throw new Conflict('import.notEditable');
  if (!mappingOk(mappingProblems(imp.mapping))) throw new ValidationFailed({ mapping: 'import.mapping.incomplete' });
  return db.updateTable('lead_imports').set({
    status: 'queued', queued_at: sql`now()`, heartbeat_at: sql`now()`, started_at: null, finished_at: null,
    processed: 0, imported: 0, failed: 0, failures: '[]', error: null, total: imp.rows.length,
  }).where('id', '=', imp.id).returningAll().executeTakeFirstOrThrow();
}

/** Throws a draft (or a failed attempt) away; a finished import stays as the record of its leads. */
export async function discardImport(db: DbLike, user: CurrentUser, id: number): Promise<LeadImport> {
  const imp = await findImportForUser(db, user, id, { forUpdate: true });
  if (!EDITABLE.includes(imp.status)) throw new Conflict('import.notEditable');
  await db.deleteFrom('lead_imports').where('id', '=', imp.id).execute();
  return imp;
}

/** How long an upload nobody imported is kept: its parsed rows are a client list of up to 10 MB. */
export const DRAFT_KEEP_DAYS = 7;

/** Removes drafts older than DRAFT_KEEP_DAYS (never a queued, running or finished import). */
export async function expireDrafts(db: DbLike, days = DRAFT_KEEP_DAYS): Promise<number> {
  const res = await db.deleteFrom('lead_imports').where('status', '=', 'draft')
    .where('created_at', '<', sql<Date>`now() - make_interval(days => ${days})`).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/**
 * Marks interrupted imports failed so they can be tried again: 'running' or 'queued' without a heartbeat
 * for `olderThanSeconds` (null: all of them — on PGlite, at start, no other process can be running one),
 * except those this process is running right now.
 */
export async function failStaleImports(db: DbLike, opts: { olderThanSeconds: number | null; exceptIds?: number[] }): Promise<number[]> {
  let q = db.updateTable('lead_imports')
    .set({ status: 'failed', error: 'import.failed.interrupted', finished_at: sql`now()`, processed: 0 })
    .where('status', 'in', ['queued', 'running']);
  if (opts.olderThanSeconds !== null) q = q.where('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${opts.olderThanSeconds})`);
  if (opts.exceptIds?.length) q = q.where('id', 'not in', opts.exceptIds);
  return (await q.returning('id').execute()).map((r) => r.id);
}

// ---- Checking the rows ----

export interface CheckedRow {
  /** Index into the import's rows. */
  index: number;
  line: number;
  errors: RowError[];
  input: LeadRowInput | null;
  /** The responsible agent (valid rows only). */
  agentId: number | null;
  /** Shares a phone or email with another row of the file. */
  inFile: boolean;
  /** Existing leads with the same phone or email (only admins are ever shown which). */
  existing: number[];
}

export interface CheckResult {
  rows: CheckedRow[];
  valid: number;
  invalid: number;
  duplicates: number;
}

/** The pure part: every row through the form's rules. CPU only, so it runs outside any transaction. */
export function validateRows(imp: Pick<LeadImport, 'rows' | 'lines' | 'mapping'>): { index: number; line: number; verdict: ReturnType<typeof validateRow> }[] {
  return imp.rows.map((cells, index) => ({ index, line: imp.lines[index] ?? index + 2, verdict: validateRow(cells, imp.mapping) }));
}

const CHUNK = 1000;

/** Existing leads sharing a phone (either field) or email with any of the inputs: one query per 1000 rows. */
async function existingDuplicates(db: DbLike, inputs: LeadRowInput[]): Promise<Map<string, number[]>> {
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < inputs.length; i += CHUNK) {
    const part = inputs.slice(i, i + CHUNK);
    const phones = [...new Set(part.flatMap((r) => [r.phone, r.second_phone].filter((p): p is string => !!p)))];
    const emails = [...new Set(part.map((r) => r.email?.toLowerCase()).filter((e): e is string => !!e))];
    if (phones.length === 0 && emails.length === 0) continue;
    const found = await db.selectFrom('leads').select(['id', 'phone', 'second_phone', sql<string | null>`lower(email)`.as('email')])
      .where((eb) => eb.or([
        ...(phones.length ? [eb('phone', 'in', phones), eb('second_phone', 'in', phones)] : []),
        ...(emails.length ? [eb(sql`lower(email)`, 'in', emails)] : []),
      ])).execute();
    for (const l of found) {
      for (const k of duplicateKeys(l)) {
        const ids = byKey.get(k) ?? [];
        if (!ids.includes(l.id)) ids.push(l.id);
        byKey.set(k, ids);
      }
    }
  }
  return byKey;
}

/** The responsible agent per row: the import's agent, or (admins) an active user found by the row's email. */
async function agentsByEmail(db: DbLike, emails: string[]): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  const unique = [...new Set(emails)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await db.selectFrom('users').select(['id', sql<string>`lower(email)`.as('email')])
      .where(sql`lower(email)`, 'in', unique.slice(i, i + CHUNK)).where('is_active', '=', true).execute();
    for (const r of rows) map.set(r.email, r.id);
  }
  return map;
}

/**
 * Every row checked as the import would: the form's rules, the agent, duplicates. Used by the preview,
 * by the import itself (inside its transaction) and by the CLI.
 */
export async function checkRows(db: DbLike, imp: Pick<LeadImport, 'rows' | 'lines' | 'mapping' | 'agent_id'>, role: Role, validated = validateRows(imp)): Promise<CheckResult> {
  const defaultAgent = await activeUserId(db, imp.agent_id);
  const emails = validated.flatMap((v) => (v.verdict.ok && v.verdict.agentEmail && role === 'admin' ? [v.verdict.agentEmail] : []));
  const agents = emails.length ? await agentsByEmail(db, emails) : new Map<string, number>();
  const rows: CheckedRow[] = validated.map(({ index, line, verdict }) => {
    if (!verdict.ok) return { index, line, errors: verdict.errors, input: null, agentId: null, inFile: false, existing: [] };
    const email = role === 'admin' ? verdict.agentEmail : null;
    const agentId = email ? agents.get(email) ?? null : defaultAgent;
    if (agentId === null) {
      const error: RowError = email ? { field: 'agent_email', key: 'import.row.agentUnknown' } : { field: '_', key: 'import.row.agentInactive' };
      return { index, line, errors: [error], input: null, agentId: null, inFile: false, existing: [] };
    }
    return { index, line, errors: [], input: verdict.input, agentId, inFile: false, existing: [] };
  });
  const valid = rows.filter((r) => r.input);
  const flags = inFileDuplicates(valid.map((r) => r.input));
  valid.forEach((r, i) => { r.inFile = flags[i]!; });
  const existing = await existingDuplicates(db, valid.map((r) => r.input!));
  for (const r of valid) r.existing = [...new Set(duplicateKeys(r.input!).flatMap((k) => existing.get(k) ?? []))].sort((a, b) => a - b);
  return {
    rows,
    valid: valid.length,
    invalid: rows.length - valid.length,
    duplicates: valid.filter((r) => r.inFile || r.existing.length > 0).length,
  };
}

/** What the failed-rows download and the summary keep of a row that was not imported. */
export function failureOf(imp: Pick<LeadImport, 'rows'>, row: CheckedRow): ImportFailure {
  return { line: row.line, cells: imp.rows[row.index] ?? [], reasons: row.errors.map((e) => ({ field: e.field, key: e.key })) };
}

