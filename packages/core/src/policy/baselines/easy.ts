/**
 * EASY backfill as Slurm's sched/backfill does it with one reservation: jobs start in submission
 * order; the first job that does not fit (the head) gets a reservation at the earliest time the
 * running jobs' TIME LIMITS free enough devices for it (its "shadow time"), on the devices it would
 * then take; a later job may start now if it fits and either ends (by its time limit) before the
 * shadow time or stays off the reserved devices. No preemption.
 *
 * Jobs without a time limit cannot be backfilled ahead of the head (they might never end), and a
 * running job without a limit never frees its devices in the plan. In the simulator the time limit
 * is the job's actual duration × a stated factor (users over-ask), or the trace's own limit.
 *
 * Speed: the queue's order is kept between cycles (`SubmitOrder`); a backfill candidate that
 * cannot fit (more devices than any node has free) is passed over without trying its placement;
 * the head's plan tries a placement only once enough devices are back for it; the pending
 * decisions are built only if read (`lazyResult`). The answer is the same as the plain computation.
 */
import type {
  PendingDecision,
  RunningSchedJob,
  ScheduleResult,
  SchedJob,
  Snapshot,
  StartDecision,
} from '../../model/scheduling.js';
import type { Placement } from '../../model/resources.js';
import type { FreeCapacity } from './best-fit.js';
import {
  canEverFit,
  cloneCapacity,
  freeCapacity,
  freeCounts,
  placeBestFit,
  releasePlacement,
} from './best-fit.js';
import type { BaselinePolicy } from './common.js';
import { bySubmit } from './common.js';
import { lazyResult, SubmitOrder } from './queue.js';

/** Slurm's bf_max_job_test: how many queued jobs one cycle considers for backfill. */
export const EASY_MAX_BACKFILL_CANDIDATES = 2000;

/**
 * The holders' positions in order of end time, ties in holder order (a stable sort by end), those
 * that never end left out. Ends are whole milliseconds in practice: each is then packed with its
 * position into one number and the numbers are sorted natively; otherwise a stable sort.
 */
function byEnd(ends: readonly number[]): { readonly length: number; at(k: number): number } {
  const n = ends.length;
  let scale = 1;
  while (scale < n) scale *= 2;
  const keys = new Float64Array(n);
  let m = 0;
  let packable = true;
  for (let i = 0; i < n; i++) {
    const e = ends[i]!;
    if (e === Infinity) continue;
    if (!(Number.isInteger(e) && e >= 0 && e * scale + scale <= Number.MAX_SAFE_INTEGER)) {
      packable = false;
      break;
    }
    keys[m++] = e * scale + i;
  }
  if (!packable) {
    const order = ends.map((_, i) => i).sort((a, b) => ends[a]! - ends[b]!);
    const firstNever = order.findIndex((i) => !Number.isFinite(ends[i]!));
    const kept = firstNever < 0 ? order : order.slice(0, firstNever);
    return { length: kept.length, at: (k) => kept[k]! };
  }
  const sorted = keys.subarray(0, m).sort();
  // the position, decoded when asked (the plan usually stops early); exact: scale is a power of 2
  return {
    length: m,
    at: (k) => {
      const key = sorted[k]!;
      return key - Math.floor(key / scale) * scale;
    },
  };
}

/**
 * Earliest time (by time limits) and devices at which `head` fits, or null if never by the plan.
 * `ends[i]`, `placements[i]`: the holders (running jobs, then the jobs started this cycle).
 */
function reserve(
  head: SchedJob,
  now: number,
  cap: FreeCapacity,
  ends: readonly number[],
  placements: readonly Placement[],
): { shadow: number; devices: Set<string> } | null {
  const need = head.replicas * head.perReplica.accelerators;
  const per = head.perReplica.accelerators;
  const ordered = byEnd(ends);
  // Free devices per schedulable node as holders are released, and how many replicas of the head
  // they could hold, counted before any placement is tried: a placement cannot succeed before
  // (the counts are an upper bound of what `releasePlacement` gives back).
  const count = freeCounts(cap);
  let slots = 0;
  if (per > 0) for (const c of count) slots += Math.floor(c / per);
  let plan: FreeCapacity | null = null;
  let released = 0;
  let totalFree = cap.totalFree;
  for (let k = 0; k < ordered.length; k++) {
    const h = ordered.at(k);
    const end = ends[h]!;
    if (!Number.isFinite(end)) break;
    if (plan === null) {
      for (const r of placements[h]!) {
        const i = cap.index.get(r.node);
        if (i === undefined || !cap.nodes[i]!.schedulable) continue;
        const free = cap.nodes[i]!.free;
        let back = 0;
        for (const id of r.acceleratorIds) if (!free.includes(id)) back++;
        if (per > 0) slots += Math.floor((count[i]! + back) / per) - Math.floor(count[i]! / per);
        count[i]! += back;
        totalFree += back;
      }
      if (totalFree < need || (per > 0 && head.replicas > 0 && slots < head.replicas)) continue;
      // From here on, the plan as the plain computation builds it.
      plan = cloneCapacity(cap);
      for (; released <= k; released++) releasePlacement(plan, placements[ordered.at(released)]!);
    } else {
      releasePlacement(plan, placements[h]!);
      if (plan.totalFree < need) continue;
    }
    const p = placeBestFit(head, plan);
    if (p !== null) {
      const devices = new Set<string>();
      for (const r of p) for (const id of r.acceleratorIds) devices.add(id);
      return { shadow: Math.max(end, now), devices };
    }
  }
  return null;
}

export function createEasyBackfillPolicy(options: { maxBackfillCandidates?: number } = {}): BaselinePolicy {
  const maxCandidates = options.maxBackfillCandidates ?? EASY_MAX_BACKFILL_CANDIDATES;
  const order = new SubmitOrder();
  return {
    name: 'easy',
    preempts: false,
    schedule(snapshot: Snapshot): ScheduleResult {
      const now = snapshot.now;
      const queue = order.sync(snapshot.pending);
      const cap = freeCapacity(snapshot);
      const starts: StartDecision[] = [];
      const started: SchedJob[] = [];
      const endOf = (j: RunningSchedJob | SchedJob, start: number): number =>
        j.timeLimitMs === null ? Infinity : Math.max(start + j.timeLimitMs, now + 1);
      let i = 0;
      // 1. Start jobs in order until the first that does not fit: the head.
      let head: SchedJob | null = null;
      for (; i < queue.length; i++) {
        const job = queue[i]!;
        const placement = placeBestFit(job, cap);
        if (placement !== null) {
          starts.push({ jobId: job.id, placement, reason: 'EASY: first in submission order and fits' });
          started.push(job);
        } else if (canEverFit(job, snapshot.nodes)) {
          head = job;
          i++;
          break;
        }
      }
      if (head === null) return lazyResult(starts, [], () => easyPending(snapshot, started, null, null));
      // 2. Reserve for the head at its shadow time, planning with time limits.
      const ends: number[] = [];
      const placements: Placement[] = [];
      for (const r of snapshot.running) {
        ends.push(endOf(r, r.startTime));
        placements.push(r.placement);
      }
      starts.forEach((s, k) => {
        ends.push(endOf(started[k]!, now));
        placements.push(s.placement);
      });
      const res = reserve(head, now, cap, ends, placements);
      // 3. Backfill: later jobs that fit now without delaying the head. Once no device is free or
      //    the candidates are used up, the rest wait; without a reservation nothing is backfilled.
      if (res !== null) {
        // Most free devices on one schedulable node, with and without the reserved ones: a
        // candidate whose replica needs more cannot be placed (plain requests only).
        let most = 0;
        let mostOff = 0;
        const measure = (): void => {
          most = 0;
          mostOff = 0;
          for (const f of cap.nodes) {
            if (!f.schedulable) continue;
            let off = 0;
            for (const id of f.free) if (!res.devices.has(id)) off++;
            if (f.free.length > most) most = f.free.length;
            if (off > mostOff) mostOff = off;
          }
        };
        measure();
        let tried = 0;
        for (; i < queue.length && cap.totalFree > 0 && tried < maxCandidates; i++) {
          const job = queue[i]!;
          tried++;
          const endsBeforeShadow = job.timeLimitMs !== null && now + job.timeLimitMs <= res.shadow;
          const per = job.perReplica;
          if (
            per.acceleratorTypes.length === 0 &&
            (job.replicas * per.accelerators > cap.totalFree ||
              per.accelerators > (endsBeforeShadow ? most : mostOff))
          )
            continue;
          const placement = placeBestFit(job, cap, endsBeforeShadow ? undefined : res.devices);
          if (placement !== null) {
            starts.push({
              jobId: job.id,
              placement,
              reason: `EASY backfill: does not delay head job ${head.id}`,
            });
            started.push(job);
            measure();
          }
        }
      }
      return lazyResult(starts, [], () => easyPending(snapshot, started, head, res));
    },
  };
}

/**
 * The pending decisions of a cycle that started `started` and reserved `res` for `head`: every
 * other job in submission order (the jobs before the head that were not started can never fit).
 */
function easyPending(
  snapshot: Snapshot,
  started: readonly SchedJob[],
  head: SchedJob | null,
  res: { shadow: number } | null,
): PendingDecision[] {
  const startedSet = new Set(started);
  const pending: PendingDecision[] = [];
  let afterHead = false;
  for (const job of [...snapshot.pending].sort(bySubmit)) {
    if (startedSet.has(job)) continue;
    if (job === head) {
      afterHead = true;
      pending.push({
        jobId: job.id,
        verdict: 'waits-for-capacity',
        reason:
          res === null
            ? 'EASY head: no end time known for enough devices'
            : 'EASY head: devices reserved at its shadow time',
        estimatedStart: res?.shadow ?? null,
      });
    } else if (afterHead)
      pending.push({
        jobId: job.id,
        verdict: 'waits-for-turn',
        reason: `EASY: behind head job ${head!.id}`,
        estimatedStart: null,
      });
    else
      pending.push({
        jobId: job.id,
        verdict: 'can-never-fit',
        reason: 'no set of nodes can hold this job',
        estimatedStart: null,
      });
  }
  return pending;
}
