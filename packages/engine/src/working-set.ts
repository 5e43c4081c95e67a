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
 */
import type { JobState } from '@suanli/core';
import type { JobRecord } from '@suanli/store';
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
  private needsReset = true;

  /** Replaces the whole set (start, or a resync); the next delta re-sends every pending job. */
  replaceAll(jobs: readonly JobRecord[]): void {
    this.jobs.clear();
    this.holding.clear();
    this.queuedByTenant.clear();
    this.deferred.clear();
    this.dirty.clear();
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
  ): { reset: boolean; upserts: PendingEntry[]; removals: string[] } {
    for (const [id, notBefore] of this.deferred)
      if (notBefore <= now) {
        this.deferred.delete(id);
        this.dirty.add(id);
      }
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
      return { reset: true, upserts, removals };
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
    return { reset: false, upserts, removals };
  }

  private isPending(j: JobRecord, now: number): boolean {
    if (j.state !== 'queued') return false;
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
