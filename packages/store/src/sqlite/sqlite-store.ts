/**
 * The embedded default: one SQLite file, opened through better-sqlite3 and driven by Kysely.
 *
 * Settings and why:
 * - WAL: readers (API listings) never block the writer (the engine) and commits are one fsync.
 * - synchronous=NORMAL: with WAL a power cut can lose the last commits but never corrupts the file;
 *   a crash of the process loses nothing.
 * - busy_timeout: another process (a CLI opening the same file) waits instead of failing at once.
 * - foreign_keys=ON: SQLite leaves them off per connection unless asked.
 * Kysely's SQLite dialect uses a single connection with a mutex, so this process's queries and
 * transactions are serialized; write transactions are group-committed (group-commit.ts) and use BEGIN IMMEDIATE so that, across processes,
 * a transaction that will write holds the write lock from its start (no upgrade deadlocks).
 */
import { mkdirSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { GroupCommitWriter } from './group-commit.js';
import { KyselyStore, type Backend } from '../kysely-store.js';
import type { Database } from '../schema.js';
import type { PendingUpdate } from '../store.js';

export const SQLITE_BUSY_TIMEOUT_MS = 5000;
/**
 * Prepared statements kept per connection, keyed by SQL text. Kysely prepares every query it runs;
 * the store's queries are a few dozen distinct texts (IN-lists add one per list length), so caching
 * them removes most of better-sqlite3's per-call cost. LRU-bounded so odd IN-list lengths cannot grow it.
 */
export const SQLITE_STATEMENT_CACHE_SIZE = 256;

export interface SqliteStoreOptions {
  /** Path of the database file; created when absent. */
  readonly file: string;
}

/** better-sqlite3's Database with an LRU cache in front of `prepare`. */
function withStatementCache(raw: BetterSqlite3.Database, max: number): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => raw.close(),
    prepare(text: string): SqliteStatement {
      const hit = cache.get(text);
      if (hit !== undefined) {
        cache.delete(text);
        cache.set(text, hit);
        return hit;
      }
      const stmt = raw.prepare(text) as unknown as SqliteStatement;
      cache.set(text, stmt);
      if (cache.size > max) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      return stmt;
    },
  };
}

export function openSqliteFile(file: string): BetterSqlite3.Database {
  const raw = new BetterSqlite3(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  raw.pragma('foreign_keys = ON');
  return raw;
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<KyselyStore> {
  const raw = openSqliteFile(options.file);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(raw, SQLITE_STATEMENT_CACHE_SIZE) }),
  });

  const writer = new GroupCommitWriter(db, () => raw.inTransaction);
  const write = <T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> => writer.write(fn);

  const backend: Backend = {
    dialect: 'sqlite',
    db,
    write,
    dataModifyingCte: false,
    // One prepared UPDATE run per job inside one transaction: with a cached statement each run is a
    // few microseconds, faster than building one large statement for thousands of rows.
    setPendingReasons: (updates: readonly PendingUpdate[]) =>
      write(async (trx) => {
        for (const u of updates) {
          await trx
            .updateTable('jobs')
            .set({
              pending_verdict: u.verdict,
              pending_reason: u.reason,
              estimated_start: u.estimatedStart,
              pending_detail: u.detail ? JSON.stringify(u.detail) : null,
            })
            .where('id', '=', u.jobId)
            .where('state', '=', 'queued')
            .execute();
        }
      }),
  };
  return new KyselyStore(backend);
}

export function ensureDataDir(dataDir: string): void {
  // 0700: the database holds token hashes and every tenant's jobs; only the server's user reads it.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}
