import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMetrics, quantile } from './metrics.js';
import { job, run } from './testing.js';

test('quantile: nearest rank', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
  assert.equal(quantile([5], 0.01), 5);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('metrics of a hand-computed FIFO run', () => {
  // 1 node × 2: a (2 devices, 100 s) at 0; b (1 device, 20 s) at 10 waits until 100.
  const r = run('fifo', [job('a', 0, 100, 2, 'x'), job('b', 10, 20, 1, 'y')], { perNode: 2 });
  const m = computeMetrics(r, new Map());
  assert.equal(m.jobs, 2);
  assert.equal(m.mean_jct_s, (100 + 110) / 2);
  assert.equal(m.mean_queue_s, (0 + 90) / 2);
  assert.equal(m.p99_queue_s, 90);
  assert.equal(m.makespan_s, 120);
  // busy device-seconds: 2 × 100 + 1 × 20 = 220 over 2 devices × 120 s
  assert.equal(m.utilization, Math.round((220 / 240) * 10000) / 10000);
  // slowdowns: a 100/100 = 1, b 110/20 = 5.5 → fairness 5.5
  assert.equal(m.mean_slowdown, 3.25);
  assert.equal(m.fairness_max_min_slowdown, 5.5);
  assert.deepEqual(
    m.per_tenant.map((t) => [t.tenant, t.mean_queue_s]),
    [
      ['x', 0],
      ['y', 90],
    ],
  );
  assert.equal(m.preemptions, 0);
});
