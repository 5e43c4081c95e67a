/**
 * The tables as Kysely sees them (one logical schema for SQLite and PostgreSQL; the migrations in
 * `migrations/` create them). Column names are snake_case; `rows.ts` maps rows to the records of
 * `store.ts`. Times are epoch milliseconds in `bigint` columns (`integer` in SQLite); the
 * PostgreSQL store parses int8 into JS numbers, which is exact up to 2^53 ms (year 287396).
 */
import type { Generated } from 'kysely';

export interface MetaTable {
  key: string;
  value: string;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  /** Database clock text, for operators only (the store never reads the clock itself). */
  applied_at: string;
}

export interface JobsTable {
  /** Auto-increment submission sequence: the primary key, so listing by seq needs no extra index. */
  seq: Generated<number>;
  id: string;
  tenant: string;
  project: string;
  name: string;
  submitted_by: string;
  /** JobSpec as JSON text. */
  spec: string;
  state: string;
  priority: number;
  submitted_at: number;
  queued_at: number;
  attempt: number;
  /** Placement as JSON text, or null. */
  placement: string | null;
  executor_ref: string | null;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  pending_verdict: string | null;
  pending_reason: string | null;
  estimated_start: number | null;
  not_before: number | null;
  cancel_requested_at: number | null;
  idempotency_key: string | null;
}

export interface JobTransitionsTable {
  job_id: string;
  /** 1, 2, … per job: the order of the job's transitions. */
  seq: number;
  from_state: string | null;
  to_state: string;
  at: number;
  reason: string;
  attempt: number;
}

export interface NodesTable {
  name: string;
  /** ClusterNode as JSON text. */
  node: string;
  admin_state: string | null;
  admin_reason: string | null;
  updated_at: number;
}

export interface Database {
  meta: MetaTable;
  schema_migrations: SchemaMigrationsTable;
  jobs: JobsTable;
  job_transitions: JobTransitionsTable;
  nodes: NodesTable;
}
