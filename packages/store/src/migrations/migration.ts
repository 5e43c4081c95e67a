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

export interface Migration {
  /** 1, 2, 3, …: applied in this order, each exactly once. */
  readonly version: number;
  /** Short snake_case description, recorded next to the version and checked on every start. */
  readonly name: string;
  // The schema builder is untyped here: a migration sees the schema as it was when it was written.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up(db: Kysely<any>, dialect: SqlDialect): Promise<void>;
}
