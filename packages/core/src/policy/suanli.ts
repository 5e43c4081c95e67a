/**
 * The `suanli` policy: many tenants sharing a hall fairly, and the hall kept full.
 *
 * One cycle, over one immutable snapshot (I/O happens only in the engine, after):
 *   1. Capacity: derive per-node capacity from `nodes` (cached while the node objects are the same).
 *   2. Free state: capacity minus running placements (cached; updated by the running jobs that
 *      changed since the last cycle).
 *   3. Quotas: devices in use per tenant, project and type; cohort lending aggregates.
 *   4. Order: each tenant's queue by (priority desc, submitTime asc, id asc); tenants interleaved
 *      by fair share, the tenant with the least decayed usage per weight first, each job taken
 *      charging its tenant for it (so one cycle does not hand a whole hall to one tenant). With
 *      fair share off, one global queue in the same order.
 *   5. For each of the first `backfill.maxJobsExamined` jobs in order:
 *      a. can it ever fit (TEST_ONLY, cached per request shape), and does it ask no more than its
 *         quota could ever give? If not: `can-never-fit`.
 *      b. which of its acceptable types does quota allow now? None: `waits-for-quota`.
 *      c. can it start now (RUN_NOW) without delaying any reservation or booking? Start it.
 *      d. else, if it is owed capacity (below its guarantee: reclaim borrowers; or outranks jobs of
 *         its own tenant): preempt the whole jobs that lose least work, and reserve.
 *      e. else estimate its start (WILL_RUN); the first `reservationDepth` blocked jobs get a
 *         reservation that later jobs may not delay (EASY backfill when the depth is 1).
 *      Jobs beyond the depth keep a fixed `waits-for-turn` verdict (or `can-never-fit`), cached.
 *   6. Return starts, preemptions and one verdict per job left waiting.
 *
 * Bounds (work per cycle): `backfill.maxJobsExamined` jobs examined, `backfill.maxJobsTested`
 * gang/preemption searches, `backfill.estimateMaxJobs` will-run estimates, `backfill.reservationDepth`
 * reservations, `preemption.maxVictimsPerCycle` victims, `preemption.maxCandidatesPerJob` candidates
 * per tenant list, PREEMPTION_MAX_PLACEMENT_TESTS searches per preemption, and the profile's bounds.
 * Jobs beyond a bound still get a verdict from O(1) checks.
 *
 * `createScheduler` keeps derived state between cycles (capacity, free state, sorted queues and
 * their beyond-depth verdicts, victim index, holds, TEST_ONLY answers); its answer is always exactly
 * what a fresh scheduler gives for the snapshot (property-tested, including callers that mutate
 * their arrays in place or rebuild every object). The next snapshot is diffed against a copy of the
 * last one, by identity first and by value (`sameSchedJob`, `sameRunningJob`, `sameNode`) second.
 */
import type { AcceleratorType, ClusterNode, Placement } from '../model/resources.js';
import type { VerdictDetail } from '../verdict.js';
import type {
  PendingDecision,
  PreemptDecision,
  ReservedWindow,
  RunningSchedJob,
  ScheduleResult,
  SchedJob,
  SchedulingPolicy,
  Snapshot,
  StartDecision,
} from '../model/scheduling.js';
import type { ClusterCapacity } from '../placement/capacity.js';
import { buildCapacity, deviceTypeOn, FreeState, placementAccelerators, placementType, typesThatCouldEverFit } from '../placement/capacity.js';
import type { PlacementAnswer, ProfileBounds, ProfileHold } from '../placement/profile.js';
import { AvailabilityProfile, compareHolds, DEFAULT_PROFILE_BOUNDS } from '../placement/profile.js';
import type { PolicyConfig } from './config.js';
import { DEFAULT_ATTAINED_SERVICE, DEFAULT_BOOKINGS, DEFAULT_POLICY } from './config.js';
import { diffByIdentity } from './diff.js';
import { byQueueOrder } from './fcfs.js';
import { QuotaBook } from './quota.js';
import { bookedUntilDetail, estimatedStartDetail, expectedStartDetail, reasonTime, runsInBookingDetail } from '../verdict.js';

export interface SuanliScheduler extends SchedulingPolicy {
  readonly config: PolicyConfig;
}

export interface SchedulerOptions {
  readonly profileBounds?: ProfileBounds;
}

interface RunInfo {
  readonly type: AcceleratorType | null;
  readonly devices: number;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Value equality of what the scheduler reads from a job, a running job and a node: the engine
 * rebuilds its objects every cycle, and equal values must not cost a rebuild of the caches.
 */
function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
export function sameSchedJob(a: SchedJob, b: SchedJob): boolean {
  const r = a.perReplica;
  const q = b.perReplica;
  return (
    a.id === b.id &&
    a.tenant === b.tenant &&
    a.project === b.project &&
    a.submitTime === b.submitTime &&
    a.priority === b.priority &&
    a.replicas === b.replicas &&
    a.timeLimitMs === b.timeLimitMs &&
    a.preemptible === b.preemptible &&
    a.attainedServiceMs === b.attainedServiceMs &&
    (a.claimedAt ?? null) === (b.claimedAt ?? null) &&
    r.accelerators === q.accelerators &&
    r.cpuMillis === q.cpuMillis &&
    r.memoryMiB === q.memoryMiB &&
    sameStrings(r.acceleratorTypes, q.acceleratorTypes)
  );
}
export function sameRunningJob(a: RunningSchedJob, b: RunningSchedJob): boolean {
  if (!sameSchedJob(a, b) || a.startTime !== b.startTime || a.lastCheckpointTime !== b.lastCheckpointTime) return false;
  if ((a.preemptedAt ?? null) !== (b.preemptedAt ?? null) || (a.preemptedFor ?? null) !== (b.preemptedFor ?? null) || a.placement.length !== b.placement.length) return false;
  for (let i = 0; i < a.placement.length; i++) {
    const x = a.placement[i];
    const y = b.placement[i];
    if (x === undefined || y === undefined) return false;
    if (x.node !== y.node || x.cpuMillis !== y.cpuMillis || x.memoryMiB !== y.memoryMiB || !sameStrings(x.acceleratorIds, y.acceleratorIds)) return false;
  }
  return true;
}
export function sameNode(a: ClusterNode, b: ClusterNode): boolean {
  if (a.name !== b.name || a.state !== b.state || a.cpuMillis !== b.cpuMillis || a.memoryMiB !== b.memoryMiB) return false;
  if (a.topology.switch !== b.topology.switch || a.topology.rack !== b.topology.rack || a.accelerators.length !== b.accelerators.length) return false;
  for (let i = 0; i < a.accelerators.length; i++) {
    const x = a.accelerators[i];
    const y = b.accelerators[i];
    if (x === undefined || y === undefined) return false;
    if (x.id !== y.id || x.index !== y.index || x.type !== y.type || x.healthy !== y.healthy) return false;
  }
  return true;
}

/** Bound: how far past its head a tenant's queue is searched for a job that fits its guarantee. */
const GUARANTEE_LOOKAHEAD = 32;

/** Bound: gang searches per job while choosing preemption victims. */
const PREEMPTION_MAX_PLACEMENT_TESTS = 16;

/**
 * Victim order, losing least work first: lowest priority, then least work since the last
 * checkpoint (latest checkpoint, or latest start without one), then latest start, then id.
 */
function compareVictims(a: RunningSchedJob, b: RunningSchedJob): number {
  return (
    a.priority - b.priority ||
    (b.lastCheckpointTime ?? b.startTime) - (a.lastCheckpointTime ?? a.startTime) ||
    b.startTime - a.startTime ||
    cmpStr(a.id, b.id)
  );
}

const BEYOND_DEPTH_REASON = 'not examined this cycle: further down the queue than backfill.maxJobsExamined; it is considered as the jobs ahead of it start';

function neverFitReason(job: SchedJob, desc: string): string {
  return `no ${job.replicas > 1 ? 'set of nodes' : 'node'} in the hall can hold ${desc}, even when empty`;
}

function signature(job: SchedJob): string {
  const r = job.perReplica;
  return `${job.replicas}|${r.accelerators}|${r.acceleratorTypes.join(',')}|${r.cpuMillis}|${r.memoryMiB}`;
}

function describeRequest(job: SchedJob): string {
  const r = job.perReplica;
  const type = r.accelerators === 0 ? '' : ` ${r.acceleratorTypes.length === 0 ? 'accelerator' : r.acceleratorTypes.join('|')}`;
  const per = `${r.accelerators}${type}` + (r.cpuMillis ? `, ${r.cpuMillis / 1000} CPU` : '') + (r.memoryMiB ? `, ${r.memoryMiB} MiB` : '');
  return job.replicas > 1 ? `${job.replicas} replicas × (${per})` : per;
}

const isoOrMs = reasonTime;

/**
 * Sorts holds as `compareHolds` does (end time, then job id). Fast path: finite end times packed
 * with the index into one float key and sorted natively; runs of equal end times are then ordered
 * by job id. Falls back to a comparator sort when the keys would not fit in 53 bits.
 */
export function sortHolds(all: ProfileHold[]): ProfileHold[] {
  const n = all.length;
  let min = Infinity;
  let max = -Infinity;
  for (const h of all) {
    if (h.endTime < min) min = h.endTime;
    if (h.endTime > max) max = h.endTime;
  }
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  if (n === 0 || !Number.isFinite(max) || !Number.isFinite(min) || (max - min + 1) * scale >= 2 ** 53 || !all.every((h) => Number.isInteger(h.endTime))) {
    return [...all].sort(compareHolds);
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = ((all[i] as ProfileHold).endTime - min) * scale + i;
  keys.sort();
  const out: ProfileHold[] = new Array<ProfileHold>(n);
  for (let i = 0; i < n; i++) out[i] = all[(keys[i] as number) % scale] as ProfileHold;
  // equal end times: by job id
  for (let i = 0; i < n; ) {
    let k = i + 1;
    while (k < n && (out[k] as ProfileHold).endTime === (out[i] as ProfileHold).endTime) k++;
    if (k - i > 1) {
      const run = out.slice(i, k).sort(compareHolds);
      for (let r = 0; r < run.length; r++) out[i + r] = run[r] as ProfileHold;
    }
    i = k;
  }
  return out;
}

/**
 * Queue order inside a tenant: priority desc, then attained-service band asc (all 0 with LAS off),
 * then first-come (submitTime asc, id asc) — `byQueueOrder` with the band between.
 */
type QueueCompare = (a: SchedJob, b: SchedJob) => number;
function queueCompare(band: (j: SchedJob) => number): QueueCompare {
  return (a, b) => b.priority - a.priority || band(a) - band(b) || byQueueOrder(a, b);
}

/**
 * Sorts jobs in queue order (see `queueCompare`; `bands` = how many bands there are). Fast path
 * (integer priorities and submit times whose ranges fit): (priority desc, band asc, submitTime
 * asc) and the index packed into one float key and sorted natively, then runs of equal keys by id.
 * Otherwise a comparator sort on typed keys (property reads once per job, not per comparison).
 */
function sortQueueOrder(jobs: readonly SchedJob[], band: (j: SchedJob) => number, bands: number): number[] {
  const n = jobs.length;
  const bandOf = new Float64Array(n);
  const prio = new Float64Array(n);
  const sub = new Float64Array(n);
  let minP = Infinity;
  let maxP = -Infinity;
  let minS = Infinity;
  let maxS = -Infinity;
  let ints = true;
  for (let i = 0; i < n; i++) {
    const j = jobs[i] as SchedJob;
    const p = j.priority;
    const s = j.submitTime;
    prio[i] = p;
    sub[i] = s;
    bandOf[i] = bands > 1 ? band(j) : 0;
    if (p < minP) minP = p;
    if (p > maxP) maxP = p;
    if (s < minS) minS = s;
    if (s > maxS) maxS = s;
    if (!Number.isInteger(p) || !Number.isInteger(s)) ints = false;
  }
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  const spanS = maxS - minS + 1;
  if (n > 1 && ints && (maxP - minP + 1) * bands * spanS * scale < 2 ** 53) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = (((maxP - (prio[i] as number)) * bands + (bandOf[i] as number)) * spanS + ((sub[i] as number) - minS)) * scale + i;
    keys.sort();
    const out: number[] = [];
    const key = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const k = keys[i] as number;
      const idx = k % scale;
      out.push(idx);
      key[i] = (k - idx) / scale;
    }
    // equal (priority, band, submitTime): by id (a stable sort: duplicates keep their input order)
    for (let i = 0; i < n; ) {
      let k = i + 1;
      while (k < n && key[k] === key[i]) k++;
      if (k - i > 1) {
        const run = out.slice(i, k).sort((a, b) => byQueueOrder(jobs[a] as SchedJob, jobs[b] as SchedJob));
        for (let r = 0; r < run.length; r++) out[i + r] = run[r] as number;
      }
      i = k;
    }
    return out;
  }
  const idx: number[] = [];
  for (let i = 0; i < n; i++) idx.push(i);
  idx.sort((a, b) => (prio[b] ?? 0) - (prio[a] ?? 0) || (bandOf[a] ?? 0) - (bandOf[b] ?? 0) || (sub[a] ?? 0) - (sub[b] ?? 0) || cmpStr(jobs[a]?.id ?? '', jobs[b]?.id ?? ''));
  return idx;
}

/** The jobs matching `pred` first (in `order` if given, else as they were), then the rest as they were. */
function moveToFront(jobs: readonly SchedJob[], pred: (j: SchedJob) => boolean, order?: QueueCompare): readonly SchedJob[] {
  if (!jobs.some(pred)) return jobs; // the common case: no copy
  const first: SchedJob[] = [];
  const rest: SchedJob[] = [];
  for (const j of jobs) (pred(j) ? first : rest).push(j);
  if (order !== undefined) first.sort(order);
  return first.concat(rest);
}

/** Binary insert into an array sorted by `cmp`; returns the index. */
function insertSorted(arr: SchedJob[], job: SchedJob, cmp: QueueCompare): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = arr[mid];
    if (m !== undefined && cmp(m, job) <= 0) lo = mid + 1;
    else hi = mid;
  }
  arr.splice(lo, 0, job);
  return lo;
}

/**
 * A tenant's place in the interleaving of tenant queues (one cycle's ordering state): `cls` 0 when
 * its next job fits inside its guarantee (1 otherwise), `band` that job's attained-service band (0
 * with LAS off), `key` its fair-share key (decayed usage, plus what this cycle's order charged it,
 * per weight). Mutated only while out of the heap.
 */
interface TenantTurn {
  readonly name: string;
  /** Its queue, in queue order, and the first position not yet taken in order. */
  readonly jobs: readonly SchedJob[];
  pos: number;
  /** Accelerator-seconds charged, and devices taken, for its jobs already placed in order. */
  charged: number;
  taken: number;
  readonly weight: number;
  /** Devices left inside its guarantee per type as the cycle starts, and their maximum. */
  readonly room: ReadonlyMap<AcceleratorType, number>;
  readonly maxRoom: number;
  /** The job its next turn is for. */
  job: SchedJob | undefined;
  cls: number;
  band: number;
  key: number;
}

/** Min-heap of tenants by (cls, band, key, name). */
class TenantHeap {
  private readonly items: TenantTurn[] = [];
  private less(a: TenantTurn, b: TenantTurn): boolean {
    if (a.cls !== b.cls) return a.cls < b.cls;
    if (a.band !== b.band) return a.band < b.band;
    if (a.key !== b.key) return a.key < b.key;
    return a.name < b.name;
  }
  get size(): number {
    return this.items.length;
  }
  push(x: TenantTurn): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ai = a[i];
      const ap = a[p];
      if (ai === undefined || ap === undefined || !this.less(ai, ap)) break;
      a[i] = ap;
      a[p] = ai;
      i = p;
    }
  }
  pop(): TenantTurn | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l] as TenantTurn, a[m] as TenantTurn)) m = l;
      if (r < a.length && this.less(a[r] as TenantTurn, a[m] as TenantTurn)) m = r;
      if (m === i) break;
      const t = a[i] as TenantTurn;
      a[i] = a[m] as TenantTurn;
      a[m] = t;
      i = m;
    }
    return top;
  }
}

/**
 * Bookings open at `now` (issue 4): per owner and type, the tenants' windows (maintenance belongs to
 * nobody) whose [startTime, endTime) holds now, and the devices the owner's jobs use inside them.
 *
 * A booking is its owner's entitlement for the window, apart from quota: a job of the owner runs
 * INSIDE it when it has a time limit that ends by the end of an open window of its type, and the
 * owner's jobs inside use no more than the devices booked in the windows that last that long. Such
 * jobs bypass quota (tenant and project limits alike) and do not count as quota use. Running jobs
 * are sorted into "inside" once per cycle (earliest start first), pending ones as they start.
 */
class OpenBookings {
  private readonly byOwner = new Map<string, Map<AcceleratorType, ReservedWindow[]>>();
  private readonly used = new Map<string, number>();
  /** Running jobs inside their tenant's booking this cycle (never reclaimed, never evicted). */
  readonly insideIds = new Set<string>();

  constructor(windows: readonly ReservedWindow[], now: number) {
    for (const w of windows) {
      if (w.tenant === null || w.startTime > now || w.endTime <= now || w.accelerators <= 0) continue;
      let byType = this.byOwner.get(w.tenant);
      if (byType === undefined) this.byOwner.set(w.tenant, (byType = new Map()));
      const l = byType.get(w.acceleratorType);
      if (l) l.push(w);
      else byType.set(w.acceleratorType, [w]);
    }
    // by id: reasons name the same window whatever the order of the snapshot's array
    for (const byType of this.byOwner.values()) for (const l of byType.values()) l.sort((a, b) => cmpStr(a.id, b.id));
  }

  get empty(): boolean {
    return this.byOwner.size === 0;
  }
  /** Tenants with an open booking, by name (sorted once: asked once per blocked job). */
  private ownerList: string[] | null = null;
  owners(): readonly string[] {
    this.ownerList ??= [...this.byOwner.keys()].sort(cmpStr);
    return this.ownerList;
  }
  /** Devices of `type` booked by `tenant` in windows open now that last until `end`. */
  entitlement(tenant: string, type: AcceleratorType, end: number): number {
    let n = 0;
    for (const w of this.byOwner.get(tenant)?.get(type) ?? []) if (w.endTime >= end) n += w.accelerators;
    return n;
  }
  /** The open window that names the booking in reasons: the first by id that lasts until `end`. */
  window(tenant: string, type: AcceleratorType, end: number): ReservedWindow | undefined {
    const l = this.byOwner.get(tenant)?.get(type) ?? [];
    return l.find((w) => w.endTime >= end) ?? l[0];
  }
  /** When the earliest open window of the tenant and type began (jobs started since may hold its lent devices). */
  openedAt(tenant: string, type: AcceleratorType): number {
    let t = Infinity;
    for (const w of this.byOwner.get(tenant)?.get(type) ?? []) t = Math.min(t, w.startTime);
    return t;
  }
  usedBy(tenant: string, type: AcceleratorType): number {
    return this.used.get(`${tenant}\u0000${type}`) ?? 0;
  }
  use(tenant: string, type: AcceleratorType, devices: number): void {
    this.used.set(`${tenant}\u0000${type}`, this.usedBy(tenant, type) + devices);
  }
  /** Would `devices` more of `type`, running until `end`, fit inside the tenant's open bookings? */
  fits(tenant: string, type: AcceleratorType, devices: number, end: number): boolean {
    if (devices <= 0 || !Number.isFinite(end) || !this.byOwner.has(tenant)) return false;
    return this.usedBy(tenant, type) + devices <= this.entitlement(tenant, type, end);
  }
  /**
   * Is a job of `tenant` short of free devices only because other tenants' open bookings keep them
   * (all their devices; only those in use when idle ones are `lent` to it)? The type and the first
   * such window (by id), or null.
   */
  keptFrom(
    tenant: string,
    types: readonly (AcceleratorType | null)[],
    devices: number,
    lent: boolean,
    freeOf: (t: AcceleratorType) => number,
  ): { type: AcceleratorType; window: ReservedWindow } | null {
    for (const t of types) {
      if (t === null) continue;
      let keptN = 0;
      let first: ReservedWindow | null = null;
      for (const owner of this.owners()) {
        if (owner === tenant) continue;
        const ws = this.byOwner.get(owner)?.get(t) ?? [];
        let booked = 0;
        for (const w of ws) booked += w.accelerators;
        const k = lent ? Math.min(booked, this.usedBy(owner, t)) : booked;
        if (k <= 0) continue;
        keptN += k;
        const w0 = ws[0];
        if (w0 !== undefined && (first === null || w0.id < first.id)) first = w0;
      }
      if (first !== null && freeOf(t) + keptN >= devices) return { type: t, window: first };
    }
    return null;
  }
  /** The types of `types` in which a pending job (`devices`, time limit `durationMs`) would run inside a booking now. */
  insideTypes(tenant: string, types: readonly (AcceleratorType | null)[], devices: number, end: number): AcceleratorType[] {
    if (!this.byOwner.has(tenant)) return [];
    const out: AcceleratorType[] = [];
    for (const t of types) if (t !== null && this.fits(tenant, t, devices, end)) out.push(t);
    return out;
  }
}

/**
 * The tenant's next booking (a window not yet open) that could hold a job of `devices` of one of
 * `types` for `durationMs`: earliest start, then id. Used to tell a job its quota does not allow
 * that it will run inside its booking.
 */
function nextBookingFor(windows: readonly ReservedWindow[], now: number, tenant: string, types: readonly (AcceleratorType | null)[], devices: number, durationMs: number | null): ReservedWindow | null {
  if (durationMs === null || devices <= 0) return null;
  let best: ReservedWindow | null = null;
  for (const w of windows) {
    if (w.tenant !== tenant || w.startTime <= now || w.accelerators < devices || w.endTime - w.startTime < durationMs) continue;
    if (!types.includes(w.acceleratorType)) continue;
    if (best === null || w.startTime < best.startTime || (w.startTime === best.startTime && w.id < best.id)) best = w;
  }
  return best;
}

/**
 * A stateful scheduler: `schedule(snapshot)` returns exactly what a fresh one would, but reuses
 * what it derived in earlier cycles. Not safe to share between concurrent callers (the engine and
 * the simulator each own one).
 */
export function createScheduler(config: PolicyConfig = DEFAULT_POLICY, options: SchedulerOptions = {}): SuanliScheduler {
  const bounds = options.profileBounds ?? DEFAULT_PROFILE_BOUNDS;
  /** Idle booked devices may go to other tenants' preemptible jobs (issue 4; `bookings.lendIdle`). */
  const lendIdle = (config.bookings ?? DEFAULT_BOOKINGS).lendIdle;
  /** Least attained service (see `AttainedServiceConfig`): bands of service, 0 for all with it off. */
  const las = config.attainedService ?? DEFAULT_ATTAINED_SERVICE;
  const bandLimits = las.bandBoundariesMs;
  const bandCount = las.enabled ? bandLimits.length + 1 : 1;
  const bandOfService = (serviceMs: number): number => {
    let b = 0;
    while (b < bandLimits.length && serviceMs >= (bandLimits[b] as number)) b++;
    return b;
  };
  const pendingBand = (j: SchedJob): number => (las.enabled ? bandOfService(j.attainedServiceMs ?? 0) : 0);
  const inQueueOrder = queueCompare(pendingBand);
  /**
   * Per pending job object: a number naming everything one cycle reads from a job except its id,
   * submit time and time limit (interned: few distinct values, and a number is a cheap map key).
   */
  const identityOf = new WeakMap<SchedJob, number>();
  const identityIds = new Map<string, number>();
  const identity = (job: SchedJob): number => {
    let id = identityOf.get(job);
    if (id === undefined) {
      const key = `${job.tenant}\u0000${job.project}\u0000${job.priority}\u0000${pendingBand(job)}\u0000${signature(job)}\u0000${job.preemptible}`;
      id = identityIds.get(key);
      if (id === undefined) identityIds.set(key, (id = identityIds.size));
      identityOf.set(job, id);
    }
    return id;
  };
  /** Per pending job object: (tenant, priority, band, request shape), the preemption search's cache key. */
  const preemptionKeys = new WeakMap<SchedJob, string>();
  const preemptionKey = (job: SchedJob): string => {
    let k = preemptionKeys.get(job);
    if (k === undefined) {
      k = `${job.tenant}\u0000${job.priority}\u0000${pendingBand(job)}\u0000${signature(job)}`;
      preemptionKeys.set(job, k);
    }
    return k;
  };

  // --- caches (all derived; dropping them changes nothing but speed) ---
  let nodesRef: readonly ClusterNode[] | null = null;
  let cap: ClusterCapacity | null = null;
  let free: FreeState | null = null;
  const runningById = new Map<string, RunningSchedJob>();
  /** Copy of the last snapshot's running array (the diff's baseline). */
  let runningPrev: readonly RunningSchedJob[] = [];
  let holds: ProfileHold[] = [];
  let holdsDirty = true;
  const pendingById = new Map<string, SchedJob>();
  /**
   * Per queue (tenant, or '*' without fair share): jobs in queue order, and a parallel array of the
   * verdict each job gets when it lies beyond the queue depth (filled lazily, reset with capacity).
   */
  type Queue = { jobs: SchedJob[]; beyond: (PendingDecision | undefined)[] };
  let queues = new Map<string, Queue>();
  let pendingPrev: readonly SchedJob[] = [];
  const queueKey = (job: SchedJob): string => (config.fairShare.enabled ? job.tenant : '*');

  /**
   * TEST_ONLY answers per request shape (replicas, devices, CPU, memory, types), valid while the
   * capacity is: buckets keyed by one number mixed from the shape's numbers, each entry compared
   * field by field (no key string is built per job, one map lookup).
   */
  type ShapeEntry = {
    readonly replicas: number;
    readonly accelerators: number;
    readonly cpuMillis: number;
    readonly memoryMiB: number;
    readonly types: readonly string[];
    readonly ever: readonly (AcceleratorType | null)[];
  };
  let shapes = new Map<number, ShapeEntry[]>();
  const sameNum = (a: number, b: number): boolean => a === b || (a !== a && b !== b);
  /** everFor per job object, valid while `shapes` is (the capacity): most calls are repeats. */
  let everByJob = new WeakMap<SchedJob, readonly (AcceleratorType | null)[]>();
  function everFor(c: ClusterCapacity, job: SchedJob): readonly (AcceleratorType | null)[] {
    const known = everByJob.get(job);
    if (known !== undefined) return known;
    const ever = everForShape(c, job);
    everByJob.set(job, ever);
    return ever;
  }
  function everForShape(c: ClusterCapacity, job: SchedJob): readonly (AcceleratorType | null)[] {
    const r = job.perReplica;
    const ts = r.acceleratorTypes;
    const key = (((job.replicas * 1021 + r.accelerators) * 1021 + r.cpuMillis) * 1021 + r.memoryMiB) * 8 + ts.length;
    let bucket = shapes.get(key);
    if (bucket === undefined) shapes.set(key, (bucket = []));
    for (const e of bucket) {
      if (!sameNum(e.replicas, job.replicas) || !sameNum(e.accelerators, r.accelerators) || !sameNum(e.cpuMillis, r.cpuMillis) || !sameNum(e.memoryMiB, r.memoryMiB)) continue;
      if (e.types === ts || sameStrings(e.types, ts)) return e.ever;
    }
    const ever = typesThatCouldEverFit(c, job.replicas, r);
    bucket.push({ replicas: job.replicas, accelerators: r.accelerators, cpuMillis: r.cpuMillis, memoryMiB: r.memoryMiB, types: ts.slice(), ever });
    return ever;
  }

  function syncCapacity(nodes: readonly ClusterNode[]): void {
    if (nodesRef !== null && cap !== null && nodes.length === nodesRef.length) {
      let same = true;
      for (let i = 0; i < nodes.length; i++) {
        const a = nodes[i] as ClusterNode;
        const b = nodesRef[i] as ClusterNode;
        if (a !== b && !sameNode(a, b)) {
          same = false;
          break;
        }
      }
      if (same) return;
    }
    nodesRef = nodes.slice(); // a copy: callers may reuse and mutate their arrays
    cap = buildCapacity(nodes);
    free = null; // rebuilt from running below
    shapes = new Map();
    everByJob = new WeakMap();
    for (const q of queues.values()) q.beyond.fill(undefined); // they depend on the capacity
  }

  /** Type and device count of a running job's placement: a few array reads, not worth caching. */
  function info(c: ClusterCapacity, job: RunningSchedJob): RunInfo {
    return { type: placementType(c, job.placement), devices: placementAccelerators(job.placement) };
  }

  function expectedEnd(job: RunningSchedJob): number {
    const end = job.startTime + (job.timeLimitMs ?? config.backfill.assumedTimeLimitMs);
    return job.preemptedAt === null || job.preemptedAt === undefined ? end : Math.min(end, job.preemptedAt + config.preemption.gracePeriodMs);
  }

  /** Devices in use per (tenant, project, type) by running jobs not being preempted. */
  const runUse = new Map<string, Map<string, Map<AcceleratorType, number>>>();
  /**
   * A cheap, conservative pre-check for preemption: per type and tenant, the lowest priority and the
   * earliest start among preemptible running jobs (exact when the victim index is built; after a
   * job leaves they may be too low/early, which only makes the pre-check let more through), and the
   * number of jobs already stopping per type (exact).
   */
  let runStats = new Map<AcceleratorType, Map<string, { minPriority: number; earliestStart: number }>>();
  const stoppingByType = new Map<AcceleratorType, number>();
  /** One-replica running jobs per node, for moves (built at most once per cycle, see movableOn). */
  let byNode: Map<number, RunningSchedJob[]> | null = null;
  /** Running jobs being preempted (grace period running). */
  const stoppingJobs = new Set<RunningSchedJob>();
  function statsAdd(type: AcceleratorType, j: RunningSchedJob): void {
    let m = runStats.get(type);
    if (m === undefined) {
      m = new Map();
      runStats.set(type, m);
    }
    const e = m.get(j.tenant);
    if (e === undefined) m.set(j.tenant, { minPriority: j.priority, earliestStart: j.startTime });
    else {
      if (j.priority < e.minPriority) e.minPriority = j.priority;
      if (j.startTime < e.earliestStart) e.earliestStart = j.startTime;
    }
  }

  /** Running jobs per tenant (an index, for bookings: which of the owner's jobs run inside them). */
  const runningByTenant = new Map<string, Set<RunningSchedJob>>();
  function countUse(c: ClusterCapacity, j: RunningSchedJob, sign: 1 | -1): void {
    let mine = runningByTenant.get(j.tenant);
    if (sign === 1) {
      if (mine === undefined) runningByTenant.set(j.tenant, (mine = new Set()));
      mine.add(j);
    } else if (mine !== undefined) {
      mine.delete(j);
      if (mine.size === 0) runningByTenant.delete(j.tenant);
    }
    const i = info(c, j);
    if (i.type === null || i.devices === 0) return;
    if (j.preemptedAt !== null && j.preemptedAt !== undefined) {
      stoppingByType.set(i.type, (stoppingByType.get(i.type) ?? 0) + sign);
      if (sign === 1) stoppingJobs.add(j);
      else stoppingJobs.delete(j);
      return;
    }
    if (sign === 1 && j.preemptible) statsAdd(i.type, j);
    let byProject = runUse.get(j.tenant);
    if (byProject === undefined) runUse.set(j.tenant, (byProject = new Map()));
    let byType = byProject.get(j.project);
    if (byType === undefined) byProject.set(j.project, (byType = new Map()));
    const n = (byType.get(i.type) ?? 0) + sign * i.devices;
    if (n === 0) byType.delete(i.type);
    else byType.set(i.type, n);
  }

  function syncRunning(c: ClusterCapacity, running: readonly RunningSchedJob[]): FreeState {
    if (free === null) {
      free = new FreeState(c, running);
      runningPrev = running.slice();
      runningById.clear();
      runUse.clear();
      runningByTenant.clear();
      runStats = new Map();
      stoppingByType.clear();
      stoppingJobs.clear();
      // the holds too, while each job is at hand (sortedHolds would visit them all again)
      const all: ProfileHold[] = [];
      for (const j of running) {
        runningById.set(j.id, j);
        countUse(c, j, 1);
        all.push({ jobId: j.id, placement: j.placement, startTime: j.startTime, endTime: expectedEnd(j) });
      }
      if (runningById.size === running.length) {
        // distinct ids: the same holds sortedHolds builds from runningById (and sorted the same)
        holds = sortHolds(all);
        holdsDirty = false;
      } else holdsDirty = true;
      victims = null;
      return free;
    }
    const f = free;
    const { removed, added } = diffByIdentity(runningPrev, running, sameRunningJob);
    runningPrev = running.slice();
    for (const j of removed) {
      // the cached (canonical) object for this id, if it is the one that left
      const cur = runningById.get(j.id);
      if (cur === undefined || (cur !== j && !sameRunningJob(cur, j))) continue;
      f.givePlacement(cur.placement);
      countUse(c, cur, -1);
      victimUpdate(c, cur, -1);
      holdsUpdate(cur, -1);
      runningById.delete(cur.id);
    }
    for (const j of added) {
      const prev = runningById.get(j.id);
      if (prev === j || (prev !== undefined && sameRunningJob(prev, j))) continue;
      if (prev !== undefined) {
        // the same id twice in one snapshot: keep the last, as a fresh build would
        f.givePlacement(prev.placement);
        countUse(c, prev, -1);
        victimUpdate(c, prev, -1);
        holdsUpdate(prev, -1);
      }
      f.takePlacement(j.placement);
      countUse(c, j, 1);
      victimUpdate(c, j, 1);
      holdsUpdate(j, 1);
      runningById.set(j.id, j);
    }
    f.commit();
    return f;
  }

  /**
   * Queues from scratch. The verdict each job gets beyond the depth is made here too, in input
   * order, while the job's objects are at hand (in queue order they are scattered in memory).
   */
  function rebuildQueues(c: ClusterCapacity, pending: readonly SchedJob[]): void {
    pendingById.clear();
    const groups = new Map<string, { jobs: SchedJob[]; beyond: PendingDecision[] }>();
    for (const j of pending) {
      pendingById.set(j.id, j);
      const k = queueKey(j);
      let g = groups.get(k);
      if (g === undefined) groups.set(k, (g = { jobs: [], beyond: [] }));
      g.jobs.push(j);
      g.beyond.push(beyondVerdict(c, j));
    }
    queues = new Map();
    for (const [k, g] of groups) {
      const order = sortQueueOrder(g.jobs, pendingBand, bandCount);
      const jobs: SchedJob[] = [];
      const beyond: (PendingDecision | undefined)[] = [];
      for (const i of order) {
        jobs.push(g.jobs[i] as SchedJob);
        beyond.push(g.beyond[i]);
      }
      queues.set(k, { jobs, beyond });
    }
  }

  /** The verdict of a job further down its queue than the depth (it depends on the capacity only). */
  function beyondVerdict(c: ClusterCapacity, job: SchedJob): PendingDecision {
    return everFor(c, job).length === 0
      ? { jobId: job.id, verdict: 'can-never-fit', reason: neverFitReason(job, describeRequest(job)), estimatedStart: null }
      : { jobId: job.id, verdict: 'waits-for-turn', reason: BEYOND_DEPTH_REASON, estimatedStart: null };
  }

  function syncPending(c: ClusterCapacity, pending: readonly SchedJob[]): void {
    // nothing queued yet (a fresh scheduler): every job is new, so the rebuild below, without a diff
    const diff = pendingById.size === 0 && pendingPrev.length === 0 ? { removed: [], added: pending } : diffByIdentity(pendingPrev, pending, sameSchedJob);
    pendingPrev = pending.slice(); // a copy: callers may reuse and mutate their arrays
    if (pendingById.size === 0 && diff.removed.length === 0 && diff.added.length === pending.length && pending.length > 0) {
      rebuildQueues(c, pending);
      return;
    }
    const removed = new Set<string>();
    const touched = new Set<string>();
    for (const j of diff.removed) {
      const cur = pendingById.get(j.id);
      if (cur === undefined || (cur !== j && !sameSchedJob(cur, j))) continue;
      removed.add(j.id);
      touched.add(queueKey(cur));
    }
    const added: SchedJob[] = [];
    for (const j of diff.added) {
      const prev = pendingById.get(j.id);
      if (prev !== undefined && !removed.has(j.id)) {
        if (prev === j || sameSchedJob(prev, j)) continue; // already queued (reported twice)
        removed.add(j.id);
        touched.add(queueKey(prev));
      }
      added.push(j);
    }
    if (added.length > pending.length / 4) {
      // many changes: rebuild (cheaper than many inserts)
      rebuildQueues(c, pending);
      return;
    }
    for (const k of touched) {
      const q = queues.get(k);
      if (q === undefined) continue;
      const jobs: SchedJob[] = [];
      const beyond: (PendingDecision | undefined)[] = [];
      q.jobs.forEach((j, i) => {
        if (removed.has(j.id)) return;
        jobs.push(j);
        beyond.push(q.beyond[i]);
      });
      if (jobs.length === 0) queues.delete(k);
      else queues.set(k, { jobs, beyond });
    }
    for (const id of removed) pendingById.delete(id);
    for (const j of added) {
      pendingById.set(j.id, j);
      const k = queueKey(j);
      const q = queues.get(k);
      if (q) q.beyond.splice(insertSorted(q.jobs, j, inQueueOrder), 0, undefined);
      else queues.set(k, { jobs: [j], beyond: [undefined] });
    }
  }

  /**
   * Preemption candidates per type: per tenant, the preemptible running jobs in victim order
   * (lowest priority, then least work since the last checkpoint, then latest start, then id), and
   * the jobs already stopping. The order does not depend on `now`, so it is cached while the
   * running set is unchanged.
   */
  type VictimIndex = { byTenant: Map<string, RunningSchedJob[]>; stopping: RunningSchedJob[] };
  let victims: Map<AcceleratorType, VictimIndex> | null = null;
  function victimEntry(type: AcceleratorType): VictimIndex {
    const v = victims as Map<AcceleratorType, VictimIndex>;
    let e = v.get(type);
    if (e === undefined) {
      e = { byTenant: new Map(), stopping: [] };
      v.set(type, e);
    }
    return e;
  }
  function victimList(e: VictimIndex, r: RunningSchedJob): RunningSchedJob[] | null {
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
  /**
   * The jobs of a victim list that have run at least `minRunMs` at `now`, cached across cycles: the
   * answer stays the same until the list changes or the next job crosses the threshold.
   */
  const listVersion = new WeakMap<RunningSchedJob[], number>();
  const eligibleCache = new WeakMap<RunningSchedJob[], Map<number, { version: number; from: number; until: number; list: RunningSchedJob[] }>>();
  function eligibleSince(list: RunningSchedJob[], minRunMs: number, now: number): readonly RunningSchedJob[] {
    const version = listVersion.get(list) ?? 0;
    let byMin = eligibleCache.get(list);
    if (byMin === undefined) {
      byMin = new Map();
      eligibleCache.set(list, byMin);
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
  function stoppingFor(idx: VictimIndex, job: SchedJob): readonly RunningSchedJob[] {
    if (idx.stopping.length === 0) return idx.stopping;
    return idx.stopping.filter((s) => s.preemptedFor === undefined || s.preemptedFor === null || s.preemptedFor === job.id || !pendingById.has(s.preemptedFor));
  }

  /** Keeps the cached index in step with one running job arriving (+1) or leaving (−1). */
  function victimUpdate(c: ClusterCapacity, r: RunningSchedJob, sign: 1 | -1): void {
    if (victims === null) return;
    const t = info(c, r).type;
    if (t === null) return;
    const l = victimList(victimEntry(t), r);
    if (l === null) return;
    listVersion.set(l, (listVersion.get(l) ?? 0) + 1);
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
  function victimIndex(c: ClusterCapacity, type: AcceleratorType): VictimIndex {
    if (victims === null) {
      victims = new Map();
      // sort once on precomputed keys (property reads once per job, not per comparison)
      const all = [...runningById.values()];
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
        const t = info(c, r).type;
        if (t === null) continue;
        const e = victimEntry(t);
        if (r.preemptedAt !== null && r.preemptedAt !== undefined) e.stopping.push(r);
        else if (r.preemptible) {
          const l = e.byTenant.get(r.tenant);
          if (l) l.push(r);
          else e.byTenant.set(r.tenant, [r]);
        }
      }
      for (const e of victims.values()) e.byTenant = new Map([...e.byTenant].sort((x, y) => cmpStr(x[0], y[0])));
      // the pre-check statistics become exact again
      runStats = new Map();
      for (const [t, e] of victims) for (const l of e.byTenant.values()) for (const r of l) statsAdd(t, r);
    }
    return victims.get(type) ?? { byTenant: new Map(), stopping: [] };
  }

  /** Keeps the cached, sorted holds in step with one running job arriving (+1) or leaving (−1). */
  function holdsUpdate(j: RunningSchedJob, sign: 1 | -1): void {
    if (holdsDirty) return;
    if (sign === -1) {
      // binary search by its end time (holds are sorted by end time), then the linear scan as before
      const end = expectedEnd(j);
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
      else holdsDirty = true;
      return;
    }
    const h: ProfileHold = { jobId: j.id, placement: j.placement, startTime: j.startTime, endTime: expectedEnd(j) };
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

  function sortedHolds(): ProfileHold[] {
    if (holdsDirty) {
      const all: ProfileHold[] = [];
      for (const j of runningById.values()) all.push({ jobId: j.id, placement: j.placement, startTime: j.startTime, endTime: expectedEnd(j) });
      holds = sortHolds(all);
      holdsDirty = false;
    }
    return holds;
  }

  /** Step 4: the order in which jobs are considered. */
  /**
   * Step 4. Returns the first `maxJobsExamined` jobs in order, and calls `rest` for every other
   * pending job (tenant queues in name order, each from where the examined part stopped).
   */
  function order(snapshot: Snapshot, quota: QuotaBook, rest: (q: Queue, from: number, skip: ReadonlySet<SchedJob> | null) => void): readonly SchedJob[] {
    const depth = config.backfill.maxJobsExamined;
    if (!config.fairShare.enabled) {
      const q = queues.get('*');
      if (q === undefined) return [];
      if (q.jobs.length <= depth) return q.jobs;
      rest(q, depth, null);
      return q.jobs.slice(0, depth);
    }
    const out: SchedJob[] = [];
    const usage = snapshot.usage ?? {};
    const heap = new TenantHeap();
    const c = cap as ClusterCapacity;
    // Jobs that fit inside their tenant's guarantee go first (what Kueue does with nominal quota):
    // a tenant that reclaimed devices then gets them before any borrower's job can take them.
    // Jobs pulled ahead of their tenant's queue order (below).
    const ahead = new Set<SchedJob>();
    const reclaim = config.preemption.reclaim;
    /** Does `job` fit inside its tenant's guarantee (some acceptable type), as if the jobs taken in order before it all start? */
    const fitsGuarantee = (t: TenantTurn, job: SchedJob): boolean => {
      const need = job.replicas * job.perReplica.accelerators;
      if (need === 0 || need > t.maxRoom - t.taken) return false;
      for (const type of everFor(c, job)) if (type !== null && (t.room.get(type) ?? 0) - t.taken >= need) return true;
      return false;
    };
    // A tenant's turn is for its next job in queue order, unless that job does not fit inside the
    // tenant's guarantee and one of the next GUARANTEE_LOOKAHEAD jobs does: that one is pulled
    // ahead, so a large job at the head does not make the tenant's small guaranteed jobs wait
    // behind borrowers (or behind a borrower's reservation).
    const turn = (t: TenantTurn): boolean => {
      const q = t.jobs;
      let i = t.pos;
      while (i < q.length && ahead.has(q[i] as SchedJob)) i++;
      t.pos = i;
      let job = q[i];
      if (job === undefined) return false;
      let cls = fitsGuarantee(t, job) ? 0 : 1;
      if (cls === 1 && t.maxRoom - t.taken > 0 && reclaim) {
        for (let k = i + 1, seen = 0; k < q.length && seen < GUARANTEE_LOOKAHEAD; k++) {
          const cand = q[k] as SchedJob;
          if (ahead.has(cand)) continue;
          seen++;
          if (fitsGuarantee(t, cand)) {
            job = cand;
            cls = 0;
            break;
          }
        }
      }
      t.job = job;
      t.cls = cls;
      t.band = pendingBand(job);
      t.key = ((usage[t.name] ?? 0) + t.charged) / t.weight;
      return true;
    };
    const turns: TenantTurn[] = [];
    for (const name of [...queues.keys()].sort(cmpStr)) {
      const quotas = quota.tenant(name).quotas;
      // the tenant's room inside its guarantee per type, as the cycle starts (the book does not change while ordering)
      const room = new Map<AcceleratorType, number>();
      let maxRoom = 0;
      for (const type in quotas) {
        const r = quota.guaranteed(name, type) - quota.usage(name, type);
        room.set(type, r);
        maxRoom = Math.max(maxRoom, r);
      }
      const t: TenantTurn = { name, jobs: queues.get(name)?.jobs ?? [], pos: 0, charged: 0, taken: 0, weight: quota.tenant(name).weight, room, maxRoom, job: undefined, cls: 0, band: 0, key: 0 };
      turns.push(t);
      if (turn(t)) heap.push(t);
    }
    const chargeCapS = config.fairShare.halfLifeMs / 1000;
    for (let guard = 0; guard < pendingById.size + queues.size && heap.size > 0 && out.length < depth; guard++) {
      const top = heap.pop();
      if (top === undefined) break;
      const job = top.job;
      if (job === undefined) continue;
      out.push(job);
      if (job === top.jobs[top.pos]) top.pos++;
      else ahead.add(job);
      // charge the tenant for this job (devices × expected seconds, capped at one half-life)
      const secs = Math.min(job.timeLimitMs === null ? chargeCapS : job.timeLimitMs / 1000, chargeCapS);
      const devices = job.replicas * job.perReplica.accelerators;
      top.charged += Math.max(1, devices) * secs;
      top.taken += devices;
      if (turn(top)) heap.push(top);
    }
    for (const t of turns) {
      const q = queues.get(t.name);
      if (q !== undefined && t.pos < q.jobs.length) rest(q, t.pos, ahead.size > 0 ? ahead : null);
    }
    return out;
  }

  function schedule(snapshot: Snapshot): ScheduleResult {
    const now = snapshot.now;
    // Steps 1–2
    syncCapacity(snapshot.nodes);
    const c = cap as ClusterCapacity;
    const f = syncRunning(c, snapshot.running);
    syncPending(c, snapshot.pending);
    byNode = null; // per cycle (see movableOn)
    const base = f.mark();
    try {
      return cycle(snapshot, now, c, f);
    } finally {
      f.rollback(base); // the cached free state stays "capacity minus running"
    }
  }

  function cycle(snapshot: Snapshot, now: number, c: ClusterCapacity, f: FreeState): ScheduleResult {
    const P = config.preemption;
    const B = config.backfill;
    // Step 3: quotas
    const quota = new QuotaBook(config, c.upByType);
    // sorted so that the book's insertion order does not depend on history
    for (const tenant of [...runUse.keys()].sort(cmpStr)) {
      const byProject = runUse.get(tenant) as Map<string, Map<AcceleratorType, number>>;
      for (const project of [...byProject.keys()].sort(cmpStr)) {
        const byType = byProject.get(project) as Map<AcceleratorType, number>;
        for (const type of [...byType.keys()].sort(cmpStr)) quota.add(tenant, project, type, byType.get(type) ?? 0);
      }
    }
    // Step 3b: bookings open now (issue 4): the owner's running jobs inside them leave quota use
    const windows = snapshot.windows ?? [];
    const open = new OpenBookings(windows, now);
    for (const tenant of open.owners()) {
      const mine = [...(runningByTenant.get(tenant) ?? [])].sort((a, b) => a.startTime - b.startTime || cmpStr(a.id, b.id));
      for (const j of mine) {
        if ((j.preemptedAt !== null && j.preemptedAt !== undefined) || j.timeLimitMs === null) continue;
        const i = info(c, j);
        if (i.type === null || !open.fits(tenant, i.type, i.devices, expectedEnd(j))) continue;
        open.use(tenant, i.type, i.devices);
        open.insideIds.add(j.id);
        quota.add(tenant, j.project, i.type, -i.devices);
      }
    }
    const profile = new AvailabilityProfile(c, f, now, sortedHolds(), windows, bounds, true);

    const starts: StartDecision[] = [];
    const preemptions: PreemptDecision[] = [];
    const pending: PendingDecision[] = [];
    const victimIds = new Set<string>();
    let tested = 0;
    let estimates = 0;
    let backfillReservations = 0;
    let firstBlocked: SchedJob | null = null;
    // (tenant, priority, request shape) for which preemption found nothing this cycle
    const noVictims = new Set<string>();
    // the verdict of the last blocked job per identity (see the loop), the state it was made in, and
    // the time limit it read (undefined: it read none); a copy spends the same search budgets the
    // original spent, so that copying changes no decision
    const blockedLike = new Map<number, { version: number; timeLimitMs: number | null | undefined; decision: PendingDecision; ranNowTest: boolean; reachedEstimate: boolean }>();
    const mayEstimate = (): boolean =>
      estimates < B.estimateMaxJobs || (B.enabled && backfillReservations < B.reservationDepth && estimates < B.estimateMaxJobs + B.reservationDepth);
    const ranEnoughCache = new Map<string, readonly RunningSchedJob[]>();
    // "N nvidia-h200 free" per list of allowed types; cleared whenever something starts
    const freeText = new Map<readonly (AcceleratorType | null)[], string>();

    const waitTurn = (job: SchedJob, reason: string, estimatedStart: number | null = null, detail?: VerdictDetail): void => {
      pending.push({ jobId: job.id, verdict: 'waits-for-turn', reason, estimatedStart, ...(detail ? { detail } : {}) });
    };

    // Step 5
    // jobs beyond the queue depth: a fixed verdict, one reused object per job (no work per cycle)
    // (the verdicts are filled where missing, then copied in slices: no push per job)
    const notExamined: (readonly (PendingDecision | undefined)[])[] = [];
    let examined = order(snapshot, quota, (q, from, skip) => {
      const jobs = q.jobs;
      const beyond = q.beyond;
      const n = jobs.length;
      // the first verdict not yet computed (the arrays hold no holes: created filled, then spliced)
      const first = beyond.indexOf(undefined, from);
      if (first >= 0)
        for (let i = first; i < n; i++) if (beyond[i] === undefined) beyond[i] = beyondVerdict(c, jobs[i] as SchedJob);
      if (skip === null) notExamined.push(from === 0 ? beyond : beyond.slice(from, n));
      // jobs pulled ahead were examined: no second verdict for them
      else notExamined.push(beyond.slice(from, n).filter((_, k) => !skip.has(jobs[from + k] as SchedJob)));
    });
    // jobs that would run inside their tenant's open booking go first: the booking is theirs, so no
    // job examined before them may take (or be promised) its devices in this cycle
    const insideAtStart = (job: SchedJob): boolean =>
      job.timeLimitMs !== null && open.insideTypes(job.tenant, everFor(c, job), job.replicas * job.perReplica.accelerators, now + job.timeLimitMs).length > 0;
    if (!open.empty) examined = moveToFront(examined, insideAtStart);
    // Claims: a job whose victims are still stopping gets, before any other job is considered, the
    // capacity they free (re-planned each cycle, earliest preemption first), so that no job
    // examined before it can take the free devices its victims were chosen to complete
    const claimed = claimCapacity(examined, c, f, quota, profile, now, open, pending);
    // and a job whose victims have just stopped is considered first, so the capacity they freed
    // for it is not taken by a job examined before it (its claim lasts two grace periods)
    const claimWindow = 2 * P.gracePeriodMs;
    const hasClaim = (j: SchedJob): boolean => j.claimedAt !== undefined && j.claimedAt !== null && now - j.claimedAt <= claimWindow && !claimed.has(j.id);
    examined = moveToFront(examined, hasClaim, (a, b) => (a.claimedAt ?? 0) - (b.claimedAt ?? 0) || cmpStr(a.id, b.id));
    for (const job of examined) {
      if (claimed.size > 0 && claimed.has(job.id)) continue;
      // a job identical in every respect the cycle reads to one just found blocked, with nothing
      // started, reserved or preempted since, is blocked for the same reason (Slurm's backfill skips
      // such jobs too): its verdict is copied, not recomputed (bursts of identical jobs are common)
      // The time limit counts only where the verdict read it: a job that cannot fit by device count
      // alone asks no RUN_NOW or estimate (time limits are seldom shared, so this is most copying)
      const identityId = identity(job);
      const version = starts.length + preemptions.length + profile.reservationCount;
      const same = blockedLike.get(identityId);
      if (same !== undefined && same.version === version && (same.timeLimitMs === undefined || same.timeLimitMs === job.timeLimitMs) && !(same.ranNowTest && tested >= B.maxJobsTested)) {
        const d = same.decision;
        pending.push({ jobId: job.id, verdict: d.verdict, reason: d.reason, estimatedStart: d.estimatedStart });
        // the RUN_NOW test and the will-run estimate it would have made (same answers: nothing
        // changed); its preemption search is cached as failed already
        if (same.ranNowTest) tested++;
        if (same.reachedEstimate && mayEstimate()) estimates++;
        continue;
      }
      const decided = pending.length;
      let ranNowTest = false;
      let reachedEstimate = false;
      let estimated = false;
      try {
        const need = job.replicas * job.perReplica.accelerators;
        const durationMs = job.timeLimitMs;
        // a. TEST_ONLY, cached per request shape
        const ever = everFor(c, job);
        if (ever.length === 0) {
          pending.push({ jobId: job.id, verdict: 'can-never-fit', reason: neverFitReason(job, describeRequest(job)), estimatedStart: null });
          continue;
        }
        // inside its tenant's open booking: the booked types, no quota (see OpenBookings)
        const inside: readonly AcceleratorType[] = open.empty || durationMs === null ? [] : open.insideTypes(job.tenant, ever, need, now + durationMs);
        let allowed: readonly (AcceleratorType | null)[] = ever;
        if (inside.length > 0) allowed = inside;
        else {
          // b. quota, per acceptable type (the common all-allowed case reuses the cached list); a job
          // that asks more than its quota could ever give can never run as the policy stands, unless
          // a booking of its tenant will hold it
          let capReason: string | null = null;
          for (const t of ever) {
            capReason = quota.everAllowed(job.tenant, job.project, t, need);
            if (capReason === null) break;
          }
          let quotaReason: string | null = null;
          if (capReason === null) {
            for (let i = 0; i < ever.length; i++) {
              const t = ever[i] ?? null;
              const q = quota.check(job.tenant, job.project, t, need);
              if (q.ok) continue;
              quotaReason ??= q.reason;
              if (allowed === ever) allowed = ever.slice(0, i);
              for (let k = i + 1; k < ever.length; k++) {
                const t2 = ever[k] ?? null;
                if (quota.check(job.tenant, job.project, t2, need).ok) (allowed as (AcceleratorType | null)[]).push(t2);
              }
              break;
            }
          }
          if (capReason !== null || allowed.length === 0) {
            const roomy = durationMs === null ? undefined : ever.find((t) => t !== null && open.entitlement(job.tenant, t, now + durationMs) >= need);
            const next = windows.length === 0 ? null : nextBookingFor(windows, now, job.tenant, ever, need, durationMs);
            if (roomy !== undefined && roomy !== null && durationMs !== null)
              pending.push({
                jobId: job.id,
                verdict: 'waits-for-quota',
                reason: `${capReason ?? quotaReason ?? 'quota'}; it fits inside open booking window ${open.window(job.tenant, roomy, now + durationMs)?.id ?? '?'} of tenant ${job.tenant} once its jobs there leave room (${open.usedBy(job.tenant, roomy)} of ${open.entitlement(job.tenant, roomy, now + durationMs)} ${roomy} in use)`,
                estimatedStart: null,
              });
            else if (next !== null)
              pending.push({
                jobId: job.id,
                verdict: 'waits-for-quota',
                reason: `${capReason ?? quotaReason ?? 'quota'}; it will run inside booking window ${next.id} of tenant ${job.tenant} from ${isoOrMs(next.startTime)}, where quota does not apply`,
                estimatedStart: next.startTime,
                detail: runsInBookingDetail(next.startTime, next.id, job.tenant),
              });
            else if (capReason !== null) pending.push({ jobId: job.id, verdict: 'can-never-fit', reason: capReason, estimatedStart: null });
            else pending.push({ jobId: job.id, verdict: 'waits-for-quota', reason: quotaReason ?? 'quota', estimatedStart: null });
            continue;
          }
        }
        if (!B.enabled && firstBlocked !== null) {
          waitTurn(job, `strict order (backfill off): waits behind job ${firstBlocked.id}`);
          continue;
        }
        // c. RUN_NOW, after an O(1) aggregate check that needs no test budget
        const aggregateFits = allowed.some((t) => t === null || f.freeOfType(t) >= need);
        let answer: PlacementAnswer | null = null;
        if (aggregateFits) {
          if (tested >= B.maxJobsTested) {
            waitTurn(job, `not tested this cycle: the backfill test budget (backfill.maxJobsTested = ${B.maxJobsTested}) went to jobs ahead of it`);
            continue;
          }
          tested++;
          ranNowTest = true;
          answer = profile.ask('run-now', { jobId: job.id, tenant: job.tenant, replicas: job.replicas, perReplica: job.perReplica, durationMs, types: allowed, preemptible: lendIdle && job.preemptible });
          if (answer.ok) {
            const end = durationMs === null ? Infinity : now + durationMs;
            profile.start(job.id, answer.placement, end);
            freeText.clear();
            const t = answer.acceleratorType;
            if (inside.length > 0 && t !== null) open.use(job.tenant, t, need);
            else quota.add(job.tenant, job.project, t, need);
            const reason =
              inside.length > 0 && t !== null
                ? `inside booking window ${open.window(job.tenant, t, end)?.id ?? '?'} of tenant ${job.tenant}: the booked ${t} are its own for the window (quota does not apply)`
                : profile.reservationCount > 0
                ? `backfilled: fits now and does not delay the ${profile.reservationCount} reserved job(s) ahead of it`
                : firstBlocked === null
                  ? 'fits now; first in queue order'
                  : `fits now (job ${firstBlocked.id} ahead of it needs capacity that is not free)`;
            starts.push({ jobId: job.id, placement: answer.placement, reason });
            continue;
          }
        }
        // d. preemption: reclaim a guarantee, or priority within the tenant (never to jump a
        // reservation or a booking; bounded by the test budget; failures cached per shape)
        // A job inside its booking evicts the jobs its booking lent devices to (not cached per shape:
        // the booking's use changes with every start inside it)
        const blockedByPromise = answer !== null && !answer.ok && (answer.kind === 'reservation' || answer.kind === 'booking');
        let pre: ReturnType<typeof tryPreempt> = null;
        if (inside.length > 0) {
          if (!blockedByPromise && tested < B.maxJobsTested) {
            tested++;
            pre = tryEvictForBooking(job, inside, need, c, f, profile, now, victimIds, preemptions.length, open);
          }
        } else {
          // a job inside its guarantee reclaims even when a reservation stands where it would fit
          // now (victims are only taken where starting it delays no reservation); others do not
          const owed = P.reclaim && allowed.some((t) => t !== null && quota.withinGuarantee(job.tenant, t, need));
          const noVictimsKey =
            (!blockedByPromise || owed) && (P.reclaim || P.withinTenant !== 'never' || las.enabled) && tested < B.maxJobsTested
              ? preemptionKey(job)
              : null;
          if (noVictimsKey !== null && !noVictims.has(noVictimsKey)) {
            tested++;
            pre = tryPreempt(job, allowed, need, c, f, quota, profile, now, victimIds, preemptions.length, ranEnoughCache, open.insideIds);
            if (pre === null) noVictims.add(noVictimsKey);
          }
        }
        if (pre !== null) {
          for (const v of pre.victims) {
            victimIds.add(v.job.id);
            preemptions.push({ jobId: v.job.id, forJobId: job.id, reason: v.reason });
            profile.shortenHold(v.job.id, now + P.gracePeriodMs);
            const vi = info(c, v.job);
            quota.add(v.job.tenant, v.job.project, vi.type, -vi.devices);
          }
          const startAt = pre.startTime;
          profile.reserve(job.id, pre.placement, startAt, durationMs === null ? Infinity : startAt + durationMs);
          if (inside.length > 0) open.use(job.tenant, pre.type, need);
          else quota.add(job.tenant, job.project, pre.type, need);
          firstBlocked ??= job;
          pending.push({
            jobId: job.id,
            verdict: 'waits-for-capacity',
            reason:
              pre.victims.length > 0
                ? `preempting ${pre.victims.map((v) => v.job.id).join(', ')} for it (${pre.why}); starts when they stop (grace period ${P.gracePeriodMs / 1000} s)`
                : `waiting for preempted job(s) to stop; the capacity is reserved for it`,
            estimatedStart: startAt,
          });
          continue;
        }
        // e. WILL_RUN estimate and reservation
        // (reservations made for preemptors do not use up the backfill reservation depth)
        const wantsReservation = B.enabled && backfillReservations < B.reservationDepth;
        let estimate: PlacementAnswer | null = null;
        reachedEstimate = true;
        if (mayEstimate()) {
          estimates++;
          estimated = true;
          estimate = profile.ask('will-run', { jobId: job.id, tenant: job.tenant, replicas: job.replicas, perReplica: job.perReplica, durationMs, types: allowed, preemptible: lendIdle && job.preemptible });
          if (estimate.ok && wantsReservation) {
            profile.reserve(job.id, estimate.placement, estimate.startTime, durationMs === null ? Infinity : estimate.startTime + durationMs);
            backfillReservations++;
          }
        }
        firstBlocked ??= job;
        const estimatedStart = estimate?.ok === true ? estimate.startTime : null;
        if ((answer !== null && !answer.ok && answer.kind === 'booking') || (estimate !== null && !estimate.ok && estimate.kind === 'booking')) {
          const w = answer !== null && !answer.ok && answer.kind === 'booking' ? answer.blockingWindowId : estimate !== null && !estimate.ok ? estimate.blockingWindowId : undefined;
          pending.push({ jobId: job.id, verdict: 'behind-booking', reason: `it would use capacity booked by window ${w ?? '?'} for another tenant`, estimatedStart });
          continue;
        }
        if (answer !== null && !answer.ok && answer.kind === 'reservation') {
          waitTurn(job, `${answer.reason}${estimatedStart !== null ? `; estimated start ${isoOrMs(estimatedStart)}` : ''}`, estimatedStart, estimatedStart !== null ? estimatedStartDetail(estimatedStart) : undefined);
          continue;
        }
        // the devices it lacks are kept by another tenant's open booking: say so
        const kept = open.empty ? null : open.keptFrom(job.tenant, allowed, need, lendIdle && job.preemptible, (t) => f.freeOfType(t));
        if (kept !== null) {
          pending.push({ jobId: job.id, verdict: 'behind-booking', reason: `the ${kept.type} it needs are booked by window ${kept.window.id} of tenant ${kept.window.tenant ?? '?'}, open until ${isoOrMs(kept.window.endTime)}`, estimatedStart, detail: bookedUntilDetail(kept.window.endTime, kept.window.id, kept.window.tenant ?? null, kept.type) });
          continue;
        }
        let freeNow = freeText.get(allowed);
        if (freeNow === undefined) {
          freeNow = allowed.map((t) => (t === null ? 'CPU-only' : `${f.freeOfType(t)} ${t} free`)).join(', ');
          freeText.set(allowed, freeNow);
        }
        pending.push({
          jobId: job.id,
          verdict: 'waits-for-capacity',
          reason: `needs ${describeRequest(job)} (${need} devices in all); ${freeNow} now${
            estimate === null
              ? ''
              : estimate.ok
                ? `; expected to start ${isoOrMs(estimate.startTime)}${profile.reservationFor(job.id) ? ' (reserved)' : ''}`
                : `; ${estimate.reason}`
          }`,
          estimatedStart,
          ...(estimate?.ok === true ? { detail: expectedStartDetail(estimate.startTime, profile.reservationFor(job.id) !== undefined) } : {}),
        });
      } finally {
        const d = pending[decided];
        if (pending.length === decided + 1 && d !== undefined && d.estimatedStart === null && starts.length + preemptions.length + profile.reservationCount === version)
          blockedLike.set(identityId, { version, timeLimitMs: windows.length === 0 && !ranNowTest && !estimated ? undefined : job.timeLimitMs, decision: d, ranNowTest, reachedEstimate });
      }
    }
    // one copy of the cached verdicts of jobs beyond the depth (not one push each)
    return { starts, preemptions, pending: notExamined.length === 0 ? pending : pending.concat(...(notExamined as PendingDecision[][])) };
  }

  interface Victim {
    readonly job: RunningSchedJob;
    readonly reason: string;
  }

  /**
   * Step 5, first: each examined job that jobs are stopping for (`preemptedFor`) gets the capacity
   * they free reserved from the end of their grace period (their devices, with what is free beside
   * them); its quota is charged. Returns the ids of the jobs so handled (verdicts pushed).
   */
  function claimCapacity(
    examined: readonly SchedJob[],
    c: ClusterCapacity,
    f: FreeState,
    quota: QuotaBook,
    profile: AvailabilityProfile,
    now: number,
    open: OpenBookings,
    pending: PendingDecision[],
  ): Set<string> {
    const claimed = new Set<string>();
    if (stoppingJobs.size === 0) return claimed;
    const byClaimant = new Map<string, RunningSchedJob[]>();
    for (const s of stoppingJobs) {
      const p = s.preemptedFor;
      if (p === undefined || p === null || !pendingById.has(p)) continue;
      const l = byClaimant.get(p);
      if (l === undefined) byClaimant.set(p, [s]);
      else l.push(s);
    }
    if (byClaimant.size === 0) return claimed;
    const firstAt = (l: readonly RunningSchedJob[]): number => Math.min(...l.map((s) => s.preemptedAt ?? now));
    const claimants = examined.filter((j) => byClaimant.has(j.id) && !open.insideIds.has(j.id));
    claimants.sort((a, b) => firstAt(byClaimant.get(a.id) ?? []) - firstAt(byClaimant.get(b.id) ?? []) || cmpStr(a.id, b.id));
    for (const job of claimants) {
      const victims = (byClaimant.get(job.id) ?? []).sort((a, b) => cmpStr(a.id, b.id));
      const first = victims[0];
      const type = first === undefined ? null : info(c, first).type;
      if (type === null) continue;
      const need = job.replicas * job.perReplica.accelerators;
      const picked = pickVictims(job, type, need, c, f, profile, now, victims, [], 0, () => false);
      if (picked === null) continue; // its victims no longer make room: it is considered as usual
      profile.reserve(job.id, picked.placement, picked.startTime, job.timeLimitMs === null ? Infinity : picked.startTime + job.timeLimitMs);
      quota.add(job.tenant, job.project, type, need);
      claimed.add(job.id);
      pending.push({
        jobId: job.id,
        verdict: 'waits-for-capacity',
        reason: `waiting for preempted job(s) ${victims.map((v) => v.id).join(', ')} to stop; the capacity is reserved for it`,
        estimatedStart: picked.startTime,
      });
    }
    return claimed;
  }
  /** A possible victim, why it may be one, and its attained-service band. */
  interface Candidate {
    readonly job: RunningSchedJob;
    readonly kind: 'reclaim' | 'priority' | 'service' | 'service-borrower' | 'move';
    readonly band: number;
  }

  /**
   * Step 5d. Finds whole running jobs whose capacity would let `job` start, losing least work.
   * Candidates, each only once it has run long enough:
   *  - reclaim: when the job fits inside its tenant's guarantee, other tenants' jobs while their
   *    tenant borrows above its guarantee;
   *  - priority (`withinTenant: lower-priority`): its own tenant's lower-priority jobs;
   *  - attained service (LAS on): its own tenant's jobs of at most its priority and of a higher
   *    band, and other tenants' jobs of a higher band while their tenant stays at or above its
   *    guarantee without them (borrowed capacity goes to the least-served work; a guarantee is
   *    never taken for it).
   * Most-served band first, then `compareVictims`. Already-stopping jobs count as free capacity (no
   * second round of victims for the same need). Returns null when preemption is not allowed or
   * does not help; changes nothing then.
   */
  function tryPreempt(
    job: SchedJob,
    allowed: readonly (AcceleratorType | null)[],
    need: number,
    c: ClusterCapacity,
    f: FreeState,
    quota: QuotaBook,
    profile: AvailabilityProfile,
    now: number,
    taken: ReadonlySet<string>,
    victimsSoFar: number,
    ranEnoughCache: Map<string, readonly RunningSchedJob[]>,
    /** Jobs running inside their tenant's booking: reclaim never takes them (the booking is theirs). */
    insideBooking: ReadonlySet<string>,
  ): { victims: Victim[]; placement: Placement; type: AcceleratorType; startTime: number; why: string } | null {
    const P = config.preemption;
    const withinTenant = P.withinTenant === 'lower-priority';
    if (!P.reclaim && !withinTenant && !las.enabled) return null;
    const budget = P.maxVictimsPerCycle - victimsSoFar;
    const myBand = pendingBand(job);
    const reclaimMinRunMs = Math.min(P.minRuntimeMs, Math.max(0, P.boundedReclaimTimeMs - P.gracePeriodMs));
    for (const type of allowed) {
      if (type === null) continue;
      const reclaim = P.reclaim && quota.withinGuarantee(job.tenant, type, need);
      const service = las.enabled && myBand < bandCount - 1;
      if (!reclaim && !withinTenant && !service) continue;
      // O(tenants) pre-check before touching the victim index
      let maybe = (stoppingByType.get(type) ?? 0) > 0;
      const stats = runStats.get(type);
      if (!maybe && withinTenant) {
        const st = stats?.get(job.tenant);
        maybe = st !== undefined && st.minPriority < job.priority && st.earliestStart + P.minRuntimeMs <= now;
      }
      if (!maybe && stats !== undefined && (reclaim || service)) {
        for (const [tenant, st] of stats) {
          if (service && (tenant === job.tenant || quota.isBorrowing(tenant, type)) && st.earliestStart + P.minRuntimeMs <= now) maybe = true;
          else if (reclaim && tenant !== job.tenant && st.earliestStart + reclaimMinRunMs <= now && quota.isBorrowing(tenant, type)) maybe = true;
          if (maybe) break;
        }
      }
      if (!maybe) continue;
      const idx = victimIndex(c, type);
      const stopping = stoppingFor(idx, job);
      const eligible: Candidate[] = [];
      const scanMax = P.maxCandidatesPerJob;
      // jobs that have run long enough, per (type, tenant, minimum runtime), filtered once per cycle
      const ranEnough = (tenant: string, minRunMs: number): readonly RunningSchedJob[] => {
        const key = `${type}\u0000${tenant}\u0000${minRunMs}`;
        let l = ranEnoughCache.get(key);
        if (l === undefined) {
          l = eligibleSince(idx.byTenant.get(tenant) ?? [], minRunMs, now);
          ranEnoughCache.set(key, l);
        }
        return l;
      };
      const bandOfRunning = (r: RunningSchedJob): number =>
        las.enabled ? bandOfService((r.attainedServiceMs ?? 0) + Math.max(0, now - r.startTime) * info(c, r).devices) : 0;
      for (const tenant of idx.byTenant.keys()) {
        const own = tenant === job.tenant;
        const borrowing = !own && quota.isBorrowing(tenant, type);
        let found = 0;
        if (reclaim && borrowing) {
          for (const r of ranEnough(tenant, reclaimMinRunMs)) {
            if (found >= scanMax) break;
            if (taken.has(r.id) || insideBooking.has(r.id)) continue;
            eligible.push({ job: r, kind: 'reclaim', band: bandOfRunning(r) });
            found++;
          }
          continue;
        }
        if (own && withinTenant) {
          // sorted by priority ascending: the lower-priority jobs are a prefix
          for (const r of ranEnough(tenant, P.minRuntimeMs)) {
            if (found >= scanMax || r.priority >= job.priority) break;
            if (taken.has(r.id)) continue;
            eligible.push({ job: r, kind: 'priority', band: bandOfRunning(r) });
            found++;
          }
        }
        if (service && (own || borrowing)) {
          for (const r of ranEnough(tenant, P.minRuntimeMs)) {
            if (found >= scanMax) break;
            if (r.priority > job.priority || (own && withinTenant && r.priority < job.priority)) continue; // higher: never; lower: taken above
            if (taken.has(r.id) || insideBooking.has(r.id)) continue;
            const band = bandOfRunning(r);
            if (band <= myBand) continue;
            eligible.push({ job: r, kind: own ? 'service' : 'service-borrower', band });
            found++;
          }
        }
      }
      if (stopping.length === 0 && eligible.length === 0) continue;
      eligible.sort((a, b) => b.band - a.band || compareVictims(a.job, b.job));
      const picked = pickVictims(job, type, need, c, f, profile, now, stopping, eligible, budget, (e, removedByTenant) => {
        if (e.kind === 'priority' || e.kind === 'service') return true;
        // a borrower's job: reclaim takes it while its tenant is still above its guarantee; LAS
        // only if its tenant stays at or above its guarantee without it
        const removed = removedByTenant.get(e.job.tenant) ?? 0;
        const devices = info(c, e.job).devices;
        const left = quota.usage(e.job.tenant, type) - removed - (e.kind === 'reclaim' ? 0 : devices);
        if (e.kind === 'reclaim' ? left <= quota.guaranteed(e.job.tenant, type) : left < quota.guaranteed(e.job.tenant, type)) return false;
        removedByTenant.set(e.job.tenant, removed + devices);
        return true;
      }, reclaim ? (node) => movableOn(c, node, type, now, reclaimMinRunMs, taken, insideBooking, quota) : undefined);
      if (picked === null) continue;
      if (picked.chosen.length === 0) return { victims: [], placement: picked.placement, type, startTime: picked.startTime, why: 'already stopping' };
      const chosen = picked.chosen;
      const kinds = new Set(chosen.map((e) => e.kind));
      const why = [
        kinds.has('reclaim') || kinds.has('move') ? `tenant ${job.tenant} reclaims its guaranteed ${type}` : null,
        kinds.has('priority') ? `priority ${job.priority} outranks them within tenant ${job.tenant}` : null,
        kinds.has('service') || kinds.has('service-borrower') ? `least attained service: job ${job.id} has had less than ${serviceText(myBand + 1)}` : null,
      ]
        .filter((x) => x !== null)
        .join('; ');
      const victims = chosen.map((e) => ({
        job: e.job,
        reason:
          e.kind === 'move'
            ? `moved: tenant ${job.tenant} needs node ${e.job.placement[0]?.node ?? '?'} whole for job ${job.id} inside its guarantee; job ${e.job.id} of tenant ${e.job.tenant} (inside its own guarantee) restarts at once on free devices elsewhere`
            : e.kind === 'reclaim'
            ? `reclaimed: tenant ${e.job.tenant} borrows ${type} above its guarantee (${quota.usage(e.job.tenant, type)} used, ${quota.guaranteed(e.job.tenant, type)} guaranteed) and tenant ${job.tenant} needs its guaranteed share back for job ${job.id}`
            : e.kind === 'priority'
              ? `outranked: job ${job.id} of tenant ${job.tenant} has priority ${job.priority} > ${e.job.priority}`
              : `least attained service: it has had at least ${serviceText(e.band)} of service; job ${job.id} of tenant ${job.tenant} has had less than ${serviceText(myBand + 1)}` +
                (e.kind === 'service-borrower' ? ` (tenant ${e.job.tenant} keeps its guarantee of ${quota.guaranteed(e.job.tenant, type)} ${type})` : ''),
      }));
      return { victims, placement: picked.placement, type, startTime: picked.startTime, why };
    }
    return null;
  }

  /**
   * Jobs on `node` that a reclaim may move: one-replica, preemptible jobs of `type`, not stopping,
   * of tenants inside their guarantee (a borrower's are reclaim candidates anyway), that have run
   * long enough; least work lost first. Their tenant's guarantee holds: they restart on free
   * devices elsewhere within the grace period and one cycle (they are considered first then, being
   * inside it). Per-node index built once per cycle.
   */
  function movableOn(
    c: ClusterCapacity,
    node: number,
    type: AcceleratorType,
    now: number,
    minRunMs: number,
    taken: ReadonlySet<string>,
    insideBooking: ReadonlySet<string>,
    quota: QuotaBook,
  ): Candidate[] {
    if (byNode === null) {
      byNode = new Map();
      for (const r of runningById.values()) {
        if (r.placement.length !== 1 || !r.preemptible || (r.preemptedAt !== null && r.preemptedAt !== undefined)) continue;
        const nc = c.byName.get((r.placement[0] as Placement[number]).node);
        if (nc === undefined) continue;
        const l = byNode.get(nc.index);
        if (l === undefined) byNode.set(nc.index, [r]);
        else l.push(r);
      }
      for (const l of byNode.values()) l.sort(compareVictims);
    }
    const out: Candidate[] = [];
    for (const r of byNode.get(node) ?? []) {
      if (now - r.startTime < minRunMs || taken.has(r.id) || insideBooking.has(r.id) || info(c, r).type !== type || quota.isBorrowing(r.tenant, type)) continue;
      out.push({ job: r, kind: 'move', band: 0 });
    }
    return out;
  }

  /** The lower bound of a band, as text ("0 accelerator-hours" for band 0). */
  function serviceText(band: number): string {
    const ms = band <= 0 ? 0 : (bandLimits[Math.min(band, bandLimits.length) - 1] ?? 0);
    return `${ms / 3_600_000} accelerator-hour(s)`;
  }

  /**
   * The victim search shared by reclaim, priority, attained service and booking eviction. Jobs
   * already stopping count as free first (their devices come back anyway: no victims then). Then,
   * for a one-replica job, node by node: on each node that could hold it, the fewest candidates (in
   * the given order, `admit` may refuse one) whose devices there cover what the node lacks; nodes
   * tried fewest victims first, each verified by RUN_NOW with its victims released, so the victims
   * are the ones that make this job fit (not devices scattered over the hall that no replica can
   * use). For gangs, and when no single node works: candidates released one by one until RUN_NOW
   * fits, then the ones not needed dropped again (last chosen first back). Both within the victim
   * budget and PREEMPTION_MAX_PLACEMENT_TESTS. Returns null when no set is found; the free state is
   * left as it was.
   */
  function pickVictims<E extends { readonly job: RunningSchedJob }>(
    job: SchedJob,
    type: AcceleratorType,
    need: number,
    c: ClusterCapacity,
    f: FreeState,
    profile: AvailabilityProfile,
    now: number,
    stopping: readonly RunningSchedJob[],
    eligible: readonly E[],
    budget: number,
    /** May `e` be a victim, given the devices already taken per tenant (recorded by `admit`)? */
    admit: (e: E, removedByTenant: Map<string, number>) => boolean,
    /**
     * One-replica jobs on a node that may be moved (stopped and restarted at once on free devices
     * elsewhere) when the node's candidates alone do not free enough; each is taken only if such
     * free devices exist for it.
     */
    movable?: (node: number) => readonly E[],
  ): { chosen: E[]; placement: Placement; startTime: number } | null {
    const P = config.preemption;
    const m = f.mark();
    try {
      // RUN_NOW on the free state with the victims released: respects reservations and bookings
      const fits = (): Placement | null => {
        const a = profile.ask('run-now', {
          jobId: job.id,
          tenant: job.tenant,
          replicas: job.replicas,
          perReplica: job.perReplica,
          durationMs: job.timeLimitMs,
          types: [type],
          preemptible: lendIdle && job.preemptible,
        });
        return a.ok ? a.placement : null;
      };
      // stopping jobs: their devices are coming back anyway
      let stopEnd = now;
      for (const s of stopping) {
        f.givePlacement(s.placement);
        stopEnd = Math.max(stopEnd, (s.preemptedAt ?? now) + P.gracePeriodMs);
      }
      const viaStopping = stopping.length > 0 ? fits() : null;
      if (viaStopping !== null) return { chosen: [], placement: viaStopping, startTime: stopEnd };
      const candidates = eligible.slice(0, P.maxCandidatesPerJob);
      let fitTests = 0;
      if (job.perReplica.accelerators > 0) {
        const per = job.perReplica.accelerators;
        // candidates per node, in the given order (a gang victim is listed on each of its nodes)
        const onNode = new Map<number, { e: E; rank: number; devices: number }[]>();
        candidates.forEach((e, rank) => {
          const here = new Map<number, number>(); // node → its devices of `type` there
          for (const r of e.job.placement) {
            const nc = c.byName.get(r.node);
            if (nc === undefined) continue;
            for (const id of r.acceleratorIds) if (deviceTypeOn(nc, id) === type) here.set(nc.index, (here.get(nc.index) ?? 0) + 1);
          }
          for (const [node, devices] of here) {
            let l = onNode.get(node);
            if (l === undefined) onNode.set(node, (l = []));
            l.push({ e, rank, devices });
          }
        });
        const plans: { node: number; chosen: E[]; moved: number; cost: number }[] = [];
        const moves = new Set<E>();
        const movedBy = (e: E): boolean => moves.has(e);
        // free devices of `type` per node, for homes of moved jobs (read once)
        let freeElsewhere: { node: number; free: number }[] | null = null;
        /**
         * A home for a moved job of `d` devices on a node other than `away`, made by reclaiming
         * candidates there (fewest first, within `budget`): the node whose free devices, less what
         * moved jobs already claimed, plus those of its admitted candidates reach `d`.
         */
        const makeHome = (
          away: number,
          d: number,
          claimed: ReadonlyMap<number, number>,
          taken: (x: E) => boolean,
          removed: Map<string, number>,
          budgetLeft: number,
        ): { node: number; victims: E[] } | null => {
          let best: { node: number; victims: E[]; removed: Map<string, number> } | null = null;
          for (const [n, l] of onNode) {
            if (n === away || c.nodes[n]?.schedulable !== true) continue;
            let have = f.nodeFreeCount(n, type) - (claimed.get(n) ?? 0);
            const victims: E[] = [];
            const trial = new Map(removed);
            for (const x of l) {
              if (have >= d || victims.length >= budgetLeft) break;
              // whole jobs on this node only (a gang's devices elsewhere would not help here)
              if (x.devices !== placementAccelerators(x.e.job.placement) || taken(x.e) || !admit(x.e, trial)) continue;
              victims.push(x.e);
              have += x.devices;
            }
            if (have >= d && victims.length > 0 && (best === null || victims.length < best.victims.length)) best = { node: n, victims, removed: trial };
          }
          if (best === null) return null;
          for (const [k, v] of best.removed) removed.set(k, v);
          return { node: best.node, victims: best.victims };
        };
        for (const [node, list] of onNode) {
          const nc = c.nodes[node];
          if (nc === undefined || !nc.schedulable || (nc.devicesByType.get(type)?.length ?? 0) < per) continue;
          const lacking = per - f.nodeFreeCount(node, type);
          if (lacking <= 0) continue; // enough devices already: something else stops it (reservation, CPU)
          const removed = new Map<string, number>();
          /** `homeFrom`: the victims on another node whose devices a moved job restarts on. */
          const chosen: { e: E; rank: number; devices: number; moved: boolean; homeFrom: E[] }[] = [];
          let freed = 0;
          for (const x of list) {
            if (chosen.length >= budget || freed >= lacking) break;
            if (!admit(x.e, removed)) continue;
            chosen.push({ ...x, moved: false, homeFrom: [] });
            freed += x.devices;
          }
          let moved = 0;
          if (freed < lacking && movable !== undefined) {
            // not enough from candidates: move jobs that have somewhere else to go right now (each
            // to the fullest node it fits: best fit), or, where no node has room, to a node whose
            // candidates (borrowers) are reclaimed to make it: a move that chains
            freeElsewhere ??= f.nodesWithFree(type).map((n) => ({ node: n, free: f.nodeFreeCount(n, type) }));
            const room = new Map<number, number>();
            const taken = (x: E): boolean => chosen.some((y) => y.e.job === x.job || y.homeFrom.includes(x));
            for (const e of movable(node)) {
              if (chosen.length >= budget || freed >= lacking) break;
              if (taken(e)) continue;
              const d = placementAccelerators(e.job.placement);
              let home: { node: number; free: number } | undefined;
              for (const h of freeElsewhere) {
                const left = h.free - (room.get(h.node) ?? 0);
                if (h.node !== node && left >= d && (home === undefined || left < home.free - (room.get(home.node) ?? 0))) home = h;
              }
              const homeFrom: E[] = [];
              if (home === undefined) {
                const made = makeHome(node, d, room, taken, removed, budget - chosen.length - 1);
                if (made === null) continue;
                home = { node: made.node, free: d + (room.get(made.node) ?? 0) };
                homeFrom.push(...made.victims);
              }
              room.set(home.node, (room.get(home.node) ?? 0) + d);
              chosen.push({ e, rank: candidates.length, devices: d, moved: true, homeFrom });
              freed += d;
              moved++;
            }
          }
          if (freed < lacking) continue;
          for (const x of chosen) if (x.moved) moves.add(x.e);
          // drop the ones not needed (last chosen first back), as the search below does; a moved
          // job's home victims go with it
          for (let i = chosen.length - 2; i >= 0; i--) {
            const x = chosen[i] as { devices: number; moved: boolean };
            if (freed - x.devices >= lacking) {
              freed -= x.devices;
              if (x.moved) moved--;
              chosen.splice(i, 1);
            }
          }
          const all = chosen.flatMap((x) => [x.e, ...x.homeFrom]);
          plans.push({ node, chosen: all, moved, cost: chosen.reduce((sum, x) => sum + x.rank + x.homeFrom.length * candidates.length, 0) });
        }
        // fewest moved jobs, then fewest victims, then least work lost
        plans.sort((a, b) => a.moved - b.moved || a.chosen.length - b.chosen.length || a.cost - b.cost || a.node - b.node);
        if (job.replicas === 1) {
          for (const plan of plans) {
            if (fitTests++ >= PREEMPTION_MAX_PLACEMENT_TESTS) break;
            const mm = f.mark();
            for (const e of plan.chosen) f.givePlacement(e.job.placement);
            const placement = fits();
            if (placement !== null) return { chosen: plan.chosen, placement, startTime: now + P.gracePeriodMs };
            f.rollback(mm);
          }
        } else {
          // a gang: nodes that already have room, then the cheapest plans, one replica each, the
          // victims admitted again all together; one RUN_NOW check of the whole gang
          const union: E[] = [];
          const removed = new Map<string, number>();
          let nodesReady = 0;
          for (const n of f.nodesWithFree(type)) {
            if (nodesReady >= job.replicas) break;
            if (f.nodeFreeCount(n, type) >= per && c.nodes[n]?.schedulable === true) nodesReady++;
          }
          for (const plan of plans) {
            if (nodesReady >= job.replicas) break;
            const fresh = plan.chosen.filter((e) => !union.includes(e));
            if (union.length + fresh.length > budget) continue;
            const mm = new Map(removed);
            if (!fresh.every((e) => movedBy(e) || admit(e, mm))) continue;
            for (const [k, v] of mm) removed.set(k, v);
            union.push(...fresh);
            nodesReady++;
          }
          if (nodesReady >= job.replicas && union.length > 0 && fitTests++ < PREEMPTION_MAX_PLACEMENT_TESTS) {
            const mm = f.mark();
            for (const e of union) f.givePlacement(e.job.placement);
            const placement = fits();
            if (placement !== null) return { chosen: union, placement, startTime: now + P.gracePeriodMs };
            f.rollback(mm);
          }
        }
      }
      const chosen: E[] = [];
      const removed = new Map<string, number>();
      let placement: Placement | null = null;
      for (const e of candidates) {
        if (chosen.length >= budget) break;
        if (!admit(e, removed)) continue;
        f.givePlacement(e.job.placement);
        chosen.push(e);
        if (f.freeOfType(type) < need) continue; // O(1): not enough devices yet
        if (fitTests++ >= PREEMPTION_MAX_PLACEMENT_TESTS) break;
        placement = fits();
        if (placement !== null) break;
      }
      if (placement === null) return null;
      // keep only the victims that are needed (last chosen first back)
      for (let i = chosen.length - 2; i >= 0; i--) {
        const e = chosen[i];
        if (e === undefined) continue;
        const mm = f.mark();
        f.takePlacement(e.job.placement);
        const p = fits();
        if (p !== null) {
          placement = p;
          chosen.splice(i, 1);
        } else f.rollback(mm);
      }
      return { chosen, placement, startTime: now + P.gracePeriodMs };
    } finally {
      f.rollback(m);
    }
  }

  /**
   * Step 5d for a job inside its tenant's open booking (issue 4): the booking lent its idle devices
   * to other tenants' preemptible jobs; evict those (whole, with the grace period) so the owner's
   * job starts within the grace period and one cycle. Candidates: other tenants' preemptible jobs
   * of the type that started since the booking opened (only they can hold its lent devices; before
   * it opened nothing of theirs could run into it) and do not run inside bookings of their own, at
   * most `preemption.maxCandidatesPerJob` per tenant, in victim order. Neither `minRuntime` nor the
   * preemption switches apply: a lent job runs on borrowed time.
   */
  function tryEvictForBooking(
    job: SchedJob,
    inside: readonly AcceleratorType[],
    need: number,
    c: ClusterCapacity,
    f: FreeState,
    profile: AvailabilityProfile,
    now: number,
    taken: ReadonlySet<string>,
    victimsSoFar: number,
    open: OpenBookings,
  ): { victims: Victim[]; placement: Placement; type: AcceleratorType; startTime: number; why: string } | null {
    const P = config.preemption;
    const budget = P.maxVictimsPerCycle - victimsSoFar;
    const end = now + (job.timeLimitMs ?? 0);
    for (const type of inside) {
      const since = open.openedAt(job.tenant, type);
      const w = open.window(job.tenant, type, end);
      const idx = victimIndex(c, type);
      const eligible: { job: RunningSchedJob }[] = [];
      for (const [tenant, list] of idx.byTenant) {
        if (tenant === job.tenant) continue;
        let found = 0;
        for (const r of list) {
          if (found >= P.maxCandidatesPerJob) break;
          if (r.startTime < since || taken.has(r.id) || open.insideIds.has(r.id)) continue;
          eligible.push({ job: r });
          found++;
        }
      }
      const stopping = stoppingFor(idx, job);
      if (stopping.length === 0 && eligible.length === 0) continue;
      eligible.sort((a, b) => compareVictims(a.job, b.job));
      const picked = pickVictims(job, type, need, c, f, profile, now, stopping, eligible, budget, () => true);
      if (picked === null) continue;
      const wid = w?.id ?? '?';
      if (picked.chosen.length === 0) return { victims: [], placement: picked.placement, type, startTime: picked.startTime, why: 'already stopping' };
      return {
        victims: picked.chosen.map((e) => ({
          job: e.job,
          reason: `evicted: job ${e.job.id} of tenant ${e.job.tenant} was lent idle ${type} booked by tenant ${job.tenant} (booking window ${wid}); the owner needs it back for job ${job.id}`,
        })),
        placement: picked.placement,
        type,
        startTime: picked.startTime,
        why: `booking window ${wid} of tenant ${job.tenant} takes back the ${type} it lent`,
      };
    }
    return null;
  }

  return { name: 'suanli', config, schedule };
}

/** The `suanli` policy (a stateful scheduler; see `createScheduler`). */
export function createSuanliPolicy(config: PolicyConfig = DEFAULT_POLICY, options: SchedulerOptions = {}): SuanliScheduler {
  return createScheduler(config, options);
}

/** The pure function: one cycle with no cached state. */
export function scheduleOnce(config: PolicyConfig, snapshot: Snapshot, options: SchedulerOptions = {}): ScheduleResult {
  return createScheduler(config, options).schedule(snapshot);
}
