/**
 * Policy as data: the `suanli` policy's configuration, compiled from a plain object (the caller
 * parses YAML or JSON) by `compilePolicy`, in the style of `compileJobSpec`: never throws on bad
 * input, returns every problem with its field path and what to fix, and rejects unknown fields so a
 * typo never silently does nothing.
 *
 * The quota tree is organisation → tenant → project. Tenants carry, per accelerator type, a
 * guaranteed share (Kueue's nominalQuota), a borrowing limit and a lending limit, and belong to at
 * most one cohort (the group they lend to and borrow from). Capacity that no tenant is guaranteed
 * belongs to the organisation and anyone may borrow it, so the hall stays full. Projects may cap a
 * tenant's use per type.
 */
import type { Compiled, FieldError } from '../model/job-spec.js';
import { parseDurationSeconds } from '../model/job-spec.js';
import type { AcceleratorType } from '../model/resources.js';

export interface TypeQuota {
  /** Devices of this type the tenant is guaranteed (lent out while idle, reclaimed when needed). */
  readonly guaranteed: number;
  /** How many devices above `guaranteed` the tenant may borrow; null: no limit. */
  readonly borrowingLimit: number | null;
  /** How many of its idle guaranteed devices the tenant lends; null: all of them. */
  readonly lendingLimit: number | null;
}

export interface ProjectConfig {
  readonly name: string;
  /** Per-type cap on the project's running devices. A type not listed is not capped. */
  readonly limits: Readonly<Record<AcceleratorType, number>>;
}

export interface TenantConfig {
  readonly name: string;
  /** Relative share for fair share ordering (> 0). */
  readonly weight: number;
  readonly cohort: string | null;
  /** Per-type quota. A type not listed: guaranteed 0, borrowing unlimited, lends nothing. */
  readonly quotas: Readonly<Record<AcceleratorType, TypeQuota>>;
  readonly projects: Readonly<Record<string, ProjectConfig>>;
  /** Jobs the tenant may have waiting (queued or requeued) at once; absent: `defaultTenant`'s. */
  readonly maxWaitingJobs?: number;
}

/**
 * Waiting jobs per tenant when the policy sets none: every waiting job is held and read by each
 * scheduling cycle, so one tenant's queue must not grow without bound; far above a real backlog.
 */
export const DEFAULT_MAX_WAITING_JOBS = 10_000;

export interface PriorityClass {
  readonly name: string;
  /** Higher runs first within a tenant (priority does not cross tenants: fair share does). */
  readonly value: number;
  /** May jobs of this class be preempted at all? */
  readonly preemptible: boolean;
}

export interface PreemptionConfig {
  /** Preempt borrowers to give a tenant back its guaranteed share. */
  readonly reclaim: boolean;
  /** Within a tenant: may a higher-priority job preempt lower-priority ones? */
  readonly withinTenant: 'never' | 'lower-priority';
  /** A job is not preempted before it has run this long (except to reclaim, see boundedReclaimTimeMs). */
  readonly minRuntimeMs: number;
  /** Time between SIGTERM and kill (the engine enforces it); the policy expects devices back after it. */
  readonly gracePeriodMs: number;
  /**
   * A tenant below its guarantee gets it back within this time: reclaim ignores `minRuntimeMs` for
   * victims that have run at least boundedReclaimTimeMs − gracePeriodMs.
   */
  readonly boundedReclaimTimeMs: number;
  /** Bound: at most this many victims chosen per cycle. */
  readonly maxVictimsPerCycle: number;
  /** Bound: at most this many running jobs considered as victims for one pending job. */
  readonly maxCandidatesPerJob: number;
}

export interface BackfillConfig {
  /** false: strict order, the first job that cannot start blocks the rest of its types. */
  readonly enabled: boolean;
  /** Blocked jobs that get a reservation (a promised start time) per cycle; 1 is EASY backfill. */
  readonly reservationDepth: number;
  /** Bound (Slurm bf_max_job_test): full placement searches per cycle; later jobs wait their turn. */
  readonly maxJobsTested: number;
  /** Bound: will-run estimates per cycle (the first blocked jobs in order get an estimated start). */
  readonly estimateMaxJobs: number;
  /**
   * Bound (Slurm default_queue_depth): jobs examined per cycle, in order. Jobs beyond it keep
   * waiting their turn with a fixed verdict (can-never-fit is still reported), so a cycle costs
   * O(maxJobsExamined) however long the queue is.
   */
  readonly maxJobsExamined: number;
  /**
   * For planning only (Slurm DefaultTime): a running job without a time limit is expected to end
   * this long after its start (and "any moment" once past it). Without it, a blocked job behind
   * such jobs gets no reservation and could be passed forever; with it, capacity drains towards it.
   * Pending jobs without a limit are still never backfilled past a reservation.
   */
  readonly assumedTimeLimitMs: number;
}

export interface BookingsConfig {
  /**
   * During a tenant's open booking, may its idle booked devices be lent to other tenants'
   * preemptible jobs? They are evicted (whole, after the grace period) when the owner's jobs need
   * them back. Non-preemptible jobs never get booked capacity; before a window opens nothing of
   * another tenant runs into it either way. false: a window is kept empty of other tenants' jobs.
   */
  readonly lendIdle: boolean;
}

export const DEFAULT_BOOKINGS: BookingsConfig = { lendIdle: false };

/**
 * Least attained service (Tiresias' discretised LAS), applied only where it cannot break a
 * guarantee. Jobs are put in bands by the service they have had (accelerator-time over their
 * attempts so far, running time included): band k holds jobs with boundaries[k−1] ≤ service <
 * boundaries[k]. With it on:
 *  - within a tenant, jobs of equal priority are ordered by band, then first-come;
 *  - across tenants, jobs that fit inside their tenant's guarantee come first (always, with fair
 *    share on), then the others by band, then by fair share;
 *  - a job may preempt, once they have run `preemption.minRuntime`, jobs of a higher band of its
 *    own tenant (at most its priority) and of other tenants that borrow above their guarantee
 *    (only while the victim's tenant stays at or above its guarantee after losing it).
 * Heavy-tailed workloads (most jobs short, most device-time in a few long jobs) then finish short
 * jobs first without knowing durations, and no tenant loses what it is guaranteed.
 */
export interface AttainedServiceConfig {
  readonly enabled: boolean;
  /** Band boundaries in accelerator-ms, ascending. */
  readonly bandBoundariesMs: readonly number[];
}

const HOUR_MS = 3_600_000;
export const DEFAULT_ATTAINED_SERVICE: AttainedServiceConfig = {
  enabled: false,
  bandBoundariesMs: [1, 10, 100].map((h) => h * HOUR_MS),
};

export interface PolicyConfig {
  readonly organisation: string;
  readonly fairShare: {
    /** false: one global order (priority, then first-come), FCFS-like. */
    readonly enabled: boolean;
    /** Usage decays by half every halfLifeMs (Slurm PriorityDecayHalfLife). */
    readonly halfLifeMs: number;
  };
  readonly priorityClasses: readonly PriorityClass[];
  readonly defaultPriorityClass: string;
  readonly preemption: PreemptionConfig;
  readonly backfill: BackfillConfig;
  /** Bookings; absent: as `DEFAULT_BOOKINGS`. */
  readonly bookings?: BookingsConfig;
  /** Least-attained-service ordering and preemption; absent: as `DEFAULT_ATTAINED_SERVICE` (off). */
  readonly attainedService?: AttainedServiceConfig;
  readonly cohorts: readonly string[];
  readonly tenants: Readonly<Record<string, TenantConfig>>;
  /** Settings for tenants not listed under `tenants` (no guarantees; they borrow what is idle). */
  readonly defaultTenant: {
    readonly weight: number;
    readonly cohort: string | null;
    readonly maxWaitingJobs?: number;
  };
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * The policy with no file: one tenant `default`, everything shared (no guarantees, no limits), one
 * global first-come order with EASY backfill, no preemption.
 */
export const DEFAULT_POLICY: PolicyConfig = {
  organisation: 'default',
  fairShare: { enabled: false, halfLifeMs: 7 * DAY_MS },
  priorityClasses: [{ name: 'normal', value: 0, preemptible: true }],
  defaultPriorityClass: 'normal',
  preemption: {
    reclaim: false,
    withinTenant: 'never',
    minRuntimeMs: 0,
    gracePeriodMs: 30_000,
    boundedReclaimTimeMs: 15 * 60_000,
    maxVictimsPerCycle: 64,
    maxCandidatesPerJob: 256,
  },
  backfill: {
    enabled: true,
    reservationDepth: 1,
    maxJobsTested: 500,
    estimateMaxJobs: 10,
    maxJobsExamined: 2_000,
    assumedTimeLimitMs: 7 * DAY_MS,
  },
  cohorts: [],
  tenants: { default: { name: 'default', weight: 1, cohort: null, quotas: {}, projects: {} } },
  defaultTenant: { weight: 1, cohort: null },
};

type Json = unknown;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TYPE_RE = /^[a-z0-9][a-z0-9._-]*$/;
const BOUND_MAX = 1_000_000;

function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isInt(v: Json, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

class Ctx {
  readonly errors: FieldError[] = [];
  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  known(obj: Record<string, Json>, fields: readonly string[], prefix: string): void {
    for (const k of Object.keys(obj))
      if (!fields.includes(k))
        this.err(prefix + k, `unknown field "${k}"; allowed fields here are: ${fields.join(', ')}`);
  }
  record(v: Json, path: string, example: string): Record<string, Json> | null {
    if (v === undefined) return null;
    if (!isRecord(v)) {
      this.err(path, `must be a mapping, e.g. ${example}`);
      return null;
    }
    return v;
  }
  bool(v: Json, path: string, dflt: boolean): boolean {
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      this.err(path, 'must be true or false');
      return dflt;
    }
    return v;
  }
  int(v: Json, path: string, dflt: number, min: number, max: number): number {
    if (v === undefined) return dflt;
    if (!isInt(v, min, max)) {
      this.err(path, `must be a whole number from ${min} to ${max}`);
      return dflt;
    }
    return v;
  }
  /** Durations as in job specs ("30s", "10m", "2h", "7d" or seconds); `0` allowed where zeroOk. */
  durationMs(v: Json, path: string, dflt: number, zeroOk: boolean): number {
    if (v === undefined) return dflt;
    if (zeroOk && (v === 0 || v === '0')) return 0;
    const s = parseDurationSeconds(v);
    if (s === null) {
      this.err(
        path,
        `must be a duration such as "30s", "10m", "2h", "7d" or a number of seconds${zeroOk ? ' (0 allowed)' : ''}`,
      );
      return dflt;
    }
    return s * 1000;
  }
  weight(v: Json, path: string): number {
    if (v === undefined) return 1;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > BOUND_MAX) {
      this.err(path, `must be a number greater than 0 and at most ${BOUND_MAX}, e.g. 1 or 2.5`);
      return 1;
    }
    return v;
  }
  cohort(v: Json, path: string, cohorts: readonly string[]): string | null {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || !cohorts.includes(v)) {
      this.err(
        path,
        cohorts.length === 0
          ? 'names a cohort, but no cohorts are declared: add it under top-level "cohorts"'
          : `must be one of the declared cohorts: ${cohorts.join(', ')}`,
      );
      return null;
    }
    return v;
  }
}

const TOP = [
  'organisation',
  'fairShare',
  'priorityClasses',
  'preemption',
  'backfill',
  'bookings',
  'attainedService',
  'cohorts',
  'tenants',
  'defaultTenant',
] as const;
const BOOKINGS = ['lendIdle'] as const;
const SERVICE = ['enabled', 'bandsAcceleratorHours'] as const;
const FAIR = ['enabled', 'halfLife'] as const;
const CLASS = ['value', 'preemptible', 'default'] as const;
const PREEMPT = [
  'reclaim',
  'withinTenant',
  'minRuntime',
  'gracePeriod',
  'boundedReclaimTime',
  'maxVictimsPerCycle',
  'maxCandidatesPerJob',
] as const;
const BACKFILL = [
  'enabled',
  'reservationDepth',
  'maxJobsTested',
  'estimateMaxJobs',
  'maxJobsExamined',
  'assumedTimeLimit',
] as const;
const TENANT = ['weight', 'cohort', 'quotas', 'projects', 'maxWaitingJobs'] as const;
const QUOTA = ['guaranteed', 'borrowingLimit', 'lendingLimit'] as const;
const PROJECT = ['limits'] as const;
const DEFAULT_TENANT = ['weight', 'cohort', 'maxWaitingJobs'] as const;

/**
 * Compiles a policy object (parsed YAML/JSON) into a `PolicyConfig`. Every field is optional and
 * defaults to `DEFAULT_POLICY`'s value, so `{}` compiles to a policy equivalent to it.
 */
export function compilePolicy(input: Json): Compiled<PolicyConfig> {
  const c = new Ctx();
  const D = DEFAULT_POLICY;
  if (input === undefined || input === null) return { ok: true, value: D };
  if (!isRecord(input))
    return {
      ok: false,
      errors: [
        {
          path: '',
          message: 'a policy must be a mapping (YAML object), e.g. { tenants: { lab-a: { weight: 1 } } }',
        },
      ],
    };
  c.known(input, TOP, '');

  let organisation = D.organisation;
  if (input['organisation'] !== undefined) {
    const o = input['organisation'];
    if (typeof o !== 'string' || !NAME_RE.test(o))
      c.err('organisation', 'must be a name of letters, digits, ".", "_" or "-"');
    else organisation = o;
  }

  // fairShare
  let fairShare = D.fairShare;
  const fs = c.record(input['fairShare'], 'fairShare', '{ enabled: true, halfLife: 7d }');
  if (fs) {
    c.known(fs, FAIR, 'fairShare.');
    fairShare = {
      // a fairShare section turns it on unless it says otherwise
      enabled: c.bool(fs['enabled'], 'fairShare.enabled', true),
      halfLifeMs: c.durationMs(fs['halfLife'], 'fairShare.halfLife', D.fairShare.halfLifeMs, false),
    };
  }

  // priorityClasses
  let priorityClasses = D.priorityClasses;
  let defaultPriorityClass = D.defaultPriorityClass;
  const pcs = c.record(
    input['priorityClasses'],
    'priorityClasses',
    '{ high: { value: 100, preemptible: false }, normal: { value: 0, default: true } }',
  );
  if (pcs) {
    const list: PriorityClass[] = [];
    const defaults: string[] = [];
    for (const [name, v] of Object.entries(pcs)) {
      const p = `priorityClasses.${name}`;
      if (!NAME_RE.test(name)) c.err(p, 'class names are letters, digits, ".", "_" or "-"');
      const o = c.record(v, p, '{ value: 100, preemptible: true }');
      if (!o) {
        if (v === undefined) c.err(p, 'must be a mapping, e.g. { value: 100 }');
        continue;
      }
      c.known(o, CLASS, `${p}.`);
      if (o['value'] === undefined)
        c.err(`${p}.value`, 'is required: a whole number, higher runs first within a tenant');
      const value = c.int(o['value'], `${p}.value`, 0, -BOUND_MAX, BOUND_MAX);
      if (c.bool(o['default'], `${p}.default`, false)) defaults.push(name);
      list.push({ name, value, preemptible: c.bool(o['preemptible'], `${p}.preemptible`, true) });
    }
    if (list.length === 0) c.err('priorityClasses', 'must declare at least one class, or be left out');
    else if (defaults.length > 1)
      c.err('priorityClasses', `only one class may be the default; found ${defaults.join(', ')}`);
    else {
      list.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
      priorityClasses = list;
      // no explicit default: the class with value 0 if any, else the lowest
      defaultPriorityClass =
        defaults[0] ?? list.find((x) => x.value === 0)?.name ?? list[list.length - 1]?.name ?? 'normal';
    }
  }

  // preemption
  let preemption = D.preemption;
  const pre = c.record(input['preemption'], 'preemption', '{ reclaim: true, gracePeriod: 2m }');
  if (pre) {
    c.known(pre, PREEMPT, 'preemption.');
    const wt = pre['withinTenant'];
    let withinTenant: PreemptionConfig['withinTenant'] = 'lower-priority';
    if (wt !== undefined) {
      if (wt !== 'never' && wt !== 'lower-priority')
        c.err('preemption.withinTenant', 'must be "never" or "lower-priority"');
      else withinTenant = wt;
    }
    const gracePeriodMs = c.durationMs(
      pre['gracePeriod'],
      'preemption.gracePeriod',
      D.preemption.gracePeriodMs,
      true,
    );
    const boundedReclaimTimeMs = c.durationMs(
      pre['boundedReclaimTime'],
      'preemption.boundedReclaimTime',
      D.preemption.boundedReclaimTimeMs,
      false,
    );
    if (boundedReclaimTimeMs < gracePeriodMs)
      c.err(
        'preemption.boundedReclaimTime',
        'must be at least preemption.gracePeriod: a victim needs its grace period to stop',
      );
    preemption = {
      // a preemption section turns reclaim on unless it says otherwise
      reclaim: c.bool(pre['reclaim'], 'preemption.reclaim', true),
      withinTenant,
      minRuntimeMs: c.durationMs(pre['minRuntime'], 'preemption.minRuntime', D.preemption.minRuntimeMs, true),
      gracePeriodMs,
      boundedReclaimTimeMs,
      maxVictimsPerCycle: c.int(
        pre['maxVictimsPerCycle'],
        'preemption.maxVictimsPerCycle',
        D.preemption.maxVictimsPerCycle,
        1,
        BOUND_MAX,
      ),
      maxCandidatesPerJob: c.int(
        pre['maxCandidatesPerJob'],
        'preemption.maxCandidatesPerJob',
        D.preemption.maxCandidatesPerJob,
        1,
        BOUND_MAX,
      ),
    };
  }

  // backfill
  let backfill = D.backfill;
  const bf = c.record(input['backfill'], 'backfill', '{ enabled: true, maxJobsTested: 500 }');
  if (bf) {
    c.known(bf, BACKFILL, 'backfill.');
    backfill = {
      enabled: c.bool(bf['enabled'], 'backfill.enabled', true),
      reservationDepth: c.int(
        bf['reservationDepth'],
        'backfill.reservationDepth',
        D.backfill.reservationDepth,
        1,
        1000,
      ),
      maxJobsTested: c.int(
        bf['maxJobsTested'],
        'backfill.maxJobsTested',
        D.backfill.maxJobsTested,
        1,
        BOUND_MAX,
      ),
      estimateMaxJobs: c.int(
        bf['estimateMaxJobs'],
        'backfill.estimateMaxJobs',
        D.backfill.estimateMaxJobs,
        0,
        BOUND_MAX,
      ),
      maxJobsExamined: c.int(
        bf['maxJobsExamined'],
        'backfill.maxJobsExamined',
        D.backfill.maxJobsExamined,
        1,
        10_000_000,
      ),
      assumedTimeLimitMs: c.durationMs(
        bf['assumedTimeLimit'],
        'backfill.assumedTimeLimit',
        D.backfill.assumedTimeLimitMs,
        false,
      ),
    };
  }

  // bookings
  let bookings: BookingsConfig | undefined;
  const bk = c.record(input['bookings'], 'bookings', '{ lendIdle: true }');
  if (bk) {
    c.known(bk, BOOKINGS, 'bookings.');
    bookings = { lendIdle: c.bool(bk['lendIdle'], 'bookings.lendIdle', DEFAULT_BOOKINGS.lendIdle) };
  }

  // attainedService
  let attainedService: AttainedServiceConfig | undefined;
  const as = c.record(
    input['attainedService'],
    'attainedService',
    '{ enabled: true, bandsAcceleratorHours: [1, 10, 100] }',
  );
  if (as) {
    c.known(as, SERVICE, 'attainedService.');
    let bandBoundariesMs = DEFAULT_ATTAINED_SERVICE.bandBoundariesMs;
    const b = as['bandsAcceleratorHours'];
    if (b !== undefined) {
      if (
        !Array.isArray(b) ||
        b.length === 0 ||
        b.length > 16 ||
        b.some(
          (x, i) =>
            typeof x !== 'number' ||
            !Number.isFinite(x) ||
            x <= 0 ||
            x > BOUND_MAX ||
            (i > 0 && x <= (b[i - 1] as number)),
        )
      )
        c.err(
          'attainedService.bandsAcceleratorHours',
          'must be 1 to 16 increasing positive numbers of accelerator-hours, e.g. [1, 10, 100]',
        );
      else bandBoundariesMs = (b as number[]).map((h) => Math.round(h * HOUR_MS));
    }
    // an attainedService section turns it on unless it says otherwise
    attainedService = { enabled: c.bool(as['enabled'], 'attainedService.enabled', true), bandBoundariesMs };
  }

  // cohorts
  let cohorts: string[] = [];
  const co = input['cohorts'];
  if (co !== undefined) {
    if (!Array.isArray(co) || co.some((x) => typeof x !== 'string' || !NAME_RE.test(x)))
      c.err('cohorts', 'must be a list of cohort names, e.g. [research, industry]');
    else {
      cohorts = [...new Set(co as string[])].sort();
      if (cohorts.length !== co.length) c.err('cohorts', 'lists a cohort twice');
    }
  }

  // tenants
  let tenants: Record<string, TenantConfig> = { ...D.tenants };
  const ts = c.record(
    input['tenants'],
    'tenants',
    '{ lab-a: { weight: 1, quotas: { nvidia-h200: { guaranteed: 8 } } } }',
  );
  if (ts) {
    tenants = {};
    for (const name of Object.keys(ts).sort()) {
      const p = `tenants.${name}`;
      if (!NAME_RE.test(name)) c.err(p, 'tenant names are letters, digits, ".", "_" or "-"');
      const raw = ts[name];
      const t = raw === null ? {} : c.record(raw, p, '{ weight: 1 }');
      if (!t) continue;
      c.known(t, TENANT, `${p}.`);
      const quotas: Record<string, TypeQuota> = {};
      const qs = c.record(
        t['quotas'],
        `${p}.quotas`,
        '{ nvidia-h200: { guaranteed: 8, borrowingLimit: 8 } }',
      );
      for (const [type, qv] of Object.entries(qs ?? {})) {
        const qp = `${p}.quotas.${type}`;
        if (!TYPE_RE.test(type))
          c.err(qp, 'accelerator types are lower-case, e.g. nvidia-h200 or ascend-910b');
        const q = c.record(qv, qp, '{ guaranteed: 8 }');
        if (!q) continue;
        c.known(q, QUOTA, `${qp}.`);
        const guaranteed = c.int(q['guaranteed'], `${qp}.guaranteed`, 0, 0, BOUND_MAX);
        const borrowingLimit =
          q['borrowingLimit'] === undefined || q['borrowingLimit'] === null
            ? null
            : c.int(q['borrowingLimit'], `${qp}.borrowingLimit`, 0, 0, BOUND_MAX);
        const lendingLimit =
          q['lendingLimit'] === undefined || q['lendingLimit'] === null
            ? null
            : c.int(q['lendingLimit'], `${qp}.lendingLimit`, 0, 0, BOUND_MAX);
        if (lendingLimit !== null && lendingLimit > guaranteed)
          c.err(
            `${qp}.lendingLimit`,
            `must be at most guaranteed (${guaranteed}): a tenant can only lend what it is guaranteed`,
          );
        quotas[type] = { guaranteed, borrowingLimit, lendingLimit };
      }
      const projects: Record<string, ProjectConfig> = {};
      const ps = c.record(t['projects'], `${p}.projects`, '{ vision: { limits: { nvidia-h200: 16 } } }');
      for (const [pname, pv] of Object.entries(ps ?? {})) {
        const pp = `${p}.projects.${pname}`;
        if (!NAME_RE.test(pname)) c.err(pp, 'project names are letters, digits, ".", "_" or "-"');
        const po = pv === null ? {} : c.record(pv, pp, '{ limits: { nvidia-h200: 16 } }');
        if (!po) continue;
        c.known(po, PROJECT, `${pp}.`);
        const limits: Record<string, number> = {};
        const ls = c.record(po['limits'], `${pp}.limits`, '{ nvidia-h200: 16 }');
        for (const [type, lv] of Object.entries(ls ?? {})) {
          if (!TYPE_RE.test(type))
            c.err(`${pp}.limits.${type}`, 'accelerator types are lower-case, e.g. nvidia-h200');
          limits[type] = c.int(lv, `${pp}.limits.${type}`, 0, 0, BOUND_MAX);
        }
        projects[pname] = { name: pname, limits };
      }
      const maxWaitingJobs =
        t['maxWaitingJobs'] === undefined
          ? undefined
          : c.int(t['maxWaitingJobs'], `${p}.maxWaitingJobs`, DEFAULT_MAX_WAITING_JOBS, 0, BOUND_MAX);
      tenants[name] = {
        name,
        weight: c.weight(t['weight'], `${p}.weight`),
        cohort: c.cohort(t['cohort'], `${p}.cohort`, cohorts),
        quotas,
        projects,
        ...(maxWaitingJobs !== undefined ? { maxWaitingJobs } : {}),
      };
    }
  }

  let defaultTenant = D.defaultTenant;
  const dt = c.record(input['defaultTenant'], 'defaultTenant', '{ weight: 1 }');
  if (dt) {
    c.known(dt, DEFAULT_TENANT, 'defaultTenant.');
    const maxWaitingJobs =
      dt['maxWaitingJobs'] === undefined
        ? undefined
        : c.int(dt['maxWaitingJobs'], 'defaultTenant.maxWaitingJobs', DEFAULT_MAX_WAITING_JOBS, 0, BOUND_MAX);
    defaultTenant = {
      weight: c.weight(dt['weight'], 'defaultTenant.weight'),
      cohort: c.cohort(dt['cohort'], 'defaultTenant.cohort', cohorts),
      ...(maxWaitingJobs !== undefined ? { maxWaitingJobs } : {}),
    };
  }

  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  return {
    ok: true,
    value: {
      organisation,
      fairShare,
      priorityClasses,
      defaultPriorityClass,
      preemption,
      backfill,
      ...(bookings !== undefined ? { bookings } : {}),
      ...(attainedService !== undefined ? { attainedService } : {}),
      cohorts,
      tenants,
      defaultTenant,
    },
  };
}

/**
 * Resolves a job's priority class (from its spec) into the numbers the scheduler sees. The engine
 * calls this at submission: `priority` = the explicit number if given, else the class's value;
 * `preemptible` = the spec's flag AND the class's flag. Unknown class names are a field error.
 */
export function resolvePriority(
  policy: PolicyConfig,
  priorityClass: string | null,
  explicitPriority: number | null,
  specPreemptible: boolean,
): Compiled<{ readonly priority: number; readonly preemptible: boolean; readonly priorityClass: string }> {
  const name = priorityClass ?? policy.defaultPriorityClass;
  const cls = policy.priorityClasses.find((p) => p.name === name);
  if (cls === undefined)
    return {
      ok: false,
      errors: [
        {
          path: 'priority',
          message: `unknown priority class "${name}"; this center defines: ${policy.priorityClasses.map((p) => p.name).join(', ')}`,
        },
      ],
    };
  return {
    ok: true,
    value: {
      priority: explicitPriority ?? cls.value,
      preemptible: specPreemptible && cls.preemptible,
      priorityClass: cls.name,
    },
  };
}

/** The settings of `tenant` (the `defaultTenant` ones for a tenant not listed). */
export function tenantConfig(policy: PolicyConfig, tenant: string): TenantConfig {
  return (
    policy.tenants[tenant] ?? {
      name: tenant,
      weight: policy.defaultTenant.weight,
      cohort: policy.defaultTenant.cohort,
      quotas: {},
      projects: {},
    }
  );
}

/** How many jobs `tenant` may have waiting at once: its own setting, else `defaultTenant`'s, else the default. */
export function maxWaitingJobsOf(policy: PolicyConfig, tenant: string): number {
  return (
    policy.tenants[tenant]?.maxWaitingJobs ?? policy.defaultTenant.maxWaitingJobs ?? DEFAULT_MAX_WAITING_JOBS
  );
}
