/**
 * The state a policy reads that only the passage of time and the jobs' attempts produce: decayed
 * fair-share usage per tenant, each job's attained service, and claims (when a preemption was
 * last made for a waiting job). The server's engine and the simulator both keep it in one
 * `PolicyState`, so what the simulator measures is what the server runs.
 *
 * Contract for a caller, once per scheduling cycle at time `now`:
 * - `attemptEnded` for every attempt that ended since the last cycle (at any time, in any order);
 * - `advance(now, running)` before building the snapshot: its result is `snapshot.usage`;
 * - `attainedServiceMs(id)` and `claimedAt(id)` for each job put into the snapshot;
 * - after the decision: `claim(forJobId, now)` for each preemption, `started(id)` for each start,
 *   and `forget(id)` (or `retain`) for jobs that left the working set.
 * Pure: times are parameters; nothing reads a clock.
 */
import type { RunningSchedJob } from '../model/scheduling.js';
import {
  accrueUsage,
  decayedAcceleratorSeconds,
  decayUsage,
  decayUsageOfDevices,
  EMPTY_USAGE,
  type TenantUsage,
} from './fairshare.js';

/** An attempt that ended: `devices` accelerators held by `tenant`'s job from `fromMs` to `toMs`. */
export interface EndedAttempt {
  readonly jobId: string;
  readonly tenant: string;
  readonly devices: number;
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * Devices of the running jobs per tenant and the latest start among them, for a caller that keeps
 * them: while no running job started after the usage's `asOf`, decaying needs only these.
 */
export interface RunningDevices {
  readonly byTenant: ReadonlyMap<string, number>;
  readonly latestStartMs: number;
}

export class PolicyState {
  private usageNow: TenantUsage;
  private ended: { tenant: string; devices: number; fromMs: number; toMs: number }[] = [];
  private readonly attained = new Map<string, number>();
  private readonly claims = new Map<string, number>();

  /**
   * The fair-share half-life `advance` decays with; a server whose policy changes sets the new one
   * before the next `advance`. Undefined: no fair share (usage is neither kept nor advanced).
   */
  constructor(
    public halfLifeMs: number | undefined,
    usage: TenantUsage = EMPTY_USAGE,
  ) {
    this.usageNow = usage;
  }

  /**
   * Rebuilt from ended attempts (the server's usage ledger): usage decayed to `now` (the part of
   * an attempt after `now` is not charged), and each job's attained service summed over its attempts.
   */
  static fromLedger(attempts: Iterable<EndedAttempt>, now: number, halfLifeMs: number): PolicyState {
    // accrueUsage's sum, in one record of totals (not a copy of it per attempt)
    const byTenant: Record<string, number> = {};
    const state = new PolicyState(halfLifeMs, { asOf: now, byTenant });
    for (const a of attempts) {
      const add = decayedAcceleratorSeconds(a.devices, a.fromMs, Math.min(a.toMs, now), now, halfLifeMs);
      if (add > 0) byTenant[a.tenant] = (byTenant[a.tenant] ?? 0) + add;
      state.addService(a);
    }
    return state;
  }

  /** Decayed accelerator-seconds per tenant, as of the last `advance`. */
  get usage(): TenantUsage {
    return this.usageNow;
  }

  /** Charges an ended attempt: to its job's attained service now, to fair-share usage at the next `advance`. */
  attemptEnded(a: EndedAttempt): void {
    if (this.halfLifeMs !== undefined)
      this.ended.push({ tenant: a.tenant, devices: a.devices, fromMs: a.fromMs, toMs: a.toMs });
    this.addService(a);
  }

  private addService(a: EndedAttempt): void {
    this.attained.set(
      a.jobId,
      (this.attained.get(a.jobId) ?? 0) + a.devices * Math.max(0, a.toMs - a.fromMs),
    );
  }

  /**
   * Fair-share usage decayed to `now`: what `running` used since the last advance, and the
   * attempts that ended since, each charged from the later of its start and the last advance.
   * `devices`, when given, is the same running set summed per tenant (a faster, equal decay).
   */
  advance(now: number, running: readonly RunningSchedJob[], devices?: RunningDevices): TenantUsage {
    const halfLifeMs = this.halfLifeMs;
    if (halfLifeMs === undefined) throw new Error('PolicyState.advance: no fair-share half-life');
    if (this.usageNow.asOf === now && this.ended.length === 0) return this.usageNow;
    const prevAsOf = this.usageNow.asOf;
    let usage =
      devices !== undefined && devices.latestStartMs <= prevAsOf
        ? decayUsageOfDevices(this.usageNow, now, devices.byTenant, halfLifeMs)
        : decayUsage(this.usageNow, now, running, halfLifeMs);
    for (const e of this.ended)
      usage = accrueUsage(usage, e.tenant, e.devices, Math.max(e.fromMs, prevAsOf), e.toMs, halfLifeMs);
    this.ended = [];
    this.usageNow = usage;
    return usage;
  }

  /** Accelerator-ms the job held in its ended attempts; undefined when it has none. */
  attainedServiceMs(jobId: string): number | undefined {
    return this.attained.get(jobId);
  }

  /** Records that a preemption was made for `jobId` at `now`; false when it was already claimed then. */
  claim(jobId: string, now: number): boolean {
    if (this.claims.get(jobId) === now) return false;
    this.claims.set(jobId, now);
    return true;
  }

  /** When a preemption was last made for the job while it waits; undefined when none. */
  claimedAt(jobId: string): number | undefined {
    return this.claims.get(jobId);
  }

  /** The job started: its claim is spent. True when it had one. */
  started(jobId: string): boolean {
    return this.claims.delete(jobId);
  }

  /** The job left the working set: its service and claim are dropped. */
  forget(jobId: string): void {
    this.attained.delete(jobId);
    this.claims.delete(jobId);
  }

  /** Keeps service and claims only for the jobs `keep` accepts. */
  retain(keep: (jobId: string) => boolean): void {
    for (const id of this.attained.keys()) if (!keep(id)) this.attained.delete(id);
    for (const id of this.claims.keys()) if (!keep(id)) this.claims.delete(id);
  }
}
