/**
 * Usage rows with what attempts measurably used: CPU time is clipped to the window like the
 * reservation (so consecutive windows add up), peak memory is the largest peak, and attempts the
 * executor could not measure add nothing. Accelerator sums are untouched by the measurements.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UsageRecord } from '@suanli/store';
import { clippedCpuTimeMs, usageReport } from './routes/usage.js';

const row = (over: Partial<UsageRecord>): UsageRecord => ({
  jobId: 'j-1',
  attempt: 1,
  tenant: 'lab-a',
  project: 'p',
  acceleratorType: 'gpu',
  accelerators: 1,
  cpuMillis: 1000,
  memoryMiB: 1024,
  startedAt: 0,
  finishedAt: 10_000,
  endState: 'succeeded',
  peakMemoryBytes: null,
  cpuTimeMs: null,
  ...over,
});

test('clippedCpuTimeMs spreads measured CPU time over the attempt; zero-length counts whole; unmeasured is 0', () => {
  const u = row({ cpuTimeMs: 8000 });
  assert.equal(clippedCpuTimeMs(u, 0, 10_000), 8000);
  assert.equal(clippedCpuTimeMs(u, 0, 2500) + clippedCpuTimeMs(u, 2500, 10_000), 8000);
  assert.equal(clippedCpuTimeMs(u, 20_000, 30_000), 0);
  assert.equal(clippedCpuTimeMs(row({ startedAt: 5, finishedAt: 5, cpuTimeMs: 40 }), 0, 10), 40);
  assert.equal(clippedCpuTimeMs(row({ cpuTimeMs: null }), 0, 10_000), 0);
});

test('usageReport: cpuTimeSeconds and peakMemoryBytes per row and in the total', () => {
  const ledger = [
    row({ jobId: 'j-1', cpuTimeMs: 8000, peakMemoryBytes: 2 ** 30 }),
    row({ jobId: 'j-2', cpuTimeMs: 2000, peakMemoryBytes: 3 * 2 ** 30 }),
    row({ jobId: 'j-3' }),
  ];
  const { rows, total } = usageReport(ledger, 0, 10_000, 'job');
  assert.deepEqual(
    rows.map((r) => [r.jobId, r.cpuTimeSeconds, r.peakMemoryBytes]),
    [
      ['j-1', 8, 2 ** 30],
      ['j-2', 2, 3 * 2 ** 30],
      ['j-3', 0, null],
    ],
  );
  assert.equal(total.cpuTimeSeconds, 10);
  assert.equal(total.peakMemoryBytes, 3 * 2 ** 30);
  assert.equal(total.acceleratorSeconds, 30, 'the reservation sums are as before');
});
