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

export type VerdictDetail =
  ExpectedStartDetail | EstimatedStartDetail | BookedUntilDetail | RunsInBookingDetail;

export const VERDICT_DETAIL_CODES = [
  'expected-start',
  'estimated-start',
  'booked-until',
  'runs-in-booking',
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
