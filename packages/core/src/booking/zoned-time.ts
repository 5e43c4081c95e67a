/**
 * Wall-clock time in a named time zone ⇄ epoch milliseconds, with `Intl.DateTimeFormat` (pure: it
 * reads the ICU time-zone database, not the clock). Bookings are stated in wall-clock time ("every
 * weekday 09:00 in Asia/Shanghai"), so a recurrence must be expanded in wall-clock time and each
 * occurrence converted on its own: across a daylight-saving change the UTC instants shift by an
 * hour while the wall-clock times stay put.
 *
 * Ambiguous and missing wall times follow the common "compatible" rule (Temporal, java.time): a
 * time that occurs twice (clocks go back) is the earlier instant; a time that does not exist
 * (clocks go forward) is moved forward by the length of the gap (02:30 → 03:30).
 */

export interface WallTime {
  readonly year: number;
  /** 1–12. */
  readonly month: number;
  /** 1–31. */
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the ICU database knows the zone name (e.g. `Asia/Shanghai`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time in `timeZone` at the instant `utcMs`. */
export function wallTimeAt(utcMs: number, timeZone: string): WallTime {
  const parts = formatter(timeZone).formatToParts(utcMs);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? NaN);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** The wall-clock fields read as if they were UTC (a "naive" instant, for arithmetic only). */
export function naiveMs(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

export function wallFromNaive(ms: number): WallTime {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** UTC offset of `timeZone` at `utcMs` (ms to add to UTC to get wall-clock time), to the second. */
export function offsetMs(utcMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(utcMs / 1000) * 1000;
  return naiveMs(wallTimeAt(wholeSecond, timeZone)) - wholeSecond;
}

/** The instant at which the wall clock in `timeZone` shows `w` (compatible rule, see the file comment). */
export function wallTimeToUtc(w: WallTime, timeZone: string): number {
  const naive = naiveMs(w);
  // Offsets a day before and after: every zone changes its offset at most once within two days.
  const before = offsetMs(naive - DAY_MS, timeZone);
  const after = offsetMs(naive + DAY_MS, timeZone);
  let best: number | null = null;
  for (const o of [before, after]) {
    const t = naive - o;
    if (offsetMs(t, timeZone) === o && (best === null || t < best)) best = t; // overlap: the earlier
  }
  // gap: the wall time does not exist; the offset from before the change moves it forward
  return best ?? naive - before;
}

const DAY_MS = 86_400_000;

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const ABSOLUTE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses `2026-03-10T09:00` (wall-clock time in `timeZone`), `2026-03-10` (midnight there), or an
 * absolute ISO instant with `Z` or an offset (then shown in `timeZone`). Returns the wall time in
 * `timeZone`, or null when the text is neither.
 */
export function parseWallTime(text: string, timeZone: string): WallTime | null {
  const m = LOCAL_RE.exec(text);
  if (m) {
    const w: WallTime = {
      year: Number(m[1]),
      month: Number(m[2]),
      day: Number(m[3]),
      hour: Number(m[4] ?? 0),
      minute: Number(m[5] ?? 0),
      second: Number(m[6] ?? 0),
    };
    // reject 2026-02-30 and 25:00: a naive round trip must give the same fields back
    const back = wallFromNaive(naiveMs(w));
    return back.year === w.year &&
      back.month === w.month &&
      back.day === w.day &&
      back.hour === w.hour &&
      back.minute === w.minute &&
      back.second === w.second
      ? w
      : null;
  }
  if (ABSOLUTE_RE.test(text)) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? wallTimeAt(ms, timeZone) : null;
  }
  return null;
}

/** `YYYY-MM-DDTHH:MM:SS` of a wall time, for display and storage. */
export function formatWallTime(w: WallTime): string {
  const p = (n: number, l = 2): string => String(n).padStart(l, '0');
  return `${p(w.year, 4)}-${p(w.month)}-${p(w.day)}T${p(w.hour)}:${p(w.minute)}:${p(w.second)}`;
}
