/**
 * Job arrays, and the indexes that keep the job list an index range scan at a million jobs.
 * Numbered 0052 so the file sorts after 0051; its `version` is its position in MIGRATIONS.
 *
 * - `job_arrays`: one row per array (what was submitted: spec, index expression, throttle, size).
 *   `first_seq` is the `seq` of its first task: where the array sits in a folded, newest-first list.
 *   Idempotency keys of arrays are unique per tenant, like those of jobs (NULLs never conflict).
 * - `jobs.array_id` / `array_index` / `array_throttle`: a task is an ordinary job row (so quotas,
 *   fair share, bookings, retries and the ledger count it as a job) that names its array, its index
 *   and the array's `%N` cap (copied so the engine needs no second read per cycle). NULL for a job
 *   that is not a task.
 *
 * Indexes, each for a listing the API serves (see `KyselyStore.listJobs`):
 * - (tenant, state, seq), (tenant, project, seq), (tenant, submitted_by, seq): a tenant's listing by
 *   state, by project, its own jobs; newest first within each.
 * - (array_id, seq): an array's tasks in index order (tasks are inserted in index order, so their
 *   seqs ascend with their indices); (array_id, state, seq): per-state counts and tasks by state.
 * - partial indexes WHERE array_id IS NULL on (seq), (state, seq), (tenant, seq), (tenant, state, seq):
 *   the folded list, where arrays are listed from `job_arrays` and only jobs outside arrays from
 *   `jobs`, without stepping over the tasks of a 10,000-task array.
 */
import { sql } from 'kysely';
import type { Migration } from './migration.js';

export const jobArrays: Migration = {
  version: 5,
  name: 'job_arrays',
  async up(db) {
    await db.schema
      .createTable('job_arrays')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('submitted_by', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('expression', 'text', (c) => c.notNull())
      .addColumn('throttle', 'integer')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('first_seq', 'bigint', (c) => c.notNull())
      .addColumn('submitted_at', 'bigint', (c) => c.notNull())
      .addColumn('idempotency_key', 'text')
      .addUniqueConstraint('job_arrays_tenant_idempotency_key_unique', ['tenant', 'idempotency_key'])
      .execute();
    await db.schema.createIndex('job_arrays_first_seq_idx').on('job_arrays').columns(['first_seq']).execute();
    await db.schema
      .createIndex('job_arrays_tenant_first_seq_idx')
      .on('job_arrays')
      .columns(['tenant', 'first_seq'])
      .execute();

    await db.schema.alterTable('jobs').addColumn('array_id', 'text').execute();
    await db.schema.alterTable('jobs').addColumn('array_index', 'integer').execute();
    await db.schema.alterTable('jobs').addColumn('array_throttle', 'integer').execute();

    const index = (name: string, columns: string[]) =>
      db.schema.createIndex(name).on('jobs').columns(columns).execute();
    await index('jobs_tenant_state_seq_idx', ['tenant', 'state', 'seq']);
    await index('jobs_tenant_project_seq_idx', ['tenant', 'project', 'seq']);
    await index('jobs_tenant_submitted_by_seq_idx', ['tenant', 'submitted_by', 'seq']);
    await index('jobs_array_seq_idx', ['array_id', 'seq']);
    await index('jobs_array_state_seq_idx', ['array_id', 'state', 'seq']);
    const plain = (name: string, columns: string[]) =>
      db.schema
        .createIndex(name)
        .on('jobs')
        .columns(columns)
        .where(sql.ref('array_id'), 'is', null)
        .execute();
    await plain('jobs_plain_seq_idx', ['seq']);
    await plain('jobs_plain_state_seq_idx', ['state', 'seq']);
    await plain('jobs_plain_tenant_seq_idx', ['tenant', 'seq']);
    await plain('jobs_plain_tenant_state_seq_idx', ['tenant', 'state', 'seq']);
  },
};
