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
 * Pure: no I/O, no clock, no randomness. `FreeCapacity` is a working copy built from one snapshot and
 * thrown away at the end of the cycle. Its free-device arrays are never changed in place (a change
 * replaces the array), so copies of it and the cache below share them.
 *
 * Speed (the simulator calls these hundreds of thousands of times per trace): what does not change
 * between cycles is computed once per `snapshot.nodes` array (immutable data: the same array means
 * the same nodes in the same state), the free devices are kept from one call to the next and only
 * the running jobs that started or ended since are applied, and placement counts instead of
 * building lists. Every answer is the same as the plain computation's.
 */
import type { ClusterNode, Placement, ReplicaPlacement } from '../../model/resources.js';
import { isSchedulable } from '../../model/resources.js';
import type { RunningSchedJob, SchedJob, Snapshot } from '../../model/scheduling.js';
import { arrayDelta } from './common.js';

/** Free devices of one node during a cycle. */
export interface FreeNode {
  readonly node: ClusterNode;
  readonly schedulable: boolean;
  /** Free healthy device ids, in the node's device order. Replaced, never changed in place. */
  free: readonly string[];
  freeCpuMillis: number;
  freeMemoryMiB: number;
}

/** A working copy of what is free, node by node. */
export interface FreeCapacity {
  readonly nodes: FreeNode[];
  /** Node name → its position in `nodes` (the last node of that name). */
  readonly index: ReadonlyMap<string, number>;
  /** Accelerator id → type, for type-constrained requests. */
  readonly typeOf: ReadonlyMap<string, string>;
  /** Accelerator id → index on its node. */
  readonly order: ReadonlyMap<string, number>;
  /** Total free devices on schedulable nodes. */
  totalFree: number;
  /**
   * The running jobs' placements were checked: every device is a healthy device of the node the
   * replica names, held by one replica only. Then what releasing some of them gives back can be
   * counted exactly (`countReleased`).
   */
  readonly consistent: boolean;
}

/** Per-cluster facts that do not change between cycles, cached by the identity of `snapshot.nodes`. */
interface StaticInfo {
  readonly typeOf: Map<string, string>;
  /** Device id → its position on its node, to keep free lists in device order. */
  readonly order: Map<string, number>;
  readonly index: Map<string, number>;
  /** Node names are unique (else the incremental free-device cache is not used). */
  readonly uniqueNames: boolean;
  readonly schedulable: readonly boolean[];
  /** Healthy devices of schedulable nodes. */
  readonly schedulableHealthy: number;
  /** `canEverFit` answers by request shape. */
  readonly everFits: Map<string, boolean>;
}
const staticCache = new WeakMap<readonly ClusterNode[], StaticInfo>();

function staticInfo(nodes: readonly ClusterNode[]): StaticInfo {
  let info = staticCache.get(nodes);
  if (info === undefined) {
    const typeOf = new Map<string, string>();
    const order = new Map<string, number>();
    const index = new Map<string, number>();
    let schedulableHealthy = 0;
    nodes.forEach((n, i) => {
      n.accelerators.forEach((a, k) => (typeOf.set(a.id, a.type), order.set(a.id, k)));
      index.set(n.name, i);
      if (isSchedulable(n)) for (const a of n.accelerators) if (a.healthy) schedulableHealthy++;
    });
    info = {
      typeOf,
      order,
      index,
      uniqueNames: index.size === nodes.length,
      schedulable: nodes.map(isSchedulable),
      schedulableHealthy,
      everFits: new Map(),
    };
    staticCache.set(nodes, info);
  }
  return info;
}

/** Devices on schedulable nodes that are healthy (whether held or not): the most a cycle can hand out. */
export function schedulableDevices(nodes: readonly ClusterNode[]): number {
  return staticInfo(nodes).schedulableHealthy;
}

/**
 * Free devices per node as of the previous call, kept to answer the next call incrementally: the
 * simulator (and the engine) call the policy with mostly the same running jobs, so only the jobs
 * that started or ended since are applied. Keyed by the identity of `snapshot.nodes` and of the
 * running-job objects (immutable data). The answer is always the same as a full recount; this is a
 * cache, not state the policy reads.
 */
interface FreeMemo {
  /** The running jobs applied, as the array last seen. */
  running: readonly RunningSchedJob[];
  /** Per node (by position): free healthy devices in device order, replaced on change. */
  readonly free: (readonly string[])[];
  readonly heldCpu: number[];
  readonly heldMem: number[];
}
const freeMemo = new WeakMap<readonly ClusterNode[], FreeMemo>();

function memoFor(
  nodes: readonly ClusterNode[],
  info: StaticInfo,
  running: readonly RunningSchedJob[],
): FreeMemo | null {
  if (!info.uniqueNames) return null;
  let memo = freeMemo.get(nodes);
  if (memo === undefined) {
    memo = {
      running: [],
      free: nodes.map((n) => n.accelerators.filter((a) => a.healthy).map((a) => a.id)),
      heldCpu: nodes.map(() => 0),
      heldMem: nodes.map(() => 0),
    };
    freeMemo.set(nodes, memo);
  }
  if (memo.running === running) return memo;
  const { removed, added } = arrayDelta(memo.running, running);
  const order = info.order;
  for (const job of removed) {
    for (const r of job.placement) {
      const i = info.index.get(r.node);
      if (i === undefined) continue;
      const f = memo.free[i]!;
      const back = r.acceleratorIds.filter((id) => !f.includes(id));
      if (back.length > 0) {
        memo.free[i] = mergeByOrder(f, [...new Set(back)], order);
      }
      memo.heldCpu[i]! -= r.cpuMillis;
      memo.heldMem[i]! -= r.memoryMiB;
    }
  }
  for (const job of added) {
    for (const r of job.placement) {
      const i = info.index.get(r.node);
      let ok = i !== undefined;
      if (ok) {
        const f = memo.free[i!]!;
        const taken = new Set(r.acceleratorIds);
        if (taken.size !== r.acceleratorIds.length) ok = false;
        for (const id of taken) if (!f.includes(id)) ok = false;
        if (ok) {
          memo.free[i!] = f.filter((id) => !taken.has(id));
          memo.heldCpu[i!]! += r.cpuMillis;
          memo.heldMem[i!]! += r.memoryMiB;
        }
      }
      if (!ok) {
        freeMemo.delete(nodes); // inconsistent input (two jobs on one device): recount from scratch
        return null;
      }
    }
  }
  memo.running = running;
  return memo;
}

/**
 * `[...free, ...add]` stably sorted by device order (`free` is already in that order): a merge,
 * without the sort (which allocates its work arrays every call).
 */
function mergeByOrder(
  free: readonly string[],
  add: readonly string[],
  order: ReadonlyMap<string, number>,
): string[] {
  const at = (id: string): number => order.get(id) ?? 0;
  let sorted = true;
  for (let k = 1; k < add.length && sorted; k++) sorted = at(add[k - 1]!) <= at(add[k]!);
  const b = sorted ? add : [...add].sort((x, y) => at(x) - at(y));
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < free.length && j < b.length) out.push(at(b[j]!) < at(free[i]!) ? b[j++]! : free[i++]!);
  while (i < free.length) out.push(free[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/**
 * What is free once every running job except those in `ignoreRunning` holds its devices.
 * `ignoreRunning` lets a preemptive policy ask "what if these were preempted?".
 */
export function freeCapacity(snapshot: Snapshot, ignoreRunning?: ReadonlySet<string>): FreeCapacity {
  const info = staticInfo(snapshot.nodes);
  const memo = ignoreRunning === undefined ? memoFor(snapshot.nodes, info, snapshot.running) : null;
  const nodes: FreeNode[] = [];
  let totalFree = 0;
  if (memo !== null) {
    snapshot.nodes.forEach((node, i) => {
      const free = memo.free[i]!;
      const schedulable = info.schedulable[i]!;
      if (schedulable) totalFree += free.length;
      nodes.push({
        node,
        schedulable,
        free,
        freeCpuMillis: node.cpuMillis - memo.heldCpu[i]!,
        freeMemoryMiB: node.memoryMiB - memo.heldMem[i]!,
      });
    });
    return { nodes, index: info.index, typeOf: info.typeOf, order: info.order, totalFree, consistent: true };
  }
  const heldIds = new Set<string>();
  const heldCpuMem = new Map<string, { cpu: number; mem: number }>();
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
  for (const node of snapshot.nodes) {
    const free: string[] = [];
    for (const a of node.accelerators) if (a.healthy && !heldIds.has(a.id)) free.push(a.id);
    const h = heldCpuMem.get(node.name);
    const schedulable = isSchedulable(node);
    if (schedulable) totalFree += free.length;
    nodes.push({
      node,
      schedulable,
      free,
      freeCpuMillis: node.cpuMillis - (h?.cpu ?? 0),
      freeMemoryMiB: node.memoryMiB - (h?.mem ?? 0),
    });
  }
  return { nodes, index: info.index, typeOf: info.typeOf, order: info.order, totalFree, consistent: false };
}

/** A copy of `cap` to plan on (the free arrays are shared: they are replaced, never changed). */
export function cloneCapacity(cap: FreeCapacity): FreeCapacity {
  return {
    nodes: cap.nodes.map((f) => ({ ...f })),
    index: cap.index,
    typeOf: cap.typeOf,
    order: cap.order,
    totalFree: cap.totalFree,
    consistent: cap.consistent,
  };
}

/** Total devices a job holds (replicas × per-replica devices). */
export function jobAccelerators(job: SchedJob): number {
  return job.replicas * job.perReplica.accelerators;
}

/** Whether device `id` of `f` may serve `req` (type) outside `avoid` and `taken`. */
function usableId(
  cap: FreeCapacity,
  id: string,
  types: readonly string[],
  avoid: ReadonlySet<string> | undefined,
  taken: ReadonlySet<string> | undefined,
): boolean {
  return (
    (types.length === 0 || types.includes(cap.typeOf.get(id) ?? '')) &&
    avoid?.has(id) !== true &&
    taken?.has(id) !== true
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
  const need = req.accelerators;
  if (job.replicas * need > cap.totalFree) return null;
  const nodes = cap.nodes;
  const types = req.acceleratorTypes;
  if (job.replicas === 1 && types.length === 0 && avoid === undefined) {
    // One replica on any device type: the node with the fewest free devices that holds it.
    let best = -1;
    let bestLen = Infinity;
    for (let i = 0; i < nodes.length; i++) {
      const f = nodes[i]!;
      const len = f.free.length;
      if (len < need || len >= bestLen || !f.schedulable) continue;
      if (f.freeCpuMillis < req.cpuMillis || f.freeMemoryMiB < req.memoryMiB) continue;
      best = i;
      bestLen = len;
      if (len === need) break; // a perfect fit cannot be beaten
    }
    if (best < 0) return null;
    const f = nodes[best]!;
    const chosen = f.free.slice(0, need);
    f.free = f.free.slice(need);
    f.freeCpuMillis -= req.cpuMillis;
    f.freeMemoryMiB -= req.memoryMiB;
    cap.totalFree -= chosen.length;
    return [
      { node: f.node.name, acceleratorIds: chosen, cpuMillis: req.cpuMillis, memoryMiB: req.memoryMiB },
    ];
  }
  const plain = types.length === 0 && avoid === undefined;
  const taken = new Map<number, { ids: Set<string>; cpu: number; mem: number }>();
  const placement: ReplicaPlacement[] = [];
  for (let r = 0; r < job.replicas; r++) {
    let best = -1;
    let bestLen = Infinity;
    for (let i = 0; i < nodes.length; i++) {
      const f = nodes[i]!;
      if (!f.schedulable || f.free.length < need) continue;
      const t = taken.get(i);
      const cpu = f.freeCpuMillis - (t?.cpu ?? 0);
      const mem = f.freeMemoryMiB - (t?.mem ?? 0);
      if (cpu < req.cpuMillis || mem < req.memoryMiB) continue;
      let len: number;
      if (plain && t === undefined) len = f.free.length;
      else {
        len = 0;
        for (const id of f.free) if (usableId(cap, id, types, avoid, t?.ids)) len++;
      }
      if (len < need) continue;
      if (len < bestLen) {
        best = i;
        bestLen = len;
        if (len === need) break; // a perfect fit cannot be beaten
      }
    }
    if (best < 0) return null;
    const f = nodes[best]!;
    let t = taken.get(best);
    const chosen: string[] = [];
    for (const id of f.free) {
      if (chosen.length === need) break;
      if (usableId(cap, id, types, avoid, t?.ids)) chosen.push(id);
    }
    if (t === undefined) {
      t = { ids: new Set<string>(), cpu: 0, mem: 0 };
      taken.set(best, t);
    }
    for (const id of chosen) t.ids.add(id);
    t.cpu += req.cpuMillis;
    t.mem += req.memoryMiB;
    placement.push({
      node: f.node.name,
      acceleratorIds: chosen,
      cpuMillis: req.cpuMillis,
      memoryMiB: req.memoryMiB,
    });
  }
  for (const [i, t] of taken) {
    const f = nodes[i]!;
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
    const i = cap.index.get(r.node);
    if (i === undefined) continue;
    const f = cap.nodes[i]!;
    const order = cap.order;
    const merged = mergeByOrder(
      f.free,
      r.acceleratorIds.filter((id) => !f.free.includes(id)),
      order,
    );
    if (f.schedulable) cap.totalFree += merged.length - f.free.length;
    f.free = merged;
    f.freeCpuMillis += r.cpuMillis;
    f.freeMemoryMiB += r.memoryMiB;
  }
}

/**
 * Free devices per node of `cap` (0 on nodes that are not schedulable), for counting what a plan
 * could hold before building it (see `countReleased`, `enoughSlots`).
 */
export function freeCounts(cap: FreeCapacity): number[] {
  return cap.nodes.map((f) => (f.schedulable ? f.free.length : 0));
}

/**
 * Adds to `counts` (from `freeCounts(cap)`) the devices of `placement` that are not free in `cap`,
 * and returns how many: at least what `releasePlacement` would give back to `cap` or to a plan
 * made from it (an upper bound, so a placement that `enoughSlots` rules out cannot succeed).
 */
export function countReleased(cap: FreeCapacity, counts: number[], placement: Placement): number {
  let added = 0;
  for (const r of placement) {
    const i = cap.index.get(r.node);
    if (i === undefined || !cap.nodes[i]!.schedulable) continue;
    const free = cap.nodes[i]!.free;
    let back = 0;
    for (const id of r.acceleratorIds) if (!free.includes(id)) back++;
    counts[i]! += back;
    added += back;
  }
  return added;
}

/**
 * Whether `replicas` replicas of `per` devices could be cut out of nodes with `counts[i]` free
 * devices: a necessary condition of `placeBestFit` (which may still fail on CPU, memory, device
 * type or devices to avoid).
 */
export function enoughSlots(counts: readonly number[], per: number, replicas: number): boolean {
  if (per === 0 || replicas === 0) return true;
  let slots = 0;
  for (const c of counts) if ((slots += Math.floor(c / per)) >= replicas) return true;
  return false;
}

/** True if some set of nodes could hold the job if they were all empty (ignores current use). */
export function canEverFit(job: SchedJob, nodes: readonly ClusterNode[]): boolean {
  const req = job.perReplica;
  const cache = staticInfo(nodes).everFits;
  const key = `${job.replicas}|${req.accelerators}|${req.cpuMillis}|${req.memoryMiB}|${req.acceleratorTypes.length === 0 ? '' : JSON.stringify(req.acceleratorTypes)}`;
  let fits = cache.get(key);
  if (fits === undefined) {
    fits = false;
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
      if (fitting >= job.replicas) {
        fits = true;
        break;
      }
    }
    cache.set(key, fits);
  }
  return fits;
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
