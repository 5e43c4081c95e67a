/**
 * The baselines keep state between cycles for speed (queue order, per-job entries, free devices,
 * the simulator's array derivations). Their contract: every answer equals a fresh computation on
 * the same snapshot. Checked here on seeded random overloaded traces: at every call of a run, the
 * policy's answer (starts, preemptions, pending decisions; Tiresias' wake-up too) is compared with
 * that of a policy that sees a copy of the snapshot (new arrays and job objects, so no cache
 * applies): a fresh policy per call, or for Tiresias (which remembers promotions) a second policy
 * fed copies throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobKnowledge, ScheduleResult, Snapshot } from '@suanli/core';
import {
  createEasyBackfillPolicy,
  createFifoPolicy,
  createSjfOraclePolicy,
  createSrtfOraclePolicy,
  createTiresiasPolicy,
} from '@suanli/core';
import type { BaselinePolicy } from '@suanli/core';
import type { DrivenPolicy } from './engine.js';
import { mulberry32 } from './openb-packing.js';
import { run } from './testing.js';
import type { TraceJob } from './trace.js';

function randomTrace(seed: number, count: number): TraceJob[] {
  const rnd = mulberry32(seed);
  const jobs: TraceJob[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    t += Math.floor(rnd() * 120);
    jobs.push({
      id: `j${i}`,
      submitS: t,
      durationS: 30 + Math.floor(rnd() * (rnd() < 0.2 ? 20_000 : 2_000)),
      accelerators: [1, 1, 1, 2, 4, 8, 16][Math.floor(rnd() * 7)]!,
      tenant: `t${Math.floor(rnd() * 3)}`,
    });
  }
  return jobs;
}

/** The snapshot with new arrays and new job objects (same values). */
function copy(s: Snapshot): Snapshot {
  return {
    ...s,
    pending: s.pending.map((j) => ({ ...j })),
    running: s.running.map((j) => ({ ...j })),
  };
}

function plain(r: ScheduleResult): unknown {
  return { starts: r.starts, preemptions: r.preemptions, pending: r.pending };
}

const POLICIES: [string, (k: JobKnowledge) => BaselinePolicy, boolean][] = [
  ['fifo', () => createFifoPolicy(), false],
  ['easy', () => createEasyBackfillPolicy(), false],
  ['sjf-oracle', (k) => createSjfOraclePolicy(k), false],
  ['srtf-oracle', (k) => createSrtfOraclePolicy(k), false],
  ['tiresias', (k) => createTiresiasPolicy(k, { queueBoundariesGpuS: [600, 6000] }), true],
];

for (const [name, make, stateful] of POLICIES) {
  test(`${name}: every answer of a whole run equals a fresh computation on the same snapshot`, () => {
    for (const seed of [1, 2, 3]) {
      let calls = 0;
      const wrapped = (k: JobKnowledge): DrivenPolicy => {
        const policy = make(k);
        const shadow = make(k);
        return {
          name: policy.name,
          preempts: policy.preempts,
          schedule(s: Snapshot): ScheduleResult {
            calls++;
            const r = policy.schedule(s);
            const fresh = (stateful ? shadow : make(k)).schedule(copy(s));
            assert.deepStrictEqual(plain(r), plain(fresh), `seed ${seed}, call ${calls}`);
            return r;
          },
          ...(policy.nextWakeMs === undefined
            ? {}
            : {
                nextWakeMs(s: Snapshot): number | null {
                  const w = policy.nextWakeMs!(s);
                  assert.equal(w, shadow.nextWakeMs!(copy(s)), `seed ${seed}, wake after call ${calls}`);
                  return w;
                },
              }),
        };
      };
      const r = run(wrapped, randomTrace(seed, 250), { nodes: 3, perNode: 8 });
      assert.ok(calls > 100, `seed ${seed}: ${calls} calls`);
      assert.ok(
        r.jobs.every((j) => j.endMs !== null),
        `seed ${seed}: every job ran`,
      );
    }
  });
}
