/**
 * Free capacity of the hall during one scheduling cycle, and best-fit, topology-aware gang placement
 * over it.
 *
 * `ClusterCapacity` is derived once from `nodes` (static: which healthy devices of which type each
 * node has, its CPU and memory, its switch). `FreeState` is what is free right now (capacity minus
 * running placements). It is mutable, but every change goes through `take` / `give`, which record an
 * undo log, so a cycle can try things (a gang draft, a preemption set) and roll back exactly:
 * the draft is kept whole or dropped (as volcano's Statement Commit / Discard).
 *
 * Determinism: nodes are ordered by name and devices by (index, id) when the capacity is built, so
 * the answer never depends on the order of the input arrays.
 */
import type {
  AcceleratorType,
  ClusterNode,
  Placement,
  ReplicaPlacement,
  ReplicaRequest,
} from '../model/resources.js';

/** Static view of one node. `index` is its position in name order. */
export interface NodeCapacity {
  readonly index: number;
  readonly name: string;
  /** Only `ready` nodes take new work; draining/down/unhealthy ones are skipped by placement. */
  readonly schedulable: boolean;
  /** Not down: its devices count towards capacity that could ever exist (TEST_ONLY). */
  readonly up: boolean;
  /**
   * Topology group used to keep gangs together: the switch label, else the rack label, else the
   * node alone (absent labels mean "unknown", not "same").
   */
  readonly switchKey: string;
  /** Healthy device ids per type, in device index order. */
  readonly devicesByType: ReadonlyMap<AcceleratorType, readonly string[]>;
  /** Every device id (healthy or not) in index order, and its type: node-local lookups are short scans. */
  readonly deviceIds: readonly string[];
  readonly deviceTypes: readonly AcceleratorType[];
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

export interface ClusterCapacity {
  readonly nodes: readonly NodeCapacity[];
  readonly byName: ReadonlyMap<string, NodeCapacity>;
  /** Accelerator types present on up nodes, sorted by name. */
  readonly types: readonly AcceleratorType[];
  /** Healthy devices per type on schedulable nodes. */
  readonly schedulableByType: ReadonlyMap<AcceleratorType, number>;
  /** Healthy devices per type on up (not down) nodes: the hall's size for quota purposes. */
  readonly upByType: ReadonlyMap<AcceleratorType, number>;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function buildCapacity(nodes: readonly ClusterNode[]): ClusterCapacity {
  const sorted = [...nodes].sort((a, b) => cmpStr(a.name, b.name));
  const out: NodeCapacity[] = [];
  const byName = new Map<string, NodeCapacity>();
  const schedulableByType = new Map<AcceleratorType, number>();
  const upByType = new Map<AcceleratorType, number>();
  const types = new Set<AcceleratorType>();
  for (const node of sorted) {
    const accs = node.accelerators;
    let inOrder = true;
    for (let i = 1; i < accs.length && inOrder; i++) {
      const a = accs[i - 1];
      const b = accs[i];
      if (a !== undefined && b !== undefined && (a.index > b.index || (a.index === b.index && a.id > b.id)))
        inOrder = false;
    }
    const devs = inOrder ? accs : [...accs].sort((a, b) => a.index - b.index || cmpStr(a.id, b.id));
    const byType = new Map<AcceleratorType, string[]>();
    const deviceIds: string[] = [];
    const deviceTypes: AcceleratorType[] = [];
    for (const a of devs) {
      deviceIds.push(a.id);
      deviceTypes.push(a.type);
      if (!a.healthy) continue;
      const list = byType.get(a.type);
      if (list) list.push(a.id);
      else byType.set(a.type, [a.id]);
    }
    const schedulable = node.state === 'ready';
    const up = node.state !== 'down';
    for (const [t, ids] of byType) {
      if (up) {
        types.add(t);
        upByType.set(t, (upByType.get(t) ?? 0) + ids.length);
      }
      if (schedulable) schedulableByType.set(t, (schedulableByType.get(t) ?? 0) + ids.length);
    }
    const nc: NodeCapacity = {
      index: out.length,
      name: node.name,
      schedulable,
      up,
      switchKey:
        node.topology.switch ??
        (node.topology.rack !== undefined ? `rack:${node.topology.rack}` : `node:${node.name}`),
      devicesByType: byType,
      deviceIds,
      deviceTypes,
      cpuMillis: node.cpuMillis,
      memoryMiB: node.memoryMiB,
    };
    out.push(nc);
    byName.set(node.name, nc);
  }
  return {
    nodes: out,
    byName,
    types: [...types].sort(cmpStr),
    schedulableByType,
    upByType,
  };
}

/**
 * `list.indexOf(id)` for device ids. Ids on one node share a long prefix (`node-0042/nvidia-h200/`),
 * so a plain comparison scans almost the whole string before it fails; comparing length and last
 * character first rejects in O(1).
 */
export function indexOfId(list: readonly string[], id: string): number {
  const n = id.length;
  const last = id.charCodeAt(n - 1);
  for (let i = 0; i < list.length; i++) {
    const x = list[i] as string;
    if (x.length === n && x.charCodeAt(n - 1) === last && x === id) return i;
  }
  return -1;
}

/** The type of device `id` on node `nc` (a scan of its few devices), or undefined. */
export function deviceTypeOn(nc: NodeCapacity, id: string): AcceleratorType | undefined {
  const i = indexOfId(nc.deviceIds, id);
  return i < 0 ? undefined : nc.deviceTypes[i];
}

/** The accelerator type of a placement (the type of its first device), or null for CPU-only jobs. */
export function placementType(cap: ClusterCapacity, placement: Placement): AcceleratorType | null {
  for (const r of placement) {
    const id = r.acceleratorIds[0];
    if (id === undefined) continue;
    const nc = cap.byName.get(r.node);
    return nc === undefined ? null : (deviceTypeOn(nc, id) ?? null);
  }
  return null;
}

export function placementAccelerators(placement: Placement): number {
  let n = 0;
  for (const r of placement) n += r.acceleratorIds.length;
  return n;
}

interface NodeFree {
  /** Free healthy device ids per type, kept in capacity order. */
  readonly ids: Map<AcceleratorType, string[]>;
  cpuMillis: number;
  memoryMiB: number;
}

type UndoEntry = {
  readonly node: number;
  readonly ids: readonly string[];
  readonly type: AcceleratorType | null;
  readonly cpu: number;
  readonly mem: number;
  readonly sign: 1 | -1;
  /** `version` before this change (a rollback past it restores that version). */
  readonly before: number;
};

/** Versions are unique across all free states, so no two different states ever share one. */
let lastVersion = 0;

/**
 * What is free now. `take` and `give` are the only mutators; `mark()` / `rollback(mark)` undo
 * everything since the mark. Free counts per type on schedulable nodes are kept for O(1) rejection.
 */
export class FreeState {
  private readonly free: NodeFree[];
  private readonly freeByType = new Map<AcceleratorType, number>();
  /** Schedulable nodes with at least one free device of a type, and a sorted copy made on demand. */
  private readonly withFree = new Map<AcceleratorType, Set<number>>();
  private readonly withFreeSorted = new Map<AcceleratorType, number[]>();
  private readonly log: UndoEntry[] = [];
  /**
   * Names the current state: it changes with every take or give, and a rollback restores the
   * version of the state it returns to. Equal versions mean equal free state (callers cache
   * placement answers by it).
   */
  private ver = ++lastVersion;

  constructor(
    readonly cap: ClusterCapacity,
    running: readonly { readonly placement: Placement }[],
  ) {
    // bulk build (one pass over running placements, one over devices), same result as taking
    // every running placement in turn
    const held: (string[] | undefined)[] = new Array<string[] | undefined>(cap.nodes.length);
    const cpu = new Float64Array(cap.nodes.length);
    const mem = new Float64Array(cap.nodes.length);
    for (const job of running) {
      for (const r of job.placement) {
        const nc = cap.byName.get(r.node);
        if (nc === undefined) continue;
        const h = held[nc.index];
        if (h === undefined) held[nc.index] = [...r.acceleratorIds];
        else for (const id of r.acceleratorIds) h.push(id);
        cpu[nc.index] = (cpu[nc.index] ?? 0) + r.cpuMillis;
        mem[nc.index] = (mem[nc.index] ?? 0) + r.memoryMiB;
      }
    }
    this.free = cap.nodes.map((n) => {
      const ids = new Map<AcceleratorType, string[]>();
      for (const [t, list] of n.devicesByType) {
        const h = held[n.index];
        const left = h === undefined ? [...list] : list.filter((id) => indexOfId(h, id) < 0);
        ids.set(t, left);
        if (n.schedulable) {
          this.freeByType.set(t, (this.freeByType.get(t) ?? 0) + left.length);
          if (left.length > 0) this.withFreeSet(t).add(n.index);
        }
      }
      return {
        ids,
        cpuMillis: n.cpuMillis - (cpu[n.index] ?? 0),
        memoryMiB: n.memoryMiB - (mem[n.index] ?? 0),
      };
    });
    this.log.length = 0; // the base state is not undoable
  }

  /** Free devices of `type` on schedulable nodes. */
  freeOfType(type: AcceleratorType): number {
    return this.freeByType.get(type) ?? 0;
  }

  private withFreeSet(type: AcceleratorType): Set<number> {
    let set = this.withFree.get(type);
    if (set === undefined) {
      set = new Set();
      this.withFree.set(type, set);
    }
    return set;
  }

  /**
   * Schedulable nodes with at least one free device of `type`, in node (name) order. When the hall
   * is busy this is a short list, which keeps placement cheap.
   */
  nodesWithFree(type: AcceleratorType): readonly number[] {
    let sorted = this.withFreeSorted.get(type);
    if (sorted === undefined) {
      sorted = [...(this.withFree.get(type) ?? [])].sort((a, b) => a - b);
      this.withFreeSorted.set(type, sorted);
    }
    return sorted;
  }

  nodeFreeCount(node: number, type: AcceleratorType | null): number {
    if (type === null) return Number.MAX_SAFE_INTEGER;
    return this.free[node]?.ids.get(type)?.length ?? 0;
  }
  nodeFreeIds(node: number, type: AcceleratorType): readonly string[] {
    return this.free[node]?.ids.get(type) ?? [];
  }
  nodeCpu(node: number): number {
    return this.free[node]?.cpuMillis ?? 0;
  }
  nodeMem(node: number): number {
    return this.free[node]?.memoryMiB ?? 0;
  }

  get version(): number {
    return this.ver;
  }

  mark(): number {
    return this.log.length;
  }

  rollback(mark: number): void {
    while (this.log.length > mark) {
      const e = this.log.pop();
      if (e === undefined) break;
      this.apply(e.node, e.type, e.ids, e.cpu, e.mem, -e.sign as 1 | -1);
      this.ver = e.before;
    }
  }

  /** Forget the undo log (the changes stay). */
  commit(): void {
    this.log.length = 0;
  }

  takePlacement(placement: Placement): void {
    this.move(placement, 1);
  }
  givePlacement(placement: Placement): void {
    this.move(placement, -1);
  }

  private move(placement: Placement, sign: 1 | -1): void {
    for (const r of placement) {
      const nc = this.cap.byName.get(r.node);
      if (nc === undefined) continue; // a node that left the cluster: nothing to account
      // fast path: every device of one type (the normal case)
      const first = r.acceleratorIds[0];
      const t0 = first === undefined ? undefined : deviceTypeOn(nc, first);
      if (t0 !== undefined && r.acceleratorIds.every((id) => deviceTypeOn(nc, id) === t0)) {
        const moved = this.apply(nc.index, t0, r.acceleratorIds, r.cpuMillis, r.memoryMiB, sign);
        this.logChange(nc.index, moved, t0, r.cpuMillis, r.memoryMiB, sign);
        continue;
      }
      // group by type (a replica holds one type, but be tolerant)
      const byType = new Map<AcceleratorType, string[]>();
      for (const id of r.acceleratorIds) {
        const t = deviceTypeOn(nc, id);
        if (t === undefined) continue;
        const l = byType.get(t);
        if (l) l.push(id);
        else byType.set(t, [id]);
      }
      if (byType.size === 0) {
        this.apply(nc.index, null, [], r.cpuMillis, r.memoryMiB, sign);
        this.logChange(nc.index, [], null, r.cpuMillis, r.memoryMiB, sign);
      } else {
        let first = true;
        for (const [t, ids] of byType) {
          const cpu = first ? r.cpuMillis : 0;
          const mem = first ? r.memoryMiB : 0;
          first = false;
          // log only the devices that actually moved, so a rollback restores exactly this state
          const moved = this.apply(nc.index, t, ids, cpu, mem, sign);
          this.logChange(nc.index, moved, t, cpu, mem, sign);
        }
      }
    }
  }

  private logChange(
    node: number,
    ids: readonly string[],
    type: AcceleratorType | null,
    cpu: number,
    mem: number,
    sign: 1 | -1,
  ): void {
    this.log.push({ node, ids, type, cpu, mem, sign, before: this.ver });
    this.ver = ++lastVersion;
  }

  /** sign 1 = take (make unavailable), -1 = give back. */
  private apply(
    node: number,
    type: AcceleratorType | null,
    ids: readonly string[],
    cpu: number,
    mem: number,
    sign: 1 | -1,
  ): string[] {
    const f = this.free[node];
    const nc = this.cap.nodes[node];
    if (f === undefined || nc === undefined) return [];
    f.cpuMillis -= sign * cpu;
    f.memoryMiB -= sign * mem;
    if (type === null || ids.length === 0) return [];
    const list = f.ids.get(type) ?? [];
    let changed = 0;
    const moved: string[] = [];
    if (sign === 1) {
      // a node's few devices: a scan, not a Set, below 16 ids
      const drop = ids.length > 16 ? new Set(ids) : null;
      const kept: string[] = [];
      for (const id of list) {
        if (drop !== null ? drop.has(id) : indexOfId(ids, id) >= 0) moved.push(id);
        else kept.push(id);
      }
      changed = moved.length;
      f.ids.set(type, kept);
    } else {
      // `list` grows with what comes back, so membership in it covers both (a scan below 16 ids)
      const have = list.length + ids.length > 16 ? new Set(list) : null;
      const healthy = nc.devicesByType.get(type) ?? [];
      const healthySet = healthy.length > 8 ? new Set(healthy) : null;
      for (const id of ids) {
        if (have !== null ? have.has(id) : indexOfId(list, id) >= 0) continue;
        if (healthySet ? !healthySet.has(id) : indexOfId(healthy, id) < 0) continue; // unhealthy devices never come back
        list.push(id);
        have?.add(id);
        moved.push(id);
        changed--;
      }
      // back into capacity order: the healthy devices (in that order) that are now free
      const free = have ?? (list.length > 16 ? new Set(list) : null);
      f.ids.set(
        type,
        moved.length === 0
          ? list
          : healthy.filter((id) => (free !== null ? free.has(id) : indexOfId(list, id) >= 0)),
      );
    }
    if (nc.schedulable && changed !== 0) {
      this.freeByType.set(type, (this.freeByType.get(type) ?? 0) - changed);
      const has = (f.ids.get(type)?.length ?? 0) > 0;
      const set = this.withFreeSet(type);
      if (has !== set.has(node)) {
        if (has) set.add(node);
        else set.delete(node);
        this.withFreeSorted.delete(type);
      }
    }
    return moved;
  }
}

/**
 * Per-node availability used by the placement search. The plain view is `FreeState`; the profile
 * wraps it to subtract reservations and to look at a future time.
 */
export interface NodeView {
  /**
   * Optional: the only nodes (in index order) that can have free devices of `type`; placement
   * visits just these. Omitted or null: every node.
   */
  candidates?(type: AcceleratorType): readonly number[] | null;
  count(node: number, type: AcceleratorType | null): number;
  ids(node: number, type: AcceleratorType): readonly string[];
  cpu(node: number): number;
  mem(node: number): number;
}

export function freeStateView(free: FreeState): NodeView {
  return {
    candidates: (t) => free.nodesWithFree(t),
    count: (n, t) => free.nodeFreeCount(n, t),
    ids: (n, t) => free.nodeFreeIds(n, t),
    cpu: (n) => free.nodeCpu(n),
    mem: (n) => free.nodeMem(n),
  };
}

/** How many replicas of `req` (using devices of `type`) fit on node `n` of `view`, capped at `cap`. */
function replicasFitting(
  view: NodeView,
  n: number,
  type: AcceleratorType | null,
  req: ReplicaRequest,
  cap: number,
): number {
  let k = cap;
  if (req.accelerators > 0) k = Math.min(k, Math.floor(view.count(n, type) / req.accelerators));
  if (req.cpuMillis > 0) k = Math.min(k, Math.floor(view.cpu(n) / req.cpuMillis));
  if (req.memoryMiB > 0) k = Math.min(k, Math.floor(view.mem(n) / req.memoryMiB));
  return Math.max(0, k);
}

/**
 * Places a whole gang of `replicas` × `req` using devices of one `type` (null for CPU-only), or
 * returns null. Does not mutate anything. Preference, to limit fragmentation:
 *   1. one node (best fit: the node left with the fewest free devices of the type, then lowest name);
 *   2. one switch (the switch with the least room that still holds the gang; inside it, nodes with
 *      the most room first, so the gang uses as few nodes as possible);
 *   3. the fewest switches (switches with the most room first).
 * Cost: O(nodes) per call.
 */
export function placeGangOnView(
  cap: ClusterCapacity,
  view: NodeView,
  type: AcceleratorType | null,
  replicas: number,
  req: ReplicaRequest,
): Placement | null {
  const nodes = cap.nodes;
  // visit only nodes that can have room (in index order, so the answer does not depend on it)
  const visit: readonly number[] | null =
    type !== null && req.accelerators > 0 ? (view.candidates?.(type) ?? null) : null;
  // fit.get(n) = replicas that fit on node n
  const fit = new Map<number, number>();
  let total = 0;
  let bestSingle = -1;
  let bestSingleLeft = Number.MAX_SAFE_INTEGER;
  const count = visit === null ? nodes.length : visit.length;
  for (let v = 0; v < count; v++) {
    const nc = visit === null ? nodes[v] : nodes[visit[v] ?? -1];
    if (nc === undefined || !nc.schedulable) continue;
    if (type !== null && !nc.devicesByType.has(type)) continue;
    const k = replicasFitting(view, nc.index, type, req, replicas);
    if (k === 0) continue;
    fit.set(nc.index, k);
    total += k;
    if (k >= replicas) {
      const left =
        type === null ? view.cpu(nc.index) : view.count(nc.index, type) - replicas * req.accelerators;
      if (left < bestSingleLeft) {
        bestSingleLeft = left;
        bestSingle = nc.index;
      }
    }
  }
  if (total < replicas) return null;
  const view2 = view;
  const emit = (chosen: readonly { node: number; count: number }[]): Placement => {
    const out: ReplicaPlacement[] = [];
    for (const { node, count } of chosen) {
      const nc = nodes[node];
      if (nc === undefined) continue;
      const ids = type === null ? [] : view2.ids(node, type);
      for (let r = 0; r < count; r++) {
        out.push({
          node: nc.name,
          acceleratorIds: type === null ? [] : ids.slice(r * req.accelerators, (r + 1) * req.accelerators),
          cpuMillis: req.cpuMillis,
          memoryMiB: req.memoryMiB,
        });
      }
    }
    return out;
  };
  if (bestSingle >= 0) return emit([{ node: bestSingle, count: replicas }]);

  // group by switch, in first-node order (deterministic)
  const groups = new Map<string, { room: number; nodes: number[] }>();
  for (const [n, k] of [...fit].sort((a, b) => a[0] - b[0])) {
    const nc = nodes[n];
    if (nc === undefined) continue;
    const g = groups.get(nc.switchKey);
    if (g) {
      g.room += k;
      g.nodes.push(nc.index);
    } else groups.set(nc.switchKey, { room: k, nodes: [nc.index] });
  }
  const fillFrom = (
    nodeList: readonly number[],
    need: number,
    acc: { node: number; count: number }[],
  ): number => {
    const byRoom = [...nodeList].sort((a, b) => (fit.get(b) ?? 0) - (fit.get(a) ?? 0) || a - b);
    for (const n of byRoom) {
      if (need === 0) break;
      const k = Math.min(need, fit.get(n) ?? 0);
      acc.push({ node: n, count: k });
      need -= k;
    }
    return need;
  };
  let bestGroup: { room: number; nodes: number[] } | null = null;
  for (const g of groups.values()) {
    if (
      g.room >= replicas &&
      (bestGroup === null ||
        g.room < bestGroup.room ||
        (g.room === bestGroup.room && (g.nodes[0] ?? 0) < (bestGroup.nodes[0] ?? 0)))
    )
      bestGroup = g;
  }
  const chosen: { node: number; count: number }[] = [];
  if (bestGroup !== null) {
    fillFrom(bestGroup.nodes, replicas, chosen);
    return emit(chosen);
  }
  const byRoom = [...groups.values()].sort(
    (a, b) => b.room - a.room || (a.nodes[0] ?? 0) - (b.nodes[0] ?? 0),
  );
  let need = replicas;
  for (const g of byRoom) {
    if (need === 0) break;
    need = fillFrom(g.nodes, need, chosen);
  }
  return need === 0 ? emit(chosen) : null;
}

/**
 * TEST_ONLY: could the gang ever run on this hall if it were empty (ignoring running work), on up
 * nodes (draining nodes count: they will come back)? Returns the acceptable types that could hold
 * it, in preference order; an empty list means "can never fit".
 */
export function typesThatCouldEverFit(
  cap: ClusterCapacity,
  replicas: number,
  req: ReplicaRequest,
): (AcceleratorType | null)[] {
  const candidates = candidateTypes(cap, req);
  const out: (AcceleratorType | null)[] = [];
  for (const t of candidates) {
    let room = 0;
    for (const nc of cap.nodes) {
      if (!nc.up) continue;
      const devs = t === null ? Number.MAX_SAFE_INTEGER : (nc.devicesByType.get(t)?.length ?? 0);
      let k = replicas;
      if (req.accelerators > 0) k = Math.min(k, Math.floor(devs / req.accelerators));
      if (req.cpuMillis > 0) k = Math.min(k, Math.floor(nc.cpuMillis / req.cpuMillis));
      if (req.memoryMiB > 0) k = Math.min(k, Math.floor(nc.memoryMiB / req.memoryMiB));
      room += Math.max(0, k);
      if (room >= replicas) break;
    }
    if (room >= replicas) out.push(t);
  }
  return out;
}

/**
 * The device types a request may use, in preference order: its listed types that exist in the hall
 * (the list order is the user's preference), or every type in the hall (by name) when it lists
 * none. `null` stands for "no accelerators" (a CPU-only request).
 */
export function candidateTypes(cap: ClusterCapacity, req: ReplicaRequest): (AcceleratorType | null)[] {
  if (req.accelerators === 0) return [null];
  if (req.acceleratorTypes.length === 0) return [...cap.types];
  return req.acceleratorTypes.filter((t) => cap.upByType.has(t));
}
