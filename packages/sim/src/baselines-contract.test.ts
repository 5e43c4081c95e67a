/**
 * The contract every baseline policy of the core keeps, checked on seeded random snapshots
 * (small clusters, some nodes draining, running gangs, waiting jobs of all sizes, some of a type no
 * node has). Lives with the simulator because the simulator is what relies on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterNode, JobKnowledge, RunningSchedJob, SchedJob, Snapshot } from '@suanli/core';
import {
  createEasyBackfillPolicy,
  createFifoPolicy,
  createSjfOraclePolicy,
  createSrtfOraclePolicy,
  createTiresiasPolicy,
  freeCapacity,
  placeBestFit,
} from '@suanli/core';
import type { BaselinePolicy } from '@suanli/core';
import { mulberry32 } from './openb-packing.js';

function randomSnapshot(seed: number): { snapshot: Snapshot; knowledge: JobKnowledge } {
  const rnd = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const nodes: ClusterNode[] = Array.from({ length: int(1, 4) }, (_, n) => {
    const k = rnd() < 0.5 ? 4 : 8;
    return {
      name: `n${n}`,
      state: rnd() < 0.15 ? 'draining' : 'ready',
      accelerators: Array.from({ length: k }, (_, i) => ({
        id: `n${n}/gpu/${i}`,
        index: i,
        type: 'gpu',
        vendor: 'nvidia' as const,
        source: 'declared' as const,
        healthy: rnd() > 0.05,
      })),
      cpuMillis: 64_000,
      memoryMiB: 1 << 20,
      topology: {},
      labels: {},
    };
  });
  const now = 1_000_000;
  const durations = new Map<string, number>();
  const mkJob = (id: string): SchedJob => {
    const replicas = rnd() < 0.2 ? 2 : 1;
    durations.set(id, int(1, 100) * 60_000);
    return {
      id,
      tenant: `t${int(0, 2)}`,
      project: 'p',
      submitTime: int(0, now),
      priority: 0,
      replicas,
      perReplica: {
        accelerators: [1, 1, 2, 4, 8][int(0, 4)]!,
        acceleratorTypes: rnd() < 0.05 ? ['ascend-910b'] : [],
        cpuMillis: 0,
        memoryMiB: 0,
      },
      timeLimitMs: rnd() < 0.1 ? null : int(1, 200) * 60_000,
      preemptible: true,
    };
  };
  const running: RunningSchedJob[] = [];
  const base: Snapshot = { now, nodes, pending: [], running: [] };
  const cap = freeCapacity(base);
  for (let i = 0; i < int(0, 6); i++) {
    const j = mkJob(`r${i}`);
    const placement = placeBestFit(j, cap);
    if (placement !== null)
      running.push({ ...j, startTime: now - int(0, 50) * 60_000, placement, lastCheckpointTime: null });
  }
  const pending = Array.from({ length: int(0, 12) }, (_, i) => mkJob(`p${i}`));
  const knowledge: JobKnowledge = {
    progress: (id) => ({
      attainedMs: id.startsWith('r') ? 10 * 60_000 : 0,
      remainingMs: durations.get(id) ?? 0,
      waitingSinceMs: 0,
      lastRunMs: 0,
    }),
  };
  return { snapshot: { now, nodes, pending, running }, knowledge };
}

const POLICIES: [string, (k: JobKnowledge) => BaselinePolicy][] = [
  ['fifo', () => createFifoPolicy()],
  ['easy', () => createEasyBackfillPolicy()],
  ['sjf-oracle', (k) => createSjfOraclePolicy(k)],
  ['srtf-oracle', (k) => createSrtfOraclePolicy(k)],
  ['tiresias', (k) => createTiresiasPolicy(k)],
];

for (const [name, make] of POLICIES) {
  test(`${name} keeps the policy contract on 300 random snapshots`, () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { snapshot, knowledge } = randomSnapshot(seed);
      const res = make(knowledge).schedule(snapshot);
      const at = `seed ${seed}`;
      // Every waiting job is answered exactly once: started or pending.
      const answered = [...res.starts.map((s) => s.jobId), ...res.pending.map((p) => p.jobId)].sort();
      assert.deepEqual(
        answered,
        snapshot.pending.map((p) => p.id).sort(),
        `${at}: one answer per waiting job`,
      );
      // Preemptions name running jobs, once each; only preemptive policies make them.
      const running = new Map(snapshot.running.map((r) => [r.id, r]));
      const victims = new Set<string>();
      for (const p of res.preemptions) {
        assert.ok(running.has(p.jobId), `${at}: preempts a running job`);
        assert.ok(!victims.has(p.jobId), `${at}: preempts a job once`);
        victims.add(p.jobId);
      }
      if (!make(knowledge).preempts) assert.equal(res.preemptions.length, 0, `${at}: ${name} never preempts`);
      // Starts use existing, healthy devices of ready nodes that are free (or freed by a victim), once each, in the job's shape.
      const held = new Set<string>();
      for (const r of snapshot.running)
        if (!victims.has(r.id))
          for (const rp of r.placement) for (const id of rp.acceleratorIds) held.add(id);
      const device = new Map(
        snapshot.nodes.flatMap((n) => n.accelerators.map((a) => [a.id, { node: n, a }] as const)),
      );
      const used = new Set<string>();
      const byId = new Map(snapshot.pending.map((p) => [p.id, p]));
      for (const s of res.starts) {
        const job = byId.get(s.jobId)!;
        assert.equal(s.placement.length, job.replicas, `${at}: replicas of ${job.id}`);
        for (const rp of s.placement) {
          assert.equal(
            rp.acceleratorIds.length,
            job.perReplica.accelerators,
            `${at}: devices per replica of ${job.id}`,
          );
          for (const id of rp.acceleratorIds) {
            const d = device.get(id);
            assert.ok(d !== undefined && d.node.name === rp.node, `${at}: ${id} exists on ${rp.node}`);
            assert.ok(d.a.healthy && d.node.state === 'ready', `${at}: ${id} healthy on a ready node`);
            assert.ok(!held.has(id) && !used.has(id), `${at}: ${id} free and used once`);
            used.add(id);
          }
        }
      }
      // Deterministic: a fresh policy answers the same.
      assert.deepEqual(make(knowledge).schedule(snapshot), res, `${at}: deterministic`);
    }
  });
}
