/**
 * The engine: the control loop that joins the store, the scheduling core and an executor.
 *
 * One cycle, as numbered steps (I/O only at the edges, the decision in the pure core):
 *   1. Take the working set from memory (`working-set.ts`: every queued and active job, fed by the
 *      store's change feed) and the nodes (re-read only when the inventory changed).
 *   2. Build the snapshot's changes since the last cycle (time = the injected clock).
 *   3. Ask the policy (`policy-runner.ts`, in a worker thread for the built-in policy, so the API
 *      is never held up by it) → starts, preemptions, and the pending verdicts that changed.
 *   4. Commit each start (queued → starting, CAS) BEFORE launching it, then launch it.
 *   5. Carry out preemptions, time limits and cancel requests (SIGTERM, grace, SIGKILL).
 *   6. Store the pending verdicts that changed ("why is my job pending?").
 *
 * Executor events (running / exited) are applied through the same serial queue, so a cycle and an
 * event never interleave. Every state change is a compare-and-set in the store, recorded with its
 * time and reason: an acknowledged job is never lost, and a job is never started twice for the
 * same attempt. The store is the durable record; the working set is rebuilt from it at start.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type {
  ClusterNode,
  Placement,
  RunningSchedJob,
  SchedJob,
  PolicyConfig,
  SchedulingPolicy,
  TenantUsage,
} from '@suanli/core';
import { ACTIVE_STATES, DEFAULT_POLICY, PolicyState } from '@suanli/core';
import { BOOKING_WINDOW_HORIZON_MS, windowsForSnapshot } from '@suanli/core';
import { bookingStoreOf, type BookingStore } from '@suanli/store';
import type { JobRecord, PendingUpdate, Store, StoredNode, UsageRecord } from '@suanli/store';
import type { AttemptResources, ExecutionEvent, Executor, LimitExceeded } from '@suanli/executors';
import { InlinePolicyRunner, WorkerPolicyRunner, type PolicyRunner } from './policy-runner.js';
import { WorkingSet, WORKING_STATES } from './working-set.js';
import {
  ProgressTracker,
  checkpointDirOf,
  replicaPrefix,
  retryCovers,
  stopGraceMsOf,
  stopSignalOf,
} from './training.js';
import { NodeHealth, type NodeHealthOptions } from './health.js';

export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A policy, with its configuration when it has one (fair-share half-life, classes, grace). */
export type EnginePolicy = SchedulingPolicy & { readonly config?: PolicyConfig };

export interface EngineOptions {
  readonly store: Store;
  readonly executor: Executor;
  readonly policy: EnginePolicy;
  /** Root of per-job log directories (`<logRoot>/<jobId>/attempt-<n>`). */
  readonly logRoot: string;
  /** Root of per-job checkpoint directories (`<checkpointRoot>/<jobId>`); default: beside the logs. */
  readonly checkpointRoot?: string;
  /** Epoch ms. Injected so tests control time. */
  readonly clock?: () => number;
  readonly logger?: EngineLogger;
  /** Upper bound between cycles when nothing nudges the engine. */
  readonly cycleIntervalMs?: number;
  /** SIGTERM → SIGKILL grace for cancels, time limits and preemptions. */
  readonly cancelGraceMs?: number;
  /** How often the executor's inventory is re-read (telemetry, health). */
  readonly inventoryIntervalMs?: number;
  /**
   * Run the built-in policy in a worker thread (default: yes when the policy is the built-in one
   * with its configuration, i.e. has `config` and is named "suanli"). A policy object of any other
   * kind always runs inline.
   */
  readonly policyThread?: 'worker' | 'inline';
  /** Periodic node health checks (`health.ts`); none when absent. */
  readonly health?: NodeHealthOptions;
}

/** Why the engine is ending an attempt; decides the terminal state when the exit arrives. */
type StopIntent =
  | { kind: 'cancel' }
  | { kind: 'timeout' }
  | { kind: 'preempt'; reason: string; at: number; forJobId: string }
  | { kind: 'node-failed'; node: string; reason: string };

const quietLogger: EngineLogger = { info() {}, warn() {}, error() {} };

/** Minimum time between the end of a cycle and a cycle started by a nudge. */
export const NUDGE_MIN_GAP_MS = 20;

/** How often running jobs' progress files are read (their last checkpoint feeds victim choice). */
export const PROGRESS_POLL_MS = 2000;

/** Pending verdicts written per store call: a burst of changed verdicts never holds the store long. */
export const VERDICT_WRITE_CHUNK = 1000;

export class Engine {
  readonly store: Store;
  readonly executor: Executor;
  private policy: EnginePolicy;
  private readonly clock: () => number;
  private readonly log: EngineLogger;
  private readonly logRoot: string;
  private readonly checkpointRoot: string | null;
  private readonly cycleIntervalMs: number;
  private readonly cancelGraceMs: number;
  private readonly inventoryIntervalMs: number;

  /** Serialises cycles and event handling. */
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private inventoryTimer: NodeJS.Timeout | null = null;
  private nudged = false;
  private stopped = true;
  private readonly intents = new Map<string, StopIntent>();
  /** Jobs whose stop is in progress (avoid re-sending cancel every cycle). */
  private readonly stopping = new Set<string>();
  private cycles = 0;
  private lastCycleMs = 0;
  private lastPolicyMs = 0;
  private lastCycleEndedAt = 0;
  /** Every job waiting or holding devices, fed by the store's change feed. */
  private readonly working = new WorkingSet();
  private readonly unsubscribe: () => void;
  /** The nodes as the scheduler sees them; null when the inventory changed since they were read. */
  private nodes: ClusterNode[] | null = null;
  private runner: PolicyRunner;
  private readonly policyThread: 'worker' | 'inline' | undefined;
  /**
   * Decayed fair-share usage per tenant, and per job in a working state its attained service and
   * claim: the core's `PolicyState`, the one the simulator keeps too. Advanced every cycle. At start
   * usage and attained service are read back from the usage ledger (`seedFromLedger`); claims last
   * seconds and start empty.
   */
  private policyState = new PolicyState(DEFAULT_POLICY.fairShare.halfLifeMs);

  /** What running jobs reported in their progress files (their last checkpoint feeds victim choice). */
  private readonly progress = new ProgressTracker();
  private lastProgressPoll = -Infinity;

  /** Approved bookings become the snapshot's windows (issue 4); null on a store without bookings. */
  private readonly bookings: BookingStore | null;

  /** The node health checks; null when the server runs none. */
  readonly health: NodeHealth | null;

  constructor(opts: EngineOptions) {
    this.store = opts.store;
    this.bookings = bookingStoreOf(opts.store);
    this.executor = opts.executor;
    this.policy = opts.policy;
    this.clock = opts.clock ?? Date.now;
    this.log = opts.logger ?? quietLogger;
    this.logRoot = opts.logRoot;
    this.checkpointRoot = opts.checkpointRoot ?? null;
    this.cycleIntervalMs = opts.cycleIntervalMs ?? 1000;
    this.cancelGraceMs = opts.cancelGraceMs ?? 10_000;
    this.inventoryIntervalMs = opts.inventoryIntervalMs ?? 30_000;
    this.policyThread = opts.policyThread;
    this.runner = this.makeRunner(opts.policy);
    this.health = opts.health
      ? new NodeHealth(
          {
            store: this.store,
            clock: this.clock,
            log: this.log,
            stopJobsOnNode: (node, reason) =>
              void this.enqueue(async () => this.stopJobsOnNode(node, reason)),
          },
          opts.health,
        )
      : null;
    this.unsubscribe = this.store.onChange((c) => {
      if (c.kind === 'nodes') this.nodes = null;
      else for (const j of c.jobs) this.working.apply(j);
    });
    this.executor.onEvent((e) => {
      void this.enqueue(() => this.applyEvent(e)).catch(() => undefined); // errors are logged by enqueue
    });
  }

  get policyName(): string {
    return this.policy.name;
  }

  private get policyConfig(): PolicyConfig {
    return this.policy.config ?? DEFAULT_POLICY;
  }

  /** A job as the scheduler sees it: preemptible only if both its spec and its priority class allow it. */
  private schedJob(j: JobRecord): SchedJob {
    const config = this.policyConfig;
    const cls = config.priorityClasses.find(
      (c) => c.name === (j.spec.priorityClass ?? config.defaultPriorityClass),
    );
    const base = toSchedJob(j);
    const service = this.policyState.attainedServiceMs(j.id);
    const claimedAt = j.state === 'queued' ? this.policyState.claimedAt(j.id) : undefined;
    return {
      ...base,
      ...(cls && !cls.preemptible ? { preemptible: false } : {}),
      ...(service !== undefined ? { attainedServiceMs: service } : {}),
      ...(claimedAt !== undefined ? { claimedAt } : {}),
    };
  }

  private runningSchedJob(j: JobRecord, now: number): RunningSchedJob {
    const intent = this.intents.get(j.id);
    const { claimedAt: _claim, ...job } = this.schedJob(j);
    return {
      ...toRunningSchedJob(j, now, job),
      lastCheckpointTime: this.progress.lastCheckpointTime(j.id),
      preemptedAt: intent?.kind === 'preempt' ? intent.at : null,
      preemptedFor: intent?.kind === 'preempt' ? intent.forJobId : null,
    };
  }

  private makeRunner(policy: EnginePolicy): PolicyRunner {
    const builtIn = policy.name === 'suanli' && policy.config !== undefined;
    const where = this.policyThread ?? (builtIn ? 'worker' : 'inline');
    if (where === 'worker' && !builtIn)
      throw new Error(`policy "${policy.name}" cannot run in a worker thread: only the built-in policy can`);
    return where === 'worker' && policy.config
      ? new WorkerPolicyRunner(policy.config)
      : new InlinePolicyRunner(policy);
  }

  /** Replaces the policy (policy reload without a restart); takes effect at the next cycle. */
  setPolicy(policy: EnginePolicy): void {
    const runner = this.makeRunner(policy);
    // Swapped between cycles, so no cycle is cut off; a job's view (preemptible by its class) may change.
    void this.enqueue(async () => {
      const old = this.runner;
      this.policy = policy;
      this.runner = runner; // fresh: the next cycle hands it every pending job, re-derived
      await old.close();
    });
    this.nudge();
  }

  /**
   * `lastCycleMs`: the last cycle end to end; `lastPolicyMs`: the policy's part of it (on the
   * worker thread when `policyThread` is "worker"); `working`: jobs in the working set.
   */
  stats(): {
    cycles: number;
    lastCycleMs: number;
    lastPolicyMs: number;
    working: number;
    policyThread: 'worker' | 'inline';
  } {
    return {
      cycles: this.cycles,
      lastCycleMs: this.lastCycleMs,
      lastPolicyMs: this.lastPolicyMs,
      working: this.working.size,
      policyThread: this.runner.where,
    };
  }

  /** A tenant's queued and active jobs, from the working set (what budgets reserve); no store read. */
  workingJobsOf(tenant: string): JobRecord[] {
    return this.working.ofTenant(tenant);
  }

  /** Queued jobs of a tenant, from the working set (what `maxWaitingJobs` bounds); no store read. */
  queuedJobsOf(tenant: string): number {
    return this.working.queuedOf(tenant);
  }

  logDir(jobId: string, attempt: number): string {
    return join(this.logRoot, jobId, `attempt-${attempt}`);
  }

  /** The job's checkpoint directory: the same for every attempt, kept with its logs. */
  checkpointDir(jobId: string): string {
    return checkpointDirOf(this.logRoot, jobId, this.checkpointRoot);
  }

  /** Discovers inventory, re-adopts or resolves attempts left from a previous run, starts the loop. */
  async start(): Promise<void> {
    await this.refreshInventory();
    await this.recover();
    await this.seedFromLedger();
    this.working.replaceAll(await this.store.jobsInStates(WORKING_STATES));
    this.stopped = false;
    this.inventoryTimer = setInterval(() => {
      this.refreshInventory()
        .then(() => this.enqueue(() => this.resyncHolding()))
        .catch((err: unknown) => this.log.error({ err }, 'inventory refresh failed'));
    }, this.inventoryIntervalMs);
    this.inventoryTimer.unref();
    this.health?.start();
    this.scheduleNext(0);
  }

  /** Stops the loop and the executor's watchers. Running jobs keep running (they are recovered on start). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.inventoryTimer) clearInterval(this.inventoryTimer);
    this.timer = null;
    await this.health?.stop();
    await this.chain.catch(() => undefined);
    this.unsubscribe();
    await this.runner.close();
    await this.executor.close();
  }

  /** Asks for a cycle soon (after a submission, a cancel, a finished job). Cheap; coalesced. */
  nudge(): void {
    if (this.stopped || this.nudged) return;
    this.nudged = true;
    // Pace nudged cycles: a burst of submissions must not run cycles back to back, each reading
    // the whole queue. The gap grows with the last cycle's cost, so cycles take at most about half
    // of the event loop and the API keeps answering.
    const gapMs = Math.max(NUDGE_MIN_GAP_MS, this.lastCycleMs);
    this.scheduleNext(Math.max(0, this.lastCycleEndedAt + gapMs - performance.now()));
  }

  /** Runs one cycle now and waits for it (tests and the simulator-like callers use this). */
  async runCycle(): Promise<void> {
    await this.enqueue(() => this.cycle());
  }

  /**
   * Runs `fn` in the engine's queue, between cycles and events, and returns its result. For
   * decisions that depend on what is running and must not interleave with a cycle that starts jobs:
   * booking admission reads the running jobs and commits the booking here, so no job can be started
   * by a cycle that did not see the booking (one engine per database).
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    let result: { value: T } | null = null;
    return this.enqueue(async () => {
      result = { value: await fn() };
    }).then(() => {
      if (result === null) throw new Error('engine.exclusive: the step did not run');
      return (result as { value: T }).value;
    });
  }

  /** Waits until everything queued so far (cycles, events) has been applied. */
  async settle(): Promise<void> {
    await this.chain;
  }

  async refreshInventory(): Promise<void> {
    const nodes = await this.executor.discover();
    await this.store.upsertNodes(nodes, this.clock());
    this.health?.noteInventory(nodes, this.clock());
  }

  /** Stops every job holding devices on `node`, to be requeued as the platform's fault (`lost`). */
  private stopJobsOnNode(node: string, reason: string): void {
    for (const j of this.working.holdingDevices())
      if (j.placement?.some((r) => r.node === node))
        this.requestStop(j, { kind: 'node-failed', node, reason });
  }

  private scheduleNext(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.nudged = false;
      this.enqueue(() => this.cycle())
        .catch((err: unknown) => this.log.error({ err }, 'scheduling cycle failed'))
        .finally(() => this.scheduleNext(this.cycleIntervalMs));
    }, delayMs);
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch((err: unknown) => {
      this.log.error({ err }, 'engine step failed');
    });
    return next;
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery after a restart
  // ---------------------------------------------------------------------------------------------

  /** Decayed fair-share usage per tenant (accelerator-seconds), decayed to `asOf` (the last cycle). */
  fairShareUsage(): TenantUsage {
    return this.policyState.usage;
  }

  /** Fair-share usage and attained service from the ledger, so that a restart forgets neither. */
  private async seedFromLedger(): Promise<void> {
    const now = this.clock();
    const halfLifeMs = this.policyConfig.fairShare.halfLifeMs;
    const records = await this.store.listUsage({ from: now - LEDGER_HALF_LIVES * halfLifeMs, to: now });
    // service is kept for every job in the ledger; the first cycle forgets those no longer working
    // attempts that recovery just ended are in the ledger already (written with the attempt's end)
    this.policyState = seedFromLedger(records, now, halfLifeMs);
  }

  /**
   * Every job the store says is starting or running is checked with the executor: re-adopted if it
   * provably still runs, finished with its recorded exit code if it ended while we were down, or
   * marked lost (and requeued under its retry policy) when neither can be proven.
   */
  private async recover(): Promise<void> {
    // A crash between the two steps of an outcome (e.g. preempted → requeued → queued) leaves a
    // job in an intermediate state: finish the step it was in.
    for (const job of await this.store.jobsInStates(['preempted', 'requeued'])) {
      await this.requeue(job, 'requeued after a restart interrupted the requeue', 0);
    }
    for (const job of await this.store.jobsInStates(['lost'])) {
      await this.retryOrFail(
        job,
        'lost',
        job.finishedAt !== null ? 'attempt lost before the restart' : 'attempt lost',
      );
    }
    const active = await this.store.jobsInStates(['starting', 'running']);
    if (active.length === 0) return;
    const results = await this.executor.recover(
      active.map((j) => ({
        jobId: j.id,
        attempt: j.attempt,
        ref: j.executorRef ?? '',
        logDir: this.logDir(j.id, j.attempt),
      })),
    );
    const byId = new Map(active.map((j) => [j.id, j]));
    for (const r of results) {
      const job = byId.get(r.jobId);
      if (!job) continue;
      const now = this.clock();
      if (r.status === 'running') {
        if (job.state === 'starting')
          await this.store.transitionJob(
            job.id,
            'starting',
            'running',
            now,
            're-adopted after restart: process still running',
            { startedAt: job.startedAt ?? now },
          );
        this.log.info({ jobId: job.id }, 're-adopted running job');
      } else if (r.status === 'exited') {
        await this.finishAttempt(
          job,
          r.exitCode,
          r.signal,
          r.at,
          null,
          'finished while the server was down',
          {
            limit: r.limit ?? null,
            resources: r.resources ?? null,
          },
        );
      } else {
        await this.markLost(job, `lost: ${r.reason}`);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The cycle
  // ---------------------------------------------------------------------------------------------

  private async cycle(): Promise<void> {
    const t0 = performance.now();
    // 1. Working set: from memory; the nodes and bookings from the store (both small).
    const now = this.clock();
    const [nodes, booked] = await Promise.all([
      this.currentNodes(),
      this.bookings?.list({ endAfter: now, states: ['approved'] }) ?? [],
    ]);
    const holding = this.working.holdingDevices();
    const active = holding.filter((j) => j.placement !== null);

    // 5a. Cancel requests, time limits: carried out before scheduling so freed devices are not counted twice.
    for (const j of holding) {
      if (j.cancelRequestedAt !== null) this.requestStop(j, { kind: 'cancel' });
      else if (
        j.state === 'running' &&
        j.spec.timeLimitSeconds !== null &&
        j.startedAt !== null &&
        now - j.startedAt >= j.spec.timeLimitSeconds * 1000
      )
        this.requestStop(j, { kind: 'timeout' });
    }

    // 2. The snapshot's changes, with fair-share usage advanced to now and the checkpoints running jobs reported.
    // At most every PROGRESS_POLL_MS, not every cycle: a stat per running job (on Slurm, on a
    // shared file system) each nudged cycle would cost more than a checkpoint time this fresh is worth.
    if (now - this.lastProgressPoll >= PROGRESS_POLL_MS) {
      this.lastProgressPoll = now;
      await this.progress.poll(new Map(active.map((j) => [j.id, this.logDir(j.id, j.attempt)])), now);
    }
    const running = active.map((j) => this.runningSchedJob(j, now));
    this.policyState.halfLifeMs = this.policyConfig.fairShare.halfLifeMs;
    const usage = this.policyState.advance(now, running);
    const runner = this.runner;
    const fresh = runner.fresh;
    if (fresh) this.working.resendAll();
    const delta = this.working.pendingDelta(now, (j) => ({ seq: j.seq, job: this.schedJob(j) }));

    // 3. Decide (the API keeps answering meanwhile when the policy runs in its worker).
    const result = await runner.cycle({
      now,
      ...(fresh || nodes.changed ? { nodes: nodes.nodes } : {}),
      running,
      usage: usage.byTenant,
      windows: windowsForSnapshot(booked, now, BOOKING_WINDOW_HORIZON_MS),
      ...delta,
    });

    // 4. Starts: commit, then launch. A job that changed meanwhile (cancelled) fails the CAS.
    const nodeByName = new Map(nodes.nodes.map((n) => [n.name, n]));
    for (const s of result.starts) {
      const job = this.working.get(s.jobId);
      if (job?.state !== 'queued') continue;
      await this.startJob(job, s.placement, s.reason, nodeByName);
    }

    // 5b. Preemptions.
    for (const p of result.preemptions) {
      const job = this.working.get(p.jobId);
      if (job && ACTIVE_STATES.has(job.state)) {
        this.requestStop(job, { kind: 'preempt', reason: p.reason, at: now, forJobId: p.forJobId });
        this.policyState.claim(p.forJobId, now);
        this.working.touch(p.forJobId);
      }
    }
    for (const s of result.starts) this.policyState.started(s.jobId);
    // forget jobs that left the working set
    this.policyState.retain((id) => this.working.has(id));

    // 6. Why pending: only verdicts that changed since the last cycle (most do not), in chunks, so a
    // long queue costs one write per change and a burst of changes never holds the store long.
    await this.writeVerdicts([...delta.held, ...result.verdicts]);
    this.cycles++;
    this.lastPolicyMs = result.policyMs;
    this.lastCycleEndedAt = performance.now();
    this.lastCycleMs = this.lastCycleEndedAt - t0;
  }

  private async writeVerdicts(verdicts: readonly PendingUpdate[]): Promise<void> {
    for (let i = 0; i < verdicts.length; i += VERDICT_WRITE_CHUNK)
      await this.store.setPendingReasons(verdicts.slice(i, i + VERDICT_WRITE_CHUNK));
  }

  /** The nodes with operator overrides applied, re-read only after the inventory changed. */
  private async currentNodes(): Promise<{ nodes: ClusterNode[]; changed: boolean }> {
    if (this.nodes !== null) return { nodes: this.nodes, changed: false };
    const nodes = (await this.store.listNodes()).map(effectiveNode);
    this.nodes = nodes;
    return { nodes, changed: true };
  }

  /**
   * The jobs holding devices, re-read from the store (few: bounded by the hall) and put right in
   * the working set, should a change have reached it out of order.
   */
  private async resyncHolding(): Promise<void> {
    const stored = await this.store.jobsInStates(['starting', 'running']);
    const ids = new Set(stored.map((j) => j.id));
    for (const j of stored) {
      const known = this.working.get(j.id);
      // Only what is missing or behind: a cancel request that landed after the read stays.
      if (
        known === undefined ||
        known.state !== j.state ||
        known.attempt !== j.attempt ||
        known.executorRef !== j.executorRef ||
        (known.cancelRequestedAt === null && j.cancelRequestedAt !== null)
      )
        this.working.apply(j);
    }
    for (const j of this.working.holdingDevices()) {
      if (ids.has(j.id)) continue;
      const now = await this.store.getJob(j.id);
      if (now) this.working.apply(now);
    }
  }

  /** Re-reads a job whose compare-and-set failed: the working set had an older row. */
  private async reread(id: string): Promise<void> {
    const job = await this.store.getJob(id);
    if (job) this.working.apply(job);
  }

  private async startJob(
    job: JobRecord,
    placement: Placement,
    reason: string,
    nodeByName: Map<string, ClusterNode>,
  ): Promise<void> {
    const now = this.clock();
    const attempt = job.attempt + 1;
    const started = await this.store.transitionJob(
      job.id,
      'queued',
      'starting',
      now,
      `scheduled: ${reason}`,
      {
        attempt,
        placement,
        executorRef: null,
        startedAt: null,
        finishedAt: null,
        exitCode: null,
        pendingVerdict: null,
        pendingReason: null,
        estimatedStart: null,
      },
    );
    if (!started) {
      await this.reread(job.id); // cancelled or changed concurrently: nothing to launch
      return;
    }
    const logDir = this.logDir(job.id, attempt);
    try {
      // Traversable, not listable: a confined job's account passes through to its own directory.
      await mkdir(logDir, { recursive: true, mode: 0o711 });
      await mkdir(this.checkpointDir(job.id), { recursive: true, mode: 0o711 });
      const member = await this.store.getMembership(job.tenant, job.submittedBy);
      const { ref } = await this.executor.launch({
        jobId: job.id,
        jobName: job.name,
        tenant: job.tenant,
        project: job.project,
        attempt,
        spec: job.spec,
        placement,
        nodes: [...new Set(placement.map((r) => r.node))].flatMap((n) => {
          const node = nodeByName.get(n);
          return node ? [node] : [];
        }),
        logDir,
        unixUser: member?.unixUser ?? null,
        checkpointDir: this.checkpointDir(job.id),
        array: job.arrayId === null ? null : { id: job.arrayId, index: job.arrayIndex ?? 0 },
      });
      const patched = await this.store.patchJob(job.id, 'starting', { executorRef: ref });
      if (!patched) {
        // The running event was applied first (starting → running); store the ref there.
        await this.store.patchJob(job.id, 'running', { executorRef: ref });
      }
    } catch (err) {
      this.log.error({ err, jobId: job.id }, 'launch failed');
      const msg = err instanceof Error ? err.message : String(err);
      await this.store.transitionJob(job.id, 'starting', 'failed', this.clock(), `launch failed: ${msg}`, {
        finishedAt: this.clock(),
      });
    }
  }

  private requestStop(job: JobRecord, intent: StopIntent): void {
    if (this.stopping.has(job.id)) return;
    this.stopping.add(job.id);
    this.intents.set(job.id, intent);
    const ref = job.executorRef;
    if (ref === null) {
      // Not launched yet (or the ref was never stored): the exit will come from the executor or recovery.
      this.stopping.delete(job.id);
      return;
    }
    const graceMs = stopGraceMsOf(
      job.spec,
      intent.kind === 'preempt' ? this.policyConfig.preemption.gracePeriodMs : this.cancelGraceMs,
    );
    this.executor.cancel(job.id, ref, graceMs, stopSignalOf(job.spec)).catch((err: unknown) => {
      this.log.error({ err, jobId: job.id }, 'cancel failed');
      this.stopping.delete(job.id);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Executor events
  // ---------------------------------------------------------------------------------------------

  private async applyEvent(e: ExecutionEvent): Promise<void> {
    const job = await this.store.getJob(e.jobId);
    if (!job || job.attempt !== e.attempt) return; // stale event from an earlier attempt
    if (e.kind === 'running') {
      if (job.state === 'starting')
        await this.store.transitionJob(job.id, 'starting', 'running', e.at, 'process started', {
          startedAt: e.at,
        });
      return;
    }
    await this.finishAttempt(job, e.exitCode, e.signal, e.at, e.backendReason, null, {
      limit: e.limit ?? null,
      resources: e.resources ?? null,
      replica: e.replica ?? null,
    });
    this.nudge();
  }

  /**
   * Decides the outcome of an ended attempt: succeeded, failed, cancelled, timed-out, preempted
   * (requeued), lost, or requeued for another attempt under the job's retry policy.
   */
  private async finishAttempt(
    job: JobRecord,
    exitCode: number | null,
    signal: string | null,
    at: number,
    backendReason: string | null,
    note: string | null,
    enforced: { limit: LimitExceeded | null; resources: AttemptResources | null; replica?: number | null } = {
      limit: null,
      resources: null,
    },
  ): Promise<void> {
    if (!ACTIVE_STATES.has(job.state)) return;
    if (job.startedAt !== null && job.placement !== null) {
      const devices = job.placement.reduce((n, r) => n + r.acceleratorIds.length, 0);
      this.policyState.attemptEnded({
        jobId: job.id,
        tenant: job.tenant,
        devices,
        fromMs: job.startedAt,
        toMs: at,
      });
    }
    const intent =
      this.intents.get(job.id) ?? (job.cancelRequestedAt !== null ? { kind: 'cancel' as const } : undefined);
    this.intents.delete(job.id);
    this.stopping.delete(job.id);
    const killed = `${replicaPrefix(enforced.replica)}${signal ? `killed by ${signal}` : `exit code ${exitCode ?? 'unknown'}`}`;
    // An enforced limit is the job's fault (it fails, under its retry policy), said first.
    const how =
      enforced.limit === 'out-of-memory' ? `${outOfMemory(job, enforced.resources)}; ${killed}` : killed;
    const suffix = note ? ` (${note})` : '';
    const patch = { finishedAt: at, exitCode, attemptResources: enforced.resources };
    const from = job.state;

    if (intent?.kind === 'cancel') {
      await this.store.transitionJob(
        job.id,
        from,
        'cancelled',
        at,
        `cancelled by request; ${how}${suffix}`,
        patch,
      );
      return;
    }
    if (intent?.kind === 'preempt') {
      const p = await this.store.transitionJob(
        job.id,
        from,
        'preempted',
        at,
        `preempted: ${intent.reason}; ${how}`,
        patch,
      );
      if (p) await this.requeue(p, 'requeued after preemption (does not count as an attempt)', 0);
      return;
    }
    if (intent?.kind === 'node-failed') {
      // The platform's fault: requeued at once under retryOn platform/lost (the node is drained,
      // so the job does not land there again), or failed saying why when the policy does not cover it.
      const why = `node ${intent.node} failed its health check (${intent.reason})`;
      const lost = await this.store.transitionJob(job.id, from, 'lost', at, `lost: ${why}; ${how}`, patch);
      if (lost) await this.retryOrFail(lost, 'lost', why, 0);
      return;
    }
    if (backendReason !== null) {
      const lost = await this.store.transitionJob(
        job.id,
        from,
        'lost',
        at,
        `lost: ${backendReason}${suffix}`,
        patch,
      );
      if (lost) await this.retryOrFail(lost, 'lost', `attempt lost (${backendReason})`);
      return;
    }
    if (intent?.kind !== 'timeout' && exitCode === 0 && signal === null) {
      await this.store.transitionJob(job.id, from, 'succeeded', at, `completed; exit code 0${suffix}`, patch);
      return;
    }
    const outcome = intent?.kind === 'timeout' ? 'timed-out' : 'failed';
    const what =
      outcome === 'timed-out'
        ? `time limit of ${job.spec.timeLimitSeconds ?? 0} s reached; ${how}`
        : `failed; ${how}`;
    if (await this.canRetry(job, outcome)) {
      const r = await this.store.transitionJob(
        job.id,
        from,
        'requeued',
        at,
        `${what}${suffix}; retrying under the retry policy`,
        patch,
      );
      if (r) await this.requeue(r, null, job.spec.retry.backoffSeconds);
      return;
    }
    await this.store.transitionJob(job.id, from, outcome, at, `${what}${suffix}`, patch);
  }

  private async markLost(job: JobRecord, reason: string): Promise<void> {
    const now = this.clock();
    const lost = await this.store.transitionJob(job.id, job.state, 'lost', now, reason, { finishedAt: now });
    if (lost) await this.retryOrFail(lost, 'lost', reason);
  }

  /** Attempts consumed so far: starts minus preemptions (a preemption is not the job's fault). */
  private async attemptsConsumed(job: JobRecord): Promise<number> {
    const transitions = await this.store.listTransitions(job.id);
    return job.attempt - transitions.filter((t) => t.to === 'preempted').length;
  }

  private async canRetry(job: JobRecord, outcome: 'lost' | 'failed' | 'timed-out'): Promise<boolean> {
    const { maxAttempts, retryOn } = job.spec.retry;
    return retryCovers(retryOn, outcome) && (await this.attemptsConsumed(job)) < maxAttempts;
  }

  private async retryOrFail(
    job: JobRecord,
    outcome: 'lost',
    reason: string,
    backoff?: number,
  ): Promise<void> {
    const { maxAttempts, retryOn } = job.spec.retry;
    const backoffSeconds = backoff ?? job.spec.retry.backoffSeconds;
    const now = this.clock();
    if (await this.canRetry(job, outcome)) {
      const r = await this.store.transitionJob(
        job.id,
        'lost',
        'requeued',
        now,
        `requeued under the retry policy after: ${reason}`,
      );
      if (r) await this.requeue(r, null, backoffSeconds);
    } else {
      await this.store.transitionJob(
        job.id,
        'lost',
        'failed',
        now,
        `not retried after: ${reason} (attempts used ${await this.attemptsConsumed(job)} of ${maxAttempts}; retryOn: ${retryOn.join(', ') || 'none'})`,
      );
    }
  }

  /** Moves a job to `requeued` (unless it is there already) and back to `queued`, releasing its devices. */
  private async requeue(job: JobRecord, reason: string | null, backoffSeconds: number): Promise<void> {
    const now = this.clock();
    let r: JobRecord | null = job;
    if (job.state !== 'requeued')
      r = await this.store.transitionJob(job.id, job.state, 'requeued', now, reason ?? 'requeued');
    if (!r) return;
    await this.store.transitionJob(
      job.id,
      'requeued',
      'queued',
      now,
      backoffSeconds > 0 ? `back in the queue after a ${backoffSeconds} s backoff` : 'back in the queue',
      {
        queuedAt: now,
        notBefore: backoffSeconds > 0 ? now + backoffSeconds * 1000 : null,
        placement: null,
        executorRef: null,
        startedAt: null,
        finishedAt: null,
      },
    );
    this.nudge();
  }
}

/** Ledger older than this many fair-share half-lives weighs under 0.4 %: not read at start. */
const LEDGER_HALF_LIVES = 8;

/**
 * What the engine keeps in memory, rebuilt from ended attempts in the usage ledger: fair-share
 * usage decayed to `now`, and the accelerator-ms each job held in its ended attempts.
 */
export function seedFromLedger(
  records: readonly UsageRecord[],
  now: number,
  halfLifeMs: number,
): PolicyState {
  return PolicyState.fromLedger(
    records.map((r) => ({
      jobId: r.jobId,
      tenant: r.tenant,
      devices: r.accelerators,
      fromMs: r.startedAt,
      toMs: r.finishedAt,
    })),
    now,
    halfLifeMs,
  );
}

/** A node as the scheduler must see it: an operator's drain overrides the discovered state. */
export function effectiveNode(s: StoredNode): ClusterNode {
  return s.adminState === null ? s.node : { ...s.node, state: s.adminState };
}

export function toSchedJob(j: JobRecord): SchedJob {
  return {
    id: j.id,
    tenant: j.tenant,
    project: j.project,
    submitTime: j.queuedAt,
    priority: j.priority,
    replicas: j.spec.replicas,
    perReplica: j.spec.perReplica,
    timeLimitMs: j.spec.timeLimitSeconds === null ? null : j.spec.timeLimitSeconds * 1000,
    preemptible: j.spec.preemptible,
  };
}

/**
 * A job holding devices as the scheduler sees it at `now`. One still `starting` has not run yet:
 * its start is `now` (not its queue time, which would count its wait as runtime: service for
 * least attained service, the minimum runtime before preemption, fair-share usage).
 */
export function toRunningSchedJob(j: JobRecord, now: number, job: SchedJob = toSchedJob(j)): RunningSchedJob {
  return {
    ...job,
    startTime: j.startedAt ?? now,
    placement: j.placement ?? [],
    lastCheckpointTime: null,
  };
}

/** `out-of-memory (limit 128 MiB, peak 128 MiB)`: the reason a job killed at its memory limit failed. */
function outOfMemory(job: JobRecord, resources: AttemptResources | null): string {
  const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  const limit =
    job.spec.perReplica.memoryMiB > 0 ? `limit ${job.spec.perReplica.memoryMiB} MiB` : 'no limit set';
  const peak = resources?.peakMemoryBytes != null ? `, peak ${mib(resources.peakMemoryBytes)}` : '';
  return `out-of-memory (${limit}${peak})`;
}
