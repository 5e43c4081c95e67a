/**
 * Best-fit placement for the baseline policies, in two forms:
 *
 *  1. Whole devices (`FreeCapacity` + `placeBestFit`): each replica goes to the schedulable node
 *     with the FEWEST matching free devices that still holds it (ties: node order), so small jobs
 *     fill partly used nodes and whole nodes stay free for large jobs. A gang is kept whole or
 *     dropped. This is the placement every baseline in this folder uses, so the baselines differ
 *     only in ORDER and PREEMPTION, not in packing.
 *  2. Fractional shares (`bestFitShareScore`): the node score of FGD's Best-fit baseline
 *     (Weng et al., ATC'23; hkust-adsl/kubernetes-scheduler-simulator, best_fit_score.go):
 *     Σ weight_i · (free_i − request_i) / maxSpec_i over (CPU, GPU milli), lower is better. The
 *     simulator's openb packing experiment uses it with milli-GPU slots.
 *
 * Why a separate copy from the `suanli` policy's topology-aware placement: the baselines must stay
 * what the literature describes (plain best-fit), so that a comparison measures the policy, not a
 * better packer hidden inside a baseline.
 *
 * Pure: no I/O, no clock, no randomness. `FreeCapacity` is a mutable working copy built from one
 * snapshot and thrown away at the end of the cycle.
 */
import type { ClusterNode, Placement, ReplicaPlacement, ReplicaRequest } from '../../model/resources.js';
import { isSchedulable } from '../../model/resources.js';
import type { RunningSchedJob, SchedJob, Snapshot } from '../../model/scheduling.js';

/** Free devices of one node during a cycle. */
export interface FreeNode {
  readonly node: ClusterNode;
  readonly schedulable: boolean;
  /** Free healthy device ids, in the node's device order. */
  free: string[];
  freeCpuMillis: number;
  freeMemoryMiB: number;
}

/** A working copy of what is free, node by node. */
export interface FreeCapacity {
  readonly nodes: FreeNode[];
  readonly byName: Map<string, FreeNode>;
  /** Accelerator id → type, for type-constrained requests. */
  readonly typeOf: Map<string, string>;
  /** Accelerator id → index on its node. */
  readonly order: Map<string, number>;
  /** Total free devices on schedulable nodes. */
  totalFree: number;
}

/** Per-cluster facts that do not change between cycles, cached by the identity of `snapshot.nodes`. */
interface StaticInfo {
  readonly typeOf: Map<string, string>;
  /** Device id → its position on its node, to keep free lists in device order. */
  readonly order: Map<string, number>;
}
const staticCache = new WeakMap<readonly ClusterNode[], StaticInfo>();

function staticInfo(nodes: readonly ClusterNode[]): StaticInfo {
  let info = staticCache.get(nodes);
  if (info === undefined) {
    const typeOf = new Map<string, string>();
    const order = new Map<string, number>();
    for (const n of nodes) n.accelerators.forEach((a, i) => (typeOf.set(a.id, a.type), order.set(a.id, i)));
    info = { typeOf, order };
    staticCache.set(nodes, info);
  }
  return info;
}

/**
 * Free devices per node as of the previous call, kept to answer the next call incrementally: the
 * simulator (and the engine) call the policy with mostly the same running jobs, so only the jobs
 * that started or ended since are applied. Keyed by the identity of `snapshot.nodes` (immutable
 * data: the same array means the same nodes in the same state) and of the running-job objects.
 * The answer is always the same as a full recount; this is a cache, not state the policy reads.
 */
interface FreeMemo {
  running: Set<RunningSchedJob>;
  free: Map<string, Set<string>>;
  cpuMem: Map<string, { cpu: number; mem: number }>;
}
const freeMemo = new WeakMap<readonly ClusterNode[], FreeMemo>();

function memoFor(nodes: readonly ClusterNode[], running: readonly RunningSchedJob[]): FreeMemo | null {
  let memo = freeMemo.get(nodes);
  if (memo === undefined) {
    memo = { running: new Set(), free: new Map(), cpuMem: new Map() };
    for (const n of nodes) {
      memo.free.set(n.name, new Set(n.accelerators.filter((a) => a.healthy).map((a) => a.id)));
      memo.cpuMem.set(n.name, { cpu: 0, mem: 0 });
    }
    freeMemo.set(nodes, memo);
  }
  const now = new Set(running);
  const apply = (job: RunningSchedJob, sign: 1 | -1): boolean => {
    for (const r of job.placement) {
      const f = memo.free.get(r.node);
      const cm = memo.cpuMem.get(r.node);
      if (f === undefined || cm === undefined) return false;
      for (const id of r.acceleratorIds) {
        if (sign === 1) {
          if (!f.delete(id)) return false;
        } else f.add(id);
      }
      cm.cpu += sign * r.cpuMillis;
      cm.mem += sign * r.memoryMiB;
    }
    return true;
  };
  for (const old of memo.running) if (!now.has(old)) apply(old, -1);
  for (const cur of now) {
    if (!memo.running.has(cur) && !apply(cur, 1)) {
      freeMemo.delete(nodes); // inconsistent input (two jobs on one device): recount from scratch
      return null;
    }
  }
  memo.running = now;
  return memo;
}

/**
 * What is free once every running job except those in `ignoreRunning` holds its devices.
 * `ignoreRunning` lets a preemptive policy ask "what if these were preempted?".
 */
export function freeCapacity(snapshot: Snapshot, ignoreRunning?: ReadonlySet<string>): FreeCapacity {
  const { typeOf, order } = staticInfo(snapshot.nodes);
  const memo = ignoreRunning === undefined ? memoFor(snapshot.nodes, snapshot.running) : null;
  const heldIds = new Set<string>();
  const heldCpuMem = new Map<string, { cpu: number; mem: number }>();
  if (memo === null) {
    for (const job of snapshot.running) {
      if (ignoreRunning?.has(job.id) === true) continue;
      for (const r of job.placement) {
        for (const id of r.acceleratorIds) heldIds.add(id);
        const h = heldCpuMem.get(r.node) ?? { cpu: 0, mem: 0 };
        h.cpu += r.cpuMillis;
        h.mem += r.memoryMiB;
        heldCpuMem.set(r.node, h);
      }
    }
  }
  const nodes: FreeNode[] = [];
  const byName = new Map<string, FreeNode>();
  let totalFree = 0;
  for (const node of snapshot.nodes) {
    let free: string[];
    let h: { cpu: number; mem: number } | undefined;
    if (memo !== null) {
      const set = memo.free.get(node.name)!;
      free = [];
      if (set.size > 0) for (const a of node.accelerators) if (set.has(a.id)) free.push(a.id);
      h = memo.cpuMem.get(node.name);
    } else {
      free = [];
      for (const a of node.accelerators) if (a.healthy && !heldIds.has(a.id)) free.push(a.id);
      h = heldCpuMem.get(node.name);
    }
    const schedulable = isSchedulable(node);
    if (schedulable) totalFree += free.length;
    const f: FreeNode = {
      node,
      schedulable,
      free,
      freeCpuMillis: node.cpuMillis - (h?.cpu ?? 0),
      freeMemoryMiB: node.memoryMiB - (h?.mem ?? 0),
    };
    nodes.push(f);
    byName.set(node.name, f);
  }
  return { nodes, byName, typeOf, order, totalFree };
}

/** Total devices a job holds (replicas × per-replica devices). */
export function jobAccelerators(job: SchedJob): number {
  return job.replicas * job.perReplica.accelerators;
}

function usable(
  cap: FreeCapacity,
  f: FreeNode,
  req: ReplicaRequest,
  avoid: ReadonlySet<string> | undefined,
): string[] {
  const types = req.acceleratorTypes;
  if (types.length === 0 && avoid === undefined) return f.free;
  return f.free.filter(
    (id) => (types.length === 0 || types.includes(cap.typeOf.get(id) ?? '')) && avoid?.has(id) !== true,
  );
}

/**
 * Places every replica of `job` best-fit, or returns null. On success the devices are taken out of
 * `cap`; on failure `cap` is unchanged. Devices in `avoid` are not used (EASY backfill uses this
 * to keep the head job's reservation free).
 */
export function placeBestFit(
  job: SchedJob,
  cap: FreeCapacity,
  avoid?: ReadonlySet<string>,
): Placement | null {
  const req = job.perReplica;
  if (jobAccelerators(job) > cap.totalFree) return null;
  const taken = new Map<FreeNode, { ids: Set<string>; cpu: number; mem: number }>();
  const placement: ReplicaPlacement[] = [];
  for (let r = 0; r < job.replicas; r++) {
    let best: FreeNode | null = null;
    let bestIds: string[] = [];
    for (const f of cap.nodes) {
      if (!f.schedulable || f.free.length < req.accelerators) continue;
      const t = taken.get(f);
      const cpu = f.freeCpuMillis - (t?.cpu ?? 0);
      const mem = f.freeMemoryMiB - (t?.mem ?? 0);
      if (cpu < req.cpuMillis || mem < req.memoryMiB) continue;
      let ids = usable(cap, f, req, avoid);
      if (t !== undefined) ids = ids.filter((id) => !t.ids.has(id));
      if (ids.length < req.accelerators) continue;
      if (best === null || ids.length < bestIds.length) {
        best = f;
        bestIds = ids;
        if (ids.length === req.accelerators) break; // a perfect fit cannot be beaten
      }
    }
    if (best === null) return null;
    const chosen = bestIds.slice(0, req.accelerators);
    let t = taken.get(best);
    if (t === undefined) {
      t = { ids: new Set<string>(), cpu: 0, mem: 0 };
      taken.set(best, t);
    }
    for (const id of chosen) t.ids.add(id);
    t.cpu += req.cpuMillis;
    t.mem += req.memoryMiB;
    placement.push({
      node: best.node.name,
      acceleratorIds: chosen,
      cpuMillis: req.cpuMillis,
      memoryMiB: req.memoryMiB,
    });
  }
  for (const [f, t] of taken) {
    f.free = f.free.filter((id) => !t.ids.has(id));
    f.freeCpuMillis -= t.cpu;
    f.freeMemoryMiB -= t.mem;
    cap.totalFree -= t.ids.size;
  }
  return placement;
}

/** Gives a placement's devices back to `cap` (used when planning "after these jobs end"). */
export function releasePlacement(cap: FreeCapacity, placement: Placement): void {
  for (const r of placement) {
    const f = cap.byName.get(r.node);
    if (f === undefined) continue;
    const order = cap.order;
    const merged = [...f.free, ...r.acceleratorIds.filter((id) => !f.free.includes(id))];
    merged.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    if (f.schedulable) cap.totalFree += merged.length - f.free.length;
    f.free = merged;
    f.freeCpuMillis += r.cpuMillis;
    f.freeMemoryMiB += r.memoryMiB;
  }
}

/** True if some set of nodes could hold the job if they were all empty (ignores current use). */
export function canEverFit(job: SchedJob, nodes: readonly ClusterNode[]): boolean {
  const req = job.perReplica;
  let fitting = 0;
  for (const n of nodes) {
    if (n.state === 'down') continue;
    let devices = 0;
    for (const a of n.accelerators) {
      if (a.healthy && (req.acceleratorTypes.length === 0 || req.acceleratorTypes.includes(a.type)))
        devices++;
    }
    if (devices >= req.accelerators && n.cpuMillis >= req.cpuMillis && n.memoryMiB >= req.memoryMiB)
      fitting++;
    if (fitting >= job.replicas) return true;
  }
  return false;
}

/** Running jobs' placements as one set of device ids. */
export function heldDevices(running: readonly RunningSchedJob[]): Set<string> {
  const s = new Set<string>();
  for (const j of running) for (const r of j.placement) for (const id of r.acceleratorIds) s.add(id);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Fractional shares (FGD's Best-fit, for the openb packing experiment)

/** Free resources of a node in the fractional model: per-GPU milli left (1000 = a whole GPU). */
export interface ShareNodeFree {
  readonly cpuMilliLeft: number;
  readonly memoryMiBLeft: number;
  readonly gpuMilliLeft: readonly number[];
}

/** A task in the fractional model: `gpus` whole GPUs, or one GPU share of `gpuMilli` (< 1000). */
export interface ShareRequest {
  readonly cpuMilli: number;
  readonly memoryMiB: number;
  readonly gpus: number;
  /** Per-GPU share, 1..1000; fractional only when `gpus` is 1. */
  readonly gpuMilli: number;
}

/** Normalisers of FGD's best-fit score (its MaxSpecCpu / MaxSpecGpu: the largest node of openb). */
export const SHARE_MAX_SPEC = { cpuMilli: 128_000, gpuMilli: 8_000 } as const;

/**
 * The GPU indices a task would take on this node, or null if it does not fit: whole GPUs take the
 * lowest-numbered fully free GPUs; a share takes the GPU with the LEAST milli left that still
 * holds it (best fit inside the node).
 */
export function shareDevices(node: ShareNodeFree, req: ShareRequest): number[] | null {
  if (node.cpuMilliLeft < req.cpuMilli || node.memoryMiBLeft < req.memoryMiB) return null;
  if (req.gpus === 0) return [];
  if (req.gpus === 1 && req.gpuMilli < 1000) {
    let best = -1;
    for (let i = 0; i < node.gpuMilliLeft.length; i++) {
      const left = node.gpuMilliLeft[i] ?? 0;
      if (left >= req.gpuMilli && (best < 0 || left < (node.gpuMilliLeft[best] ?? 0))) best = i;
    }
    return best < 0 ? null : [best];
  }
  const whole: number[] = [];
  for (let i = 0; i < node.gpuMilliLeft.length && whole.length < req.gpus; i++) {
    if (node.gpuMilliLeft[i] === 1000) whole.push(i);
  }
  return whole.length === req.gpus ? whole : null;
}

/**
 * FGD's best-fit node score, on its integer 0..100 scale where HIGHER is better (the plugin takes
 * (1 − Σ w·(free − req)/max) × 100 and truncates). Null when the task does not fit the node.
 */
export function bestFitShareScore(node: ShareNodeFree, req: ShareRequest): number | null {
  if (shareDevices(node, req) === null) return null;
  let gpuLeft = 0;
  for (const m of node.gpuMilliLeft) gpuLeft += m;
  const gpuReq = req.gpus === 1 ? req.gpuMilli : req.gpus * 1000;
  const raw =
    0.5 * ((node.cpuMilliLeft - req.cpuMilli) / SHARE_MAX_SPEC.cpuMilli) +
    0.5 * ((gpuLeft - gpuReq) / SHARE_MAX_SPEC.gpuMilli);
  return Math.trunc((1 - raw) * 100);
}
