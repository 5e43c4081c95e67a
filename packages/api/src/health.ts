/**
 * What keeps the platform from doing its job while it still answers: a log it cannot write, a
 * store whose disk is full. `/healthz` reports `degraded` with one problem per cause, and
 * `/metrics` has a gauge and a counter for each; the server goes on serving and scheduling.
 *
 * Storage full is seen two ways: a write the store refused for want of space (SQLite's
 * SQLITE_FULL, PostgreSQL's SQLSTATE 53100 disk_full, ENOSPC/EDQUOT from the file system), which
 * holds until a write succeeds again; and, where the store is in the data directory, the data
 * directory's file system having less than `STORAGE_MIN_FREE_BYTES` left.
 */
import { statfsSync } from 'node:fs';
import type { LogSink } from './log-sink.js';

/** Below this many free bytes on the data directory's file system, storage counts as full. */
export const STORAGE_MIN_FREE_BYTES = 1024 * 1024;

/** Seconds a client is told to wait before retrying a request refused for want of space. */
export const STORAGE_FULL_RETRY_AFTER_S = 30;

export interface HealthProblem {
  /** Stable: `storage-full`, `log-not-writable`. */
  readonly code: string;
  readonly message: string;
  /** Epoch ms the problem was seen: the first refusal of this episode, the latest failed log write. */
  readonly since: number;
}

/** Whether an error means the store's disk is full. */
export function isStorageFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC' || code === 'EDQUOT') return true;
  return err instanceof Error && /database or disk is full|No space left on device/i.test(err.message);
}

export class PlatformHealth {
  readonly #sinks: LogSink[] = [];
  #storageFull: { since: number; detail: string } | null = null;
  #storageFullErrors = 0;

  constructor(
    /** The data directory, when the store lives in it (SQLite): its free space is checked. */
    private readonly storeDir: string | null = null,
    private readonly clock: () => number = Date.now,
  ) {}

  addLogSink(sink: LogSink): void {
    this.#sinks.push(sink);
  }

  /** A write refused for want of space. */
  noteStorageFull(detail: string): void {
    this.#storageFullErrors++;
    this.#storageFull ??= { since: this.clock(), detail };
  }

  /** A write that succeeded: the store has room again. */
  noteStoreWriteOk(): void {
    this.#storageFull = null;
  }

  /** Writes refused for want of space since start. */
  get storageFullErrors(): number {
    return this.#storageFullErrors;
  }

  get logLinesDropped(): number {
    return this.#sinks.reduce((n, s) => n + s.dropped, 0);
  }

  /** Free bytes on the store's file system, or null where unknown (PostgreSQL, statfs failed). */
  storeFreeBytes(): number | null {
    if (this.storeDir === null) return null;
    try {
      const st = statfsSync(this.storeDir);
      return st.bavail * st.bsize;
    } catch {
      return null;
    }
  }

  storageIsFull(): boolean {
    if (this.#storageFull !== null) return true;
    const free = this.storeFreeBytes();
    return free !== null && free < STORAGE_MIN_FREE_BYTES;
  }

  problems(): HealthProblem[] {
    const out: HealthProblem[] = [];
    const free = this.storeFreeBytes();
    if (this.#storageFull !== null || (free !== null && free < STORAGE_MIN_FREE_BYTES)) {
      const where = this.storeDir
        ? ` (data directory ${this.storeDir}${free !== null ? `, ${free} bytes free` : ''})`
        : '';
      out.push({
        code: 'storage-full',
        message:
          `the store's disk is full${where}: new jobs and changes are refused with STORAGE_FULL until space is freed` +
          (this.#storageFull ? `; last refusal: ${this.#storageFull.detail}` : ''),
        since: this.#storageFull?.since ?? this.clock(),
      });
    }
    for (const s of this.#sinks) {
      const e = s.lastError;
      if (e !== null && !s.writing)
        out.push({
          code: 'log-not-writable',
          message: `the server log (${s.target}) cannot be written (${e.code}); ${s.dropped} line(s) dropped so far, serving and scheduling go on`,
          since: e.at,
        });
    }
    return out;
  }
}
