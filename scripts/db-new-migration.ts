// npm run db:new -- add_leads  → migrations/0002_add_leads.ts (the next number, an empty up/down).
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_DIR } from '../src/db/migrate.ts';

export function nextMigrationName(existing: string[], title: string): string {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
  if (!slug) throw new Error('Give the migration a name: npm run db:new -- add_leads');
  const numbers = existing.map((f) => /^(\d{4})_/.exec(f)?.[1]).filter(Boolean).map(Number);
  const next = (numbers.length ? Math.max(...numbers) : 0) + 1;
  return `${String(next).padStart(4, '0')}_${slug}.ts`;
}

const TEMPLATE = `import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql\`select 1\`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql\`select 1\`.execute(db);
}
`;

if (import.meta.main) {
  const name = nextMigrationName(readdirSync(MIGRATIONS_DIR), process.argv.slice(2).join('_'));
  const file = path.join(MIGRATIONS_DIR, name);
  writeFileSync(file, TEMPLATE, { flag: 'wx' });
  console.log(`Created ${path.relative(process.cwd(), file)}`);
}
