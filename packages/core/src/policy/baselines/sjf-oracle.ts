/**
 * SJF with known durations (an ORACLE: a bound, not a policy a centre can run): pending jobs in
 * order of their true duration, shortest first; every job that fits starts (no reservation, so
 * large jobs can starve, as in Helios' SJF baseline). No preemption.
 */
import type { PendingDecision, ScheduleResult, Snapshot, StartDecision } from '../../model/scheduling.js';
import { canEverFit, freeCapacity, placeBestFit } from './best-fit.js';
import type { BaselinePolicy, JobKnowledge } from './common.js';
import { bySubmit } from './common.js';

export function createSjfOraclePolicy(knowledge: JobKnowledge): BaselinePolicy {
  return {
    name: 'sjf-oracle',
    preempts: false,
    schedule(snapshot: Snapshot): ScheduleResult {
      const cap = freeCapacity(snapshot);
      const starts: StartDecision[] = [];
      const pending: PendingDecision[] = [];
      if (cap.totalFree === 0) {
        for (const j of snapshot.pending)
          pending.push({
            jobId: j.id,
            verdict: 'waits-for-capacity',
            reason: 'SJF: no free device',
            estimatedStart: null,
          });
        return { starts, preemptions: [], pending };
      }
      const key = new Map(
        snapshot.pending.map((j) => [j.id, knowledge.progress(j.id, snapshot.now).remainingMs ?? Infinity]),
      );
      const queue = [...snapshot.pending].sort((a, b) => key.get(a.id)! - key.get(b.id)! || bySubmit(a, b));
      for (const job of queue) {
        const placement = cap.totalFree === 0 ? null : placeBestFit(job, cap);
        if (placement !== null)
          starts.push({ jobId: job.id, placement, reason: 'SJF: shortest known duration that fits' });
        else if (!canEverFit(job, snapshot.nodes))
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
            reason: 'SJF: shorter jobs first',
            estimatedStart: null,
          });
      }
      return { starts, preemptions: [], pending };
    },
  };
}
