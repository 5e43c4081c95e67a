/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accrueUsage,
  decayedAcceleratorSeconds,
  decayUsage,
  decayUsageOfDevices,
  EMPTY_USAGE,
} from './fairshare.js';
import { devicesOn, makeJob, makeRunning } from '../testing/builders.js';

const H = 3_600_000; // half-life 1 h

void test('usage halves every half-life', () => {
  const u = decayUsage({ asOf: 0, byTenant: { a: 1000 } }, H, [], H);
  assert.equal(u.byTenant['a'], 500);
  const u2 = decayUsage(u, 3 * H, [], H);
  assert.equal(u2.byTenant['a'], 125);
  assert.equal(u2.asOf, 3 * H);
});

void test('a running job accrues devices × seconds, decayed within the interval', () => {
  const job = makeRunning(makeJob('r', { tenant: 'a' }), devicesOn('n', 8), { startTime: 0 });
  const u = decayUsage(EMPTY_USAGE, H, [job], H);
  // ∫0^H 8 · 2^(−(H−τ)/H) dτ = 8 · (H/1000) / ln 2 · (1 − 1/2)
  assert.ok(Math.abs((u.byTenant['a'] ?? 0) - (8 * 3600 * 0.5) / Math.LN2) < 1e-6);
  // less than the undecayed 8 × 3600 and more than half of it
  assert.ok((u.byTenant['a'] ?? 0) < 8 * 3600 && (u.byTenant['a'] ?? 0) > 4 * 3600);
});

void test('cycle by cycle equals one long step (the decay is exact)', () => {
  const job = makeRunning(makeJob('r', { tenant: 'a' }), devicesOn('n', 2), { startTime: 0 });
  let u = EMPTY_USAGE;
  for (let t = 0; t <= 4 * H; t += H / 4) u = decayUsage(u, t, [job], H);
  const once = decayUsage(EMPTY_USAGE, 4 * H, [job], H);
  assert.ok(Math.abs((u.byTenant['a'] ?? 0) - (once.byTenant['a'] ?? 0)) < 1e-6);
});

void test('accrueUsage charges a job that ended between cycles', () => {
  const u = accrueUsage({ asOf: 2 * H, byTenant: {} }, 'b', 4, 0, H, H);
  assert.ok(Math.abs((u.byTenant['b'] ?? 0) - decayedAcceleratorSeconds(4, 0, H, 2 * H, H)) < 1e-9);
  assert.ok(Math.abs((u.byTenant['b'] ?? 0) - (4 * 3600 * 0.25) / Math.LN2) < 1e-6);
});

void test('devices per tenant give the same numbers as the running jobs they sum', () => {
  const jobs = [
    makeRunning(makeJob('r1', { tenant: 'a' }), devicesOn('n', 2), { startTime: 0 }),
    makeRunning(makeJob('r2', { tenant: 'a' }), devicesOn('m', 4), { startTime: H / 2 }),
    makeRunning(makeJob('r3', { tenant: 'b' }), devicesOn('k', 8), { startTime: H }),
  ];
  const prev = { asOf: H, byTenant: { a: 700, c: 3 } };
  const byJobs = decayUsage(prev, 3 * H, jobs, H);
  const byDevices = decayUsageOfDevices(
    prev,
    3 * H,
    new Map([
      ['a', 6],
      ['b', 8],
    ]),
    H,
  );
  assert.deepEqual(byDevices, byJobs);
  assert.ok((byJobs.byTenant['b'] ?? 0) > 0 && (byJobs.byTenant['c'] ?? 0) === 3 / 4);
});
