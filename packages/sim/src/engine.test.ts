import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SchedulingPolicy, Snapshot } from '@suanli/core';
import { jobShape, SimError } from './engine.js';
import { computeMetrics } from './metrics.js';
import { job, run, times } from './testing.js';

test('job shape: ≤ K devices on one node, larger jobs are gangs of whole divisors', () => {
  assert.deepEqual(jobShape(4, 8), { replicas: 1, perReplica: 4 });
  assert.deepEqual(jobShape(16, 8), { replicas: 2, perReplica: 8 });
  assert.deepEqual(jobShape(12, 8), { replicas: 2, perReplica: 6 });
  assert.deepEqual(jobShape(24, 8), { replicas: 3, perReplica: 8 });
});

test('fifo: strict order, the blocked head holds back a job that would fit', () => {
  // 1 node × 4: a (3 devices, 100 s) runs; b (4) waits; c (1) would fit but is behind b.
  const r = run('fifo', [job('a', 0, 100, 3), job('b', 1, 50, 4), job('c', 2, 10, 1)], { perNode: 4 });
  assert.deepEqual(times(r), { a: [0, 100], b: [100, 150], c: [150, 160] });
});

test("easy: backfills a job that ends before the head's reservation, not one that would delay it", () => {
  // a holds 3 of 4 devices until 100 s (limit 2 × 100). Head b needs 4 → shadow time 200 by limits.
  // c (1 device, 10 s, limit 20 s) ends before 200: backfilled now. d (1 device, 500 s) would not: waits.
  const r = run('easy', [job('a', 0, 100, 3), job('b', 1, 50, 4), job('c', 2, 10, 1), job('d', 3, 500, 1)], {
    perNode: 4,
  });
  const t = times(r);
  assert.deepEqual(t['c'], [2, 12]);
  assert.deepEqual(t['b'], [100, 150]);
  assert.deepEqual(t['d'], [150, 650]);
});

test('sjf-oracle: shortest known duration first among waiting jobs', () => {
  const r = run('sjf-oracle', [job('a', 0, 100, 4), job('long', 1, 300, 4), job('short', 2, 10, 4)], {
    perNode: 4,
  });
  assert.deepEqual(times(r), { a: [0, 100], short: [100, 110], long: [110, 410] });
});

test('srtf-oracle: a shorter arrival preempts; the victim pays the restart cost; lost device-time is counted', () => {
  const r = run('srtf-oracle', [job('long', 0, 1000, 4), job('short', 100, 10, 4)], {
    perNode: 4,
    model: { restartCostSmallS: 30 },
  });
  const t = times(r);
  assert.deepEqual(t['short'], [100, 110]);
  // long ran 100 s, waits 10 s, restarts at 110 with 30 s overhead, then 900 s of work.
  assert.deepEqual(t['long'], [0, 110 + 30 + 900]);
  const long = r.jobs.find((j) => j.id === 'long')!;
  assert.equal(long.preemptions, 1);
  assert.equal(long.lostDeviceMs, 30 * 4 * 1000);
});

test('restart cost is 60 s beyond 8 devices', () => {
  const r = run('srtf-oracle', [job('long', 0, 1000, 16), job('short', 100, 10, 16)], {
    nodes: 2,
    perNode: 8,
  });
  assert.deepEqual(times(r)['long'], [0, 110 + 60 + 900]);
});

test('tiresias: a job crossing the queue boundary is demoted at that instant and yields to a newer job', () => {
  // Boundary 3600 GPU-s: 'old' (4 devices) crosses it after 900 s; 'new' arrived at 100 s and waits
  // (same queue, later submission) until then, when old is demoted below it and preempted.
  const r = run('tiresias', [job('old', 0, 5000, 4), job('new', 100, 50, 4)], {
    perNode: 4,
    model: { restartCostSmallS: 30 },
  });
  const t = times(r);
  assert.deepEqual(t['new'], [900, 950]);
  assert.deepEqual(t['old'], [0, 950 + 30 + (5000 - 900)]);
});

test('jobs that fit no node never start and are reported, the run still ends', () => {
  const r = run('fifo', [job('huge', 0, 10, 64), job('ok', 1, 10, 1)], { perNode: 8 });
  assert.deepEqual(times(r), { huge: [null, null], ok: [1, 11] });
});

test('a policy that places onto a busy device is stopped with a SimError', () => {
  const bad: SchedulingPolicy = {
    name: 'bad',
    schedule: (s) => ({
      starts: s.pending.map((p) => ({
        jobId: p.id,
        placement: [
          {
            node: s.nodes[0]!.name,
            acceleratorIds: [s.nodes[0]!.accelerators[0]!.id],
            cpuMillis: 0,
            memoryMiB: 0,
          },
        ],
        reason: 'x',
      })),
      preemptions: [],
      pending: [],
    }),
  };
  assert.throws(
    () => run(() => bad, [job('a', 0, 100), job('b', 1, 100)]),
    (e: unknown) => e instanceof SimError && /held by job a/.test(e.message),
  );
});

test("guarantee violation: time a job that fits in its tenant's guarantee waits", () => {
  // Tenant g is guaranteed 2 of 4 devices; tenant o takes all 4 first under FIFO; g's 1-device job
  // arrives at 1 s and waits until 100 s although it is within g's guarantee.
  const r = run('fifo', [job('o', 0, 100, 4, 'o'), job('g', 1, 10, 1, 'g')], {
    perNode: 4,
    guarantees: new Map([
      ['g', 2],
      ['o', 2],
    ]),
  });
  assert.equal(r.guaranteeViolationMs.get('g'), 99_000);
  assert.equal(r.guaranteeViolationMs.get('o') ?? 0, 0);
});

test('guarantee honoured: per job, the longest wait while it fit inside its tenant’s guarantee', () => {
  // g is guaranteed 2 of 4 devices; o holds all 4 for 1,000 s. g1 (1 device) fits inside g's
  // guarantee and waits 999 s; big (3 devices) waits as long but never fits inside it.
  const guarantees = new Map([
    ['g', 2],
    ['o', 2],
  ]);
  const r = run('fifo', [job('o', 0, 1000, 4, 'o'), job('g1', 1, 10, 1, 'g'), job('big', 2, 10, 3, 'g')], {
    perNode: 4,
    guarantees,
  });
  const wait = (id: string): number | undefined => r.jobs.find((j) => j.id === id)?.maxGuaranteeWaitMs;
  assert.equal(wait('g1'), 999_000);
  assert.equal(wait('big'), 0);
  assert.equal(wait('o'), 0);
  const m = computeMetrics(r, guarantees);
  const g = m.per_tenant.find((t) => t.tenant === 'g');
  assert.equal(g?.max_guarantee_wait_s, 999);
  assert.equal(g?.guarantee_waits_over_bound, 1); // 999 s > GUARANTEE_WAIT_BOUND_S
  assert.equal(m.per_tenant.find((t) => t.tenant === 'o')?.guarantee_waits_over_bound, 0);
  assert.equal(m.tenants_guarantee_not_honoured, 1);
  assert.equal(m.max_guarantee_wait_s, 999);
});

test('guarantee gap: the longest stretch a tenant stayed below its guarantee with a job that fit waiting', () => {
  // 4 devices; o is guaranteed 3 and holds them throughout, g is guaranteed 1. Under FIFO g's
  // device goes twice to a job of o submitted earlier (100–130 s and 200–230 s): g3 waits through
  // both spells (60 s inside the guarantee in all), but g never went 30 s without its guarantee.
  const guarantees = new Map([
    ['g', 1],
    ['o', 3],
  ]);
  const r = run(
    'fifo',
    [
      job('o1', 0, 10_000, 3, 'o'),
      job('g1', 0, 100, 1, 'g'),
      job('o2', 1, 30, 1, 'o'),
      job('g2', 2, 70, 1, 'g'),
      job('o3', 3, 30, 1, 'o'),
      job('g3', 4, 10, 1, 'g'),
    ],
    { perNode: 4, guarantees },
  );
  const outcome = (id: string) => r.jobs.find((j) => j.id === id);
  assert.deepEqual(
    ['o2', 'g2', 'o3', 'g3'].map((id) => (outcome(id)?.firstStartMs ?? 0) / 1000),
    [100, 130, 200, 230],
  );
  assert.equal(outcome('g3')?.maxGuaranteeWaitMs, 60_000);
  assert.equal(outcome('g2')?.maxGuaranteeWaitMs, 30_000);
  assert.equal(r.guaranteeGapMs.get('g'), 30_000);
  assert.equal(r.guaranteeGapMs.get('o'), 0);
  const m = computeMetrics(r, guarantees);
  assert.equal(m.per_tenant.find((t) => t.tenant === 'g')?.max_guarantee_gap_s, 30);
  assert.equal(m.max_guarantee_gap_s, 30);
  assert.equal(m.tenants_guarantee_gap_over_bound, 0);
});

test('deterministic: the same inputs give the same outcome', () => {
  const jobs = Array.from({ length: 60 }, (_, i) =>
    job(`j${i}`, (i * 37) % 500, 20 + ((i * 91) % 300), [1, 2, 4, 8][i % 4]!, `t${i % 3}`),
  );
  for (const p of ['fifo', 'easy', 'sjf-oracle', 'srtf-oracle', 'tiresias']) {
    const a = run(p, jobs, { nodes: 2 });
    const b = run(p, jobs, { nodes: 2 });
    assert.deepEqual(a.jobs, b.jobs, p);
    assert.ok(
      a.jobs.every((j) => j.endMs !== null),
      `${p}: every job finishes`,
    );
  }
});

test('grace period: a preempted job keeps its devices and keeps working until the grace period ends', () => {
  // A policy that starts jobs where they fit and, when 'b' waits, preempts 'a' once.
  let asked = false;
  const seen: (number | null | undefined)[] = [];
  const policy = {
    name: 'grace-test',
    preempts: true,
    gracePeriodMs: 20_000,
    schedule: (s: Snapshot) => {
      for (const r of s.running) if (r.id === 'a') seen.push(r.preemptedAt);
      const used = new Set(s.running.flatMap((r) => r.placement.flatMap((p) => p.acceleratorIds)));
      const free = s.nodes[0]!.accelerators.filter((x) => !used.has(x.id));
      const starts = [];
      for (const p of s.pending) {
        if (free.length >= p.perReplica.accelerators) {
          const ids = free.splice(0, p.perReplica.accelerators).map((x) => x.id);
          starts.push({
            jobId: p.id,
            placement: [{ node: s.nodes[0]!.name, acceleratorIds: ids, cpuMillis: 0, memoryMiB: 0 }],
            reason: 'fits',
          });
        }
      }
      const preemptions =
        !asked && s.pending.some((p) => p.id === 'b') && starts.length === 0
          ? [{ jobId: 'a', forJobId: 'b', reason: 'test' }]
          : [];
      if (preemptions.length > 0) asked = true;
      return { starts, preemptions, pending: [] };
    },
  };
  // c arrives during the grace period, so the policy is called while a is stopping.
  const r = run(() => policy, [job('a', 0, 1000, 4), job('b', 100, 10, 4), job('c', 110, 10, 4)], {
    perNode: 4,
    model: { restartCostSmallS: 30 },
  });
  const t = times(r);
  // b waits for the 20 s grace period; a worked until 120 s; c (queued before a's requeue) runs
  // 130–140; a restarts at 140 with 30 s overhead and its remaining 880 s.
  assert.deepEqual(t['b'], [120, 130]);
  assert.deepEqual(t['c'], [130, 140]);
  assert.deepEqual(t['a'], [0, 140 + 30 + (1000 - 120)]);
  assert.ok(seen.includes(100_000), 'the policy saw a as stopping (preemptedAt = 100 s)');
});
