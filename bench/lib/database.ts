// A fresh database on the bench's PostgreSQL server, dropped at the end unless BENCH_KEEP=1.
import pg from 'pg';

export interface Cleanup { name: string; fn: () => Promise<void> | void }

export async function createBenchDatabase(serverUrl: string, prefix: string, opts: { keep: boolean; step: (msg: string) => void; cleanups: Cleanup[] }): Promise<string> {
  const name = `${prefix}_${Date.now()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  if (opts.keep) opts.step(`keeping database ${name}`);
  else {
    opts.cleanups.push({
      name: `database ${name}`,
      fn: async () => {
        const c = new pg.Client({ connectionString: serverUrl });
        await c.connect();
        try {
          await c.query(`drop database if exists ${name} with (force)`);
        } finally {
          await c.end();
        }
      },
    });
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
