/**
 * The Slurm executor: runs the platform's jobs on an existing Slurm cluster through slurmrestd.
 *
 * The platform's core decides placement; this executor submits each attempt as ONE Slurm batch job
 * pinned to the chosen nodes with the same per-node accelerator count (script.ts), then follows it
 * by polling `GET /jobs` (one request per poll for all jobs, so the cost does not grow with the
 * number of jobs watched). Inventory comes from `GET /nodes` (mapping.ts). Jobs Slurm runs for
 * others show up in `externalUsage()` so the platform never double-books their devices.
 *
 * Identity: the `ref` is `<Slurm job id>@<submit time>` (epoch s), what slurmctld assigned and
 * the job's owner cannot change. (Slurm job ids restart at 1 when slurmctld's state is wiped; the
 * submit time tells such a new job from ours.) Every job also carries the comment
 * `<tag> job=<id> attempt=<n>`, but only as a hint: the job runs as the tenant's account, and its
 * owner may rewrite its comment and name (`scontrol update job … comment=…`). A watched job is
 * followed by its id and submit time whatever its comment says, so it can neither hide from time
 * limits, metering and cancel nor pass for capacity of someone else's (`externalUsage`). The
 * comment is used only to find an attempt after a restart when the stored id is gone or the ref is
 * of the older form (a bare job id), where it must name the same attempt.
 *
 * Accounts: every replica runs as the mapped Unix account (accounts.ts), submitted as that user
 * with the platform's root/SlurmUser token, and is fenced by the cluster's cgroup plugins.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterNode } from '@suanli/core';
import type {
  Confinement,
  ExecutionEvent,
  Executor,
  ExternalAllocation,
  LaunchRequest,
  LimitExceeded,
  LogPaths,
  RecoveryResult,
} from '../executor.js';
import { prepareJobDir, resolveJobAccount, type JobAccount } from './accounts.js';
import { SLURM_ERRNO, SlurmApiError, SlurmRestClient, type SlurmJob, type SlurmNode } from './client.js';
import {
  clusterNodeOf,
  gresForType,
  jobOutcomeOf,
  jobPhaseOf,
  jobPlacementOf,
  type AcceleratorMapping,
} from './mapping.js';
import { REPLICA_EXIT_FILE, buildSlurmJob, firstFailedReplica, parseJobComment } from './script.js';
import { resolveSlurmOptions, type SlurmExecutorOptions, type ResolvedSlurmOptions } from './options.js';

interface Tracked {
  readonly jobId: string;
  readonly attempt: number;
  readonly slurmId: number;
  /** The attempt's log directory (shared storage): where the replicas record how they ended. */
  readonly logDir: string;
  /** Slurm's submit time (epoch s) of the job: with the id, its identity. Null until first seen. */
  submitTime: number | null;
  runningSent: boolean;
  cancelRequested: boolean;
  /** Consecutive polls that did not find the job. */
  misses: number;
  /**
   * Earliest time an event may carry (epoch ms): the launch, then the running event. Slurm's times
   * are whole seconds, so without this a job could seem to start before it was launched.
   */
  notBefore: number;
}

/** Polls in a row a watched job may be missing from `GET /jobs` before it is reported lost. */
const MISSING_POLLS_BEFORE_LOST = 3;

/** A Slurm job's identity as stored in a ref; `submitTime` null for refs of the older form (bare id). */
export interface SlurmRef {
  readonly slurmId: number;
  readonly submitTime: number | null;
}

/**
 * Whether `j` is the submission a ref recorded with `submitTime`. Slurm resets the submit time when
 * it requeues a job (a node failure), so a requeued job (`restart_cnt` > 0) with the same id is
 * still ours; the platform then ends it as a node failure (jobPhaseOf: `requeued`).
 */
export function sameSubmission(j: SlurmJob, submitTime: number): boolean {
  return j.submit_time === submitTime || (j.restart_cnt ?? 0) > 0;
}

export function formatSlurmRef(r: SlurmRef): string {
  return r.submitTime === null ? String(r.slurmId) : `${r.slurmId}@${r.submitTime}`;
}

/** `1234@1795882218` or `1234`; null when `ref` is neither. */
export function parseSlurmRef(ref: string): SlurmRef | null {
  const m = /^([1-9][0-9]{0,9})(?:@([0-9]{1,12}))?$/.exec(ref);
  if (m === null || m[1] === undefined) return null;
  return { slurmId: Number(m[1]), submitTime: m[2] === undefined ? null : Number(m[2]) };
}

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  readonly client: SlurmRestClient;
  private readonly o: ResolvedSlurmOptions;
  private readonly mapping: AcceleratorMapping;
  private readonly listeners: ((e: ExecutionEvent) => void)[] = [];
  private readonly tracked = new Map<number, Tracked>();
  private nodeCache = new Map<string, SlurmNode>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private closed = false;

  constructor(options: SlurmExecutorOptions) {
    this.o = resolveSlurmOptions(options);
    this.mapping = this.o.acceleratorMapping;
    this.client = new SlurmRestClient({
      url: this.o.url,
      auth: this.o.auth,
      requestTimeoutMs: this.o.requestTimeoutMs,
      now: this.o.now,
    });
  }

  onEvent(listener: (e: ExecutionEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: ExecutionEvent): void {
    for (const l of this.listeners) l(e);
  }

  private async refreshNodes(): Promise<SlurmNode[]> {
    const all = await this.client.nodes();
    const mine =
      this.o.partition === null ? all : all.filter((n) => (n.partitions ?? []).includes(this.o.partition!));
    if (mine.length === 0 && all.length > 0) {
      const seen = [...new Set(all.flatMap((n) => n.partitions ?? []))].sort();
      throw new Error(
        `Slurm partition "${this.o.partition}" has no nodes; the cluster's partitions are: ${seen.join(', ')} (--slurm-partition)`,
      );
    }
    this.nodeCache = new Map(mine.map((n) => [n.name, n]));
    return mine;
  }

  async discover(): Promise<ClusterNode[]> {
    return (await this.refreshNodes()).map((n) => clusterNodeOf(this.mapping, n));
  }

  /**
   * Running Slurm jobs the platform did not start. A job it watches is never one of them, whatever
   * its comment now says (its owner can change that); a job carrying the platform's tag that it does
   * not watch (yet: before `recover`) is not counted either.
   */
  async externalUsage(): Promise<ExternalAllocation[]> {
    const jobs = await this.client.jobs();
    const out: ExternalAllocation[] = [];
    for (const j of jobs) {
      if (jobPhaseOf(j) !== 'running') continue;
      if (this.isTracked(j) || parseJobComment(this.o.tag, j.comment) !== null) continue;
      const limited = typeof j.time_limit === 'number' && j.time_limit > 0 && j.time_limit < 0xfffffffe;
      out.push({
        ref: `slurm:${j.job_id}`,
        placement: jobPlacementOf(this.mapping, j),
        expectedEnd: limited && j.end_time ? j.end_time * 1000 : null,
      });
    }
    return out;
  }

  /** Whether `j` is a job this executor watches: same id, and the submit time it was seen with. */
  private isTracked(j: SlurmJob): boolean {
    const t = this.tracked.get(j.job_id);
    return t !== undefined && (t.submitTime === null || sameSubmission(j, t.submitTime));
  }

  confinement(): Confinement {
    if (!this.client.canActAsUser)
      return {
        confined: false,
        detail:
          "Slurm over rest_auth/local: every job runs as slurmrestd's own user, not the tenant's account; use JWT auth (--slurm-jwt-key) to run each job as its account",
      };
    return {
      confined: true,
      detail:
        "Slurm's cgroup plugins fence each job (proctrack/cgroup, task/cgroup: memory, devices, cores, as the cluster's cgroup.conf sets them); " +
        `every replica runs as its --unix-user mapping or the tenant's account sl-<tenant>, submitted as that user with ${this.o.auth.kind === 'local' ? '' : this.o.auth.user}'s token (X-SLURM-USER-NAME)`,
    };
  }

  async launch(req: LaunchRequest): Promise<{ ref: string }> {
    if (this.closed) throw new Error('slurm executor is closed');
    const serverIsRoot = process.getuid?.() === 0;
    // With rest_auth/local the job runs as slurmrestd's user whatever we ask (confinement says so).
    const account: JobAccount | null = this.client.canActAsUser
      ? await resolveJobAccount(req, undefined, serverIsRoot)
      : null;
    const missing = req.placement.some((p) => !this.nodeCache.has(p.node));
    if (missing) await this.refreshNodes();
    const built = buildSlurmJob(req, {
      partition: this.o.partition,
      account: this.o.account,
      tag: this.o.tag,
      baseEnv: this.o.baseEnv,
      rendezvousPortBase: this.o.rendezvousPortBase,
      rendezvousPortSpan: this.o.rendezvousPortSpan,
      gresFor: (node, type) => gresForType(this.mapping, this.nodeCache.get(node), type),
      addressOf: (node, name) => node?.labels['slurm.address'] ?? this.nodeCache.get(name)?.address ?? name,
    });
    // The log and checkpoint directories must be on storage the compute nodes share with the platform.
    prepareJobDir(req.logDir, account, serverIsRoot);
    if (req.checkpointDir) prepareJobDir(req.checkpointDir, account, serverIsRoot);
    const launchedAt = this.o.now();
    let slurmId: number;
    try {
      slurmId = await this.client.submit(built.script, built.job, account?.name);
    } catch (e) {
      if (
        account !== null &&
        e instanceof SlurmApiError &&
        e.httpStatus >= 500 &&
        e.codes.every((c) => c === -1)
      )
        throw new SlurmApiError(
          `${e.message}; submitting as Unix account "${account.name}": the platform's Slurm user must be root or SlurmUser to submit as another user, and the account must exist on slurmctld's host and on every node`,
          e.httpStatus,
          e.errors,
          e.body,
        );
      throw e;
    }
    // The submit time completes the job's identity (see the top of this file). Should slurmrestd
    // fail to answer now, the ref is the bare id and the first poll records the submit time.
    const submitTime = await this.client
      .job(slurmId)
      .then((j) => (j !== null && j.job_id === slurmId ? (j.submit_time ?? null) : null))
      .catch(() => null);
    this.track({
      jobId: req.jobId,
      attempt: req.attempt,
      slurmId,
      logDir: req.logDir,
      submitTime,
      runningSent: false,
      cancelRequested: false,
      misses: 0,
      notBefore: launchedAt,
    });
    return { ref: formatSlurmRef({ slurmId, submitTime }) };
  }

  private track(t: Tracked): void {
    this.tracked.set(t.slurmId, t);
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.timer !== null || this.closed || this.tracked.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.polling = this.pollOnce()
        .catch(() => undefined) // slurmrestd unreachable: try again next interval, state is in Slurm
        .finally(() => {
          this.polling = null;
          this.schedulePoll();
        });
    }, this.o.pollIntervalMs);
  }

  /** One poll: fetch all jobs once and advance every watched attempt. Exposed for tests and benchmarks. */
  async pollOnce(): Promise<void> {
    if (this.tracked.size === 0) return;
    const jobs = await this.client.jobs();
    const byId = new Map(jobs.map((j) => [j.job_id, j]));
    for (const t of [...this.tracked.values()]) {
      const j = byId.get(t.slurmId);
      // By id and submit time only: the comment is the job owner's to change (top of this file).
      if (j !== undefined && t.submitTime === null) t.submitTime = j.submit_time ?? null;
      if (j === undefined || (t.submitTime !== null && !sameSubmission(j, t.submitTime))) {
        if (++t.misses >= MISSING_POLLS_BEFORE_LOST)
          this.finish(
            t,
            { exitCode: null, signal: null, backendReason: 'vanished-from-slurm' },
            this.o.now(),
          );
        continue;
      }
      t.misses = 0;
      this.advance(t, j);
    }
  }

  private advance(t: Tracked, j: SlurmJob): void {
    const phase = jobPhaseOf(j);
    const ran = (j.batch_host ?? '') !== '' || (j.start_time ?? 0) > 0;
    const startedAt = (): number =>
      Math.max(t.notBefore, (j.start_time ?? 0) > 0 ? j.start_time! * 1000 : this.o.now());
    if (phase === 'running' && !t.runningSent) {
      t.runningSent = true;
      t.notBefore = startedAt();
      this.emit({ kind: 'running', jobId: t.jobId, attempt: t.attempt, at: t.notBefore });
    } else if (phase === 'finished') {
      if (!t.runningSent && ran && (j.job_state ?? '') !== 'CANCELLED') {
        t.runningSent = true;
        t.notBefore = startedAt();
        this.emit({ kind: 'running', jobId: t.jobId, attempt: t.attempt, at: t.notBefore });
      }
      const o = jobOutcomeOf(j, t.cancelRequested);
      this.finish(t, o, Math.max(t.notBefore, (j.end_time ?? 0) > 0 ? j.end_time! * 1000 : this.o.now()));
    } else if (phase === 'requeued') {
      // Slurm requeued the job after a node failure (the default for batch jobs): for the
      // platform this attempt is over; stop Slurm from running it a second time.
      void this.client.signal(t.slurmId).catch(() => undefined);
      this.finish(
        t,
        { exitCode: null, signal: null, backendReason: 'node-failure' },
        Math.max(t.notBefore, this.o.now()),
      );
    }
  }

  private finish(
    t: Tracked,
    o: {
      exitCode: number | null;
      signal: string | null;
      backendReason: string | null;
      limit?: LimitExceeded | null;
    },
    at: number,
  ): void {
    if (!this.tracked.delete(t.slurmId)) return;
    const failed = o.backendReason === null && (o.exitCode !== 0 || o.signal !== null);
    const replica = failed ? failedReplicaOf(t.logDir) : null;
    this.emit({
      kind: 'exited',
      ...(replica !== null ? { replica } : {}),
      jobId: t.jobId,
      attempt: t.attempt,
      at,
      exitCode: o.exitCode,
      signal: o.signal,
      backendReason: o.backendReason,
      limit: o.limit ?? null,
      // Peak memory and CPU time would come from Slurm's accounting (sacct/sstat through
      // slurmdbd); slurmrestd's v0.0.38 job records do not carry them, so they stay unknown.
      resources: null,
    });
  }

  async cancel(
    jobId: string,
    ref: string,
    graceMs: number,
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<void> {
    const r = parseSlurmRef(ref);
    if (r === null) throw new Error(`job ${jobId}: "${ref}" is not a Slurm job ref`);
    const id = r.slurmId;
    const t = this.tracked.get(id);
    if (t !== undefined) t.cancelRequested = true;
    const j = await this.client.job(id);
    if (j === null || jobPhaseOf(j) === 'finished') return;
    if (t === undefined || !this.isTracked(j)) {
      if (!this.refNames(r, j, jobId, null))
        throw new Error(`job ${jobId}: Slurm job ${id} belongs to someone else; not cancelling it`);
    }
    const ignoreGone = (e: unknown): void => {
      if (e instanceof SlurmApiError && (e.has(SLURM_ERRNO.invalidJobId) || e.has(SLURM_ERRNO.alreadyDone)))
        return;
      throw e;
    };
    if (jobPhaseOf(j) === 'running' && graceMs > 0) {
      await this.client.signal(id, signal).catch(ignoreGone);
      if (await this.waitFinished(id, graceMs)) return;
    }
    await this.client.signal(id).catch(ignoreGone);
    await this.waitFinished(id, this.o.killWaitMs);
  }

  private async waitFinished(id: number, ms: number): Promise<boolean> {
    const deadline = this.o.now() + ms;
    for (;;) {
      const j = await this.client.job(id);
      if (j === null || jobPhaseOf(j) === 'finished') return true;
      if (this.o.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, deadline - this.o.now()))));
    }
  }

  /**
   * Whether Slurm job `j` is the one `r` was stored for: same id and submit time; for a bare-id ref
   * (older form) the comment must name the attempt (`attempt` null: any attempt of `jobId`).
   */
  private refNames(r: SlurmRef, j: SlurmJob, jobId: string, attempt: number | null): boolean {
    if (j.job_id !== r.slurmId) return false;
    if (r.submitTime !== null) return sameSubmission(j, r.submitTime);
    const c = parseJobComment(this.o.tag, j.comment);
    return c !== null && c.jobId === jobId && (attempt === null || c.attempt === attempt);
  }

  async recover(
    attempts: readonly { jobId: string; attempt: number; ref: string; logDir: string }[],
  ): Promise<RecoveryResult[]> {
    const jobs = await this.client.jobs();
    const byId = new Map(jobs.map((j) => [j.job_id, j]));
    const byTag = new Map<string, SlurmJob>();
    for (const j of jobs) {
      const c = parseJobComment(this.o.tag, j.comment);
      // Newest wins: a higher job id is a later submission of the same attempt tag.
      if (c !== null) {
        const k = `${c.jobId}#${c.attempt}`;
        if ((byTag.get(k)?.job_id ?? -1) < j.job_id) byTag.set(k, j);
      }
    }
    const out: RecoveryResult[] = [];
    for (const a of attempts) {
      const r = parseSlurmRef(a.ref);
      let j: SlurmJob | undefined = r === null ? undefined : byId.get(r.slurmId);
      // The stored id and submit time decide; the comment (a hint) only when they find nothing.
      if (j === undefined || r === null || !this.refNames(r, j, a.jobId, a.attempt))
        j = byTag.get(`${a.jobId}#${a.attempt}`);
      if (j === undefined) {
        out.push({
          jobId: a.jobId,
          status: 'lost',
          reason: `Slurm has no job ${a.ref} for attempt ${a.attempt} (it ended more than MinJobAge ago, or slurmctld's state was reset)`,
        });
        continue;
      }
      const phase = jobPhaseOf(j);
      if (phase === 'finished') {
        const o = jobOutcomeOf(j, false);
        if (o.lost)
          out.push({
            jobId: a.jobId,
            status: 'lost',
            reason: `${o.backendReason ?? 'lost'}: Slurm job ${j.job_id} ended ${j.job_state} on ${j.nodes ?? '?'}`,
          });
        else
          out.push({
            jobId: a.jobId,
            status: 'exited',
            exitCode: o.exitCode,
            signal: o.signal,
            at: (j.end_time ?? 0) * 1000 || this.o.now(),
            limit: o.limit,
            resources: null,
          });
      } else if (phase === 'requeued') {
        void this.client.signal(j.job_id).catch(() => undefined);
        out.push({
          jobId: a.jobId,
          status: 'lost',
          reason: `node-failure: Slurm requeued job ${j.job_id} (restarts ${j.restart_cnt ?? 0}); cancelled it`,
        });
      } else {
        out.push({ jobId: a.jobId, status: 'running' });
        this.track({
          jobId: a.jobId,
          attempt: a.attempt,
          slurmId: j.job_id,
          logDir: a.logDir,
          submitTime: j.submit_time ?? null,
          runningSent: true,
          cancelRequested: false,
          misses: 0,
          notBefore: (j.start_time ?? 0) * 1000,
        });
      }
    }
    return out;
  }

  logPaths(_jobId: string, _attempt: number, logDir: string): LogPaths {
    return { stdout: `${logDir}/stdout.log`, stderr: `${logDir}/stderr.log` };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
    this.client.close();
  }
}

/** Builds the Slurm executor (what `suanli server --executor slurm` calls). */
export function createSlurmExecutor(options: SlurmExecutorOptions): SlurmExecutor {
  return new SlurmExecutor(options);
}

/** The replica whose failure ended the gang, from the file its task wrote (null when unknown). */
function failedReplicaOf(logDir: string): number | null {
  try {
    return firstFailedReplica(readFileSync(join(logDir, REPLICA_EXIT_FILE), 'utf8'));
  } catch {
    return null; // not written (killed too hard, or the job never started)
  }
}
