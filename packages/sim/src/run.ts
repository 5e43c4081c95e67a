/**
 * `runSim(options)`: load a trace, build the cluster, run each policy, compute the metrics. The
 * CLI's `suanli sim` and `bin/sim.ts` are thin shells around it.
 */
import { readFileSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { parse as parseYaml } from 'yaml';
import { basename, dirname, join } from 'node:path';
import type { ClusterNode } from '@suanli/core';
import { buildNodes, clusterAccelerators, compileClusterSpec, uniformCluster } from './cluster.js';
import type { JobModel, RunOutcome } from './engine.js';
import { DEFAULT_JOB_MODEL, SimError } from './engine.js';
import type { PolicyMetrics } from './metrics.js';
import { expandPolicies, makePolicy, PolicyError } from './policies.js';
import type { WorkerInput } from './run-worker.js';
import { simulatePolicy, type PolicyRunInput } from './simulate-policy.js';
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
  /**
   * Policies simulated at the same time, each in a worker thread (default 1: one after the other
   * in this thread). The results are the same; each policy's `sim_seconds` is still its own run's
   * time.
   */
  readonly parallel?: number;
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

/** Slots of the state shared with the workers (run-worker.ts reads the same positions). */
const DONE = 1;
const FAILED = 2;

/** Rough relative cost of a policy on a large trace, to hand out the longest runs first. */
const POLICY_WEIGHT: Readonly<Record<string, number>> = { suanli: 6, tiresias: 5, 'srtf-oracle': 3, easy: 2 };

/**
 * Simulates `names` in `workers` worker threads and returns the runs in the order of `names`.
 * Synchronous like the rest of `runSim`: this thread waits on a shared counter (Atomics.wait) and
 * then reads the workers' messages (receiveMessageOnPort).
 */
function runInWorkers(
  workers: number,
  names: readonly string[],
  input: Omit<WorkerInput, 'names' | 'order' | 'state' | 'port'>,
): { run: RunOutcome; metrics: PolicyMetrics }[] {
  // an unknown policy name fails here, as in the serial run (the policy is built, not run)
  const unused = {
    progress(): never {
      throw new SimError('not simulated here');
    },
  };
  for (const name of names)
    makePolicy(name, {
      knowledge: unused,
      guarantees: input.guarantees,
      policyFile: input.policyFile,
      acceleratorType: input.acceleratorType,
    });
  const order = names
    .map((_, i) => i)
    .sort((a, b) => (POLICY_WEIGHT[names[b]!] ?? 1) - (POLICY_WEIGHT[names[a]!] ?? 1));
  const state = new SharedArrayBuffer(12);
  const counters = new Int32Array(state);
  const ports = [];
  const threads: Worker[] = [];
  for (let w = 0; w < workers; w++) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const data: WorkerInput = { ...input, names, order, state, port: port2 };
    threads.push(
      new Worker(new URL('./run-worker.js', import.meta.url), { workerData: data, transferList: [port2] }),
    );
  }
  while (Atomics.load(counters, DONE) < names.length && Atomics.load(counters, FAILED) === 0)
    Atomics.wait(counters, DONE, Atomics.load(counters, DONE), 1000);
  const out: ({ run: RunOutcome; metrics: PolicyMetrics } | undefined)[] = names.map(() => undefined);
  let failure: Error | null = null;
  for (const port of ports) {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const msg = m.message as {
        index: number;
        run?: RunOutcome;
        metrics?: PolicyMetrics;
        error?: { name: string; message: string };
      };
      if (msg.error !== undefined) {
        const { name, message } = msg.error;
        failure ??=
          name === 'SimError'
            ? new SimError(message)
            : name === 'PolicyError'
              ? new PolicyError(message)
              : new Error(message);
      } else out[msg.index] = { run: msg.run!, metrics: msg.metrics! };
    }
    port.close();
  }
  for (const t of threads) void t.terminate();
  if (failure !== null) throw failure;
  return out.map((r, i) => {
    if (r === undefined) throw new Error(`policy ${names[i]}: no result from its worker`);
    return r;
  });
}

/**
 * What every policy of a run is simulated on, from the options: the trace window's jobs, the
 * cluster, the job model, the tenants' guarantees and the policy file (`runSim` and the scripts
 * that explain a run share it). `from`/`to`: the window in trace seconds, null when open.
 */
export function prepareRun(options: SimOptions): {
  input: PolicyRunInput;
  from: number | null;
  to: number | null;
} {
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
  const model: JobModel = { ...DEFAULT_JOB_MODEL, ...options.model };
  const guarantees = deriveGuarantees(jobs, clusterAccelerators(nodes), options.guarantees ?? 'proportional');
  const policyFile = options.policyFile === undefined ? undefined : readStructured(options.policyFile);
  const acceleratorType = nodes[0]?.accelerators[0]?.type ?? 'gpu';
  return { input: { nodes, jobs, model, guarantees, policyFile, acceleratorType }, from, to };
}

export function runSim(options: SimOptions): SimReport {
  const { input, from, to } = prepareRun(options);
  const { nodes, jobs, model } = input;
  const accelerators = clusterAccelerators(nodes);

  const runs: RunOutcome[] = [];
  const results: PolicyMetrics[] = [];
  const names = expandPolicies(options.policy ?? 'all');
  const parallel = Math.min(options.parallel ?? 1, names.length);
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new SimOptionsError('parallel must be a whole number ≥ 1');
  if (parallel > 1) {
    for (const r of runInWorkers(parallel, names, input)) {
      runs.push(r.run);
      results.push(r.metrics);
    }
  } else {
    for (const name of names) {
      const r = simulatePolicy(name, input);
      runs.push(r.run);
      results.push(r.metrics);
    }
  }
  const deviceS = jobs.reduce((s, j) => s + j.durationS * j.accelerators, 0);
  const spanS = Math.max(1, (to ?? jobs[jobs.length - 1]!.submitS) - (from ?? jobs[0]!.submitS));
  return {
    setup: {
      trace: options.trace ?? null,
      format: options.format ?? 'generic',
      window: { from: options.from ?? null, to: options.to ?? null },
      jobs: jobs.length,
      tenants: new Set(jobs.map((j) => j.tenant)).size,
      nodes: nodes.length,
      accelerators,
      offered_load: Math.round((deviceS / (accelerators * spanS)) * 1000) / 1000,
      device_hours: Math.round(deviceS / 3600),
      guarantees: options.guarantees ?? 'proportional',
      model,
    },
    results,
    runs,
  };
}
