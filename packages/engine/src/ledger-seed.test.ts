/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UsageRecord } from '@suanli/store';
import { seedFromLedger } from './engine.js';

const HOUR = 3_600_000;
const rec = (
  jobId: string,
  tenant: string,
  accelerators: number,
  startedAt: number,
  finishedAt: number,
): UsageRecord => ({
  jobId,
  attempt: 1,
  tenant,
  project: 'default',
  acceleratorType: 'gpu',
  accelerators,
  cpuMillis: 0,
  memoryMiB: 0,
  startedAt,
  finishedAt,
  endState: 'preempted',
});

test('seedFromLedger: usage decayed to now by the half-life; service summed over each job’s attempts', () => {
  const halfLife = 10 * HOUR;
  const now = 100 * HOUR;
  // 'lab': 2 devices for a very short attempt (1 s) that ended exactly one half-life ago counts
  // 2 × 1 s × ½ = 1 accelerator-second (to within the decay inside that second)
  const short = rec('a', 'lab', 2, now - halfLife - 1000, now - halfLife);
  // 'other': 4 devices for 1 s ending now and two half-lives ago: 4 × (1 + ¼) = 5
  const recent = rec('b', 'other', 4, now - 1000, now);
  const older = rec('b', 'other', 4, now - 2 * halfLife - 1000, now - 2 * halfLife);
  const seeded = seedFromLedger([short, recent, older], now, halfLife);
  assert.equal(seeded.usage.asOf, now);
  assert.ok(Math.abs((seeded.usage.byTenant['lab'] ?? 0) - 1) < 1e-4, String(seeded.usage.byTenant['lab']));
  assert.ok(
    Math.abs((seeded.usage.byTenant['other'] ?? 0) - 5) < 1e-4,
    String(seeded.usage.byTenant['other']),
  );
  assert.deepEqual(
    ['a', 'b', 'c'].map((id) => seeded.attainedServiceMs(id)),
    [2 * 1000, 4 * 1000 * 2, undefined],
  );
});
