/**
 * The preemptive baselines: SRTF with known durations (an ORACLE bound) and Tiresias (2D-LAS,
 * Gu et al., NSDI'19). Both rank every job, running or waiting, by a key; the best-ranked jobs
 * that fit the cluster's device count should run, and running jobs ranked below them are preempted
 * to make room, but only where the room is actually used (minimal preemption: a victim whose
 * devices no new job takes keeps running). Capacity left over by fragmentation is given to
 * lower-ranked waiting jobs (work-conserving).
 *
 * Preempted jobs keep their progress (checkpoint) and pay a restart cost when they run again;
 * the simulator models that cost, the policy only decides.
 *
 * Speed (the simulator calls Tiresias ~290,000 times on the Philly trace, with hundreds of jobs
 * waiting and running): a policy keeps one entry per job object between cycles (`Ranking`), with
 * the jobs' progress as of the latest `now` it asked for (answers depend only on the job and `now`,
 * see `JobKnowledge`) and the previous cycle's order, which the next sort only repairs; a job that
 * could not be placed even with every remaining victim gone is recognised by counting devices
 * instead of copying the capacity; the pending decisions are built only if read. The answer is the
 * same as ranking and sorting from scratch.
 */
import type {
  PendingDecision,
  PreemptDecision,
  RunningSchedJob,
  ScheduleResult,
  SchedJob,
  Snapshot,
  StartDecision,
} from '../../model/scheduling.js';
import type { FreeCapacity } from './best-fit.js';
import {
  canEverFit,
  cloneCapacity,
  countReleased,
  enoughSlots,
  freeCapacity,
  freeCounts,
  jobAccelerators,
  placeBestFit,
  releasePlacement,
  schedulableDevices,
} from './best-fit.js';
import type { BaselinePolicy, JobKnowledge, JobProgress } from './common.js';
import type { ArrayDerivation } from './common.js';
import { derivationOf } from './common.js';
import { lazyResult } from './queue.js';

/** One job (one job object: a job that is started or preempted gets a new one) as a policy ranks it. */
interface Ranked {
  readonly job: SchedJob;
  readonly running: RunningSchedJob | null;
  /** Devices the job holds (replicas × per-replica devices). */
  readonly devices: number;
  readonly submitTime: number;
  readonly id: string;
  /** Rank key of the current cycle: lower runs first. */
  key: number;
  /** The key the entry is placed by in `Ranking.ordered` (while `inOrder`). */
  rankKey: number;
  inOrder: boolean;
  /** Still in the snapshot (false once the job object has left it). */
  alive: boolean;
  /** Within the device budget this cycle (waiting: should run; running: keeps running). */
  desired: boolean;
  /** The latest `knowledge.progress` answer for the job, asked at `progressAt` (NaN: never). */
  progress: JobProgress | null;
  progressAt: number;
  /** For the policy's own use (Tiresias: attained GPU-ms at the job's latest promotion). */
  extra: number;
  /** Tiresias: the job's queue, valid from `queueFrom` until before `queueUntil` for this `extra`. */
  queue: number;
  queueFrom: number;
  queueUntil: number;
  queueExtra: number;
}

/** The rank order: key, then `bySubmit` (submission, then id). Keys are numbers, never NaN. */
function cmp(a: Ranked, b: Ranked): number {
  const d = a.key - b.key;
  if (d < 0 || d > 0) return d;
  const s = a.submitTime - b.submitTime;
  if (s < 0 || s > 0) return s;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The jobs of the latest snapshot as entries that outlive a cycle: `pending` and `running` in the
 * snapshot's order; every entry in rank order (`ordered`), which `rank` brings up to date by
 * moving only the entries that are new, gone or whose key changed; and the jobs' progress, asked
 * once per job object and `now` (with `knowledge.steady`, once per job object: see `JobKnowledge`).
 */
class Ranking {
  private pendingSeen: readonly SchedJob[] = [];
  private runningSeen: readonly RunningSchedJob[] = [];
  /** Entries of `snapshot.pending` / `snapshot.running`, in the same order. */
  pending: Ranked[] = [];
  running: Ranked[] = [];
  private spare: Ranked[] = [];
  /** Entries in rank order by `rankKey` (after `rank`: every current entry, by `key`). */
  private readonly ordered: Ranked[] = [];
  /** Entries made, and entries dropped, since the last `rank`. */
  private fresh: Ranked[] = [];
  private gone: Ranked[] = [];
  /** Current entries by device count (to know the smallest job). */
  private readonly sizes = new Map<number, number>();
  private readonly steady: boolean;

  constructor(
    private readonly knowledge: JobKnowledge,
    private readonly init: (e: Ranked) => void = () => {},
  ) {
    this.steady = knowledge.steady === true;
  }

  /** Aligns the entries with `snapshot` (new job objects get new entries, `init`ed). */
  sync(snapshot: Snapshot): void {
    if (snapshot.pending !== this.pendingSeen) {
      this.pending = this.realign(this.pendingSeen, this.pending, snapshot.pending, false);
      this.pendingSeen = snapshot.pending;
    }
    if (snapshot.running !== this.runningSeen) {
      this.running = this.realign(this.runningSeen, this.running, snapshot.running, true);
      this.runningSeen = snapshot.running;
    }
    // While `rank` is not called (nextWakeMs only), keep the logs from piling up: start over.
    if (this.fresh.length + this.gone.length > 2 * (this.pending.length + this.running.length) + 64) {
      for (const e of this.ordered) e.inOrder = false;
      this.ordered.length = 0;
      this.gone = [];
      this.fresh = [...this.pending, ...this.running];
    }
  }

  /** The fewest devices a current job holds (Infinity: none). */
  smallest(): number {
    let min = Infinity;
    for (const [d, c] of this.sizes) if (c > 0 && d < min) min = d;
    return min;
  }

  /**
   * Sets every current entry's key (with `key`; null: the caller has set them) and returns the
   * entries sorted by `cmp`: the previous order without the entries that are gone or whose key
   * changed, merged with those and the new ones (sorted apart: few), or, when many keys changed,
   * repaired by an insertion sort (the order mostly holds), or sorted.
   */
  rank(key: ((e: Ranked) => number) | null): readonly Ranked[] {
    const moved: Ranked[] = [];
    for (const list of [this.pending, this.running]) {
      for (const e of list) {
        if (key !== null) e.key = key(e);
        if (!e.inOrder || e.key !== e.rankKey) moved.push(e);
      }
    }
    this.fresh = [];
    if (moved.length === 0 && this.gone.length === 0) return this.ordered;
    this.gone = [];
    const a = this.ordered;
    let newcomers = 0;
    for (const e of moved) if (!e.inOrder) newcomers++;
    if (moved.length > 16 && moved.length * 4 > a.length && newcomers <= 16) {
      // Many moves (e.g. SRTF's running jobs, whose keys all shrink): keep the previous order of
      // the entries still there, append the new ones and repair by an insertion sort (the order
      // mostly holds), or sort if that costs too much.
      let w = 0;
      for (const e of a) {
        if (e.alive) a[w++] = e;
        else e.inOrder = false;
      }
      a.length = w;
      for (const e of moved) {
        if (!e.inOrder) a.push(e);
        e.rankKey = e.key;
        e.inOrder = true;
      }
      let moves = 0;
      const limit = 8 * a.length + 64;
      for (let i = 1; i < a.length; i++) {
        const x = a[i]!;
        let j = i - 1;
        if (cmp(x, a[j]!) >= 0) continue;
        do {
          a[j + 1] = a[j]!;
          j--;
        } while (j >= 0 && cmp(x, a[j]!) < 0);
        a[j + 1] = x;
        moves += i - j;
        if (moves > limit) {
          a.sort(cmp);
          break;
        }
      }
      return a;
    }
    // keep the entries still there whose key did not change, in order
    let w = 0;
    for (const e of a) {
      if (e.alive && e.key === e.rankKey) a[w++] = e;
      else e.inOrder = false;
    }
    a.length = w;
    for (const e of moved) {
      e.rankKey = e.key;
      e.inOrder = true;
    }
    moved.sort(cmp);
    // merge `moved` into `a`, from the end (ties: the entry already placed first)
    let i = a.length - 1;
    let k = moved.length - 1;
    a.length += moved.length;
    for (let t = a.length - 1; k >= 0; t--) {
      if (i >= 0 && cmp(a[i]!, moved[k]!) > 0) a[t] = a[i--]!;
      else a[t] = moved[k--]!;
    }
    return a;
  }

  /** `knowledge.progress` of the entry's job at `now` (a waiting job's, with steady knowledge, once). */
  progress(e: Ranked, now: number): JobProgress {
    if (e.progressAt !== now || e.progress === null) {
      if (!(this.steady && e.running === null && e.progress !== null)) {
        e.progress = this.knowledge.progress(e.job.id, now);
        e.progressAt = now;
      }
    }
    return e.progress;
  }

  get steadyKnowledge(): boolean {
    return this.steady;
  }

  /** `progress(e, now).attainedMs`, computed from `steadyRun` when the knowledge is steady. */
  attained(e: Ranked, now: number): number {
    const run = this.steady ? e.progress?.steadyRun : undefined;
    if (run !== undefined && e.running !== null) return run.attainedBeforeMs + (now - run.runStartMs);
    return this.progress(e, now).attainedMs;
  }

  /** `progress(e, now).remainingMs`, computed from `steadyRun` when the knowledge is steady. */
  remaining(e: Ranked, now: number): number | null {
    const run = this.steady ? e.progress?.steadyRun : undefined;
    if (run !== undefined && e.running !== null)
      return run.remainingBeforeMs - Math.max(0, now - run.workStartMs);
    return this.progress(e, now).remainingMs;
  }

  /** Fills `this.spare` with entries for `cur`, reusing those of `prev` (logging what is gone). */
  /**
   * Entries for `cur`, reusing those of `prev` (`prevEntries`, in the same order) and logging
   * those gone: by replaying `cur`'s derivation from `prev` when there is one (native copies),
   * else by one identity walk.
   */
  private realign(
    prev: readonly SchedJob[],
    prevEntries: readonly Ranked[],
    cur: readonly SchedJob[],
    running: boolean,
  ): Ranked[] {
    const d = derivationOf(cur);
    if (d !== undefined && d.from === prev && this.replay(prevEntries as Ranked[], d, running, cur.length))
      return prevEntries as Ranked[];
    // written by index and cut to length at the end: `length = 0` would drop the storage
    const out = this.spare;
    let w = 0;
    let j = 0;
    const n = cur.length;
    for (let i = 0; i < prev.length; i++) {
      const e = prevEntries[i]!;
      if (j < n && cur[j] === prev[i]) {
        out[w++] = e;
        j++;
      } else this.drop(e);
    }
    for (; j < n; j++) out[w++] = this.register(this.make(cur[j]!, running));
    out.length = w;
    this.spare = prevEntries as Ranked[];
    return out;
  }

  /**
   * Applies `d` (how `cur` was made from `prev`) to `entries` (aligned with `prev`) in place;
   * false, with `entries` as they were, if it does not hold (cannot happen).
   */
  private replay(entries: Ranked[], d: ArrayDerivation<SchedJob>, running: boolean, length: number): boolean {
    const n0 = entries.length;
    const made = d.added.map((job) => this.make(job, running));
    for (const e of made) entries.push(e);
    const dropped: Ranked[] = [];
    const undo: { i: number; e: Ranked; removed: boolean }[] = [];
    let ok = true;
    for (let k = 0; k < d.olds.length; k++) {
      const old = d.olds[k]!;
      let i = 0;
      while (i < entries.length && entries[i]!.job !== old) i++;
      if (i === entries.length) {
        ok = false;
        break;
      }
      const e = entries[i]!;
      dropped.push(e);
      const x = d.news[k] ?? null;
      if (x === null) {
        entries.splice(i, 1);
        undo.push({ i, e, removed: true });
      } else {
        const f = this.make(x, running);
        made.push(f);
        entries[i] = f;
        undo.push({ i, e, removed: false });
      }
    }
    if (!ok || entries.length !== length) {
      for (let u = undo.length - 1; u >= 0; u--) {
        const { i, e, removed } = undo[u]!;
        if (removed) entries.splice(i, 0, e);
        else entries[i] = e;
      }
      entries.length = n0;
      return false;
    }
    for (const e of made) if (!dropped.includes(e)) this.register(e);
    for (const e of dropped) if (!made.includes(e)) this.drop(e);
    return true;
  }

  private drop(e: Ranked): void {
    e.alive = false;
    this.gone.push(e);
    this.sizes.set(e.devices, this.sizes.get(e.devices)! - 1);
  }

  private make(job: SchedJob, running: boolean): Ranked {
    const e: Ranked = {
      job,
      running: running ? (job as RunningSchedJob) : null,
      devices: jobAccelerators(job),
      submitTime: job.submitTime,
      id: job.id,
      key: 0,
      rankKey: 0,
      inOrder: false,
      alive: true,
      desired: false,
      progress: null,
      progressAt: NaN,
      extra: 0,
      queue: 0,
      queueFrom: Infinity,
      queueUntil: -Infinity,
      queueExtra: 0,
    };
    this.init(e);
    return e;
  }

  /** Counts a new entry in (entries are made first, counted in once the alignment holds). */
  private register(e: Ranked): Ranked {
    this.fresh.push(e);
    this.sizes.set(e.devices, (this.sizes.get(e.devices) ?? 0) + 1);
    return e;
  }
}

/**
 * One cycle of rank-then-preempt over `ranking` (synced with `snapshot`). `key`: lower runs first;
 * it is asked for every job.
 */
function rankedCycle(
  snapshot: Snapshot,
  ranking: Ranking,
  key: (e: Ranked) => number,
  label: string,
): ScheduleResult {
  const ordered = ranking.rank(key);
  let need = 0;
  for (const e of ranking.pending) need += e.devices;
  // 0. Fast path: if every waiting job, in rank order, fits what is free, nobody is preempted
  //    (everything fits, so every job is in the desired set below) and the answer is just that.
  let cap = freeCapacity(snapshot);
  if (need <= cap.totalFree) {
    const starts: StartDecision[] = [];
    let placed = true;
    for (const r of ordered) {
      if (r.running !== null) continue;
      const placement = placeBestFit(r.job, cap);
      if (placement === null) {
        placed = false;
        break;
      }
      starts.push({ jobId: r.job.id, placement, reason: `${label}: fits what is free` });
    }
    if (placed) return { starts, preemptions: [], pending: [] };
    cap = freeCapacity(snapshot);
  }
  // When every running job ranks before the best waiting one, all of them stay (they come first and
  // already fit), nobody is a victim: the rank then lists the running jobs in the snapshot's
  // order (the sort is skipped in that case), then the waiting ones.
  let runningBefore = 0;
  for (const r of ordered) {
    if (r.running === null) break;
    runningBefore++;
  }
  const runningFirst = runningBefore === ranking.running.length;
  // The i-th job in that order: `i < rf ? running[i] : ordered[i]`.
  const running = ranking.running;
  const n = ordered.length;
  const rf = runningFirst ? running.length : 0;

  // 1. The desired set: best-ranked jobs while the device count allows. Once the budget is below
  //    the smallest job, every job from there on (`cut`) is outside it.
  let budget = schedulableDevices(snapshot.nodes);
  const smallest = ranking.smallest();
  let cut = n;
  /** Positions before `cut` of running jobs outside the budget. */
  const undesiredBefore: number[] = [];
  for (let i = 0; i < n; i++) {
    if (budget < smallest) {
      cut = i;
      break;
    }
    const r = i < rf ? running[i]! : ordered[i]!;
    r.desired = r.devices <= budget;
    if (r.desired) budget -= r.devices;
    else if (r.running !== null) undesiredBefore.push(i);
  }

  // 2. Place desired waiting jobs, preempting undesired running jobs (worst-ranked first) only when
  //    needed. (With every running job first there is no rank among them: the victims keep the
  //    snapshot's order, as the sort by an absent rank did.)
  let victims: RunningSchedJob[] | null = null;
  const victimList = (): RunningSchedJob[] => {
    if (victims === null) {
      victims = [];
      if (runningFirst) {
        for (const i of undesiredBefore) victims.push(running[i]!.running!);
        for (let i = cut; i < running.length; i++) victims.push(running[i]!.running!);
      } else {
        for (let i = n - 1; i >= cut; i--) {
          const v = ordered[i]!.running;
          if (v !== null) victims.push(v);
        }
        for (let k = undesiredBefore.length - 1; k >= 0; k--)
          victims.push(ordered[undesiredBefore[k]!]!.running!);
      }
    }
    return victims;
  };
  const released: RunningSchedJob[] = [];
  let nextVictim = 0;
  const starts: StartDecision[] = [];
  const startedJobs: SchedJob[] = [];
  const start = (
    job: SchedJob,
    placement: NonNullable<ReturnType<typeof placeBestFit>>,
    reason: string,
  ): void => {
    starts.push({ jobId: job.id, placement, reason });
    startedJobs.push(job);
  };
  const failed: SchedJob[] = [];
  /** Waiting jobs outside the budget before `cut` (those after it are all outside). */
  const leftOver: SchedJob[] = [];
  // "What is free once every remaining victim is gone": device counts per node (an upper bound,
  // enough to rule most jobs out), and the capacity itself, built when a job passes the count.
  // Both hold until a start changes `cap` (releasing victims into `cap` leaves cap ∪ remaining
  // victims as it was).
  let hypoCounts: number[] | null = null;
  let hypoTotal = 0;
  /** Per node: can the hypothetical capacity take a replica asking no CPU and no memory? */
  let hypoRoom: boolean[] = [];
  let hypoBase: FreeCapacity | null = null;
  for (let i = 0; i < cut; i++) {
    const r = i < rf ? running[i]! : ordered[i]!;
    if (r.running !== null) continue;
    const job = r.job;
    if (!r.desired) {
      leftOver.push(job);
      continue;
    }
    let placement = placeBestFit(job, cap);
    if (placement === null && nextVictim < victimList().length) {
      const victims = victimList();
      if (hypoCounts === null) {
        hypoCounts = freeCounts(cap);
        hypoTotal = cap.totalFree;
        const cpu = cap.nodes.map((f) => f.freeCpuMillis);
        const mem = cap.nodes.map((f) => f.freeMemoryMiB);
        for (let v = nextVictim; v < victims.length; v++) {
          const placement = victims[v]!.placement;
          hypoTotal += countReleased(cap, hypoCounts, placement);
          for (const rp of placement) {
            const n = cap.index.get(rp.node);
            if (n === undefined) continue;
            cpu[n]! += rp.cpuMillis;
            mem[n]! += rp.memoryMiB;
          }
        }
        hypoRoom = cap.nodes.map((_, n) => !(cpu[n]! < 0) && !(mem[n]! < 0));
      }
      const per = job.perReplica;
      let fits: boolean;
      if (!(hypoTotal >= r.devices && enoughSlots(hypoCounts, per.accelerators, job.replicas))) fits = false;
      else if (
        cap.consistent &&
        per.accelerators > 0 &&
        per.acceleratorTypes.length === 0 &&
        per.cpuMillis === 0 &&
        per.memoryMiB === 0
      ) {
        // Exact by counting: best-fit places a replica wherever a node has enough free devices
        // (and no CPU or memory shortfall), each replica using up one such slot.
        let slots = 0;
        hypoCounts.forEach((c, n) => {
          if (hypoRoom[n]) slots += Math.floor(c / per.accelerators);
        });
        fits = slots >= job.replicas;
      } else {
        if (hypoBase === null) {
          hypoBase = cloneCapacity(cap);
          for (let v = nextVictim; v < victims.length; v++) releasePlacement(hypoBase, victims[v]!.placement);
        }
        fits = placeBestFit(job, cloneCapacity(hypoBase)) !== null;
      }
      if (fits) {
        while (placement === null && nextVictim < victims.length) {
          const v = victims[nextVictim++]!;
          releasePlacement(cap, v.placement);
          released.push(v);
          if (cap.totalFree >= r.devices) placement = placeBestFit(job, cap);
        }
      }
    }
    if (placement !== null) {
      start(job, placement, `${label}: ranked among the jobs the cluster holds`);
      hypoBase = null; // cap changed
      hypoCounts = null;
    } else failed.push(job);
  }
  // 3. Work conservation: lower-ranked waiting jobs take what is left.
  // the waiting jobs from `cut` on (copied: the ranking's list changes next cycle)
  const tail = ordered.slice(runningFirst ? Math.max(cut, running.length) : cut);
  let most = -1; // most free devices on one schedulable node (-1: to be measured)
  for (let i = 0; i < leftOver.length + tail.length; i++) {
    if (cap.totalFree === 0) break;
    const job = i < leftOver.length ? leftOver[i]! : tail[i - leftOver.length]!.job;
    if (i >= leftOver.length && tail[i - leftOver.length]!.running !== null) continue;
    if (most < 0) for (const f of cap.nodes) if (f.schedulable && f.free.length > most) most = f.free.length;
    if (job.perReplica.accelerators > most) continue; // no node holds one replica
    const placement = placeBestFit(job, cap);
    if (placement !== null) {
      start(job, placement, `${label}: free devices left over`);
      most = -1;
    }
  }
  // 4. Only victims whose devices a new job took are preempted.
  const preemptions: PreemptDecision[] = [];
  const startedFor = new Map<string, string>(); // device id → job started on it
  if (released.length > 0)
    starts.forEach((s) => {
      for (const r of s.placement) for (const id of r.acceleratorIds) startedFor.set(id, s.jobId);
    });
  for (const v of released) {
    let forJob: string | undefined;
    for (const rp of v.placement) for (const id of rp.acceleratorIds) forJob ??= startedFor.get(id);
    if (forJob !== undefined)
      preemptions.push({ jobId: v.id, forJobId: forJob, reason: `${label}: ranked below job ${forJob}` });
  }
  const nodes = snapshot.nodes;
  return lazyResult(starts, preemptions, () => {
    const pending: PendingDecision[] = [];
    for (const job of failed)
      pending.push(
        canEverFit(job, nodes)
          ? {
              jobId: job.id,
              verdict: 'waits-for-capacity',
              reason: `${label}: devices fragmented`,
              estimatedStart: null,
            }
          : {
              jobId: job.id,
              verdict: 'can-never-fit',
              reason: 'no set of nodes can hold this job',
              estimatedStart: null,
            },
      );
    const started = new Set(startedJobs);
    const waitsForTurn = (job: SchedJob): void => {
      if (!started.has(job))
        pending.push({
          jobId: job.id,
          verdict: 'waits-for-turn',
          reason: `${label}: better-ranked jobs hold the devices`,
          estimatedStart: null,
        });
    };
    for (const job of leftOver) waitsForTurn(job);
    for (const r of tail) if (r.running === null) waitsForTurn(r.job);
    return pending;
  });
}

/**
 * SRTF with known durations (ORACLE): rank by remaining work, shortest first; preemptive.
 * As Helios' SRTF baseline, the rank ignores the job's size.
 */
export function createSrtfOraclePolicy(knowledge: JobKnowledge): BaselinePolicy {
  const ranking = new Ranking(knowledge);
  return {
    name: 'srtf-oracle',
    preempts: true,
    schedule(snapshot: Snapshot): ScheduleResult {
      if (snapshot.pending.length === 0) return { starts: [], preemptions: [], pending: [] };
      const now = snapshot.now;
      ranking.sync(snapshot);
      return rankedCycle(snapshot, ranking, (e) => ranking.remaining(e, now) ?? Infinity, 'SRTF');
    },
  };
}

export interface TiresiasOptions {
  /**
   * Queue boundaries in attained GPU-seconds (GPUs × seconds run), ascending: a job moves to
   * queue k+1 once its attained service passes boundary k. Default one boundary at 1 GPU-hour
   * (Tiresias' evaluation uses two queues; Pollux's port demotes at 16 GPU-hours).
   */
  readonly queueBoundariesGpuS?: readonly number[];
  /**
   * The starvation knob (Tiresias' STARVE_LIMIT): a waiting job that has waited (since it last
   * stopped) this many times its total executed time is promoted back to the first queue, and
   * its service counts from zero again. 0 switches promotion off.
   */
  readonly starvationFactor?: number;
}

export const TIRESIAS_DEFAULTS = { queueBoundariesGpuS: [3600], starvationFactor: 8 } as const;

/**
 * Tiresias' discretised 2D-LAS: jobs are ranked by queue (attained GPU-time, the two dimensions
 * being GPUs × time), first-come-first-served inside a queue; preemptive across queues. It needs
 * no durations. It asks for a cycle whenever a running job crosses a queue boundary or a waiting
 * job reaches its starvation limit (`nextWakeMs`).
 */
export function createTiresiasPolicy(knowledge: JobKnowledge, options: TiresiasOptions = {}): BaselinePolicy {
  const boundariesMs = (options.queueBoundariesGpuS ?? TIRESIAS_DEFAULTS.queueBoundariesGpuS).map(
    (s) => s * 1000,
  );
  const starvation = options.starvationFactor ?? TIRESIAS_DEFAULTS.starvationFactor;
  /**
   * Attained GPU-ms at the job's latest promotion: service counts from there. Each entry keeps its
   * job's value in `extra` (read when the entry is made; a promotion, made while the job waits,
   * updates both).
   */
  const promotedAt = new Map<string, number>();
  const ranking = new Ranking(knowledge, (e) => (e.extra = promotedAt.get(e.job.id) ?? 0));
  const service = (e: Ranked, now: number): number => ranking.attained(e, now) * e.devices - e.extra;
  const queueOf = (service: number): number => {
    let q = 0;
    while (q < boundariesMs.length && service >= boundariesMs[q]!) q++;
    return q;
  };
  /**
   * `queueOf(service(e, now))`, kept on the entry while it cannot change: with steady knowledge a
   * waiting job's service is constant and a running job's grows by its devices per ms, so its
   * queue holds until (a margin before) the time its service reaches the next boundary.
   */
  const queueAt = (e: Ranked, now: number): number => {
    if (now >= e.queueFrom && now < e.queueUntil && e.queueExtra === e.extra) return e.queue;
    const q = queueOf(service(e, now));
    e.queue = q;
    e.queueFrom = now;
    e.queueExtra = e.extra;
    if (!ranking.steadyKnowledge) e.queueUntil = -Infinity;
    else if (e.running === null || q >= boundariesMs.length || !(e.devices > 0)) e.queueUntil = Infinity;
    else {
      // service(t) = (before + t - start) × devices - extra stays below boundary b while
      // before + t - start < (b + extra) / devices; one ms less than the floor of that, for rounding
      const run = e.progress?.steadyRun;
      e.queueUntil =
        run === undefined
          ? -Infinity
          : run.runStartMs - run.attainedBeforeMs + Math.floor((boundariesMs[q]! + e.extra) / e.devices) - 1;
    }
    return q;
  };
  return {
    name: 'tiresias',
    preempts: true,
    schedule(snapshot: Snapshot): ScheduleResult {
      const now = snapshot.now;
      if (snapshot.pending.length === 0) return { starts: [], preemptions: [], pending: [] };
      ranking.sync(snapshot);
      // Rank: queue first, then submission (the key is the queue; ties fall to bySubmit). A
      // waiting job that has run and was demoted, and has waited `starvation` times its executed
      // time, is first promoted back to the first queue (each job on its own: done as its key is
      // asked, once per cycle).
      return rankedCycle(
        snapshot,
        ranking,
        (e) => {
          if (e.running === null && starvation > 0) {
            const p = ranking.progress(e, now);
            if (
              p.attainedMs > 0 &&
              now - p.waitingSinceMs >= starvation * p.attainedMs &&
              queueAt(e, now) > 0
            ) {
              const svc = p.attainedMs * e.devices - e.extra;
              e.extra = svc + e.extra;
              promotedAt.set(e.job.id, e.extra);
            }
          }
          return queueAt(e, now);
        },
        'Tiresias',
      );
    },
    nextWakeMs(snapshot: Snapshot): number | null {
      if (snapshot.pending.length === 0) return null;
      const now = snapshot.now;
      ranking.sync(snapshot);
      let next = Infinity;
      // The best-ranked waiting job: a running job's demotion matters only if it then ranks below it.
      let bestQ = Infinity;
      let bestSubmit = Infinity;
      for (const e of ranking.pending) {
        const q = queueAt(e, now);
        if (q < bestQ || (q === bestQ && e.submitTime < bestSubmit)) {
          bestQ = q;
          bestSubmit = e.submitTime;
        }
        // the starvation limit of a job that has run and was demoted
        if (starvation > 0 && q > 0) {
          const p = ranking.progress(e, now);
          if (p.attainedMs > 0) next = Math.min(next, p.waitingSinceMs + starvation * p.attainedMs);
        }
      }
      for (const e of ranking.running) {
        const q = queueAt(e, now);
        if (q >= boundariesMs.length) continue;
        if (bestQ > q + 1 || (bestQ === q + 1 && bestSubmit >= e.submitTime)) continue;
        next = Math.min(next, now + Math.ceil((boundariesMs[q]! - service(e, now)) / e.devices));
      }
      return Number.isFinite(next) ? Math.max(next, now + 1) : null;
    },
  };
}
