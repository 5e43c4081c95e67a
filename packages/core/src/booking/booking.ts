/**
 * Bookings (算力预约): N accelerators of one type for a tenant during a window [start, end) stated
 * in wall-clock time in a time zone, once or repeated (daily, weekdays, weekly) until a date.
 * Maintenance windows are the same object with kind `maintenance` and no tenant's jobs inside.
 *
 * States (stored): requested → approved | rejected; requested | approved → cancelled. `active`
 * and `completed` are not stored: they are what an approved booking is while one of its
 * occurrences is in progress, and after its last one ended (`bookingPhase`), so no background
 * job has to move them and they can never disagree with the clock.
 *
 * Both `requested` and `approved` bookings hold their capacity for admission (a request waiting
 * for an operator cannot be overtaken by a later one and then fail on approval); only `approved`
 * ones become windows that the scheduler keeps free (`windowsForSnapshot`).
 */
import type { Compiled, FieldError } from '../model/job-spec.js';
import {
  formatWallTime,
  isValidTimeZone,
  naiveMs,
  parseWallTime,
  wallFromNaive,
  wallTimeToUtc,
  type WallTime,
} from './zoned-time.js';

export type BookingState = 'requested' | 'approved' | 'rejected' | 'cancelled';
export type BookingPhase = BookingState | 'active' | 'completed';
export type BookingKind = 'booking' | 'maintenance';
export type BookingRepeat = 'daily' | 'weekdays' | 'weekly';

export const BOOKING_STATES: readonly BookingState[] = ['requested', 'approved', 'rejected', 'cancelled'];
/** States whose bookings hold capacity. */
export const HOLDING_STATES: readonly BookingState[] = ['requested', 'approved'];

/**
 * Bound: occurrences of one booking (a year of daily windows). Recurrence expansion stops here, so
 * an `until` far in the future is refused rather than expanded without end.
 */
export const MAX_OCCURRENCES_PER_BOOKING = 366;
/** Bound: the longest single window, 31 days (longer use is a quota, not a booking). */
export const MAX_WINDOW_MS = 31 * 24 * 3600 * 1000;
/** Bound: calendar days the expansion walks from the first start (weekly for ~2 years). */
export const MAX_RECURRENCE_DAYS = 800;

export interface Occurrence {
  /** Epoch ms, inclusive. */
  readonly startTime: number;
  /** Epoch ms, exclusive. */
  readonly endTime: number;
}

/** What a caller asks for (loose: validated by `compileBooking`). */
export interface BookingInput {
  readonly tenant: string;
  readonly project: string;
  readonly kind: BookingKind;
  readonly acceleratorType: string;
  readonly accelerators: number;
  /** Spread the accelerators evenly over exactly this many nodes (checked at admission); null: any. */
  readonly nodeCount: number | null;
  /** All on one switch (checked at admission, at each occurrence's start). */
  readonly sameSwitch: boolean;
  /** `2026-03-10T09:00` (wall clock in `timeZone`) or an ISO instant with `Z`/offset. */
  readonly start: string;
  readonly end: string;
  /** IANA zone name; the recurrence keeps wall-clock times in it. */
  readonly timeZone: string;
  readonly repeat: BookingRepeat | null;
  /** `YYYY-MM-DD` in `timeZone`, inclusive: the last day an occurrence may start. Required with `repeat`. */
  readonly until: string | null;
}

/** A validated booking: the input in normal form plus its occurrences in UTC. */
export interface CompiledBooking extends BookingInput {
  /** Normalised wall-clock start and end (`YYYY-MM-DDTHH:MM:SS`). */
  readonly start: string;
  readonly end: string;
  readonly occurrences: readonly Occurrence[];
  readonly firstStart: number;
  readonly lastEnd: number;
}

/** The fields the pure functions need of a stored booking. */
export interface BookingLike {
  readonly id: string;
  readonly tenant: string;
  readonly project: string;
  readonly kind: BookingKind;
  readonly state: BookingState;
  readonly acceleratorType: string;
  readonly accelerators: number;
  readonly occurrences: readonly Occurrence[];
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Validates a booking and expands its recurrence. Every error names its field and says what to fix.
 * Occurrence k starts on the k-th matching day at the start's wall-clock time and lasts as long
 * in wall-clock time as the first (so "09:00–21:00 daily" stays 09:00–21:00 across a DST change).
 */
export function compileBooking(input: BookingInput): Compiled<CompiledBooking> {
  const errors: FieldError[] = [];
  const err = (path: string, message: string): void => void errors.push({ path, message });
  if (!isValidTimeZone(input.timeZone))
    err('timeZone', `unknown time zone "${input.timeZone}"; use an IANA name such as Asia/Shanghai or UTC`);
  if (!Number.isSafeInteger(input.accelerators) || input.accelerators < 1)
    err('accelerators', 'must be a whole number ≥ 1');
  if (input.acceleratorType === '') err('acceleratorType', 'name the accelerator type, e.g. nvidia-h200');
  if (input.nodeCount !== null) {
    if (!Number.isSafeInteger(input.nodeCount) || input.nodeCount < 1)
      err('nodeCount', 'must be a whole number ≥ 1');
    else if (input.accelerators % input.nodeCount !== 0)
      err(
        'nodeCount',
        `${input.accelerators} accelerators do not divide evenly over ${input.nodeCount} nodes`,
      );
  }
  if (input.repeat !== null && input.until === null)
    err('until', `a repeated booking needs an end date (until YYYY-MM-DD)`);
  if (input.repeat === null && input.until !== null) err('until', 'until is only meaningful with repeat');
  if (errors.length > 0) return { ok: false, errors };

  const tz = input.timeZone;
  const start = parseWallTime(input.start, tz);
  const end = parseWallTime(input.end, tz);
  if (start === null)
    err(
      'start',
      `"${input.start}" is not a date-time: use 2026-03-10T09:00 (in the time zone) or an ISO instant`,
    );
  if (end === null)
    err(
      'end',
      `"${input.end}" is not a date-time: use 2026-03-10T21:00 (in the time zone) or an ISO instant`,
    );
  if (start === null || end === null) return { ok: false, errors };
  const wallLengthMs = naiveMs(end) - naiveMs(start);
  if (wallLengthMs <= 0) err('end', 'must be after start');
  else if (wallLengthMs > MAX_WINDOW_MS)
    err('end', `a window may last at most ${MAX_WINDOW_MS / 86_400_000} days`);
  let untilDay: number | null = null;
  if (input.until !== null) {
    const m = DATE_RE.exec(input.until);
    untilDay = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
    if (untilDay === null || !Number.isFinite(untilDay))
      err('until', `"${input.until}" is not a date: use YYYY-MM-DD`);
  }
  if (errors.length > 0) return { ok: false, errors };

  const occurrences: Occurrence[] = [];
  const startNaive = naiveMs(start);
  const startDay = Date.UTC(start.year, start.month - 1, start.day);
  const add = (w: WallTime): void => {
    const s = wallTimeToUtc(w, tz);
    const e = wallTimeToUtc(wallFromNaive(naiveMs(w) + wallLengthMs), tz);
    if (e > s) occurrences.push({ startTime: s, endTime: e });
  };
  if (input.repeat === null || untilDay === null) {
    add(start);
  } else {
    if (untilDay < startDay) err('until', 'must be on or after the start date');
    for (let d = 0; d <= MAX_RECURRENCE_DAYS && errors.length === 0; d++) {
      const day = startDay + d * 86_400_000;
      if (day > untilDay) break;
      const weekday = new Date(day).getUTCDay(); // 0 Sunday … 6 Saturday, of the wall-clock date
      const take =
        input.repeat === 'daily' ||
        (input.repeat === 'weekdays' ? weekday >= 1 && weekday <= 5 : d % 7 === 0);
      if (!take) continue;
      if (occurrences.length >= MAX_OCCURRENCES_PER_BOOKING) {
        err(
          'until',
          `the booking would have more than ${MAX_OCCURRENCES_PER_BOOKING} occurrences; choose an earlier until`,
        );
        break;
      }
      add(wallFromNaive(startNaive + d * 86_400_000));
      if (d === MAX_RECURRENCE_DAYS)
        err('until', `a recurrence may span at most ${MAX_RECURRENCE_DAYS} days`);
    }
    if (occurrences.length === 0 && errors.length === 0)
      err('repeat', 'no day between start and until matches the repeat rule');
  }
  // an occurrence must not overlap the next one (a 25-hour daily window would book twice)
  for (let i = 1; i < occurrences.length; i++) {
    const prev = occurrences[i - 1];
    const cur = occurrences[i];
    if (prev && cur && prev.endTime > cur.startTime) {
      err('end', 'each occurrence must end before the next one starts');
      break;
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const first = occurrences[0];
  const last = occurrences[occurrences.length - 1];
  if (!first || !last)
    return { ok: false, errors: [{ path: 'start', message: 'the booking has no occurrence' }] };
  return {
    ok: true,
    value: {
      ...input,
      start: formatWallTime(start),
      end: formatWallTime(end),
      occurrences,
      firstStart: first.startTime,
      lastEnd: last.endTime,
    },
  };
}

/** What a stored booking is at `now`: approved ones are `active` inside an occurrence, `completed` after the last. */
export function bookingPhase(b: Pick<BookingLike, 'state' | 'occurrences'>, now: number): BookingPhase {
  if (b.state !== 'approved') return b.state;
  const last = b.occurrences[b.occurrences.length - 1];
  if (last === undefined || now >= last.endTime) return 'completed';
  return b.occurrences.some((o) => o.startTime <= now && now < o.endTime) ? 'active' : 'approved';
}

/** Accelerator-milliseconds a booking holds from `from` on (occurrences, or their parts, after it). */
export function bookedAcceleratorMs(
  b: Pick<BookingLike, 'accelerators' | 'occurrences'>,
  from = -Infinity,
): number {
  let ms = 0;
  for (const o of b.occurrences)
    if (o.endTime > from) ms += (o.endTime - Math.max(o.startTime, from)) * b.accelerators;
  return ms;
}
