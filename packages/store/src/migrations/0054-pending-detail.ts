/**
 * `jobs.pending_detail`: the structured part of a pending verdict (`VerdictDetail` of
 * @suanli/core as JSON text: a time, the booking window and tenant it concerns), which the CLI and
 * the console render in the reader's language and time zone. NULL: no detail (every row written
 * before this migration, and verdicts without times). Its `version` is its position in MIGRATIONS.
 */
import type { Migration } from './migration.js';

export const pendingDetail: Migration = {
  version: 6,
  name: 'pending_detail',
  async up(db) {
    await db.schema.alterTable('jobs').addColumn('pending_detail', 'text').execute();
  },
};
