/**
 * Steps "claim capacity", "try preemption" and "pick victims": whole running jobs stopped so that a
 * waiting job starts, losing least work.
 */
import type { AcceleratorType, Placement } from '../../model/resources.js';
import type { PendingDecision, RunningSchedJob, SchedJob } from '../../model/scheduling.js';
import type { ClusterCapacity, FreeState } from '../../placement/capacity.js';
import { deviceTypeOn, placementAccelerators } from '../../placement/capacity.js';
import type { AvailabilityProfile } from '../../placement/profile.js';
import type { PolicyConfig } from '../config.js';
import type { QuotaBook } from '../quota.js';
import type { OpenBookings } from './bookings.js';
import type { SchedulerCache, VictimIndex } from './cache.js';
import { runInfo } from './cache.js';
import { cmpStr, compareVictims, PREEMPTION_MAX_PLACEMENT_TESTS } from './values.js';

/** What the preemption steps read from the cycle they run in. */
export interface PreemptionContext {
  readonly config: PolicyConfig;
  readonly cache: SchedulerCache;
  readonly c: ClusterCapacity;
  readonly f: FreeState;
  readonly quota: QuotaBook;
  readonly profile: AvailabilityProfile;
  readonly open: OpenBookings;
  readonly now: number;
  /** Idle booked devices may go to other tenants' preemptible jobs (`bookings.lendIdle`). */
  readonly lendIdle: boolean;
  /** Jobs already chosen as victims this cycle. */
  readonly victimIds: ReadonlySet<string>;
  /** How many victims this cycle has chosen so far. */
  readonly victimCount: number;
  /** Jobs that have run long enough, per (type, tenant, minimum runtime), filtered once per cycle. */
  readonly ranEnoughCache: Map<string, readonly RunningSchedJob[]>;
}

export interface Victim {
  readonly job: RunningSchedJob;
  readonly reason: string;
}

/** A preemption found for a job: its victims (none: jobs already stopping make room), where and when it starts. */
export interface Preemption {
  readonly victims: Victim[];
  readonly placement: Placement;
  readonly type: AcceleratorType;
  readonly startTime: number;
  readonly why: string;
}

/** A possible victim, why it may be one, and its attained-service band. */
interface Candidate {
  readonly job: RunningSchedJob;
  readonly kind: 'reclaim' | 'priority' | 'service' | 'service-borrower' | 'move';
  readonly band: number;
}

/**
 * Step "claim capacity": each examined job that jobs are stopping for (`preemptedFor`) gets the
 * capacity they free reserved from the end of their grace period (their devices, with what is free
 * beside them); its quota is charged. Returns the ids of the jobs so handled (verdicts pushed).
 */
export function claimCapacity(
  cx: PreemptionContext,
  examined: readonly SchedJob[],
  pending: PendingDecision[],
): Set<string> {
  const claimed = new Set<string>();
  const { cache, now } = cx;
  if (cache.stoppingJobs.size === 0) return claimed;
  const byClaimant = new Map<string, RunningSchedJob[]>();
  for (const s of cache.stoppingJobs) {
    const p = s.preemptedFor;
    if (p === undefined || p === null || !cache.pendingById.has(p)) continue;
    const l = byClaimant.get(p);
    if (l === undefined) byClaimant.set(p, [s]);
    else l.push(s);
  }
  if (byClaimant.size === 0) return claimed;
  const firstAt = (l: readonly RunningSchedJob[]): number => Math.min(...l.map((s) => s.preemptedAt ?? now));
  const claimants = examined.filter((j) => byClaimant.has(j.id) && !cx.open.insideIds.has(j.id));
  claimants.sort(
    (a, b) => firstAt(byClaimant.get(a.id) ?? []) - firstAt(byClaimant.get(b.id) ?? []) || cmpStr(a.id, b.id),
  );
  for (const job of claimants) {
    const victims = (byClaimant.get(job.id) ?? []).sort((a, b) => cmpStr(a.id, b.id));
    const first = victims[0];
    const type = first === undefined ? null : runInfo(cx.c, first).type;
    if (type === null) continue;
    const need = job.replicas * job.perReplica.accelerators;
    const picked = pickVictims(cx, job, type, need, victims, [], 0, () => false);
    if (picked === null) continue; // its victims no longer make room: it is considered as usual
    cx.profile.reserve(
      job.id,
      picked.placement,
      picked.startTime,
      job.timeLimitMs === null ? Infinity : picked.startTime + job.timeLimitMs,
    );
    cx.quota.add(job.tenant, job.project, type, need);
    claimed.add(job.id);
    const ids = victims.map((v) => v.id);
    pending.push({
      jobId: job.id,
      verdict: 'waits-for-capacity',
      reason: `waiting for preempted job(s) ${ids.join(', ')} to stop; the capacity is reserved for it`,
      estimatedStart: picked.startTime,
      detail: { code: 'awaits-preempted', victims: ids, at: picked.startTime },
    });
  }
  return claimed;
}

/**
 * Step "try preemption". Finds whole running jobs whose capacity would let `job` start, losing
 * least work. Candidates, each only once it has run long enough:
 *  - reclaim: when the job fits inside its tenant's guarantee, other tenants' jobs while their
 *    tenant borrows above its guarantee;
 *  - priority (`withinTenant: lower-priority`): its own tenant's lower-priority jobs;
 *  - attained service (LAS on): its own tenant's jobs of at most its priority and of a higher
 *    band, and other tenants' jobs of a higher band while their tenant stays at or above its
 *    guarantee without them (borrowed capacity goes to the least-served work; a guarantee is
 *    never taken for it).
 * Most-served band first, then `compareVictims`. Already-stopping jobs count as free capacity (no
 * second round of victims for the same need). Jobs running inside their tenant's booking are never
 * taken (the booking is theirs). Returns null when preemption is not allowed or does not help;
 * changes nothing then.
 */
export function tryPreemption(
  cx: PreemptionContext,
  job: SchedJob,
  allowed: readonly (AcceleratorType | null)[],
  need: number,
): Preemption | null {
  const P = cx.config.preemption;
  const bands = cx.cache.bands;
  const withinTenant = P.withinTenant === 'lower-priority';
  if (!P.reclaim && !withinTenant && !bands.enabled) return null;
  const budget = P.maxVictimsPerCycle - cx.victimCount;
  const myBand = bands.ofPending(job);
  const reclaimMinRunMs = Math.min(P.minRuntimeMs, Math.max(0, P.boundedReclaimTimeMs - P.gracePeriodMs));
  for (const type of allowed) {
    if (type === null) continue;
    const reclaim = P.reclaim && cx.quota.withinGuarantee(job.tenant, type, need);
    const service = bands.enabled && myBand < bands.count - 1;
    if (!reclaim && !withinTenant && !service) continue;
    if (!mayHaveVictims(cx, job, type, reclaim, withinTenant, service, reclaimMinRunMs)) continue;
    const idx = cx.cache.victimIndex(type);
    const stopping = cx.cache.stoppingFor(idx, job);
    const eligible = candidates(cx, job, type, idx, {
      reclaim,
      withinTenant,
      service,
      myBand,
      reclaimMinRunMs,
    });
    if (stopping.length === 0 && eligible.length === 0) continue;
    eligible.sort((a, b) => b.band - a.band || compareVictims(a.job, b.job));
    const admit = (e: Candidate, removedByTenant: Map<string, number>): boolean =>
      admitCandidate(cx, type, e, removedByTenant);
    const movable = reclaim ? (node: number) => movableOn(cx, node, type, reclaimMinRunMs) : undefined;
    const picked = pickVictims(cx, job, type, need, stopping, eligible, budget, admit, movable);
    if (picked === null) continue;
    if (picked.chosen.length === 0)
      return {
        victims: [],
        placement: picked.placement,
        type,
        startTime: picked.startTime,
        why: 'already stopping',
      };
    return {
      ...describePreemption(cx, job, type, myBand, picked.chosen),
      placement: picked.placement,
      type,
      startTime: picked.startTime,
    };
  }
  return null;
}

/**
 * An O(tenants) pre-check before touching the victim index: conservative (it may let through a
 * type with no victim, never the reverse).
 */
function mayHaveVictims(
  cx: PreemptionContext,
  job: SchedJob,
  type: AcceleratorType,
  reclaim: boolean,
  withinTenant: boolean,
  service: boolean,
  reclaimMinRunMs: number,
): boolean {
  const { cache, now, quota } = cx;
  const minRuntimeMs = cx.config.preemption.minRuntimeMs;
  if ((cache.stoppingByType.get(type) ?? 0) > 0) return true;
  const stats = cache.runStats.get(type);
  if (withinTenant) {
    const st = stats?.get(job.tenant);
    if (st !== undefined && st.minPriority < job.priority && st.earliestStart + minRuntimeMs <= now)
      return true;
  }
  if (stats === undefined || (!reclaim && !service)) return false;
  for (const [tenant, st] of stats) {
    if (
      service &&
      (tenant === job.tenant || quota.isBorrowing(tenant, type)) &&
      st.earliestStart + minRuntimeMs <= now
    )
      return true;
    if (
      reclaim &&
      tenant !== job.tenant &&
      st.earliestStart + reclaimMinRunMs <= now &&
      quota.isBorrowing(tenant, type)
    )
      return true;
  }
  return false;
}

/** The candidates of one type, at most `preemption.maxCandidatesPerJob` per tenant and kind of reason. */
function candidates(
  cx: PreemptionContext,
  job: SchedJob,
  type: AcceleratorType,
  idx: VictimIndex,
  why: { reclaim: boolean; withinTenant: boolean; service: boolean; myBand: number; reclaimMinRunMs: number },
): Candidate[] {
  const { cache, now, quota, c } = cx;
  const P = cx.config.preemption;
  const taken = cx.victimIds;
  const insideBooking = cx.open.insideIds;
  const eligible: Candidate[] = [];
  const scanMax = P.maxCandidatesPerJob;
  const ranEnough = (tenant: string, minRunMs: number): readonly RunningSchedJob[] => {
    const key = `${type}\u0000${tenant}\u0000${minRunMs}`;
    let l = cx.ranEnoughCache.get(key);
    if (l === undefined) {
      l = cache.eligibleSince(idx.byTenant.get(tenant) ?? [], minRunMs, now);
      cx.ranEnoughCache.set(key, l);
    }
    return l;
  };
  const bandOfRunning = (r: RunningSchedJob): number => cache.bands.ofRunning(c, r, now);
  for (const tenant of idx.byTenant.keys()) {
    const own = tenant === job.tenant;
    const borrowing = !own && quota.isBorrowing(tenant, type);
    let found = 0;
    if (why.reclaim && borrowing) {
      for (const r of ranEnough(tenant, why.reclaimMinRunMs)) {
        if (found >= scanMax) break;
        if (taken.has(r.id) || insideBooking.has(r.id)) continue;
        eligible.push({ job: r, kind: 'reclaim', band: bandOfRunning(r) });
        found++;
      }
      continue;
    }
    if (own && why.withinTenant) {
      // sorted by priority ascending: the lower-priority jobs are a prefix
      for (const r of ranEnough(tenant, P.minRuntimeMs)) {
        if (found >= scanMax || r.priority >= job.priority) break;
        if (taken.has(r.id)) continue;
        eligible.push({ job: r, kind: 'priority', band: bandOfRunning(r) });
        found++;
      }
    }
    if (why.service && (own || borrowing)) {
      for (const r of ranEnough(tenant, P.minRuntimeMs)) {
        if (found >= scanMax) break;
        if (r.priority > job.priority || (own && why.withinTenant && r.priority < job.priority)) continue; // higher: never; lower: taken above
        if (taken.has(r.id) || insideBooking.has(r.id)) continue;
        const band = bandOfRunning(r);
        if (band <= why.myBand) continue;
        eligible.push({ job: r, kind: own ? 'service' : 'service-borrower', band });
        found++;
      }
    }
  }
  return eligible;
}

/**
 * May `e` be a victim, given the devices already taken per tenant? A borrower's job: reclaim takes
 * it while its tenant is still above its guarantee; LAS only if its tenant stays at or above its
 * guarantee without it. Records what it takes in `removedByTenant`.
 */
function admitCandidate(
  cx: PreemptionContext,
  type: AcceleratorType,
  e: Candidate,
  removedByTenant: Map<string, number>,
): boolean {
  if (e.kind === 'priority' || e.kind === 'service') return true;
  const quota = cx.quota;
  const removed = removedByTenant.get(e.job.tenant) ?? 0;
  const devices = runInfo(cx.c, e.job).devices;
  const left = quota.usage(e.job.tenant, type) - removed - (e.kind === 'reclaim' ? 0 : devices);
  const guaranteed = quota.guaranteed(e.job.tenant, type);
  if (e.kind === 'reclaim' ? left <= guaranteed : left < guaranteed) return false;
  removedByTenant.set(e.job.tenant, removed + devices);
  return true;
}

/** Why the job preempts, and each victim's reason. */
function describePreemption(
  cx: PreemptionContext,
  job: SchedJob,
  type: AcceleratorType,
  myBand: number,
  chosen: readonly Candidate[],
): { victims: Victim[]; why: string } {
  const { quota } = cx;
  const bands = cx.cache.bands;
  const kinds = new Set(chosen.map((e) => e.kind));
  const why = [
    kinds.has('reclaim') || kinds.has('move') ? `tenant ${job.tenant} reclaims its guaranteed ${type}` : null,
    kinds.has('priority') ? `priority ${job.priority} outranks them within tenant ${job.tenant}` : null,
    kinds.has('service') || kinds.has('service-borrower')
      ? `least attained service: job ${job.id} has had less than ${bands.text(myBand + 1)}`
      : null,
  ]
    .filter((x) => x !== null)
    .join('; ');
  const victims = chosen.map((e) => ({
    job: e.job,
    reason:
      e.kind === 'move'
        ? `moved: tenant ${job.tenant} needs node ${e.job.placement[0]?.node ?? '?'} whole for job ${job.id} inside its guarantee; job ${e.job.id} of tenant ${e.job.tenant} (inside its own guarantee) restarts at once on free devices elsewhere`
        : e.kind === 'reclaim'
          ? `reclaimed: tenant ${e.job.tenant} borrows ${type} above its guarantee (${quota.usage(e.job.tenant, type)} used, ${quota.guaranteed(e.job.tenant, type)} guaranteed) and tenant ${job.tenant} needs its guaranteed share back for job ${job.id}`
          : e.kind === 'priority'
            ? `outranked: job ${job.id} of tenant ${job.tenant} has priority ${job.priority} > ${e.job.priority}`
            : `least attained service: it has had at least ${bands.text(e.band)} of service; job ${job.id} of tenant ${job.tenant} has had less than ${bands.text(myBand + 1)}` +
              (e.kind === 'service-borrower'
                ? ` (tenant ${e.job.tenant} keeps its guarantee of ${quota.guaranteed(e.job.tenant, type)} ${type})`
                : ''),
  }));
  return { victims, why };
}

/**
 * Jobs on `node` that a reclaim may move: one-replica, preemptible jobs of `type`, not stopping,
 * of tenants inside their guarantee (a borrower's are reclaim candidates anyway), that have run
 * long enough; least work lost first. Their tenant's guarantee holds: they restart on free
 * devices elsewhere within the grace period and one cycle (they are considered first then, being
 * inside it).
 */
function movableOn(
  cx: PreemptionContext,
  node: number,
  type: AcceleratorType,
  minRunMs: number,
): Candidate[] {
  const { now, c, quota } = cx;
  const out: Candidate[] = [];
  for (const r of cx.cache.onNode(node)) {
    if (now - r.startTime < minRunMs || cx.victimIds.has(r.id) || cx.open.insideIds.has(r.id)) continue;
    if (runInfo(c, r).type !== type || quota.isBorrowing(r.tenant, type)) continue;
    out.push({ job: r, kind: 'move', band: 0 });
  }
  return out;
}

/**
 * Step "try preemption" for a job inside its tenant's open booking: the booking lent its idle
 * devices to other tenants' preemptible jobs; evict those (whole, with the grace period) so the
 * owner's job starts within the grace period and one cycle. Candidates: other tenants' preemptible
 * jobs of the type that started since the booking opened (only they can hold its lent devices;
 * before it opened nothing of theirs could run into it) and do not run inside bookings of their
 * own, at most `preemption.maxCandidatesPerJob` per tenant, in victim order. Neither `minRuntime`
 * nor the preemption switches apply: a lent job runs on borrowed time.
 */
export function tryEvictForBooking(
  cx: PreemptionContext,
  job: SchedJob,
  inside: readonly AcceleratorType[],
  need: number,
): Preemption | null {
  const P = cx.config.preemption;
  const budget = P.maxVictimsPerCycle - cx.victimCount;
  const end = cx.now + (job.timeLimitMs ?? 0);
  for (const type of inside) {
    const since = cx.open.openedAt(job.tenant, type);
    const w = cx.open.window(job.tenant, type, end);
    const idx = cx.cache.victimIndex(type);
    const eligible: { job: RunningSchedJob }[] = [];
    for (const [tenant, list] of idx.byTenant) {
      if (tenant === job.tenant) continue;
      let found = 0;
      for (const r of list) {
        if (found >= P.maxCandidatesPerJob) break;
        if (r.startTime < since || cx.victimIds.has(r.id) || cx.open.insideIds.has(r.id)) continue;
        eligible.push({ job: r });
        found++;
      }
    }
    const stopping = cx.cache.stoppingFor(idx, job);
    if (stopping.length === 0 && eligible.length === 0) continue;
    eligible.sort((a, b) => compareVictims(a.job, b.job));
    const picked = pickVictims(cx, job, type, need, stopping, eligible, budget, () => true);
    if (picked === null) continue;
    const wid = w?.id ?? '?';
    if (picked.chosen.length === 0)
      return {
        victims: [],
        placement: picked.placement,
        type,
        startTime: picked.startTime,
        why: 'already stopping',
      };
    return {
      victims: picked.chosen.map((e) => ({
        job: e.job,
        reason: `evicted: job ${e.job.id} of tenant ${e.job.tenant} was lent idle ${type} booked by tenant ${job.tenant} (booking window ${wid}); the owner needs it back for job ${job.id}`,
      })),
      placement: picked.placement,
      type,
      startTime: picked.startTime,
      why: `booking window ${wid} of tenant ${job.tenant} takes back the ${type} it lent`,
    };
  }
  return null;
}

/** May `e` be a victim, given the devices already taken per tenant (recorded by `admit`)? */
type Admit<E> = (e: E, removedByTenant: Map<string, number>) => boolean;

/** Victims picked, and where and when the job starts once they stop. */
interface Picked<E> {
  readonly chosen: E[];
  readonly placement: Placement;
  readonly startTime: number;
}

/**
 * Step "pick victims", shared by claims, reclaim, priority, attained service and booking eviction.
 * Jobs already stopping count as free first (their devices come back anyway: no victims then).
 * Then, for a one-replica job, node by node: on each node that could hold it, the fewest
 * candidates (in the given order, `admit` may refuse one) whose devices there cover what the node
 * lacks; nodes tried fewest victims first, each verified by RUN_NOW with its victims released, so
 * the victims are the ones that make this job fit (not devices scattered over the hall that no
 * replica can use). For gangs, and when no single node works: candidates released one by one until
 * RUN_NOW fits, then the ones not needed dropped again (last chosen first back). Both within the
 * victim budget and PREEMPTION_MAX_PLACEMENT_TESTS. Returns null when no set is found; the free
 * state is left as it was.
 *
 * `movable`: one-replica jobs on a node that may be moved (stopped and restarted at once on free
 * devices elsewhere) when the node's candidates alone do not free enough; each is taken only if
 * such free devices exist for it.
 */
export function pickVictims<E extends { readonly job: RunningSchedJob }>(
  cx: PreemptionContext,
  job: SchedJob,
  type: AcceleratorType,
  need: number,
  stopping: readonly RunningSchedJob[],
  eligible: readonly E[],
  budget: number,
  admit: Admit<E>,
  movable?: (node: number) => readonly E[],
): Picked<E> | null {
  const f = cx.f;
  const m = f.mark();
  try {
    return new VictimSearch(cx, job, type, need, eligible, budget, admit, movable).run(stopping);
  } finally {
    f.rollback(m);
  }
}

/** One plan for a one-replica job: the victims that free one node for it. */
interface NodePlan<E> {
  readonly node: number;
  readonly chosen: E[];
  readonly moved: number;
  readonly cost: number;
}

/** A candidate chosen on a node: moved jobs carry the victims whose devices they restart on (`homeFrom`). */
interface Chosen<E> {
  readonly e: E;
  readonly rank: number;
  readonly devices: number;
  readonly moved: boolean;
  readonly homeFrom: E[];
}

/** One `pickVictims` search (see there); mutates the free state, which `pickVictims` rolls back. */
class VictimSearch<E extends { readonly job: RunningSchedJob }> {
  private readonly candidates: readonly E[];
  private fitTests = 0;
  /** Candidates per node, in the given order (a gang victim is listed on each of its nodes). */
  private readonly onNode = new Map<number, { e: E; rank: number; devices: number }[]>();
  private readonly moves = new Set<E>();
  /** Free devices of `type` per node, for homes of moved jobs (read once). */
  private freeElsewhere: { node: number; free: number }[] | null = null;

  constructor(
    private readonly cx: PreemptionContext,
    private readonly job: SchedJob,
    private readonly type: AcceleratorType,
    private readonly need: number,
    eligible: readonly E[],
    private readonly budget: number,
    private readonly admit: Admit<E>,
    private readonly movable: ((node: number) => readonly E[]) | undefined,
  ) {
    this.candidates = eligible.slice(0, cx.config.preemption.maxCandidatesPerJob);
  }

  private get startTime(): number {
    return this.cx.now + this.cx.config.preemption.gracePeriodMs;
  }

  /** RUN_NOW on the free state with the victims released: respects reservations and bookings. */
  private fits(): Placement | null {
    const job = this.job;
    const a = this.cx.profile.ask('run-now', {
      jobId: job.id,
      tenant: job.tenant,
      replicas: job.replicas,
      perReplica: job.perReplica,
      durationMs: job.timeLimitMs,
      types: [this.type],
      preemptible: this.cx.lendIdle && job.preemptible,
    });
    return a.ok ? a.placement : null;
  }

  run(stopping: readonly RunningSchedJob[]): Picked<E> | null {
    const { f, now } = this.cx;
    // stopping jobs: their devices are coming back anyway
    let stopEnd = now;
    for (const s of stopping) {
      f.givePlacement(s.placement);
      stopEnd = Math.max(stopEnd, (s.preemptedAt ?? now) + this.cx.config.preemption.gracePeriodMs);
    }
    const viaStopping = stopping.length > 0 ? this.fits() : null;
    if (viaStopping !== null) return { chosen: [], placement: viaStopping, startTime: stopEnd };
    if (this.job.perReplica.accelerators > 0) {
      this.indexByNode();
      const plans = this.nodePlans();
      // fewest moved jobs, then fewest victims, then least work lost
      plans.sort(
        (a, b) =>
          a.moved - b.moved || a.chosen.length - b.chosen.length || a.cost - b.cost || a.node - b.node,
      );
      const found = this.job.replicas === 1 ? this.tryNodePlans(plans) : this.tryGangPlans(plans);
      if (found !== null) return found;
    }
    return this.releaseUntilFits();
  }

  private indexByNode(): void {
    const c = this.cx.c;
    this.candidates.forEach((e, rank) => {
      const here = new Map<number, number>(); // node → its devices of `type` there
      for (const r of e.job.placement) {
        const nc = c.byName.get(r.node);
        if (nc === undefined) continue;
        for (const id of r.acceleratorIds)
          if (deviceTypeOn(nc, id) === this.type) here.set(nc.index, (here.get(nc.index) ?? 0) + 1);
      }
      for (const [node, devices] of here) {
        let l = this.onNode.get(node);
        if (l === undefined) this.onNode.set(node, (l = []));
        l.push({ e, rank, devices });
      }
    });
  }

  /** Per node that could hold one replica, the fewest victims (moves included) that free it. */
  private nodePlans(): NodePlan<E>[] {
    const { c, f } = this.cx;
    const per = this.job.perReplica.accelerators;
    const plans: NodePlan<E>[] = [];
    for (const [node, list] of this.onNode) {
      const nc = c.nodes[node];
      if (nc === undefined || !nc.schedulable || (nc.devicesByType.get(this.type)?.length ?? 0) < per)
        continue;
      const lacking = per - f.nodeFreeCount(node, this.type);
      if (lacking <= 0) continue; // enough devices already: something else stops it (reservation, CPU)
      const removed = new Map<string, number>();
      const chosen: Chosen<E>[] = [];
      let freed = 0;
      for (const x of list) {
        if (chosen.length >= this.budget || freed >= lacking) break;
        if (!this.admit(x.e, removed)) continue;
        chosen.push({ ...x, moved: false, homeFrom: [] });
        freed += x.devices;
      }
      if (freed < lacking && this.movable !== undefined)
        freed += this.moveJobs(node, lacking - freed, chosen, removed);
      if (freed < lacking) continue;
      plans.push(this.trimPlan(node, chosen, freed, lacking));
    }
    return plans;
  }

  /**
   * Not enough from candidates: move jobs that have somewhere else to go right now (each to the
   * fullest node it fits: best fit), or, where no node has room, to a node whose candidates
   * (borrowers) are reclaimed to make it: a move that chains. Returns the devices freed.
   */
  private moveJobs(node: number, lacking: number, chosen: Chosen<E>[], removed: Map<string, number>): number {
    const f = this.cx.f;
    const type = this.type;
    this.freeElsewhere ??= f.nodesWithFree(type).map((n) => ({ node: n, free: f.nodeFreeCount(n, type) }));
    const room = new Map<number, number>();
    const taken = (x: E): boolean => chosen.some((y) => y.e.job === x.job || y.homeFrom.includes(x));
    let freed = 0;
    for (const e of (this.movable as (node: number) => readonly E[])(node)) {
      if (chosen.length >= this.budget || freed >= lacking) break;
      if (taken(e)) continue;
      const d = placementAccelerators(e.job.placement);
      let home: { node: number; free: number } | undefined;
      for (const h of this.freeElsewhere) {
        const left = h.free - (room.get(h.node) ?? 0);
        if (
          h.node !== node &&
          left >= d &&
          (home === undefined || left < home.free - (room.get(home.node) ?? 0))
        )
          home = h;
      }
      const homeFrom: E[] = [];
      if (home === undefined) {
        const made = this.makeHome(node, d, room, taken, removed, this.budget - chosen.length - 1);
        if (made === null) continue;
        home = { node: made.node, free: d + (room.get(made.node) ?? 0) };
        homeFrom.push(...made.victims);
      }
      room.set(home.node, (room.get(home.node) ?? 0) + d);
      chosen.push({ e, rank: this.candidates.length, devices: d, moved: true, homeFrom });
      freed += d;
    }
    return freed;
  }

  /**
   * A home for a moved job of `d` devices on a node other than `away`, made by reclaiming
   * candidates there (fewest first, within `budgetLeft`): the node whose free devices, less what
   * moved jobs already claimed, plus those of its admitted candidates reach `d`.
   */
  private makeHome(
    away: number,
    d: number,
    claimed: ReadonlyMap<number, number>,
    taken: (x: E) => boolean,
    removed: Map<string, number>,
    budgetLeft: number,
  ): { node: number; victims: E[] } | null {
    const { c, f } = this.cx;
    let best: { node: number; victims: E[]; removed: Map<string, number> } | null = null;
    for (const [n, l] of this.onNode) {
      if (n === away || c.nodes[n]?.schedulable !== true) continue;
      let have = f.nodeFreeCount(n, this.type) - (claimed.get(n) ?? 0);
      const victims: E[] = [];
      const trial = new Map(removed);
      for (const x of l) {
        if (have >= d || victims.length >= budgetLeft) break;
        // whole jobs on this node only (a gang's devices elsewhere would not help here)
        if (x.devices !== placementAccelerators(x.e.job.placement) || taken(x.e) || !this.admit(x.e, trial))
          continue;
        victims.push(x.e);
        have += x.devices;
      }
      if (have >= d && victims.length > 0 && (best === null || victims.length < best.victims.length))
        best = { node: n, victims, removed: trial };
    }
    if (best === null) return null;
    for (const [k, v] of best.removed) removed.set(k, v);
    return { node: best.node, victims: best.victims };
  }

  /**
   * The node's plan with the victims not needed dropped (last chosen first back), as the search of
   * `releaseUntilFits` does; a moved job's home victims go with it.
   */
  private trimPlan(node: number, chosen: Chosen<E>[], freed: number, lacking: number): NodePlan<E> {
    let moved = 0;
    for (const x of chosen) {
      if (!x.moved) continue;
      this.moves.add(x.e);
      moved++;
    }
    for (let i = chosen.length - 2; i >= 0; i--) {
      const x = chosen[i] as Chosen<E>;
      if (freed - x.devices >= lacking) {
        freed -= x.devices;
        if (x.moved) moved--;
        chosen.splice(i, 1);
      }
    }
    const all = chosen.flatMap((x) => [x.e, ...x.homeFrom]);
    const n = this.candidates.length;
    return {
      node,
      chosen: all,
      moved,
      cost: chosen.reduce((sum, x) => sum + x.rank + x.homeFrom.length * n, 0),
    };
  }

  /** A one-replica job: the plans in order, each checked by RUN_NOW with its victims released. */
  private tryNodePlans(plans: readonly NodePlan<E>[]): Picked<E> | null {
    const f = this.cx.f;
    for (const plan of plans) {
      if (this.fitTests++ >= PREEMPTION_MAX_PLACEMENT_TESTS) break;
      const mm = f.mark();
      for (const e of plan.chosen) f.givePlacement(e.job.placement);
      const placement = this.fits();
      if (placement !== null) return { chosen: plan.chosen, placement, startTime: this.startTime };
      f.rollback(mm);
    }
    return null;
  }

  /**
   * A gang: nodes that already have room, then the cheapest plans, one replica each, the victims
   * admitted again all together; one RUN_NOW check of the whole gang.
   */
  private tryGangPlans(plans: readonly NodePlan<E>[]): Picked<E> | null {
    const { c, f } = this.cx;
    const job = this.job;
    const per = job.perReplica.accelerators;
    const union: E[] = [];
    const removed = new Map<string, number>();
    let nodesReady = 0;
    for (const n of f.nodesWithFree(this.type)) {
      if (nodesReady >= job.replicas) break;
      if (f.nodeFreeCount(n, this.type) >= per && c.nodes[n]?.schedulable === true) nodesReady++;
    }
    for (const plan of plans) {
      if (nodesReady >= job.replicas) break;
      const fresh = plan.chosen.filter((e) => !union.includes(e));
      if (union.length + fresh.length > this.budget) continue;
      const mm = new Map(removed);
      if (!fresh.every((e) => this.moves.has(e) || this.admit(e, mm))) continue;
      for (const [k, v] of mm) removed.set(k, v);
      union.push(...fresh);
      nodesReady++;
    }
    if (nodesReady >= job.replicas && union.length > 0 && this.fitTests++ < PREEMPTION_MAX_PLACEMENT_TESTS) {
      const mm = f.mark();
      for (const e of union) f.givePlacement(e.job.placement);
      const placement = this.fits();
      if (placement !== null) return { chosen: union, placement, startTime: this.startTime };
      f.rollback(mm);
    }
    return null;
  }

  /** Candidates released one by one until RUN_NOW fits, then the ones not needed taken back. */
  private releaseUntilFits(): Picked<E> | null {
    const f = this.cx.f;
    const chosen: E[] = [];
    const removed = new Map<string, number>();
    let placement: Placement | null = null;
    for (const e of this.candidates) {
      if (chosen.length >= this.budget) break;
      if (!this.admit(e, removed)) continue;
      f.givePlacement(e.job.placement);
      chosen.push(e);
      if (f.freeOfType(this.type) < this.need) continue; // O(1): not enough devices yet
      if (this.fitTests++ >= PREEMPTION_MAX_PLACEMENT_TESTS) break;
      placement = this.fits();
      if (placement !== null) break;
    }
    if (placement === null) return null;
    // keep only the victims that are needed (last chosen first back)
    for (let i = chosen.length - 2; i >= 0; i--) {
      const e = chosen[i];
      if (e === undefined) continue;
      const mm = f.mark();
      f.takePlacement(e.job.placement);
      const p = this.fits();
      if (p !== null) {
        placement = p;
        chosen.splice(i, 1);
      } else f.rollback(mm);
    }
    return { chosen, placement, startTime: this.startTime };
  }
}
