/**
 * Every migration, in version order. Append new ones at the end; never edit or reorder released ones.
 */
import type { Migration } from './migration.js';
import { initial } from './0001-initial.js';
import { identityAuditUsage } from './0002-identity-audit-usage.js';
import { bookings } from './0050-bookings.js';
import { accountsAttemptResources } from './0051-accounts-attempt-resources.js';
import { jobArrays } from './0052-job-arrays.js';
import { pendingDetail } from './0054-pending-detail.js';

export type { Migration, SqlDialect } from './migration.js';
export { runMigrations, type MigrationResult } from './runner.js';

export const MIGRATIONS: readonly Migration[] = [
  initial,
  identityAuditUsage,
  bookings,
  accountsAttemptResources,
  jobArrays,
  pendingDetail,
];
