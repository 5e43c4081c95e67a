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
  freeCapacity,
  jobAccelerators,
  placeBestFit,
  releasePlacement,
  schedulableDevices,
} from './best-fit.js';
import type { BaselinePolicy, JobKnowledge } from './common.js';
import { bySubmit } from './common.js';

interface Ranked {
  readonly job: SchedJob;
  readonly running: RunningSchedJob | null;
  readonly key: number;
}

/** One cycle of rank-then-preempt. `key`: lower runs first. */
function rankedCycle(
  snapshot: Snapshot,
  key: (job: SchedJob, running: RunningSchedJob | null) => number,
  label: string,
): ScheduleResult {
  // 0. Fast path: if every waiting job, in rank order, fits what is free, nobody is preempted
  //    (everything fits, so every job is in the desired set below) and the answer is just that.
  const pendingRanked: Ranked[] = snapshot.pending.map((p) => ({ job: p, running: null, key: key(p, null) }));
  pendingRanked.sort((a, b) => a.key - b.key || bySubmit(a.job, b.job));
  {
    const cap = freeCapacity(snapshot);
    const starts: StartDecision[] = [];
    let need = 0;
    for (const r of pendingRanked) need += jobAccelerators(r.job);
    if (need <= cap.totalFree) {
      for (const r of pendingRanked) {
        const placement = placeBestFit(r.job, cap);
        if (placement === null) break;
        starts.push({ jobId: r.job.id, placement, reason: `${label}: fits what is free` });
      }
      if (starts.length === pendingRanked.length) return { starts, preemptions: [], pending: [] };
    }
  }
  const cmp = (a: Ranked, b: Ranked): number => a.key - b.key || bySubmit(a.job, b.job);
  const all: Ranked[] = snapshot.running.map((r) => ({ job: r, running: r, key: key(r, r) }));
  // When every running job ranks before the best waiting one, all of them stay (they come first and
  // already fit), nobody is a victim, and the full sort can be skipped: same answer, less work.
  const best = pendingRanked[0];
  const runningFirst = best === undefined || all.every((r) => cmp(r, best) < 0);
  for (const p of pendingRanked) all.push(p);
  if (!runningFirst) all.sort(cmp);
  const rank = runningFirst ? new Map<string, number>() : new Map(all.map((r, i) => [r.job.id, i]));

  // 1. The desired set: best-ranked jobs while the device count allows.
  let budget = schedulableDevices(snapshot.nodes);
  const desired = new Set<string>(); // waiting jobs only
  const undesiredRunning = new Set<string>();
  for (const r of all) {
    const need = jobAccelerators(r.job);
    if (need <= budget) {
      if (r.running === null) desired.add(r.job.id);
      budget -= need;
    } else if (r.running !== null) undesiredRunning.add(r.job.id);
  }

  // 2. Place desired waiting jobs, preempting undesired running jobs (worst-ranked first) only when needed.
  const cap = freeCapacity(snapshot);
  const victims =
    undesiredRunning.size === 0
      ? []
      : snapshot.running
          .filter((r) => undesiredRunning.has(r.id))
          .sort((a, b) => rank.get(b.id)! - rank.get(a.id)!);
  const released: RunningSchedJob[] = [];
  let nextVictim = 0;
  const starts: StartDecision[] = [];
  const pending: PendingDecision[] = [];
  const startedFor = new Map<string, string>(); // device id → job started on it
  const start = (
    job: SchedJob,
    placement: NonNullable<ReturnType<typeof placeBestFit>>,
    reason: string,
  ): void => {
    starts.push({ jobId: job.id, placement, reason });
    for (const r of placement) for (const id of r.acceleratorIds) startedFor.set(id, job.id);
  };
  const leftOver: SchedJob[] = [];
  let hypoBase: FreeCapacity | null = null;
  for (const r of all) {
    if (r.running !== null) continue;
    const job = r.job;
    if (!desired.has(job.id)) {
      leftOver.push(job);
      continue;
    }
    let placement = placeBestFit(job, cap);
    if (placement === null && nextVictim < victims.length) {
      // "What is free once every remaining victim is gone", built once and reused until a start
      // changes `cap` (jobs that cannot fit even then are common in a full hall).
      if (hypoBase === null) {
        hypoBase = cloneCapacity(cap);
        for (let v = nextVictim; v < victims.length; v++) releasePlacement(hypoBase, victims[v]!.placement);
      }
      const hypothetical = cloneCapacity(hypoBase);
      if (placeBestFit(job, hypothetical) !== null) {
        while (placement === null && nextVictim < victims.length) {
          const v = victims[nextVictim++]!;
          releasePlacement(cap, v.placement);
          released.push(v);
          if (cap.totalFree >= jobAccelerators(job)) placement = placeBestFit(job, cap);
        }
      }
    }
    if (placement !== null) {
      start(job, placement, `${label}: ranked among the jobs the cluster holds`);
      hypoBase = null; // cap changed (releasing victims into cap leaves cap ∪ remaining victims as it was)
    } else if (!canEverFit(job, snapshot.nodes))
      pending.push({
        jobId: job.id,
        verdict: 'can-never-fit',
        reason: 'no set of nodes can hold this job',
        estimatedStart: null,
      });
    else
      pending.push({
        jobId: job.id,
        verdict: 'waits-for-capacity',
        reason: `${label}: devices fragmented`,
        estimatedStart: null,
      });
  }
  // 3. Work conservation: lower-ranked waiting jobs take what is left.
  for (const job of leftOver) {
    const placement = cap.totalFree > 0 ? placeBestFit(job, cap) : null;
    if (placement !== null) start(job, placement, `${label}: free devices left over`);
    else
      pending.push({
        jobId: job.id,
        verdict: 'waits-for-turn',
        reason: `${label}: better-ranked jobs hold the devices`,
        estimatedStart: null,
      });
  }
  // 4. Only victims whose devices a new job took are preempted.
  const preemptions: PreemptDecision[] = [];
  for (const v of released) {
    let forJob: string | undefined;
    for (const rp of v.placement) for (const id of rp.acceleratorIds) forJob ??= startedFor.get(id);
    if (forJob !== undefined)
      preemptions.push({ jobId: v.id, forJobId: forJob, reason: `${label}: ranked below job ${forJob}` });
  }
  return { starts, preemptions, pending };
}

/**
 * SRTF with known durations (ORACLE): rank by remaining work, shortest first; preemptive.
 * As Helios' SRTF baseline, the rank ignores the job's size.
 */
export function createSrtfOraclePolicy(knowledge: JobKnowledge): BaselinePolicy {
  return {
    name: 'srtf-oracle',
    preempts: true,
    schedule(snapshot: Snapshot): ScheduleResult {
      if (snapshot.pending.length === 0) return { starts: [], preemptions: [], pending: [] };
      return rankedCycle(
        snapshot,
        (job) => knowledge.progress(job.id, snapshot.now).remainingMs ?? Infinity,
        'SRTF',
      );
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
  /** Attained GPU-ms at the job's latest promotion: service counts from there. */
  const promotedAt = new Map<string, number>();
  const effective = (
    job: SchedJob,
    now: number,
  ): { service: number; waitingSince: number; executed: number } => {
    // Not cached on purpose: a per-instant cache measured 2× slower (its entries outlive a
    // young-generation GC and are promoted).
    const p = knowledge.progress(job.id, now);
    return {
      service: p.attainedMs * jobAccelerators(job) - (promotedAt.get(job.id) ?? 0),
      waitingSince: p.waitingSinceMs,
      executed: p.attainedMs,
    };
  };
  const queueOf = (service: number): number => {
    let q = 0;
    while (q < boundariesMs.length && service >= boundariesMs[q]!) q++;
    return q;
  };
  return {
    name: 'tiresias',
    preempts: true,
    schedule(snapshot: Snapshot): ScheduleResult {
      const now = snapshot.now;
      if (snapshot.pending.length === 0) return { starts: [], preemptions: [], pending: [] };
      for (const job of snapshot.pending) {
        const e = effective(job, now);
        if (
          starvation > 0 &&
          e.executed > 0 &&
          queueOf(e.service) > 0 &&
          now - e.waitingSince >= starvation * e.executed
        ) {
          promotedAt.set(job.id, e.service + (promotedAt.get(job.id) ?? 0));
        }
      }
      // Rank: queue first, then submission (the key is the queue; ties fall to bySubmit).
      return rankedCycle(snapshot, (job) => queueOf(effective(job, now).service), 'Tiresias');
    },
    nextWakeMs(snapshot: Snapshot): number | null {
      if (snapshot.pending.length === 0) return null;
      const now = snapshot.now;
      let next = Infinity;
      // The best-ranked waiting job: a running job's demotion matters only if it then ranks below it.
      let bestQ = Infinity;
      let bestSubmit = Infinity;
      for (const p of snapshot.pending) {
        const q = queueOf(effective(p, now).service);
        if (q < bestQ || (q === bestQ && p.submitTime < bestSubmit)) {
          bestQ = q;
          bestSubmit = p.submitTime;
        }
      }
      for (const r of snapshot.running) {
        const e = effective(r, now);
        const q = queueOf(e.service);
        if (q >= boundariesMs.length) continue;
        if (bestQ > q + 1 || (bestQ === q + 1 && bestSubmit >= r.submitTime)) continue;
        next = Math.min(next, now + Math.ceil((boundariesMs[q]! - e.service) / jobAccelerators(r)));
      }
      if (starvation > 0) {
        for (const p of snapshot.pending) {
          const e = effective(p, now);
          if (e.executed > 0 && queueOf(e.service) > 0)
            next = Math.min(next, e.waitingSince + starvation * e.executed);
        }
      }
      return Number.isFinite(next) ? Math.max(next, now + 1) : null;
    },
  };
}
