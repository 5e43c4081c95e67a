/**
 * Where the scheduling policy runs: it keeps the pending side of the snapshot between cycles and
 * turns one cycle's changes into the policy's decisions.
 *
 * The engine does not hand the policy a fresh copy of the queue every cycle. It sends what changed
 * since the last cycle (jobs that became pending or changed, jobs that stopped pending), plus the
 * parts that are small and change every cycle anyway (jobs holding devices, usage, booked windows,
 * the nodes when they changed). The host applies that to the pending list it keeps, runs the
 * policy over the whole snapshot, and answers with the starts, the preemptions and only the pending
 * verdicts that differ from the ones it last reported. So a cycle over 100,000 waiting jobs moves
 * the changes, not the queue.
 *
 * Contract:
 * - After `cycle(input)`, the snapshot the policy saw is exactly: `now`, the latest nodes, every job
 *   upserted and not removed since the host was made (or since the last `reset`), the given
 *   running jobs, usage and windows. Pending jobs are in submission order (`seq`); the policy's
 *   own order does not depend on it (Snapshot.pending is "in any order").
 * - `verdicts` holds each pending decision whose (verdict, reason, estimate) differs from the last
 *   one reported for that job, or that was never reported. A job that left the pending list and
 *   comes back is reported again.
 * - Pure: no I/O and no clock, so the same host runs inline in the engine (tests, custom
 *   policies) or in a worker thread (`policy-worker.ts`), where the policy's own CPU time never
 *   delays the API.
 */
import type {
  ClusterNode,
  PendingVerdict,
  PreemptDecision,
  VerdictDetail,
  RunningSchedJob,
  SchedJob,
  SchedulingPolicy,
  Snapshot,
  StartDecision,
} from '@suanli/core';

/** A job that may start, with its submission order. */
export interface PendingEntry {
  readonly seq: number;
  readonly job: SchedJob;
}

export interface CycleInput {
  readonly now: number;
  /** The nodes as they are now; absent when unchanged since the previous cycle. */
  readonly nodes?: readonly ClusterNode[];
  readonly running: readonly RunningSchedJob[];
  readonly usage: Readonly<Record<string, number>>;
  readonly windows: NonNullable<Snapshot['windows']>;
  /** When true the host forgets its pending list first; `upserts` then holds the whole of it. */
  readonly reset?: boolean;
  /** Jobs now pending that are new or changed since the previous cycle. */
  readonly upserts: readonly PendingEntry[];
  /** Jobs no longer pending (started, cancelled, not yet eligible, or gone). */
  readonly removals: readonly string[];
}

export interface VerdictChange {
  readonly jobId: string;
  readonly verdict: PendingVerdict;
  readonly reason: string;
  readonly estimatedStart: number | null;
  readonly detail: VerdictDetail | null;
}

export interface CycleOutput {
  readonly starts: readonly StartDecision[];
  readonly preemptions: readonly PreemptDecision[];
  readonly verdicts: readonly VerdictChange[];
  /** Jobs the policy saw pending. */
  readonly pendingCount: number;
  /** Time the policy itself took (ms, monotonic clock of the thread it ran on). */
  readonly policyMs: number;
}

export class PolicyHost {
  private policy: SchedulingPolicy;
  private nodes: readonly ClusterNode[] = [];
  /** The pending list, sorted by `seqs` (parallel arrays: binary search without an object per entry). */
  private seqs: number[] = [];
  private jobs: SchedJob[] = [];
  private readonly seqOf = new Map<string, number>();
  private reported = new Map<string, string>();

  constructor(
    policy: SchedulingPolicy,
    /** Monotonic milliseconds, for `policyMs` only (a measurement, never an input to a decision). */
    private readonly elapsed: () => number,
  ) {
    this.policy = policy;
  }

  /** Replaces the policy; its verdicts are all reported again. */
  setPolicy(policy: SchedulingPolicy): void {
    this.policy = policy;
    this.reported = new Map();
  }

  get pendingCount(): number {
    return this.jobs.length;
  }

  cycle(input: CycleInput): CycleOutput {
    if (input.nodes !== undefined) this.nodes = input.nodes;
    if (input.reset === true) {
      this.seqs = [];
      this.jobs = [];
      this.seqOf.clear();
    }
    this.remove(input.removals);
    for (const e of input.upserts) this.upsert(e);

    const t0 = this.elapsed();
    const result = this.policy.schedule({
      now: input.now,
      nodes: this.nodes,
      pending: this.jobs,
      running: input.running,
      usage: input.usage,
      windows: input.windows,
    });
    const policyMs = this.elapsed() - t0;

    const verdicts: VerdictChange[] = [];
    const reported = new Map<string, string>();
    for (const p of result.pending) {
      const key = `${p.verdict}\u0000${p.reason}\u0000${p.estimatedStart ?? ''}`;
      reported.set(p.jobId, key);
      if (this.reported.get(p.jobId) !== key)
        verdicts.push({
          jobId: p.jobId,
          verdict: p.verdict,
          reason: p.reason,
          estimatedStart: p.estimatedStart,
          detail: p.detail ?? null,
        });
    }
    this.reported = reported;
    return {
      starts: result.starts,
      preemptions: result.preemptions,
      verdicts,
      pendingCount: this.jobs.length,
      policyMs,
    };
  }

  private upsert(e: PendingEntry): void {
    const known = this.seqOf.get(e.job.id);
    if (known !== undefined) {
      const i = this.indexOf(known);
      if (this.seqs[i] === known) {
        this.jobs[i] = e.job;
        return;
      }
    }
    this.seqOf.set(e.job.id, e.seq);
    const last = this.seqs[this.seqs.length - 1];
    if (last === undefined || e.seq > last) {
      // The common case: a new submission, the newest job so far.
      this.seqs.push(e.seq);
      this.jobs.push(e.job);
      return;
    }
    const i = this.indexOf(e.seq);
    this.seqs.splice(i, 0, e.seq);
    this.jobs.splice(i, 0, e.job);
  }

  private remove(ids: readonly string[]): void {
    const gone = new Set<number>();
    for (const id of ids) {
      const seq = this.seqOf.get(id);
      if (seq === undefined) continue;
      this.seqOf.delete(id);
      gone.add(seq);
    }
    if (gone.size === 0) return;
    // One pass over the list, however many left.
    let w = 0;
    for (let r = 0; r < this.seqs.length; r++) {
      const seq = this.seqs[r] as number;
      if (gone.has(seq)) continue;
      this.seqs[w] = seq;
      this.jobs[w] = this.jobs[r] as SchedJob;
      w++;
    }
    this.seqs.length = w;
    this.jobs.length = w;
  }

  /** The first index whose seq is >= `seq`. */
  private indexOf(seq: number): number {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.seqs[mid] as number) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
