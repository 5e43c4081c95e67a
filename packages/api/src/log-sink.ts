/**
 * The server's log destination: lines written to a file descriptor with `writeSync`, where a failed
 * write (a full disk: ENOSPC, EDQUOT; a closed pipe: EPIPE; any other error) drops the line and
 * counts it, and never throws or emits: a log that cannot be written must not take the control
 * plane down. `/healthz` and `/metrics` report the dropped lines (health.ts).
 *
 * pino accepts any object with `write(line)` as its destination; this is one, without the
 * asynchronous buffering of pino's own destination (whose write errors surface as 'error' events).
 */
import { closeSync, constants as fsConstants, openSync, writeSync } from 'node:fs';

/** Bound: immediate retries of a write that would block (EAGAIN on a non-blocking pipe). */
const EAGAIN_MAX_RETRIES = 100;
const EAGAIN_SLEEP_MS = 1;

export class LogSink {
  #dropped = 0;
  #lastError: { code: string; at: number } | null = null;
  #lastWriteOk = true;
  readonly #sleeper = new Int32Array(new SharedArrayBuffer(4));

  private constructor(
    private readonly fd: number,
    /** What the log goes to, for messages: `stderr`, `stdout` or the file's path. */
    readonly target: string,
    private readonly owned: boolean,
    private readonly clock: () => number,
  ) {}

  /** Standard output (1) or standard error (2). */
  static ofFd(fd: 1 | 2, clock: () => number = Date.now): LogSink {
    return new LogSink(fd, fd === 1 ? 'stdout' : 'stderr', false, clock);
  }

  /** A file, created (0600) if missing and appended to. Opening errors are thrown: a bad path is a usage error. */
  static ofFile(path: string, clock: () => number = Date.now): LogSink {
    const fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT, 0o600);
    return new LogSink(fd, path, true, clock);
  }

  /** Lines that could not be written since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The latest write error (errno code and epoch ms), or null if none. */
  get lastError(): { readonly code: string; readonly at: number } | null {
    return this.#lastError;
  }

  /** Whether the latest write succeeded (the log is being written again after an error). */
  get writing(): boolean {
    return this.#lastWriteOk;
  }

  write(line: string): void {
    const buf = Buffer.from(line);
    let off = 0;
    let retries = 0;
    while (off < buf.length) {
      try {
        off += writeSync(this.fd, buf, off, buf.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        if (code === 'EAGAIN' && retries++ < EAGAIN_MAX_RETRIES) {
          Atomics.wait(this.#sleeper, 0, 0, EAGAIN_SLEEP_MS);
          continue;
        }
        this.noteDropped(code);
        return;
      }
    }
    this.#lastWriteOk = true;
  }

  /** Counts a line lost elsewhere on the same target (a banner line on a broken standard output). */
  noteDropped(code: string): void {
    this.#dropped++;
    this.#lastWriteOk = false;
    this.#lastError = { code, at: this.clock() };
  }

  close(): void {
    if (this.owned) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
    }
  }
}
