import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bookedNow,
  buildCalendar,
  inventoryByType,
  maxHeldIn,
  type CalendarBooking,
} from '../lib/bookings.js';

const H = 3_600_000;
const T0 = Date.parse('2026-03-10T00:00:00Z');
const days = [T0, T0 + 24 * H, T0 + 48 * H];

function booking(
  over: Partial<CalendarBooking> & { occurrences: CalendarBooking['occurrences'] },
): CalendarBooking {
  return {
    id: 'bk-1',
    tenant: 'lab',
    project: 'default',
    kind: 'booking',
    state: 'approved',
    acceleratorType: 'gpu',
    accelerators: 2,
    ...over,
  };
}
const iso = (ms: number) => new Date(ms).toISOString();

test('inventoryByType counts accelerators per type', () => {
  const inv = inventoryByType([
    { accelerators: [{ type: 'gpu' }, { type: 'gpu' }] },
    { accelerators: [{ type: 'npu' }] },
  ]);
  assert.deepEqual(
    [...inv],
    [
      ['gpu', 2],
      ['npu', 1],
    ],
  );
});

test('maxHeldIn: overlapping windows add up, touching ones do not', () => {
  const w = [
    { start: 0, end: 10, accelerators: 1 },
    { start: 5, end: 15, accelerators: 2 },
    { start: 15, end: 20, accelerators: 4 },
  ];
  assert.equal(maxHeldIn(w, 0, 5), 1);
  assert.equal(maxHeldIn(w, 0, 15), 3);
  assert.equal(maxHeldIn(w, 10, 20), 4);
  assert.equal(maxHeldIn(w, 20, 30), 0);
});

test('buildCalendar: held and unbooked per day, bars clipped to the period, cancelled ignored', () => {
  const rows = buildCalendar(
    [
      booking({ occurrences: [{ start: iso(T0 + 9 * H), end: iso(T0 + 17 * H) }] }),
      booking({
        id: 'mt-1',
        kind: 'maintenance',
        accelerators: 1,
        occurrences: [{ start: iso(T0 + 40 * H), end: iso(T0 + 60 * H) }],
      }),
      booking({ id: 'bk-x', state: 'cancelled', occurrences: [{ start: iso(T0), end: iso(T0 + H) }] }),
      booking({ id: 'bk-n', acceleratorType: 'npu', occurrences: [{ start: iso(T0), end: iso(T0 + H) }] }),
    ],
    new Map([['gpu', 4]]),
    days,
  );
  assert.deepEqual(
    rows.map((r) => r.type),
    ['gpu', 'npu'],
  );
  const gpu = rows[0]!;
  assert.equal(gpu.total, 4);
  assert.deepEqual(
    gpu.days.map((d) => [d.maxHeld, d.minUnbooked]),
    [
      [2, 2],
      [1, 3],
    ],
  );
  assert.deepEqual(
    gpu.bars.map((b) => b.id),
    ['bk-1', 'mt-1'],
  );
  assert.equal(gpu.bars[0]!.leftPct, (9 / 48) * 100);
  assert.equal(gpu.bars[1]!.leftPct + gpu.bars[1]!.widthPct, 100); // clipped at the end
  assert.equal(rows[1]!.total, null);
  assert.equal(rows[1]!.days[0]!.minUnbooked, 0);
});

test('bookedNow: approved bookings and maintenance inside a window at that instant', () => {
  const win = [{ start: iso(T0), end: iso(T0 + 2 * H) }];
  const all = [
    booking({ id: 'a', state: 'active', occurrences: win }),
    booking({ id: 'b', state: 'requested', occurrences: win }),
    booking({ id: 'c', state: 'cancelled', occurrences: win }),
    booking({ id: 'm', kind: 'maintenance', accelerators: 1, occurrences: win }),
    booking({ id: 'later', occurrences: [{ start: iso(T0 + 2 * H), end: iso(T0 + 3 * H) }] }),
  ];
  assert.deepEqual(bookedNow(all, T0 + H), { booked: 2, bookings: 1, maintenance: 1 });
  assert.deepEqual(bookedNow(all, T0 + 2 * H), { booked: 2, bookings: 1, maintenance: 0 });
});
