/// <reference types="node" />
/**
 * Bookings in the core: time zones and recurrence (DST), admission without overbooking, the
 * capacity query, and the scheduler honouring booked windows end to end (scheduleOnce).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compileBooking,
  bookingPhase,
  type BookingInput,
  type BookingLike,
  type CompiledBooking,
} from './booking.js';
import { bookingUsage } from './usage.js';
import { parseWallTime, wallTimeToUtc } from './zoned-time.js';
import {
  admitBooking,
  earliestCapacity,
  NO_BOOKING_QUOTA,
  windowsForSnapshot,
  type AdmissionCandidate,
  type RunningHold,
} from './admission.js';
import { DEFAULT_POLICY } from '../policy/config.js';
import { scheduleOnce } from '../policy/suanli.js';
import { devicesOn, makeJob, makeNode, makeRunning } from '../testing/builders.js';
import type { ClusterNode } from '../model/resources.js';
import type { RunningSchedJob, SchedJob } from '../model/scheduling.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 5, 1); // 2026-06-01T00:00Z, the tests' "now"

function input(o: Partial<BookingInput> = {}): BookingInput {
  return {
    tenant: 'lab-a',
    project: 'default',
    kind: 'booking',
    acceleratorType: 'nvidia-h200',
    accelerators: 8,
    nodeCount: null,
    sameSwitch: false,
    start: '2026-06-01T10:00:00Z',
    end: '2026-06-01T20:00:00Z',
    timeZone: 'UTC',
    repeat: null,
    until: null,
    ...o,
  };
}

function compiled(o: Partial<BookingInput> = {}): CompiledBooking {
  const c = compileBooking(input(o));
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return c.value;
}

let ids = 0;
function booking(
  o: Partial<BookingInput> & { id?: string; state?: BookingLike['state'] } = {},
): AdmissionCandidate {
  const c = compiled(o);
  return { ...c, id: o.id ?? `b${++ids}`, state: o.state ?? 'approved' };
}

const hall = (n = 2): ClusterNode[] =>
  Array.from({ length: n }, (_, i) => makeNode(`n${i + 1}`, { accelerators: 8, switch: `s${i + 1}` }));

function admit(
  candidate: AdmissionCandidate,
  bookings: BookingLike[],
  o: { nodes?: ClusterNode[]; running?: RunningHold[]; now?: number } = {},
) {
  return admitBooking({
    now: o.now ?? T0,
    nodes: o.nodes ?? hall(),
    running: o.running ?? [],
    bookings,
    candidate,
    quota: NO_BOOKING_QUOTA,
  });
}

describe('time zones and recurrence', () => {
  test('daily 09:00–17:00 in America/New_York keeps wall-clock times across the March DST change', () => {
    // DST starts Sunday 2026-03-08 02:00 local: UTC offset -5h before, -4h after.
    const b = compiled({
      start: '2026-03-06T09:00',
      end: '2026-03-06T17:00',
      timeZone: 'America/New_York',
      repeat: 'daily',
      until: '2026-03-10',
    });
    const starts = b.occurrences.map((o) => new Date(o.startTime).toISOString());
    assert.deepEqual(starts, [
      '2026-03-06T14:00:00.000Z',
      '2026-03-07T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z',
      '2026-03-09T13:00:00.000Z',
      '2026-03-10T13:00:00.000Z',
    ]);
    assert.ok(b.occurrences.every((o) => o.endTime - o.startTime === 8 * H));
  });

  test('a night window spanning the change is an hour shorter in real time (wall clock 22:00–06:00)', () => {
    const b = compiled({
      start: '2026-03-07T22:00',
      end: '2026-03-08T06:00',
      timeZone: 'America/New_York',
      repeat: 'daily',
      until: '2026-03-08',
    });
    assert.deepEqual(
      b.occurrences.map((o) => (o.endTime - o.startTime) / H),
      [7, 8],
    );
  });

  test('a wall time that does not exist moves forward; one that occurs twice is the earlier instant', () => {
    const gap = parseWallTime('2026-03-08T02:30', 'America/New_York');
    assert.ok(gap);
    assert.equal(new Date(wallTimeToUtc(gap, 'America/New_York')).toISOString(), '2026-03-08T07:30:00.000Z'); // 03:30 EDT
    const twice = parseWallTime('2026-11-01T01:30', 'America/New_York');
    assert.ok(twice);
    assert.equal(
      new Date(wallTimeToUtc(twice, 'America/New_York')).toISOString(),
      '2026-11-01T05:30:00.000Z',
    ); // 01:30 EDT
    const berlin = parseWallTime('2026-10-25T02:30', 'Europe/Berlin');
    assert.ok(berlin);
    assert.equal(new Date(wallTimeToUtc(berlin, 'Europe/Berlin')).toISOString(), '2026-10-25T00:30:00.000Z'); // 02:30 CEST
  });

  test('Asia/Shanghai (no DST), weekdays skip the weekend; weekly keeps the weekday', () => {
    // 2026-06-05 is a Friday.
    const wd = compiled({
      start: '2026-06-05T22:00',
      end: '2026-06-06T06:00',
      timeZone: 'Asia/Shanghai',
      repeat: 'weekdays',
      until: '2026-06-09',
    });
    assert.deepEqual(
      wd.occurrences.map((o) => new Date(o.startTime).toISOString()),
      ['2026-06-05T14:00:00.000Z', '2026-06-08T14:00:00.000Z', '2026-06-09T14:00:00.000Z'],
    );
    const wk = compiled({
      start: '2026-06-02T09:00',
      end: '2026-06-02T21:00',
      timeZone: 'Asia/Shanghai',
      repeat: 'weekly',
      until: '2026-06-30',
    });
    assert.equal(wk.occurrences.length, 5);
    assert.ok(
      wk.occurrences.every(
        (o) => new Date(o.startTime).getUTCDay() === 2 && new Date(o.startTime).getUTCHours() === 1,
      ),
    );
  });

  test('property: every occurrence starts at the stated wall-clock time and recurrences are bounded', () => {
    const zones = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Shanghai', 'Australia/Sydney'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 400 }),
        (tz, hour, hours, days) => {
          const p = (n: number) => String(n).padStart(2, '0');
          const until = new Date(Date.UTC(2026, 0, 1) + days * 86_400_000).toISOString().slice(0, 10);
          const c = compileBooking(
            input({
              start: `2026-01-01T${p(hour)}:00`,
              end: `2026-01-01T${p(hour)}:00`.replace(/T\d\d/, `T${p(hour)}`),
              timeZone: tz,
            }),
          );
          assert.equal(c.ok, false, 'zero-length window refused');
          const endHour = hour + hours;
          const end = endHour < 24 ? `2026-01-01T${p(endHour)}:00` : `2026-01-02T${p(endHour - 24)}:00`;
          const r = compileBooking(
            input({ start: `2026-01-01T${p(hour)}:00`, end, timeZone: tz, repeat: 'daily', until }),
          );
          if (!r.ok) {
            assert.ok(days + 1 > 366, JSON.stringify(r.errors));
            assert.match(r.errors[0]?.message ?? '', /more than 366 occurrences/);
            return;
          }
          // A one-hour window that falls wholly into a daylight-saving gap (02:00–03:00 on the
          // spring-forward day) does not exist that day: it is skipped, not booked at zero length.
          const n = r.value.occurrences.length;
          assert.ok(n === days + 1 || (hours === 1 && n === days), `${n} occurrences for ${days + 1} days`);
          const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', hour: '2-digit' });
          for (const o of r.value.occurrences) {
            const shown = Number(f.format(o.startTime));
            // the wall hour is the stated one, except in a DST gap where it moves forward by the gap
            assert.ok(
              shown === hour || shown === (hour + 1) % 24,
              `${tz} ${new Date(o.startTime).toISOString()} shows ${shown}, want ${hour}`,
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('validation names the field and what to fix', () => {
    const bad = compileBooking(input({ timeZone: 'Mars/Olympus', accelerators: 0 }));
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.ok ? [] : bad.errors.map((e) => e.path), ['timeZone', 'accelerators']);
    const noUntil = compileBooking(input({ repeat: 'daily' }));
    assert.deepEqual(noUntil.ok ? [] : noUntil.errors.map((e) => e.message), [
      'a repeated booking needs an end date (until YYYY-MM-DD)',
    ]);
    const backwards = compileBooking(input({ start: '2026-06-02T10:00', end: '2026-06-02T09:00' }));
    assert.deepEqual(backwards.ok ? [] : backwards.errors, [{ path: 'end', message: 'must be after start' }]);
    const feb30 = compileBooking(input({ start: '2026-02-30T10:00' }));
    assert.equal(feb30.ok ? '' : feb30.errors[0]?.path, 'start');
    const uneven = compileBooking(input({ accelerators: 12, nodeCount: 5 }));
    assert.equal(
      uneven.ok ? '' : uneven.errors[0]?.message,
      '12 accelerators do not divide evenly over 5 nodes',
    );
  });

  test('phase: approved → active inside an occurrence → completed after the last', () => {
    const b = booking();
    assert.equal(bookingPhase(b, T0), 'approved');
    assert.equal(bookingPhase(b, T0 + 10 * H), 'active');
    assert.equal(bookingPhase(b, T0 + 20 * H), 'completed');
    assert.equal(bookingPhase({ ...b, state: 'cancelled' }, T0 + 10 * H), 'cancelled');
  });
});

describe('admission', () => {
  test('accepted while capacity exists; an overlapping booking beyond capacity is refused naming the holder', () => {
    const first = booking({ id: 'first', accelerators: 12 });
    assert.deepEqual(admit(first, []), { ok: true });
    const second = booking({
      id: 'second',
      accelerators: 8,
      start: '2026-06-01T19:00:00Z',
      end: '2026-06-01T23:00:00Z',
    });
    const r = admit(second, [first]);
    assert.equal(r.ok, false);
    assert.equal(r.ok ? '' : r.kind, 'capacity');
    assert.equal(r.ok ? '' : r.conflictingBookingId, 'first');
    // 4 still fit next to the first; after it ends, all 16 do
    assert.deepEqual(
      admit(booking({ accelerators: 4, start: '2026-06-01T19:00:00Z', end: '2026-06-01T23:00:00Z' }), [
        first,
      ]),
      { ok: true },
    );
    assert.deepEqual(
      admit(booking({ accelerators: 16, start: '2026-06-01T20:00:00Z', end: '2026-06-01T23:00:00Z' }), [
        first,
      ]),
      { ok: true },
    );
  });

  test('cancelled and rejected bookings free their capacity at once; requested ones hold it', () => {
    const held = booking({ id: 'held', accelerators: 16 });
    const later = booking({ accelerators: 1 });
    assert.equal(admit(later, [{ ...held, state: 'requested' }]).ok, false);
    assert.deepEqual(admit(later, [{ ...held, state: 'cancelled' }]), { ok: true });
    assert.deepEqual(admit(later, [{ ...held, state: 'rejected' }]), { ok: true });
  });

  test('a maintenance window blocks capacity like a booking', () => {
    const maint = booking({ id: 'maint', kind: 'maintenance', tenant: 'ops', accelerators: 8 });
    const r = admit(booking({ accelerators: 9 }), [maint]);
    assert.equal(r.ok ? '' : r.conflictingBookingId, 'maint');
    assert.deepEqual(admit(booking({ accelerators: 8 }), [maint]), { ok: true });
  });

  test('running jobs count until their time limit; without a limit they hold forever', () => {
    const until = (h: number): RunningHold => ({
      jobId: 'j',
      placement: devicesOn('n1', 8),
      startTime: T0 - H,
      endTime: T0 + h * H,
    });
    assert.deepEqual(admit(booking({ accelerators: 16 }), [], { running: [until(10)] }), { ok: true }); // ends at the window's start
    const r = admit(booking({ accelerators: 16 }), [], { running: [until(11)] });
    assert.match(r.ok ? '' : r.reason, /running jobs hold the capacity/);
    assert.equal(
      admit(booking({ accelerators: 16 }), [], { running: [{ ...until(0), endTime: Infinity }] }).ok,
      false,
    );
    assert.deepEqual(
      admit(booking({ accelerators: 8 }), [], { running: [{ ...until(0), endTime: Infinity }] }),
      { ok: true },
    );
  });

  test('every occurrence of a recurring booking is checked; the first that does not fit is named', () => {
    const blocker = booking({
      id: 'blocker',
      accelerators: 16,
      start: '2026-06-03T12:00:00Z',
      end: '2026-06-03T13:00:00Z',
    });
    const daily = booking({
      accelerators: 8,
      start: '2026-06-01T10:00',
      end: '2026-06-01T20:00',
      repeat: 'daily',
      until: '2026-06-05',
    });
    const r = admit(daily, [blocker]);
    assert.equal(r.ok, false);
    assert.equal(r.ok ? 0 : r.occurrence?.startTime, Date.UTC(2026, 5, 3, 10));
  });

  test('quota: accelerator-hours held ahead and accelerators per booking; past and impossible bookings', () => {
    const mine = booking({ id: 'mine', accelerators: 8 }); // 80 accelerator-hours
    const quota = { maxBookedAcceleratorHours: 100, maxAcceleratorsPerBooking: 8 };
    const base = { now: T0, nodes: hall(), running: [], bookings: [mine] };
    const tooMuch = admitBooking({
      ...base,
      candidate: booking({ accelerators: 4, start: '2026-06-02T10:00:00Z', end: '2026-06-02T16:00:00Z' }),
      quota,
    });
    assert.equal(tooMuch.ok ? '' : tooMuch.kind, 'quota');
    assert.match(
      tooMuch.ok ? '' : tooMuch.reason,
      /100 accelerator-hours held ahead; 80\.0 are booked and this booking asks 24\.0/,
    );
    assert.deepEqual(
      admitBooking({
        ...base,
        candidate: booking({ accelerators: 2, start: '2026-06-02T10:00:00Z', end: '2026-06-02T16:00:00Z' }),
        quota,
      }),
      { ok: true },
    );
    const wide = admitBooking({ ...base, candidate: booking({ accelerators: 9 }), quota });
    assert.match(wide.ok ? '' : wide.reason, /at most 8 accelerators per booking/);
    assert.equal(
      (
        admit(booking({ start: '2026-05-01T10:00:00Z', end: '2026-05-01T11:00:00Z' }), []) as {
          kind?: string;
        }
      ).kind,
      'past',
    );
    assert.equal((admit(booking({ accelerators: 17 }), []) as { kind?: string }).kind, 'never');
  });

  test('property: bookings admitted one after another never overbook any instant', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            s: fc.integer({ min: 0, max: 40 }),
            len: fc.integer({ min: 1, max: 12 }),
            n: fc.integer({ min: 1, max: 16 }),
          }),
          { maxLength: 25 },
        ),
        (asks) => {
          const accepted: BookingLike[] = [];
          for (const a of asks) {
            const c = booking({
              accelerators: a.n,
              start: new Date(T0 + a.s * H).toISOString(),
              end: new Date(T0 + (a.s + a.len) * H).toISOString(),
            });
            if (admit(c, accepted).ok) accepted.push(c);
          }
          for (let t = 0; t < 52; t++) {
            const at = T0 + t * H;
            const used = accepted.reduce(
              (sum, b) =>
                sum + (b.occurrences.some((o) => o.startTime <= at && at < o.endTime) ? b.accelerators : 0),
              0,
            );
            assert.ok(used <= 16, `${used} booked at hour ${t}`);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('capacity query ("when can I get N for D?")', () => {
  test('answers from running jobs and booked windows', () => {
    const all = booking({ accelerators: 16 }); // 10:00–20:00
    const q = {
      now: T0,
      nodes: hall(),
      running: [] as RunningHold[],
      bookings: [all] as BookingLike[],
      acceleratorType: 'nvidia-h200',
    };
    assert.deepEqual(earliestCapacity({ ...q, accelerators: 16, durationMs: 6 * H }), {
      ok: true,
      startTime: T0,
      endTime: T0 + 6 * H,
    });
    assert.deepEqual(earliestCapacity({ ...q, accelerators: 16, durationMs: 12 * H }), {
      ok: true,
      startTime: T0 + 20 * H,
      endTime: T0 + 32 * H,
    });
    const busy = [{ jobId: 'j', placement: devicesOn('n1', 8), startTime: T0 - H, endTime: T0 + 3 * H }];
    assert.deepEqual(
      earliestCapacity({ ...q, running: busy, bookings: [], accelerators: 16, durationMs: 6 * H }),
      { ok: true, startTime: T0 + 3 * H, endTime: T0 + 9 * H },
    );
    const never = earliestCapacity({ ...q, accelerators: 32, durationMs: H });
    assert.equal(
      never.ok ? '' : never.reason,
      'the hall has 16 schedulable nvidia-h200 accelerators; 32 are never free at once',
    );
    // the answer is admissible
    const c = earliestCapacity({ ...q, accelerators: 12, durationMs: 12 * H });
    assert.ok(c.ok);
    const asBooking = booking({
      accelerators: 12,
      start: new Date(c.startTime).toISOString(),
      end: new Date(c.endTime).toISOString(),
    });
    assert.deepEqual(admit(asBooking, [all]), { ok: true });
  });
});

describe('the scheduler honours bookings (windowsForSnapshot → scheduleOnce)', () => {
  const window = booking({ id: 'bk', tenant: 'lab-a', accelerators: 16 }); // 10:00–20:00, the whole hall
  const windows = windowsForSnapshot([window], T0, 30 * 24 * H);
  const run = (now: number, pending: SchedJob[], running: RunningSchedJob[] = [], ws = windows) =>
    scheduleOnce(DEFAULT_POLICY, { now, nodes: hall(), pending, running, windows: ws });

  test('windowsForSnapshot: approved bookings only, maintenance belongs to nobody, ended ones dropped', () => {
    const maint = booking({ id: 'm', kind: 'maintenance', tenant: 'ops' });
    const ws = windowsForSnapshot(
      [
        window,
        maint,
        { ...booking({ id: 'req' }), state: 'requested' },
        booking({ id: 'old', start: '2026-05-01T00:00:00Z', end: '2026-05-01T01:00:00Z' }),
      ],
      T0,
      30 * 24 * H,
    );
    assert.deepEqual(
      ws.map((w) => [w.id, w.tenant]),
      [
        ['bk#0', 'lab-a'],
        ['m#0', null],
      ],
    );
  });

  test('ahead of a window only jobs that end before it start (backfill never delays it)', () => {
    const short = makeJob('short', { tenant: 'lab-b', accelerators: 8, timeLimitMs: 2 * H, submitTime: 1 });
    const long = makeJob('long', { tenant: 'lab-b', accelerators: 8, timeLimitMs: 12 * H, submitTime: 2 });
    const forever = makeJob('forever', {
      tenant: 'lab-b',
      accelerators: 1,
      timeLimitMs: null,
      submitTime: 3,
    });
    const r = run(T0 + 7 * H, [short, long, forever]);
    assert.deepEqual(
      r.starts.map((s) => s.jobId),
      ['short'],
    );
    assert.equal(r.pending.find((p) => p.jobId === 'long')?.verdict, 'behind-booking');
    assert.equal(r.pending.find((p) => p.jobId === 'forever')?.verdict, 'behind-booking');
  });

  test('property: whatever other tenants submit before the window, the booked devices are free at its start', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            n: fc.constantFrom(1, 2, 4, 8),
            limitH: fc.option(fc.integer({ min: 1, max: 24 }), { nil: null }),
          }),
          { maxLength: 12 },
        ),
        fc.integer({ min: 0, max: 9 }),
        (jobs, hour) => {
          const pending = jobs.map((j, i) =>
            makeJob(`j${i}`, {
              tenant: 'lab-b',
              accelerators: j.n,
              timeLimitMs: j.limitH === null ? null : j.limitH * H,
              submitTime: i,
            }),
          );
          const now = T0 + hour * H;
          const r = run(now, pending);
          const byId = new Map(pending.map((j) => [j.id, j]));
          for (const s of r.starts) {
            const lim = byId.get(s.jobId)?.timeLimitMs ?? null;
            assert.ok(
              lim !== null && now + lim <= (window.occurrences[0]?.startTime ?? 0),
              `${s.jobId} would run into the booked window`,
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a booking starts on time on a busy cluster: at the window start the owner starts within the cycle', () => {
    // lab-b filled the hall with jobs that end exactly at the window's start (all they were allowed)
    const busy = [0, 1].map((i) =>
      makeRunning(
        makeJob(`b${i}`, { tenant: 'lab-b', accelerators: 8, timeLimitMs: 10 * H }),
        devicesOn(`n${i + 1}`, 8),
        { startTime: T0 },
      ),
    );
    const owner = makeJob('owner', {
      tenant: 'lab-a',
      replicas: 2,
      accelerators: 8,
      timeLimitMs: 10 * H,
      submitTime: T0 + 9 * H,
    });
    const waiting = makeJob('other', { tenant: 'lab-b', accelerators: 1, timeLimitMs: H, submitTime: 0 });
    const before = run(T0 + 9 * H, [owner, waiting], busy);
    assert.equal(before.starts.length, 0);
    // the engine has stopped the jobs at their time limit: at 10:00 the owner starts, lab-b does not
    const at = run(T0 + 10 * H, [owner, waiting]);
    assert.deepEqual(
      at.starts.map((s) => s.jobId),
      ['owner'],
    );
    assert.equal(at.pending.find((p) => p.jobId === 'other')?.verdict, 'behind-booking');
  });

  test('cancelling frees capacity at once: without the window the other tenant starts in the next cycle', () => {
    const long = makeJob('long', { tenant: 'lab-b', accelerators: 8, timeLimitMs: 12 * H });
    assert.equal(run(T0 + 7 * H, [long]).starts.length, 0);
    const cancelled = windowsForSnapshot([{ ...window, state: 'cancelled' }], T0 + 7 * H, 30 * 24 * H);
    assert.deepEqual(
      run(T0 + 7 * H, [long], [], cancelled).starts.map((s) => s.jobId),
      ['long'],
    );
  });

  test('a job that outlives its booking: starts only if the capacity is free after the window (policy: continue when free)', () => {
    const twoNodes = makeJob('two', { tenant: 'lab-a', replicas: 2, accelerators: 8, timeLimitMs: 14 * H });
    // nothing booked after the window: it may continue past 20:00
    const free = run(T0 + 10 * H, [twoNodes]);
    assert.deepEqual(
      free.starts.map((s) => s.jobId),
      ['two'],
    );
    // lab-b booked the hall from 21:00: the job would run into that booking, so it waits (behind-booking)
    const next = booking({
      id: 'next',
      tenant: 'lab-b',
      accelerators: 16,
      start: '2026-06-01T21:00:00Z',
      end: '2026-06-01T23:00:00Z',
    });
    const blocked = run(
      T0 + 10 * H,
      [twoNodes],
      [],
      windowsForSnapshot([window, next], T0 + 10 * H, 30 * 24 * H),
    );
    assert.equal(blocked.pending[0]?.verdict, 'behind-booking');
    assert.match(blocked.pending[0]?.reason ?? '', /next#0/);
  });

  test('lending idle booked capacity is not supported: a preemptible job of another tenant stays out of the window', () => {
    const lend = makeJob('lend', { tenant: 'lab-b', accelerators: 1, timeLimitMs: H, preemptible: true });
    const r = run(T0 + 11 * H, [lend]);
    assert.equal(r.starts.length, 0);
    assert.equal(r.pending[0]?.verdict, 'behind-booking');
  });
});

describe('booked versus used', () => {
  const b = booking({ accelerators: 8 }); // 10:00–20:00 = 80 accelerator-hours
  const run = (tenant: string, n: number, fromH: number, toH: number, type = 'nvidia-h200') => ({
    tenant,
    acceleratorType: type,
    accelerators: n,
    startedAt: T0 + fromH * H,
    finishedAt: T0 + toH * H,
  });

  test('used counts only the tenant’s jobs of the type inside the windows, at most the booked count', () => {
    const ledger = [
      run('lab-a', 8, 9, 12), // 2 h inside × 8
      run('lab-a', 4, 15, 16), // 1 h × 4
      run('lab-a', 8, 15, 16), // overlaps: 12 in use, counted as 8 for that hour (with the 4 above)
      run('lab-b', 8, 10, 20), // another tenant
      run('lab-a', 8, 10, 20, 'ascend-910b'), // another type
    ];
    const booked = bookingUsage(b, ledger, T0, T0 + 24 * H, 'booked');
    assert.deepEqual(booked, { bookedMs: 80 * H, usedMs: (16 + 8) * H, chargedMs: 80 * H });
    const used = bookingUsage(b, ledger, T0, T0 + 24 * H, 'used');
    assert.equal(used.chargedMs, 24 * H);
    // a report window clips both
    assert.deepEqual(bookingUsage(b, ledger, T0 + 11 * H, T0 + 12 * H, 'used'), {
      bookedMs: 8 * H,
      usedMs: 8 * H,
      chargedMs: 8 * H,
    });
  });
});
