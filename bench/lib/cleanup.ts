// Everything a bench starts is registered here and undone in reverse order, also on Ctrl-C / SIGTERM.
import type { Cleanup } from './database.ts';

export function cleanupRegistry(step: (msg: string) => void): { cleanups: Cleanup[]; cleanup: () => Promise<void> } {
  const cleanups: Cleanup[] = [];
  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      for (const c of cleanups.reverse()) {
        try {
          await c.fn();
        } catch (err) {
          step(`cleanup of ${c.name} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })();
    return cleaning;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      step(`${sig}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  return { cleanups, cleanup };
}

/** Runs a bench's main(), reports a crash, undoes everything it started, and exits with its code. */
export async function runBench(name: string, main: () => Promise<number>, cleanup: () => Promise<void>): Promise<never> {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    process.stderr.write(`${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}
`);
  } finally {
    await cleanup();
  }
  process.exit(code);
}
