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
  /** The verdict's structured detail (`VerdictDetail`) as JSON text, or null. */
  pending_detail: string | null;
  not_before: number | null;
  cancel_requested_at: number | null;
  idempotency_key: string | null;
  /** Added by migration 5: the task's array, index and the array's throttle; null outside arrays. */
  array_id: string | null;
  array_index: number | null;
  array_throttle: number | null;
}

export interface JobArraysTable {
  id: string;
  tenant: string;
  project: string;
  name: string;
  submitted_by: string;
  /** The tasks' JobSpec as JSON text. */
  spec: string;
  /** Canonical array expression (`0-999%50`). */
  expression: string;
  throttle: number | null;
  size: number;
  /** seq of the first task: the array's place in a folded, newest-first list. */
  first_seq: number;
  submitted_at: number;
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

export interface TenantsTable {
  name: string;
  display_name: string;
  created_at: number;
}
export interface ProjectsTable {
  tenant: string;
  name: string;
  created_at: number;
}
export interface MembershipsTable {
  tenant: string;
  subject: string;
  role: string;
  created_at: number;
  /** Added by migration 4; null: the tenant's own account. */
  unix_user: string | null;
}
export interface ApiTokensTable {
  id: string;
  hash: string;
  subject: string;
  tenant: string;
  name: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}
export interface AuditLogTable {
  seq: Generated<number>;
  at: number;
  subject: string | null;
  tenant: string | null;
  role: string | null;
  method: string;
  route: string;
  target: string | null;
  ip: string;
  status: number;
  error_code: string | null;
  request_id: string;
}
export interface UsageLedgerTable {
  job_id: string;
  attempt: number;
  tenant: string;
  project: string;
  accelerator_type: string;
  accelerators: number;
  cpu_millis: number;
  memory_mib: number;
  started_at: number;
  finished_at: number;
  end_state: string;
  /** Added by migration 4; null: not measured. */
  peak_memory_bytes: number | null;
  cpu_time_ms: number | null;
}
export interface BudgetsTable {
  tenant: string;
  /** '' for the tenant-wide budget. */
  project: string;
  accelerator_hours: number;
  updated_at: number;
}
export interface PricesTable {
  accelerator_type: string;
  per_accelerator_hour: number;
  currency: string;
  updated_at: number;
}

export interface Database {
  tenants: TenantsTable;
  projects: ProjectsTable;
  memberships: MembershipsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  usage_ledger: UsageLedgerTable;
  budgets: BudgetsTable;
  prices: PricesTable;
  meta: MetaTable;
  schema_migrations: SchemaMigrationsTable;
  jobs: JobsTable;
  job_arrays: JobArraysTable;
  job_transitions: JobTransitionsTable;
  nodes: NodesTable;
}
