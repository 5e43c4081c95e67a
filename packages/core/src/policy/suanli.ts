/**
 * The `suanli` policy: many tenants sharing a hall fairly, and the hall kept full.
 *
 * The policy is a pair, as Kueue's scheduler is: a cache of state derived incrementally from the
 * snapshots (`suanli/cache.ts`: capacity, free state, running jobs and their quota use, pending
 * queues, victim index, holds, TEST_ONLY answers; dropping it changes nothing but speed), and a
 * cycle over one immutable snapshot (`suanli/cycle.ts`; I/O happens only in the engine, after).
 * The cycle's steps, each a function of that name:
 *   1. quotas (`Cycle.quotas`, `Cycle.openBookings`): devices in use per tenant, project and type;
 *      cohort lending aggregates; the owners' running jobs inside their open bookings leave quota.
 *   2. order (`orderJobs`, `suanli/order.ts`): each tenant's queue by (priority desc, attained-
 *      service band asc, submitTime asc, id asc); tenants interleaved by fair share (the tenant
 *      whose next job fits its guarantee first, then the least decayed usage per weight), each job
 *      taken charging its tenant for it, so one cycle does not hand a whole hall to one tenant.
 *      With fair share off, one global queue in the same order. Jobs inside their tenant's open
 *      booking are moved to the front.
 *   3. claim capacity (`claimCapacity`, `suanli/preempt.ts`): a job whose victims are still
 *      stopping gets the capacity they free reserved before any other job is considered.
 *   4. For each of the first `backfill.maxJobsExamined` jobs in order, `Cycle.decide` comes to
 *      Start | Preempt | Pending:
 *      a. can it ever fit (TEST_ONLY, cached per request shape), and does it ask no more than its
 *         quota could ever give? If not: `can-never-fit`.
 *      b. which of its acceptable types does quota allow now (`Cycle.admissible`)? None:
 *         `waits-for-quota`.
 *      c. start now (`Cycle.startNow`): RUN_NOW without delaying any reservation or booking.
 *      d. try preemption (`Cycle.tryPreemption`, `tryPreemption`, `tryEvictForBooking`): if it is
 *         owed capacity (below its guarantee: reclaim borrowers; or outranks jobs of its own
 *         tenant; or less attained service), pick victims (`pickVictims`): the whole jobs that
 *         lose least work; its capacity is reserved from the end of their grace period.
 *      e. backfill (`Cycle.backfill`): estimate its start (WILL_RUN); the first
 *         `reservationDepth` blocked jobs get a reservation that later jobs may not delay (EASY
 *         backfill when the depth is 1).
 *      Jobs beyond the depth keep a fixed `waits-for-turn` verdict (or `can-never-fit`), cached.
 *   5. Return starts, preemptions and one verdict per job left waiting.
 *
 * Bounds (work per cycle): `backfill.maxJobsExamined` jobs examined, `backfill.maxJobsTested`
 * gang/preemption searches, `backfill.estimateMaxJobs` will-run estimates, `backfill.reservationDepth`
 * reservations, `preemption.maxVictimsPerCycle` victims, `preemption.maxCandidatesPerJob` candidates
 * per tenant list, PREEMPTION_MAX_PLACEMENT_TESTS searches per preemption, and the profile's bounds.
 * Jobs beyond a bound still get a verdict from O(1) checks.
 *
 * `createScheduler`'s answer is always exactly what a fresh scheduler gives for the snapshot
 * (property-tested, including callers that mutate their arrays in place or rebuild every object).
 */
import type { SchedulingPolicy, ScheduleResult, Snapshot } from '../model/scheduling.js';
import type { ProfileBounds } from '../placement/profile.js';
import { DEFAULT_PROFILE_BOUNDS } from '../placement/profile.js';
import type { PolicyConfig } from './config.js';
import { DEFAULT_BOOKINGS, DEFAULT_POLICY } from './config.js';
import { SchedulerCache } from './suanli/cache.js';
import { Cycle } from './suanli/cycle.js';

export { sameNode, sameRunningJob, sameSchedJob, sortHolds } from './suanli/values.js';

export interface SuanliScheduler extends SchedulingPolicy {
  readonly config: PolicyConfig;
}

export interface SchedulerOptions {
  readonly profileBounds?: ProfileBounds;
}

/**
 * A stateful scheduler: `schedule(snapshot)` returns exactly what a fresh one would, but reuses
 * what it derived in earlier cycles (its `SchedulerCache`). Not safe to share between concurrent
 * callers (the engine and the simulator each own one).
 */
export function createScheduler(
  config: PolicyConfig = DEFAULT_POLICY,
  options: SchedulerOptions = {},
): SuanliScheduler {
  const bounds = options.profileBounds ?? DEFAULT_PROFILE_BOUNDS;
  const lendIdle = (config.bookings ?? DEFAULT_BOOKINGS).lendIdle;
  const cache = new SchedulerCache(config);
  function schedule(snapshot: Snapshot): ScheduleResult {
    cache.sync(snapshot);
    const f = cache.free;
    const base = f.mark();
    try {
      return new Cycle(config, cache, snapshot, bounds, lendIdle).run();
    } finally {
      f.rollback(base); // the cached free state stays "capacity minus running"
    }
  }
  return { name: 'suanli', config, schedule };
}

/** The `suanli` policy (a stateful scheduler; see `createScheduler`). */
export function createSuanliPolicy(
  config: PolicyConfig = DEFAULT_POLICY,
  options: SchedulerOptions = {},
): SuanliScheduler {
  return createScheduler(config, options);
}

/** The pure function: one cycle with no cached state. */
export function scheduleOnce(
  config: PolicyConfig,
  snapshot: Snapshot,
  options: SchedulerOptions = {},
): ScheduleResult {
  return createScheduler(config, options).schedule(snapshot);
}
