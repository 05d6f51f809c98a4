// A text progress bar for the import CLI: one redrawn line on a terminal, a line per 10 % in logs.

/** `[##########--------------------]  33% 3300/10000`; the bar is only full when everything is done. */
export function renderProgressBar(done: number, total: number, width = 30): string {
  const clamped = Math.max(0, Math.min(done, total));
  const ratio = total > 0 ? clamped / total : 1;
  const complete = clamped >= total;
  const filled = complete ? width : Math.min(width - 1, Math.round(ratio * width));
  const percent = complete ? 100 : Math.min(99, Math.floor(ratio * 100));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${done}/${total}`;
}

/** On a TTY redraws one line with '\r'; otherwise (CI logs, files) prints a line at most every 10 %. */
export function createTerminalProgress(stream: NodeJS.WriteStream): { update(done: number, total: number): void; finish(): void } {
  let last: { done: number; total: number } | null = null;
  let lastPrinted = '';
  let lastTenth = -1;
  return {
    update(done, total) {
      last = { done, total };
      if (stream.isTTY) {
        stream.write(`\r${renderProgressBar(done, total)}`);
        return;
      }
      const tenth = total > 0 ? Math.floor((Math.min(done, total) / total) * 10) : 10;
      if (tenth <= lastTenth) return;
      lastTenth = tenth;
      lastPrinted = renderProgressBar(done, total);
      stream.write(`${lastPrinted}\n`);
    },
    finish() {
      if (stream.isTTY) {
        if (last) stream.write('\n');
        return;
      }
      // The last state a log has not shown yet, e.g. 9995/10000 after the 90 % line.
      const line = last ? renderProgressBar(last.done, last.total) : '';
      if (line && line !== lastPrinted) stream.write(`${line}\n`);
    },
  };
}
