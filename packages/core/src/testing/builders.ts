/**
 * Small fixture builders with sensible defaults (as kueue's wrappers.go), for the core's tests and
 * the simulator's. Each call returns fresh, plain objects; override only what a test is about.
 *
 *   makeNode('n1', { accelerators: 8, type: 'nvidia-h200', switch: 's1' })
 *   makeJob('j1', { tenant: 'lab-a', replicas: 2, accelerators: 8, timeLimitMs: 3_600_000 })
 *   makeRunning(makeJob('r1'), placement, { startTime: 0 })
 */
import type { ClusterNode, NodeState, Placement } from '../model/resources.js';
import type { RunningSchedJob, SchedJob } from '../model/scheduling.js';

export interface NodeOpts {
  accelerators?: number;
  type?: string;
  state?: NodeState;
  cpuMillis?: number;
  memoryMiB?: number;
  switch?: string;
  rack?: string;
  /** Device indexes reported unhealthy. */
  unhealthy?: readonly number[];
}

export function makeNode(name: string, o: NodeOpts = {}): ClusterNode {
  const type = o.type ?? 'nvidia-h200';
  const n = o.accelerators ?? 8;
  const unhealthy = new Set(o.unhealthy ?? []);
  return {
    name,
    state: o.state ?? 'ready',
    accelerators: Array.from({ length: n }, (_, i) => ({
      id: `${name}/${type}/${i}`,
      index: i,
      type,
      vendor: type.startsWith('ascend') ? ('ascend' as const) : ('nvidia' as const),
      source: 'declared' as const,
      healthy: !unhealthy.has(i),
    })),
    cpuMillis: o.cpuMillis ?? 128_000,
    memoryMiB: o.memoryMiB ?? 1024 * 1024,
    topology: {
      ...(o.switch !== undefined ? { switch: o.switch } : {}),
      ...(o.rack !== undefined ? { rack: o.rack } : {}),
    },
    labels: {},
  };
}

export interface JobOpts {
  tenant?: string;
  project?: string;
  submitTime?: number;
  priority?: number;
  replicas?: number;
  accelerators?: number;
  types?: readonly string[];
  cpuMillis?: number;
  memoryMiB?: number;
  timeLimitMs?: number | null;
  preemptible?: boolean;
  attainedServiceMs?: number;
  claimedAt?: number;
}

export function makeJob(id: string, o: JobOpts = {}): SchedJob {
  return {
    id,
    tenant: o.tenant ?? 'default',
    project: o.project ?? 'default',
    submitTime: o.submitTime ?? 0,
    priority: o.priority ?? 0,
    replicas: o.replicas ?? 1,
    perReplica: {
      accelerators: o.accelerators ?? 1,
      acceleratorTypes: o.types ?? [],
      cpuMillis: o.cpuMillis ?? 0,
      memoryMiB: o.memoryMiB ?? 0,
    },
    timeLimitMs: o.timeLimitMs === undefined ? 3_600_000 : o.timeLimitMs,
    preemptible: o.preemptible ?? true,
    ...(o.attainedServiceMs !== undefined ? { attainedServiceMs: o.attainedServiceMs } : {}),
    ...(o.claimedAt !== undefined ? { claimedAt: o.claimedAt } : {}),
  };
}

export interface RunningOpts {
  startTime?: number;
  lastCheckpointTime?: number | null;
  preemptedAt?: number | null;
}

export function makeRunning(job: SchedJob, placement: Placement, o: RunningOpts = {}): RunningSchedJob {
  return {
    ...job,
    startTime: o.startTime ?? 0,
    placement,
    lastCheckpointTime: o.lastCheckpointTime ?? null,
    ...(o.preemptedAt !== undefined ? { preemptedAt: o.preemptedAt } : {}),
  };
}

/** A placement of `count` devices starting at `first` on `node` (ids as makeNode names them). */
export function devicesOn(node: string, count: number, first = 0, type = 'nvidia-h200'): Placement {
  return [
    {
      node,
      acceleratorIds: Array.from({ length: count }, (_, i) => `${node}/${type}/${first + i}`),
      cpuMillis: 0,
      memoryMiB: 0,
    },
  ];
}
