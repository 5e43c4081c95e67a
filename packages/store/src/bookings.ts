/**
 * The BookingStore: bookings and maintenance windows, on the same database as the Store
 * (same Kysely instance, same write path, same migrations), for SQLite and PostgreSQL alike.
 *
 * Why a separate interface: bookings are one feature with their own life cycle; keeping them out
 * of `Store` keeps that interface about jobs and identity. `openBookingStore(store)` gives the
 * BookingStore of a store opened by `openStore` (it needs the store's database handle).
 *
 * The admission contract (no overbooking): `admit` and `transition` run the caller's pure
 * decision (core's `admitBooking`) INSIDE one write transaction that holds the booking admission
 * lock, over the bookings read inside that same transaction, and insert/update only when the
 * decision admits. Two concurrent admissions therefore run one after the other, and the second
 * sees the first's booking:
 *   - PostgreSQL: `pg_advisory_xact_lock(BOOKING_LOCK_CLASS, 0)`, one lock for all booking
 *     admissions (admissions are rare; one lock also serialises per-tenant quota checks across
 *     accelerator types), released at commit or rollback, also when the process dies;
 *   - SQLite: the store's write path (`BEGIN IMMEDIATE`, group-committed writes run one after the
 *     other on the one connection), which is already exclusive across processes.
 * The decision must be synchronous and pure: it runs while the lock is held.
 *
 * Operations here are not awaited by `store.close()`; close the API (which uses them) first.
 */
import { sql, type Kysely } from 'kysely';
import type {
  BookingKind,
  BookingLike,
  BookingRepeat,
  BookingState,
  CompiledBooking,
  Occurrence,
} from '@suanli/core';
import { KyselyStore, type Backend } from './kysely-store.js';
import type { Store } from './store.js';

/** Advisory-lock class for booking admission ("BOOK"); the migration runner uses another class. */
export const BOOKING_LOCK_CLASS = 0x424f4f4b;
/** The most bookings one `list` returns. */
export const BOOKINGS_MAX_LIMIT = 1000;

export interface BookingRecord extends BookingLike {
  readonly project: string;
  readonly nodeCount: number | null;
  readonly sameSwitch: boolean;
  /** Wall-clock start and end as asked (`YYYY-MM-DDTHH:MM:SS` in `timeZone`). */
  readonly start: string;
  readonly end: string;
  readonly timeZone: string;
  readonly repeat: BookingRepeat | null;
  readonly until: string | null;
  readonly firstStart: number;
  readonly lastEnd: number;
  /** Why it is in its state (approval pending, rejection, cancellation). */
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
}

export interface NewBooking extends CompiledBooking {
  readonly id: string;
  readonly createdBy: string;
  readonly createdAt: number;
}

export interface BookingSettings {
  readonly tenant: string;
  /** Bookings of this tenant wait in `requested` until an operator approves them. */
  readonly requireApproval: boolean;
  readonly maxBookedAcceleratorHours: number | null;
  readonly maxAcceleratorsPerBooking: number | null;
  readonly updatedAt: number;
}

/** The caller's decision on a new booking, given what the database holds under the lock. */
export type AdmitVerdict =
  | { readonly admit: true; readonly state: 'requested' | 'approved'; readonly reason: string | null }
  | { readonly admit: false; readonly reason: string; readonly detail?: unknown };

export interface BookingFilter {
  readonly tenant?: string;
  /** Only bookings whose last occurrence ends after this (epoch ms). */
  readonly endAfter?: number;
  readonly states?: readonly BookingState[];
  readonly kinds?: readonly BookingKind[];
  readonly limit?: number;
}

export interface BookingStore {
  /**
   * Admits or refuses `booking` atomically (see the file comment). `decide` receives every booking
   * that has not ended by `now` (all states; admission counts the holding ones) and the tenant's
   * settings. Returns the inserted booking, or null with the refusal.
   */
  admit(
    booking: NewBooking,
    now: number,
    decide: (live: readonly BookingRecord[], settings: BookingSettings | null) => AdmitVerdict,
  ): Promise<{ readonly booking: BookingRecord | null; readonly verdict: AdmitVerdict }>;
  /**
   * Compare-and-set `id` from one of `from` to `to`, under the admission lock; `check` (optional)
   * may refuse with a reason after seeing the booking and every other booking not ended by `now`
   * (approval re-checks capacity). Returns null when there is no such booking; `changed: false`
   * with the current booking when its state is not in `from` or `check` refused.
   */
  transition(
    id: string,
    from: readonly BookingState[],
    to: BookingState,
    change: {
      readonly at: number;
      readonly by: string;
      readonly reason: string | null;
      readonly now: number;
    },
    check?: (booking: BookingRecord, live: readonly BookingRecord[]) => string | null,
  ): Promise<{
    readonly booking: BookingRecord;
    readonly changed: boolean;
    readonly refused: string | null;
  } | null>;
  get(id: string): Promise<BookingRecord | null>;
  /** In first-start order, then id. */
  list(filter?: BookingFilter): Promise<BookingRecord[]>;
  getSettings(tenant: string): Promise<BookingSettings | null>;
  putSettings(settings: BookingSettings): Promise<void>;
}

// --- tables (created by migrations/0050-bookings.ts) ---

interface BookingsTable {
  id: string;
  tenant: string;
  project: string;
  kind: string;
  state: string;
  accelerator_type: string;
  accelerators: number;
  node_count: number | null;
  same_switch: number;
  start_local: string;
  end_local: string;
  time_zone: string;
  repeat: string | null;
  until: string | null;
  occurrences: string;
  first_start: number;
  last_end: number;
  reason: string | null;
  created_by: string;
  created_at: number;
  decided_by: string | null;
  decided_at: number | null;
}

interface BookingSettingsTable {
  tenant: string;
  require_approval: number;
  max_booked_accelerator_hours: number | null;
  max_accelerators_per_booking: number | null;
  updated_at: number;
}

interface BookingDatabase {
  bookings: BookingsTable;
  booking_settings: BookingSettingsTable;
}

function toRecord(r: BookingsTable): BookingRecord {
  return {
    id: r.id,
    tenant: r.tenant,
    project: r.project,
    kind: r.kind as BookingKind,
    state: r.state as BookingState,
    acceleratorType: r.accelerator_type,
    accelerators: Number(r.accelerators),
    nodeCount: r.node_count === null ? null : Number(r.node_count),
    sameSwitch: Number(r.same_switch) === 1,
    start: r.start_local,
    end: r.end_local,
    timeZone: r.time_zone,
    repeat: r.repeat as BookingRepeat | null,
    until: r.until,
    occurrences: JSON.parse(r.occurrences) as Occurrence[],
    firstStart: Number(r.first_start),
    lastEnd: Number(r.last_end),
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    decidedBy: r.decided_by,
    decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  };
}

function toSettings(r: BookingSettingsTable): BookingSettings {
  return {
    tenant: r.tenant,
    requireApproval: Number(r.require_approval) === 1,
    maxBookedAcceleratorHours:
      r.max_booked_accelerator_hours === null ? null : Number(r.max_booked_accelerator_hours),
    maxAcceleratorsPerBooking:
      r.max_accelerators_per_booking === null ? null : Number(r.max_accelerators_per_booking),
    updatedAt: Number(r.updated_at),
  };
}

class KyselyBookingStore implements BookingStore {
  readonly #backend: Backend;
  readonly #db: Kysely<BookingDatabase>;

  constructor(backend: Backend) {
    this.#backend = backend;
    this.#db = backend.db as unknown as Kysely<BookingDatabase>;
  }

  /** One write transaction holding the admission lock (see the file comment). */
  #locked<T>(fn: (trx: Kysely<BookingDatabase>) => Promise<T>): Promise<T> {
    return this.#backend.write(async (trx) => {
      const t = trx as unknown as Kysely<BookingDatabase>;
      if (this.#backend.dialect === 'postgres')
        await sql`select pg_advisory_xact_lock(${BOOKING_LOCK_CLASS}, 0)`.execute(t);
      return fn(t);
    });
  }

  async #live(trx: Kysely<BookingDatabase>, now: number): Promise<BookingRecord[]> {
    const rows = await trx
      .selectFrom('bookings')
      .selectAll()
      .where('last_end', '>', now)
      .orderBy('first_start')
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  admit(
    b: NewBooking,
    now: number,
    decide: (live: readonly BookingRecord[], settings: BookingSettings | null) => AdmitVerdict,
  ): Promise<{ booking: BookingRecord | null; verdict: AdmitVerdict }> {
    return this.#locked(async (trx) => {
      const live = await this.#live(trx, now);
      const s = await trx
        .selectFrom('booking_settings')
        .selectAll()
        .where('tenant', '=', b.tenant)
        .executeTakeFirst();
      const verdict = decide(live, s ? toSettings(s) : null);
      if (!verdict.admit) return { booking: null, verdict };
      const row: BookingsTable = {
        id: b.id,
        tenant: b.tenant,
        project: b.project,
        kind: b.kind,
        state: verdict.state,
        accelerator_type: b.acceleratorType,
        accelerators: b.accelerators,
        node_count: b.nodeCount,
        same_switch: b.sameSwitch ? 1 : 0,
        start_local: b.start,
        end_local: b.end,
        time_zone: b.timeZone,
        repeat: b.repeat,
        until: b.until,
        occurrences: JSON.stringify(
          b.occurrences.map((o) => ({ startTime: o.startTime, endTime: o.endTime })),
        ),
        first_start: b.firstStart,
        last_end: b.lastEnd,
        reason: verdict.reason,
        created_by: b.createdBy,
        created_at: b.createdAt,
        decided_by: verdict.state === 'approved' ? b.createdBy : null,
        decided_at: verdict.state === 'approved' ? b.createdAt : null,
      };
      await trx.insertInto('bookings').values(row).execute();
      return { booking: toRecord(row), verdict };
    });
  }

  transition(
    id: string,
    from: readonly BookingState[],
    to: BookingState,
    change: { at: number; by: string; reason: string | null; now: number },
    check?: (booking: BookingRecord, live: readonly BookingRecord[]) => string | null,
  ): Promise<{ booking: BookingRecord; changed: boolean; refused: string | null } | null> {
    return this.#locked(async (trx) => {
      const row = await trx.selectFrom('bookings').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return null;
      const current = toRecord(row);
      if (!from.includes(current.state)) return { booking: current, changed: false, refused: null };
      if (check) {
        const refused = check(current, await this.#live(trx, change.now));
        if (refused !== null) return { booking: current, changed: false, refused };
      }
      await trx
        .updateTable('bookings')
        .set({ state: to, reason: change.reason, decided_by: change.by, decided_at: change.at })
        .where('id', '=', id)
        .execute();
      return {
        booking: { ...current, state: to, reason: change.reason, decidedBy: change.by, decidedAt: change.at },
        changed: true,
        refused: null,
      };
    });
  }

  async get(id: string): Promise<BookingRecord | null> {
    const row = await this.#db.selectFrom('bookings').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async list(filter: BookingFilter = {}): Promise<BookingRecord[]> {
    let q = this.#db.selectFrom('bookings').selectAll();
    if (filter.tenant !== undefined) q = q.where('tenant', '=', filter.tenant);
    if (filter.endAfter !== undefined) q = q.where('last_end', '>', filter.endAfter);
    if (filter.states !== undefined) {
      if (filter.states.length === 0) return [];
      q = q.where('state', 'in', [...filter.states]);
    }
    if (filter.kinds !== undefined) {
      if (filter.kinds.length === 0) return [];
      q = q.where('kind', 'in', [...filter.kinds]);
    }
    const limit = Math.min(Math.max(1, filter.limit ?? BOOKINGS_MAX_LIMIT), BOOKINGS_MAX_LIMIT);
    const rows = await q.orderBy('first_start').orderBy('id').limit(limit).execute();
    return rows.map(toRecord);
  }

  async getSettings(tenant: string): Promise<BookingSettings | null> {
    const row = await this.#db
      .selectFrom('booking_settings')
      .selectAll()
      .where('tenant', '=', tenant)
      .executeTakeFirst();
    return row ? toSettings(row) : null;
  }

  async putSettings(s: BookingSettings): Promise<void> {
    const row: BookingSettingsTable = {
      tenant: s.tenant,
      require_approval: s.requireApproval ? 1 : 0,
      max_booked_accelerator_hours: s.maxBookedAcceleratorHours,
      max_accelerators_per_booking: s.maxAcceleratorsPerBooking,
      updated_at: s.updatedAt,
    };
    await this.#backend.write((trx) =>
      (trx as unknown as Kysely<BookingDatabase>)
        .insertInto('booking_settings')
        .values(row)
        .onConflict((oc) =>
          oc.column('tenant').doUpdateSet({
            require_approval: row.require_approval,
            max_booked_accelerator_hours: row.max_booked_accelerator_hours,
            max_accelerators_per_booking: row.max_accelerators_per_booking,
            updated_at: row.updated_at,
          }),
        )
        .execute(),
    );
  }
}

const opened = new WeakMap<Store, BookingStore>();

/** The BookingStore on `store`'s database (one per store). The store must be migrated. */
export function openBookingStore(store: Store): BookingStore {
  const hit = opened.get(store);
  if (hit) return hit;
  if (!(store instanceof KyselyStore))
    throw new TypeError('openBookingStore needs a store opened by openStore (SQLite or PostgreSQL)');
  const b = new KyselyBookingStore(store.backend);
  opened.set(store, b);
  return b;
}

/** `openBookingStore`, or null for a Store that is not on a database (a test double): no bookings. */
export function bookingStoreOf(store: Store): BookingStore | null {
  return store instanceof KyselyStore ? openBookingStore(store) : null;
}
