/**
 * The structured part of a pending verdict: the facts a reader needs shown in their own language
 * and time zone (a time, the booking window and tenant it concerns), kept apart from the English
 * `reason` sentence (for logs and older clients). The API carries it as `pending.detail`; the CLI
 * and the console render it (`@suanli/client`'s `describeVerdictDetail`).
 *
 * Times are epoch milliseconds. Stable codes: clients switch on `code`.
 */

/** When a job waiting for capacity is expected to start; `reserved`: the capacity is held for it. */
export interface ExpectedStartDetail {
  readonly code: 'expected-start';
  readonly at: number;
  readonly reserved: boolean;
}

/** When a job waiting behind a reservation or booking is estimated to start. */
export interface EstimatedStartDetail {
  readonly code: 'estimated-start';
  readonly at: number;
}

/** The devices a job needs are held by another tenant's open booking window until `at`. */
export interface BookedUntilDetail {
  readonly code: 'booked-until';
  readonly at: number;
  readonly window: string;
  readonly tenant: string | null;
  readonly acceleratorType: string;
}

/** Over quota now, the job will run inside its own tenant's booking window from `at`. */
export interface RunsInBookingDetail {
  readonly code: 'runs-in-booking';
  readonly at: number;
  readonly window: string;
  readonly tenant: string;
}

/** Free devices of one type the job may use (`type` null: the job needs no accelerator). */
export interface FreeOfType {
  readonly type: string | null;
  readonly free: number;
}

/**
 * Waits for capacity: `need` devices in all, `free` of each type it may use now, and when it is
 * expected to start (`at` null: no estimate this cycle; `reserved`: the capacity is held for it).
 */
export interface NeedsCapacityDetail {
  readonly code: 'needs-capacity';
  readonly need: number;
  readonly free: readonly FreeOfType[];
  readonly at: number | null;
  readonly reserved: boolean;
}

/** Running jobs (`victims`) are being preempted for it; it starts when they stop, at `at`. */
export interface PreemptingDetail {
  readonly code: 'preempting';
  readonly victims: readonly string[];
  readonly at: number;
}

/** Jobs preempted for it (`victims`, possibly unnamed) are still stopping; capacity reserved. */
export interface AwaitsPreemptedDetail {
  readonly code: 'awaits-preempted';
  readonly victims: readonly string[];
  readonly at: number;
}

/**
 * Over quota now: `scope` `project` (the project's limit), `tenant` (guarantee + borrowing
 * limit), `borrowing` (beyond its guarantee `limit`, and no idle device can be lent now).
 */
export interface OverQuotaDetail {
  readonly code: 'over-quota';
  readonly scope: 'project' | 'tenant' | 'borrowing';
  readonly tenant: string;
  readonly project: string;
  readonly acceleratorType: string;
  readonly limit: number;
  readonly used: number;
  readonly need: number;
}

/** Its tenant's open booking window could hold it once its jobs there leave room. */
export interface BookingFullDetail {
  readonly code: 'booking-full';
  readonly window: string;
  readonly tenant: string;
  readonly acceleratorType: string;
  readonly used: number;
  readonly entitlement: number;
}

/** No node (`replicas` > 1: no set of nodes) could hold it even when empty. */
export interface NoNodeFitsDetail {
  readonly code: 'no-node-fits';
  readonly replicas: number;
  readonly need: number;
}

/**
 * Asks more than quota could ever give: `scope` `project` (the project's limit), `tenant`
 * (guarantee + borrowing limit), `cohort` (guarantee + all that others lend or nobody owns).
 */
export interface BeyondQuotaDetail {
  readonly code: 'beyond-quota';
  readonly scope: 'project' | 'tenant' | 'cohort';
  readonly tenant: string;
  readonly project: string;
  readonly acceleratorType: string;
  readonly limit: number;
  readonly need: number;
}

/** Waits behind job `job`: strict order (backfill off) or first-come-first-served. */
export interface BehindJobDetail {
  readonly code: 'behind-job';
  readonly job: string;
  readonly order: 'strict' | 'fcfs';
}

/** Not tested (`budget`: the backfill test budget) or not examined (`depth`) this cycle. */
export interface NotConsideredDetail {
  readonly code: 'not-considered';
  readonly limit: 'budget' | 'depth';
  readonly value: number;
}

/** Would fit now but would delay job `job`, which holds a reservation; no estimate this cycle. */
export interface BehindReservationDetail {
  readonly code: 'behind-reservation';
  readonly job: string | null;
}

/** Would use capacity booked by `window` for another tenant; `at`: its estimated start. */
export interface BehindBookingDetail {
  readonly code: 'behind-booking';
  readonly window: string | null;
  readonly at: number | null;
}

/** A task of array `array`, which runs at most `limit` tasks at once (`%limit`). */
export interface ArrayThrottleDetail {
  readonly code: 'array-throttle';
  readonly array: string;
  readonly limit: number;
}

export type VerdictDetail =
  | ExpectedStartDetail
  | EstimatedStartDetail
  | BookedUntilDetail
  | RunsInBookingDetail
  | NeedsCapacityDetail
  | PreemptingDetail
  | AwaitsPreemptedDetail
  | OverQuotaDetail
  | BookingFullDetail
  | NoNodeFitsDetail
  | BeyondQuotaDetail
  | BehindJobDetail
  | NotConsideredDetail
  | BehindReservationDetail
  | BehindBookingDetail
  | ArrayThrottleDetail;

export const VERDICT_DETAIL_CODES = [
  'expected-start',
  'estimated-start',
  'booked-until',
  'runs-in-booking',
  'needs-capacity',
  'preempting',
  'awaits-preempted',
  'over-quota',
  'booking-full',
  'no-node-fits',
  'beyond-quota',
  'behind-job',
  'not-considered',
  'behind-reservation',
  'behind-booking',
  'array-throttle',
] as const;

/**
 * A time in a `reason` sentence: ISO 8601 in UTC (`2026-12-14T11:45:00.000Z`), or `never`.
 * Deterministic (no clock, no time zone): readers get their local time from the detail.
 */
export function reasonTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : 'never';
}

export function expectedStartDetail(at: number, reserved: boolean): ExpectedStartDetail {
  return { code: 'expected-start', at, reserved };
}

export function estimatedStartDetail(at: number): EstimatedStartDetail {
  return { code: 'estimated-start', at };
}

export function bookedUntilDetail(
  at: number,
  window: string,
  tenant: string | null,
  acceleratorType: string,
): BookedUntilDetail {
  return { code: 'booked-until', at, window, tenant, acceleratorType };
}

export function runsInBookingDetail(at: number, window: string, tenant: string): RunsInBookingDetail {
  return { code: 'runs-in-booking', at, window, tenant };
}
