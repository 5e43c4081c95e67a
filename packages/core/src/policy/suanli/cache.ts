/**
 * The `suanli` policy's cache: state derived from earlier snapshots and kept in step with each new
 * one (capacity, free state, running jobs and their quota use, pending queues, victim index, holds,
 * TEST_ONLY answers).
 *
 * Contract: everything here is derived from the snapshot and the policy's configuration alone, so
 * dropping the cache (a fresh `SchedulerCache`) changes nothing but speed. `sync` brings it in step
 * with a snapshot; a cycle then reads it and leaves it as it found it (the free state is rolled
 * back after each cycle). The next snapshot is diffed against a copy of the last one, by identity
 * first and by value (`sameSchedJob`, `sameRunningJob`, `sameNode`) second, so callers may mutate
 * their arrays in place or rebuild every object.
 */
import type { AcceleratorType, ClusterNode, Placement } from '../../model/resources.js';
import type { PendingDecision, RunningSchedJob, SchedJob, Snapshot } from '../../model/scheduling.js';
import type { ClusterCapacity } from '../../placement/capacity.js';
import {
  buildCapacity,
  FreeState,
  placementAccelerators,
  placementType,
  typesThatCouldEverFit,
} from '../../placement/capacity.js';
import type { ProfileHold } from '../../placement/profile.js';
import { compareHolds } from '../../placement/profile.js';
import type { PolicyConfig } from '../config.js';
import { DEFAULT_ATTAINED_SERVICE } from '../config.js';
import { diffByIdentity } from '../diff.js';
import { insertSorted, queueCompare, sortQueueOrder } from './queue-order.js';
import type { QueueCompare } from './queue-order.js';
import type { RunInfo } from './values.js';
import {
  BEYOND_DEPTH_REASON,
  cmpStr,
  compareVictims,
  describeRequest,
  neverFitReason,
  noNodeFitsDetail,
  sameNode,
  sameRunningJob,
  sameSchedJob,
  sameStrings,
  signature,
  sortHolds,
} from './values.js';

/** Type and device count of a running job's placement: a few array reads, not worth caching. */
export function runInfo(c: ClusterCapacity, job: RunningSchedJob): RunInfo {
  return { type: placementType(c, job.placement), devices: placementAccelerators(job.placement) };
}

/** Least attained service (see `AttainedServiceConfig`): bands of service, 0 for all with it off. */
export class ServiceBands {
  readonly enabled: boolean;
  readonly limits: readonly number[];
  /** How many bands there are (1 with LAS off). */
  readonly count: number;
  constructor(config: PolicyConfig) {
    const las = config.attainedService ?? DEFAULT_ATTAINED_SERVICE;
    this.enabled = las.enabled;
    this.limits = las.bandBoundariesMs;
    this.count = las.enabled ? this.limits.length + 1 : 1;
  }
  ofService(serviceMs: number): number {
    const limits = this.limits;
    let b = 0;
    while (b < limits.length && serviceMs >= (limits[b] as number)) b++;
    return b;
  }
  ofPending(j: SchedJob): number {
    return this.enabled ? this.ofService(j.attainedServiceMs ?? 0) : 0;
  }
  /** The band of a running job at `now`, its service counted up to now. */
  ofRunning(c: ClusterCapacity, r: RunningSchedJob, now: number): number {
    return this.enabled
      ? this.ofService((r.attainedServiceMs ?? 0) + Math.max(0, now - r.startTime) * runInfo(c, r).devices)
      : 0;
  }
  /** The lower bound of a band, as text ("0 accelerator-hours" for band 0). */
  text(band: number): string {
    const ms = band <= 0 ? 0 : (this.limits[Math.min(band, this.limits.length) - 1] ?? 0);
    return `${ms / 3_600_000} accelerator-hour(s)`;
  }
}

/**
 * Per queue (tenant, or '*' without fair share): jobs in queue order, and a parallel array of the
 * verdict each job gets when it lies beyond the queue depth (filled lazily, reset with capacity).
 */
export type Queue = { jobs: SchedJob[]; beyond: (PendingDecision | undefined)[] };

/**
 * Preemption candidates of one type: per tenant (in name order), the preemptible running jobs in
 * victim order (`compareVictims`), and the jobs already stopping.
 */
export type VictimIndex = { byTenant: Map<string, RunningSchedJob[]>; stopping: RunningSchedJob[] };

/** A TEST_ONLY answer for one request shape. */
type ShapeEntry = {
  readonly replicas: number;
  readonly accelerators: number;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly types: readonly string[];
  readonly ever: readonly (AcceleratorType | null)[];
};

const sameNum = (a: number, b: number): boolean => a === b || (a !== a && b !== b);

/** A cheap, conservative pre-check for preemption, per type and tenant (see `SchedulerCache.runStats`). */
export type RunStats = { minPriority: number; earliestStart: number };

export class SchedulerCache {
  readonly bands: ServiceBands;
  readonly inQueueOrder: QueueCompare;

  private nodesRef: readonly ClusterNode[] | null = null;
  private capacity: ClusterCapacity | null = null;
  private freeState: FreeState | null = null;
  /** Running jobs by id (the canonical object per id). */
  readonly runningById = new Map<string, RunningSchedJob>();
  /** Copy of the last snapshot's running array (the diff's baseline). */
  private runningPrev: readonly RunningSchedJob[] = [];
  private holds: ProfileHold[] = [];
  private holdsDirty = true;
  /** Pending jobs by id. */
  readonly pendingById = new Map<string, SchedJob>();
  /** Queues by key (see `queueKey`). */
  queues = new Map<string, Queue>();
  private pendingPrev: readonly SchedJob[] = [];

  /**
   * TEST_ONLY answers per request shape (replicas, devices, CPU, memory, types), valid while the
   * capacity is: buckets keyed by one number mixed from the shape's numbers, each entry compared
   * field by field (no key string is built per job, one map lookup).
   */
  private shapes = new Map<number, ShapeEntry[]>();
  /** `everFor` per job object, valid while `shapes` is (the capacity): most calls are repeats. */
  private everByJob = new WeakMap<SchedJob, readonly (AcceleratorType | null)[]>();

  /** Devices in use per (tenant, project, type) by running jobs not being preempted. */
  readonly runUse = new Map<string, Map<string, Map<AcceleratorType, number>>>();
  /**
   * Per type and tenant, the lowest priority and the earliest start among preemptible running jobs
   * (exact when the victim index is built; after a job leaves they may be too low/early, which
   * only makes the pre-check let more through).
   */
  runStats = new Map<AcceleratorType, Map<string, RunStats>>();
  /** The number of jobs already stopping per type (exact). */
  readonly stoppingByType = new Map<AcceleratorType, number>();
  /** Running jobs being preempted (grace period running). */
  readonly stoppingJobs = new Set<RunningSchedJob>();
  /** Running jobs per tenant (for bookings: which of the owner's jobs run inside them). */
  readonly runningByTenant = new Map<string, Set<RunningSchedJob>>();
  /** One-replica running jobs per node, for moves (built at most once per cycle, see `movableOn`). */
  private byNode: Map<number, RunningSchedJob[]> | null = null;

  /** The victim index per type, or null until a cycle first needs it. */
  private victims: Map<AcceleratorType, VictimIndex> | null = null;
  private readonly listVersion = new WeakMap<RunningSchedJob[], number>();
  private readonly eligibleCache = new WeakMap<
    RunningSchedJob[],
    Map<number, { version: number; from: number; until: number; list: RunningSchedJob[] }>
  >();

  /**
   * Per pending job object: a number naming everything one cycle reads from a job except its id,
   * submit time and time limit (interned: few distinct values, and a number is a cheap map key).
   */
  private readonly identityOf = new WeakMap<SchedJob, number>();
  private readonly identityIds = new Map<string, number>();
  /** Per pending job object: (tenant, priority, band, request shape), the preemption search's cache key. */
  private readonly preemptionKeys = new WeakMap<SchedJob, string>();

  constructor(private readonly config: PolicyConfig) {
    this.bands = new ServiceBands(config);
    this.inQueueOrder = queueCompare((j) => this.bands.ofPending(j));
  }

  /** The capacity of the last synced snapshot. */
  get cap(): ClusterCapacity {
    return this.capacity as ClusterCapacity;
  }

  /** Capacity minus the running placements of the last synced snapshot. */
  get free(): FreeState {
    return this.freeState as FreeState;
  }

  /** Brings the cache in step with `snapshot`. */
  sync(snapshot: Snapshot): void {
    this.syncCapacity(snapshot.nodes);
    this.syncRunning(snapshot.running);
    this.syncPending(snapshot.pending);
    this.byNode = null; // per cycle (see movableOn)
  }

  queueKey(job: SchedJob): string {
    return this.config.fairShare.enabled ? job.tenant : '*';
  }

  identity(job: SchedJob): number {
    let id = this.identityOf.get(job);
    if (id === undefined) {
      const key = `${job.tenant}\u0000${job.project}\u0000${job.priority}\u0000${this.bands.ofPending(job)}\u0000${signature(job)}\u0000${job.preemptible}`;
      id = this.identityIds.get(key);
      if (id === undefined) this.identityIds.set(key, (id = this.identityIds.size));
      this.identityOf.set(job, id);
    }
    return id;
  }

  preemptionKey(job: SchedJob): string {
    let k = this.preemptionKeys.get(job);
    if (k === undefined) {
      k = `${job.tenant}\u0000${job.priority}\u0000${this.bands.ofPending(job)}\u0000${signature(job)}`;
      this.preemptionKeys.set(job, k);
    }
    return k;
  }

  /** The types the job could ever run on in the whole hall (TEST_ONLY), cached per request shape. */
  everFor(job: SchedJob): readonly (AcceleratorType | null)[] {
    const known = this.everByJob.get(job);
    if (known !== undefined) return known;
    const ever = this.everForShape(job);
    this.everByJob.set(job, ever);
    return ever;
  }

  private everForShape(job: SchedJob): readonly (AcceleratorType | null)[] {
    const r = job.perReplica;
    const ts = r.acceleratorTypes;
    const key =
      (((job.replicas * 1021 + r.accelerators) * 1021 + r.cpuMillis) * 1021 + r.memoryMiB) * 8 + ts.length;
    let bucket = this.shapes.get(key);
    if (bucket === undefined) this.shapes.set(key, (bucket = []));
    for (const e of bucket) {
      if (
        !sameNum(e.replicas, job.replicas) ||
        !sameNum(e.accelerators, r.accelerators) ||
        !sameNum(e.cpuMillis, r.cpuMillis) ||
        !sameNum(e.memoryMiB, r.memoryMiB)
      )
        continue;
      if (e.types === ts || sameStrings(e.types, ts)) return e.ever;
    }
    const ever = typesThatCouldEverFit(this.cap, job.replicas, r);
    bucket.push({
      replicas: job.replicas,
      accelerators: r.accelerators,
      cpuMillis: r.cpuMillis,
      memoryMiB: r.memoryMiB,
      types: ts.slice(),
      ever,
    });
    return ever;
  }

  /** The verdict of a job further down its queue than the depth (it depends on the capacity only). */
  beyondVerdict(job: SchedJob): PendingDecision {
    return this.everFor(job).length === 0
      ? {
          jobId: job.id,
          verdict: 'can-never-fit',
          reason: neverFitReason(job, describeRequest(job)),
          estimatedStart: null,
          detail: noNodeFitsDetail(job),
        }
      : {
          jobId: job.id,
          verdict: 'waits-for-turn',
          reason: BEYOND_DEPTH_REASON,
          estimatedStart: null,
          detail: { code: 'not-considered', limit: 'depth', value: this.config.backfill.maxJobsExamined },
        };
  }

  /** When a running job's devices are expected back: its time limit, or the end of its grace period. */
  expectedEnd(job: RunningSchedJob): number {
    const end = job.startTime + (job.timeLimitMs ?? this.config.backfill.assumedTimeLimitMs);
    return job.preemptedAt === null || job.preemptedAt === undefined
      ? end
      : Math.min(end, job.preemptedAt + this.config.preemption.gracePeriodMs);
  }

  private syncCapacity(nodes: readonly ClusterNode[]): void {
    const prev = this.nodesRef;
    if (prev !== null && this.capacity !== null && nodes.length === prev.length) {
      let same = true;
      for (let i = 0; i < nodes.length; i++) {
        const a = nodes[i] as ClusterNode;
        const b = prev[i] as ClusterNode;
        if (a !== b && !sameNode(a, b)) {
          same = false;
          break;
        }
      }
      if (same) return;
    }
    this.nodesRef = nodes.slice(); // a copy: callers may reuse and mutate their arrays
    this.capacity = buildCapacity(nodes);
    this.freeState = null; // rebuilt from running below
    this.shapes = new Map();
    this.everByJob = new WeakMap();
    for (const q of this.queues.values()) q.beyond.fill(undefined); // they depend on the capacity
  }

  private statsAdd(type: AcceleratorType, j: RunningSchedJob): void {
    let m = this.runStats.get(type);
    if (m === undefined) {
      m = new Map();
      this.runStats.set(type, m);
    }
    const e = m.get(j.tenant);
    if (e === undefined) m.set(j.tenant, { minPriority: j.priority, earliestStart: j.startTime });
    else {
      if (j.priority < e.minPriority) e.minPriority = j.priority;
      if (j.startTime < e.earliestStart) e.earliestStart = j.startTime;
    }
  }

  private countUse(j: RunningSchedJob, sign: 1 | -1): void {
    let mine = this.runningByTenant.get(j.tenant);
    if (sign === 1) {
      if (mine === undefined) this.runningByTenant.set(j.tenant, (mine = new Set()));
      mine.add(j);
    } else if (mine !== undefined) {
      mine.delete(j);
      if (mine.size === 0) this.runningByTenant.delete(j.tenant);
    }
    const i = runInfo(this.cap, j);
    if (i.type === null || i.devices === 0) return;
    if (j.preemptedAt !== null && j.preemptedAt !== undefined) {
      this.stoppingByType.set(i.type, (this.stoppingByType.get(i.type) ?? 0) + sign);
      if (sign === 1) this.stoppingJobs.add(j);
      else this.stoppingJobs.delete(j);
      return;
    }
    if (sign === 1 && j.preemptible) this.statsAdd(i.type, j);
    let byProject = this.runUse.get(j.tenant);
    if (byProject === undefined) this.runUse.set(j.tenant, (byProject = new Map()));
    let byType = byProject.get(j.project);
    if (byType === undefined) byProject.set(j.project, (byType = new Map()));
    const n = (byType.get(i.type) ?? 0) + sign * i.devices;
    if (n === 0) byType.delete(i.type);
    else byType.set(i.type, n);
  }

  /** One running job leaves (−1) or arrives (+1): free state, quota use, victim index, holds. */
  private track(j: RunningSchedJob, sign: 1 | -1): void {
    const f = this.free;
    if (sign === 1) f.takePlacement(j.placement);
    else f.givePlacement(j.placement);
    this.countUse(j, sign);
    this.victimUpdate(j, sign);
    this.holdsUpdate(j, sign);
  }

  private syncRunning(running: readonly RunningSchedJob[]): void {
    if (this.freeState === null) {
      this.rebuildRunning(running);
      return;
    }
    const { removed, added } = diffByIdentity(this.runningPrev, running, sameRunningJob);
    this.runningPrev = running.slice();
    for (const j of removed) {
      // the cached (canonical) object for this id, if it is the one that left
      const cur = this.runningById.get(j.id);
      if (cur === undefined || (cur !== j && !sameRunningJob(cur, j))) continue;
      this.track(cur, -1);
      this.runningById.delete(cur.id);
    }
    for (const j of added) {
      const prev = this.runningById.get(j.id);
      if (prev === j || (prev !== undefined && sameRunningJob(prev, j))) continue;
      // the same id twice in one snapshot: keep the last, as a fresh build would
      if (prev !== undefined) this.track(prev, -1);
      this.track(j, 1);
      this.runningById.set(j.id, j);
    }
    this.free.commit();
  }

  private rebuildRunning(running: readonly RunningSchedJob[]): void {
    this.freeState = new FreeState(this.cap, running);
    this.runningPrev = running.slice();
    this.runningById.clear();
    this.runUse.clear();
    this.runningByTenant.clear();
    this.runStats = new Map();
    this.stoppingByType.clear();
    this.stoppingJobs.clear();
    // the holds too, while each job is at hand (sortedHolds would visit them all again)
    const all: ProfileHold[] = [];
    for (const j of running) {
      this.runningById.set(j.id, j);
      this.countUse(j, 1);
      all.push({ jobId: j.id, placement: j.placement, startTime: j.startTime, endTime: this.expectedEnd(j) });
    }
    if (this.runningById.size === running.length) {
      // distinct ids: the same holds sortedHolds builds from runningById (and sorted the same)
      this.holds = sortHolds(all);
      this.holdsDirty = false;
    } else this.holdsDirty = true;
    this.victims = null;
  }

  /**
   * Queues from scratch. The verdict each job gets beyond the depth is made here too, in input
   * order, while the job's objects are at hand (in queue order they are scattered in memory).
   */
  private rebuildQueues(pending: readonly SchedJob[]): void {
    this.pendingById.clear();
    const groups = new Map<string, { jobs: SchedJob[]; beyond: PendingDecision[] }>();
    for (const j of pending) {
      this.pendingById.set(j.id, j);
      const k = this.queueKey(j);
      let g = groups.get(k);
      if (g === undefined) groups.set(k, (g = { jobs: [], beyond: [] }));
      g.jobs.push(j);
      g.beyond.push(this.beyondVerdict(j));
    }
    this.queues = new Map();
    const band = (j: SchedJob): number => this.bands.ofPending(j);
    for (const [k, g] of groups) {
      const order = sortQueueOrder(g.jobs, band, this.bands.count);
      const jobs: SchedJob[] = [];
      const beyond: (PendingDecision | undefined)[] = [];
      for (const i of order) {
        jobs.push(g.jobs[i] as SchedJob);
        beyond.push(g.beyond[i]);
      }
      this.queues.set(k, { jobs, beyond });
    }
  }

  private syncPending(pending: readonly SchedJob[]): void {
    // nothing queued yet (a fresh scheduler): every job is new, so the rebuild below, without a diff
    const fresh = this.pendingById.size === 0 && this.pendingPrev.length === 0;
    const diff = fresh
      ? { removed: [], added: pending }
      : diffByIdentity(this.pendingPrev, pending, sameSchedJob);
    this.pendingPrev = pending.slice(); // a copy: callers may reuse and mutate their arrays
    if (
      this.pendingById.size === 0 &&
      diff.removed.length === 0 &&
      diff.added.length === pending.length &&
      pending.length > 0
    ) {
      this.rebuildQueues(pending);
      return;
    }
    const removed = new Set<string>();
    const touched = new Set<string>();
    for (const j of diff.removed) {
      const cur = this.pendingById.get(j.id);
      if (cur === undefined || (cur !== j && !sameSchedJob(cur, j))) continue;
      removed.add(j.id);
      touched.add(this.queueKey(cur));
    }
    const added: SchedJob[] = [];
    for (const j of diff.added) {
      const prev = this.pendingById.get(j.id);
      if (prev !== undefined && !removed.has(j.id)) {
        if (prev === j || sameSchedJob(prev, j)) continue; // already queued (reported twice)
        removed.add(j.id);
        touched.add(this.queueKey(prev));
      }
      added.push(j);
    }
    if (added.length > pending.length / 4) {
      // many changes: rebuild (cheaper than many inserts)
      this.rebuildQueues(pending);
      return;
    }
    for (const k of touched) {
      const q = this.queues.get(k);
      if (q === undefined) continue;
      const jobs: SchedJob[] = [];
      const beyond: (PendingDecision | undefined)[] = [];
      q.jobs.forEach((j, i) => {
        if (removed.has(j.id)) return;
        jobs.push(j);
        beyond.push(q.beyond[i]);
      });
      if (jobs.length === 0) this.queues.delete(k);
      else this.queues.set(k, { jobs, beyond });
    }
    for (const id of removed) this.pendingById.delete(id);
    for (const j of added) {
      this.pendingById.set(j.id, j);
      const k = this.queueKey(j);
      const q = this.queues.get(k);
      if (q) q.beyond.splice(insertSorted(q.jobs, j, this.inQueueOrder), 0, undefined);
      else this.queues.set(k, { jobs: [j], beyond: [undefined] });
    }
  }

  private victimEntry(type: AcceleratorType): VictimIndex {
    const v = this.victims as Map<AcceleratorType, VictimIndex>;
    let e = v.get(type);
    if (e === undefined) {
      e = { byTenant: new Map(), stopping: [] };
      v.set(type, e);
    }
    return e;
  }

  private victimList(e: VictimIndex, r: RunningSchedJob): RunningSchedJob[] | null {
    if (r.preemptedAt !== null && r.preemptedAt !== undefined) return e.stopping;
    if (!r.preemptible) return null;
    let l = e.byTenant.get(r.tenant);
    if (l === undefined) {
      l = [];
      e.byTenant.set(r.tenant, l);
      // keep tenants in name order so scans are deterministic
      e.byTenant = new Map([...e.byTenant].sort((x, y) => cmpStr(x[0], y[0])));
    }
    return l;
  }

  /** Keeps the index in step with one running job arriving (+1) or leaving (−1). */
  private victimUpdate(r: RunningSchedJob, sign: 1 | -1): void {
    if (this.victims === null) return;
    const t = runInfo(this.cap, r).type;
    if (t === null) return;
    const l = this.victimList(this.victimEntry(t), r);
    if (l === null) return;
    this.listVersion.set(l, (this.listVersion.get(l) ?? 0) + 1);
    if (sign === -1) {
      const i = l.indexOf(r);
      if (i >= 0) l.splice(i, 1);
      return;
    }
    let lo = 0;
    let hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = l[mid];
      if (m !== undefined && compareVictims(m, r) <= 0) lo = mid + 1;
      else hi = mid;
    }
    l.splice(lo, 0, r);
  }

  /**
   * The victim index of `type`. The order does not depend on `now`, so it is kept while the
   * running set changes (built once, then updated per job).
   */
  victimIndex(type: AcceleratorType): VictimIndex {
    if (this.victims === null) this.buildVictimIndex();
    return (
      (this.victims as Map<AcceleratorType, VictimIndex>).get(type) ?? { byTenant: new Map(), stopping: [] }
    );
  }

  private buildVictimIndex(): void {
    this.victims = new Map();
    // sort once on precomputed keys (property reads once per job, not per comparison)
    const all = [...this.runningById.values()];
    const prio = new Float64Array(all.length);
    const ckpt = new Float64Array(all.length);
    const start = new Float64Array(all.length);
    all.forEach((r, i) => {
      prio[i] = r.priority;
      ckpt[i] = r.lastCheckpointTime ?? r.startTime;
      start[i] = r.startTime;
    });
    const order = all.map((_, i) => i);
    order.sort(
      (a, b) =>
        (prio[a] ?? 0) - (prio[b] ?? 0) ||
        (ckpt[b] ?? 0) - (ckpt[a] ?? 0) ||
        (start[b] ?? 0) - (start[a] ?? 0) ||
        cmpStr(all[a]?.id ?? '', all[b]?.id ?? ''),
    );
    for (const i of order) {
      const r = all[i];
      if (r === undefined) continue;
      const t = runInfo(this.cap, r).type;
      if (t === null) continue;
      const e = this.victimEntry(t);
      if (r.preemptedAt !== null && r.preemptedAt !== undefined) e.stopping.push(r);
      else if (r.preemptible) {
        const l = e.byTenant.get(r.tenant);
        if (l) l.push(r);
        else e.byTenant.set(r.tenant, [r]);
      }
    }
    for (const e of this.victims.values())
      e.byTenant = new Map([...e.byTenant].sort((x, y) => cmpStr(x[0], y[0])));
    // the pre-check statistics become exact again
    this.runStats = new Map();
    for (const [t, e] of this.victims)
      for (const l of e.byTenant.values()) for (const r of l) this.statsAdd(t, r);
  }

  /**
   * The jobs of a victim list that have run at least `minRunMs` at `now`, cached across cycles: the
   * answer stays the same until the list changes or the next job crosses the threshold.
   */
  eligibleSince(list: RunningSchedJob[], minRunMs: number, now: number): readonly RunningSchedJob[] {
    const version = this.listVersion.get(list) ?? 0;
    let byMin = this.eligibleCache.get(list);
    if (byMin === undefined) {
      byMin = new Map();
      this.eligibleCache.set(list, byMin);
    }
    const hit = byMin.get(minRunMs);
    if (hit !== undefined && hit.version === version && now >= hit.from && now < hit.until) return hit.list;
    const out: RunningSchedJob[] = [];
    let until = Infinity;
    for (const r of list) {
      const at = r.startTime + minRunMs;
      if (now >= at) out.push(r);
      else if (at < until) until = at;
    }
    byMin.set(minRunMs, { version, from: now, until, list: out });
    return out;
  }

  /**
   * The stopping jobs whose devices `job` may plan with: those preempted for it, and those whose
   * preemptor is unknown or no longer waiting. Devices freed for one job are not another's.
   */
  stoppingFor(idx: VictimIndex, job: SchedJob): readonly RunningSchedJob[] {
    if (idx.stopping.length === 0) return idx.stopping;
    return idx.stopping.filter(
      (s) =>
        s.preemptedFor === undefined ||
        s.preemptedFor === null ||
        s.preemptedFor === job.id ||
        !this.pendingById.has(s.preemptedFor),
    );
  }

  /** One-replica, preemptible running jobs not stopping, per node, in victim order (built once per cycle). */
  onNode(node: number): readonly RunningSchedJob[] {
    if (this.byNode === null) {
      const byNode = new Map<number, RunningSchedJob[]>();
      for (const r of this.runningById.values()) {
        if (
          r.placement.length !== 1 ||
          !r.preemptible ||
          (r.preemptedAt !== null && r.preemptedAt !== undefined)
        )
          continue;
        const nc = this.cap.byName.get((r.placement[0] as Placement[number]).node);
        if (nc === undefined) continue;
        const l = byNode.get(nc.index);
        if (l === undefined) byNode.set(nc.index, [r]);
        else l.push(r);
      }
      for (const l of byNode.values()) l.sort(compareVictims);
      this.byNode = byNode;
    }
    return this.byNode.get(node) ?? [];
  }

  /** Keeps the sorted holds in step with one running job arriving (+1) or leaving (−1). */
  private holdsUpdate(j: RunningSchedJob, sign: 1 | -1): void {
    if (this.holdsDirty) return;
    const holds = this.holds;
    if (sign === -1) {
      // binary search by its end time (holds are sorted by end time), then a scan of equal end times
      const end = this.expectedEnd(j);
      let lo = 0;
      let hi = holds.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((holds[mid] as ProfileHold).endTime < end) lo = mid + 1;
        else hi = mid;
      }
      let i = -1;
      for (let k = lo; k < holds.length && (holds[k] as ProfileHold).endTime === end; k++) {
        const h = holds[k] as ProfileHold;
        if (h.jobId === j.id && h.placement === j.placement) {
          i = k;
          break;
        }
      }
      if (i < 0) i = holds.findIndex((h) => h.jobId === j.id && h.placement === j.placement);
      if (i >= 0) holds.splice(i, 1);
      else this.holdsDirty = true;
      return;
    }
    const h: ProfileHold = {
      jobId: j.id,
      placement: j.placement,
      startTime: j.startTime,
      endTime: this.expectedEnd(j),
    };
    let lo = 0;
    let hi = holds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = holds[mid];
      if (m !== undefined && compareHolds(m, h) <= 0) lo = mid + 1;
      else hi = mid;
    }
    holds.splice(lo, 0, h);
  }

  /** The running jobs' holds on their devices, sorted as `compareHolds`. */
  sortedHolds(): ProfileHold[] {
    if (this.holdsDirty) {
      const all: ProfileHold[] = [];
      for (const j of this.runningById.values()) {
        all.push({
          jobId: j.id,
          placement: j.placement,
          startTime: j.startTime,
          endTime: this.expectedEnd(j),
        });
      }
      this.holds = sortHolds(all);
      this.holdsDirty = false;
    }
    return this.holds;
  }
}
