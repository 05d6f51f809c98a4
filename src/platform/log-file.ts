// Where log lines go: the file (JSON lines appended to <dir>/propart.log, rotated by size into
// propart.log.1 … .N) and stdout.
//
// Lines are gathered for the rest of the current turn of the event loop and written with one write(2),
// so a busy instance makes one system call for many request lines instead of one each (decision 024).
// Writing is synchronous, as pino's own default destination is: a line never waits in memory longer
// than one turn, order is kept, a rotation falls between two lines, and what is still gathered when the
// process exits (a crash included) is written by the exit handler. rotating-file-stream, used before,
// spent ~47 µs of CPU per line and queued lines in memory without bound when requests came faster than
// it wrote (a cached dashboard at info level ran at a third of its speed and grew to 1 GB).
import { closeSync, existsSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Gathered bytes above which the lines are written at once rather than at the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

const open = new Set<TurnLines>();
let exitHandler = false;

/**
 * A pino destination that gathers the lines of one turn of the event loop and hands them over together:
 * at the end of the turn, at once past FLUSH_BYTES, and on the process's exit (a crash included).
 */
export abstract class TurnLines {
  #lines: string[] = [];
  #gathered = 0;
  #scheduled = false;
  #closed = false;

  constructor() {
    open.add(this);
    if (!exitHandler) {
      exitHandler = true;
      process.on('exit', () => { for (const f of open) f.flush(); });
    }
  }

  /** pino's stream interface: one call per line. */
  write(line: string): boolean {
    if (this.#closed) return false;
    this.#lines.push(line);
    this.#gathered += line.length; // UTF-16 units: a lower bound of the bytes, enough to bound memory
    if (this.#gathered >= FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Hands every gathered line over now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const lines = this.#lines;
    this.#lines = [];
    this.#gathered = 0;
    this.writeLines(lines);
  }

  /** Flushes; later lines are dropped. */
  close(): Promise<void> {
    this.flush();
    this.#closed = true;
    open.delete(this);
    this.closed();
    return Promise.resolve();
  }

  protected abstract writeLines(lines: string[]): void;
  protected closed(): void {}
}

/** The lines on stdout, one write per turn (process.stdout handles a full pipe itself). */
export class StdoutLines extends TurnLines {
  protected writeLines(lines: string[]): void {
    process.stdout.write(lines.join(''));
  }
}

export class LogFile extends TurnLines {
  readonly #file: string;
  readonly #maxBytes: number;
  readonly #count: number;
  #fd: number;
  #size: number;
  #failed = false;

  constructor(dir: string, name: string, opts: { maxBytes: number; count: number }) {
    super();
    this.#file = path.join(dir, name);
    this.#maxBytes = opts.maxBytes;
    this.#count = opts.count;
    this.#fd = openSync(this.#file, 'a');
    this.#size = fstatSync(this.#fd).size; // a restart appends to the file it left
  }

  /** Writes the lines, rotating wherever the next line would pass the size limit. */
  protected writeLines(lines: string[]): void {
    if (this.#fd < 0 && !this.#reopen()) return;
    let batch = '';
    let batchBytes = 0;
    for (const line of lines) {
      const bytes = Buffer.byteLength(line);
      if (this.#size + batchBytes > 0 && this.#size + batchBytes + bytes > this.#maxBytes) {
        this.#append(batch);
        if (!this.#rotate()) return;
        batch = '';
        batchBytes = 0;
      }
      batch += line;
      batchBytes += bytes;
    }
    this.#append(batch);
  }

  protected override closed(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  #append(text: string): void {
    if (text === '') return;
    try {
      const buffer = Buffer.from(text);
      let done = 0;
      while (done < buffer.length) done += writeSync(this.#fd, buffer, done);
      this.#size += buffer.length;
      this.#failed = false;
    } catch (err) {
      this.#report(err);
    }
  }

  #rotate(): boolean {
    closeSync(this.#fd);
    this.#fd = -1;
    try {
      for (let i = this.#count - 1; i >= 1; i--) {
        const from = `${this.#file}.${String(i)}`;
        if (existsSync(from)) renameSync(from, `${this.#file}.${String(i + 1)}`);
      }
      renameSync(this.#file, `${this.#file}.1`);
    } catch (err) {
      process.stderr.write(`log file rotation failed: ${(err as Error).message}\n`);
    }
    return this.#reopen();
  }

  /** Opens the file again (after a rotation, or when it could not be opened); false if it still cannot. */
  #reopen(): boolean {
    try {
      this.#fd = openSync(this.#file, 'a');
      this.#size = fstatSync(this.#fd).size;
      return true;
    } catch (err) {
      this.#report(err);
      return false;
    }
  }

  #report(err: unknown): void {
    // A full or broken disk must not stop the app: say so once on stderr and drop the lines meanwhile.
    if (!this.#failed) process.stderr.write(`log file error: ${(err as Error).message}\n`);
    this.#failed = true;
  }
}
