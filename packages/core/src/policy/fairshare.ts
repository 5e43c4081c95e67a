/**
 * Usage with decay, the input to fair share (Slurm's PriorityDecayHalfLife): accelerator-seconds
 * where one used `halfLifeMs` ago counts half, two half-lives ago a quarter, and so on.
 *
 * The engine (or the simulator) owns a `TenantUsage`, advances it each cycle with `decayUsage`,
 * charges jobs that ended between cycles with `accrueUsage`, and passes `usage.byTenant` as
 * `snapshot.usage`. These helpers are pure: the same inputs give the same numbers.
 */
import type { RunningSchedJob } from '../model/scheduling.js';

export interface TenantUsage {
  /** Epoch ms the numbers are decayed to. */
  readonly asOf: number;
  /** Decayed accelerator-seconds per tenant. */
  readonly byTenant: Readonly<Record<string, number>>;
}

export const EMPTY_USAGE: TenantUsage = { asOf: 0, byTenant: {} };

/** Usage below this many accelerator-seconds is dropped, so the record stays small. */
const NEGLIGIBLE_ACCELERATOR_SECONDS = 1e-6;

function devicesOf(job: RunningSchedJob): number {
  let n = 0;
  for (const r of job.placement) n += r.acceleratorIds.length;
  return n;
}

/**
 * Accelerator-seconds of `devices` used during [fromMs, toMs], decayed to `asOfMs` (≥ toMs):
 * devices × ∫ 2^(−(asOf−τ)/h) dτ = devices × h/ln2 × (2^(−(asOf−to)/h) − 2^(−(asOf−from)/h)).
 */
export function decayedAcceleratorSeconds(
  devices: number,
  fromMs: number,
  toMs: number,
  asOfMs: number,
  halfLifeMs: number,
): number {
  if (toMs <= fromMs || devices <= 0) return 0;
  const hS = halfLifeMs / 1000;
  const f = (t: number): number => Math.pow(2, -(asOfMs - t) / halfLifeMs);
  return (devices * hS * (f(toMs) - f(fromMs))) / Math.LN2;
}

/**
 * Decays `prev` to `now` and adds what `running` jobs used since `prev.asOf` (from their start if
 * later). Call it once per cycle with the jobs that were running; jobs that ended between calls are
 * charged with `accrueUsage`.
 */
export function decayUsage(
  prev: TenantUsage,
  now: number,
  running: readonly RunningSchedJob[],
  halfLifeMs: number,
): TenantUsage {
  const from = Math.min(prev.asOf, now);
  // every job that ran through the whole interval adds devices × the same integral: sum the
  // devices per tenant first (one pow per tenant, not one per running job)
  const wholeInterval = new Map<string, number>();
  const partial: RunningSchedJob[] = [];
  for (const job of running) {
    if (job.startTime <= from)
      wholeInterval.set(job.tenant, (wholeInterval.get(job.tenant) ?? 0) + devicesOf(job));
    else partial.push(job);
  }
  return decayWith(prev, now, partial, wholeInterval, halfLifeMs);
}

/**
 * `decayUsage` for a caller that keeps its running jobs' devices per tenant, when every running job
 * started at or before `prev.asOf` (then the devices per tenant are all it reads): O(tenants), not
 * O(running jobs), with the same numbers.
 */
export function decayUsageOfDevices(
  prev: TenantUsage,
  now: number,
  devicesByTenant: ReadonlyMap<string, number>,
  halfLifeMs: number,
): TenantUsage {
  return decayWith(prev, now, [], devicesByTenant, halfLifeMs);
}

function decayWith(
  prev: TenantUsage,
  now: number,
  partial: readonly RunningSchedJob[],
  wholeInterval: ReadonlyMap<string, number>,
  halfLifeMs: number,
): TenantUsage {
  const factor = now > prev.asOf ? Math.pow(2, -(now - prev.asOf) / halfLifeMs) : 1;
  const out: Record<string, number> = {};
  for (const [t, v] of Object.entries(prev.byTenant)) {
    const d = v * factor;
    if (d > NEGLIGIBLE_ACCELERATOR_SECONDS) out[t] = d;
  }
  for (const job of partial) {
    const add = decayedAcceleratorSeconds(devicesOf(job), job.startTime, now, now, halfLifeMs);
    if (add > 0) out[job.tenant] = (out[job.tenant] ?? 0) + add;
  }
  const from = Math.min(prev.asOf, now);
  for (const [tenant, devices] of wholeInterval) {
    const add = decayedAcceleratorSeconds(devices, from, now, now, halfLifeMs);
    if (add > 0) out[tenant] = (out[tenant] ?? 0) + add;
  }
  return { asOf: Math.max(prev.asOf, now), byTenant: out };
}

/** Charges `devices` used by `tenant` during [fromMs, toMs] (e.g. a job that ended between cycles). */
export function accrueUsage(
  usage: TenantUsage,
  tenant: string,
  devices: number,
  fromMs: number,
  toMs: number,
  halfLifeMs: number,
): TenantUsage {
  const to = Math.min(toMs, usage.asOf);
  const add = decayedAcceleratorSeconds(devices, fromMs, to, usage.asOf, halfLifeMs);
  if (add <= 0) return usage;
  return { asOf: usage.asOf, byTenant: { ...usage.byTenant, [tenant]: (usage.byTenant[tenant] ?? 0) + add } };
}
