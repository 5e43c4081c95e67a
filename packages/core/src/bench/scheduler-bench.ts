/// <reference types="node" />
/**
 * Scheduler benchmark: one JSON object per line, per size.
 *
 *   npm run bench:scheduler                      # 1,000 → 100,000 pending on 10,000 nodes × 8
 *   node packages/core/dist/bench/scheduler-bench.js --max-pending 10000 --runs 5
 *
 * `full_cycle_ms_median`: a fresh scheduler (no cached state) over the snapshot.
 * `incremental_cycle_ms_median`: a warm scheduler after one arrival or one completion (alternating),
 * the way the engine and the simulator call it. The hall is full (every node busy), so most pending
 * jobs wait: the hard case for verdicts. Workload is seeded: runs are comparable. The `*_cpu_ms_*`
 * figures are process CPU time, which a busy shared machine inflates less than wall time.
 */
import { performance } from 'node:perf_hooks';
import { compilePolicy } from '../policy/config.js';
import { createScheduler } from '../policy/suanli.js';
import type { ClusterNode } from '../model/resources.js';
import type { RunningSchedJob, SchedJob, Snapshot } from '../model/scheduling.js';
import { makeJob, makeNode } from '../testing/builders.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : dflt;
}

/** mulberry32: a small seeded generator (randomness is an input, even in a benchmark). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TENANTS = 20;
const NOW = 10_000_000_000;

function workload(nodeCount: number, pendingCount: number, seed: number): Snapshot {
  const r = rng(seed);
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const type = i % 5 === 4 ? 'ascend-910b' : 'nvidia-h200';
    nodes.push(
      makeNode(`node-${String(i).padStart(6, '0')}`, {
        type,
        switch: `sw-${Math.floor(i / 32)}`,
        state: i % 997 === 5 ? 'draining' : 'ready',
      }),
    );
  }
  // fill every node with running jobs of 1, 2, 4 or 8 devices
  const running: RunningSchedJob[] = [];
  let id = 0;
  for (const n of nodes) {
    let used = 0;
    while (used < 8) {
      const size = Math.min(8 - used, [1, 2, 4, 8][Math.floor(r() * 4)] ?? 1);
      const job = makeJob(`run-${id++}`, {
        tenant: `t${Math.floor(r() * TENANTS)}`,
        accelerators: size,
        timeLimitMs: Math.floor(600_000 + r() * 36_000_000),
      });
      const type = n.accelerators[0]?.type ?? 'nvidia-h200';
      running.push({
        ...job,
        startTime: NOW - Math.floor(r() * 600_000),
        lastCheckpointTime: null,
        placement: [
          {
            node: n.name,
            acceleratorIds: Array.from({ length: size }, (_, k) => `${n.name}/${type}/${used + k}`),
            cpuMillis: 0,
            memoryMiB: 0,
          },
        ],
      });
      used += size;
    }
  }
  const pending: SchedJob[] = [];
  for (let i = 0; i < pendingCount; i++) pending.push(pendingJob(r, i));
  const usage: Record<string, number> = {};
  for (let t = 0; t < TENANTS; t++) usage[`t${t}`] = Math.floor(r() * 1e7);
  return { now: NOW, nodes, running, pending, usage };
}

function pendingJob(r: () => number, i: number): SchedJob {
  const gang = r() < 0.1;
  return makeJob(`pend-${i}`, {
    tenant: `t${Math.floor(r() * TENANTS)}`,
    submitTime: NOW - 1_000_000 + i,
    priority: [0, 0, 0, 100, -100][Math.floor(r() * 5)] ?? 0,
    replicas: gang ? ([2, 4, 16][Math.floor(r() * 3)] ?? 2) : 1,
    accelerators: gang ? 8 : ([1, 2, 4, 8][Math.floor(r() * 4)] ?? 1),
    types: r() < 0.8 ? ['nvidia-h200'] : ['ascend-910b', 'nvidia-h200'],
    timeLimitMs: Math.floor(600_000 + r() * 36_000_000),
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const policyInput = {
  fairShare: { halfLife: '7d' },
  cohorts: ['research'],
  preemption: {
    reclaim: true,
    withinTenant: 'lower-priority',
    minRuntime: '10m',
    gracePeriod: '30s',
    boundedReclaimTime: '15m',
  },
  backfill: { reservationDepth: 1 },
  tenants: Object.fromEntries(
    Array.from({ length: TENANTS }, (_, t) => [
      `t${t}`,
      { weight: 1 + (t % 3), cohort: 'research', quotas: { 'nvidia-h200': { guaranteed: 1000 } } },
    ]),
  ),
};

function main(): void {
  const compiled = compilePolicy(policyInput);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const config = compiled.value;
  const maxPending = arg('--max-pending', 100_000);
  const nodeCount = arg('--nodes', 10_000);
  const runs = arg('--runs', 5);
  const incRuns = arg('--incremental-runs', 20);
  for (const pendingCount of [1_000, 10_000, 100_000].filter((p) => p <= maxPending)) {
    const snap = workload(nodeCount, pendingCount, 42);
    const full: number[] = [];
    const fullCpu: number[] = [];
    let last = createScheduler(config).schedule(snap);
    for (let i = 0; i < runs; i++) {
      const s = createScheduler(config);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      last = s.schedule(snap);
      full.push(performance.now() - t0);
      const c1 = process.cpuUsage(c0);
      fullCpu.push((c1.user + c1.system) / 1000);
    }
    // incremental: a warm scheduler, then alternately one arrival and one completion
    const warm = createScheduler(config);
    warm.schedule(snap);
    const inc: number[] = [];
    const incCpu: number[] = [];
    let cur = snap;
    const r = rng(7);
    for (let i = 0; i < incRuns; i++) {
      cur =
        i % 2 === 0
          ? { ...cur, pending: [...cur.pending, pendingJob(r, pendingCount + i)] }
          : { ...cur, running: cur.running.filter((_, k) => k !== Math.floor(r() * cur.running.length)) };
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      warm.schedule(cur);
      inc.push(performance.now() - t0);
      const c1 = process.cpuUsage(c0);
      incCpu.push((c1.user + c1.system) / 1000);
    }
    // engine-style: every object rebuilt each cycle (equal values, new identities)
    const rebuilt: number[] = [];
    const warm2 = createScheduler(config);
    warm2.schedule(snap);
    for (let i = 0; i < Math.min(incRuns, 6); i++) {
      const clone: Snapshot = {
        ...cur,
        nodes: cur.nodes.map((n) => ({ ...n, accelerators: n.accelerators.map((a) => ({ ...a })) })),
        pending: cur.pending.map((j) => ({ ...j, perReplica: { ...j.perReplica } })),
        running: cur.running.map((j) => ({ ...j, placement: j.placement.map((p) => ({ ...p })) })),
      };
      const t0 = performance.now();
      warm2.schedule(clone);
      rebuilt.push(performance.now() - t0);
    }
    const accelerators = snap.nodes.reduce((a, n) => a + n.accelerators.length, 0);
    console.log(
      JSON.stringify({
        nodes: nodeCount,
        accelerators,
        running: snap.running.length,
        pending: pendingCount,
        full_cycle_ms_median: Number(median(full).toFixed(2)),
        incremental_cycle_ms_median: Number(median(inc).toFixed(2)),
        incremental_cycle_ms_max: Number(Math.max(...inc).toFixed(2)),
        // CPU time of the process (includes GC threads): less sensitive to other load on the machine
        full_cycle_cpu_ms_median: Number(median(fullCpu).toFixed(2)),
        incremental_cycle_cpu_ms_median: Number(median(incCpu).toFixed(2)),
        // every object rebuilt with equal values (as the engine builds its snapshot)
        rebuilt_objects_cycle_ms_median: Number(median(rebuilt).toFixed(2)),
        starts: last.starts.length,
        preemptions: last.preemptions.length,
        verdicts: last.pending.length,
      }),
    );
  }
}

main();
