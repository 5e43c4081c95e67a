/**
 * FIFO: jobs start strictly in submission order; the first job that does not fit blocks every job
 * behind it (no backfill, no preemption). The reference point of every scheduling paper and the
 * behaviour of a plain Slurm queue with backfill switched off.
 */
import type {
  PendingDecision,
  ScheduleResult,
  SchedJob,
  Snapshot,
  StartDecision,
} from '../../model/scheduling.js';
import { canEverFit, freeCapacity, placeBestFit } from './best-fit.js';
import type { BaselinePolicy } from './common.js';
import { bySubmit } from './common.js';

function behind(job: SchedJob): PendingDecision {
  return {
    jobId: job.id,
    verdict: 'waits-for-turn',
    reason: 'FIFO: behind an earlier job that does not fit yet',
    estimatedStart: null,
  };
}

export function createFifoPolicy(): BaselinePolicy {
  return {
    name: 'fifo',
    preempts: false,
    schedule(snapshot: Snapshot): ScheduleResult {
      const queue = [...snapshot.pending].sort(bySubmit);
      const cap = freeCapacity(snapshot);
      const starts: StartDecision[] = [];
      const pending: PendingDecision[] = [];
      let blockedBy: SchedJob | null = null;
      for (const job of queue) {
        if (blockedBy !== null) {
          pending.push(behind(job));
          continue;
        }
        const placement = placeBestFit(job, cap);
        if (placement !== null) {
          starts.push({ jobId: job.id, placement, reason: 'FIFO: first in submission order and fits' });
        } else if (!canEverFit(job, snapshot.nodes)) {
          pending.push({
            jobId: job.id,
            verdict: 'can-never-fit',
            reason: 'no set of nodes can hold this job',
            estimatedStart: null,
          });
        } else {
          blockedBy = job;
          pending.push({
            jobId: job.id,
            verdict: 'waits-for-capacity',
            reason: 'FIFO: waits for running jobs to finish',
            estimatedStart: null,
          });
        }
      }
      return { starts, preemptions: [], pending };
    },
  };
}
