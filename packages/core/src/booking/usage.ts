/**
 * Booked versus used: how much of a booking its tenant actually used, for charging per the
 * operator's policy (`booked`: the windows are charged in full, used or not, as a hotel room;
 * `used`: only what the tenant's jobs of the booked type ran inside the windows, up to the booked
 * count). Pure: the caller passes the usage ledger's intervals.
 *
 * Use inside a window counts at most the booked accelerators at each instant: a tenant that ran
 * more than it booked (on capacity that happened to be free) used its booking fully, no more.
 */
import type { BookingLike } from './booking.js';

/** One ended attempt from the usage ledger: `accelerators` devices of a type during [startedAt, finishedAt). */
export interface UsageInterval {
  readonly tenant: string;
  readonly acceleratorType: string;
  readonly accelerators: number;
  readonly startedAt: number;
  readonly finishedAt: number;
}

export type BookingChargePolicy = 'booked' | 'used';

export interface BookingUsage {
  /** Accelerator-ms booked inside [from, to). */
  readonly bookedMs: number;
  /** Accelerator-ms the tenant used inside the booking's windows, at most the booked count at each instant. */
  readonly usedMs: number;
  /** What the policy charges. */
  readonly chargedMs: number;
}

/**
 * Bound: ledger intervals considered per booking occurrence; beyond it the rest are ignored (and
 * `usedMs` is a lower bound). A window of 16 accelerators × 12 h has far fewer attempts.
 */
export const MAX_USAGE_INTERVALS_PER_OCCURRENCE = 100_000;

export function bookingUsage(
  b: Pick<BookingLike, 'tenant' | 'acceleratorType' | 'accelerators' | 'occurrences'>,
  ledger: readonly UsageInterval[],
  from: number,
  to: number,
  policy: BookingChargePolicy,
): BookingUsage {
  let bookedMs = 0;
  let usedMs = 0;
  const mine = ledger.filter((u) => u.tenant === b.tenant && u.acceleratorType === b.acceleratorType);
  for (const o of b.occurrences) {
    const s = Math.max(o.startTime, from);
    const e = Math.min(o.endTime, to);
    if (e <= s) continue;
    bookedMs += (e - s) * b.accelerators;
    // sweep: +accelerators at an attempt's (clipped) start, − at its end
    const events: [number, number][] = [];
    for (const u of mine) {
      if (events.length >= 2 * MAX_USAGE_INTERVALS_PER_OCCURRENCE) break;
      const us = Math.max(u.startedAt, s);
      const ue = Math.min(u.finishedAt, e);
      if (ue <= us) continue;
      events.push([us, u.accelerators], [ue, -u.accelerators]);
    }
    events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let level = 0;
    let t = s;
    for (const [at, delta] of events) {
      usedMs += (at - t) * Math.min(level, b.accelerators);
      level += delta;
      t = at;
    }
  }
  return { bookedMs, usedMs, chargedMs: policy === 'booked' ? bookedMs : usedMs };
}
