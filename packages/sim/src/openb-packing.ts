/**
 * The FGD packing experiment on Alibaba's openb trace (Weng et al., ATC'23), as the validation of
 * our placement code against a published figure.
 *
 * Model (a packing model of its own, because openb asks for FRACTIONS of a GPU, which the core's
 * whole-device `Accelerator` model does not express): every node has CPU milli, memory and GPUs of
 * one model, each GPU a slot of 1000 milli. A task asks for CPU, memory and either k whole GPUs
 * or one share of m < 1000 milli of a single GPU, optionally restricted to GPU models
 * (`gpu_spec`). Tasks arrive one by one and never leave; a task that fits no node is dropped and
 * counted as arrived. As in the authors' setup, the task list is "inflated": for each seed, the
 * trace's tasks plus tasks sampled from it with replacement until the arrived GPU requests reach
 * 130 % of the cluster's GPUs, in a seeded random order. The KPI is the GPU allocation ratio
 * (allocated GPU milli / total GPU milli) when arrived requests reach 90…130 % of capacity.
 *
 * Node choice: `best-fit` takes the node with the highest FGD best-fit score (the core's
 * `bestFitShareScore`, an integer 0–100 as the Kubernetes plugin returns) and breaks ties at random
 * (seeded), as kube-scheduler's selectHost does; `random-fit` takes a random feasible node. Inside
 * a node, under best-fit a share goes to the fullest GPU that holds it (`shareDevices`), under
 * random-fit to a random GPU that holds it; whole GPUs take the lowest-numbered free ones.
 */
import { readFileSync } from 'node:fs';
import type { ShareRequest } from '@suanli/core';
import { bestFitShareScore, shareDevices } from '@suanli/core';
import { parseCsv } from './csv.js';
import { TraceError } from './trace.js';

/** Seeded PRNG (mulberry32): the sim's only randomness, always from a seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PackNode {
  readonly name: string;
  readonly model: string;
  cpuMilliLeft: number;
  memoryMiBLeft: number;
  readonly gpuMilliLeft: number[];
}

export interface PackTask extends ShareRequest {
  readonly name: string;
  /** Allowed GPU models; empty = any. */
  readonly models: readonly string[];
}

export function parseOpenbNodes(text: string): PackNode[] {
  const t = parseCsv(text);
  const col = (n: string): number => {
    const i = t.header.indexOf(n);
    if (i < 0) throw new TraceError(`openb node list: missing column ${n}`);
    return i;
  };
  const [sn, cpu, mem, gpu, model] = [
    col('sn'),
    col('cpu_milli'),
    col('memory_mib'),
    col('gpu'),
    col('model'),
  ];
  return t.rows.map(({ fields }) => ({
    name: fields[sn] ?? '',
    model: (fields[model] ?? '').trim(),
    cpuMilliLeft: Number(fields[cpu]),
    memoryMiBLeft: Number(fields[mem]),
    gpuMilliLeft: new Array<number>(Number(fields[gpu])).fill(1000),
  }));
}

export function parseOpenbTasks(text: string): PackTask[] {
  const t = parseCsv(text);
  const col = (n: string): number => {
    const i = t.header.indexOf(n);
    if (i < 0) throw new TraceError(`openb pod list: missing column ${n}`);
    return i;
  };
  const [name, cpu, mem, ng, gm, spec] = [
    col('name'),
    col('cpu_milli'),
    col('memory_mib'),
    col('num_gpu'),
    col('gpu_milli'),
    col('gpu_spec'),
  ];
  return t.rows.map(({ fields }) => {
    const gpus = Number(fields[ng]);
    const s = (fields[spec] ?? '').trim();
    return {
      name: fields[name] ?? '',
      cpuMilli: Number(fields[cpu]),
      memoryMiB: Number(fields[mem]),
      gpus,
      gpuMilli: gpus === 0 ? 0 : Number(fields[gm]),
      models: s === '' ? [] : s.split('|'),
    };
  });
}

/** GPU milli a task asks for in total. */
export function taskGpuMilli(t: ShareRequest): number {
  return t.gpus === 1 ? t.gpuMilli : t.gpus * 1000;
}

export type PackingPolicy = 'best-fit' | 'random-fit';

export interface PackingRun {
  readonly policy: PackingPolicy;
  readonly seed: number;
  /** Arrived GPU requests as % of capacity → allocation ratio %. */
  readonly allocPctAt: Readonly<Record<string, number>>;
  readonly tasksArrived: number;
  readonly tasksFailed: number;
}

export const ARRIVED_CHECKPOINTS_PCT = [90, 100, 110, 120, 130] as const;

/** One seeded run: inflate, shuffle, place one by one, read the allocation ratio at checkpoints. */
export function packOnce(
  nodesIn: readonly PackNode[],
  tasks: readonly PackTask[],
  policy: PackingPolicy,
  seed: number,
): PackingRun {
  const rnd = mulberry32(seed);
  const nodes: PackNode[] = nodesIn.map((n) => ({ ...n, gpuMilliLeft: [...n.gpuMilliLeft] }));
  const capacity = nodes.reduce((s, n) => s + n.gpuMilliLeft.length * 1000, 0);
  const target = (capacity * ARRIVED_CHECKPOINTS_PCT[ARRIVED_CHECKPOINTS_PCT.length - 1]!) / 100;
  const list: PackTask[] = [...tasks];
  let req = list.reduce((s, t) => s + taskGpuMilli(t), 0);
  while (req < target) {
    const t = tasks[Math.floor(rnd() * tasks.length)]!;
    list.push(t);
    req += taskGpuMilli(t);
  }
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  const at: Record<string, number> = {};
  let cp = 0;
  let arrived = 0;
  let allocated = 0;
  let count = 0;
  let failed = 0;
  const feasible: number[] = [];
  for (const task of list) {
    if (cp >= ARRIVED_CHECKPOINTS_PCT.length) break;
    count++;
    let best = -1;
    let bestScore = -Infinity;
    let ties = 0;
    feasible.length = 0;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (task.gpus > 0 && task.models.length > 0 && !task.models.includes(n.model)) continue;
      if (task.gpus > n.gpuMilliLeft.length) continue;
      if (policy === 'random-fit') {
        if (shareDevices(n, task) !== null) feasible.push(i);
        continue;
      }
      const score = bestFitShareScore(n, task);
      if (score === null) continue;
      if (score > bestScore) {
        bestScore = score;
        best = i;
        ties = 1;
      } else if (score === bestScore) {
        ties++;
        if (rnd() * ties < 1) best = i; // reservoir sampling: uniform among equal scores
      }
    }
    if (policy === 'random-fit' && feasible.length > 0) best = feasible[Math.floor(rnd() * feasible.length)]!;
    const milli = taskGpuMilli(task);
    if (best >= 0) {
      const n = nodes[best]!;
      let devs = shareDevices(n, task)!;
      if (policy === 'random-fit' && task.gpus === 1 && task.gpuMilli < 1000) {
        // random-fit is random all the way down: a random GPU of the node that holds the share
        const fits = n.gpuMilliLeft.map((m, i) => (m >= task.gpuMilli ? i : -1)).filter((i) => i >= 0);
        devs = [fits[Math.floor(rnd() * fits.length)]!];
      }
      for (const d of devs) n.gpuMilliLeft[d] = n.gpuMilliLeft[d]! - (task.gpus === 1 ? task.gpuMilli : 1000);
      n.cpuMilliLeft -= task.cpuMilli;
      n.memoryMiBLeft -= task.memoryMiB;
      allocated += milli;
    } else failed++;
    arrived += milli;
    while (
      cp < ARRIVED_CHECKPOINTS_PCT.length &&
      arrived >= (capacity * ARRIVED_CHECKPOINTS_PCT[cp]!) / 100
    ) {
      at[String(ARRIVED_CHECKPOINTS_PCT[cp])] = Math.round((allocated / capacity) * 10000) / 100;
      cp++;
    }
  }
  return { policy, seed, allocPctAt: at, tasksArrived: count, tasksFailed: failed };
}

/** FGD's published means (fgd_expected_gpu_alloc_ratio_summary.csv, openb_pod_list_default). */
export const FGD_PUBLISHED_DEFAULT: Readonly<Record<PackingPolicy, Readonly<Record<string, number>>>> = {
  'best-fit': { '90': 89.99, '100': 92.86, '110': 92.94, '120': 93.0, '130': 93.08 },
  'random-fit': { '130': 87.47 },
};

export interface PackingResult {
  readonly pod_list: string;
  readonly node_list: string;
  readonly gpus: number;
  readonly seeds: readonly number[];
  readonly results: readonly {
    readonly policy: PackingPolicy;
    readonly mean_alloc_pct_at: Readonly<Record<string, number>>;
    readonly min_130: number;
    readonly max_130: number;
    readonly published_130: number | null;
    readonly runs: readonly PackingRun[];
  }[];
}

export function runOpenbPacking(o: {
  podList: string;
  nodeList: string;
  seeds: readonly number[];
  policies: readonly string[];
}): PackingResult {
  const nodes = parseOpenbNodes(readFileSync(o.nodeList, 'utf8'));
  const tasks = parseOpenbTasks(readFileSync(o.podList, 'utf8'));
  const policies = o.policies.map((p) => {
    if (p !== 'best-fit' && p !== 'random-fit')
      throw new TraceError(`packing policy must be best-fit or random-fit, got "${p}"`);
    return p;
  });
  const isDefault = o.podList.endsWith('openb_pod_list_default.csv');
  return {
    pod_list: o.podList,
    node_list: o.nodeList,
    gpus: nodes.reduce((s, n) => s + n.gpuMilliLeft.length, 0),
    seeds: o.seeds,
    results: policies.map((policy) => {
      const runs = o.seeds.map((s) => packOnce(nodes, tasks, policy, s));
      const mean: Record<string, number> = {};
      for (const cp of ARRIVED_CHECKPOINTS_PCT) {
        const k = String(cp);
        mean[k] =
          Math.round((runs.reduce((s, r) => s + (r.allocPctAt[k] ?? NaN), 0) / runs.length) * 100) / 100;
      }
      const at130 = runs.map((r) => r.allocPctAt['130'] ?? NaN);
      return {
        policy,
        mean_alloc_pct_at: mean,
        min_130: Math.min(...at130),
        max_130: Math.max(...at130),
        published_130: isDefault ? (FGD_PUBLISHED_DEFAULT[policy]['130'] ?? null) : null,
        runs,
      };
    }),
  };
}

export function formatPackingMarkdown(r: PackingResult): string {
  const lines = [
    `openb packing: ${r.pod_list} on ${r.node_list} (${r.gpus} GPUs), seeds ${r.seeds.join(',')}; GPU allocation ratio (%) when arrived requests reach X % of capacity`,
    '',
    `| policy | ${ARRIVED_CHECKPOINTS_PCT.map((c) => `${c} %`).join(' | ')} | min–max at 130 % | published at 130 % |`,
    `| --- | ${ARRIVED_CHECKPOINTS_PCT.map(() => '---:').join(' | ')} | ---: | ---: |`,
  ];
  for (const x of r.results) {
    lines.push(
      `| ${x.policy} | ${ARRIVED_CHECKPOINTS_PCT.map((c) => x.mean_alloc_pct_at[String(c)]!.toFixed(2)).join(' | ')} | ${x.min_130.toFixed(2)}–${x.max_130.toFixed(2)} | ${x.published_130?.toFixed(2) ?? '–'} |`,
    );
  }
  return lines.join('\n') + '\n';
}
