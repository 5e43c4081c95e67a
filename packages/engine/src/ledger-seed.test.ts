/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accrueUsage, EMPTY_USAGE } from '@suanli/core';
import type { UsageRecord } from '@suanli/store';
import { seedFromLedger } from './engine.js';

const HOUR = 3_600_000;
const rec = (jobId: string, tenant: string, accelerators: number, startedAt: number, finishedAt: number): UsageRecord => ({
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

test('seedFromLedger: fair-share usage decayed to now, attained service of jobs still working only', () => {
  const now = 100 * HOUR;
  const halfLife = 24 * HOUR;
  const records = [rec('a', 'lab', 2, 10 * HOUR, 12 * HOUR), rec('a', 'lab', 2, 50 * HOUR, 51 * HOUR), rec('b', 'other', 8, 90 * HOUR, 99 * HOUR)];
  const seeded = seedFromLedger(records, new Set(['a']), now, halfLife);
  // the same numbers the running engine would have accrued attempt by attempt
  let expected = { ...EMPTY_USAGE, asOf: now };
  for (const r of records) expected = accrueUsage(expected, r.tenant, r.accelerators, r.startedAt, r.finishedAt, halfLife);
  assert.deepEqual(seeded.usage, expected);
  assert.ok((seeded.usage.byTenant['lab'] ?? 0) > 0 && (seeded.usage.byTenant['other'] ?? 0) > (seeded.usage.byTenant['lab'] ?? 0));
  // job a: 2 devices × (2 h + 1 h); job b has ended (not working): no entry
  assert.deepEqual([...seeded.attainedService], [['a', 2 * 3 * HOUR]]);
});
