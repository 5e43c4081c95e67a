/**
 * The BookingStore contract, run against SQLite (bookings-sqlite.test.ts) and PostgreSQL
 * (bookings-postgres.test.ts). The decisive case is concurrency: many admissions racing for the
 * same capacity, from separate connections, with core's real `admitBooking` as the decision;
 * exactly as many are admitted as fit, never more.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  admitBooking,
  compileBooking,
  NO_BOOKING_QUOTA,
  type BookingInput,
  type ClusterNode,
} from '@suanli/core';
import { openBookingStore, type AdmitVerdict, type BookingRecord, type NewBooking } from './bookings.js';
import type { Store } from './store.js';

export interface BookingContractOptions {
  /** Another store on the same database (a second connection or pool), for real races. */
  readonly openAnother: (store: Store) => Promise<Store>;
  readonly skip?: string;
}

const T0 = Date.UTC(2026, 5, 1);
let counter = 0;

export function makeNewBooking(
  o: Partial<BookingInput> & { id?: string; createdAt?: number } = {},
): NewBooking {
  const c = compileBooking({
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
  });
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return {
    ...c.value,
    id: o.id ?? `bk-${process.pid}-${++counter}`,
    createdBy: 'alice',
    createdAt: o.createdAt ?? T0,
  };
}

function node(name: string, devices: number): ClusterNode {
  return {
    name,
    state: 'ready',
    accelerators: Array.from({ length: devices }, (_, i) => ({
      id: `${name}/nvidia-h200/${i}`,
      index: i,
      type: 'nvidia-h200',
      vendor: 'nvidia' as const,
      source: 'declared' as const,
      healthy: true,
    })),
    cpuMillis: 64_000,
    memoryMiB: 512 * 1024,
    topology: {},
    labels: {},
  };
}

/** core's admission over a hall of `devices` H200s, as the API decides. */
function decideOn(b: NewBooking, devices: number) {
  return (live: readonly BookingRecord[]): AdmitVerdict => {
    const d = admitBooking({
      now: T0,
      nodes: [node('n1', devices)],
      running: [],
      bookings: live,
      candidate: { ...b, state: 'approved' },
      quota: NO_BOOKING_QUOTA,
    });
    return d.ok ? { admit: true, state: 'approved', reason: null } : { admit: false, reason: d.reason };
  };
}

export function defineBookingContract(
  name: string,
  open: () => Promise<Store>,
  opts: BookingContractOptions,
): void {
  void describe(`BookingStore contract (${name})`, { skip: opts.skip ?? false }, () => {
    async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
      const store = await open();
      try {
        await store.migrate();
        await fn(store);
      } finally {
        await store.close();
      }
    }

    void it('admits, reads back every field exactly, lists by tenant, end and state', async () => {
      await withStore(async (store) => {
        const bs = openBookingStore(store);
        assert.equal(openBookingStore(store), bs, 'one BookingStore per store');
        const b = makeNewBooking({
          id: 'one',
          start: '2026-03-06T09:00',
          end: '2026-03-06T17:00',
          timeZone: 'America/New_York',
          repeat: 'daily',
          until: '2026-03-10',
          nodeCount: 2,
          sameSwitch: true,
        });
        const r = await bs.admit(b, Date.UTC(2026, 2, 1), () => ({
          admit: true,
          state: 'requested',
          reason: 'waits for an operator',
        }));
        assert.ok(r.booking);
        const got = await bs.get('one');
        assert.deepEqual(got, r.booking);
        assert.equal(got?.state, 'requested');
        assert.equal(got?.reason, 'waits for an operator');
        assert.equal(got?.sameSwitch, true);
        assert.equal(got?.nodeCount, 2);
        assert.equal(got?.start, '2026-03-06T09:00:00');
        assert.equal(got?.timeZone, 'America/New_York');
        assert.deepEqual(got?.occurrences, b.occurrences);
        assert.equal(got?.firstStart, Date.UTC(2026, 2, 6, 14));
        assert.equal(got?.lastEnd, Date.UTC(2026, 2, 10, 21));
        await bs.admit(makeNewBooking({ id: 'two', tenant: 'lab-b' }), T0, () => ({
          admit: true,
          state: 'approved',
          reason: null,
        }));
        const refused = await bs.admit(makeNewBooking({ id: 'three' }), T0, () => ({
          admit: false,
          reason: 'no',
        }));
        assert.equal(refused.booking, null);
        assert.equal(await bs.get('three'), null, 'a refused booking is not stored');
        assert.deepEqual(
          (await bs.list()).map((x) => x.id),
          ['one', 'two'],
        );
        assert.deepEqual(
          (await bs.list({ tenant: 'lab-b' })).map((x) => x.id),
          ['two'],
        );
        assert.deepEqual(
          (await bs.list({ endAfter: Date.UTC(2026, 4, 1) })).map((x) => x.id),
          ['two'],
        );
        assert.deepEqual(
          (await bs.list({ states: ['requested'] })).map((x) => x.id),
          ['one'],
        );
        assert.deepEqual(await bs.list({ states: [] }), []);
        await bs.admit(makeNewBooking({ id: 'maint', kind: 'maintenance', tenant: 'ops' }), T0, () => ({
          admit: true,
          state: 'approved',
          reason: null,
        }));
        assert.deepEqual(
          (await bs.list({ kinds: ['maintenance'] })).map((x) => x.id),
          ['maint'],
        );
        assert.deepEqual(
          (await bs.list({ kinds: ['booking'], limit: 1 })).map((x) => x.id),
          ['one'],
        );
        assert.equal(await bs.get('nope'), null);
      });
    });

    void it('the decision sees every booking not yet ended, in every state, and the tenant settings', async () => {
      await withStore(async (store) => {
        const bs = openBookingStore(store);
        await bs.admit(
          makeNewBooking({ id: 'old', start: '2026-05-01T00:00:00Z', end: '2026-05-01T01:00:00Z' }),
          T0,
          () => ({ admit: true, state: 'approved', reason: null }),
        );
        await bs.admit(makeNewBooking({ id: 'live' }), T0, () => ({
          admit: true,
          state: 'approved',
          reason: null,
        }));
        await bs.transition('live', ['approved'], 'cancelled', { at: T0, by: 'alice', reason: 'x', now: T0 });
        await bs.putSettings({
          tenant: 'lab-a',
          requireApproval: true,
          maxBookedAcceleratorHours: 100,
          maxAcceleratorsPerBooking: null,
          updatedAt: T0,
        });
        let seen: string[] = [];
        let settings: unknown = null;
        await bs.admit(makeNewBooking({ id: 'new' }), T0, (live, s) => {
          seen = live.map((x) => `${x.id}:${x.state}`);
          settings = s;
          return { admit: false, reason: 'looked only' };
        });
        assert.deepEqual(seen, ['live:cancelled']);
        assert.deepEqual(settings, {
          tenant: 'lab-a',
          requireApproval: true,
          maxBookedAcceleratorHours: 100,
          maxAcceleratorsPerBooking: null,
          updatedAt: T0,
        });
        await bs.putSettings({
          tenant: 'lab-a',
          requireApproval: false,
          maxBookedAcceleratorHours: null,
          maxAcceleratorsPerBooking: 16,
          updatedAt: T0 + 1,
        });
        assert.deepEqual(await bs.getSettings('lab-a'), {
          tenant: 'lab-a',
          requireApproval: false,
          maxBookedAcceleratorHours: null,
          maxAcceleratorsPerBooking: 16,
          updatedAt: T0 + 1,
        });
        assert.equal(await bs.getSettings('lab-z'), null);
      });
    });

    void it('transition is compare-and-set; a check may refuse; missing ids answer null', async () => {
      await withStore(async (store) => {
        const bs = openBookingStore(store);
        await bs.admit(makeNewBooking({ id: 'req' }), T0, () => ({
          admit: true,
          state: 'requested',
          reason: null,
        }));
        const refused = await bs.transition(
          'req',
          ['requested'],
          'approved',
          { at: T0, by: 'op', reason: null, now: T0 },
          () => 'capacity is gone',
        );
        assert.deepEqual(
          [refused?.changed, refused?.refused, refused?.booking.state],
          [false, 'capacity is gone', 'requested'],
        );
        const ok = await bs.transition(
          'req',
          ['requested'],
          'approved',
          { at: T0 + 5, by: 'op', reason: 'fine', now: T0 },
          () => null,
        );
        assert.deepEqual(
          [ok?.changed, ok?.booking.state, ok?.booking.decidedBy, ok?.booking.decidedAt],
          [true, 'approved', 'op', T0 + 5],
        );
        assert.deepEqual(await bs.get('req'), ok?.booking);
        const again = await bs.transition('req', ['requested'], 'approved', {
          at: T0,
          by: 'op',
          reason: null,
          now: T0,
        });
        assert.equal(again?.changed, false);
        assert.equal(
          await bs.transition('missing', ['approved'], 'cancelled', {
            at: T0,
            by: 'op',
            reason: null,
            now: T0,
          }),
          null,
        );
        const cancels = await Promise.all(
          [1, 2, 3].map(() =>
            bs.transition('req', ['requested', 'approved'], 'cancelled', {
              at: T0,
              by: 'op',
              reason: null,
              now: T0,
            }),
          ),
        );
        assert.equal(
          cancels.filter((c) => c?.changed).length,
          1,
          'exactly one concurrent cancel changes the state',
        );
      });
    });

    void it('no overbooking under concurrent admissions from separate connections', async () => {
      const first = await open();
      await first.migrate();
      const stores = [first];
      try {
        for (let i = 1; i < 4; i++) stores.push(await opts.openAnother(first));
        // 16 devices; 24 racing requests of 8 for overlapping windows: exactly 2 can be admitted
        const asks = Array.from({ length: 24 }, (_, i) =>
          makeNewBooking({
            id: `race-${i}`,
            tenant: `lab-${i % 3}`,
            start: `2026-06-01T${String(10 + (i % 3)).padStart(2, '0')}:00:00Z`,
            end: '2026-06-01T20:00:00Z',
          }),
        );
        const results = await Promise.all(
          asks.map((b, i) =>
            openBookingStore(stores[i % stores.length] ?? first).admit(b, T0, decideOn(b, 16)),
          ),
        );
        const admitted = results.filter((r) => r.booking !== null);
        assert.equal(admitted.length, 2, `admitted: ${admitted.map((r) => r.booking?.id).join(', ')}`);
        for (const r of results)
          if (r.booking === null)
            assert.ok(!r.verdict.admit && /not free/.test(r.verdict.reason), JSON.stringify(r.verdict));
        const held = await openBookingStore(first).list({ states: ['approved'] });
        assert.equal(held.length, 2);
        // and after cancelling one, exactly one more fits
        const id = held[0]?.id ?? '';
        await openBookingStore(first).transition(id, ['approved'], 'cancelled', {
          at: T0,
          by: 'op',
          reason: null,
          now: T0,
        });
        const more = asks.slice(0, 6).map((b) => ({ ...b, id: `${b.id}-again` }));
        const second = await Promise.all(
          more.map((b, i) =>
            openBookingStore(stores[i % stores.length] ?? first).admit(b, T0, decideOn(b, 16)),
          ),
        );
        assert.equal(second.filter((r) => r.booking !== null).length, 1);
      } finally {
        for (const s of stores.reverse()) await s.close();
      }
    });
  });
}
