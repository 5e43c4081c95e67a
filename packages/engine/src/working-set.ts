/**
 * The engine's working set: every job waiting or holding devices (`queued`, `starting`,
 * `running`), kept in memory and fed by the store's change feed (`Store.onChange`), so a cycle
 * reads what changed instead of reading the queue back from the store.
 *
 * The store stays the durable record. The set is built from it at start (`replaceAll`), follows
 * every commit made through the same store instance (the API's submissions and cancels, the
 * engine's own transitions), and is corrected from the store where it could be stale: a
 * compare-and-set that fails makes the engine re-read that job, and the jobs holding devices (few:
 * bounded by the hall) are re-read with each inventory refresh.
 *
 * It also tracks, for the policy host (`policy-host.ts`), which jobs became pending or stopped
 * being pending since the last cycle: `pendingDelta` hands those over. A queued job whose retry
 * backoff (`notBefore`) has not passed is not pending yet; it is handed over when it becomes due.
 * A task of a job array with a `%N` throttle is held back while N of its array's tasks hold
 * devices (`arrays.ts`: the lowest queued tasks are shown first); an array is weighed again only
 * when one of its tasks changed, and a task newly held back is reported once with its verdict.
 */
import type { JobState } from '@suanli/core';
import type { JobRecord } from '@suanli/store';
import { throttleArrays, type HeldTask } from './arrays.js';
import type { PendingEntry } from './policy-host.js';

export const WORKING_STATES: readonly JobState[] = ['queued', 'starting', 'running'];
const WORKING = new Set<JobState>(WORKING_STATES);

export class WorkingSet {
  private readonly jobs = new Map<string, JobRecord>();
  /** Jobs in `starting` or `running` (a subset of `jobs`). */
  private readonly holding = new Map<string, JobRecord>();
  private readonly queuedByTenant = new Map<string, number>();
  /** Jobs whose pending view may have changed since the last `pendingDelta`. */
  private dirty = new Set<string>();
  /** Jobs the policy host holds as pending. */
  private readonly handedOver = new Set<string>();
  /** Queued jobs waiting out a retry backoff: id → notBefore. */
  private readonly deferred = new Map<string, number>();
  /** Tasks in a working state of each job array with a `%N` throttle. */
  private readonly throttled = new Map<string, Set<string>>();
  /** Throttled arrays with a task that changed since they were last weighed. */
  private readonly arraysToWeigh = new Set<string>();
  /** Tasks the throttle holds back: never handed to the policy. */
  private readonly held = new Set<string>();
  private needsReset = true;

  /** Replaces the whole set (start, or a resync); the next delta re-sends every pending job. */
  replaceAll(jobs: readonly JobRecord[]): void {
    this.jobs.clear();
    this.holding.clear();
    this.queuedByTenant.clear();
    this.deferred.clear();
    this.dirty.clear();
    this.throttled.clear();
    this.arraysToWeigh.clear();
    this.held.clear();
    for (const j of jobs) this.apply(j);
    this.needsReset = true;
  }

  /** A committed change of one job (or its current row re-read from the store). */
  apply(job: JobRecord): void {
    const before = this.jobs.get(job.id);
    if (before?.state === 'queued') this.countQueued(before.tenant, -1);
    if (WORKING.has(job.state)) {
      this.jobs.set(job.id, job);
      if (job.state === 'queued') {
        this.countQueued(job.tenant, 1);
        this.holding.delete(job.id);
      } else this.holding.set(job.id, job);
    } else {
      this.jobs.delete(job.id);
      this.holding.delete(job.id);
    }
    this.dirty.add(job.id);
    if (job.arrayId !== null && job.arrayThrottle !== null) this.trackTask(job, job.arrayId);
  }

  private trackTask(job: JobRecord, arrayId: string): void {
    let tasks = this.throttled.get(arrayId);
    if (WORKING.has(job.state)) {
      if (tasks === undefined) this.throttled.set(arrayId, (tasks = new Set()));
      tasks.add(job.id);
    } else if (tasks !== undefined) {
      tasks.delete(job.id);
      this.held.delete(job.id);
      if (tasks.size === 0) this.throttled.delete(arrayId);
    }
    this.arraysToWeigh.add(arrayId);
  }

  /** The job's pending view changed for a reason outside its record (its claim, its priority class). */
  touch(id: string): void {
    if (this.jobs.has(id)) this.dirty.add(id);
  }

  /** Every pending job is handed over again at the next delta (the policy or the host changed). */
  resendAll(): void {
    this.needsReset = true;
  }

  get(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  get size(): number {
    return this.jobs.size;
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  /** Every job in a working state. */
  all(): IterableIterator<JobRecord> {
    return this.jobs.values();
  }

  /** Jobs in `starting` or `running`. */
  holdingDevices(): JobRecord[] {
    return [...this.holding.values()];
  }

  /** A tenant's jobs in a working state (what its budgets reserve). */
  ofTenant(tenant: string): JobRecord[] {
    const out: JobRecord[] = [];
    for (const j of this.jobs.values()) if (j.tenant === tenant) out.push(j);
    return out;
  }

  /** Queued jobs of a tenant (what its `maxWaitingJobs` bounds). */
  queuedOf(tenant: string): number {
    return this.queuedByTenant.get(tenant) ?? 0;
  }

  /**
   * What the policy host must learn before the cycle at `now`: the pending jobs that are new or
   * changed, and those no longer pending. With `reset`, every pending job (the host forgets its
   * list first).
   */
  pendingDelta(
    now: number,
    entry: (job: JobRecord) => PendingEntry,
  ): { reset: boolean; upserts: PendingEntry[]; removals: string[]; held: HeldTask[] } {
    for (const [id, notBefore] of this.deferred)
      if (notBefore <= now) {
        this.deferred.delete(id);
        this.dirty.add(id);
        const arrayId = this.jobs.get(id)?.arrayId;
        if (arrayId != null && this.throttled.has(arrayId)) this.arraysToWeigh.add(arrayId);
      }
    const held = this.weighArrays(now);
    const upserts: PendingEntry[] = [];
    const removals: string[] = [];
    if (this.needsReset) {
      this.needsReset = false;
      this.dirty.clear();
      this.handedOver.clear();
      this.deferred.clear();
      for (const j of this.jobs.values())
        if (this.isPending(j, now)) {
          upserts.push(entry(j));
          this.handedOver.add(j.id);
        }
      upserts.sort((a, b) => a.seq - b.seq);
      return { reset: true, upserts, removals, held };
    }
    const dirty = this.dirty;
    this.dirty = new Set();
    for (const id of dirty) {
      const j = this.jobs.get(id);
      if (j !== undefined && this.isPending(j, now)) {
        upserts.push(entry(j));
        this.handedOver.add(id);
      } else if (this.handedOver.delete(id)) removals.push(id);
    }
    return { reset: false, upserts, removals, held };
  }

  /** Applies each changed array's throttle; returns the verdicts of tasks newly held back. */
  private weighArrays(now: number): HeldTask[] {
    const newlyHeld: HeldTask[] = [];
    for (const arrayId of this.arraysToWeigh) {
      const ids = this.throttled.get(arrayId);
      if (ids === undefined) continue;
      let active = 0;
      const queued: JobRecord[] = [];
      for (const id of ids) {
        const j = this.jobs.get(id);
        if (j === undefined) continue;
        if (j.state !== 'queued') active++;
        else if (j.notBefore === null || j.notBefore <= now) queued.push(j);
      }
      queued.sort((a, b) => a.seq - b.seq);
      const { held } = throttleArrays(queued, new Map([[arrayId, active]]));
      const nowHeld = new Map(held.map((h) => [h.jobId, h]));
      for (const j of queued) {
        const verdict = nowHeld.get(j.id);
        if (this.held.has(j.id) === (verdict !== undefined)) continue;
        this.dirty.add(j.id);
        if (verdict === undefined) this.held.delete(j.id);
        else {
          this.held.add(j.id);
          newlyHeld.push(verdict);
        }
      }
    }
    this.arraysToWeigh.clear();
    return newlyHeld;
  }

  private isPending(j: JobRecord, now: number): boolean {
    if (j.state !== 'queued' || this.held.has(j.id)) return false;
    if (j.notBefore !== null && j.notBefore > now) {
      this.deferred.set(j.id, j.notBefore);
      return false;
    }
    return true;
  }

  private countQueued(tenant: string, by: number): void {
    const n = (this.queuedByTenant.get(tenant) ?? 0) + by;
    if (n === 0) this.queuedByTenant.delete(tenant);
    else this.queuedByTenant.set(tenant, n);
  }
}
