/**
 * `runSim(options)`: load a trace, build the cluster, run each policy, compute the metrics. The
 * CLI's `suanli sim` and `bin/sim.ts` are thin shells around it.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ClusterNode } from '@suanli/core';
import { buildNodes, clusterAccelerators, compileClusterSpec, uniformCluster } from './cluster.js';
import type { JobModel, RunOutcome } from './engine.js';
import { DEFAULT_JOB_MODEL, simulate } from './engine.js';
import type { PolicyMetrics } from './metrics.js';
import { computeMetrics } from './metrics.js';
import { expandPolicies, makePolicy } from './policies.js';
import type { TraceFormat, TraceJob } from './trace.js';
import {
  parseGenericTrace,
  parseOpenbTrace,
  parsePhillyTrace,
  parsePolluxWorkload,
  parseWindowBound,
  TraceError,
  windowJobs,
} from './trace.js';

export type GuaranteeMode = 'proportional' | 'equal' | 'none';

export interface SimOptions {
  /** Path of the trace file (or give `jobs`). */
  readonly trace?: string;
  readonly jobs?: readonly TraceJob[];
  readonly format?: TraceFormat;
  /** Window on submission time: date (UTC) or seconds on the trace clock. */
  readonly from?: string;
  readonly to?: string;
  readonly nodes?: number;
  readonly acceleratorsPerNode?: number;
  readonly acceleratorType?: string;
  /** Path of a cluster file (JSON or YAML, see cluster.ts); replaces nodes/acceleratorsPerNode. */
  readonly clusterFile?: string;
  /** `all`, one name or a comma-separated list. */
  readonly policy?: string;
  /** A policy file in the server's format (JSON or YAML) for `suanli`. */
  readonly policyFile?: string;
  readonly guarantees?: GuaranteeMode;
  readonly model?: Partial<JobModel>;
}

export interface SimReport {
  readonly setup: {
    readonly trace: string | null;
    readonly format: TraceFormat;
    readonly window: { readonly from: string | null; readonly to: string | null };
    readonly jobs: number;
    readonly tenants: number;
    readonly nodes: number;
    readonly accelerators: number;
    /** Offered load: Σ duration × devices / (devices of the cluster × submission span). */
    readonly offered_load: number;
    readonly device_hours: number;
    readonly guarantees: GuaranteeMode;
    readonly model: JobModel;
  };
  readonly results: readonly PolicyMetrics[];
  /** Raw runs (for plots); not part of the JSON output. */
  readonly runs: readonly RunOutcome[];
}

export class SimOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimOptionsError';
  }
}

/** Durations for a Pollux workload: the shortest published JCT of each job (see trace.ts). */
function polluxDurations(workloadPath: string): Map<string, number> {
  const dir = dirname(workloadPath);
  const name = basename(workloadPath, '.csv');
  const m = /workloads(?:-(.+))?$/.exec(basename(dir));
  const load = m?.[1] === undefined || m[1] === 'realistic' ? '1.0' : m[1];
  const out = new Map<string, number>();
  for (const policy of ['pollux', 'optimus', 'tiresias']) {
    let summary: { jcts?: Record<string, Record<string, number>> };
    try {
      summary = JSON.parse(
        readFileSync(join(dir, '..', 'results-jobload', `${policy}-${load}`, 'summary.json'), 'utf8'),
      ) as typeof summary;
    } catch {
      continue;
    }
    for (const [job, jct] of Object.entries(summary.jcts?.[name] ?? {}))
      out.set(job, Math.min(out.get(job) ?? Infinity, jct));
  }
  if (out.size === 0)
    throw new TraceError(
      `pollux workload ${workloadPath}: no published results found beside it to take durations from`,
    );
  return out;
}

/** A JSON or YAML file (by extension: .yaml/.yml is YAML, anything else JSON). */
export function readStructured(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return /\.ya?ml$/i.test(path) ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (e) {
    throw new SimOptionsError(
      `${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(e as Error).message}`,
    );
  }
}

export function loadTrace(path: string, format: TraceFormat): TraceJob[] {
  const text = readFileSync(path, 'utf8');
  switch (format) {
    case 'generic':
      return parseGenericTrace(text);
    case 'philly':
      return parsePhillyTrace(text);
    case 'openb':
      return parseOpenbTrace(text);
    case 'pollux':
      return parsePolluxWorkload(text, polluxDurations(path));
  }
}

/** Tenant guarantees derived from the trace: shares of device-time, or equal shares, of the cluster. */
export function deriveGuarantees(
  jobs: readonly TraceJob[],
  accelerators: number,
  mode: GuaranteeMode,
): Map<string, number> {
  const out = new Map<string, number>();
  if (mode === 'none') return out;
  const use = new Map<string, number>();
  for (const j of jobs) use.set(j.tenant, (use.get(j.tenant) ?? 0) + j.durationS * j.accelerators);
  const tenants = [...use.keys()].sort();
  const total = [...use.values()].reduce((s, x) => s + x, 0);
  for (const t of tenants) {
    out.set(
      t,
      mode === 'equal'
        ? Math.floor(accelerators / tenants.length)
        : Math.floor((accelerators * use.get(t)!) / total),
    );
  }
  return out;
}

export function runSim(options: SimOptions): SimReport {
  const format = options.format ?? 'generic';
  let jobs: TraceJob[];
  if (options.jobs !== undefined) jobs = [...options.jobs];
  else if (options.trace !== undefined) jobs = loadTrace(options.trace, format);
  else throw new SimOptionsError('give a trace (--trace FILE)');
  const from = options.from === undefined ? null : parseWindowBound(options.from);
  const to = options.to === undefined ? null : parseWindowBound(options.to);
  jobs = windowJobs(jobs, from, to);
  if (jobs.length === 0) throw new SimOptionsError('no jobs in the trace window');

  let nodes: ClusterNode[];
  if (options.clusterFile !== undefined) {
    nodes = buildNodes(compileClusterSpec(readStructured(options.clusterFile)));
  } else {
    if (options.nodes === undefined || options.acceleratorsPerNode === undefined)
      throw new SimOptionsError('give --nodes N --accelerators-per-node K, or --cluster FILE');
    nodes = buildNodes(
      uniformCluster(options.nodes, options.acceleratorsPerNode, options.acceleratorType ?? 'gpu'),
    );
  }
  const accelerators = clusterAccelerators(nodes);
  const model: JobModel = { ...DEFAULT_JOB_MODEL, ...options.model };
  const guaranteeMode = options.guarantees ?? 'proportional';
  const guarantees = deriveGuarantees(jobs, accelerators, guaranteeMode);
  const policyFile = options.policyFile === undefined ? undefined : readStructured(options.policyFile);
  const acceleratorType = nodes[0]?.accelerators[0]?.type ?? 'gpu';

  const runs: RunOutcome[] = [];
  const results: PolicyMetrics[] = [];
  for (const name of expandPolicies(options.policy ?? 'all')) {
    const run = simulate({
      nodes,
      jobs,
      model,
      guarantees,
      makePolicy: (knowledge) => makePolicy(name, { knowledge, guarantees, policyFile, acceleratorType }),
      clock: () => performance.now(),
    });
    runs.push(run);
    results.push(computeMetrics(run, guarantees));
  }
  const deviceS = jobs.reduce((s, j) => s + j.durationS * j.accelerators, 0);
  const spanS = Math.max(1, (to ?? jobs[jobs.length - 1]!.submitS) - (from ?? jobs[0]!.submitS));
  return {
    setup: {
      trace: options.trace ?? null,
      format,
      window: { from: options.from ?? null, to: options.to ?? null },
      jobs: jobs.length,
      tenants: new Set(jobs.map((j) => j.tenant)).size,
      nodes: nodes.length,
      accelerators,
      offered_load: Math.round((deviceS / (accelerators * spanS)) * 1000) / 1000,
      device_hours: Math.round(deviceS / 3600),
      guarantees: guaranteeMode,
      model,
    },
    results,
    runs,
  };
}
