/// <reference types="node" />
/**
 * Property tests of the `suanli` policy over random halls and workloads (fast-check):
 *   - a device, a node's CPU or its memory is never over-allocated;
 *   - gangs start whole, on acceptable, healthy devices of ready nodes, or not at all;
 *   - every pending job gets exactly one outcome;
 *   - identical input gives identical decisions, whatever the order of the input arrays;
 *   - the stateful scheduler answers exactly as a fresh one, cycle after cycle;
 *   - no job waits forever (a virtual-clock simulation runs every job that can fit to its start);
 *   - a tenant below its guarantee gets it back within the grace period and one cycle;
 *   - with bookings (random windows, lending on or off) all of the above still hold, and a
 *     booking owner whose job fits its open window gets it started within the grace period and one
 *     cycle, whatever other tenants were lent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicy, DEFAULT_POLICY } from './config.js';
import type { PolicyConfig } from './config.js';
import { createScheduler, scheduleOnce, sortHolds } from './suanli.js';
import { diffByIdentity } from './diff.js';
import { compareHolds } from '../placement/profile.js';
import { decayUsage, EMPTY_USAGE } from './fairshare.js';
import type { TenantUsage } from './fairshare.js';
import { makeJob, makeNode } from '../testing/builders.js';
import type { ClusterNode } from '../model/resources.js';
import type {
  ReservedWindow,
  RunningSchedJob,
  ScheduleResult,
  SchedJob,
  Snapshot,
} from '../model/scheduling.js';

const TYPES = ['nvidia-h200', 'ascend-910b'] as const;

function compiled(input: unknown): PolicyConfig {
  const c = compilePolicy(input);
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return c.value;
}

const QUOTA_POLICY = compiled({
  fairShare: { halfLife: '1h' },
  cohorts: ['all'],
  preemption: {
    reclaim: true,
    withinTenant: 'lower-priority',
    minRuntime: 0,
    gracePeriod: '30s',
    boundedReclaimTime: '5m',
  },
  backfill: { reservationDepth: 2 },
  tenants: {
    a: {
      weight: 2,
      cohort: 'all',
      quotas: { 'nvidia-h200': { guaranteed: 8 }, 'ascend-910b': { guaranteed: 4 } },
    },
    b: { weight: 1, cohort: 'all', quotas: { 'nvidia-h200': { guaranteed: 4, lendingLimit: 2 } } },
    c: { weight: 1, quotas: { 'nvidia-h200': { guaranteed: 0, borrowingLimit: 12 } } },
  },
});
/** Tight bounds, so that the bounded paths (queue depth, test budget, estimates) are exercised. */
const TIGHT_POLICY = compiled({
  fairShare: { halfLife: '30m' },
  preemption: {
    reclaim: true,
    withinTenant: 'lower-priority',
    minRuntime: '2m',
    gracePeriod: '30s',
    boundedReclaimTime: '1m',
  },
  backfill: { reservationDepth: 1, maxJobsTested: 2, estimateMaxJobs: 1, maxJobsExamined: 3 },
  tenants: { a: { quotas: { 'nvidia-h200': { guaranteed: 4 } } }, b: { weight: 3 } },
});
/** Bookings lend idle devices to preemptible jobs; tenant c has no quota of its own (only its bookings). */
const LEND_POLICY = compiled({
  fairShare: { halfLife: '1h' },
  preemption: {
    reclaim: true,
    withinTenant: 'lower-priority',
    minRuntime: '5m',
    gracePeriod: '30s',
    boundedReclaimTime: '2m',
  },
  bookings: { lendIdle: true },
  tenants: {
    a: { quotas: { 'nvidia-h200': { guaranteed: 4 } } },
    c: {
      quotas: {
        'nvidia-h200': { guaranteed: 0, borrowingLimit: 0 },
        'ascend-910b': { guaranteed: 0, borrowingLimit: 0 },
      },
    },
  },
});
/** QUOTA_POLICY with least attained service (bands small enough to matter in these short runs). */
const LAS_POLICY = compiled({
  fairShare: { halfLife: '1h' },
  cohorts: ['all'],
  preemption: { reclaim: true, minRuntime: '2m', gracePeriod: '30s', boundedReclaimTime: '5m' },
  attainedService: { bandsAcceleratorHours: [0.05, 0.5] },
  tenants: {
    a: {
      weight: 2,
      cohort: 'all',
      quotas: { 'nvidia-h200': { guaranteed: 8 }, 'ascend-910b': { guaranteed: 4 } },
    },
    b: { weight: 1, cohort: 'all', quotas: { 'nvidia-h200': { guaranteed: 4, lendingLimit: 2 } } },
  },
});
const POLICIES: readonly PolicyConfig[] = [
  DEFAULT_POLICY,
  QUOTA_POLICY,
  TIGHT_POLICY,
  LEND_POLICY,
  LAS_POLICY,
];

// ---- generators ----

const nodeArb = (i: number, allReady: boolean): fc.Arbitrary<ClusterNode> =>
  fc
    .record({
      accelerators: fc.integer({ min: 1, max: 8 }),
      type: fc.constantFrom(...TYPES),
      state: allReady
        ? fc.constant('ready' as const)
        : fc.constantFrom('ready', 'ready', 'ready', 'draining', 'down', 'unhealthy'),
      cpu: fc.integer({ min: 4, max: 32 }),
      sw: fc.integer({ min: 0, max: 2 }),
      unhealthy: allReady
        ? fc.constant([] as number[])
        : fc.subarray([0, 1, 2, 3, 4, 5, 6, 7], { maxLength: 2 }),
    })
    .map((o) =>
      makeNode(`n${i}`, {
        accelerators: o.accelerators,
        type: o.type,
        state: o.state,
        cpuMillis: o.cpu * 1000,
        memoryMiB: o.cpu * 4096,
        switch: `s${o.sw}`,
        unhealthy: o.unhealthy,
      }),
    );

const nodesArb = (allReady = false): fc.Arbitrary<ClusterNode[]> =>
  fc
    .integer({ min: 1, max: 6 })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i, allReady))));

interface GenJob {
  job: SchedJob;
  /** How long it really runs (≤ its time limit). */
  actualMs: number;
}

const jobArb = (i: number): fc.Arbitrary<GenJob> =>
  fc
    .record({
      tenant: fc.constantFrom('a', 'b', 'c'),
      priority: fc.constantFrom(0, 0, 10),
      replicas: fc.integer({ min: 1, max: 3 }),
      accelerators: fc.integer({ min: 0, max: 8 }),
      types: fc.subarray([...TYPES]),
      cpu: fc.integer({ min: 0, max: 8 }),
      limitMin: fc.integer({ min: 1, max: 120 }),
      unlimited: fc.integer({ min: 0, max: 9 }).map((x) => x === 0), // one job in ten has no time limit
      actualFrac: fc.double({ min: 0.05, max: 1, noNaN: true }),
      submitMin: fc.integer({ min: 0, max: 60 }),
      preemptible: fc.boolean(),
    })
    .map((o) => {
      const limit = o.limitMin * 60_000;
      return {
        job: makeJob(`j${i}`, {
          tenant: o.tenant,
          priority: o.priority,
          replicas: o.replicas,
          accelerators: o.accelerators,
          types: o.types,
          cpuMillis: o.cpu * 500,
          memoryMiB: o.cpu * 1024,
          timeLimitMs: o.unlimited ? null : limit,
          submitTime: o.submitMin * 60_000,
          preemptible: o.preemptible,
        }),
        actualMs: Math.max(1000, Math.floor(limit * o.actualFrac)),
      };
    });

/** Up to three booked windows (a maintenance window belongs to nobody), `base` + minutes. */
const windowsArb = (base: number, fromMin: number): fc.Arbitrary<ReservedWindow[]> =>
  fc
    .array(
      fc.record({
        tenant: fc.constantFrom('a', 'b', 'c', 'c', null),
        type: fc.constantFrom(...TYPES),
        startMin: fc.integer({ min: fromMin, max: 120 }),
        lenMin: fc.integer({ min: 10, max: 240 }),
        accelerators: fc.integer({ min: 1, max: 16 }),
      }),
      { maxLength: 3 },
    )
    .map((ws) =>
      ws.map((w, i) => ({
        id: `w${i}`,
        startTime: base + w.startMin * 60_000,
        endTime: base + (w.startMin + w.lenMin) * 60_000,
        acceleratorType: w.type,
        accelerators: w.accelerators,
        tenant: w.tenant,
      })),
    );

const jobsArb = (max: number): fc.Arbitrary<GenJob[]> =>
  fc
    .integer({ min: 0, max })
    .chain((n) => (n === 0 ? fc.constant([]) : fc.tuple(...Array.from({ length: n }, (_, i) => jobArb(i)))));

/** Deterministic shuffle for the order-independence property. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const t = out[i] as T;
    out[i] = out[j] as T;
    out[j] = t;
  }
  return out;
}

// ---- invariants of one cycle ----

function checkCycle(snapshot: Snapshot, r: ScheduleResult): void {
  const nodes = new Map(snapshot.nodes.map((n) => [n.name, n]));
  const device = new Map(
    snapshot.nodes.flatMap((n) => n.accelerators.map((a) => [a.id, { node: n, acc: a }] as const)),
  );
  const held = new Set<string>();
  const cpu = new Map<string, number>();
  const mem = new Map<string, number>();
  const hold = (placement: RunningSchedJob['placement'], what: string): void => {
    for (const rp of placement) {
      for (const id of rp.acceleratorIds) {
        assert.ok(!held.has(id), `${what}: device ${id} allocated twice`);
        held.add(id);
        assert.equal(device.get(id)?.node.name, rp.node, `${what}: device ${id} is not on node ${rp.node}`);
      }
      cpu.set(rp.node, (cpu.get(rp.node) ?? 0) + rp.cpuMillis);
      mem.set(rp.node, (mem.get(rp.node) ?? 0) + rp.memoryMiB);
    }
  };
  for (const j of snapshot.running) hold(j.placement, `running ${j.id}`);
  const pendingById = new Map(snapshot.pending.map((j) => [j.id, j]));
  for (const s of r.starts) {
    const job = pendingById.get(s.jobId);
    assert.ok(job, `start of unknown job ${s.jobId}`);
    hold(s.placement, `start ${s.jobId}`);
    // the gang is whole: one entry per replica, each with exactly its request, one acceptable type
    assert.equal(s.placement.length, job.replicas, `gang ${job.id} partially placed`);
    const types = new Set<string>();
    for (const rp of s.placement) {
      assert.equal(rp.acceleratorIds.length, job.perReplica.accelerators);
      assert.equal(rp.cpuMillis, job.perReplica.cpuMillis);
      assert.equal(rp.memoryMiB, job.perReplica.memoryMiB);
      assert.equal(nodes.get(rp.node)?.state, 'ready', `${job.id} placed on a node that is not ready`);
      for (const id of rp.acceleratorIds) {
        const d = device.get(id);
        assert.ok(d?.acc.healthy, `${job.id} placed on unhealthy device ${id}`);
        types.add(d.acc.type);
      }
    }
    assert.ok(types.size <= 1, `gang ${job.id} mixes device types`);
    const t = [...types][0];
    if (t !== undefined && job.perReplica.acceleratorTypes.length > 0)
      assert.ok(job.perReplica.acceleratorTypes.includes(t));
  }
  for (const [name, n] of nodes) {
    assert.ok((cpu.get(name) ?? 0) <= n.cpuMillis, `CPU of ${name} over-allocated`);
    assert.ok((mem.get(name) ?? 0) <= n.memoryMiB, `memory of ${name} over-allocated`);
  }
  // every pending job exactly one outcome
  const outcomes = [...r.starts.map((s) => s.jobId), ...r.pending.map((p) => p.jobId)].sort();
  assert.deepEqual(outcomes, snapshot.pending.map((j) => j.id).sort());
  // preemptions: whole running, preemptible jobs, never twice
  const running = new Map(snapshot.running.map((j) => [j.id, j]));
  const victims = new Set<string>();
  for (const p of r.preemptions) {
    const v = running.get(p.jobId);
    assert.ok(v, `preempted ${p.jobId} is not running`);
    assert.ok(v.preemptible, `preempted ${p.jobId} is not preemptible`);
    assert.ok(v.preemptedAt === null || v.preemptedAt === undefined, `${p.jobId} preempted twice`);
    assert.ok(!victims.has(p.jobId));
    victims.add(p.jobId);
    assert.ok(p.reason.length > 0);
  }
}

// ---- a virtual-clock simulation of the engine ----

interface SimOutcome {
  startedAt: Map<string, number>;
  neverFit: Set<string>;
  cycles: number;
  unfinished: string[];
}

const CYCLE_MS = 60_000;

function simulate(
  config: PolicyConfig,
  nodes: ClusterNode[],
  jobs: readonly GenJob[],
  maxCycles: number,
  windows: readonly ReservedWindow[] = [],
): SimOutcome {
  const warm = createScheduler(config);
  const grace = config.preemption.gracePeriodMs;
  const arrivals = [...jobs].sort((x, y) => x.job.submitTime - y.job.submitTime);
  const actual = new Map(jobs.map((g) => [g.job.id, g.actualMs]));
  let pending: SchedJob[] = [];
  let running: RunningSchedJob[] = [];
  const startedAt = new Map<string, number>();
  const neverFit = new Set<string>();
  const done = new Set<string>();
  let usage: TenantUsage = EMPTY_USAGE;
  let now = 0;
  let next = 0;
  let cycles = 0;
  for (; cycles < maxCycles; cycles++) {
    while (next < arrivals.length && (arrivals[next]?.job.submitTime ?? Infinity) <= now)
      pending.push((arrivals[next++] as GenJob).job);
    // completions and the end of grace periods (requeue)
    const keep: RunningSchedJob[] = [];
    for (const j of running) {
      const end = j.startTime + Math.min(actual.get(j.id) ?? 0, j.timeLimitMs ?? Infinity);
      if (j.preemptedAt !== null && j.preemptedAt !== undefined && now >= j.preemptedAt + grace) {
        const {
          startTime: _s,
          placement: _p,
          lastCheckpointTime: _c,
          preemptedAt: _a,
          preemptedFor: _f,
          ...job
        } = j;
        // requeued with the service it has had (devices × time held), as the engine reports it
        const devices = j.placement.reduce((n, p) => n + p.acceleratorIds.length, 0);
        pending.push({
          ...job,
          submitTime: now,
          attainedServiceMs: (j.attainedServiceMs ?? 0) + (now - j.startTime) * devices,
        });
      } else if (now >= end) done.add(j.id);
      else keep.push(j);
    }
    running = keep;
    if (next >= arrivals.length && pending.length === 0 && running.length === 0) break;
    usage = decayUsage(usage, now, running, config.fairShare.halfLifeMs);
    // every other cycle, rebuild every object as the engine does (equal values, new identities)
    const snap: Snapshot =
      cycles % 2 === 0
        ? { now, nodes, pending, running, usage: usage.byTenant, windows }
        : {
            windows: windows.map((w) => ({ ...w })),
            now,
            nodes: nodes.map((n) => ({
              ...n,
              accelerators: n.accelerators.map((a) => ({ ...a })),
              topology: { ...n.topology },
            })),
            pending: pending.map((j) => ({
              ...j,
              perReplica: { ...j.perReplica, acceleratorTypes: [...j.perReplica.acceleratorTypes] },
            })),
            running: running.map((j) => ({
              ...j,
              placement: j.placement.map((p) => ({ ...p, acceleratorIds: [...p.acceleratorIds] })),
            })),
            usage: usage.byTenant,
          };
    const r = warm.schedule(snap);
    assert.deepEqual(r, scheduleOnce(config, snap), 'the stateful scheduler must answer as a fresh one');
    checkCycle(snap, r);
    const startIds = new Set(r.starts.map((s) => s.jobId));
    for (const p of r.pending) if (p.verdict === 'can-never-fit') neverFit.add(p.jobId);
    for (const s of r.starts) {
      const job = pending.find((j) => j.id === s.jobId) as SchedJob;
      const { claimedAt: _claimed, ...startedJob } = job;
      running.push({ ...startedJob, startTime: now, placement: s.placement, lastCheckpointTime: null });
      if (!startedAt.has(s.jobId)) startedAt.set(s.jobId, now);
    }
    const victims = new Map(r.preemptions.map((p) => [p.jobId, p.forJobId]));
    running = running.map((j) =>
      victims.has(j.id) ? { ...j, preemptedAt: now, preemptedFor: victims.get(j.id) ?? null } : j,
    );
    const claimants = new Set(victims.values());
    pending = pending
      .filter((j) => !startIds.has(j.id) && !neverFit.has(j.id))
      .map((j) => (claimants.has(j.id) ? { ...j, claimedAt: now } : j));
    // next event: an arrival, a completion, a grace period's end, or the next periodic cycle
    let t = now + CYCLE_MS;
    if (next < arrivals.length) t = Math.min(t, arrivals[next]?.job.submitTime ?? t);
    for (const j of running) {
      t = Math.min(t, j.startTime + Math.min(actual.get(j.id) ?? 0, j.timeLimitMs ?? Infinity));
      if (j.preemptedAt !== null && j.preemptedAt !== undefined) t = Math.min(t, j.preemptedAt + grace);
    }
    now = Math.max(now + 1, t);
  }
  const unfinished = jobs.map((g) => g.job.id).filter((id) => !startedAt.has(id) && !neverFit.has(id));
  return { startedAt, neverFit, cycles, unfinished };
}

// ---- properties ----

void test('property: one cycle never over-allocates, starts gangs whole, and gives every job one outcome', () => {
  fc.assert(
    fc.property(
      nodesArb(),
      jobsArb(25),
      fc.constantFrom(...POLICIES),
      windowsArb(3_600_000, -60),
      (nodes, jobs, policy, windows) => {
        // cycle 1 from an empty hall, then cycle 2 with cycle 1's starts running
        const pending = jobs.map((g) => g.job);
        const s1: Snapshot = { now: 3_600_000, nodes, pending, running: [], windows };
        const r1 = scheduleOnce(policy, s1);
        checkCycle(s1, r1);
        const started = new Set(r1.starts.map((s) => s.jobId));
        const running = r1.starts.map((s) => ({
          ...(pending.find((j) => j.id === s.jobId) as SchedJob),
          startTime: 3_600_000,
          placement: s.placement,
          lastCheckpointTime: null,
        }));
        const more = jobs.map((g) => ({ ...g.job, id: `${g.job.id}-b`, priority: g.job.priority + 10 }));
        const s2: Snapshot = {
          now: 3_600_000 + 20 * 60_000,
          nodes,
          pending: [...pending.filter((j) => !started.has(j.id)), ...more],
          running,
          windows,
        };
        checkCycle(s2, scheduleOnce(policy, s2));
      },
    ),
    { numRuns: 150 },
  );
});

void test('property: identical input gives identical decisions, whatever the order of the input arrays', () => {
  fc.assert(
    fc.property(
      nodesArb(),
      jobsArb(20),
      fc.constantFrom(...POLICIES),
      fc.integer(),
      windowsArb(3_600_000, -60),
      (nodes, jobs, policy, seed, windows) => {
        const pending = jobs.map((g) => g.job);
        const r0 = scheduleOnce(policy, { now: 3_600_000, nodes, pending, running: [], windows });
        const running = r0.starts.slice(0, 3).map((s) => ({
          ...(pending.find((j) => j.id === s.jobId) as SchedJob),
          startTime: 0,
          placement: s.placement,
          lastCheckpointTime: null,
        }));
        const runIds = new Set(running.map((j) => j.id));
        const rest = pending.filter((j) => !runIds.has(j.id));
        const snap: Snapshot = {
          now: 3_600_000,
          nodes,
          pending: rest,
          running,
          usage: { a: 100, b: 5000 },
          windows,
        };
        const a = scheduleOnce(policy, snap);
        const b = scheduleOnce(policy, {
          ...snap,
          nodes: shuffled(nodes, seed),
          pending: shuffled(rest, seed + 1),
          running: shuffled(running, seed + 2),
          windows: shuffled(windows, seed + 3),
        });
        assert.deepEqual(b, a);
        assert.deepEqual(scheduleOnce(policy, snap), a);
      },
    ),
    { numRuns: 150 },
  );
});

void test('property: no job waits forever, and the stateful scheduler always answers as a fresh one', () => {
  fc.assert(
    fc.property(nodesArb(true), jobsArb(15), fc.constantFrom(...POLICIES), (nodes, jobs, policy) => {
      const out = simulate(policy, nodes, jobs, 600);
      assert.deepEqual(out.unfinished, [], `jobs never started after ${out.cycles} cycles`);
    }),
    { numRuns: 60 },
  );
});

void test('property: a tenant below its guarantee gets it back within the grace period and one cycle', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 8 }),
      (nodeCount, borrowerSize, ownerNeed) => {
        const nodes = Array.from({ length: nodeCount }, (_, i) => makeNode(`n${i}`));
        const hall = nodeCount * 8;
        const guaranteed = Math.min(hall, 8);
        const need = Math.min(ownerNeed, guaranteed);
        const policy = compiled({
          cohorts: ['all'],
          preemption: { reclaim: true, minRuntime: '1h', gracePeriod: '30s', boundedReclaimTime: '2m' },
          tenants: {
            owner: { cohort: 'all', quotas: { 'nvidia-h200': { guaranteed } } },
            borrower: { cohort: 'all' },
          },
        });
        // the borrower fills the hall with long jobs; the owner is idle
        const running: RunningSchedJob[] = [];
        let k = 0;
        for (const n of nodes) {
          for (let used = 0; used + borrowerSize <= 8; used += borrowerSize) {
            running.push({
              ...makeJob(`b${k++}`, {
                tenant: 'borrower',
                accelerators: borrowerSize,
                timeLimitMs: 24 * 3_600_000,
              }),
              startTime: 0,
              lastCheckpointTime: null,
              placement: [
                {
                  node: n.name,
                  acceleratorIds: Array.from(
                    { length: borrowerSize },
                    (_, d) => `${n.name}/nvidia-h200/${used + d}`,
                  ),
                  cpuMillis: 0,
                  memoryMiB: 0,
                },
              ],
            });
          }
        }
        const owner = makeJob('owner-job', { tenant: 'owner', accelerators: need, submitTime: 1_000_000 });
        // victims have run 100 s < minRuntime (1 h): reclaim still may take them once they ran
        // boundedReclaimTime − grace = 90 s, so the owner never waits past boundedReclaimTime
        const now = 100_000;
        const s1: Snapshot = { now, nodes, pending: [owner], running };
        const r1 = scheduleOnce(policy, s1);
        checkCycle(s1, r1);
        const freeNow = hall - running.length * borrowerSize;
        if (freeNow >= need && r1.starts.length === 1) return; // fits without reclaim
        assert.ok(r1.preemptions.length > 0, `no reclaim: ${JSON.stringify(r1.pending)}`);
        assert.ok(r1.preemptions.every((p) => p.jobId.startsWith('b')));
        assert.equal(r1.pending[0]?.estimatedStart, now + 30_000);
        // the engine stops the victims within the grace period; the next cycle starts the owner's job
        const victims = new Set(r1.preemptions.map((p) => p.jobId));
        const s2: Snapshot = {
          now: now + 30_000,
          nodes,
          pending: [owner],
          running: running.filter((j) => !victims.has(j.id)),
        };
        const r2 = scheduleOnce(policy, s2);
        assert.deepEqual(
          r2.starts.map((s) => s.jobId),
          ['owner-job'],
        );
      },
    ),
    { numRuns: 100 },
  );
});

void test('property: with bookings, no job waits forever and the stateful scheduler answers as a fresh one', () => {
  fc.assert(
    fc.property(
      nodesArb(true),
      jobsArb(15),
      fc.constantFrom(...POLICIES),
      windowsArb(0, 0),
      (nodes, jobs, policy, windows) => {
        const out = simulate(policy, nodes, jobs, 800, windows);
        assert.deepEqual(out.unfinished, [], `jobs never started after ${out.cycles} cycles`);
      },
    ),
    { numRuns: 60 },
  );
});

void test('property: a booking owner whose job fits its open window starts it within the grace period and one cycle, whatever was lent', () => {
  const others = fc.array(
    fc.record({
      tenant: fc.constantFrom('x', 'y'),
      accelerators: fc.integer({ min: 1, max: 8 }),
      preemptible: fc.boolean(),
      limitMin: fc.integer({ min: 1, max: 600 }),
      priority: fc.constantFrom(0, 10),
    }),
    { maxLength: 10 },
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 24 }),
      fc.integer({ min: 1, max: 24 }),
      others,
      fc.boolean(),
      (nodeCount, bookedWanted, needWanted, otherJobs, fairShare) => {
        const nodes = Array.from({ length: nodeCount }, (_, i) => makeNode(`n${i}`, { switch: `s${i % 2}` }));
        const booked = Math.min(bookedWanted, nodeCount * 8);
        const need = Math.min(needWanted, booked);
        const policy = compiled({
          ...(fairShare ? { fairShare: { halfLife: '1h' } } : {}),
          preemption: { gracePeriod: '30s' },
          bookings: { lendIdle: true },
          // the owner has no quota at all: its booking is all it has
          tenants: { owner: { quotas: { 'nvidia-h200': { guaranteed: 0, borrowingLimit: 0 } } } },
        });
        const grace = policy.preemption.gracePeriodMs;
        const t0 = 10 * 3_600_000;
        const windows: ReservedWindow[] = [
          {
            id: 'bk#0',
            startTime: t0 - 600_000,
            endTime: t0 + 4 * 3_600_000,
            acceleratorType: 'nvidia-h200',
            accelerators: booked,
            tenant: 'owner',
          },
        ];
        const warm = createScheduler(policy);
        const cycle = (snap: Snapshot): ScheduleResult => {
          const r = warm.schedule(snap);
          assert.deepEqual(
            r,
            scheduleOnce(policy, snap),
            'the stateful scheduler must answer as a fresh one',
          );
          checkCycle(snap, r);
          return r;
        };
        // cycle 0: the owner is idle; the others take what they may (preemptible ones are lent the booking)
        const otherPending = otherJobs.map((o, i) =>
          makeJob(`o${i}`, {
            tenant: o.tenant,
            accelerators: o.accelerators,
            preemptible: o.preemptible,
            timeLimitMs: o.limitMin * 60_000,
            priority: o.priority,
            submitTime: i,
          }),
        );
        const r0 = cycle({ now: t0, nodes, pending: otherPending, running: [], windows });
        const byId = new Map(otherPending.map((j) => [j.id, j]));
        const running: RunningSchedJob[] = r0.starts.map((s) => ({
          ...(byId.get(s.jobId) as SchedJob),
          startTime: t0,
          placement: s.placement,
          lastCheckpointTime: null,
        }));
        // non-preemptible jobs never hold booked devices
        const firm = running
          .filter((j) => !j.preemptible)
          .reduce((n, j) => n + j.replicas * j.perReplica.accelerators, 0);
        assert.ok(
          firm <= nodeCount * 8 - booked,
          `non-preemptible jobs hold ${firm} of the ${booked} booked devices`,
        );
        // the owner submits one device per replica (bookings are aggregate, not tied to nodes)
        const mine = makeJob('mine', {
          tenant: 'owner',
          replicas: need,
          accelerators: 1,
          timeLimitMs: 3_600_000,
          submitTime: t0 + 60_000,
        });
        const startedIds = new Set(r0.starts.map((s) => s.jobId));
        const waiting = otherPending.filter((j) => !startedIds.has(j.id));
        const t1 = t0 + 60_000;
        const r1 = cycle({ now: t1, nodes, pending: [...waiting, mine], running, windows });
        if (r1.starts.some((s) => s.jobId === 'mine')) return;
        const v = r1.pending.find((p) => p.jobId === 'mine');
        assert.equal(v?.estimatedStart, t1 + grace, JSON.stringify(v));
        for (const p of r1.preemptions)
          assert.ok(byId.get(p.jobId)?.preemptible === true, `${p.jobId} is not preemptible`);
        // the engine stops the victims within the grace period; the next cycle starts the owner's job
        const victims = new Set(r1.preemptions.map((p) => p.jobId));
        const started1 = new Set(r1.starts.map((s) => s.jobId));
        const running2 = [
          ...running.filter((j) => !victims.has(j.id)),
          ...r1.starts.map((s) => ({
            ...(byId.get(s.jobId) as SchedJob),
            startTime: t1,
            placement: s.placement,
            lastCheckpointTime: null,
          })),
        ];
        const requeued = running
          .filter((j) => victims.has(j.id))
          .map((j) => ({ ...(byId.get(j.id) as SchedJob), submitTime: t1 + grace }));
        const r2 = cycle({
          now: t1 + grace,
          nodes,
          pending: [...waiting.filter((j) => !started1.has(j.id)), ...requeued, mine],
          running: running2,
          windows,
        });
        assert.ok(
          r2.starts.some((s) => s.jobId === 'mine'),
          `owner not started: ${JSON.stringify(r2.pending.find((p) => p.jobId === 'mine'))}`,
        );
      },
    ),
    { numRuns: 150 },
  );
});

void test('property: the identity diff reports exactly what left and what came', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 40 }),
      (a, b) => {
        const objs = Array.from({ length: 31 }, (_, i) => ({ i }));
        const prev = [...new Set(a)].map((i) => objs[i] as { i: number });
        const next = [...new Set(b)].map((i) => objs[i] as { i: number });
        const { removed, added } = diffByIdentity(prev, next);
        // applying the diff to prev gives next as a set
        const result = new Set(prev);
        for (const x of removed) result.delete(x);
        for (const x of added) result.add(x);
        assert.deepEqual(
          [...result].map((x) => x.i).sort((p, q) => p - q),
          next.map((x) => x.i).sort((p, q) => p - q),
        );
        // nothing is reported removed that is not in prev, or added that is not in next
        for (const x of removed) assert.ok(prev.includes(x));
        for (const x of added) assert.ok(next.includes(x));
      },
    ),
    { numRuns: 300 },
  );
});

void test('property: the packed hold sort orders as compareHolds does', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          id: fc.integer({ min: 0, max: 50 }),
          end: fc.oneof(
            fc.integer({ min: 0, max: 20 }),
            fc.constant(Infinity),
            fc.integer({ min: 0, max: 2 ** 50 }),
          ),
        }),
        { maxLength: 60 },
      ),
      (xs) => {
        const holds = xs.map((x, i) => ({
          jobId: `j${x.id}-${i}`,
          placement: [],
          startTime: 0,
          endTime: x.end,
        }));
        assert.deepEqual(
          sortHolds(holds).map((h) => h.jobId),
          [...holds].sort(compareHolds).map((h) => h.jobId),
        );
      },
    ),
    { numRuns: 300 },
  );
});
