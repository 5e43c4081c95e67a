export * from './store.js';
export { openStore, redactDatabaseUrl, type OpenStoreOptions } from './open.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export {
  openPostgresStore,
  adminPostgresSchema,
  type PostgresStoreOptions,
} from './postgres/postgres-store.js';
export {
  passwordFromPassfileText,
  resolvePostgresPassword,
  passfileTarget,
  type PassfileTarget,
} from './postgres/passfile.js';
export {
  KyselyStore,
  LIST_JOBS_DEFAULT_LIMIT,
  LIST_JOBS_MAX_LIMIT,
  AUDIT_MAX_LIMIT,
} from './kysely-store.js';
export {
  MIGRATIONS,
  runMigrations,
  type Migration,
  type MigrationResult,
  type SqlDialect,
} from './migrations/index.js';
export {
  openBookingStore,
  bookingStoreOf,
  BOOKING_LOCK_CLASS,
  BOOKINGS_MAX_LIMIT,
  type BookingStore,
  type BookingRecord,
  type BookingSettings,
  type BookingFilter,
  type NewBooking,
  type AdmitVerdict,
} from './bookings.js';
