/**
 * The simulation loop: replays jobs in VIRTUAL time through a policy of the real core.
 *
 * Stated job model (docs/simulation-results.md repeats it):
 *  - A job of g accelerators on a cluster of K per node is one replica of g devices when g ≤ K
 *    (one node), else a gang of r replicas of g/r devices, r the smallest divisor of g with
 *    g/r ≤ K (16 → 2 × 8, 12 → 2 × 6, 24 → 3 × 8). All replicas start together.
 *  - Once started a job runs for its duration; warm-up is excluded. A preempted job keeps its
 *    progress (it checkpoints) and pays a restart cost each time it starts again: it holds its
 *    devices for that long without progress (default 30 s up to 8 accelerators, 60 s beyond, as
 *    Helios / Lucid; see `JobModel`). Those device-seconds are reported as lost.
 *  - Jobs are never killed at their time limit: the limit is only what EASY backfill plans with
 *    (duration × `timeLimitFactor`, or the trace's own limit).
 *  - Event-driven: the policy is called once per instant at which a job arrives or ends, again in
 *    the same instant after preemptions (at most `MAX_CYCLES_PER_INSTANT`), and at the times a
 *    policy asks for (`nextWakeMs`, e.g. Tiresias' queue boundaries). A policy that never
 *    preempts is not called when no device is free (it could not start anything).
 *  - A preemption takes effect after the policy's grace period (`DrivenPolicy.gracePeriodMs`, the
 *    suanli policy's `preemption.gracePeriod`; 0 for the baselines): until then the job is shown
 *    to the policy as running with `preemptedAt` set, holds its devices and keeps working.
 *  - Every decision is checked: a start must name a waiting job, free existing devices and the
 *    job's shape; a preemption must name a running job. A violation is a policy bug and stops the
 *    run with `SimError`.
 *
 * Deterministic: no wall clock, no randomness; the same inputs give the same run.
 */
import type {
  ClusterNode,
  JobKnowledge,
  JobProgress,
  Placement,
  RunningSchedJob,
  SchedJob,
  SchedulingPolicy,
  Snapshot,
} from '@suanli/core';
import { noteDerivation, PolicyState } from '@suanli/core';
import type { TraceJob } from './trace.js';

export interface JobModel {
  /** Restart cost, seconds, for jobs of at most `largeJobAboveAccelerators` devices. */
  readonly restartCostSmallS: number;
  /** Restart cost, seconds, for larger jobs. */
  readonly restartCostLargeS: number;
  readonly largeJobAboveAccelerators: number;
  /** Time limit = duration × this when the trace gives none. */
  readonly timeLimitFactor: number;
}

export const DEFAULT_JOB_MODEL: JobModel = {
  restartCostSmallS: 30,
  restartCostLargeS: 60,
  largeJobAboveAccelerators: 8,
  timeLimitFactor: 2,
};

/** Cycles in one instant (preemptions free devices, then starts use them). */
export const MAX_CYCLES_PER_INSTANT = 4;
/** Utilisation is recorded in buckets of this width. */
export const UTILIZATION_BUCKET_MS = 3_600_000;

export class SimError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimError';
  }
}

/** A policy as the simulator drives it (the baselines say whether they preempt and when to wake). */
export interface DrivenPolicy extends SchedulingPolicy {
  readonly preempts?: boolean;
  /** Set for fair-share policies: the simulator then passes decayed usage as `snapshot.usage`. */
  readonly usageHalfLifeMs?: number;
  /**
   * Time between a preemption and the devices coming back (the engine's SIGTERM → kill). During it
   * the job stays in `running` with `preemptedAt` set, keeps its devices and keeps working (it
   * checkpoints at the end). Absent or 0: devices come back at once (the baselines' model).
   */
  readonly gracePeriodMs?: number;
  nextWakeMs?(snapshot: Snapshot): number | null;
}

/** What happened to one job. Times in ms on the trace clock (submitS × 1000). */
export interface JobOutcome {
  readonly id: string;
  readonly tenant: string;
  readonly accelerators: number;
  readonly submitMs: number;
  readonly durationMs: number;
  /** null: never started (could not fit the cluster). */
  readonly firstStartMs: number | null;
  readonly endMs: number | null;
  readonly preemptions: number;
  /** Device-ms spent in restart overhead. */
  readonly lostDeviceMs: number;
  /**
   * The longest single wait (ms) of this job during which it fit inside its tenant's guarantee
   * (the tenant's devices in use + the job's ≤ guaranteed); 0 when it never did.
   */
  readonly maxGuaranteeWaitMs: number;
}

export interface RunOutcome {
  readonly policy: string;
  readonly jobs: readonly JobOutcome[];
  readonly totalAccelerators: number;
  /** Busy device-ms per `UTILIZATION_BUCKET_MS` bucket, from `startMs`. */
  readonly busyByBucket: readonly number[];
  readonly startMs: number;
  /** Per tenant: ms during which a job of the tenant that fit in its guarantee waited. */
  readonly guaranteeViolationMs: ReadonlyMap<string, number>;
  /**
   * Per tenant with a guarantee: the longest stretch (ms) during which it stayed below its
   * guarantee while one of its waiting jobs fit into the room left — how long the guarantee went
   * unmet at once, whichever of its jobs was next (the measure of the bounded-reclaim promise).
   */
  readonly guaranteeGapMs: ReadonlyMap<string, number>;
  readonly policyCalls: number;
  readonly preemptionsTotal: number;
  readonly wallMs: number;
}

interface SimJob {
  readonly trace: TraceJob;
  /** Replaced after a preemption (its attained service changed). */
  sched: SchedJob;
  readonly gpus: number;
  readonly durationMs: number;
  remainingMs: number;
  attainedMs: number;
  state: 'future' | 'pending' | 'running' | 'done';
  /** Preempted, devices held until the grace period ends. */
  stopping: boolean;
  attempt: number;
  runStart: number;
  overheadUntil: number;
  running: RunningSchedJob | null;
  firstStart: number | null;
  end: number | null;
  preemptions: number;
  lostDeviceMs: number;
  waitingSince: number;
  lastRunMs: number;
  /** The tenant's guarantee clock for this job's size when its current wait began. */
  guaranteeClockAtWait: number;
  maxGuaranteeWaitMs: number;
  /** Index of the job's tenant among the tenants with a guarantee (-1: none), of its size there. */
  gi: number;
  si: number;
}

/** Min-heap of (time, job, attempt). */
class EventHeap {
  private t: number[] = [];
  private j: SimJob[] = [];
  private a: number[] = [];
  get size(): number {
    return this.t.length;
  }
  peekTime(): number {
    return this.t.length === 0 ? Infinity : this.t[0]!;
  }
  push(time: number, job: SimJob, attempt: number): void {
    let i = this.t.length;
    this.t.push(time);
    this.j.push(job);
    this.a.push(attempt);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.t[p]! <= time) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): { time: number; job: SimJob; attempt: number } {
    const out = { time: this.t[0]!, job: this.j[0]!, attempt: this.a[0]! };
    const last = this.t.length - 1;
    this.swap(0, last);
    this.t.pop();
    this.j.pop();
    this.a.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.t.length && this.t[l]! < this.t[m]!) m = l;
      if (r < this.t.length && this.t[r]! < this.t[m]!) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return out;
  }
  private swap(x: number, y: number): void {
    [this.t[x], this.t[y]] = [this.t[y]!, this.t[x]!];
    [this.j[x], this.j[y]] = [this.j[y]!, this.j[x]!];
    [this.a[x], this.a[y]] = [this.a[y]!, this.a[x]!];
  }
}

/**
 * A list handed to policies in snapshots, kept in the order of a map that jobs are inserted into
 * (appended), deleted from and replaced in (in place): each snapshot after a change gets a new
 * array made by copying the previous one and applying the logged changes (native copies, not a
 * walk of the map); an array once handed out is never changed, so policies may keep it. The log is
 * noted with the array (`noteDerivation`): policies that keep state per job apply it instead of
 * comparing the arrays.
 */
class SnapshotList<T> {
  private arr: T[] = [];
  private readonly added: T[] = [];
  /** Removals (`news[k]` null) and replacements, in the order they happened. */
  private readonly olds: T[] = [];
  private readonly news: (T | null)[] = [];
  /** `rebuild`: the list from the map, if a logged change cannot be found (a bug; never seen). */
  constructor(private readonly rebuild: () => T[]) {}
  add(x: T): void {
    this.added.push(x);
  }
  remove(x: T): void {
    this.olds.push(x);
    this.news.push(null);
  }
  replace(old: T, x: T): void {
    this.olds.push(old);
    this.news.push(x);
  }
  current(): T[] {
    if (this.added.length === 0 && this.olds.length === 0) return this.arr;
    const arr = this.added.length > 0 ? this.arr.concat(this.added) : this.arr.slice();
    let ok = true;
    for (let k = 0; k < this.olds.length && ok; k++) {
      const i = arr.indexOf(this.olds[k]!);
      const x = this.news[k] ?? null;
      if (i < 0) ok = false;
      else if (x === null) arr.splice(i, 1);
      else arr[i] = x;
    }
    if (ok) {
      noteDerivation(arr, {
        from: this.arr,
        added: this.added.slice(),
        olds: this.olds.slice(),
        news: this.news.slice(),
      });
      this.arr = arr;
    } else this.arr = this.rebuild();
    this.added.length = 0;
    this.olds.length = 0;
    this.news.length = 0;
    return this.arr;
  }
}

/** Replicas × per-replica devices for g devices on nodes of k (see the module comment). */
export function jobShape(g: number, k: number): { replicas: number; perReplica: number } {
  if (g <= k) return { replicas: 1, perReplica: g };
  for (let r = Math.ceil(g / k); r <= g; r++)
    if (g % r === 0 && g / r <= k) return { replicas: r, perReplica: g / r };
  return { replicas: g, perReplica: 1 };
}

export interface EngineInput {
  readonly nodes: readonly ClusterNode[];
  /** Sorted by submission. */
  readonly jobs: readonly TraceJob[];
  readonly model: JobModel;
  /** Tenant → guaranteed devices; tracked for every policy (violations are measured, not enforced). */
  readonly guarantees: ReadonlyMap<string, number>;
  /** Builds the policy; it may keep `knowledge` (oracles, Tiresias). */
  readonly makePolicy: (knowledge: JobKnowledge) => DrivenPolicy;
  /** Wall clock for the report only (never read by the loop's logic). */
  readonly clock?: () => number;
}

export function simulate(input: EngineInput): RunOutcome {
  const wallStart = input.clock?.() ?? 0;
  const { nodes, model } = input;
  const k = Math.max(0, ...nodes.map((n) => n.accelerators.length));
  const totalAccelerators = nodes.reduce((s, n) => s + n.accelerators.length, 0);
  const deviceOwner = new Map<string, SimJob | null>();
  for (const n of nodes) for (const a of n.accelerators) deviceOwner.set(a.id, null);

  const jobs: SimJob[] = input.jobs.map((t) => {
    const shape = jobShape(t.accelerators, k);
    const durationMs = Math.round(t.durationS * 1000);
    const limitS = t.timeLimitS ?? t.durationS * model.timeLimitFactor;
    const sched: SchedJob = {
      id: t.id,
      tenant: t.tenant,
      project: t.tenant,
      submitTime: Math.round(t.submitS * 1000),
      priority: 0,
      replicas: shape.replicas,
      perReplica: {
        accelerators: shape.perReplica,
        acceleratorTypes: t.acceleratorType === undefined ? [] : [t.acceleratorType],
        cpuMillis: 0,
        memoryMiB: 0,
      },
      timeLimitMs: Math.round(limitS * 1000),
      preemptible: true,
    };
    return {
      trace: t,
      sched,
      gpus: shape.replicas * shape.perReplica,
      durationMs,
      remainingMs: durationMs,
      attainedMs: 0,
      state: 'future',
      stopping: false,
      attempt: 0,
      runStart: 0,
      overheadUntil: 0,
      running: null,
      firstStart: null,
      end: null,
      preemptions: 0,
      lostDeviceMs: 0,
      waitingSince: sched.submitTime,
      lastRunMs: 0,
      guaranteeClockAtWait: 0,
      maxGuaranteeWaitMs: 0,
      gi: -1,
      si: -1,
    };
  });
  const byId = new Map(jobs.map((j) => [j.sched.id, j]));
  if (byId.size !== jobs.length) throw new SimError('job ids must be unique');

  const knowledge: JobKnowledge = {
    // A waiting job's fields change only when it starts (its snapshot object is then a running
    // job) and a running job's only when it stops (a new object for the waiting job, or for the
    // running job in its grace period); in between they follow steadyRun (fixed per attempt).
    steady: true,
    progress(jobId: string, now: number): JobProgress {
      const j = byId.get(jobId);
      if (j === undefined) throw new SimError(`policy asked about unknown job ${jobId}`);
      if (j.state === 'running') {
        return {
          attainedMs: j.attainedMs + (now - j.runStart),
          remainingMs: j.remainingMs - Math.max(0, now - j.overheadUntil),
          waitingSinceMs: j.waitingSince,
          lastRunMs: j.lastRunMs,
          steadyRun: {
            runStartMs: j.runStart,
            attainedBeforeMs: j.attainedMs,
            workStartMs: j.overheadUntil,
            remainingBeforeMs: j.remainingMs,
          },
        };
      }
      return {
        attainedMs: j.attainedMs,
        remainingMs: j.remainingMs,
        waitingSinceMs: j.waitingSince,
        lastRunMs: j.lastRunMs,
      };
    },
  };
  const policy = input.makePolicy(knowledge);
  const preempts = policy.preempts ?? true;

  const pending = new Map<string, SimJob>();
  const running = new Map<string, SimJob>();
  const heap = new EventHeap();
  let free = totalAccelerators;
  let now = jobs.length > 0 ? jobs[0]!.sched.submitTime : 0;
  const startMs = now;
  const busyByBucket: number[] = [];
  // Per tenant with a guarantee (arrays by position in `input.guarantees`): devices in use, waiting
  // jobs per job size, time during which one of its waiting jobs fit inside the guarantee (and the
  // order in which tenants first did), and per job size of that tenant (ascending) the total time
  // during which a job of that size fit inside the guarantee. A job's within-guarantee wait is the
  // clock's advance between the start and the end of its wait (no per-job work per event).
  const gTenants = [...input.guarantees.keys()];
  const gIndex = new Map(gTenants.map((t, i) => [t, i]));
  const gValue = gTenants.map((t) => input.guarantees.get(t)!);
  const gUsed = gTenants.map(() => 0);
  const gSizes: number[][] = gTenants.map(() => []);
  for (const j of jobs) {
    const gi = gIndex.get(j.sched.tenant);
    if (gi !== undefined && !gSizes[gi]!.includes(j.gpus)) gSizes[gi]!.push(j.gpus);
  }
  for (const sizes of gSizes) sizes.sort((a, b) => a - b);
  for (const j of jobs) {
    const gi = gIndex.get(j.sched.tenant);
    if (gi === undefined) continue;
    j.gi = gi;
    j.si = gSizes[gi]!.indexOf(j.gpus);
  }
  const gClock = gSizes.map((sizes) => sizes.map(() => 0));
  const gWaiting = gSizes.map((sizes) => sizes.map(() => 0));
  const gViolation = gTenants.map(() => 0);
  const gViolationOrder: number[] = [];
  // the current and the longest stretch of such time per tenant
  const gGap = gTenants.map(() => 0);
  const gGapMax = gTenants.map(() => 0);
  const guaranteeClock = (j: SimJob): number => (j.gi < 0 ? 0 : gClock[j.gi]![j.si]!);
  const beginWait = (j: SimJob): void => {
    j.guaranteeClockAtWait = guaranteeClock(j);
  };
  const endWait = (j: SimJob): void => {
    const w = guaranteeClock(j) - j.guaranteeClockAtWait;
    if (w > j.maxGuaranteeWaitMs) j.maxGuaranteeWaitMs = w;
  };
  let calls = 0;
  let preemptionsTotal = 0;
  let wakeAt = Infinity;

  const addPendingSize = (j: SimJob, d: number): void => {
    if (d > 0) pendingList.add(j.sched);
    else pendingList.remove(j.sched);
    countReplica(j, d);
    if (j.gi >= 0) gWaiting[j.gi]![j.si]! += d;
  };
  const advance = (to: number): void => {
    const dt = to - now;
    if (dt <= 0) return;
    const busy = totalAccelerators - free;
    if (busy > 0) {
      let t = now;
      while (t < to) {
        const b = Math.floor((t - startMs) / UTILIZATION_BUCKET_MS);
        const bEnd = startMs + (b + 1) * UTILIZATION_BUCKET_MS;
        const seg = Math.min(to, bEnd) - t;
        while (busyByBucket.length <= b) busyByBucket.push(0);
        busyByBucket[b]! += seg * busy;
        t += seg;
      }
    }
    for (let t = 0; t < gTenants.length; t++) {
      const sizes = gSizes[t]!;
      const waiting = gWaiting[t]!;
      let k = 0;
      while (k < sizes.length && waiting[k] === 0) k++;
      // the smallest waiting job fits inside the guarantee
      if (k < sizes.length && gUsed[t]! + sizes[k]! <= gValue[t]!) {
        if (gViolation[t] === 0 && !gViolationOrder.includes(t)) gViolationOrder.push(t);
        gViolation[t]! += dt;
        gGap[t]! += dt;
        if (gGap[t]! > gGapMax[t]!) gGapMax[t] = gGap[t]!;
      } else gGap[t] = 0;
      const room = gValue[t]! - gUsed[t]!;
      const clock = gClock[t]!;
      for (let i = 0; i < sizes.length && sizes[i]! <= room; i++) clock[i]! += dt;
    }
    now = to;
  };
  const hold = (j: SimJob, placement: Placement | null): void => {
    const d = placement === null ? -1 : 1;
    if (d > 0) runningList.add(j.running!);
    else runningList.remove(j.running!);
    for (const r of placement ?? j.running!.placement)
      freeOnNode.set(r.node, (freeOnNode.get(r.node) ?? 0) - d * r.acceleratorIds.length);
    if (j.gi >= 0) gUsed[j.gi]! += d * j.gpus;
    free -= d * j.gpus;
  };
  // Fair-share usage (only for policies that ask for it), attained service and claims: the core's
  // PolicyState, the one the server's engine keeps. Usage is advanced at each cycle; attempts that
  // ended since the last cycle are charged then.
  const halfLife = policy.usageHalfLifeMs;
  const policyState = new PolicyState(halfLife);
  // devices of the running jobs per tenant, and the latest start among them: while no running job
  // started after the usage's asOf, decaying it needs only these (decayUsageOfDevices)
  const runningDevices = new Map<string, number>();
  let latestStart = -Infinity;
  const countRunning = (j: SimJob, sign: 1 | -1): void => {
    const n = (runningDevices.get(j.sched.tenant) ?? 0) + sign * j.gpus;
    if (n === 0) runningDevices.delete(j.sched.tenant);
    else runningDevices.set(j.sched.tenant, n);
  };
  const noteEnded = (j: SimJob): void => {
    countRunning(j, -1);
    policyState.attemptEnded({
      jobId: j.sched.id,
      tenant: j.sched.tenant,
      devices: j.gpus,
      fromMs: j.runStart,
      toMs: now,
    });
  };
  const finish = (j: SimJob): void => {
    noteEnded(j);
    policyState.forget(j.sched.id);
    for (const r of j.running!.placement) for (const id of r.acceleratorIds) deviceOwner.set(id, null);
    hold(j, null);
    j.lostDeviceMs += (Math.min(now, j.overheadUntil) - j.runStart) * j.gpus;
    j.attainedMs += now - j.runStart;
    j.remainingMs = 0;
    j.state = 'done';
    j.end = now;
    j.running = null;
    running.delete(j.sched.id);
  };
  const grace = policy.gracePeriodMs ?? 0;
  const preempt = (j: SimJob): void => {
    j.stopping = false;
    noteEnded(j);
    for (const r of j.running!.placement) for (const id of r.acceleratorIds) deviceOwner.set(id, null);
    hold(j, null);
    j.lostDeviceMs += (Math.min(now, j.overheadUntil) - j.runStart) * j.gpus;
    j.remainingMs -= Math.max(0, now - j.overheadUntil);
    j.attainedMs += now - j.runStart;
    j.lastRunMs = now - j.runStart;
    j.waitingSince = now;
    j.attempt++;
    j.preemptions++;
    preemptionsTotal++;
    j.state = 'pending';
    j.running = null;
    // the policy sees the service the job has had (device-ms over its attempts so far)
    j.sched = { ...j.sched, attainedServiceMs: policyState.attainedServiceMs(j.sched.id) ?? 0 };
    running.delete(j.sched.id);
    pending.set(j.sched.id, j);
    addPendingSize(j, 1);
    beginWait(j);
  };
  /** The job a preemption was for learns when (`claimedAt`), while it waits. */
  const claim = (jobId: string): void => {
    const f = byId.get(jobId);
    if (f === undefined || f.state !== 'pending' || !policyState.claim(jobId, now)) return;
    const old = f.sched;
    f.sched = { ...f.sched, claimedAt: now };
    pendingList.replace(old, f.sched);
  };
  const start = (j: SimJob, placement: Placement): void => {
    if (placement.length !== j.sched.replicas)
      throw new SimError(
        `${policy.name}: job ${j.sched.id} started with ${placement.length} replicas, needs ${j.sched.replicas}`,
      );
    for (const r of placement) {
      if (r.acceleratorIds.length !== j.sched.perReplica.accelerators)
        throw new SimError(
          `${policy.name}: job ${j.sched.id} replica on ${r.node} got ${r.acceleratorIds.length} devices, needs ${j.sched.perReplica.accelerators}`,
        );
      for (const id of r.acceleratorIds) {
        const owner = deviceOwner.get(id);
        if (owner === undefined)
          throw new SimError(`${policy.name}: job ${j.sched.id} placed on unknown device ${id}`);
        if (owner !== null)
          throw new SimError(
            `${policy.name}: job ${j.sched.id} placed on device ${id} held by job ${owner.sched.id}`,
          );
        deviceOwner.set(id, j);
      }
    }
    pending.delete(j.sched.id);
    addPendingSize(j, -1);
    endWait(j);
    const restart =
      j.firstStart === null
        ? 0
        : (j.gpus > model.largeJobAboveAccelerators ? model.restartCostLargeS : model.restartCostSmallS) *
          1000;
    j.firstStart ??= now;
    if (policyState.started(j.sched.id)) {
      const { claimedAt: _claimed, ...rest } = j.sched;
      j.sched = rest;
    }
    j.state = 'running';
    j.runStart = now;
    j.overheadUntil = now + restart;
    j.running = { ...j.sched, startTime: now, placement, lastCheckpointTime: null };
    running.set(j.sched.id, j);
    countRunning(j, 1);
    latestStart = Math.max(latestStart, now);
    hold(j, placement);
    heap.push(now + restart + j.remainingMs, j, j.attempt);
  };
  // The snapshot's lists, in the maps' (insertion) order, follow the changes logged since the last
  // snapshot (see SnapshotList).
  const pendingList = new SnapshotList<SchedJob>(() => Array.from(pending.values(), (j) => j.sched));
  const runningList = new SnapshotList<RunningSchedJob>(() =>
    Array.from(running.values(), (j) => j.running!),
  );
  const snapshot = (): Snapshot => {
    const pendingArr = pendingList.current();
    const runningArr = runningList.current();
    if (halfLife === undefined) return { now, nodes, pending: pendingArr, running: runningArr };
    const usage = policyState.advance(now, runningArr, {
      byTenant: runningDevices,
      latestStartMs: latestStart,
    });
    return { now, nodes, pending: pendingArr, running: runningArr, usage: usage.byTenant };
  };
  // A policy that never preempts can start nothing while no node has as many free devices as the
  // smallest waiting replica: such instants are skipped (exact, not an approximation).
  const freeOnNode = new Map<string, number>(
    nodes.map((n) => [n.name, n.state === 'ready' ? n.accelerators.filter((a) => a.healthy).length : 0]),
  );
  const replicaSizes = new Map<number, number>();
  const countReplica = (j: SimJob, d: number): void => {
    const k = j.sched.perReplica.accelerators;
    const c = (replicaSizes.get(k) ?? 0) + d;
    if (c === 0) replicaSizes.delete(k);
    else replicaSizes.set(k, c);
  };
  const nothingCanStart = (): boolean => {
    let min = Infinity;
    for (const k of replicaSizes.keys()) if (k < min) min = k;
    for (const f of freeOnNode.values()) if (f >= min) return false;
    return true;
  };
  const cycle = (): void => {
    for (let c = 0; c < MAX_CYCLES_PER_INSTANT; c++) {
      if (pending.size === 0 || (!preempts && (free === 0 || nothingCanStart()))) break;
      const result = policy.schedule(snapshot());
      calls++;
      for (const p of result.preemptions) {
        const j = byId.get(p.jobId);
        if (j === undefined || j.state !== 'running')
          throw new SimError(`${policy.name}: preempts job ${p.jobId}, which is not running`);
        if (j.stopping) continue; // already stopping: a second request changes nothing
        if (grace > 0) {
          j.stopping = true;
          const old = j.running!;
          j.running = { ...old, preemptedAt: now, preemptedFor: p.forJobId };
          runningList.replace(old, j.running);
          claim(p.forJobId);
          heap.push(now + grace, j, -1 - j.attempt); // negative attempt: the stop event of this attempt
        } else {
          preempt(j);
          claim(p.forJobId);
        }
      }
      for (const s of result.starts) {
        const j = byId.get(s.jobId);
        if (j === undefined || j.state !== 'pending')
          throw new SimError(`${policy.name}: starts job ${s.jobId}, which is not waiting`);
        start(j, s.placement);
      }
      if (result.preemptions.length === 0 || grace > 0) break;
    }
    wakeAt =
      policy.nextWakeMs !== undefined && pending.size > 0
        ? (policy.nextWakeMs(snapshot()) ?? Infinity)
        : Infinity;
  };

  // Submission times by position (read each loop; a job's sched object changes shape over its life).
  const submitAt = Float64Array.from(jobs, (j) => j.sched.submitTime);
  let next = 0;
  while (next < jobs.length || heap.size > 0 || (wakeAt < Infinity && pending.size > 0)) {
    const tSubmit = next < jobs.length ? submitAt[next]! : Infinity;
    const t = Math.min(tSubmit, heap.peekTime(), wakeAt);
    if (!Number.isFinite(t)) break; // only jobs that can never start are left
    advance(t);
    let changed = false;
    while (next < jobs.length && submitAt[next]! <= now) {
      const j = jobs[next++]!;
      j.state = 'pending';
      pending.set(j.sched.id, j);
      addPendingSize(j, 1);
      beginWait(j);
      changed = true;
    }
    while (heap.peekTime() <= now) {
      const e = heap.pop();
      if (e.attempt < 0) {
        // the grace period of a preemption ended (unless the job finished meanwhile)
        if (-1 - e.attempt === e.job.attempt && e.job.state === 'running' && e.job.stopping) preempt(e.job);
        else continue;
      } else {
        if (e.attempt !== e.job.attempt || e.job.state !== 'running') continue; // stale: the attempt was preempted
        finish(e.job);
      }
      changed = true;
    }
    if (wakeAt <= now) {
      wakeAt = Infinity;
      changed = true;
    }
    if (changed) cycle();
  }

  return {
    policy: policy.name,
    jobs: jobs.map((j) => ({
      id: j.sched.id,
      tenant: j.sched.tenant,
      accelerators: j.gpus,
      submitMs: j.sched.submitTime,
      durationMs: j.durationMs,
      firstStartMs: j.firstStart,
      endMs: j.end,
      preemptions: j.preemptions,
      lostDeviceMs: j.lostDeviceMs,
      maxGuaranteeWaitMs: j.maxGuaranteeWaitMs,
    })),
    totalAccelerators,
    busyByBucket,
    startMs,
    guaranteeViolationMs: new Map(gViolationOrder.map((t) => [gTenants[t]!, gViolation[t]!])),
    guaranteeGapMs: new Map(gTenants.map((t, i) => [t, gGapMax[i]!])),
    policyCalls: calls,
    preemptionsTotal,
    wallMs: (input.clock?.() ?? 0) - wallStart,
  };
}
