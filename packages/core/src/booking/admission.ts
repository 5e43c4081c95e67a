/**
 * Admission of bookings, the capacity query, and the windows handed to the scheduler. All three
 * ask the scheduler's own availability profile (`AvailabilityProfile`, placement/profile.ts), so a
 * booking is admitted exactly when the scheduler could later honour it, and "when can I get 32
 * H200s for 6 hours?" is answered by the same WILL_RUN walk that estimates job starts.
 *
 * A booking is asked as a gang of `accelerators` one-device replicas (or `nodeCount` replicas of
 * accelerators/nodeCount devices) of its type with no CPU or memory, tenant-less, so that every
 * other holding booking and maintenance window counts against it.
 *
 * Admission (per occurrence, in time order): capacity must exist for the whole window after
 *   - running jobs, each until its expected end (start + time limit; without a limit: forever),
 *     because jobs already running are not drained for a booking made after they started; jobs
 *     started later are kept out of the window by the scheduler;
 *   - every holding booking (requested or approved) and maintenance window of the type.
 * The check runs the profile's RUN_NOW question at the occurrence's start (or `now`, if it has
 * begun) over [start, end): the profile checks placement at that instant and the aggregate of
 * booked windows at every window start inside the interval, where demand can only grow.
 * Then the tenant's booking quota (accelerator-hours held in future bookings).
 *
 * Serialisation is the store's job (one admission at a time, see store/bookings.ts): this
 * function only answers for the state it is given.
 */
import { buildCapacity, FreeState, type ClusterCapacity } from '../placement/capacity.js';
import {
  AvailabilityProfile,
  DEFAULT_PROFILE_BOUNDS,
  type PlacementRequest,
  type ProfileBounds,
  type ProfileHold,
} from '../placement/profile.js';
import type { ClusterNode } from '../model/resources.js';
import type { ReservedWindow } from '../model/scheduling.js';
import { bookedAcceleratorMs, HOLDING_STATES, type BookingLike, type Occurrence } from './booking.js';

/** A running job as admission sees it: devices held until `endTime` (Infinity: no time limit). */
export type RunningHold = ProfileHold;

/** Limits on what one tenant may book (null: none). */
export interface BookingQuota {
  /** Accelerator-hours the tenant may hold in bookings not yet ended (from now on), this one included. */
  readonly maxBookedAcceleratorHours: number | null;
  /** The most accelerators in one booking. */
  readonly maxAcceleratorsPerBooking: number | null;
}

export const NO_BOOKING_QUOTA: BookingQuota = {
  maxBookedAcceleratorHours: null,
  maxAcceleratorsPerBooking: null,
};

export interface AdmissionCandidate extends BookingLike {
  readonly nodeCount: number | null;
  readonly sameSwitch: boolean;
}

export interface AdmissionInput {
  readonly now: number;
  readonly nodes: readonly ClusterNode[];
  readonly running: readonly RunningHold[];
  /** Bookings of any state (only requested/approved ones hold capacity); the candidate itself is skipped by id. */
  readonly bookings: readonly BookingLike[];
  readonly candidate: AdmissionCandidate;
  readonly quota: BookingQuota;
}

export type AdmissionDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** `never`: the hall cannot hold it even empty; `past`: it has already ended; `capacity`; `quota`. */
      readonly kind: 'never' | 'past' | 'capacity' | 'quota';
      readonly reason: string;
      /** The occurrence that does not fit (capacity). */
      readonly occurrence?: Occurrence;
      /** A booking whose capacity it would take (capacity), when one is to blame. */
      readonly conflictingBookingId?: string;
    };

const ADMISSION_TENANT = '\u0000admission';
const HOUR_MS = 3_600_000;

/** Window id of a booking's k-th occurrence, as the scheduler's verdicts name it. */
export function windowId(bookingId: string, k: number): string {
  return `${bookingId}#${k}`;
}
/** The booking id inside a window id. */
export function bookingIdOfWindow(id: string): string {
  const i = id.lastIndexOf('#');
  return i < 0 ? id : id.slice(0, i);
}

/** Every holding occurrence of `type` overlapping [from, to), as tenant-less windows (they all count). */
function holdingWindows(
  bookings: readonly BookingLike[],
  type: string,
  from: number,
  to: number,
  exceptId: string,
): ReservedWindow[] {
  const out: ReservedWindow[] = [];
  for (const b of bookings) {
    if (b.id === exceptId || b.acceleratorType !== type || !HOLDING_STATES.includes(b.state)) continue;
    b.occurrences.forEach((o, k) => {
      if (o.endTime > from && o.startTime < to)
        out.push({
          id: windowId(b.id, k),
          startTime: o.startTime,
          endTime: o.endTime,
          acceleratorType: type,
          accelerators: b.accelerators,
          tenant: null,
        });
    });
  }
  return out;
}

function request(
  c: Pick<AdmissionCandidate, 'id' | 'acceleratorType' | 'accelerators' | 'nodeCount'>,
  durationMs: number,
): PlacementRequest {
  const replicas = c.nodeCount ?? c.accelerators;
  return {
    jobId: c.id,
    tenant: ADMISSION_TENANT,
    replicas,
    perReplica: {
      accelerators: c.accelerators / replicas,
      acceleratorTypes: [c.acceleratorType],
      cpuMillis: 0,
      memoryMiB: 0,
    },
    durationMs,
    types: [c.acceleratorType],
  };
}

function profileAt(
  cap: ClusterCapacity,
  running: readonly RunningHold[],
  at: number,
  windows: readonly ReservedWindow[],
  bounds: ProfileBounds,
  reuse?: { live: RunningHold[]; free: FreeState } | null,
): { profile: AvailabilityProfile; live: RunningHold[]; free: FreeState } {
  const live = running.filter((h) => h.endTime > at);
  // The free state depends only on which holds are live; later instants only drop holds, so the
  // same count means the same set and the (rolled-back, unchanged) free state can be reused.
  const free = reuse && reuse.live.length === live.length ? reuse.free : new FreeState(cap, live);
  return { profile: new AvailabilityProfile(cap, free, at, live, windows, bounds), live, free };
}

export function admitBooking(input: AdmissionInput): AdmissionDecision {
  const { candidate: c, now } = input;
  const future = c.occurrences.filter((o) => o.endTime > now);
  if (future.length === 0) return { ok: false, kind: 'past', reason: 'the booking has already ended' };
  const cap = buildCapacity(input.nodes);
  const hall = cap.schedulableByType.get(c.acceleratorType) ?? 0;
  if (hall < c.accelerators)
    return {
      ok: false,
      kind: 'never',
      reason: `the hall has ${hall} schedulable ${c.acceleratorType} accelerators; ${c.accelerators} can never be booked`,
    };
  if (
    input.quota.maxAcceleratorsPerBooking !== null &&
    c.accelerators > input.quota.maxAcceleratorsPerBooking
  )
    return {
      ok: false,
      kind: 'quota',
      reason: `the booking quota allows at most ${input.quota.maxAcceleratorsPerBooking} accelerators per booking; ${c.accelerators} asked`,
    };
  if (input.quota.maxBookedAcceleratorHours !== null && c.kind === 'booking') {
    let heldMs = 0;
    for (const b of input.bookings)
      if (b.id !== c.id && b.tenant === c.tenant && b.kind === 'booking' && HOLDING_STATES.includes(b.state))
        heldMs += bookedAcceleratorMs(b, now);
    const askMs = bookedAcceleratorMs(c, now);
    if (heldMs + askMs > input.quota.maxBookedAcceleratorHours * HOUR_MS)
      return {
        ok: false,
        kind: 'quota',
        reason:
          `the booking quota of ${c.tenant} is ${input.quota.maxBookedAcceleratorHours} accelerator-hours held ahead; ` +
          `${(heldMs / HOUR_MS).toFixed(1)} are booked and this booking asks ${(askMs / HOUR_MS).toFixed(1)}`,
      };
  }
  // Bounds: the profile's own; occurrences are bounded by MAX_OCCURRENCES_PER_BOOKING. The holding
  // windows are gathered once for the booking's whole span, then narrowed per occurrence.
  const span = holdingWindows(
    input.bookings,
    c.acceleratorType,
    Math.max(future[0]?.startTime ?? now, now),
    future[future.length - 1]?.endTime ?? Infinity,
    c.id,
  );
  let reuse: { live: RunningHold[]; free: FreeState } | null = null;
  for (const o of future) {
    const at = Math.max(o.startTime, now);
    const windows = span.filter((w) => w.endTime > at && w.startTime < o.endTime);
    const p = profileAt(cap, input.running, at, windows, DEFAULT_PROFILE_BOUNDS, reuse);
    reuse = { live: p.live, free: p.free };
    const answer = p.profile.ask('run-now', request(c, o.endTime - at));
    if (answer.ok) {
      if (c.sameSwitch) {
        const switches = new Set(answer.placement.map((r) => cap.byName.get(r.node)?.switchKey ?? r.node));
        if (switches.size > 1)
          return {
            ok: false,
            kind: 'capacity',
            reason: `no single switch has ${c.accelerators} free ${c.acceleratorType} accelerators at ${new Date(at).toISOString()}`,
            occurrence: o,
          };
      }
      continue;
    }
    const blocking =
      answer.kind === 'booking' && answer.blockingWindowId !== undefined
        ? bookingIdOfWindow(answer.blockingWindowId)
        : undefined;
    const when = `${new Date(o.startTime).toISOString()}–${new Date(o.endTime).toISOString()}`;
    const reason =
      blocking !== undefined
        ? `${c.accelerators} ${c.acceleratorType} are not free during ${when}: booking ${blocking} holds capacity then`
        : `${c.accelerators} ${c.acceleratorType} are not free during ${when}: running jobs hold the capacity (until their time limits)`;
    return {
      ok: false,
      kind: 'capacity',
      reason,
      occurrence: o,
      ...(blocking !== undefined ? { conflictingBookingId: blocking } : {}),
    };
  }
  return { ok: true };
}

export interface CapacityQuery {
  readonly now: number;
  readonly nodes: readonly ClusterNode[];
  readonly running: readonly RunningHold[];
  readonly bookings: readonly BookingLike[];
  readonly acceleratorType: string;
  readonly accelerators: number;
  readonly durationMs: number;
  /** Look no earlier than this (default now). */
  readonly notBefore?: number;
  readonly bounds?: ProfileBounds;
}

export type CapacityAnswer =
  | { readonly ok: true; readonly startTime: number; readonly endTime: number }
  | { readonly ok: false; readonly reason: string };

/**
 * "When can I get N accelerators of type T for D?": the earliest start at which a booking of that
 * shape would be admitted, from the profile's WILL_RUN walk (release times of running jobs and ends
 * of booked windows), within the profile's horizon (30 days by default).
 */
export function earliestCapacity(q: CapacityQuery): CapacityAnswer {
  const from = Math.max(q.now, q.notBefore ?? q.now);
  const bounds = q.bounds ?? DEFAULT_PROFILE_BOUNDS;
  const cap = buildCapacity(q.nodes);
  const hall = cap.schedulableByType.get(q.acceleratorType) ?? 0;
  if (hall < q.accelerators)
    return {
      ok: false,
      reason: `the hall has ${hall} schedulable ${q.acceleratorType} accelerators; ${q.accelerators} are never free at once`,
    };
  const windows = holdingWindows(q.bookings, q.acceleratorType, from, Infinity, '');
  const answer = profileAt(cap, q.running, from, windows, bounds).profile.ask(
    'will-run',
    request(
      {
        id: '\u0000capacity-query',
        acceleratorType: q.acceleratorType,
        accelerators: q.accelerators,
        nodeCount: null,
      },
      q.durationMs,
    ),
  );
  if (answer.ok) return { ok: true, startTime: answer.startTime, endTime: answer.startTime + q.durationMs };
  return {
    ok: false,
    reason:
      answer.kind === 'never'
        ? `the hall cannot hold ${q.accelerators} ${q.acceleratorType} even empty`
        : answer.reason,
  };
}

/**
 * The windows the scheduler keeps for bookings during one cycle: every occurrence of an approved
 * booking (the tenant's) or maintenance window (nobody's) that has not ended and begins before
 * `now + horizonMs`. The horizon bounds the list; it should be at least the longest job time
 * limit the center allows, since a job is only kept out of windows that the snapshot shows.
 */
export function windowsForSnapshot(
  bookings: readonly BookingLike[],
  now: number,
  horizonMs: number,
): ReservedWindow[] {
  const out: ReservedWindow[] = [];
  for (const b of bookings) {
    if (b.state !== 'approved') continue;
    b.occurrences.forEach((o, k) => {
      if (o.endTime <= now || o.startTime >= now + horizonMs) return;
      out.push({
        id: windowId(b.id, k),
        startTime: o.startTime,
        endTime: o.endTime,
        acceleratorType: b.acceleratorType,
        accelerators: b.accelerators,
        tenant: b.kind === 'maintenance' ? null : b.tenant,
      });
    });
  }
  return out.sort((a, b) => a.startTime - b.startTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The default horizon of `windowsForSnapshot`: the profile's planning horizon (30 days). */
export const BOOKING_WINDOW_HORIZON_MS = DEFAULT_PROFILE_BOUNDS.willRunHorizonMs;
