/**
 * Job operations used by the API: submit, cancel, read. They validate once (the core's
 * `compileJobSpec`), write through the store, and nudge the engine. Errors a user can fix come
 * back as `JobsError` values with a stable code; the API maps them to HTTP.
 */
import { randomBytes } from 'node:crypto';
import { compileJobSpec, isTerminal, type FieldError, type JobSpec } from '@suanli/core';
import type { JobRecord, Store } from '@suanli/store';
import type { Engine } from './engine.js';

/** Built-in priority classes, used until a policy defines its own. */
export const DEFAULT_PRIORITY_CLASSES: Readonly<Record<string, number>> = { low: -100, normal: 0, high: 100 };

export type JobsErrorCode =
  'JOB_SPEC_INVALID' | 'JOB_NOT_FOUND' | 'JOB_ALREADY_FINISHED' | 'IDEMPOTENCY_KEY_REUSED' | 'STATE_CONFLICT';

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
    private readonly engine: Pick<Engine, 'nudge'>,
    private readonly clock: () => number = Date.now,
    private readonly priorityClasses: () => Readonly<Record<string, number>> = () => DEFAULT_PRIORITY_CLASSES,
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

  async submit(
    input: unknown,
    who: Principal,
    idempotencyKey: string | null,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const spec = this.compile(input);
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

  async get(id: string, who: Principal): Promise<JobRecord> {
    const job = await this.store.getJob(id);
    // Another tenant's job answers exactly like a missing one, so ids do not leak.
    if (!job || job.tenant !== who.tenant)
      throw new JobsError('JOB_NOT_FOUND', `no job "${id}" is visible to you`);
    return job;
  }

  /**
   * Cancels a job. A queued job is cancelled at once; a job holding devices gets a durable cancel
   * request that the engine carries out (SIGTERM, grace period, SIGKILL). Cancelling twice is fine.
   */
  async cancel(id: string, who: Principal): Promise<JobRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const job = await this.get(id, who);
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
