/**
 * First-come-first-served: the platform's first policy and the simplest correct one.
 *
 * Jobs are considered strictly in (priority desc, submitTime asc, id asc) order. The first job
 * that cannot start blocks every job behind it (no backfill), so no job can starve. Gangs are
 * placed whole or not at all. It never places onto a device already held by a running job or by a
 * job started earlier in the same cycle.
 */
import type { ClusterNode, Placement, ReplicaPlacement, ReplicaRequest } from '../model/resources.js';
import { isSchedulable } from '../model/resources.js';
import type { FreeOfType } from '../verdict.js';
import type {
  PendingDecision,
  ScheduleResult,
  SchedJob,
  SchedulingPolicy,
  Snapshot,
  StartDecision,
} from '../model/scheduling.js';

/** Free capacity of one node during a cycle. Mutated only inside `schedule`, on copies. */
interface FreeNode {
  readonly node: ClusterNode;
  freeAcceleratorIds: Set<string>;
  freeCpuMillis: number;
  freeMemoryMiB: number;
}

export function byQueueOrder(a: SchedJob, b: SchedJob): number {
  return b.priority - a.priority || a.submitTime - b.submitTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function freeCapacity(snapshot: Snapshot): FreeNode[] {
  const held = new Map<string, { acc: Set<string>; cpu: number; mem: number }>();
  for (const job of snapshot.running) {
    for (const r of job.placement) {
      const h = held.get(r.node) ?? { acc: new Set<string>(), cpu: 0, mem: 0 };
      for (const id of r.acceleratorIds) h.acc.add(id);
      h.cpu += r.cpuMillis;
      h.mem += r.memoryMiB;
      held.set(r.node, h);
    }
  }
  return snapshot.nodes.map((node) => {
    const h = held.get(node.name);
    return {
      node,
      freeAcceleratorIds: new Set(
        node.accelerators.filter((a) => a.healthy && !h?.acc.has(a.id)).map((a) => a.id),
      ),
      freeCpuMillis: node.cpuMillis - (h?.cpu ?? 0),
      freeMemoryMiB: node.memoryMiB - (h?.mem ?? 0),
    };
  });
}

function matchingFree(free: FreeNode, req: ReplicaRequest): string[] {
  const types = req.acceleratorTypes;
  return free.node.accelerators
    .filter((a) => free.freeAcceleratorIds.has(a.id) && (types.length === 0 || types.includes(a.type)))
    .map((a) => a.id);
}

/** True if one replica could ever fit on this node if it were empty and schedulable. */
function fitsEmptyNode(node: ClusterNode, req: ReplicaRequest): boolean {
  const types = req.acceleratorTypes;
  const devices = node.accelerators.filter(
    (a) => a.healthy && (types.length === 0 || types.includes(a.type)),
  ).length;
  return devices >= req.accelerators && node.cpuMillis >= req.cpuMillis && node.memoryMiB >= req.memoryMiB;
}

/**
 * Places all replicas of `job` on `free` (best-fit: the node with the fewest matching free devices
 * that still fits), or returns null. `free` is modified only when the whole gang fits.
 */
function placeGang(job: SchedJob, free: FreeNode[]): Placement | null {
  const draft = new Map<FreeNode, { acc: Set<string>; cpu: number; mem: number }>();
  const placement: ReplicaPlacement[] = [];
  const req = job.perReplica;
  for (let r = 0; r < job.replicas; r++) {
    let best: { f: FreeNode; ids: string[] } | null = null;
    for (const f of free) {
      if (!isSchedulable(f.node)) continue;
      const taken = draft.get(f) ?? { acc: new Set<string>(), cpu: 0, mem: 0 };
      const ids = matchingFree(f, req).filter((id) => !taken.acc.has(id));
      if (ids.length < req.accelerators) continue;
      if (f.freeCpuMillis - taken.cpu < req.cpuMillis || f.freeMemoryMiB - taken.mem < req.memoryMiB)
        continue;
      if (best === null || ids.length < best.ids.length) best = { f, ids };
    }
    if (best === null) return null;
    const taken = draft.get(best.f) ?? { acc: new Set<string>(), cpu: 0, mem: 0 };
    const chosen = best.ids.slice(0, req.accelerators);
    for (const id of chosen) taken.acc.add(id);
    taken.cpu += req.cpuMillis;
    taken.mem += req.memoryMiB;
    draft.set(best.f, taken);
    placement.push({
      node: best.f.node.name,
      acceleratorIds: chosen,
      cpuMillis: req.cpuMillis,
      memoryMiB: req.memoryMiB,
    });
  }
  for (const [f, taken] of draft) {
    for (const id of taken.acc) f.freeAcceleratorIds.delete(id);
    f.freeCpuMillis -= taken.cpu;
    f.freeMemoryMiB -= taken.mem;
  }
  return placement;
}

function describeRequest(job: SchedJob): string {
  const r = job.perReplica;
  const type = r.acceleratorTypes.length === 0 ? 'accelerator' : r.acceleratorTypes.join('|');
  const per =
    `${r.accelerators} × ${type}` +
    (r.cpuMillis ? `, ${r.cpuMillis / 1000} CPU` : '') +
    (r.memoryMiB ? `, ${r.memoryMiB} MiB` : '');
  return job.replicas > 1 ? `${job.replicas} replicas of (${per})` : per;
}

/** Free healthy devices per type the request names (all types when it names none), by name. */
function freeOfTypes(free: readonly FreeNode[], types: readonly string[]): FreeOfType[] {
  const count = new Map<string, number>(types.map((t) => [t, 0]));
  for (const f of free) {
    if (!isSchedulable(f.node)) continue;
    for (const a of f.node.accelerators)
      if (f.freeAcceleratorIds.has(a.id) && (types.length === 0 || count.has(a.type)))
        count.set(a.type, (count.get(a.type) ?? 0) + 1);
  }
  return [...count.keys()].sort().map((type) => ({ type, free: count.get(type) ?? 0 }));
}

export const fcfsPolicy: SchedulingPolicy = {
  name: 'fcfs',
  schedule(snapshot: Snapshot): ScheduleResult {
    const free = freeCapacity(snapshot);
    const queue = [...snapshot.pending].sort(byQueueOrder);
    const starts: StartDecision[] = [];
    const pending: PendingDecision[] = [];
    let blockedBy: SchedJob | null = null;
    for (const job of queue) {
      const everFits =
        job.replicas <=
        snapshot.nodes.filter((n) => n.state !== 'down' && fitsEmptyNode(n, job.perReplica)).length;
      if (!everFits) {
        pending.push({
          jobId: job.id,
          verdict: 'can-never-fit',
          reason: `no ${job.replicas > 1 ? 'set of nodes' : 'node'} in the cluster can hold ${describeRequest(job)}`,
          estimatedStart: null,
          detail: {
            code: 'no-node-fits',
            replicas: job.replicas,
            need: job.replicas * job.perReplica.accelerators,
          },
        });
        continue; // a job that can never run must not block the queue
      }
      if (blockedBy !== null) {
        pending.push({
          jobId: job.id,
          verdict: 'waits-for-turn',
          reason: `first-come-first-served: waits behind job ${blockedBy.id}`,
          estimatedStart: null,
          detail: { code: 'behind-job', job: blockedBy.id, order: 'fcfs' },
        });
        continue;
      }
      const placement = placeGang(job, free);
      if (placement !== null) {
        starts.push({ jobId: job.id, placement, reason: 'fits now; first in queue order' });
      } else {
        blockedBy = job;
        pending.push({
          jobId: job.id,
          verdict: 'waits-for-capacity',
          reason: `not enough free capacity for ${describeRequest(job)}: waits for running jobs to finish`,
          estimatedStart: null,
          detail: {
            code: 'needs-capacity',
            need: job.replicas * job.perReplica.accelerators,
            free: freeOfTypes(free, job.perReplica.acceleratorTypes),
            at: null,
            reserved: false,
          },
        });
      }
    }
    return { starts, preemptions: [], pending };
  },
};
