/**
 * Bookings (算力预約): booked windows and maintenance windows, and per-tenant booking
 * settings (approval required, booking quota). The file is numbered 0050 so that it sorts after
 * the identity migrations being written in parallel; its `version` is its position in MIGRATIONS
 * (the runner requires 1, 2, 3, … without gaps).
 *
 * A booking's occurrences (its recurrence expanded to UTC, at most MAX_OCCURRENCES_PER_BOOKING)
 * are stored as JSON next to the wall-clock form it was asked in, so readers never re-expand a
 * recurrence with a time-zone database that may have changed since admission.
 */
import type { Migration } from './migration.js';

export const bookings: Migration = {
  version: 3,
  name: 'bookings',
  async up(db) {
    await db.schema
      .createTable('bookings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      // 'booking' | 'maintenance'
      .addColumn('kind', 'text', (c) => c.notNull())
      // 'requested' | 'approved' | 'rejected' | 'cancelled' (active/completed are derived from time)
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('accelerator_type', 'text', (c) => c.notNull())
      .addColumn('accelerators', 'integer', (c) => c.notNull())
      .addColumn('node_count', 'integer')
      .addColumn('same_switch', 'integer', (c) => c.notNull())
      // wall clock as asked, in time_zone
      .addColumn('start_local', 'text', (c) => c.notNull())
      .addColumn('end_local', 'text', (c) => c.notNull())
      .addColumn('time_zone', 'text', (c) => c.notNull())
      .addColumn('repeat', 'text')
      .addColumn('until', 'text')
      // JSON [{startTime, endTime}] in epoch ms
      .addColumn('occurrences', 'text', (c) => c.notNull())
      .addColumn('first_start', 'bigint', (c) => c.notNull())
      .addColumn('last_end', 'bigint', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'bigint')
      .execute();
    // admission reads the bookings that have not ended; listings filter by tenant
    await db.schema.createIndex('bookings_last_end_idx').on('bookings').columns(['last_end']).execute();
    await db.schema
      .createIndex('bookings_tenant_idx')
      .on('bookings')
      .columns(['tenant', 'first_start'])
      .execute();
    await db.schema
      .createTable('booking_settings')
      .addColumn('tenant', 'text', (c) => c.primaryKey())
      .addColumn('require_approval', 'integer', (c) => c.notNull())
      .addColumn('max_booked_accelerator_hours', 'double precision')
      .addColumn('max_accelerators_per_booking', 'integer')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
