/**
 * What the baseline policies share: the knowledge some of them are given about jobs (durations,
 * progress) and the shape of their decisions.
 *
 * The baselines are the policies suanli is compared against in the simulator: FIFO,
 * EASY backfill, SJF and SRTF with known durations (bounds, not competitors) and Tiresias
 * (2D-LAS). Each is a `SchedulingPolicy` of the core, so the simulator runs them through the same
 * contract as the `suanli` policy.
 */
import type {
  PendingDecision,
  PendingVerdict,
  SchedJob,
  SchedulingPolicy,
  Snapshot,
} from '../../model/scheduling.js';
import { diffByIdentity } from '../diff.js';

/** How much a job has run so far, as the platform's accounting (or the simulator) knows it. */
export interface JobProgress {
  /** Wall time the job has held its devices over all its attempts, ms (restart overhead included). */
  readonly attainedMs: number;
  /** Work still to do, ms (restart overhead of the next attempt not included); null if unknown. */
  readonly remainingMs: number | null;
  /** Epoch ms since when the job has been waiting (submission, or its latest preemption). */
  readonly waitingSinceMs: number;
  /** Length of the job's latest attempt, ms; 0 if it never ran. */
  readonly lastRunMs: number;
  /**
   * For a running job, with `JobKnowledge.steady`: the answer at any time `t` of the attempt is
   * attainedMs = attainedBeforeMs + (t − runStartMs) and
   * remainingMs = remainingBeforeMs − max(0, t − workStartMs) (the restart overhead ends at
   * workStartMs), so a policy can compute it without asking.
   */
  readonly steadyRun?: {
    readonly runStartMs: number;
    readonly attainedBeforeMs: number;
    readonly workStartMs: number;
    readonly remainingBeforeMs: number;
  };
}

/**
 * Knowledge about jobs that is not in the snapshot. Oracle policies (SJF, SRTF) are given the true
 * durations: they are bounds, not policies a real centre could run. Tiresias is given attained
 * service, which a real deployment reads from its metering.
 *
 * Contract: answers must depend only on the job and `now`, so that a policy stays a deterministic
 * function of (snapshot, knowledge); a policy may keep an answer for one job object and `now`.
 */
export interface JobKnowledge {
  progress(jobId: string, now: number): JobProgress;
  /**
   * A promise that lets a policy ask less often (the simulator makes it; absent: ask every cycle).
   * While one job OBJECT stays in the snapshot's `pending`, its progress does not change; while one
   * running-job object stays in `running`, its answers follow `JobProgress.steadyRun` (given with
   * each of them) and `waitingSinceMs`, `lastRunMs` do not change. A job that starts, stops or
   * changes is a new object.
   */
  readonly steady?: boolean;
}

/**
 * A baseline policy. `preempts` tells the simulator whether a cycle with no free device can still
 * change anything; `nextWakeMs` is the next time the policy wants a cycle although no job arrives
 * or ends (Tiresias' queue boundaries), or null.
 */
export interface BaselinePolicy extends SchedulingPolicy {
  readonly preempts: boolean;
  nextWakeMs?(snapshot: Snapshot): number | null;
}

/** Ties broken by submission, then id, so every order is total and stable. */
export function bySubmit(a: SchedJob, b: SchedJob): number {
  return a.submitTime - b.submitTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Pending decisions for jobs that were not reached or did not fit. */
export function waiting(
  jobs: readonly SchedJob[],
  verdict: PendingVerdict,
  reason: string,
  out: PendingDecision[],
): void {
  for (const j of jobs) out.push({ jobId: j.id, verdict, reason, estimatedStart: null });
}

/**
 * How a snapshot array was made from the previous one, for whoever keeps state per job between
 * cycles: `from` with `added` appended, then, in order, each `olds[k]` taken out (`news[k]` null)
 * or replaced in place by `news[k]`. The simulator notes it for the arrays it builds; without it a
 * policy compares the arrays (`arrayDelta`).
 */
export interface ArrayDerivation<T> {
  readonly from: readonly T[];
  readonly added: readonly T[];
  readonly olds: readonly T[];
  readonly news: readonly (T | null)[];
}

const derivations = new WeakMap<readonly unknown[], ArrayDerivation<unknown>>();

/** Records how `arr` was made (only the latest step of a chain is kept: no old arrays pile up). */
export function noteDerivation<T>(arr: readonly T[], d: ArrayDerivation<T>): void {
  derivations.delete(d.from);
  derivations.set(arr, d as ArrayDerivation<unknown>);
}

export function derivationOf<T>(arr: readonly T[]): ArrayDerivation<T> | undefined {
  return derivations.get(arr) as ArrayDerivation<T> | undefined;
}

/**
 * `cur` as `prev` less `removed` plus `added` (as multisets): from `cur`'s derivation when it was
 * made from `prev`, else by the identity diff (exact for any two arrays, linear when `cur` is
 * `prev` with entries dropped, replaced or appended).
 */
export function arrayDelta<T>(prev: readonly T[], cur: readonly T[]): { removed: T[]; added: T[] } {
  const removed: T[] = [];
  const added: T[] = [];
  if (prev === cur) return { removed, added };
  const d = derivationOf(cur);
  if (d !== undefined && d.from === prev) {
    for (const x of d.added) added.push(x);
    for (let k = 0; k < d.olds.length; k++) {
      const old = d.olds[k]!;
      const i = added.indexOf(old);
      if (i >= 0) added.splice(i, 1);
      else removed.push(old);
      const x = d.news[k];
      if (x !== undefined && x !== null) added.push(x);
    }
    return { removed, added };
  }
  return diffByIdentity(prev, cur);
}
