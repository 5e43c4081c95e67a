/**
 * Step "order": the jobs one cycle examines, in the order it examines them. With fair share off,
 * one global queue in queue order. With it on, tenants' queues interleaved: the tenant whose next
 * job fits inside its guarantee first, then the lower attained-service band, then the least decayed
 * usage per weight (plus what this cycle's order already charged it), each job taken charging its
 * tenant for it, so one cycle does not hand a whole hall to one tenant.
 */
import type { AcceleratorType } from '../../model/resources.js';
import type { SchedJob, Snapshot } from '../../model/scheduling.js';
import type { PolicyConfig } from '../config.js';
import type { QuotaBook } from '../quota.js';
import type { Queue, SchedulerCache } from './cache.js';
import type { TenantTurn } from './queue-order.js';
import { TenantHeap } from './queue-order.js';
import { cmpStr, GUARANTEE_LOOKAHEAD } from './values.js';

/** Called for every queue with jobs left beyond the examined part: from `from`, less the jobs in `skip`. */
export type RestOfQueue = (q: Queue, from: number, skip: ReadonlySet<SchedJob> | null) => void;

/**
 * Returns the first `backfill.maxJobsExamined` jobs in order, and calls `rest` for every other
 * pending job (tenant queues in name order, each from where the examined part stopped).
 */
export function orderJobs(
  config: PolicyConfig,
  cache: SchedulerCache,
  snapshot: Snapshot,
  quota: QuotaBook,
  rest: RestOfQueue,
): readonly SchedJob[] {
  const depth = config.backfill.maxJobsExamined;
  const queues = cache.queues;
  if (!config.fairShare.enabled) {
    const q = queues.get('*');
    if (q === undefined) return [];
    if (q.jobs.length <= depth) return q.jobs;
    rest(q, depth, null);
    return q.jobs.slice(0, depth);
  }
  return new FairShareOrder(config, cache, snapshot.usage ?? {}, quota).take(depth, rest);
}

/** One cycle's interleaving of tenant queues (see the module comment). */
class FairShareOrder {
  private readonly heap = new TenantHeap();
  /** Jobs pulled ahead of their tenant's queue order (see `turn`). */
  private readonly ahead = new Set<SchedJob>();
  private readonly turns: TenantTurn[] = [];

  constructor(
    private readonly config: PolicyConfig,
    private readonly cache: SchedulerCache,
    private readonly usage: Readonly<Record<string, number>>,
    quota: QuotaBook,
  ) {
    for (const name of [...cache.queues.keys()].sort(cmpStr)) {
      const quotas = quota.tenant(name).quotas;
      // the tenant's room inside its guarantee per type, as the cycle starts (the book does not change while ordering)
      const room = new Map<AcceleratorType, number>();
      let maxRoom = 0;
      for (const type in quotas) {
        const r = quota.guaranteed(name, type) - quota.usage(name, type);
        room.set(type, r);
        maxRoom = Math.max(maxRoom, r);
      }
      const jobs = cache.queues.get(name)?.jobs ?? [];
      const weight = quota.tenant(name).weight;
      const t: TenantTurn = {
        name,
        jobs,
        pos: 0,
        charged: 0,
        taken: 0,
        weight,
        room,
        maxRoom,
        job: undefined,
        cls: 0,
        band: 0,
        key: 0,
      };
      this.turns.push(t);
      if (this.turn(t)) this.heap.push(t);
    }
  }

  /** Does `job` fit inside its tenant's guarantee (some acceptable type), as if the jobs taken in order before it all start? */
  private fitsGuarantee(t: TenantTurn, job: SchedJob): boolean {
    const need = job.replicas * job.perReplica.accelerators;
    if (need === 0 || need > t.maxRoom - t.taken) return false;
    for (const type of this.cache.everFor(job))
      if (type !== null && (t.room.get(type) ?? 0) - t.taken >= need) return true;
    return false;
  }

  /**
   * Sets the job of the tenant's next turn: its next job in queue order, unless that job does not
   * fit inside the tenant's guarantee and one of the next GUARANTEE_LOOKAHEAD jobs does. That one
   * is pulled ahead, so a large job at the head does not make the tenant's small guaranteed jobs
   * wait behind borrowers (or behind a borrower's reservation). Jobs that fit inside their
   * tenant's guarantee go first (what Kueue does with nominal quota): a tenant that reclaimed
   * devices then gets them before any borrower's job can take them. False when the queue is done.
   */
  private turn(t: TenantTurn): boolean {
    const q = t.jobs;
    const ahead = this.ahead;
    let i = t.pos;
    while (i < q.length && ahead.has(q[i] as SchedJob)) i++;
    t.pos = i;
    let job = q[i];
    if (job === undefined) return false;
    let cls = this.fitsGuarantee(t, job) ? 0 : 1;
    if (cls === 1 && t.maxRoom - t.taken > 0 && this.config.preemption.reclaim) {
      for (let k = i + 1, seen = 0; k < q.length && seen < GUARANTEE_LOOKAHEAD; k++) {
        const cand = q[k] as SchedJob;
        if (ahead.has(cand)) continue;
        seen++;
        if (this.fitsGuarantee(t, cand)) {
          job = cand;
          cls = 0;
          break;
        }
      }
    }
    t.job = job;
    t.cls = cls;
    t.band = this.cache.bands.ofPending(job);
    t.key = ((this.usage[t.name] ?? 0) + t.charged) / t.weight;
    return true;
  }

  take(depth: number, rest: RestOfQueue): readonly SchedJob[] {
    const out: SchedJob[] = [];
    const heap = this.heap;
    const chargeCapS = this.config.fairShare.halfLifeMs / 1000;
    const guardMax = this.cache.pendingById.size + this.cache.queues.size;
    for (let guard = 0; guard < guardMax && heap.size > 0 && out.length < depth; guard++) {
      const top = heap.pop();
      if (top === undefined) break;
      const job = top.job;
      if (job === undefined) continue;
      out.push(job);
      if (job === top.jobs[top.pos]) top.pos++;
      else this.ahead.add(job);
      // charge the tenant for this job (devices × expected seconds, capped at one half-life)
      const secs = Math.min(job.timeLimitMs === null ? chargeCapS : job.timeLimitMs / 1000, chargeCapS);
      const devices = job.replicas * job.perReplica.accelerators;
      top.charged += Math.max(1, devices) * secs;
      top.taken += devices;
      if (this.turn(top)) heap.push(top);
    }
    for (const t of this.turns) {
      const q = this.cache.queues.get(t.name);
      if (q !== undefined && t.pos < q.jobs.length) rest(q, t.pos, this.ahead.size > 0 ? this.ahead : null);
    }
    return out;
  }
}
