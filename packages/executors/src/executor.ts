/**
 * The Executor: runs job attempts somewhere (local processes, Slurm) and reports what became of
 * them. The engine decides *what* runs *where* (the core's placement); an executor only carries it
 * out, pinned to exactly the devices it was given. One contract suite runs against every executor.
 *
 * Contract:
 * - `launch` returns once the attempt has been handed to the backend, with a `ref` the engine
 *   stores durably. It must not block until the job finishes.
 * - Exactly one `exited` event is delivered per launched attempt (unless the engine calls `close`
 *   first), after its `running` event if it got that far.
 * - `recover` is called after a restart with the refs the engine stored; for each it answers
 *   whether the attempt still runs (and then keeps watching it), finished (with its exit code), or
 *   cannot be found (`lost`). It must never report `running` for an attempt it cannot prove is
 *   the one that was launched (PID reuse, a different Slurm job).
 * - `cancel` sends `signal` (default SIGTERM; a job's `checkpoint.signal` asks it to checkpoint) to
 *   every replica, waits up to `graceMs`, then kills.
 */
import type { ClusterNode, JobSpec, Placement } from '@suanli/core';

export interface LaunchRequest {
  readonly jobId: string;
  readonly jobName: string;
  readonly tenant: string;
  readonly project: string;
  readonly attempt: number;
  readonly spec: JobSpec;
  readonly placement: Placement;
  /** The nodes named in the placement, to resolve device ids into indices/UUIDs. */
  readonly nodes: readonly ClusterNode[];
  /** Directory for this attempt's stdout/stderr logs (created by the executor). */
  readonly logDir: string;
  /**
   * The Unix account the operator mapped the submitting subject to (`suanli member set … --unix-user`),
   * or null: the tenant's own account (`tenantAccountName`). An executor that confines jobs runs
   * every replica as this account; one that cannot (a server not running as root) runs them as
   * its own and says so through `confinement()`.
   */
  readonly unixUser: string | null;
  /**
   * The job's checkpoint directory (`SUANLI_CHECKPOINT_DIR`): the same path for every replica and
   * every attempt, created by the engine, kept after the job ends. Absent: none is offered.
   */
  readonly checkpointDir?: string | null;
  /** The job array this job is a task of (its id and this task's index); absent or null: none. */
  readonly array?: { readonly id: string; readonly index: number } | null;
}

/** What an attempt used, read from its cgroup (like `sacct`'s MaxRSS and TotalCPU); null: unknown. */
export interface AttemptResources {
  /** Peak memory of the attempt (the largest replica's, bytes). */
  readonly peakMemoryBytes: number | null;
  /** CPU time of all its processes together (user + system), ms. */
  readonly cpuTimeMs: number | null;
}

/** A limit the backend enforced that ended the attempt. */
export type LimitExceeded = 'out-of-memory';

/** Whether the executor fences jobs (identity, files, processes, devices, resources), in words. */
export interface Confinement {
  readonly confined: boolean;
  /** One line for operators: what is fenced, or why nothing is. */
  readonly detail: string;
}

export type ExecutionEvent =
  | { readonly kind: 'running'; readonly jobId: string; readonly attempt: number; readonly at: number }
  | {
      readonly kind: 'exited';
      readonly jobId: string;
      readonly attempt: number;
      readonly at: number;
      /** Process exit code, or null when killed by a signal. */
      readonly exitCode: number | null;
      readonly signal: string | null;
      /** Set when the backend itself ended the job (e.g. `node-failure`), otherwise null. */
      readonly backendReason: string | null;
      /** Set when an enforced limit ended it (the job's fault: it fails, it is not lost). */
      readonly limit?: LimitExceeded | null;
      readonly resources?: AttemptResources | null;
      /** The replica whose end decided the attempt's (the first to fail), where the backend knows it. */
      readonly replica?: number | null;
    };

export type RecoveryResult =
  | { readonly jobId: string; readonly status: 'running' }
  | {
      readonly jobId: string;
      readonly status: 'exited';
      readonly exitCode: number | null;
      readonly signal: string | null;
      readonly at: number;
      readonly limit?: LimitExceeded | null;
      readonly resources?: AttemptResources | null;
    }
  | { readonly jobId: string; readonly status: 'lost'; readonly reason: string };

export interface LogPaths {
  readonly stdout: string;
  readonly stderr: string;
}

/** `stdout.log` for replica 0, `stdout.<r>.log` for replica r: the per-replica log naming of every executor. */
export function replicaLogPaths(attemptPaths: LogPaths, rank: number): LogPaths {
  if (rank === 0) return attemptPaths;
  const at = (p: string): string => p.replace(/\.log$/, `.${rank}.log`);
  return { stdout: at(attemptPaths.stdout), stderr: at(attemptPaths.stderr) };
}

/** Capacity held by work the platform did not start (e.g. Slurm jobs submitted outside suanli). */
export interface ExternalAllocation {
  /** Backend identity of the foreign work, for display (`slurm:1234`). */
  readonly ref: string;
  readonly placement: Placement;
  /** Epoch ms when the foreign work is expected to end, if the backend knows (its time limit). */
  readonly expectedEnd: number | null;
}

export interface Executor {
  readonly name: string;
  /** The nodes and accelerators this executor can run on. */
  discover(): Promise<ClusterNode[]>;
  /**
   * Devices held by work outside the platform. The engine treats them as occupied so they are
   * never double-booked. Executors that own their machine outright (local) may omit this.
   */
  externalUsage?(): Promise<ExternalAllocation[]>;
  launch(req: LaunchRequest): Promise<{ ref: string }>;
  cancel(jobId: string, ref: string, graceMs: number, signal?: NodeJS.Signals): Promise<void>;
  recover(
    attempts: readonly { jobId: string; attempt: number; ref: string; logDir: string }[],
  ): Promise<RecoveryResult[]>;
  /** Where an attempt's logs are (local paths; the Slurm executor copies or points at shared storage). */
  logPaths(jobId: string, attempt: number, logDir: string): LogPaths;
  /**
   * Where replica `rank` writes, for executors that keep one log per replica (`replicaLogPaths`);
   * absent: every replica writes to `logPaths`.
   */
  replicaLogPaths?(jobId: string, attempt: number, logDir: string, rank: number): LogPaths;
  onEvent(listener: (e: ExecutionEvent) => void): void;
  /** Whether jobs are fenced; shown at start-up and in `suanli nodes`. Absent: not confined. */
  confinement?(): Confinement;
  /** Stops watching; does NOT kill running jobs (they are recovered after a restart). */
  close(): Promise<void>;
}
