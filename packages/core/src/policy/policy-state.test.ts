/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyState } from './policy-state.js';
import { decayedAcceleratorSeconds } from './fairshare.js';
import { devicesOn, makeJob, makeRunning } from '../testing/builders.js';

const H = 3_600_000; // half-life 1 h

void test('an ended attempt is charged at the next advance, from the later of its start and the last advance', () => {
  const s = new PolicyState(H);
  s.advance(H, []);
  s.attemptEnded({ jobId: 'j', tenant: 'a', devices: 4, fromMs: 0, toMs: 2 * H });
  // not charged before the next advance
  assert.deepEqual(s.usage.byTenant, {});
  const u = s.advance(2 * H, []);
  assert.equal(u.asOf, 2 * H);
  assert.equal(u.byTenant['a'], decayedAcceleratorSeconds(4, H, 2 * H, 2 * H, H));
  // the job's attained service counts the whole attempt: 4 devices × 2 h
  assert.equal(s.attainedServiceMs('j'), 4 * 2 * H);
  // nothing changed: the same usage, not decayed again
  assert.equal(s.advance(2 * H, []), u);
});

void test('decaying with the running devices per tenant equals decaying with the running jobs', () => {
  const running = [
    makeRunning(makeJob('r1', { tenant: 'a' }), devicesOn('n', 2), { startTime: 0 }),
    makeRunning(makeJob('r2', { tenant: 'b' }), devicesOn('m', 8), { startTime: 0 }),
  ];
  const byJobs = new PolicyState(H);
  const byDevices = new PolicyState(H);
  const devices = {
    byTenant: new Map([
      ['a', 2],
      ['b', 8],
    ]),
    latestStartMs: 0,
  };
  for (const now of [H / 2, H, 3 * H]) {
    byJobs.advance(now, running);
    byDevices.advance(now, running, devices);
    assert.deepEqual(byDevices.usage, byJobs.usage);
  }
});

void test('a claim lasts until the job starts or leaves; retain keeps only the working jobs', () => {
  const s = new PolicyState(undefined);
  assert.equal(s.claim('w', 10), true);
  assert.equal(s.claim('w', 10), false, 'claimed at the same instant already');
  assert.equal(s.claimedAt('w'), 10);
  assert.equal(s.started('w'), true);
  assert.equal(s.claimedAt('w'), undefined);
  s.claim('x', 20);
  s.attemptEnded({ jobId: 'y', tenant: 'a', devices: 1, fromMs: 0, toMs: 5 });
  s.retain((id) => id === 'y');
  assert.equal(s.claimedAt('x'), undefined);
  assert.equal(s.attainedServiceMs('y'), 5);
  s.forget('y');
  assert.equal(s.attainedServiceMs('y'), undefined);
  // without a half-life there is no fair share to advance
  assert.throws(() => s.advance(30, []), /no fair-share half-life/);
});
