/**
 * PostgreSQL, for centers that run more than one server process or want their database managed
 * apart from the platform. A pg Pool driven by Kysely; int8 columns (epoch-ms times, seq) are parsed
 * into JS numbers, exact up to 2^53.
 */
import pg from 'pg';
import { resolvePostgresPassword } from './passfile.js';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyStore, type Backend } from '../kysely-store.js';
import type { Database } from '../schema.js';
import type { PendingUpdate } from '../store.js';

export const POSTGRES_POOL_MAX_CONNECTIONS = 10;
/** Name of a schema in search_path: a plain identifier, so it can be interpolated safely. */
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresStoreOptions {
  /** `postgres://` or `postgresql://` URL. */
  readonly connectionString: string;
  /**
   * Schema to use instead of the role's default search_path (e.g. one schema per test file). It must
   * already exist. Omit it to use the database's default (normally `public`).
   */
  readonly schema?: string;
  readonly poolMaxConnections?: number;
  /**
   * Called when an idle pooled connection fails (server restart, network cut). pg emits these as
   * 'error' events on the pool, and an unhandled 'error' event would crash the process; the pool
   * already drops the broken connection and the next query opens a fresh one. Default: ignore.
   */
  readonly onIdleConnectionError?: (err: Error) => void;
}

const INT8_OID = 20;
const parseInt8 = (v: string): number => Number(v);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? parseInt8
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export async function openPostgresStore(options: PostgresStoreOptions): Promise<KyselyStore> {
  if (options.schema !== undefined && !SCHEMA_RE.test(options.schema)) {
    throw new Error(`schema name "${options.schema}" must match ${String(SCHEMA_RE)}`);
  }
  // A password left out of the URL comes from PGPASSWORD or the passfile (passfile.ts); it is put
  // into the URL handed to the driver (which lets the URL's empty password win over any other).
  const url = new URL(options.connectionString);
  if (url.password === '') {
    const password = resolvePostgresPassword(options.connectionString);
    if (password !== undefined) url.password = encodeURIComponent(password);
  }
  const pool = new pg.Pool({
    connectionString: url.toString(),
    max: options.poolMaxConnections ?? POSTGRES_POOL_MAX_CONNECTIONS,
    types,
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  pool.on('error', options.onIdleConnectionError ?? (() => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });

  const write = <T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> => db.transaction().execute(fn);

  const backend: Backend = {
    dialect: 'postgres',
    db,
    write,
    dataModifyingCte: true,
    // One statement for the whole cycle: the updates travel as five parallel arrays and are joined
    // in the database, instead of one round trip per job.
    setPendingReasons: async (updates: readonly PendingUpdate[]) => {
      await sql`
        update jobs set
          pending_verdict = u.verdict,
          pending_reason = u.reason,
          estimated_start = u.estimated_start,
          pending_detail = u.detail
        from unnest(
          ${updates.map((u) => u.jobId)}::text[],
          ${updates.map((u) => u.verdict)}::text[],
          ${updates.map((u) => u.reason)}::text[],
          ${updates.map((u) => u.estimatedStart)}::bigint[],
          ${updates.map((u) => (u.detail ? JSON.stringify(u.detail) : null))}::text[]
        ) as u(id, verdict, reason, estimated_start, detail)
        where jobs.id = u.id and jobs.state = 'queued'`.execute(db);
    },
  };
  return new KyselyStore(backend);
}

/**
 * Creates (`create`) or drops (`drop`, with its contents) a schema: for tests and tools that give
 * each run its own schema (`?options=-c search_path=<schema>` in the URL, or `schema` above).
 */
export async function adminPostgresSchema(
  connectionString: string,
  action: 'create' | 'drop',
  schema: string,
): Promise<void> {
  if (!SCHEMA_RE.test(schema)) throw new Error(`schema name "${schema}" must match ${String(SCHEMA_RE)}`);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(
      action === 'create'
        ? `create schema if not exists ${schema}`
        : `drop schema if exists ${schema} cascade`,
    );
  } finally {
    await client.end();
  }
}
