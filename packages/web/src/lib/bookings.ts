/**
 * The bookings calendar, derived only from what the API returns: the accelerators of each type in
 * the inventory (GET /nodes) and the bookings and maintenance windows that hold capacity (GET
 * /bookings: requested, approved or active). "Unbooked" is the inventory minus what those hold; it
 * does not know about running jobs (the capacity query, GET /capacity, is the server's answer).
 */

/** The fields of a booking (BookingView) the calendar reads. */
export interface CalendarBooking {
  readonly id: string;
  readonly tenant: string;
  readonly project: string;
  readonly kind: 'booking' | 'maintenance';
  readonly state: string;
  readonly acceleratorType: string;
  readonly accelerators: number;
  readonly occurrences: readonly { readonly start: string; readonly end: string }[];
}

/** States whose windows hold capacity (cancelled, rejected and completed ones do not). */
export const HOLDING_STATES: ReadonlySet<string> = new Set(['requested', 'approved', 'active']);

export interface CalendarBar {
  readonly id: string;
  readonly kind: 'booking' | 'maintenance';
  readonly state: string;
  readonly tenant: string;
  readonly project: string;
  readonly accelerators: number;
  readonly start: number;
  readonly end: number;
  /** Position inside the shown period, in percent (clipped to it). */
  readonly leftPct: number;
  readonly widthPct: number;
}

export interface CalendarDay {
  readonly start: number;
  readonly end: number;
  /** Most accelerators held at any instant of the day (bookings + maintenance). */
  readonly maxHeld: number;
  /** Fewest accelerators not held at any instant of the day (never below 0). */
  readonly minUnbooked: number;
}

export interface CalendarRow {
  readonly type: string;
  /** Accelerators of this type in the inventory; null when the inventory has none of it. */
  readonly total: number | null;
  readonly days: readonly CalendarDay[];
  readonly bars: readonly CalendarBar[];
}

/** Accelerators per type in the inventory. */
export function inventoryByType(
  nodes: readonly { readonly accelerators: readonly { readonly type: string }[] }[],
): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of nodes) for (const a of n.accelerators) m.set(a.type, (m.get(a.type) ?? 0) + 1);
  return m;
}

/** Held accelerators as a step function: the most held at any instant of [from, to). */
export function maxHeldIn(
  windows: readonly { start: number; end: number; accelerators: number }[],
  from: number,
  to: number,
): number {
  const inside = windows.filter((w) => w.start < to && w.end > from);
  const points = [from, ...inside.map((w) => w.start).filter((s) => s > from && s < to)];
  let most = 0;
  for (const p of points) {
    let held = 0;
    for (const w of inside) if (w.start <= p && w.end > p) held += w.accelerators;
    most = Math.max(most, held);
  }
  return most;
}

/**
 * One row per accelerator type (inventory types first, then types only bookings name), over the
 * period cut at `dayStarts` (ascending; the last entry is the period's end).
 */
export function buildCalendar(
  bookings: readonly CalendarBooking[],
  inventory: ReadonlyMap<string, number>,
  dayStarts: readonly number[],
): CalendarRow[] {
  const from = dayStarts[0] ?? 0;
  const to = dayStarts[dayStarts.length - 1] ?? from;
  const span = Math.max(1, to - from);
  const types = [...inventory.keys()].sort();
  for (const b of bookings)
    if (HOLDING_STATES.has(b.state) && !types.includes(b.acceleratorType)) types.push(b.acceleratorType);
  return types.map((type) => {
    const windows: { start: number; end: number; accelerators: number; b: CalendarBooking }[] = [];
    for (const b of bookings) {
      if (b.acceleratorType !== type || !HOLDING_STATES.has(b.state)) continue;
      for (const o of b.occurrences) {
        const start = Date.parse(o.start);
        const end = Date.parse(o.end);
        if (Number.isFinite(start) && Number.isFinite(end) && end > start)
          windows.push({ start, end, accelerators: b.accelerators, b });
      }
    }
    const total = inventory.get(type) ?? null;
    const days: CalendarDay[] = [];
    for (let i = 0; i + 1 < dayStarts.length; i++) {
      const s = dayStarts[i] ?? 0;
      const e = dayStarts[i + 1] ?? s;
      const maxHeld = maxHeldIn(windows, s, e);
      days.push({ start: s, end: e, maxHeld, minUnbooked: Math.max(0, (total ?? 0) - maxHeld) });
    }
    const bars: CalendarBar[] = windows
      .filter((w) => w.start < to && w.end > from)
      .sort((a, b) => a.start - b.start || (a.b.id < b.b.id ? -1 : 1))
      .map((w) => {
        const s = Math.max(w.start, from);
        const e = Math.min(w.end, to);
        return {
          id: w.b.id,
          kind: w.b.kind,
          state: w.b.state,
          tenant: w.b.tenant,
          project: w.b.project,
          accelerators: w.accelerators,
          start: w.start,
          end: w.end,
          leftPct: ((s - from) / span) * 100,
          widthPct: Math.max(0.5, ((e - s) / span) * 100),
        };
      });
    return { type, total, days, bars };
  });
}

/** Local midnights from the day of `now`, `days` of them plus the end (DST-safe: calendar days). */
export function localDayStarts(now: number, days: number): number[] {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  const out: number[] = [];
  for (let i = 0; i <= days; i++) {
    out.push(d.getTime());
    d.setDate(d.getDate() + 1);
  }
  return out;
}

/**
 * Accelerators held at `now` by approved bookings inside one of their windows, and by maintenance
 * windows, from the bookings the caller may see (GET /bookings: its tenant's, or all for platform
 * roles, and every maintenance window).
 */
export function bookedNow(
  bookings: readonly CalendarBooking[],
  now: number,
): { booked: number; bookings: number; maintenance: number } {
  let booked = 0;
  let count = 0;
  let maintenance = 0;
  for (const b of bookings) {
    if (b.state !== 'approved' && b.state !== 'active') continue;
    const inside = b.occurrences.some((o) => Date.parse(o.start) <= now && Date.parse(o.end) > now);
    if (!inside) continue;
    if (b.kind === 'maintenance') maintenance += b.accelerators;
    else {
      booked += b.accelerators;
      count++;
    }
  }
  return { booked, bookings: count, maintenance };
}
