// Server side of the parent/child protocol used by the benchmark servers: report the port over IPC,
// answer "idle?" once no request is in flight, stop on a 'stop' message, on SIGTERM/SIGINT or when the
// parent goes away (so nothing is left running).
import type { Server } from 'node:http';

export interface ChildOptions {
  close: () => Promise<void>;
  /** True when the server has nothing left to do (no request in flight, no query waiting). */
  isIdle?: () => boolean;
}

export function serveUntilParentStops(server: Server, { close, isIdle = () => true }: ChildOptions): void {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('not listening on a TCP port');
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    try {
      await close();
    } catch (err) {
      process.stderr.write(`bench server: error while closing: ${String(err)}\n`);
      code = 1;
    }
    process.exit(code);
  };
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'stop') void stop();
    if (m.type === 'wait-idle') {
      // Idle means idle for 300 ms in a row: a request between two of its queries leaves the pool idle briefly.
      const start = Date.now();
      let idleSince: number | null = null;
      const poll = () => {
        const now = Date.now();
        if (!isIdle()) idleSince = null;
        else idleSince ??= now;
        if (idleSince !== null && now - idleSince >= 300) process.send?.({ type: 'idle', waitedMs: idleSince - start });
        else setTimeout(poll, 10);
      };
      poll();
    }
  });
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.send?.({ type: 'listening', port: address.port, pid: process.pid });
}
