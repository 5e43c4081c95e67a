/**
 * What goes into one scheduling cycle (a `Snapshot`) and what comes out (a `ScheduleResult`).
 *
 * Contract: a policy is a pure function of the snapshot. Time is `snapshot.now` (epoch
 * milliseconds, virtual in the simulator); there is no randomness. The same snapshot always gives
 * the same result, which is what makes the simulator and golden tests trustworthy.
 */
import type { ClusterNode, Placement, ReplicaRequest } from './resources.js';
import type { VerdictDetail } from '../verdict.js';

/** A job as the scheduler sees it. */
export interface SchedJob {
  readonly id: string;
  readonly tenant: string;
  readonly project: string;
  /** Epoch ms of submission (or of the latest requeue); first-come order among equals. */
  readonly submitTime: number;
  /** Higher runs first within a tenant. */
  readonly priority: number;
  /** Gang size: all replicas start together or none does. */
  readonly replicas: number;
  readonly perReplica: ReplicaRequest;
  /** The job's time limit in ms; null means none (it cannot be backfilled). */
  readonly timeLimitMs: number | null;
  readonly preemptible: boolean;
  /**
   * Service the job has already had, in accelerator-ms (devices × time held), over its earlier
   * attempts; absent: none. For a running job the current attempt is not included (it adds
   * (now − startTime) × devices). The `suanli` policy's attained-service ordering reads it.
   */
  readonly attainedServiceMs?: number;
  /**
   * Epoch ms of the latest preemption made for this job (a `PreemptDecision` whose `forJobId` it
   * is), while it still waits; absent: none. The devices its victims free are its claim: the
   * `suanli` policy considers it first for a grace period after they come back.
   */
  readonly claimedAt?: number | null;
}

export interface RunningSchedJob extends SchedJob {
  readonly startTime: number;
  readonly placement: Placement;
  /** Epoch ms of the job's last known checkpoint, or null if unknown/none. */
  readonly lastCheckpointTime: number | null;
  /**
   * Epoch ms when the engine asked this job to stop because a policy preempted it (SIGTERM sent,
   * grace period running), or absent/null if it has not been preempted. A policy never preempts a
   * job twice and expects its devices back by `preemptedAt + gracePeriod`.
   */
  readonly preemptedAt?: number | null;
  /**
   * The job it was preempted for (`PreemptDecision.forJobId`), while `preemptedAt` is set. Its
   * devices are promised to that job: no other job is planned onto them while it still waits.
   */
  readonly preemptedFor?: string | null;
}

/**
 * Capacity booked ahead (issue: bookings) during [startTime, endTime): `accelerators` devices of
 * `acceleratorType` that only `tenant`'s jobs may use (null: nobody, e.g. maintenance). Bookings
 * are aggregate: they are not tied to nodes until they begin.
 */
export interface ReservedWindow {
  readonly id: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly acceleratorType: string;
  readonly accelerators: number;
  readonly tenant: string | null;
}

export interface Snapshot {
  /** Epoch milliseconds. The only clock a policy may read. */
  readonly now: number;
  readonly nodes: readonly ClusterNode[];
  /** Jobs waiting to start, in any order: the policy orders them. */
  readonly pending: readonly SchedJob[];
  /** Jobs holding devices (starting or running). */
  readonly running: readonly RunningSchedJob[];
  /**
   * Decayed accelerator-seconds per tenant as of `now` (see `decayUsage`), for fair share. Absent:
   * every tenant counts as having used nothing (order falls back to weights and first-come).
   */
  readonly usage?: Readonly<Record<string, number>>;
  /** Booked windows that overlap the future; absent means none. */
  readonly windows?: readonly ReservedWindow[];
}

/** Why a job is still waiting. Stable identifiers: the API and the console show them. */
export type PendingVerdict =
  'waits-for-capacity' | 'waits-for-quota' | 'can-never-fit' | 'behind-booking' | 'waits-for-turn';

export interface StartDecision {
  readonly jobId: string;
  readonly placement: Placement;
  readonly reason: string;
}

export interface PreemptDecision {
  readonly jobId: string;
  /** The job the capacity is freed for. */
  readonly forJobId: string;
  readonly reason: string;
}

export interface PendingDecision {
  readonly jobId: string;
  readonly verdict: PendingVerdict;
  /** Human-readable and specific: which resource, how much is missing, which job is ahead. */
  readonly reason: string;
  /** Epoch ms when the job is expected to start, where computable. */
  readonly estimatedStart: number | null;
  /** The reason's times and names, structured for rendering in the reader's language; absent: none. */
  readonly detail?: VerdictDetail;
}

export interface ScheduleResult {
  readonly starts: readonly StartDecision[];
  readonly preemptions: readonly PreemptDecision[];
  /** One entry for every pending job that is not started in this cycle. */
  readonly pending: readonly PendingDecision[];
}

export interface SchedulingPolicy {
  readonly name: string;
  schedule(snapshot: Snapshot): ScheduleResult;
}
