// npm run import -- leads.csv [options]: the CSV import for administrators on the server, with the same
// checks and the same all-or-nothing transaction as the /leads/import pages (src/import). Asks nothing;
// prints the check summary and the first errors, draws a progress bar, writes the rows that were not
// imported to <file>.failed.csv. Exit code: 0 all imported, 2 imported but some rows were not, 1 nothing
// imported (bad arguments or file, no valid row, a database error). With PGlite stop the server first:
// only one process may open the data folder.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { migrateToLatest, pendingMigrations } from '../src/db/migrate.ts';
import { type CsvDelimiter, type CsvEncoding, CsvFileError, IMPORT_MAX_BYTES, readCsv } from '../src/import/csv.ts';
import { failedRowsCsv, reasonText } from '../src/import/failed-csv.ts';
import { guessMapping, mappingProblems, targetLabel, targetsFor } from '../src/import/fields.ts';
import { checkRows, createDraft } from '../src/import/imports.server.ts';
import { createTerminalProgress } from '../src/import/progress-bar.ts';
import { runImport } from '../src/import/run.server.ts';
import { isLocale, translator } from '../src/platform/i18n.ts';
import { openRuntime } from '../src/runtime.ts';
import type { CurrentUser } from '../src/views/context.ts';
import type { Db } from '../src/db/database.ts';

const USAGE = `Usage: npm run import -- FILE.csv [options]

  --as LOGIN            the administrator doing the import (username or email; needed when there are several)
  --agent LOGIN         responsible agent for rows without an "agent email" column (default: the administrator)
  --encoding ENC        utf-8 | windows-1251 (default: detected)
  --delimiter D         , | ; | tab (default: detected)
  --map 'Header=field,…' set columns by header name; field is a lead field, agent_email, or - (skip)
  --dry-run             check and report only; nothing is saved
  --lang uk|en          language of the messages (default uk)

Exit code: 0 all rows imported, 2 imported but some rows were not (see FILE.failed.csv), 1 nothing imported.`;

class UsageError extends Error {}

function parse() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      as: { type: 'string' }, agent: { type: 'string' }, encoding: { type: 'string' }, delimiter: { type: 'string' },
      map: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, lang: { type: 'string', default: 'uk' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one CSV file');
  const encodings: Record<string, CsvEncoding> = { 'utf-8': 'utf-8', utf8: 'utf-8', 'windows-1251': 'windows-1251', cp1251: 'windows-1251' };
  const delimiters: Record<string, CsvDelimiter> = { ',': ',', comma: ',', ';': ';', semicolon: ';', tab: '\t', '\\t': '\t' };
  const encoding = values.encoding === undefined ? undefined : encodings[values.encoding.toLowerCase()];
  if (values.encoding !== undefined && !encoding) throw new UsageError(`unknown --encoding ${values.encoding}`);
  const delimiter = values.delimiter === undefined ? undefined : delimiters[values.delimiter.toLowerCase()];
  if (values.delimiter !== undefined && !delimiter) throw new UsageError(`unknown --delimiter ${values.delimiter}`);
  if (!isLocale(values.lang)) throw new UsageError('--lang is uk or en');
  return { file: positionals[0]!, as: values.as, agent: values.agent, encoding, delimiter, map: values.map, dryRun: values['dry-run'], lang: values.lang };
}

/** Applies --map 'Header=field,…' to the guessed mapping. */
function applyMap(headers: string[], mapping: string[], spec: string): string[] {
  const out = [...mapping];
  const allowed = new Set<string>(targetsFor('admin'));
  for (const pair of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.lastIndexOf('=');
    if (eq <= 0) throw new UsageError(`--map: "${pair}" is not Header=field`);
    const header = pair.slice(0, eq).trim().toLowerCase();
    const field = pair.slice(eq + 1).trim();
    const col = headers.findIndex((h) => h.toLowerCase() === header);
    if (col < 0) throw new UsageError(`--map: no column "${pair.slice(0, eq).trim()}" (columns: ${headers.join(', ')})`);
    if (field !== '-' && field !== '' && !allowed.has(field)) throw new UsageError(`--map: unknown field "${field}" (fields: ${[...allowed].join(', ')})`);
    // A field given to one column is taken from whichever column had it by guess.
    if (field !== '-' && field !== '') out.forEach((f, i) => { if (f === field) out[i] = ''; });
    out[col] = field === '-' ? '' : field;
  }
  return out;
}

async function findUser(db: Db, login: string) {
  const value = login.trim().toLowerCase();
  return db.selectFrom('users').select(['id', 'username', 'display_name', 'email', 'role', 'is_active'])
    .where((eb) => eb.or([eb(sql`lower(username)`, '=', value), eb(sql`lower(email)`, '=', value)])).orderBy('id').executeTakeFirst();
}

async function actingAdmin(db: Db, login: string | undefined): Promise<CurrentUser> {
  let row;
  if (login) {
    row = await findUser(db, login);
    if (!row || row.role !== 'admin' || !row.is_active) throw new UsageError(`--as ${login}: no active administrator with this username or email`);
  } else {
    const admins = await db.selectFrom('users').select(['id', 'username', 'display_name', 'email', 'role', 'is_active']).where('role', '=', 'admin').where('is_active', '=', true).limit(2).execute();
    if (admins.length !== 1) throw new UsageError(admins.length ? 'there are several administrators: say who imports with --as LOGIN' : 'no active administrator');
    row = admins[0]!;
  }
  return { id: row.id, username: row.username, displayName: row.display_name, email: row.email, role: 'admin', mustChangePassword: false };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parse();
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 1;
  }
  const t = translator(args.lang);
  let size: number;
  try {
    size = statSync(args.file).size;
  } catch {
    console.error(`Cannot read ${args.file}`);
    return 1;
  }
  // Refused before reading, like the page's upload limit.
  if (size > IMPORT_MAX_BYTES) {
    console.error(t('import.error.tooLarge', { max: `${IMPORT_MAX_BYTES / (1024 * 1024)} MB` }));
    return 1;
  }
  let csv;
  try {
    csv = readCsv(new Uint8Array(readFileSync(args.file)), { encoding: args.encoding, delimiter: args.delimiter });
  } catch (err) {
    if (err instanceof CsvFileError) {
      console.error(t(err.key, err.params));
      return 1;
    }
    throw err;
  }

  const { config, log, database } = await openRuntime({ stdoutLogs: false });
  const db = database.db;
  try {
    if (config.migrateOnStart) await migrateToLatest(db);
    const pending = await pendingMigrations(db);
    if (pending.length) {
      console.error(`Migrations are pending (${pending.join(', ')}): run \`npm run db:migrate\` first.`);
      return 1;
    }
    const admin = await actingAdmin(db, args.as);
    let agentId = admin.id;
    if (args.agent) {
      const agent = await findUser(db, args.agent);
      if (!agent?.is_active) throw new UsageError(`--agent ${args.agent}: no active user with this username or email`);
      agentId = agent.id;
    }
    let mapping = guessMapping(csv.headers, 'admin');
    if (args.map) mapping = applyMap(csv.headers, mapping, args.map);

    console.log(`${path.basename(args.file)}: ${csv.rows.length} rows, ${csv.encoding}, delimiter ${JSON.stringify(csv.delimiter)}`);
    csv.headers.forEach((h, i) => console.log(`  ${h || `#${i + 1}`} → ${mapping[i] ? t(targetLabel(mapping[i] as never)) : '—'}`));
    const problems = mappingProblems(mapping);
    if (problems.missing.length || problems.repeated.length) {
      if (problems.missing.length) console.error(t('import.mapping.missing', { fields: problems.missing.map((f) => t(targetLabel(f))).join(', ') }));
      if (problems.repeated.length) console.error(`${t('import.mapping.repeated')} (${problems.repeated.map((i) => csv.headers[i]).join(', ')})`);
      console.error("Set the columns with --map 'Header=field,…'.");
      return 1;
    }

    const check = await checkRows(db, { rows: csv.rows, lines: csv.lines, mapping, agent_id: agentId }, 'admin');
    console.log(`${t('import.count.valid', { n: check.valid })} · ${t('import.count.invalid', { n: check.invalid })} · ${t('import.count.duplicates', { n: check.duplicates })}`);
    const bad = check.rows.filter((r) => r.errors.length > 0);
    for (const r of bad.slice(0, 10)) console.log(`  ${t('import.preview.line')} ${r.line}: ${reasonText(t, r.errors)}`);
    if (bad.length > 10) console.log(`  … ${bad.length - 10} more`);
    if (args.dryRun) {
      console.log('Dry run: nothing saved.');
      return check.valid === 0 ? 1 : check.invalid > 0 ? 2 : 0;
    }
    if (check.valid === 0) {
      console.error(t('import.nothingValid'));
      return 1;
    }

    // The import's own row, claimed by this process at once (no web runner takes it).
    const draft = await createDraft(db, admin, { filename: path.basename(args.file), csv, agentId });
    await db.updateTable('lead_imports').set({
      mapping: JSON.stringify(mapping), status: 'running', queued_at: sql`now()`, started_at: sql`now()`, heartbeat_at: sql`now()`,
    }).where('id', '=', draft.id).execute();
    const bar = createTerminalProgress(process.stderr);
    const result = await runImport(db, draft.id, {
      onProgress: (done, total) => bar.update(done, total),
      progressDb: database.kind === 'postgres' ? db : null,
      log: log.logger,
    });
    bar.finish();
    if (result.status !== 'done') {
      console.error(`${t('import.failed.title')} ${t('import.failed.database')} (import #${draft.id}; details in the log)`);
      return 1;
    }
    console.log(`Import #${draft.id}: ${t('import.done.summary', { imported: result.imported, failed: result.failed })}`);
    if (result.failed > 0) {
      const row = await db.selectFrom('lead_imports').select(['headers', 'failures']).where('id', '=', draft.id).executeTakeFirstOrThrow();
      const out = `${args.file}.failed.csv`;
      writeFileSync(out, failedRowsCsv(t, row.headers, row.failures));
      console.log(`${t('import.col.failed')}: ${out}`);
      return 2;
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 1;
    }
    log.logger.error({ err }, 'import script failed');
    console.error(`Import failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await database.close();
    await log.close();
  }
}

process.exit(await main());
