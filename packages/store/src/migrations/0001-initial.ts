/**
 * Version 1: settings (meta), jobs with their transition history, and the node inventory.
 */
import type { Migration } from './migration.js';

export const initial: Migration = {
  version: 1,
  name: 'initial',
  async up(db, dialect) {
    await db.schema
      .createTable('meta')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();

    // seq is the primary key: SQLite only auto-increments an INTEGER PRIMARY KEY, and with
    // AUTOINCREMENT it never reuses the seq of a deleted job (so seq order stays submission order).
    await db.schema
      .createTable('jobs')
      .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (c) =>
        dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('submitted_by', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('priority', 'integer', (c) => c.notNull())
      .addColumn('submitted_at', 'bigint', (c) => c.notNull())
      .addColumn('queued_at', 'bigint', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('placement', 'text')
      .addColumn('executor_ref', 'text')
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addColumn('exit_code', 'integer')
      .addColumn('pending_verdict', 'text')
      .addColumn('pending_reason', 'text')
      .addColumn('estimated_start', 'bigint')
      .addColumn('not_before', 'bigint')
      .addColumn('cancel_requested_at', 'bigint')
      .addColumn('idempotency_key', 'text')
      // NULL keys never conflict (NULLS DISTINCT in both engines): jobs without a key are never merged.
      .addUniqueConstraint('jobs_tenant_idempotency_key_unique', ['tenant', 'idempotency_key'])
      .execute();
    // The engine's working set (jobsInStates) and state-filtered listings.
    await db.schema.createIndex('jobs_state_seq_idx').on('jobs').columns(['state', 'seq']).execute();
    // A tenant's own listing, newest first.
    await db.schema.createIndex('jobs_tenant_seq_idx').on('jobs').columns(['tenant', 'seq']).execute();

    await db.schema
      .createTable('job_transitions')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('from_state', 'text')
      .addColumn('to_state', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('job_transitions_pk', ['job_id', 'seq'])
      .execute();

    await db.schema
      .createTable('nodes')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('admin_state', 'text')
      .addColumn('admin_reason', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
