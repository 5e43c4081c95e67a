import { join } from 'node:path';
import { ensureDataDir, openSqliteStore } from './sqlite/sqlite-store.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** The server's data directory (created with mode 0700 when absent). The SQLite file lives here. */
  readonly dataDir: string;
  /**
   * Absent: the embedded SQLite database `<dataDir>/suanli.db`.
   * `postgres://…` or `postgresql://…`: a PostgreSQL database (pool).
   */
  readonly database?: string;
}

export const SQLITE_FILE_NAME = 'suanli.db';

/**
 * Opens the store. It does NOT apply migrations: the caller runs `store.migrate()` once at start
 * (safe to repeat), so that tools opening the store read-mostly (a CLI, a backup check) never change
 * the schema behind a running server's back, and the server decides when the schema moves.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  ensureDataDir(options.dataDir);
  const database = options.database;
  if (database === undefined || database === '') {
    return openSqliteStore({ file: join(options.dataDir, SQLITE_FILE_NAME) });
  }
  if (/^postgres(ql)?:\/\//i.test(database)) {
    return openPostgresStore({ connectionString: database });
  }
  throw new Error(
    `unsupported database "${redactDatabaseUrl(database)}": leave it unset for the embedded SQLite file <dataDir>/${SQLITE_FILE_NAME}, ` +
      `or give a PostgreSQL URL such as postgresql://user@127.0.0.1:5432/suanli (postgres:// also accepted; the password from PGPASSWORD or ~/.pgpass)`,
  );
}

/**
 * The database URL fit to print or log: a password in it (`postgres://user:secret@host/db`)
 * becomes `***`; a URL without one is shown as is.
 */
export function redactDatabaseUrl(database: string): string {
  return database
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@')
    .replace(/([?&]password=)[^&]*/i, '$1***');
}
