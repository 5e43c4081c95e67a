/**
 * The `%N` throttle of job arrays, applied where the engine builds a cycle's snapshot: of an array's
 * queued tasks the policy sees only as many as the array may still start (N minus its tasks now
 * starting or running), the lowest submission sequence first (so the lowest indices start first,
 * as in Slurm). The tasks held back are not shown to the policy at all, so no policy (FCFS, fair
 * share, backfill) can start them, and they get their own pending verdict. Pure: no I/O, no clock.
 */
import { ACTIVE_STATES, type ArrayThrottleDetail, type JobState, type PendingVerdict } from '@suanli/core';

/** What the throttle reads of a job. */
export interface ArrayTaskLike {
  readonly id: string;
  readonly state: JobState;
  readonly arrayId: string | null;
  readonly arrayThrottle: number | null;
}

export interface HeldTask {
  readonly jobId: string;
  readonly verdict: PendingVerdict;
  readonly reason: string;
  readonly estimatedStart: null;
  readonly detail: ArrayThrottleDetail;
}

/** Tasks starting or running, per array: what counts against a throttle. */
export function activeTasksByArray(jobs: Iterable<ArrayTaskLike>): Map<string, number> {
  const active = new Map<string, number>();
  for (const j of jobs)
    if (j.arrayId !== null && ACTIVE_STATES.has(j.state))
      active.set(j.arrayId, (active.get(j.arrayId) ?? 0) + 1);
  return active;
}

/**
 * Splits the queued jobs (in queue order) into those the policy may see and the throttled tasks
 * held back with their verdict. `throttleOf` gives an array's cap (default: the task's own
 * `arrayThrottle`); jobs outside arrays and arrays without a cap always pass.
 */
export function throttleArrays<J extends ArrayTaskLike>(
  queued: readonly J[],
  activeByArray: ReadonlyMap<string, number>,
  throttleOf: (job: J) => number | null = (j) => j.arrayThrottle,
): { visible: J[]; held: HeldTask[] } {
  const visible: J[] = [];
  const held: HeldTask[] = [];
  const admitted = new Map<string, number>();
  for (const j of queued) {
    const cap = j.arrayId === null ? null : throttleOf(j);
    if (j.arrayId === null || cap === null) {
      visible.push(j);
      continue;
    }
    const active = activeByArray.get(j.arrayId) ?? 0;
    const shown = admitted.get(j.arrayId) ?? 0;
    if (active + shown < cap) {
      admitted.set(j.arrayId, shown + 1);
      visible.push(j);
    } else
      held.push({
        jobId: j.id,
        verdict: 'waits-for-turn',
        // Stable text (no live counts), so a held task's verdict is written once, not every cycle.
        reason: `array ${j.arrayId} runs at most ${cap} task${cap === 1 ? '' : 's'} at once (%${cap}); this task starts when one of them ends (Slurm: JobArrayTaskLimit)`,
        estimatedStart: null,
        detail: { code: 'array-throttle', array: j.arrayId, limit: cap },
      });
  }
  return { visible, held };
}
