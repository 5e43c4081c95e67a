/**
 * Booking commands (算力预约): `suanli book`, `suanli bookings [calendar]`, `suanli booking
 * show|cancel|approve|reject|settings`, `suanli capacity`. Thin: parse → client → print a table
 * (or a text calendar), or with --json the server's document as it is. A refused booking exits 1
 * with the server's reason and code (main.ts prints ApiClientError).
 */
import type { Command } from 'commander';
import type { BookingView, SuanliClient } from '@suanli/client';
import { table } from '../format.js';
import { durationSeconds } from './identity.js';

/** Days a calendar shows by default, and at most (bounds the output). */
const CALENDAR_DEFAULT_DAYS = 14;
const CALENDAR_MAX_DAYS = 92;
const DAY_MS = 86_400_000;

/**
 * A usage error found by these commands: printed as `error: …` with exit code 2 by main.ts (the
 * name is what main.ts recognises, as for the server's configuration errors).
 */
class BookingUsageError extends Error {
  override readonly name = 'ServerConfigError';
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new BookingUsageError(`${flag} must be a whole number ≥ 1, got "${v}"`);
  return n;
}

/** `YYYY-MM-DD HH:MM` of an instant in a time zone. */
function local(isoText: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(isoText));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

function describeRepeat(b: BookingView): string {
  return b.repeat === null ? 'once' : `${b.repeat} until ${b.until ?? '?'}`;
}

/**
 * A text calendar: one line per day and window, with a 24-hour bar in `timeZone` (each character
 * one hour; `#` booked, `M` maintenance, `.` free of this window).
 */
export function renderCalendar(
  bookings: readonly BookingView[],
  fromMs: number,
  days: number,
  timeZone: string,
): string {
  const lines: string[] = [];
  const dayFmt = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    weekday: 'short',
  });
  const hourFmt = new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', hour: '2-digit' });
  lines.push(`times in ${timeZone}; each bar is 00–24 h, one character per hour`);
  const windows = bookings
    .filter((b) => b.state !== 'cancelled' && b.state !== 'rejected')
    .flatMap((b) => b.occurrences.map((o) => ({ b, start: Date.parse(o.start), end: Date.parse(o.end) })));
  // day boundaries in the zone: walk hour by hour (bounded: days × 24 steps)
  let dayKey = '';
  let bar: { label: string; marks: Map<string, string[]> } | null = null;
  const flush = (): void => {
    if (bar === null) return;
    if (bar.marks.size === 0) lines.push(`${bar.label}  ${'.'.repeat(24)}  (nothing booked)`);
    for (const [id, marks] of bar.marks) {
      const w = windows.find((x) => x.b.id === id);
      lines.push(
        `${bar.label}  ${marks.join('').padEnd(24, '.')}  ${w ? `${w.b.accelerators}× ${w.b.acceleratorType}  ${w.b.kind === 'maintenance' ? 'maintenance' : w.b.tenant}  ${id} (${w.b.state})` : id}`,
      );
    }
  };
  const start = Math.floor(fromMs / 3_600_000) * 3_600_000;
  for (let h = 0; h < Math.min(days, CALENDAR_MAX_DAYS) * 24 + 24; h++) {
    const t = start + h * 3_600_000;
    const key = dayFmt.format(t);
    if (key !== dayKey) {
      if (h >= Math.min(days, CALENDAR_MAX_DAYS) * 24) break;
      flush();
      dayKey = key;
      bar = { label: key, marks: new Map() };
    }
    if (bar === null) continue;
    const hour = Number(hourFmt.format(t)) % 24;
    for (const w of windows) {
      if (w.start < t + 3_600_000 && w.end > t) {
        const marks = bar.marks.get(w.b.id) ?? [];
        while (marks.length < hour) marks.push('.');
        marks[hour] = w.b.kind === 'maintenance' ? 'M' : '#';
        bar.marks.set(w.b.id, marks);
      }
    }
  }
  flush();
  return lines.join('\n');
}

function duration(v: string): number {
  try {
    return durationSeconds(v);
  } catch (err) {
    throw new BookingUsageError(`--duration: ${(err as Error).message}`);
  }
}

export function registerBookingCommands(
  program: Command,
  client: () => SuanliClient,
  print: (s: string) => void,
): void {
  const json = (v: unknown) => print(JSON.stringify(v, null, 2));
  const summary = (b: BookingView): string => {
    const next = b.nextOccurrence;
    return [
      `booking ${b.id}: ${b.state}${b.reason ? ` (${b.reason})` : ''}`,
      `  ${b.accelerators}× ${b.acceleratorType} for ${b.kind === 'maintenance' ? 'maintenance' : `${b.tenant}/${b.project}`}, ${b.start} – ${b.end} ${b.timeZone}, ${describeRepeat(b)}`,
      `  ${b.occurrences.length} window${b.occurrences.length === 1 ? '' : 's'}, ${b.bookedAcceleratorHours} accelerator-hours booked` +
        (next ? `; next ${local(next.start, b.timeZone)} – ${local(next.end, b.timeZone)}` : ''),
    ].join('\n');
  };

  program
    .command('book')
    .description(
      'book accelerators ahead for a window (exit 0 and the id when accepted, 1 with the reason when not)',
    )
    .requiredOption('--type <type>', 'accelerator type, e.g. nvidia-h200')
    .requiredOption('--accelerators <n>', 'how many')
    .requiredOption('--start <time>', '2026-03-10T09:00 (wall clock in --tz) or an ISO instant')
    .requiredOption('--end <time>', 'end of the (first) window, same form')
    .option('--tz <zone>', 'IANA time zone of --start/--end and of the recurrence', 'UTC')
    .option('--repeat <rule>', 'daily | weekdays | weekly')
    .option('--until <date>', 'last day a window may start (YYYY-MM-DD, in --tz); needed with --repeat')
    .option('--project <name>', 'project to charge')
    .option('--nodes <n>', 'spread over exactly this many nodes')
    .option('--same-switch', 'all on one switch')
    .option('--maintenance', 'a maintenance window (operators): nobody’s jobs run there')
    .option('--json', 'print the booking as JSON')
    .action(
      async (opts: {
        type: string;
        accelerators: string;
        start: string;
        end: string;
        tz: string;
        repeat?: string;
        until?: string;
        project?: string;
        nodes?: string;
        sameSwitch?: boolean;
        maintenance?: boolean;
        json?: boolean;
      }) => {
        if (opts.repeat !== undefined && !['daily', 'weekdays', 'weekly'].includes(opts.repeat))
          throw new BookingUsageError(`--repeat must be daily, weekdays or weekly, got "${opts.repeat}"`);
        const b = await client().createBooking({
          acceleratorType: opts.type,
          accelerators: positiveInt('--accelerators', opts.accelerators),
          start: opts.start,
          end: opts.end,
          timeZone: opts.tz,
          ...(opts.repeat !== undefined ? { repeat: opts.repeat as 'daily' | 'weekdays' | 'weekly' } : {}),
          ...(opts.until !== undefined ? { until: opts.until } : {}),
          ...(opts.project !== undefined ? { project: opts.project } : {}),
          ...(opts.nodes !== undefined ? { nodeCount: positiveInt('--nodes', opts.nodes) } : {}),
          ...(opts.sameSwitch ? { sameSwitch: true } : {}),
          ...(opts.maintenance ? { kind: 'maintenance' as const } : {}),
        });
        if (opts.json) json(b);
        else print(`${b.id}\n${summary(b)}`);
      },
    );

  program
    .command('bookings')
    .description(
      'bookings not yet ended (yours; all for operators) and maintenance windows; "bookings calendar" draws them',
    )
    .argument('[view]', '"calendar" for a text calendar, "usage" for booked versus used')
    .option('--tenant <name>', 'one tenant (operators)')
    .option('--past', 'include bookings that have ended')
    .option(
      '--days <n>',
      `calendar: days to show (at most ${CALENDAR_MAX_DAYS})`,
      String(CALENDAR_DEFAULT_DAYS),
    )
    .option(
      '--from <date>',
      'calendar: first day (YYYY-MM-DD or ISO; default today); usage: start (default: this UTC month)',
    )
    .option('--tz <zone>', 'calendar: time zone of the bars', 'UTC')
    .option('--to <date>', 'usage: end of the report (default: end of this UTC month)')
    .option('--charge <policy>', 'usage: booked (windows charged in full) or used', 'booked')
    .option('--json', 'the server’s document')
    .action(
      async (
        view: string | undefined,
        opts: {
          tenant?: string;
          past?: boolean;
          days: string;
          from?: string;
          to?: string;
          charge: string;
          tz: string;
          json?: boolean;
        },
      ) => {
        if (view !== undefined && view !== 'calendar' && view !== 'usage')
          throw new BookingUsageError(
            `unknown view "${view}": use "suanli bookings", "suanli bookings calendar" or "suanli bookings usage"`,
          );
        if (view === 'usage') {
          if (opts.charge !== 'booked' && opts.charge !== 'used')
            throw new BookingUsageError(`--charge must be booked or used, got "${opts.charge}"`);
          const r = await client().bookingUsage({
            ...(opts.from !== undefined ? { from: opts.from } : {}),
            ...(opts.to !== undefined ? { to: opts.to } : {}),
            ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
            charge: opts.charge,
          });
          if (opts.json) return json(r);
          print(`${r.from} – ${r.to}, charged: ${r.charge}`);
          if (r.bookings.length === 0) return print('no approved bookings in this period');
          return print(
            table(
              ['ID', 'TENANT', 'PROJECT', 'ACCELERATORS', 'BOOKED H', 'USED H', 'IDLE H', 'CHARGED H'],
              r.bookings.map((b) => [
                b.id,
                b.tenant,
                b.project,
                `${b.accelerators}× ${b.acceleratorType}`,
                b.bookedAcceleratorHours.toFixed(2),
                b.usedAcceleratorHours.toFixed(2),
                b.idleAcceleratorHours.toFixed(2),
                b.chargedAcceleratorHours.toFixed(2),
              ]),
            ),
          );
        }
        const list = await client().listBookings({
          ...(opts.tenant ? { tenant: opts.tenant } : {}),
          ...(opts.past ? { past: true } : {}),
        });
        if (opts.json) return json(list);
        if (view === 'calendar') {
          const from =
            opts.from !== undefined ? Date.parse(opts.from) : Math.floor(Date.now() / DAY_MS) * DAY_MS;
          if (!Number.isFinite(from)) throw new BookingUsageError(`--from "${opts.from}" is not a date`);
          return print(renderCalendar(list.bookings, from, positiveInt('--days', opts.days), opts.tz));
        }
        if (list.bookings.length === 0) return print('no bookings');
        print(
          table(
            ['ID', 'TENANT', 'STATE', 'ACCELERATORS', 'NEXT WINDOW', 'TZ', 'REPEAT'],
            list.bookings.map((b) => [
              b.id,
              b.kind === 'maintenance' ? '(maintenance)' : b.tenant,
              b.state,
              `${b.accelerators}× ${b.acceleratorType}`,
              b.nextOccurrence
                ? `${local(b.nextOccurrence.start, b.timeZone)} – ${local(b.nextOccurrence.end, b.timeZone).slice(11)}`
                : '-',
              b.timeZone,
              describeRepeat(b),
            ]),
          ),
        );
      },
    );

  const booking = program
    .command('booking')
    .description('one booking: show, cancel, approve, reject; booking settings of a tenant');
  booking
    .command('show <id>')
    .option('--json', 'the server’s document')
    .action(async (id: string, opts: { json?: boolean }) => {
      const b = await client().getBooking(id);
      if (opts.json) json(b);
      else print(summary(b));
    });
  for (const action of ['cancel', 'approve', 'reject'] as const) {
    booking
      .command(`${action} <id>`)
      .description(
        action === 'cancel'
          ? 'cancel a booking: its capacity is free at once'
          : `${action} a requested booking (operators)`,
      )
      .option('--reason <text>', 'why (shown to the tenant)')
      .option('--json', 'the server’s document')
      .action(async (id: string, opts: { reason?: string; json?: boolean }) => {
        const b = await client().decideBooking(id, action, opts.reason);
        if (opts.json) json(b);
        else print(`booking ${b.id}: ${b.state}`);
      });
  }
  booking
    .command('settings <tenant>')
    .description("set a tenant's booking settings (operators)")
    .option('--require-approval', 'bookings wait for an operator')
    .option('--max-hours <n>', 'accelerator-hours the tenant may hold in bookings ahead')
    .option('--max-accelerators <n>', 'accelerators per booking')
    .option('--json', 'the server’s document')
    .action(
      async (
        tenant: string,
        opts: { requireApproval?: boolean; maxHours?: string; maxAccelerators?: string; json?: boolean },
      ) => {
        const maxHours = opts.maxHours === undefined ? null : Number(opts.maxHours);
        if (maxHours !== null && !(maxHours >= 0))
          throw new BookingUsageError(`--max-hours must be a number ≥ 0, got "${opts.maxHours}"`);
        const s = await client().setBookingSettings(tenant, {
          requireApproval: opts.requireApproval === true,
          maxBookedAcceleratorHours: maxHours,
          maxAcceleratorsPerBooking:
            opts.maxAccelerators === undefined
              ? null
              : positiveInt('--max-accelerators', opts.maxAccelerators),
        });
        if (opts.json) json(s);
        else
          print(
            `booking settings of ${s.tenant}: approval ${s.requireApproval ? 'required' : 'not required'}, quota ${s.maxBookedAcceleratorHours ?? 'none'} accelerator-hours ahead, ${s.maxAcceleratorsPerBooking ?? 'any'} accelerators per booking`,
          );
      },
    );

  program
    .command('capacity')
    .description(
      'when can I get N accelerators of a type for a duration? (the earliest window a booking would be accepted for)',
    )
    .requiredOption('--type <type>', 'accelerator type')
    .requiredOption('--accelerators <n>', 'how many')
    .requiredOption('--duration <d>', 'e.g. 6h, 90m, 2d')
    .option('--not-before <time>', 'ISO instant: look from then on')
    .option('--tz <zone>', 'time zone to show the answer in', 'UTC')
    .option('--json', 'the server’s document')
    .action(
      async (opts: {
        type: string;
        accelerators: string;
        duration: string;
        notBefore?: string;
        tz: string;
        json?: boolean;
      }) => {
        const a = await client().capacity({
          type: opts.type,
          accelerators: positiveInt('--accelerators', opts.accelerators),
          durationSeconds: duration(opts.duration),
          ...(opts.notBefore !== undefined ? { notBefore: new Date(opts.notBefore).toISOString() } : {}),
        });
        if (opts.json) return json(a);
        if (!a.available || a.start === null || a.end === null) {
          // an answer, not a failure of the command: said on stderr with exit code 1, as a refused booking
          process.stderr.write(
            `${a.accelerators}× ${a.acceleratorType} for ${opts.duration}: not available (${a.reason ?? 'no reason given'})\n`,
          );
          process.exitCode = 1;
          return;
        }
        print(
          `${a.accelerators}× ${a.acceleratorType} for ${opts.duration}: earliest ${local(a.start, opts.tz)} – ${local(a.end, opts.tz)} ${opts.tz}`,
        );
      },
    );
}
