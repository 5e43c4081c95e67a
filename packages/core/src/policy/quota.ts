/**
 * Quota accounting for one cycle: who uses how many devices of each type, and whether one more job
 * fits its tenant's and project's quota.
 *
 * The model (Kueue's ClusterQueue + cohort, with the organisation as the root cohort), per type T:
 *   - a tenant m may use up to guaranteed_m + borrowingLimit_m;
 *   - its idle guaranteed devices, up to lendingLimit_m, are lent: supply_m = min(lend_m, max(0, guaranteed_m − use_m));
 *   - what it uses above its guarantee is borrowed: demand_m = max(0, use_m − guaranteed_m);
 *   - a cohort first lends among its members; what is left over, and the devices no tenant is
 *     guaranteed (`unassigned`), form the organisation's pool, from which any cohort's excess
 *     demand is served. Borrowing is admitted only while Σ excess demand ≤ pool.
 * A tenant's use within its guarantee is always admitted by quota (the capacity may still be lent
 * out: then the policy reclaims it by preempting borrowers).
 *
 * Aggregates are kept incrementally, so one check is O(1).
 */
import type { BeyondQuotaDetail, OverQuotaDetail } from '../verdict.js';
import type { AcceleratorType } from '../model/resources.js';
import type { PolicyConfig, TenantConfig } from './config.js';
import { tenantConfig } from './config.js';

interface CohortAgg {
  supply: number;
  demand: number;
}

interface TypeBook {
  readonly use: Map<string, number>;
  readonly cohorts: Map<string, CohortAgg>;
  /** Σ over cohorts of max(0, supply − demand) and of max(0, demand − supply). */
  poolSupply: number;
  poolDemand: number;
  readonly unassigned: number;
  /** Σ use over tenants, and the hall's devices of this type. */
  total: number;
  readonly hall: number;
  /** Σ over listed tenants of what each lends at most (its lending limit, or its guarantee). */
  readonly lendable: number;
}

export type QuotaCheck =
  { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly detail: OverQuotaDetail };

const OK: QuotaCheck = { ok: true };

export class QuotaBook {
  private readonly books = new Map<AcceleratorType, TypeBook>();
  private readonly projectUse = new Map<string, number>();
  private readonly tenants = new Map<string, TenantConfig>();

  constructor(
    private readonly policy: PolicyConfig,
    /** Devices per type in the hall (up nodes). */
    private readonly hall: ReadonlyMap<AcceleratorType, number>,
  ) {}

  tenant(name: string): TenantConfig {
    let t = this.tenants.get(name);
    if (t === undefined) {
      t = tenantConfig(this.policy, name);
      this.tenants.set(name, t);
    }
    return t;
  }

  private readonly cohortKeys = new Map<TenantConfig, string>();
  private cohortKey(t: TenantConfig): string {
    if (t.cohort !== null && t.cohort !== undefined) return t.cohort;
    let k = this.cohortKeys.get(t);
    if (k === undefined) {
      k = `\u0000tenant:${t.name}`;
      this.cohortKeys.set(t, k);
    }
    return k;
  }

  guaranteed(tenant: string, type: AcceleratorType): number {
    return this.tenant(tenant).quotas[type]?.guaranteed ?? 0;
  }

  private book(type: AcceleratorType): TypeBook {
    let b = this.books.get(type);
    if (b !== undefined) return b;
    let assigned = 0;
    let lendable = 0;
    const cohorts = new Map<string, CohortAgg>();
    for (const t of Object.values(this.policy.tenants)) {
      const q = t.quotas[type];
      if (q === undefined) continue;
      assigned += q.guaranteed;
      const key = this.cohortKey(t);
      const agg = cohorts.get(key) ?? { supply: 0, demand: 0 };
      agg.supply += Math.min(q.lendingLimit ?? q.guaranteed, q.guaranteed);
      lendable += Math.min(q.lendingLimit ?? q.guaranteed, q.guaranteed);
      cohorts.set(key, agg);
    }
    let poolSupply = 0;
    for (const a of cohorts.values()) poolSupply += Math.max(0, a.supply - a.demand);
    b = {
      use: new Map(),
      cohorts,
      poolSupply,
      poolDemand: 0,
      unassigned: Math.max(0, (this.hall.get(type) ?? 0) - assigned),
      total: 0,
      hall: this.hall.get(type) ?? 0,
      lendable,
    };
    this.books.set(type, b);
    return b;
  }

  /** What the tenant lends to (supply) and borrows from (demand) its cohort at `use` devices. */
  private static supply(g: number, lend: number, use: number): number {
    return Math.min(lend, Math.max(0, g - use));
  }
  private static demand(g: number, use: number): number {
    return Math.max(0, use - g);
  }
  private static lend(t: TenantConfig, type: AcceleratorType): number {
    const q = t.quotas[type];
    return q === undefined ? 0 : Math.min(q.lendingLimit ?? q.guaranteed, q.guaranteed);
  }

  usage(tenant: string, type: AcceleratorType): number {
    return this.books.get(type)?.use.get(tenant) ?? 0;
  }

  projectUsage(tenant: string, project: string, type: AcceleratorType): number {
    return this.projectUse.get(`${tenant}\u0000${project}\u0000${type}`) ?? 0;
  }

  /** Is the tenant using more than its guarantee of `type` (lent capacity that may be reclaimed)? */
  isBorrowing(tenant: string, type: AcceleratorType): boolean {
    return this.usage(tenant, type) > this.guaranteed(tenant, type);
  }

  /** Would `devices` more keep the tenant within its guarantee? */
  withinGuarantee(tenant: string, type: AcceleratorType, devices: number): boolean {
    return this.usage(tenant, type) + devices <= this.guaranteed(tenant, type);
  }

  /** Adds (or with a negative count, removes) use. */
  add(tenant: string, project: string, type: AcceleratorType | null, devices: number): void {
    if (type === null || devices === 0) return;
    const b = this.book(type);
    const t = this.tenant(tenant);
    const before = b.use.get(tenant) ?? 0;
    const after = before + devices;
    b.use.set(tenant, after);
    b.total += devices;
    const pk = `${tenant}\u0000${project}\u0000${type}`;
    this.projectUse.set(pk, (this.projectUse.get(pk) ?? 0) + devices);
    const key = this.cohortKey(t);
    const agg = b.cohorts.get(key) ?? { supply: 0, demand: 0 };
    b.poolSupply -= Math.max(0, agg.supply - agg.demand);
    b.poolDemand -= Math.max(0, agg.demand - agg.supply);
    const g = t.quotas[type]?.guaranteed ?? 0;
    const lend = QuotaBook.lend(t, type);
    agg.supply += QuotaBook.supply(g, lend, after) - QuotaBook.supply(g, lend, before);
    agg.demand += QuotaBook.demand(g, after) - QuotaBook.demand(g, before);
    b.cohorts.set(key, agg);
    b.poolSupply += Math.max(0, agg.supply - agg.demand);
    b.poolDemand += Math.max(0, agg.demand - agg.supply);
  }

  /**
   * The static cap: could the tenant/project ever hold `devices` of `type` at once (its guarantee
   * plus borrowing limit, and its project limit)? If not, the job needs a policy change to run.
   */
  everAllowed(
    tenant: string,
    project: string,
    type: AcceleratorType | null,
    devices: number,
  ): { readonly reason: string; readonly detail: BeyondQuotaDetail } | null {
    if (type === null || devices === 0) return null;
    const t = this.tenant(tenant);
    const beyond = (scope: BeyondQuotaDetail['scope'], limit: number): BeyondQuotaDetail => ({
      code: 'beyond-quota',
      scope,
      tenant,
      project,
      acceleratorType: type,
      limit,
      need: devices,
    });
    const limit = t.projects[project]?.limits[type];
    if (limit !== undefined && devices > limit)
      return {
        reason: `asks ${devices} ${type}, more than project ${project} of tenant ${tenant} may ever use (${limit}): raise the limit or shrink the job`,
        detail: beyond('project', limit),
      };
    const q = t.quotas[type];
    if (q !== undefined && q.borrowingLimit !== null && devices > q.guaranteed + q.borrowingLimit)
      return {
        reason: `asks ${devices} ${type}, more than tenant ${tenant} may ever use (guaranteed ${q.guaranteed} + borrowing limit ${q.borrowingLimit}): raise the quota or shrink the job`,
        detail: beyond('tenant', q.guaranteed + q.borrowingLimit),
      };
    // even with every other tenant idle, it can borrow at most what they lend plus the unassigned devices
    const b = this.book(type);
    const g = q?.guaranteed ?? 0;
    const ownLend = q === undefined ? 0 : Math.min(q.lendingLimit ?? g, g);
    const borrowable = b.unassigned + b.lendable - (this.policy.tenants[tenant] !== undefined ? ownLend : 0);
    if (devices > g + borrowable)
      return {
        reason: `asks ${devices} ${type}, more than tenant ${tenant} could ever get (guaranteed ${g} + at most ${borrowable} lent by others or unassigned): raise its guarantee, let others lend more, or shrink the job`,
        detail: beyond('cohort', g + borrowable),
      };
    return null;
  }

  /** May `tenant`/`project` start `devices` more of `type`? O(1). */
  check(tenant: string, project: string, type: AcceleratorType | null, devices: number): QuotaCheck {
    if (type === null || devices === 0) return OK;
    const t = this.tenant(tenant);
    const q = t.quotas[type];
    const use = this.usage(tenant, type);
    const g = q?.guaranteed ?? 0;
    const over = (scope: OverQuotaDetail['scope'], lim: number, used: number): OverQuotaDetail => ({
      code: 'over-quota',
      scope,
      tenant,
      project,
      acceleratorType: type,
      limit: lim,
      used,
      need: devices,
    });
    const limit = t.projects[project]?.limits[type];
    if (limit !== undefined) {
      const pu = this.projectUsage(tenant, project, type);
      if (pu + devices > limit)
        return {
          ok: false,
          detail: over('project', limit, pu),
          reason: `project ${project} of tenant ${tenant} may use at most ${limit} ${type}; it uses ${pu} and this job needs ${devices}${devices > limit ? ' (more than the limit ever allows: raise the limit or shrink the job)' : ''}`,
        };
    }
    if (q?.borrowingLimit !== null && q?.borrowingLimit !== undefined && use + devices > g + q.borrowingLimit)
      return {
        ok: false,
        detail: over('tenant', g + q.borrowingLimit, use),
        reason: `tenant ${tenant} may use at most ${g + q.borrowingLimit} ${type} (guaranteed ${g} + borrowing limit ${q.borrowingLimit}); it uses ${use} and this job needs ${devices}${devices > g + q.borrowingLimit ? ' (more than the quota ever allows: raise the quota or shrink the job)' : ''}`,
      };
    if (use + devices <= g) return OK;
    // borrowing: is there idle guaranteed or unassigned capacity to lend?
    const b = this.book(type);
    const key = this.cohortKey(t);
    const agg = b.cohorts.get(key);
    const supply = agg?.supply ?? 0;
    const demand = agg?.demand ?? 0;
    const lend = QuotaBook.lend(t, type);
    const s1 = supply + QuotaBook.supply(g, lend, use + devices) - QuotaBook.supply(g, lend, use);
    const d1 = demand + QuotaBook.demand(g, use + devices) - QuotaBook.demand(g, use);
    const poolSupply = b.poolSupply - Math.max(0, supply - demand) + Math.max(0, s1 - d1);
    const poolDemand = b.poolDemand - Math.max(0, demand - supply) + Math.max(0, d1 - s1);
    if (poolDemand <= poolSupply + b.unassigned) return OK;
    // the hall is simply full: that is a capacity wait, not a quota one (placement will say so)
    if (b.total + devices > b.hall) return OK;
    const borrowNow = Math.max(0, use - g);
    return {
      ok: false,
      detail: over('borrowing', g, use),
      reason: `tenant ${tenant} is guaranteed ${g} ${type} and uses ${use}; this job needs ${devices} more, which must be borrowed, but not enough idle ${type} can be lent now (other tenants use their guarantees or do not lend them; already borrowed: ${borrowNow})`,
    };
  }
}
