// A throw-away PostgreSQL cluster for tests that must stop, kill, freeze and restart the server itself.
// initdb in a temp folder owned by the postgres user, pg_ctl start on a free port, stop/start at will,
// destroy() stops it and removes the folder. Binaries: $PG_BIN_DIR, else /usr/lib/postgresql/<newest>/bin.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The folder holding initdb, pg_ctl and postgres, or null when PostgreSQL is not installed. */
export function findPgBinDir(): string | null {
  const candidates: string[] = [];
  if (process.env.PG_BIN_DIR) candidates.push(process.env.PG_BIN_DIR);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  return candidates.find((dir) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(path.join(dir, b)))) ?? null;
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface PgCluster {
  readonly port: number;
  readonly dir: string;
  /** postgresql://postgres@127.0.0.1:PORT/<database> (trust authentication). */
  url(database?: string): string;
  start(): Promise<void>;
  /** pg_ctl stop: 'fast' ends sessions cleanly, 'immediate' is a crash (no shutdown checkpoint). */
  stop(mode?: StopMode): Promise<void>;
  /** SIGSTOP / SIGCONT every server process: the server keeps its sockets open but never answers. */
  freeze(): void;
  thaw(): void;
  isRunning(): boolean;
  createDatabase(name: string): Promise<string>;
  /** Stops the server (immediate) and removes its folder. Safe to call twice. */
  destroy(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the postgres user (initdb and postgres refuse to run as root). */
function asPostgres(bin: string, args: string[]): { file: string; args: string[] } {
  return isRoot() ? { file: 'runuser', args: ['-u', 'postgres', '--', bin, ...args] } : { file: bin, args };
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

const live = new Set<PgCluster>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that crashes must not leave a server running: stop synchronously on the way out.
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.thaw();
        const { file, args } = asPostgres(path.join(binDirOrThrow(), 'pg_ctl'), ['-D', path.join(c.dir, 'data'), '-m', 'immediate', 'stop']);
        execFileSync(file, args, { cwd: c.dir, stdio: 'ignore' });
      } catch { /* already stopped */ }
      try { rmSync(c.dir, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  });
}

function binDirOrThrow(): string {
  const dir = findPgBinDir();
  if (!dir) throw new Error('PostgreSQL server binaries not found: set PG_BIN_DIR or apt-get install postgresql');
  return dir;
}

export async function createPgCluster(opts: { port?: number } = {}): Promise<PgCluster> {
  const bin = binDirOrThrow();
  const dir = mkdtempSync(path.join(tmpdir(), 'propart-pgcluster-'));
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const port = opts.port ?? (await freePort());
  const pgBin = (name: string, args: string[]) => {
    const { file, args: a } = asPostgres(path.join(bin, name), args);
    return run(file, a, { cwd: dir, timeout: 60_000 });
  };

  await pgBin('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);

  let running = false;
  let frozen = false;
  const serverPids = (): number[] => {
    // The postmaster (first line of postmaster.pid) and every process it started.
    const pidFile = path.join(dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return [];
    const master = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!master) return [];
    let children: number[] = [];
    try {
      children = execFileSync('pgrep', ['-P', String(master)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    } catch { /* no children */ }
    return [master, ...children];
  };

  const cluster: PgCluster = {
    port,
    dir,
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await pgBin('pg_ctl', [
        '-D', dataDir, '-l', logFile, '-w', '-t', '30',
        '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off`,
        'start',
      ]);
      running = true;
    },
    async stop(mode: StopMode = 'fast') {
      if (frozen) cluster.thaw();
      await pgBin('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
      running = false;
    },
    freeze() {
      for (const pid of serverPids()) {
        try { process.kill(pid, 'SIGSTOP'); } catch { /* gone */ }
      }
      frozen = true;
    },
    thaw() {
      for (const pid of serverPids()) {
        try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
      }
      frozen = false;
    },
    isRunning: () => running,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: cluster.url('postgres') });
      await client.connect();
      try {
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return cluster.url(name);
    },
    async destroy() {
      if (!live.has(cluster)) return;
      live.delete(cluster);
      if (frozen) cluster.thaw();
      if (running) await cluster.stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(cluster);
  installExitHook();
  await cluster.start();
  return cluster;
}
