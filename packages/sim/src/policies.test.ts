import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runSim } from './run.js';
import { BASELINE_POLICIES, expandPolicies, suanliAvailable } from './policies.js';

const SLICE = fileURLToPath(new URL('../fixtures/philly-2017-10-03.csv', import.meta.url));

test('philly slice (339 jobs, one day) on 4 × 8 GPUs: every baseline finishes every job; FIFO > SJF-oracle in mean JCT', () => {
  const report = runSim({
    trace: SLICE,
    format: 'generic',
    nodes: 4,
    acceleratorsPerNode: 8,
    policy: BASELINE_POLICIES.join(','),
  });
  const by = new Map(report.results.map((r) => [r.policy, r]));
  for (const p of BASELINE_POLICIES) {
    const r = by.get(p);
    assert.ok(r, `${p} ran`);
    assert.equal(r.jobs, 339, `${p}: all jobs finished`);
    assert.ok(r.utilization > 0 && r.utilization <= 1, `${p}: utilisation in (0, 1]`);
    assert.ok(r.mean_jct_s >= r.mean_queue_s, `${p}: JCT includes queueing`);
  }
  assert.ok(by.get('fifo')!.mean_jct_s > by.get('sjf-oracle')!.mean_jct_s, 'FIFO mean JCT above SJF-oracle');
  assert.ok(by.get('fifo')!.mean_jct_s > by.get('easy')!.mean_jct_s, 'backfill helps FIFO');
  assert.ok(
    by.get('srtf-oracle')!.mean_jct_s <= by.get('sjf-oracle')!.mean_jct_s,
    'preemptive SRTF at or below SJF',
  );
  assert.equal(by.get('fifo')!.preemptions, 0);
  assert.ok(by.get('srtf-oracle')!.preemptions > 0);
});

test('policy list: all = suanli (when the core has it) + every baseline; unknown names are refused', () => {
  assert.deepEqual(expandPolicies('all'), [...(suanliAvailable() ? ['suanli'] : []), ...BASELINE_POLICIES]);
  assert.deepEqual(expandPolicies('fifo, easy'), ['fifo', 'easy']);
  assert.throws(() => runSim({ trace: SLICE, nodes: 1, acceleratorsPerNode: 8, policy: 'nope' }), {
    name: 'PolicyError',
    message: /unknown policy "nope"/,
  });
});

test("proportional guarantees follow the trace's device-time; equal ones split evenly", () => {
  const prop = runSim({
    trace: SLICE,
    nodes: 4,
    acceleratorsPerNode: 8,
    policy: 'fifo',
    guarantees: 'proportional',
  });
  const sum = prop.results[0]!.per_tenant.reduce((s, t) => s + (t.guarantee_accelerators ?? 0), 0);
  assert.ok(sum <= 32 && sum >= 32 - prop.setup.tenants, `floors of shares sum to ~32 (got ${sum})`);
  const eq = runSim({ trace: SLICE, nodes: 4, acceleratorsPerNode: 8, policy: 'fifo', guarantees: 'equal' });
  const gs = new Set(eq.results[0]!.per_tenant.map((t) => t.guarantee_accelerators));
  assert.equal(gs.size, 1);
  const none = runSim({ trace: SLICE, nodes: 4, acceleratorsPerNode: 8, policy: 'fifo', guarantees: 'none' });
  assert.ok(none.results[0]!.per_tenant.every((t) => t.guarantee_accelerators === null));
});
