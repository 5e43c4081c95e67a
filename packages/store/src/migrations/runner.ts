/**
 * The migration runner, generic over the list of migrations and the two dialects.
 *
 * All pending migrations are applied in ONE transaction that first takes an exclusive lock:
 * - PostgreSQL: `pg_advisory_xact_lock` on a key derived from the current schema, so two servers
 *   starting at once against the same database serialize here; the second finds everything applied
 *   and does nothing. The lock is released with the transaction, also when the process dies.
 * - SQLite: `BEGIN IMMEDIATE` takes the database's write lock up front (a deferred transaction could
 *   read the version table, then fail to upgrade to a writer when another process got there first).
 *
 * Each applied migration is recorded in `schema_migrations` (version, name, applied_at). A database
 * whose recorded names differ from this build's, or that has versions this build does not know (it
 * was migrated by a newer build), is refused with an error rather than silently used.
 */
import { sql } from 'kysely';
import type { Migration, SqlDialect, UntypedKysely } from './migration.js';

export interface MigrationResult {
  /** Versions applied by this call, in order (empty when the database was up to date). */
  readonly applied: readonly number[];
  /** The schema version after this call. */
  readonly version: number;
}

/** Arbitrary constant: the advisory-lock class for "suanli migrations", paired with the schema's hash. */
const PG_LOCK_CLASS = 0x5a4e4c49; // "ZNLI"

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `migration list is out of order: position ${i + 1} holds version ${m.version} (${m.name})`,
      );
    }
  });
}

export async function runMigrations(
  db: UntypedKysely,
  dialect: SqlDialect,
  migrations: readonly Migration[],
): Promise<MigrationResult> {
  checkOrder(migrations);
  return db.connection().execute(async (conn) => {
    if (dialect === 'postgres') {
      await sql`begin`.execute(conn);
    } else {
      await sql`begin immediate`.execute(conn);
    }
    try {
      if (dialect === 'postgres') {
        await sql`select pg_advisory_xact_lock(${PG_LOCK_CLASS}, hashtext(coalesce(current_schema(), '')))`.execute(
          conn,
        );
      }
      await conn.schema
        .createTable('schema_migrations')
        .ifNotExists()
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'text', (c) => c.notNull())
        .execute();
      const rows = await conn
        .selectFrom('schema_migrations')
        .select(['version', 'name'])
        .orderBy('version')
        .execute();
      const known = new Map(migrations.map((m) => [m.version, m]));
      for (const row of rows) {
        const version = Number(row.version);
        const m = known.get(version);
        if (m === undefined) {
          throw new Error(
            `database schema has migration ${version} (${String(row.name)}) that this build does not know ` +
              `(it knows 1..${migrations.length}): it was migrated by a newer suanli; upgrade this server`,
          );
        }
        if (m.name !== row.name) {
          throw new Error(
            `database migration ${version} is named "${String(row.name)}" but this build calls it "${m.name}"`,
          );
        }
      }
      const done = new Set(rows.map((r) => Number(r.version)));
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await m.up(conn, dialect);
        await conn
          .insertInto('schema_migrations')
          .values({ version: m.version, name: m.name, applied_at: sql`cast(current_timestamp as text)` })
          .execute();
        applied.push(m.version);
      }
      await sql`commit`.execute(conn);
      return { applied, version: migrations.length };
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}
