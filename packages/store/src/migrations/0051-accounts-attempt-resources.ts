/**
 * Confinement: the Unix account an operator mapped a member to, and what each attempt
 * used. Numbered 0051 so the file sorts after 0050-bookings; its `version` is its position in
 * MIGRATIONS.
 *
 * - `memberships.unix_user`: the existing account this subject's jobs run as; NULL means the
 *   tenant's own account (`sl-<tenant>`).
 * - `usage_ledger.peak_memory_bytes` / `cpu_time_ms`: the ended attempt's peak memory and CPU time
 *   as the executor measured them (cgroup), NULL when unknown (every row written before this
 *   migration, and executors that cannot measure).
 *
 * One ALTER per column: SQLite accepts a single ADD COLUMN per statement.
 */
import type { Migration } from './migration.js';

export const accountsAttemptResources: Migration = {
  version: 4,
  name: 'accounts_attempt_resources',
  async up(db) {
    await db.schema.alterTable('memberships').addColumn('unix_user', 'text').execute();
    await db.schema.alterTable('usage_ledger').addColumn('peak_memory_bytes', 'bigint').execute();
    await db.schema.alterTable('usage_ledger').addColumn('cpu_time_ms', 'bigint').execute();
    // A job's attempts are read by job id (the job view): the primary key (job_id, attempt) serves it.
  },
};
