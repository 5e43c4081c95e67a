/**
 * Job operations used by the API: submit, cancel, read. They validate once (the core's
 * `compileJobSpec`), write through the store, and nudge the engine. Errors a user can fix come
 * back as `JobsError` values with a stable code; the API maps them to HTTP.
 *
 * Who may see or change which job is decided by the API's `authorize()`; this service takes that
 * decision as a `visible` predicate (default: same tenant), so a job the caller may not see answers
 * exactly like a missing one.
 *
 * Submission checks, in order: the spec compiles; the project is one of the tenant's (a tenant
 * that registered no projects accepts any name: registering the first one closes the list);
 * the budget. Budget policy: budgets are accelerator-hours per UTC calendar month, for a tenant
 * and/or one of its projects. When one applies, a job must have a time limit (else
 * BUDGET_NEEDS_TIME_LIMIT: an unbounded job cannot be charged in advance), and it is accepted
 * only if  used + reserved + replicas × accelerators × timeLimit ≤ budget, where `used` is the
 * ledger this month (intervals clipped to the month) and `reserved` is accelerators × time limit
 * of every job of the scope not yet finished (their ledger rows are written when they end). It is
 * conservative: a job never overruns what was reserved for it, so the month cannot be overspent
 * by jobs accepted under the budget. Budgeted submissions are serialised in this process so two
 * at once cannot both take the last hours.
 *
 * Waiting jobs are bounded per tenant (`maxWaitingJobs`, from the policy file; default
 * DEFAULT_MAX_WAITING_JOBS): every waiting job is held in the engine's working set and weighed by
 * each scheduling cycle, so one tenant must not be able to grow the queue without end. The count
 * is the working set's (no store read); submissions racing past it at once can overshoot by at
 * most their number.
 *
 * Job arrays (`array: "0-999%50"` in the spec, or the API's `?array=`): one submission, one store
 * transaction, one job row per task. Every check above counts the tasks: the waiting-jobs limit
 * admits an array only if all its tasks fit (so an array has at most maxWaitingJobs tasks, and at
 * most ARRAY_LIMITS.maxTasks), and a budget reserves size × the job's accelerator-hours.
 */
import { randomBytes } from 'node:crypto';
import {
  ARRAY_LIMITS,
  compileJobSpec,
  DEFAULT_MAX_WAITING_JOBS,
  formatArrayExpression,
  parseArrayExpression,
  isTerminal,
  type FieldError,
  type JobSpec,
} from '@suanli/core';
import type { JobArrayRecord, JobRecord, Store, UsageRecord } from '@suanli/store';
import type { Engine } from './engine.js';

/** Built-in priority classes, used until a policy defines its own. */
export const DEFAULT_PRIORITY_CLASSES: Readonly<Record<string, number>> = { low: -100, normal: 0, high: 100 };

export type JobsErrorCode =
  | 'JOB_SPEC_INVALID'
  | 'JOB_NOT_FOUND'
  | 'JOB_ALREADY_FINISHED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'STATE_CONFLICT'
  | 'PROJECT_NOT_FOUND'
  | 'BUDGET_EXCEEDED'
  | 'BUDGET_NEEDS_TIME_LIMIT'
  | 'TOO_MANY_WAITING_JOBS'
  | 'JOB_ARRAY_INVALID';

export class JobsError extends Error {
  constructor(
    readonly code: JobsErrorCode,
    message: string,
    readonly details?: readonly FieldError[],
  ) {
    super(message);
    this.name = 'JobsError';
  }
}

export interface Principal {
  readonly subject: string;
  readonly tenant: string;
}

export function newJobId(): string {
  return `j-${randomBytes(8).toString('hex')}`;
}

export class JobService {
  constructor(
    private readonly store: Store,
    private readonly engine: Pick<Engine, 'nudge' | 'queuedJobsOf' | 'workingJobsOf'>,
    private readonly clock: () => number = Date.now,
    private readonly priorityClasses: () => Readonly<Record<string, number>> = () => DEFAULT_PRIORITY_CLASSES,
    private readonly maxWaitingJobs: (tenant: string) => number = () => DEFAULT_MAX_WAITING_JOBS,
  ) {}

  /** Compiles a spec or throws JOB_SPEC_INVALID listing every field error. */
  compile(input: unknown): JobSpec {
    const compiled = compileJobSpec(input);
    if (!compiled.ok) {
      const n = compiled.errors.length;
      throw new JobsError(
        'JOB_SPEC_INVALID',
        `the job spec has ${n} error${n === 1 ? '' : 's'}: ${compiled.errors.map((e) => `${e.path || '(spec)'} ${e.message}`).join('; ')}`,
        compiled.errors,
      );
    }
    const classes = this.priorityClasses();
    if (compiled.value.priorityClass !== null && !(compiled.value.priorityClass in classes)) {
      const err = {
        path: 'priority',
        message: `unknown priority class "${compiled.value.priorityClass}"; defined classes: ${Object.keys(classes).join(', ')}`,
      };
      throw new JobsError('JOB_SPEC_INVALID', `the job spec has 1 error: priority ${err.message}`, [err]);
    }
    return compiled.value;
  }

  resolvePriority(spec: JobSpec): number {
    if (spec.priority !== null) return spec.priority;
    const classes = this.priorityClasses();
    return classes[spec.priorityClass ?? 'normal'] ?? 0;
  }

  /** Serialises budgeted submissions (see the module comment). */
  private budgetChain: Promise<unknown> = Promise.resolve();

  /**
   * Splits a submitted document into the job spec and its array expression: `override` (the API's
   * `?array=`, the CLI's `--array`) wins over the spec's `array` field. Null: not an array.
   */
  arrayOf(input: unknown, override?: string): { spec: unknown; array: unknown } | null {
    const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
    const has = isObject && Object.prototype.hasOwnProperty.call(input, 'array');
    if (override === undefined && !has) return null;
    if (!isObject) return { spec: input, array: override };
    const { array, ...spec } = input as Record<string, unknown>;
    return { spec, array: override ?? array };
  }

  /**
   * Submits a job array: every task a job of `spec`, created in one transaction. Checks as for a
   * job, each counting all tasks; a repeated Idempotency-Key returns the array it created.
   */
  async submitArray(
    input: unknown,
    arrayInput: unknown,
    who: Principal,
    idempotencyKey: string | null,
  ): Promise<{ array: JobArrayRecord; created: boolean }> {
    const spec = this.compile(input);
    const limit = this.maxWaitingJobs(who.tenant);
    const parsed = parseArrayExpression(arrayInput, 'array', ARRAY_LIMITS.maxTasks);
    if (!parsed.ok)
      throw new JobsError(
        'JOB_ARRAY_INVALID',
        `the array expression is invalid: ${parsed.errors.map((e) => e.message).join('; ')}`,
        parsed.errors,
      );
    const { indices, throttle } = parsed.value;
    this.checkWaitingJobs(who.tenant, indices.length, limit);
    await this.checkProject(spec, who.tenant);
    const create = () => this.createArray(spec, indices, throttle, who, idempotencyKey);
    const budgets = (await this.store.listBudgets(who.tenant)).filter(
      (b) => b.project === null || b.project === spec.project,
    );
    if (budgets.length === 0) return create();
    const run = this.budgetChain.then(async () => {
      await this.checkBudgets(spec, who.tenant, budgets, indices.length);
      return create();
    });
    this.budgetChain = run.catch(() => undefined);
    return run;
  }

  private async createArray(
    spec: JobSpec,
    indices: readonly number[],
    throttle: number | null,
    who: Principal,
    idempotencyKey: string | null,
  ): Promise<{ array: JobArrayRecord; created: boolean }> {
    const expression = formatArrayExpression(indices);
    const result = await this.store.createJobArray({
      id: newJobId(),
      tenant: who.tenant,
      submittedBy: who.subject,
      spec,
      indices,
      expression,
      throttle,
      priority: this.resolvePriority(spec),
      submittedAt: this.clock(),
      idempotencyKey,
    });
    const a = result.array;
    if (
      !result.created &&
      (JSON.stringify(a.spec) !== JSON.stringify(spec) ||
        a.expression !== expression ||
        a.throttle !== throttle)
    )
      throw new JobsError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key "${idempotencyKey}" was already used for job array ${a.id} with a different spec or array; use a new key for a new array`,
      );
    if (result.created) this.engine.nudge();
    return result;
  }

  /** The array, when `visible` to the caller (else JOB_NOT_FOUND, like a missing one). */
  async getArray(
    id: string,
    who: Principal,
    visible: (a: { tenant: string }) => boolean = (a) => a.tenant === who.tenant,
  ): Promise<JobArrayRecord> {
    const a = await this.store.getJobArray(id);
    if (!a || !visible(a)) throw new JobsError('JOB_NOT_FOUND', `no job array "${id}" is visible to you`);
    return a;
  }

  /**
   * Cancels every unfinished task of an array (waiting ones at once, the others through the
   * engine, as `cancel` does for one job). Cancelling an array whose tasks all ended is fine.
   */
  async cancelArray(
    id: string,
    who: Principal,
    visible?: (a: { tenant: string }) => boolean,
  ): Promise<{ array: JobArrayRecord; cancelled: number; cancelRequested: number }> {
    const array = await this.getArray(id, who, visible);
    const r = await this.store.cancelArrayTasks(array.id, this.clock(), `array cancelled by ${who.subject}`);
    if (r.cancelRequested > 0 || r.cancelled > 0) this.engine.nudge();
    return { array, ...r };
  }

  async submit(
    input: unknown,
    who: Principal,
    idempotencyKey: string | null,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const spec = this.compile(input);
    this.checkWaitingJobs(who.tenant);
    await this.checkProject(spec, who.tenant);
    const budgets = (await this.store.listBudgets(who.tenant)).filter(
      (b) => b.project === null || b.project === spec.project,
    );
    if (budgets.length === 0) return this.create(spec, who, idempotencyKey);
    const run = this.budgetChain.then(async () => {
      await this.checkBudgets(spec, who.tenant, budgets);
      return this.create(spec, who, idempotencyKey);
    });
    this.budgetChain = run.catch(() => undefined);
    return run;
  }

  private async checkProject(spec: JobSpec, tenant: string): Promise<void> {
    const projects = await this.store.listProjects(tenant);
    if (projects.length > 0 && spec.project !== 'default' && !projects.some((p) => p.name === spec.project))
      throw new JobsError(
        'PROJECT_NOT_FOUND',
        `tenant "${tenant}" has no project "${spec.project}"; its projects: ${projects.map((p) => p.name).join(', ')}`,
        [{ path: 'project', message: `is not a project of tenant "${tenant}"` }],
      );
  }

  /** Refuses when `adding` more waiting jobs (an array's tasks) would take the tenant past its limit. */
  private checkWaitingJobs(tenant: string, adding = 1, limit: number = this.maxWaitingJobs(tenant)): void {
    const waiting = this.engine.queuedJobsOf(tenant);
    if (waiting + adding > limit)
      throw new JobsError(
        'TOO_MANY_WAITING_JOBS',
        adding === 1
          ? `tenant "${tenant}" has ${waiting} jobs waiting, the most it may have is ${limit}; wait for some to start or cancel some, or ask an operator to raise maxWaitingJobs for the tenant in the policy file`
          : `the array has ${adding} tasks and tenant "${tenant}" has ${waiting} jobs waiting; together they exceed the ${limit} it may have waiting (tasks count as jobs): submit a smaller array, wait for some to start or cancel some, or ask an operator to raise maxWaitingJobs for the tenant in the policy file`,
      );
  }

  private async checkBudgets(
    spec: JobSpec,
    tenant: string,
    budgets: readonly { project: string | null; acceleratorHours: number }[],
    tasks = 1,
  ): Promise<void> {
    const accelerators = tasks * spec.replicas * spec.perReplica.accelerators;
    if (accelerators === 0) return; // costs no accelerator-hours
    if (spec.timeLimitSeconds === null)
      throw new JobsError(
        'BUDGET_NEEDS_TIME_LIMIT',
        `a budget applies to tenant "${tenant}"${budgets.some((b) => b.project !== null) ? ` / project "${spec.project}"` : ''}: set timeLimit so the job can be charged in advance`,
        [{ path: 'timeLimit', message: 'is required when a budget applies' }],
      );
    const now = this.clock();
    const { from, to } = monthOf(now);
    const ledger = await this.store.listUsage({ from, to, tenant });
    const open = this.engine.workingJobsOf(tenant);
    const wantHours = (accelerators * spec.timeLimitSeconds) / 3600;
    for (const b of budgets) {
      const inScope = (t: string, p: string) => t === tenant && (b.project === null || p === b.project);
      const usedMs = ledger
        .filter((u) => inScope(u.tenant, u.project))
        .reduce((n, u) => n + clippedAcceleratorMs(u, from, to), 0);
      const reservedMs = open
        .filter((j) => inScope(j.tenant, j.project))
        .reduce((n, j) => n + reservationMs(j, now), 0);
      const usedHours = (usedMs + reservedMs) / 3_600_000;
      if (usedHours + wantHours > b.acceleratorHours + 1e-9)
        throw new JobsError(
          'BUDGET_EXCEEDED',
          `the job needs ${round2(wantHours)} accelerator-hours but the ${b.project === null ? `tenant "${tenant}"` : `project "${tenant}/${b.project}"`} budget has ${round2(Math.max(0, b.acceleratorHours - usedHours))} of ${b.acceleratorHours} left this month (${round2(usedMs / 3_600_000)} used, ${round2(reservedMs / 3_600_000)} reserved by unfinished jobs)`,
        );
    }
  }

  private async create(
    spec: JobSpec,
    who: Principal,
    idempotencyKey: string | null,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const result = await this.store.createJob({
      id: newJobId(),
      tenant: who.tenant,
      submittedBy: who.subject,
      spec,
      priority: this.resolvePriority(spec),
      submittedAt: this.clock(),
      idempotencyKey,
    });
    if (!result.created && JSON.stringify(result.job.spec) !== JSON.stringify(spec)) {
      throw new JobsError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key "${idempotencyKey}" was already used for job ${result.job.id} with a different spec; use a new key for a new job`,
      );
    }
    if (result.created) this.engine.nudge();
    return result;
  }

  async get(
    id: string,
    who: Principal,
    visible: (job: JobRecord) => boolean = (j) => j.tenant === who.tenant,
  ): Promise<JobRecord> {
    const job = await this.store.getJob(id);
    // A job the caller may not see answers exactly like a missing one, so ids do not leak.
    if (!job || !visible(job)) throw new JobsError('JOB_NOT_FOUND', `no job "${id}" is visible to you`);
    return job;
  }

  /**
   * Cancels a job. A queued job is cancelled at once; a job holding devices gets a durable cancel
   * request that the engine carries out (SIGTERM, grace period, SIGKILL). Cancelling twice is fine.
   */
  async cancel(
    id: string,
    who: Principal,
    visible: (job: JobRecord) => boolean = (j) => j.tenant === who.tenant,
  ): Promise<JobRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const job = await this.get(id, who, visible);
      if (isTerminal(job.state)) {
        if (job.state === 'cancelled') return job;
        throw new JobsError(
          'JOB_ALREADY_FINISHED',
          `job ${id} already ended in state "${job.state}"; there is nothing to cancel`,
        );
      }
      const now = this.clock();
      if (job.state === 'queued' || job.state === 'requeued') {
        const done = await this.store.transitionJob(
          id,
          job.state,
          'cancelled',
          now,
          `cancelled by ${who.subject} while waiting`,
          { finishedAt: now },
        );
        if (done) return done;
        continue; // changed under us (e.g. just started): retry with the new state
      }
      if (job.cancelRequestedAt !== null) return job;
      const patched = await this.store.patchJob(id, job.state, { cancelRequestedAt: now });
      if (patched) {
        this.engine.nudge();
        return patched;
      }
    }
    throw new JobsError('STATE_CONFLICT', `job ${id} kept changing state; retry the cancel`);
  }
}

/** [from, to) of the UTC calendar month holding `at` (epoch ms). */
export function monthOf(at: number): { from: number; to: number } {
  const d = new Date(at);
  return {
    from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
    to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}

/** Accelerator-milliseconds of a ledger interval inside [from, to). */
export function clippedAcceleratorMs(u: UsageRecord, from: number, to: number): number {
  const ms = Math.max(0, Math.min(u.finishedAt, to) - Math.max(u.startedAt, from));
  return u.accelerators * ms;
}

/** What an unfinished job may still use: its whole time limit (or what it ran so far, without one). */
export function reservationMs(j: JobRecord, now: number): number {
  const accelerators = j.spec.replicas * j.spec.perReplica.accelerators;
  if (j.spec.timeLimitSeconds !== null) return accelerators * j.spec.timeLimitSeconds * 1000;
  return j.startedAt !== null && j.state === 'running' ? accelerators * Math.max(0, now - j.startedAt) : 0;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
