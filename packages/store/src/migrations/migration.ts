/**
 * A versioned schema migration. Later features add tables by appending a migration to `MIGRATIONS`
 * (index.ts) with the next version number; a migration, once released, is never edited, because
 * databases that already applied it will not run it again.
 *
 * `up` runs inside the runner's transaction (both SQLite and PostgreSQL have transactional DDL), so
 * a failing migration leaves no trace and is retried on the next start. It receives the dialect so
 * the few types that differ (auto-increment keys) can be chosen; everything else should use Kysely's
 * schema builder, which writes the right SQL for both.
 */
import type { Kysely } from 'kysely';

export type SqlDialect = 'sqlite' | 'postgres';

/**
 * Migrations and the runner see the database untyped: a migration works on the schema as it was
 * when the migration was written, not on today's `Database` type.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type UntypedKysely = Kysely<any>;

export interface Migration {
  /** 1, 2, 3, …: applied in this order, each exactly once. */
  readonly version: number;
  /** Short snake_case description, recorded next to the version and checked on every start. */
  readonly name: string;
  up(db: UntypedKysely, dialect: SqlDialect): Promise<void>;
}
