/** Small builders for the simulator's tests (not exported from the package index). */
import type { JobKnowledge } from '@suanli/core';
import { buildNodes, uniformCluster } from './cluster.js';
import type { DrivenPolicy, JobModel, RunOutcome } from './engine.js';
import { DEFAULT_JOB_MODEL, simulate } from './engine.js';
import { makePolicy } from './policies.js';
import type { TraceJob } from './trace.js';

/** A job: `job('a', 0, 100, 2)` = id a, submitted at 0 s, runs 100 s on 2 devices, tenant t. */
export function job(
  id: string,
  submitS: number,
  durationS: number,
  accelerators = 1,
  tenant = 't',
  extra: Partial<TraceJob> = {},
): TraceJob {
  return { id, submitS, durationS, accelerators, tenant, ...extra };
}

export function run(
  policy: string | ((k: JobKnowledge) => DrivenPolicy),
  jobs: TraceJob[],
  o: { nodes?: number; perNode?: number; model?: Partial<JobModel>; guarantees?: Map<string, number> } = {},
): RunOutcome {
  const nodes = buildNodes(uniformCluster(o.nodes ?? 1, o.perNode ?? 8));
  const guarantees = o.guarantees ?? new Map<string, number>();
  return simulate({
    nodes,
    jobs,
    model: { ...DEFAULT_JOB_MODEL, ...o.model },
    guarantees,
    makePolicy:
      typeof policy === 'string'
        ? (knowledge) =>
            makePolicy(policy, { knowledge, guarantees, policyFile: undefined, acceleratorType: 'gpu' })
        : policy,
  });
}

/** id → [first start s, end s]. */
export function times(r: RunOutcome): Record<string, [number | null, number | null]> {
  const out: Record<string, [number | null, number | null]> = {};
  for (const j of r.jobs)
    out[j.id] = [
      j.firstStartMs === null ? null : j.firstStartMs / 1000,
      j.endMs === null ? null : j.endMs / 1000,
    ];
  return out;
}
