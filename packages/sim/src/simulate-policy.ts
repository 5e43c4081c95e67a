/**
 * One policy over one trace on one cluster, measured: what `runSim` does per policy, in this
 * thread or in a worker thread of `runSim({ parallel })` (run-worker.ts), so that both give the
 * same run.
 */
import { performance } from 'node:perf_hooks';
import type { ClusterNode } from '@suanli/core';
import type { JobModel, RunOutcome } from './engine.js';
import { simulate } from './engine.js';
import type { PolicyMetrics } from './metrics.js';
import { computeMetrics } from './metrics.js';
import { makePolicy } from './policies.js';
import type { TraceJob } from './trace.js';

export interface PolicyRunInput {
  readonly nodes: readonly ClusterNode[];
  readonly jobs: readonly TraceJob[];
  readonly model: JobModel;
  readonly guarantees: ReadonlyMap<string, number>;
  /** Parsed policy file for `suanli`, or undefined to derive one. */
  readonly policyFile: unknown;
  readonly acceleratorType: string;
}

export function simulatePolicy(
  name: string,
  input: PolicyRunInput,
): { run: RunOutcome; metrics: PolicyMetrics } {
  const run = simulate({
    nodes: input.nodes,
    jobs: input.jobs,
    model: input.model,
    guarantees: input.guarantees,
    makePolicy: (knowledge) =>
      makePolicy(name, {
        knowledge,
        guarantees: input.guarantees,
        policyFile: input.policyFile,
        acceleratorType: input.acceleratorType,
      }),
    clock: () => performance.now(),
  });
  return { run, metrics: computeMetrics(run, input.guarantees) };
}
