/**
 * Version 2: identity (tenants, projects, memberships, API tokens), the append-only audit log, the
 * usage ledger, budgets and prices.
 */
import type { Migration } from './migration.js';

export const identityAuditUsage: Migration = {
  version: 2,
  name: 'identity_audit_usage',
  async up(db, dialect) {
    await db.schema
      .createTable('tenants')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('projects')
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('projects_pk', ['tenant', 'name'])
      .execute();
    // A subject (user or pipeline) holds one role in one tenant; platform roles (admin, operator)
    // are memberships too, in the tenant the subject belongs to.
    await db.schema
      .createTable('memberships')
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('memberships_pk', ['tenant', 'subject'])
      .execute();
    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('api_tokens_tenant_idx')
      .on('api_tokens')
      .columns(['tenant', 'subject'])
      .execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (c) =>
        dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('subject', 'text')
      .addColumn('tenant', 'text')
      .addColumn('role', 'text')
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('route', 'text', (c) => c.notNull())
      .addColumn('target', 'text')
      .addColumn('ip', 'text', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('error_code', 'text')
      .addColumn('request_id', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_at_idx').on('audit_log').columns(['at']).execute();

    // One row per ended attempt, written in the transaction of the job's transition out of
    // starting/running; the primary key makes a second write of the same attempt impossible.
    await db.schema
      .createTable('usage_ledger')
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('accelerator_type', 'text', (c) => c.notNull())
      .addColumn('accelerators', 'integer', (c) => c.notNull())
      .addColumn('cpu_millis', 'bigint', (c) => c.notNull())
      .addColumn('memory_mib', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint', (c) => c.notNull())
      .addColumn('end_state', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('usage_ledger_pk', ['job_id', 'attempt'])
      .execute();
    await db.schema
      .createIndex('usage_ledger_finished_idx')
      .on('usage_ledger')
      .columns(['finished_at'])
      .execute();

    await db.schema
      .createTable('budgets')
      .addColumn('tenant', 'text', (c) => c.notNull())
      // '' for a tenant-wide budget.
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('accelerator_hours', 'double precision', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('budgets_pk', ['tenant', 'project'])
      .execute();
    await db.schema
      .createTable('prices')
      .addColumn('accelerator_type', 'text', (c) => c.primaryKey())
      .addColumn('per_accelerator_hour', 'double precision', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
