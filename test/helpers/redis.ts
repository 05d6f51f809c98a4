// A throwaway redis-server for tests: its own free port, no persistence, a temp folder, run as our child
// (not daemonized) so stopping it means killing the pid we started. null when redis-server is missing.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './pg-cluster.ts';

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** The redis-server binary ($REDIS_SERVER, else on PATH), or null. */
export function findRedisServer(): string | null {
  if (process.env.REDIS_SERVER) return existsSync(process.env.REDIS_SERVER) ? process.env.REDIS_SERVER : null;
  try {
    const found = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    return found || null;
  } catch {
    return null;
  }
}

const running = new Set<ChildProcess>();
let hooked = false;

export async function startRedis(): Promise<TestRedis> {
  const bin = findRedisServer();
  if (!bin) throw new Error('redis-server not found');
  if (!hooked) {
    hooked = true;
    process.on('exit', () => { for (const c of running) c.kill('SIGKILL'); });
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'propart-redis-'));
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const exited = new Promise<void>((resolve) => child.on('exit', () => { running.delete(child); resolve(); }));
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (running.has(child)) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when it answers PING.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!running.has(child)) {
      await stop();
      throw new Error(`redis-server exited at start:\n${out}`);
    }
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch { /* not yet */ } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer on ${url}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, port, stop };
}
