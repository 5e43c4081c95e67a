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
import { canEverFit, cloneCapacity, freeCapacity, placeBestFit, releasePlacement } from './best-fit.js';
import type { BaselinePolicy } from './common.js';
import { bySubmit } from './common.js';

/** Slurm's bf_max_job_test: how many queued jobs one cycle considers for backfill. */
export const EASY_MAX_BACKFILL_CANDIDATES = 2000;

/** Earliest time (by time limits) and devices at which `head` fits, or null if never by the plan. */
function reserve(
  head: SchedJob,
  now: number,
  cap: FreeCapacity,
  holders: readonly { end: number; placement: Placement }[],
): { shadow: number; devices: Set<string> } | null {
  const plan = cloneCapacity(cap);
  const need = head.replicas * head.perReplica.accelerators;
  const ordered = [...holders].sort((a, b) => a.end - b.end);
  for (const h of ordered) {
    if (!Number.isFinite(h.end)) break;
    releasePlacement(plan, h.placement);
    if (plan.totalFree < need) continue;
    const p = placeBestFit(head, plan);
    if (p !== null) {
      const devices = new Set<string>();
      for (const r of p) for (const id of r.acceleratorIds) devices.add(id);
      return { shadow: Math.max(h.end, now), devices };
    }
  }
  return null;
}

export function createEasyBackfillPolicy(options: { maxBackfillCandidates?: number } = {}): BaselinePolicy {
  const maxCandidates = options.maxBackfillCandidates ?? EASY_MAX_BACKFILL_CANDIDATES;
  return {
    name: 'easy',
    preempts: false,
    schedule(snapshot: Snapshot): ScheduleResult {
      const now = snapshot.now;
      const queue = [...snapshot.pending].sort(bySubmit);
      const cap = freeCapacity(snapshot);
      const starts: StartDecision[] = [];
      const started: SchedJob[] = [];
      const pending: PendingDecision[] = [];
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
        } else if (!canEverFit(job, snapshot.nodes)) {
          pending.push({
            jobId: job.id,
            verdict: 'can-never-fit',
            reason: 'no set of nodes can hold this job',
            estimatedStart: null,
          });
        } else {
          head = job;
          i++;
          break;
        }
      }
      if (head === null) return { starts, preemptions: [], pending };
      // 2. Reserve for the head at its shadow time, planning with time limits.
      const holders = [
        ...snapshot.running.map((r) => ({ end: endOf(r, r.startTime), placement: r.placement })),
        ...starts.map((s, k) => ({ end: endOf(started[k]!, now), placement: s.placement })),
      ];
      const res = reserve(head, now, cap, holders);
      pending.push({
        jobId: head.id,
        verdict: 'waits-for-capacity',
        reason:
          res === null
            ? 'EASY head: no end time known for enough devices'
            : 'EASY head: devices reserved at its shadow time',
        estimatedStart: res?.shadow ?? null,
      });
      // 3. Backfill: later jobs that fit now without delaying the head.
      let tried = 0;
      for (; i < queue.length; i++) {
        const job = queue[i]!;
        if (cap.totalFree === 0 || tried >= maxCandidates) {
          pending.push({
            jobId: job.id,
            verdict: 'waits-for-turn',
            reason: `EASY: behind head job ${head.id}`,
            estimatedStart: null,
          });
          continue;
        }
        tried++;
        const endsBeforeShadow =
          res !== null && job.timeLimitMs !== null && now + job.timeLimitMs <= res.shadow;
        const placement =
          res === null ? null : placeBestFit(job, cap, endsBeforeShadow ? undefined : res.devices);
        if (placement !== null) {
          starts.push({
            jobId: job.id,
            placement,
            reason: `EASY backfill: does not delay head job ${head.id}`,
          });
        } else {
          pending.push({
            jobId: job.id,
            verdict: 'waits-for-turn',
            reason: `EASY: behind head job ${head.id}`,
            estimatedStart: null,
          });
        }
      }
      return { starts, preemptions: [], pending };
    },
  };
}
