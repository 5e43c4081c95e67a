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
  TenantUsage,
  JobProgress,
  Placement,
  RunningSchedJob,
  SchedJob,
  SchedulingPolicy,
  Snapshot,
} from '@suanli/core';
import { accrueUsage, decayUsage, EMPTY_USAGE } from '@suanli/core';
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
    };
  });
  const byId = new Map(jobs.map((j) => [j.sched.id, j]));
  if (byId.size !== jobs.length) throw new SimError('job ids must be unique');

  const knowledge: JobKnowledge = {
    progress(jobId: string, now: number): JobProgress {
      const j = byId.get(jobId);
      if (j === undefined) throw new SimError(`policy asked about unknown job ${jobId}`);
      if (j.state === 'running') {
        return {
          attainedMs: j.attainedMs + (now - j.runStart),
          remainingMs: j.remainingMs - Math.max(0, now - j.overheadUntil),
          waitingSinceMs: j.waitingSince,
          lastRunMs: j.lastRunMs,
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
  const usedByTenant = new Map<string, number>();
  const pendingSizes = new Map<string, Map<number, number>>(); // tenant → size → count
  const violation = new Map<string, number>();
  // Per tenant with a guarantee and per job size of that tenant (ascending): the total time during
  // which a job of that size fit inside the guarantee. A job's within-guarantee wait is the clock's
  // advance between the start and the end of its wait (no per-job work per event).
  const guaranteeClocks = new Map<string, { sizes: number[]; clock: number[] }>();
  for (const j of jobs) {
    if (!input.guarantees.has(j.sched.tenant)) continue;
    let e = guaranteeClocks.get(j.sched.tenant);
    if (e === undefined) guaranteeClocks.set(j.sched.tenant, (e = { sizes: [], clock: [] }));
    if (!e.sizes.includes(j.gpus)) e.sizes.push(j.gpus);
  }
  for (const e of guaranteeClocks.values()) {
    e.sizes.sort((a, b) => a - b);
    e.clock = e.sizes.map(() => 0);
  }
  const guaranteeClock = (j: SimJob): number => {
    const e = guaranteeClocks.get(j.sched.tenant);
    return e === undefined ? 0 : (e.clock[e.sizes.indexOf(j.gpus)] ?? 0);
  };
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
    // the snapshot's list follows: a job that arrives (or is preempted) is appended, one that
    // starts leaves its place
    if (d > 0) pendingAdded.push(j.sched);
    else pendingLeft.push(j.sched);
    countReplica(j, d);
    let m = pendingSizes.get(j.sched.tenant);
    if (m === undefined) pendingSizes.set(j.sched.tenant, (m = new Map()));
    const c = (m.get(j.gpus) ?? 0) + d;
    if (c === 0) m.delete(j.gpus);
    else m.set(j.gpus, c);
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
    for (const [tenant, g] of input.guarantees) {
      const sizes = pendingSizes.get(tenant);
      if (sizes === undefined || sizes.size === 0) continue;
      let min = Infinity;
      for (const s of sizes.keys()) if (s < min) min = s;
      if ((usedByTenant.get(tenant) ?? 0) + min <= g)
        violation.set(tenant, (violation.get(tenant) ?? 0) + dt);
    }
    for (const [tenant, e] of guaranteeClocks) {
      const room = (input.guarantees.get(tenant) ?? 0) - (usedByTenant.get(tenant) ?? 0);
      for (let i = 0; i < e.sizes.length && e.sizes[i]! <= room; i++) e.clock[i]! += dt;
    }
    now = to;
  };
  const hold = (j: SimJob, placement: Placement | null): void => {
    const d = placement === null ? -1 : 1;
    runningDirty = true;
    for (const r of placement ?? j.running!.placement)
      freeOnNode.set(r.node, (freeOnNode.get(r.node) ?? 0) - d * r.acceleratorIds.length);
    usedByTenant.set(j.sched.tenant, (usedByTenant.get(j.sched.tenant) ?? 0) + d * j.gpus);
    free -= d * j.gpus;
  };
  // Fair-share usage (only for policies that ask for it): decayed at each cycle; attempts that
  // ended since the last cycle are charged then.
  const halfLife = policy.usageHalfLifeMs;
  let usage: TenantUsage = EMPTY_USAGE;
  let ended: { tenant: string; devices: number; from: number; to: number }[] = [];
  const noteEnded = (j: SimJob): void => {
    if (halfLife !== undefined)
      ended.push({ tenant: j.sched.tenant, devices: j.gpus, from: j.runStart, to: now });
  };
  const finish = (j: SimJob): void => {
    noteEnded(j);
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
    j.sched = { ...j.sched, attainedServiceMs: j.attainedMs * j.gpus };
    running.delete(j.sched.id);
    pending.set(j.sched.id, j);
    addPendingSize(j, 1);
    beginWait(j);
  };
  /** The job a preemption was for learns when (`claimedAt`), while it waits. */
  const claim = (jobId: string): void => {
    const f = byId.get(jobId);
    if (f === undefined || f.state !== 'pending' || f.sched.claimedAt === now) return;
    f.sched = { ...f.sched, claimedAt: now };
    pendingDirty = true;
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
    if (j.sched.claimedAt !== undefined) {
      const { claimedAt: _claimed, ...rest } = j.sched;
      j.sched = rest;
    }
    j.state = 'running';
    j.runStart = now;
    j.overheadUntil = now + restart;
    j.running = { ...j.sched, startTime: now, placement, lastCheckpointTime: null };
    running.set(j.sched.id, j);
    hold(j, placement);
    heap.push(now + restart + j.remainingMs, j, j.attempt);
  };
  // The snapshot's arrays are rebuilt only when the sets changed since the last snapshot. The
  // pending list (thousands of jobs for days under FIFO) is the previous one with the jobs that
  // arrived appended and those that started taken out, which is the map's (insertion) order,
  // built by copying the previous array instead of walking the map.
  let pendingArr: SchedJob[] = [];
  let runningArr: RunningSchedJob[] = [];
  /** The list must be rebuilt from `pending` (a job's `sched` was replaced while it waited). */
  let pendingDirty = true;
  const pendingAdded: SchedJob[] = [];
  const pendingLeft: SchedJob[] = [];
  let runningDirty = true;
  const snapshot = (): Snapshot => {
    if (!pendingDirty && (pendingAdded.length > 0 || pendingLeft.length > 0)) {
      const arr = pendingAdded.length > 0 ? pendingArr.concat(pendingAdded) : pendingArr.slice();
      for (const s of pendingLeft) {
        const i = arr.indexOf(s);
        if (i < 0)
          pendingDirty = true; // not where it was expected: rebuild
        else arr.splice(i, 1);
      }
      pendingArr = arr;
    }
    if (pendingDirty) {
      pendingArr = Array.from(pending.values(), (j) => j.sched);
      pendingDirty = false;
    }
    pendingAdded.length = 0;
    pendingLeft.length = 0;
    if (runningDirty) {
      runningArr = [];
      for (const j of running.values()) runningArr.push(j.running!);
      runningDirty = false;
    }
    if (halfLife === undefined) return { now, nodes, pending: pendingArr, running: runningArr };
    if (usage.asOf !== now || ended.length > 0) {
      const prevAsOf = usage.asOf;
      usage = decayUsage(usage, now, runningArr, halfLife);
      for (const e of ended)
        usage = accrueUsage(usage, e.tenant, e.devices, Math.max(e.from, prevAsOf), e.to, halfLife);
      ended = [];
    }
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
          j.running = { ...j.running!, preemptedAt: now, preemptedFor: p.forJobId };
          claim(p.forJobId);
          runningDirty = true;
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

  let next = 0;
  while (next < jobs.length || heap.size > 0 || (wakeAt < Infinity && pending.size > 0)) {
    const tSubmit = next < jobs.length ? jobs[next]!.sched.submitTime : Infinity;
    const t = Math.min(tSubmit, heap.peekTime(), wakeAt);
    if (!Number.isFinite(t)) break; // only jobs that can never start are left
    advance(t);
    let changed = false;
    while (next < jobs.length && jobs[next]!.sched.submitTime <= now) {
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
    guaranteeViolationMs: violation,
    policyCalls: calls,
    preemptionsTotal,
    wallMs: (input.clock?.() ?? 0) - wallStart,
  };
}
