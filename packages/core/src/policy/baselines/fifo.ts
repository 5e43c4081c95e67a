/**
 * FIFO: jobs start strictly in submission order; the first job that does not fit blocks every job
 * behind it (no backfill, no preemption). The reference point of every scheduling paper and the
 * behaviour of a plain Slurm queue with backfill switched off.
 *
 * Speed: the queue's order is kept between cycles (`SubmitOrder`), a cycle only walks it up to the
 * first job that does not fit, and the pending decisions for the jobs behind are built only if read
 * (`lazyResult`). The answer is the same as sorting and walking the whole queue.
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
import { lazyResult, SubmitOrder } from './queue.js';

function behind(job: SchedJob): PendingDecision {
  return {
    jobId: job.id,
    verdict: 'waits-for-turn',
    reason: 'FIFO: behind an earlier job that does not fit yet',
    estimatedStart: null,
  };
}

/** The pending decisions of a cycle that started `started`: every other job, in submission order. */
function fifoPending(snapshot: Snapshot, started: ReadonlySet<SchedJob>): PendingDecision[] {
  const pending: PendingDecision[] = [];
  let blocked = false;
  for (const job of [...snapshot.pending].sort(bySubmit)) {
    if (blocked) pending.push(behind(job));
    else if (started.has(job)) continue;
    else if (!canEverFit(job, snapshot.nodes)) {
      pending.push({
        jobId: job.id,
        verdict: 'can-never-fit',
        reason: 'no set of nodes can hold this job',
        estimatedStart: null,
      });
    } else {
      // the first job that can fit but was not started is the one that blocks the queue
      blocked = true;
      pending.push({
        jobId: job.id,
        verdict: 'waits-for-capacity',
        reason: 'FIFO: waits for running jobs to finish',
        estimatedStart: null,
      });
    }
  }
  return pending;
}

export function createFifoPolicy(): BaselinePolicy {
  const order = new SubmitOrder();
  return {
    name: 'fifo',
    preempts: false,
    schedule(snapshot: Snapshot): ScheduleResult {
      const queue = order.sync(snapshot.pending);
      const cap = freeCapacity(snapshot);
      const starts: StartDecision[] = [];
      const started = new Set<SchedJob>();
      for (const job of queue) {
        const placement = placeBestFit(job, cap);
        if (placement !== null) {
          starts.push({ jobId: job.id, placement, reason: 'FIFO: first in submission order and fits' });
          started.add(job);
        } else if (canEverFit(job, snapshot.nodes)) break; // blocks every job behind it
      }
      return lazyResult(starts, [], () => fifoPending(snapshot, started));
    },
  };
}
