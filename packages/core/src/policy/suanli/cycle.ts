/**
 * One cycle of the `suanli` policy over one snapshot, as the named steps of `suanli.ts`'s header:
 * quotas, order, claim capacity, then for each examined job a decision (`decide`: can it ever fit,
 * which types quota allows, start now, try preemption, backfill) dispatched as Start | Preempt |
 * Pending. The cycle reads the cache and changes only its own state and the free state's log,
 * which the caller rolls back.
 */
import type { AcceleratorType, Placement } from '../../model/resources.js';
import type {
  PendingDecision,
  PreemptDecision,
  ReservedWindow,
  RunningSchedJob,
  ScheduleResult,
  SchedJob,
  Snapshot,
  StartDecision,
} from '../../model/scheduling.js';
import type { ClusterCapacity, FreeState } from '../../placement/capacity.js';
import type { PlacementAnswer, ProfileBounds } from '../../placement/profile.js';
import { AvailabilityProfile } from '../../placement/profile.js';
import type { PolicyConfig } from '../config.js';
import { QuotaBook } from '../quota.js';
import { nextBookingFor, OpenBookings } from './bookings.js';
import type { SchedulerCache } from './cache.js';
import { runInfo } from './cache.js';
import { orderJobs } from './order.js';
import type { Preemption, PreemptionContext } from './preempt.js';
import { claimCapacity, tryEvictForBooking, tryPreemption } from './preempt.js';
import { moveToFront } from './queue-order.js';
import { cmpStr, describeRequest, isoOrMs, neverFitReason, noNodeFitsDetail } from './values.js';
import type { FreeOfType, OverQuotaDetail, VerdictDetail } from '../../verdict.js';
import { bookedUntilDetail, estimatedStartDetail, runsInBookingDetail } from '../../verdict.js';

/** What one job's examination comes to. */
type Outcome =
  | {
      readonly kind: 'start';
      readonly placement: Placement;
      readonly type: AcceleratorType | null;
      readonly inside: boolean;
      readonly need: number;
    }
  | {
      readonly kind: 'preempt';
      readonly preemption: Preemption;
      readonly inside: boolean;
      readonly need: number;
    }
  | { readonly kind: 'pending'; readonly decision: PendingDecision };

/** Which search budgets a job's examination spent (a copied verdict spends the same). */
interface Probe {
  ranNowTest: boolean;
  reachedEstimate: boolean;
  estimated: boolean;
}

/**
 * The verdict of the last blocked job of one identity, the state it was made in (`version`), and
 * the time limit it read (undefined: it read none).
 */
interface BlockedVerdict {
  readonly version: number;
  readonly timeLimitMs: number | null | undefined;
  readonly decision: PendingDecision;
  readonly ranNowTest: boolean;
  readonly reachedEstimate: boolean;
}

/** The types a job may use now: inside its tenant's open booking (`inside`), or those quota allows. */
interface Admissible {
  readonly allowed: readonly (AcceleratorType | null)[];
  readonly inside: readonly AcceleratorType[];
}

const pendingOf = (decision: PendingDecision): Outcome => ({ kind: 'pending', decision });

export class Cycle implements PreemptionContext {
  readonly c: ClusterCapacity;
  readonly f: FreeState;
  readonly now: number;
  readonly quota: QuotaBook;
  readonly open: OpenBookings;
  readonly profile: AvailabilityProfile;
  readonly victimIds = new Set<string>();
  readonly ranEnoughCache = new Map<string, readonly RunningSchedJob[]>();

  private readonly windows: readonly ReservedWindow[];
  private readonly starts: StartDecision[] = [];
  private readonly preemptions: PreemptDecision[] = [];
  private readonly pending: PendingDecision[] = [];
  private tested = 0;
  private estimates = 0;
  private backfillReservations = 0;
  private firstBlocked: SchedJob | null = null;
  /** (tenant, priority, band, request shape) for which preemption found nothing this cycle. */
  private readonly noVictims = new Set<string>();
  /** Per job identity (see `consider`). */
  private readonly blockedLike = new Map<number, BlockedVerdict>();
  /** "N nvidia-h200 free" (and the counts) per list of allowed types; cleared whenever something starts. */
  private readonly freeText = new Map<
    readonly (AcceleratorType | null)[],
    { readonly text: string; readonly free: readonly FreeOfType[] }
  >();

  constructor(
    readonly config: PolicyConfig,
    readonly cache: SchedulerCache,
    private readonly snapshot: Snapshot,
    bounds: ProfileBounds,
    readonly lendIdle: boolean,
  ) {
    this.c = cache.cap;
    this.f = cache.free;
    this.now = snapshot.now;
    this.windows = snapshot.windows ?? [];
    this.quota = this.quotas();
    this.open = this.openBookings();
    this.profile = new AvailabilityProfile(
      this.c,
      this.f,
      this.now,
      cache.sortedHolds(),
      this.windows,
      bounds,
      true,
    );
  }

  get victimCount(): number {
    return this.preemptions.length;
  }

  /** Names the cycle's state: it changes with every start, preemption and reservation. */
  private get version(): number {
    return this.starts.length + this.preemptions.length + this.profile.reservationCount;
  }

  /** Step "quotas": devices in use per tenant, project and type; cohort lending aggregates. */
  private quotas(): QuotaBook {
    const quota = new QuotaBook(this.config, this.c.upByType);
    const runUse = this.cache.runUse;
    // sorted so that the book's insertion order does not depend on history
    for (const tenant of [...runUse.keys()].sort(cmpStr)) {
      const byProject = runUse.get(tenant) as Map<string, Map<AcceleratorType, number>>;
      for (const project of [...byProject.keys()].sort(cmpStr)) {
        const byType = byProject.get(project) as Map<AcceleratorType, number>;
        for (const type of [...byType.keys()].sort(cmpStr))
          quota.add(tenant, project, type, byType.get(type) ?? 0);
      }
    }
    return quota;
  }

  /** Step "quotas", bookings: the owners' running jobs inside their bookings open now leave quota use. */
  private openBookings(): OpenBookings {
    const open = new OpenBookings(this.windows, this.now);
    for (const tenant of open.owners()) {
      const mine = [...(this.cache.runningByTenant.get(tenant) ?? [])].sort(
        (a, b) => a.startTime - b.startTime || cmpStr(a.id, b.id),
      );
      for (const j of mine) {
        if ((j.preemptedAt !== null && j.preemptedAt !== undefined) || j.timeLimitMs === null) continue;
        const i = runInfo(this.c, j);
        if (i.type === null || !open.fits(tenant, i.type, i.devices, this.cache.expectedEnd(j))) continue;
        open.use(tenant, i.type, i.devices);
        open.insideIds.add(j.id);
        this.quota.add(tenant, j.project, i.type, -i.devices);
      }
    }
    return open;
  }

  run(): ScheduleResult {
    const P = this.config.preemption;
    const now = this.now;
    // jobs beyond the queue depth: a fixed verdict, one reused object per job (no work per cycle)
    const notExamined: (readonly (PendingDecision | undefined)[])[] = [];
    let examined = this.order(notExamined);
    // jobs that would run inside their tenant's open booking go first: the booking is theirs, so no
    // job examined before them may take (or be promised) its devices in this cycle
    const open = this.open;
    const insideAtStart = (job: SchedJob): boolean =>
      job.timeLimitMs !== null &&
      open.insideTypes(
        job.tenant,
        this.cache.everFor(job),
        job.replicas * job.perReplica.accelerators,
        now + job.timeLimitMs,
      ).length > 0;
    if (!open.empty) examined = moveToFront(examined, insideAtStart);
    // a job whose victims are still stopping gets, before any other job is considered, the
    // capacity they free (re-planned each cycle, earliest preemption first), so that no job
    // examined before it can take the free devices its victims were chosen to complete
    const claimed = claimCapacity(this, examined, this.pending);
    // and a job whose victims have just stopped is considered first, so the capacity they freed
    // for it is not taken by a job examined before it (its claim lasts two grace periods)
    const claimWindow = 2 * P.gracePeriodMs;
    const hasClaim = (j: SchedJob): boolean =>
      j.claimedAt !== undefined &&
      j.claimedAt !== null &&
      now - j.claimedAt <= claimWindow &&
      !claimed.has(j.id);
    examined = moveToFront(
      examined,
      hasClaim,
      (a, b) => (a.claimedAt ?? 0) - (b.claimedAt ?? 0) || cmpStr(a.id, b.id),
    );
    for (const job of examined) {
      if (claimed.size > 0 && claimed.has(job.id)) continue;
      this.consider(job);
    }
    const pending = this.pending;
    // one copy of the cached verdicts of jobs beyond the depth (not one push each)
    return {
      starts: this.starts,
      preemptions: this.preemptions,
      pending: notExamined.length === 0 ? pending : pending.concat(...(notExamined as PendingDecision[][])),
    };
  }

  /**
   * Step "order" (see `orderJobs`). The verdicts of the jobs beyond the examined part are filled
   * where missing and collected in slices into `notExamined` (no push per job).
   */
  private order(notExamined: (readonly (PendingDecision | undefined)[])[]): readonly SchedJob[] {
    const cache = this.cache;
    return orderJobs(this.config, cache, this.snapshot, this.quota, (q, from, skip) => {
      const jobs = q.jobs;
      const beyond = q.beyond;
      const n = jobs.length;
      // the first verdict not yet computed (the arrays hold no holes: created filled, then spliced)
      const first = beyond.indexOf(undefined, from);
      if (first >= 0)
        for (let i = first; i < n; i++)
          if (beyond[i] === undefined) beyond[i] = cache.beyondVerdict(jobs[i] as SchedJob);
      if (skip === null) notExamined.push(from === 0 ? beyond : beyond.slice(from, n));
      // jobs pulled ahead were examined: no second verdict for them
      else notExamined.push(beyond.slice(from, n).filter((_, k) => !skip.has(jobs[from + k] as SchedJob)));
    });
  }

  /**
   * One examined job: its verdict copied from an identical job just found blocked, or decided and
   * dispatched. A job identical in every respect the cycle reads to one just found blocked, with
   * nothing started, reserved or preempted since, is blocked for the same reason (Slurm's backfill
   * skips such jobs too). The time limit counts only where the verdict read it: a job that cannot
   * fit by device count alone asks no RUN_NOW or estimate (time limits are seldom shared, so this
   * is most copying). A copy spends the same search budgets the original spent, so that copying
   * changes no decision.
   */
  private consider(job: SchedJob): void {
    const identityId = this.cache.identity(job);
    const version = this.version;
    const same = this.blockedLike.get(identityId);
    if (
      same !== undefined &&
      same.version === version &&
      (same.timeLimitMs === undefined || same.timeLimitMs === job.timeLimitMs) &&
      !(same.ranNowTest && this.tested >= this.config.backfill.maxJobsTested)
    ) {
      const d = same.decision;
      this.pending.push({
        jobId: job.id,
        verdict: d.verdict,
        reason: d.reason,
        estimatedStart: d.estimatedStart,
        ...(d.detail ? { detail: d.detail } : {}),
      });
      // the RUN_NOW test and the will-run estimate it would have made (same answers: nothing
      // changed); its preemption search is cached as failed already
      if (same.ranNowTest) this.tested++;
      if (same.reachedEstimate && this.mayEstimate()) this.estimates++;
      return;
    }
    const decided = this.pending.length;
    const probe: Probe = { ranNowTest: false, reachedEstimate: false, estimated: false };
    const outcome = this.decide(job, probe);
    switch (outcome.kind) {
      case 'start':
        this.start(job, outcome.placement, outcome.type, outcome.inside, outcome.need);
        break;
      case 'preempt':
        this.preempt(job, outcome.preemption, outcome.inside, outcome.need);
        break;
      case 'pending':
        this.pending.push(outcome.decision);
        break;
    }
    const d = this.pending[decided];
    if (
      this.pending.length === decided + 1 &&
      d !== undefined &&
      d.estimatedStart === null &&
      this.version === version
    ) {
      const readTimeLimit = this.windows.length !== 0 || probe.ranNowTest || probe.estimated;
      this.blockedLike.set(identityId, {
        version,
        timeLimitMs: readTimeLimit ? job.timeLimitMs : undefined,
        decision: d,
        ranNowTest: probe.ranNowTest,
        reachedEstimate: probe.reachedEstimate,
      });
    }
  }

  /** Can it ever fit; which types it may use; start now; try preemption; backfill. */
  private decide(job: SchedJob, probe: Probe): Outcome {
    const need = job.replicas * job.perReplica.accelerators;
    // can it ever fit (TEST_ONLY, cached per request shape)
    const ever = this.cache.everFor(job);
    if (ever.length === 0) {
      return pendingOf({
        jobId: job.id,
        verdict: 'can-never-fit',
        reason: neverFitReason(job, describeRequest(job)),
        estimatedStart: null,
        detail: noNodeFitsDetail(job),
      });
    }
    const admissible = this.admissible(job, ever, need);
    if (!('allowed' in admissible)) return pendingOf(admissible);
    const { allowed, inside } = admissible;
    if (!this.config.backfill.enabled && this.firstBlocked !== null) {
      return this.waitTurn(job, `strict order (backfill off): waits behind job ${this.firstBlocked.id}`, {
        code: 'behind-job',
        job: this.firstBlocked.id,
        order: 'strict',
      });
    }
    const now = this.startNow(job, allowed, inside, need, probe);
    if (now.kind !== 'not-now') return now;
    const preemption = this.tryPreemption(job, allowed, inside, need, now.answer);
    if (preemption !== null) return { kind: 'preempt', preemption, inside: inside.length > 0, need };
    return pendingOf(this.backfill(job, allowed, need, now.answer, probe));
  }

  private waitTurn(job: SchedJob, reason: string, detail: VerdictDetail): Outcome {
    return pendingOf({ jobId: job.id, verdict: 'waits-for-turn', reason, estimatedStart: null, detail });
  }

  /**
   * The types a job may use now: inside its tenant's open booking, the booked types, no quota (see
   * `OpenBookings`); otherwise those its quota allows. A job that asks more than its quota could
   * ever give can never run as the policy stands, unless a booking of its tenant will hold it.
   * The common all-allowed case reuses the cached list.
   */
  private admissible(
    job: SchedJob,
    ever: readonly (AcceleratorType | null)[],
    need: number,
  ): Admissible | PendingDecision {
    const { open, quota, now, windows } = this;
    const durationMs = job.timeLimitMs;
    const inside: readonly AcceleratorType[] =
      open.empty || durationMs === null ? [] : open.insideTypes(job.tenant, ever, need, now + durationMs);
    if (inside.length > 0) return { allowed: inside, inside };
    let allowed: readonly (AcceleratorType | null)[] = ever;
    let cap: ReturnType<QuotaBook['everAllowed']> = null;
    for (const t of ever) {
      cap = quota.everAllowed(job.tenant, job.project, t, need);
      if (cap === null) break;
    }
    const capReason = cap?.reason ?? null;
    let quotaReason: string | null = null;
    let quotaDetail: OverQuotaDetail | null = null;
    if (capReason === null) {
      for (let i = 0; i < ever.length; i++) {
        const t = ever[i] ?? null;
        const q = quota.check(job.tenant, job.project, t, need);
        if (q.ok) continue;
        quotaReason ??= q.reason;
        quotaDetail ??= q.detail;
        if (allowed === ever) allowed = ever.slice(0, i);
        for (let k = i + 1; k < ever.length; k++) {
          const t2 = ever[k] ?? null;
          if (quota.check(job.tenant, job.project, t2, need).ok)
            (allowed as (AcceleratorType | null)[]).push(t2);
        }
        break;
      }
    }
    if (capReason === null && allowed.length > 0) return { allowed, inside };
    const roomy =
      durationMs === null
        ? undefined
        : ever.find((t) => t !== null && open.entitlement(job.tenant, t, now + durationMs) >= need);
    const next =
      windows.length === 0 ? null : nextBookingFor(windows, now, job.tenant, ever, need, durationMs);
    if (roomy !== undefined && roomy !== null && durationMs !== null) {
      const window = open.window(job.tenant, roomy, now + durationMs)?.id ?? '?';
      const used = open.usedBy(job.tenant, roomy);
      const entitlement = open.entitlement(job.tenant, roomy, now + durationMs);
      return {
        jobId: job.id,
        verdict: 'waits-for-quota',
        reason: `${capReason ?? quotaReason ?? 'quota'}; it fits inside open booking window ${window} of tenant ${job.tenant} once its jobs there leave room (${used} of ${entitlement} ${roomy} in use)`,
        estimatedStart: null,
        detail: {
          code: 'booking-full',
          window,
          tenant: job.tenant,
          acceleratorType: roomy,
          used,
          entitlement,
        },
      };
    } else if (next !== null)
      return {
        jobId: job.id,
        verdict: 'waits-for-quota',
        reason: `${capReason ?? quotaReason ?? 'quota'}; it will run inside booking window ${next.id} of tenant ${job.tenant} from ${isoOrMs(next.startTime)}, where quota does not apply`,
        estimatedStart: next.startTime,
        detail: runsInBookingDetail(next.startTime, next.id, job.tenant),
      };
    else if (cap !== null)
      return {
        jobId: job.id,
        verdict: 'can-never-fit',
        reason: cap.reason,
        estimatedStart: null,
        detail: cap.detail,
      };
    else
      return {
        jobId: job.id,
        verdict: 'waits-for-quota',
        reason: quotaReason ?? 'quota',
        estimatedStart: null,
        ...(quotaDetail !== null ? { detail: quotaDetail } : {}),
      };
  }

  /**
   * Start now: RUN_NOW, after an O(1) aggregate check that needs no test budget, without delaying
   * any reservation or booking. `not-now` carries RUN_NOW's answer (null: not asked).
   */
  private startNow(
    job: SchedJob,
    allowed: readonly (AcceleratorType | null)[],
    inside: readonly AcceleratorType[],
    need: number,
    probe: Probe,
  ): Outcome | { readonly kind: 'not-now'; readonly answer: PlacementAnswer | null } {
    const B = this.config.backfill;
    const f = this.f;
    const aggregateFits = allowed.some((t) => t === null || f.freeOfType(t) >= need);
    if (!aggregateFits) return { kind: 'not-now', answer: null };
    if (this.tested >= B.maxJobsTested) {
      return this.waitTurn(
        job,
        `not tested this cycle: the backfill test budget (backfill.maxJobsTested = ${B.maxJobsTested}) went to jobs ahead of it`,
        { code: 'not-considered', limit: 'budget', value: B.maxJobsTested },
      );
    }
    this.tested++;
    probe.ranNowTest = true;
    const answer = this.profile.ask('run-now', {
      jobId: job.id,
      tenant: job.tenant,
      replicas: job.replicas,
      perReplica: job.perReplica,
      durationMs: job.timeLimitMs,
      types: allowed,
      preemptible: this.lendIdle && job.preemptible,
    });
    if (!answer.ok) return { kind: 'not-now', answer };
    return {
      kind: 'start',
      placement: answer.placement,
      type: answer.acceleratorType,
      inside: inside.length > 0,
      need,
    };
  }

  /** Start: the job takes its placement now and is charged to its booking or its quota. */
  private start(
    job: SchedJob,
    placement: Placement,
    t: AcceleratorType | null,
    inside: boolean,
    need: number,
  ): void {
    const { profile, open } = this;
    const firstBlocked = this.firstBlocked;
    const end = job.timeLimitMs === null ? Infinity : this.now + job.timeLimitMs;
    profile.start(job.id, placement, end);
    this.freeText.clear();
    if (inside && t !== null) open.use(job.tenant, t, need);
    else this.quota.add(job.tenant, job.project, t, need);
    const reason =
      inside && t !== null
        ? `inside booking window ${open.window(job.tenant, t, end)?.id ?? '?'} of tenant ${job.tenant}: the booked ${t} are its own for the window (quota does not apply)`
        : profile.reservationCount > 0
          ? `backfilled: fits now and does not delay the ${profile.reservationCount} reserved job(s) ahead of it`
          : firstBlocked === null
            ? 'fits now; first in queue order'
            : `fits now (job ${firstBlocked.id} ahead of it needs capacity that is not free)`;
    this.starts.push({ jobId: job.id, placement, reason });
  }

  /**
   * Step "try preemption": reclaim a guarantee, or priority within the tenant, or attained service
   * (never to jump a reservation or a booking; bounded by the test budget; failures cached per
   * shape). A job inside its booking evicts the jobs its booking lent devices to (not cached per
   * shape: the booking's use changes with every start inside it).
   */
  private tryPreemption(
    job: SchedJob,
    allowed: readonly (AcceleratorType | null)[],
    inside: readonly AcceleratorType[],
    need: number,
    answer: PlacementAnswer | null,
  ): Preemption | null {
    const P = this.config.preemption;
    const B = this.config.backfill;
    const blockedByPromise =
      answer !== null && !answer.ok && (answer.kind === 'reservation' || answer.kind === 'booking');
    if (inside.length > 0) {
      if (blockedByPromise || this.tested >= B.maxJobsTested) return null;
      this.tested++;
      return tryEvictForBooking(this, job, inside, need);
    }
    // a job inside its guarantee reclaims even when a reservation stands where it would fit
    // now (victims are only taken where starting it delays no reservation); others do not
    const owed =
      P.reclaim && allowed.some((t) => t !== null && this.quota.withinGuarantee(job.tenant, t, need));
    const mayPreempt = P.reclaim || P.withinTenant !== 'never' || this.cache.bands.enabled;
    if ((blockedByPromise && !owed) || !mayPreempt || this.tested >= B.maxJobsTested) return null;
    const key = this.cache.preemptionKey(job);
    if (this.noVictims.has(key)) return null;
    this.tested++;
    const pre = tryPreemption(this, job, allowed, need);
    if (pre === null) this.noVictims.add(key);
    return pre;
  }

  /** Preempt: the victims stop (grace period), the job's capacity is reserved from then. */
  private preempt(job: SchedJob, pre: Preemption, inside: boolean, need: number): void {
    const { profile, now } = this;
    const P = this.config.preemption;
    for (const v of pre.victims) {
      this.victimIds.add(v.job.id);
      this.preemptions.push({ jobId: v.job.id, forJobId: job.id, reason: v.reason });
      profile.shortenHold(v.job.id, now + P.gracePeriodMs);
      const vi = runInfo(this.c, v.job);
      this.quota.add(v.job.tenant, v.job.project, vi.type, -vi.devices);
    }
    const startAt = pre.startTime;
    profile.reserve(
      job.id,
      pre.placement,
      startAt,
      job.timeLimitMs === null ? Infinity : startAt + job.timeLimitMs,
    );
    if (inside) this.open.use(job.tenant, pre.type, need);
    else this.quota.add(job.tenant, job.project, pre.type, need);
    this.firstBlocked ??= job;
    const victims = pre.victims.map((v) => v.job.id);
    this.pending.push({
      jobId: job.id,
      verdict: 'waits-for-capacity',
      reason:
        pre.victims.length > 0
          ? `preempting ${victims.join(', ')} for it (${pre.why}); starts when they stop (grace period ${P.gracePeriodMs / 1000} s)`
          : `waiting for preempted job(s) to stop; the capacity is reserved for it`,
      estimatedStart: startAt,
      detail: { code: victims.length > 0 ? 'preempting' : 'awaits-preempted', victims, at: startAt },
    });
  }

  private mayEstimate(): boolean {
    const B = this.config.backfill;
    return (
      this.estimates < B.estimateMaxJobs ||
      (B.enabled &&
        this.backfillReservations < B.reservationDepth &&
        this.estimates < B.estimateMaxJobs + B.reservationDepth)
    );
  }

  /**
   * Step "backfill": the WILL_RUN estimate of a job that cannot start now; the first
   * `backfill.reservationDepth` blocked jobs get a reservation that later jobs may not delay (EASY
   * backfill when the depth is 1). Reservations made for preemptors do not use up the depth.
   * Returns the job's verdict.
   */
  private backfill(
    job: SchedJob,
    allowed: readonly (AcceleratorType | null)[],
    need: number,
    answer: PlacementAnswer | null,
    probe: Probe,
  ): PendingDecision {
    const B = this.config.backfill;
    const { profile, open, f } = this;
    const durationMs = job.timeLimitMs;
    const wantsReservation = B.enabled && this.backfillReservations < B.reservationDepth;
    let estimate: PlacementAnswer | null = null;
    probe.reachedEstimate = true;
    if (this.mayEstimate()) {
      this.estimates++;
      probe.estimated = true;
      estimate = profile.ask('will-run', {
        jobId: job.id,
        tenant: job.tenant,
        replicas: job.replicas,
        perReplica: job.perReplica,
        durationMs,
        types: allowed,
        preemptible: this.lendIdle && job.preemptible,
      });
      if (estimate.ok && wantsReservation) {
        profile.reserve(
          job.id,
          estimate.placement,
          estimate.startTime,
          durationMs === null ? Infinity : estimate.startTime + durationMs,
        );
        this.backfillReservations++;
      }
    }
    this.firstBlocked ??= job;
    const estimatedStart = estimate?.ok === true ? estimate.startTime : null;
    if (
      (answer !== null && !answer.ok && answer.kind === 'booking') ||
      (estimate !== null && !estimate.ok && estimate.kind === 'booking')
    ) {
      const w =
        answer !== null && !answer.ok && answer.kind === 'booking'
          ? answer.blockingWindowId
          : estimate !== null && !estimate.ok
            ? estimate.blockingWindowId
            : undefined;
      return {
        jobId: job.id,
        verdict: 'behind-booking',
        reason: `it would use capacity booked by window ${w ?? '?'} for another tenant`,
        estimatedStart,
        detail: { code: 'behind-booking', window: w ?? null, at: estimatedStart },
      };
    }
    if (answer !== null && !answer.ok && answer.kind === 'reservation') {
      return {
        jobId: job.id,
        verdict: 'waits-for-turn',
        reason: `${answer.reason}${estimatedStart !== null ? `; estimated start ${isoOrMs(estimatedStart)}` : ''}`,
        estimatedStart,
        detail:
          estimatedStart !== null
            ? estimatedStartDetail(estimatedStart)
            : { code: 'behind-reservation', job: answer.blockingJobId ?? null },
      };
    }
    // the devices it lacks are kept by another tenant's open booking: say so
    const kept = open.empty
      ? null
      : open.keptFrom(job.tenant, allowed, need, this.lendIdle && job.preemptible, (t) => f.freeOfType(t));
    if (kept !== null) {
      return {
        jobId: job.id,
        verdict: 'behind-booking',
        reason: `the ${kept.type} it needs are booked by window ${kept.window.id} of tenant ${kept.window.tenant ?? '?'}, open until ${isoOrMs(kept.window.endTime)}`,
        estimatedStart,
        detail: bookedUntilDetail(kept.window.endTime, kept.window.id, kept.window.tenant ?? null, kept.type),
      };
    }
    let freeNow = this.freeText.get(allowed);
    if (freeNow === undefined) {
      const free = allowed.map((t) => ({ type: t, free: t === null ? 0 : f.freeOfType(t) }));
      const text = free.map((x) => (x.type === null ? 'CPU-only' : `${x.free} ${x.type} free`)).join(', ');
      freeNow = { text, free };
      this.freeText.set(allowed, freeNow);
    }
    return {
      jobId: job.id,
      verdict: 'waits-for-capacity',
      reason: `needs ${describeRequest(job)} (${need} devices in all); ${freeNow.text} now${
        estimate === null
          ? ''
          : estimate.ok
            ? `; expected to start ${isoOrMs(estimate.startTime)}${profile.reservationFor(job.id) ? ' (reserved)' : ''}`
            : `; ${estimate.reason}`
      }`,
      estimatedStart,
      detail: {
        code: 'needs-capacity',
        need,
        free: freeNow.free,
        at: estimate?.ok === true ? estimate.startTime : null,
        reserved: estimate?.ok === true && profile.reservationFor(job.id) !== undefined,
      },
    };
  }
}
