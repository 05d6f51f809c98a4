// Child processes for tests that run the real programs (e.g. `src/worker.ts`): spawned as `node --import
// tsx …` directly (no npm wrapper, so the pid is the node process itself), output kept for failure
// messages, and every process still alive is killed when the test file ends — also when it crashes.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

export interface TestProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** The exit once it happened, else null. */
  exit(): Exit | null;
  /** stdout + stderr so far (the last 64 kB). */
  output(): string;
  /** Sends a signal; false when the process is already gone. */
  signal(sig: NodeJS.Signals): boolean;
  /** Waits for the exit at most `ms`; null on timeout. */
  waitExit(ms: number): Promise<Exit | null>;
  /** SIGKILL (if still running) and wait for the exit. */
  kill(): Promise<Exit>;
}

const live = new Set<TestProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A failing or crashing test must not leave workers behind: kill what is left, synchronously.
  process.on('exit', () => {
    for (const p of live) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  });
}

const OUTPUT_MAX = 64 * 1024;

/** Runs `node [--import tsx] script args…` from the repository root with exactly `env` (plus PATH/HOME). */
export function spawnNode(name: string, script: string, opts: { env: Record<string, string>; args?: string[]; tsx?: boolean }): TestProcess {
  installExitHook();
  const nodeArgs = [...(opts.tsx === false ? [] : ['--import', 'tsx']), script, ...(opts.args ?? [])];
  // Only what is given: nothing from the test runner's environment (DATABASE_URL, REDIS_URL…) leaks in.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env };
  const child = spawn(process.execPath, nodeArgs, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_MAX) out = out.slice(-OUTPUT_MAX);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitInfo: Exit | null = null;
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(proc);
      resolve(exitInfo);
    });
  });
  const proc: TestProcess = {
    name, pid: child.pid, child, exited,
    exit: () => exitInfo,
    output: () => out,
    signal: (sig) => {
      if (exitInfo) return false;
      try { return process.kill(child.pid!, sig), true; } catch { return false; }
    },
    waitExit: (ms) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        exited.finally(() => clearTimeout(timer)),
        new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), ms); }),
      ]);
    },
    kill: async () => {
      proc.signal('SIGKILL');
      return exited;
    },
  };
  live.add(proc);
  return proc;
}

/** Kills (SIGKILL) every process these helpers started that is still running, and waits for them. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
}

/**
 * Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws, with `describe()`
 * in the message). `check` may be async.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, opts: { timeoutMs: number; intervalMs?: number; describe?: () => string | Promise<string> }): Promise<NonNullable<T> | Exclude<T, false | 0 | '' | null | undefined>> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) {
      const detail = opts.describe ? `\n${await opts.describe()}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
