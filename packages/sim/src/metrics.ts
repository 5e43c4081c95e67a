/**
 * Figures of merit per policy, computed from a run's job outcomes. Definitions (seconds unless the
 * name says otherwise):
 *  - JCT = end − submit; queueing delay = first start − submit (later waits after a preemption
 *    show in JCT, not here).
 *  - slowdown = JCT / max(duration, 10 s) ("bounded slowdown": very short jobs would otherwise
 *    dominate the mean).
 *  - makespan = last end − first submit.
 *  - utilization = busy device-time / (devices × makespan), restart overhead counted as busy;
 *    utilization_arrivals = the same over whole hours from the first to the last submission (a
 *    trace's few very long jobs otherwise stretch the makespan and hide how full the hall was).
 *  - preemptions per job; accelerator-hours lost = device-time spent in restart overhead.
 *  - per tenant: jobs, mean JCT, mean/p99 queueing delay, mean slowdown, device-hours, guarantee
 *    and how long a job of the tenant that fit within its guarantee waited (`guarantee_violation_h`:
 *    hours during which any such job waited; `max_guarantee_wait_s`: the longest single wait of one
 *    job inside the guarantee; honoured when no job's exceeds `GUARANTEE_WAIT_BOUND_S`;
 *    `max_guarantee_gap_s`: the longest stretch in which the tenant stayed below its guarantee
 *    while one of its waiting jobs fit into the room left, whichever job that was).
 *  - fairness = max / min of the tenants' mean slowdowns (1 is perfectly even).
 * Jobs that never started (they fit no node of the cluster) are counted apart and left out.
 */
import type { RunOutcome } from './engine.js';
import { UTILIZATION_BUCKET_MS } from './engine.js';

export const SLOWDOWN_FLOOR_S = 10;
/**
 * A guarantee is honoured when no job that fit inside it waited longer than this: the time a
 * platform needs to take devices back from borrowers (grace period, restart), for which the
 * `suanli` policy's own promise (`preemption.boundedReclaimTime`) is 15 minutes.
 */
export const GUARANTEE_WAIT_BOUND_S = 900;

export interface TenantMetrics {
  readonly tenant: string;
  readonly jobs: number;
  readonly mean_jct_s: number;
  readonly mean_queue_s: number;
  readonly p99_queue_s: number;
  readonly mean_slowdown: number;
  readonly device_hours: number;
  readonly guarantee_accelerators: number | null;
  readonly guarantee_violation_h: number | null;
  /** The longest single wait of one of the tenant's jobs while it fit inside the guarantee (s). */
  readonly max_guarantee_wait_s: number | null;
  /** The tenant's jobs whose wait inside the guarantee exceeded `GUARANTEE_WAIT_BOUND_S`. */
  readonly guarantee_waits_over_bound: number | null;
  /**
   * The longest stretch (s) during which the tenant stayed below its guarantee while one of its
   * waiting jobs fit into the room left. Unlike `max_guarantee_wait_s` it does not add up short
   * spells over one job's long wait: it is how long the tenant went without what it is guaranteed.
   */
  readonly max_guarantee_gap_s: number | null;
}

export interface PolicyMetrics {
  readonly policy: string;
  readonly jobs: number;
  readonly unfinished_jobs: number;
  readonly mean_jct_s: number;
  readonly median_jct_s: number;
  readonly p99_jct_s: number;
  readonly mean_queue_s: number;
  readonly median_queue_s: number;
  readonly p99_queue_s: number;
  readonly mean_slowdown: number;
  readonly makespan_s: number;
  readonly utilization: number;
  /** Utilisation from the first to the last submission (the long tail after arrivals stop excluded). */
  readonly utilization_arrivals: number;
  readonly preemptions: number;
  readonly preemptions_per_job: number;
  readonly accelerator_hours_lost: number;
  readonly fairness_max_min_slowdown: number;
  readonly tenants_with_guarantee_violation: number;
  readonly guarantee_violation_h_max: number;
  /**
   * Tenants with a job that waited longer than `GUARANTEE_WAIT_BOUND_S` while it fit inside its
   * tenant's guarantee: the guarantee was not honoured for them.
   */
  readonly tenants_guarantee_not_honoured: number;
  /** The longest wait of any job inside its tenant's guarantee (s). */
  readonly max_guarantee_wait_s: number;
  /** Tenants that stayed below their guarantee, with a job that fit waiting, over `GUARANTEE_WAIT_BOUND_S` at once. */
  readonly tenants_guarantee_gap_over_bound: number;
  /** The longest such stretch of any tenant (s). */
  readonly max_guarantee_gap_s: number;
  readonly policy_calls: number;
  readonly sim_seconds: number;
  readonly per_tenant: readonly TenantMetrics[];
  /** Utilisation per `utilization_bucket_s` from the first submission. */
  readonly utilization_series: readonly number[];
  readonly utilization_bucket_s: number;
}

/** Nearest-rank quantile of an ascending array (q in [0, 1]). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

const asc = (a: number, b: number): number => a - b;
const round = (x: number, d = 1): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export function computeMetrics(run: RunOutcome, guarantees: ReadonlyMap<string, number>): PolicyMetrics {
  const done = run.jobs.filter((j) => j.endMs !== null && j.firstStartMs !== null);
  const jct = done.map((j) => (j.endMs! - j.submitMs) / 1000).sort(asc);
  const queue = done.map((j) => (j.firstStartMs! - j.submitMs) / 1000).sort(asc);
  const slow = done.map(
    (j) => (j.endMs! - j.submitMs) / 1000 / Math.max(j.durationMs / 1000, SLOWDOWN_FLOOR_S),
  );
  let firstSubmit = Infinity;
  let lastEnd = -Infinity;
  for (const j of done) {
    firstSubmit = Math.min(firstSubmit, j.submitMs);
    lastEnd = Math.max(lastEnd, j.endMs!);
  }
  const makespanS = done.length === 0 ? 0 : (lastEnd - firstSubmit) / 1000;
  const busy = run.busyByBucket.reduce((s, b) => s + b, 0);
  const utilization = makespanS > 0 ? busy / 1000 / (run.totalAccelerators * makespanS) : 0;
  let lastSubmit = -Infinity;
  for (const j of run.jobs) lastSubmit = Math.max(lastSubmit, j.submitMs);
  const arrivalBuckets = Math.max(1, Math.ceil((lastSubmit - run.startMs) / UTILIZATION_BUCKET_MS));
  let busyArrivals = 0;
  for (let b = 0; b < Math.min(arrivalBuckets, run.busyByBucket.length); b++)
    busyArrivals += run.busyByBucket[b]!;
  const utilizationArrivals = busyArrivals / (run.totalAccelerators * arrivalBuckets * UTILIZATION_BUCKET_MS);
  const preemptions = done.reduce((s, j) => s + j.preemptions, 0);
  const lostH = run.jobs.reduce((s, j) => s + j.lostDeviceMs, 0) / 3.6e6;

  const tenants = new Map<string, typeof done>();
  for (const j of done) {
    const l = tenants.get(j.tenant);
    if (l === undefined) tenants.set(j.tenant, [j]);
    else l.push(j);
  }
  const perTenant: TenantMetrics[] = [...tenants.entries()]
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .map(([tenant, js]) => {
      const q = js.map((j) => (j.firstStartMs! - j.submitMs) / 1000).sort(asc);
      const g = guarantees.get(tenant);
      return {
        tenant,
        jobs: js.length,
        mean_jct_s: round(mean(js.map((j) => (j.endMs! - j.submitMs) / 1000))),
        mean_queue_s: round(mean(q)),
        p99_queue_s: round(quantile(q, 0.99)),
        mean_slowdown: round(
          mean(
            js.map((j) => (j.endMs! - j.submitMs) / 1000 / Math.max(j.durationMs / 1000, SLOWDOWN_FLOOR_S)),
          ),
          3,
        ),
        device_hours: round(js.reduce((s, j) => s + (j.durationMs / 3.6e6) * j.accelerators, 0)),
        guarantee_accelerators: g ?? null,
        guarantee_violation_h:
          g === undefined ? null : round((run.guaranteeViolationMs.get(tenant) ?? 0) / 3.6e6, 2),
        max_guarantee_wait_s:
          g === undefined ? null : round(js.reduce((m, j) => Math.max(m, j.maxGuaranteeWaitMs), 0) / 1000),
        guarantee_waits_over_bound:
          g === undefined
            ? null
            : js.filter((j) => j.maxGuaranteeWaitMs > GUARANTEE_WAIT_BOUND_S * 1000).length,
        max_guarantee_gap_s: g === undefined ? null : round((run.guaranteeGapMs.get(tenant) ?? 0) / 1000),
      };
    });
  const slowdowns = perTenant.map((t) => t.mean_slowdown).filter((x) => Number.isFinite(x) && x > 0);
  const violations = perTenant.map((t) => t.guarantee_violation_h ?? 0);
  const bucketS = UTILIZATION_BUCKET_MS / 1000;
  return {
    policy: run.policy,
    jobs: done.length,
    unfinished_jobs: run.jobs.length - done.length,
    mean_jct_s: round(mean(jct)),
    median_jct_s: round(quantile(jct, 0.5)),
    p99_jct_s: round(quantile(jct, 0.99)),
    mean_queue_s: round(mean(queue)),
    median_queue_s: round(quantile(queue, 0.5)),
    p99_queue_s: round(quantile(queue, 0.99)),
    mean_slowdown: round(mean(slow), 3),
    makespan_s: round(makespanS),
    utilization: round(utilization, 4),
    utilization_arrivals: round(utilizationArrivals, 4),
    preemptions,
    preemptions_per_job: round(done.length === 0 ? 0 : preemptions / done.length, 4),
    accelerator_hours_lost: round(lostH, 2),
    fairness_max_min_slowdown: round(
      slowdowns.length === 0 ? NaN : Math.max(...slowdowns) / Math.min(...slowdowns),
      3,
    ),
    tenants_with_guarantee_violation: violations.filter((v) => v > 0.01).length,
    guarantee_violation_h_max: round(Math.max(0, ...violations), 2),
    tenants_guarantee_not_honoured: perTenant.filter((t) => (t.guarantee_waits_over_bound ?? 0) > 0).length,
    max_guarantee_wait_s: round(Math.max(0, ...perTenant.map((t) => t.max_guarantee_wait_s ?? 0))),
    tenants_guarantee_gap_over_bound: perTenant.filter(
      (t) => (t.max_guarantee_gap_s ?? 0) > GUARANTEE_WAIT_BOUND_S,
    ).length,
    max_guarantee_gap_s: round(Math.max(0, ...perTenant.map((t) => t.max_guarantee_gap_s ?? 0))),
    policy_calls: run.policyCalls,
    sim_seconds: round(run.wallMs / 1000, 2),
    per_tenant: perTenant,
    utilization_series: run.busyByBucket.map((b) =>
      round(b / (UTILIZATION_BUCKET_MS * run.totalAccelerators), 4),
    ),
    utilization_bucket_s: bucketS,
  };
}

/** JCTs (s), ascending, for CDF plots. */
export function jctSeconds(run: RunOutcome): number[] {
  return run.jobs
    .filter((j) => j.endMs !== null)
    .map((j) => (j.endMs! - j.submitMs) / 1000)
    .sort(asc);
}
