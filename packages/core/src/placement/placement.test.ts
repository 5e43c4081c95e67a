/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvailabilityProfile, buildCapacity, FreeState, freeStateView, placeGangOnView } from './index.js';
import type { PlacementRequest, ProfileHold } from './index.js';
import { devicesOn, makeNode } from '../testing/builders.js';
import type { ClusterNode, Placement } from '../model/resources.js';

function req(replicas: number, accelerators: number, o: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    jobId: 'j',
    tenant: 't',
    replicas,
    perReplica: { accelerators, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
    durationMs: 3_600_000,
    ...o,
  };
}

function profile(nodes: ClusterNode[], running: ProfileHold[] = [], now = 0): AvailabilityProfile {
  const cap = buildCapacity(nodes);
  return new AvailabilityProfile(cap, new FreeState(cap, running), now, running);
}

const nodesOf = (p: Placement): string[] => [...new Set(p.map((r) => r.node))].sort();

void test('best fit: a small job goes to the fullest node that still holds it', () => {
  const p = profile(
    [makeNode('a'), makeNode('b')],
    [{ jobId: 'r', placement: devicesOn('b', 6), startTime: 0, endTime: 10 }],
  );
  const a = p.ask('run-now', req(1, 2));
  assert.ok(a.ok);
  assert.deepEqual(nodesOf(a.placement), ['b']);
  assert.deepEqual(a.placement[0]?.acceleratorIds, ['b/nvidia-h200/6', 'b/nvidia-h200/7']);
});

void test('a job of up to one node of devices lands on one node, even as several replicas', () => {
  const p = profile([makeNode('a', { switch: 's1' }), makeNode('b', { switch: 's1' })]);
  const a = p.ask('run-now', req(4, 2));
  assert.ok(a.ok);
  assert.deepEqual(nodesOf(a.placement), ['a']);
  assert.equal(a.placement.length, 4);
});

void test('a multi-node gang is kept on the fewest switches', () => {
  const nodes = [
    makeNode('a1', { switch: 's1' }),
    makeNode('b1', { switch: 's2' }),
    makeNode('b2', { switch: 's2' }),
    makeNode('c1', { switch: 's3' }),
  ];
  const a = profile(nodes).ask('run-now', req(2, 8));
  assert.ok(a.ok);
  assert.deepEqual(nodesOf(a.placement), ['b1', 'b2']);
});

void test('draining, down and unhealthy capacity is skipped', () => {
  const nodes = [
    makeNode('a', { state: 'draining' }),
    makeNode('b', { state: 'down' }),
    makeNode('c', { unhealthy: [0, 1, 2, 3, 4, 5, 6] }),
  ];
  const p = profile(nodes);
  const one = p.ask('run-now', req(1, 1));
  assert.ok(one.ok);
  assert.deepEqual(one.placement[0]?.acceleratorIds, ['c/nvidia-h200/7']);
  assert.equal(p.ask('run-now', req(1, 2)).ok, false);
  // draining nodes come back: the job could ever fit
  assert.equal(p.ask('test-only', req(1, 8)).ok, true);
});

void test('heterogeneous types: a gang uses one type, in the order the request prefers', () => {
  const nodes = [
    makeNode('g', { type: 'nvidia-h200', accelerators: 2 }),
    makeNode('n', { type: 'ascend-910b', accelerators: 8 }),
  ];
  const p = profile(nodes);
  const a = p.ask(
    'run-now',
    req(1, 4, {
      perReplica: {
        accelerators: 4,
        acceleratorTypes: ['nvidia-h200', 'ascend-910b'],
        cpuMillis: 0,
        memoryMiB: 0,
      },
    }),
  );
  assert.ok(a.ok);
  assert.equal(a.acceleratorType, 'ascend-910b');
  const never = p.ask(
    'test-only',
    req(1, 4, {
      perReplica: { accelerators: 4, acceleratorTypes: ['nvidia-h200'], cpuMillis: 0, memoryMiB: 0 },
    }),
  );
  assert.equal(never.ok, false);
  assert.equal(!never.ok && never.kind, 'never');
});

void test('CPU and memory are resources too', () => {
  const p = profile([makeNode('a', { cpuMillis: 4000 })]);
  const a = p.ask(
    'run-now',
    req(2, 1, { perReplica: { accelerators: 1, acceleratorTypes: [], cpuMillis: 3000, memoryMiB: 0 } }),
  );
  assert.equal(a.ok, false);
});

void test('will-run: the earliest start is when enough running jobs end', () => {
  const running: ProfileHold[] = [
    { jobId: 'r1', placement: devicesOn('a', 8), startTime: 0, endTime: 100 },
    { jobId: 'r2', placement: devicesOn('b', 8), startTime: 0, endTime: 50 },
  ];
  const p = profile([makeNode('a'), makeNode('b')], running, 10);
  assert.equal(p.ask('run-now', req(1, 8)).ok, false);
  const one = p.ask('will-run', req(1, 8));
  assert.ok(one.ok);
  assert.equal(one.startTime, 50);
  const two = p.ask('will-run', req(2, 8));
  assert.ok(two.ok);
  assert.equal(two.startTime, 100);
});

void test('run-now respects reservations only where the intervals overlap (EASY backfill)', () => {
  const running: ProfileHold[] = [{ jobId: 'r1', placement: devicesOn('a', 4), startTime: 0, endTime: 100 }];
  const p = profile([makeNode('a')], running, 0);
  const head = p.ask('will-run', req(1, 8, { jobId: 'head' }));
  assert.ok(head.ok);
  assert.equal(head.startTime, 100);
  p.reserve('head', head.placement, head.startTime, head.startTime + 1000);
  const short = p.ask('run-now', req(1, 4, { jobId: 'short', durationMs: 100 }));
  assert.ok(short.ok, 'a job that ends before the reservation may backfill');
  const long = p.ask('run-now', req(1, 4, { jobId: 'long', durationMs: 101 }));
  assert.equal(long.ok, false);
  assert.equal(!long.ok && long.kind, 'reservation');
  assert.equal(!long.ok && long.blockingJobId, 'head');
});

void test('booked windows keep capacity for their tenant', () => {
  const cap = buildCapacity([makeNode('a')]);
  const windows = [
    {
      id: 'w1',
      startTime: 100,
      endTime: 200,
      acceleratorType: 'nvidia-h200',
      accelerators: 6,
      tenant: 'owner',
    },
  ];
  const p = new AvailabilityProfile(cap, new FreeState(cap, []), 0, [], windows);
  assert.equal(p.ask('run-now', req(1, 2, { durationMs: 500 })).ok, true);
  const blocked = p.ask('run-now', req(1, 4, { durationMs: 500 }));
  assert.equal(!blocked.ok && blocked.kind, 'booking');
  assert.equal(p.ask('run-now', req(1, 4, { durationMs: 100 })).ok, true, 'ends before the window');
  assert.equal(
    p.ask('run-now', req(1, 8, { durationMs: 500, tenant: 'owner' })).ok,
    true,
    'the owner uses its window',
  );
  const later = p.ask('will-run', req(1, 4, { durationMs: 500 }));
  assert.ok(later.ok);
  assert.equal(later.startTime, 200);
});

void test('free state: a rollback restores exactly the state at the mark', () => {
  const cap = buildCapacity([makeNode('a')]);
  const free = new FreeState(cap, [{ placement: devicesOn('a', 2) }]);
  const before = JSON.stringify(freeStateView(free).ids(0, 'nvidia-h200'));
  const m = free.mark();
  free.takePlacement(devicesOn('a', 4)); // overlaps devices 0,1 that are not free
  free.givePlacement(devicesOn('a', 1, 7));
  free.rollback(m);
  assert.equal(JSON.stringify(freeStateView(free).ids(0, 'nvidia-h200')), before);
  assert.equal(free.freeOfType('nvidia-h200'), 6);
  assert.equal(
    placeGangOnView(cap, freeStateView(free), 'nvidia-h200', 1, {
      accelerators: 7,
      acceleratorTypes: [],
      cpuMillis: 0,
      memoryMiB: 0,
    }),
    null,
  );
});

void test('free-state versions name states: a change makes a new one, a rollback restores the old', () => {
  const cap = buildCapacity([makeNode('a')]);
  const f = new FreeState(cap, []);
  const v0 = f.version;
  const m = f.mark();
  f.takePlacement(devicesOn('a', 2));
  const v1 = f.version;
  assert.notEqual(v1, v0);
  f.takePlacement(devicesOn('a', 4));
  assert.notEqual(f.version, v1);
  f.rollback(m);
  assert.equal(f.version, v0);
  // the same take again is a new state name (names are never reused for different states)
  f.takePlacement(devicesOn('a', 1));
  assert.ok(f.version !== v0 && f.version !== v1);
});

void test('run-now answers stay right as starts, reservations and outside changes follow one another', () => {
  const cap = buildCapacity([makeNode('a'), makeNode('b')]);
  const free = new FreeState(cap, []);
  const p = new AvailabilityProfile(cap, free, 0, []);
  const first = p.ask('run-now', req(1, 8));
  assert.ok(first.ok);
  p.start('x', first.placement, 3_600_000);
  // the same question after the start: the other node (a remembered answer would repeat the first)
  const second = p.ask('run-now', req(1, 8));
  assert.ok(second.ok);
  assert.notDeepEqual(nodesOf(second.placement), nodesOf(first.placement));
  // a reservation on that node blocks a long job but not one that ends before it starts
  p.reserve('r', second.placement, 1_800_000, 5_400_000);
  assert.equal(p.ask('run-now', req(1, 8)).ok, false);
  assert.equal(p.ask('run-now', req(1, 8, { durationMs: 1_000_000 })).ok, true);
  const blocked = p.ask('run-now', req(1, 8));
  assert.ok(!blocked.ok && blocked.kind === 'reservation' && blocked.blockingJobId === 'r');
  // the caller takes devices outside the profile, then gives them back
  const m = free.mark();
  free.takePlacement(devicesOn(nodesOf(second.placement)[0] ?? '', 1));
  const short = p.ask('run-now', req(1, 8, { durationMs: 1_000_000 }));
  assert.ok(!short.ok && short.kind === 'capacity');
  free.rollback(m);
  assert.equal(p.ask('run-now', req(1, 8, { durationMs: 1_000_000 })).ok, true);
});
