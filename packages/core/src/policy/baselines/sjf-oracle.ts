/**
 * SJF with known durations (an ORACLE: a bound, not a policy a centre can run): pending jobs in
 * order of their true duration, shortest first; every job that fits starts (no reservation, so
 * large jobs can starve, as in Helios' SJF baseline). No preemption.
 *
 * Speed: the queue is kept in the previous cycle's order and re-sorted with fresh keys (nearly
 * sorted already, which the sort exploits); a job larger than any node's free devices is passed
 * over without trying its placement; the pending decisions are built only if read. The answer is
 * the same as the plain computation's.
 */
import type {
  PendingDecision,
  ScheduleResult,
  SchedJob,
  Snapshot,
  StartDecision,
} from '../../model/scheduling.js';
import { canEverFit, freeCapacity, placeBestFit } from './best-fit.js';
import type { BaselinePolicy, JobKnowledge } from './common.js';
import { arrayDelta, bySubmit } from './common.js';
import { lazyResult } from './queue.js';

interface Keyed {
  readonly job: SchedJob;
  key: number;
}

export function createSjfOraclePolicy(knowledge: JobKnowledge): BaselinePolicy {
  let seen: readonly SchedJob[] = [];
  let queue: Keyed[] = [];
  return {
    name: 'sjf-oracle',
    preempts: false,
    schedule(snapshot: Snapshot): ScheduleResult {
      const cap = freeCapacity(snapshot);
      const starts: StartDecision[] = [];
      if (cap.totalFree === 0) {
        return lazyResult(starts, [], () =>
          snapshot.pending.map((j) => ({
            jobId: j.id,
            verdict: 'waits-for-capacity',
            reason: 'SJF: no free device',
            estimatedStart: null,
          })),
        );
      }
      // The waiting jobs in the previous order (the jobs that left dropped, new ones appended).
      const { removed, added } = arrayDelta(seen, snapshot.pending);
      seen = snapshot.pending;
      if (removed.length > 0) {
        const gone = new Set(removed);
        queue = queue.filter((e) => !gone.delete(e.job)); // one entry per removed object
      }
      for (const job of added) queue.push({ job, key: 0 });
      for (const e of queue) e.key = knowledge.progress(e.job.id, snapshot.now).remainingMs ?? Infinity;
      queue.sort((a, b) => a.key - b.key || bySubmit(a.job, b.job));
      const order = queue.map((e) => e.job);
      const started = new Set<SchedJob>();
      // Most free devices on one schedulable node: a replica needing more cannot be placed.
      let most = 0;
      const measure = (): void => {
        most = 0;
        for (const f of cap.nodes) if (f.schedulable && f.free.length > most) most = f.free.length;
      };
      measure();
      for (const job of order) {
        if (cap.totalFree === 0) break;
        const per = job.perReplica;
        if (per.acceleratorTypes.length === 0 && per.accelerators > most) continue;
        const placement = placeBestFit(job, cap);
        if (placement !== null) {
          starts.push({ jobId: job.id, placement, reason: 'SJF: shortest known duration that fits' });
          started.add(job);
          measure();
        }
      }
      return lazyResult(starts, [], () => {
        const pending: PendingDecision[] = [];
        for (const job of order) {
          if (started.has(job)) continue;
          pending.push(
            canEverFit(job, snapshot.nodes)
              ? {
                  jobId: job.id,
                  verdict: 'waits-for-capacity',
                  reason: 'SJF: shorter jobs first',
                  estimatedStart: null,
                }
              : {
                  jobId: job.id,
                  verdict: 'can-never-fit',
                  reason: 'no set of nodes can hold this job',
                  estimatedStart: null,
                },
          );
        }
        return pending;
      });
    },
  };
}
