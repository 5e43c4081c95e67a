/**
 * Bookings as one cycle sees them: the windows open now and what their owners' jobs use inside
 * them (`OpenBookings`), and a tenant's next window (`nextBookingFor`).
 */
import type { AcceleratorType } from '../../model/resources.js';
import type { ReservedWindow } from '../../model/scheduling.js';
import { cmpStr } from './values.js';

/**
 * Bookings open at `now`: per owner and type, the tenants' windows (maintenance belongs to
 * nobody) whose [startTime, endTime) holds now, and the devices the owner's jobs use inside them.
 *
 * A booking is its owner's entitlement for the window, apart from quota: a job of the owner runs
 * INSIDE it when it has a time limit that ends by the end of an open window of its type, and the
 * owner's jobs inside use no more than the devices booked in the windows that last that long. Such
 * jobs bypass quota (tenant and project limits alike) and do not count as quota use. Running jobs
 * are sorted into "inside" once per cycle (earliest start first), pending ones as they start.
 */
export class OpenBookings {
  private readonly byOwner = new Map<string, Map<AcceleratorType, ReservedWindow[]>>();
  private readonly used = new Map<string, number>();
  /** Running jobs inside their tenant's booking this cycle (never reclaimed, never evicted). */
  readonly insideIds = new Set<string>();

  constructor(windows: readonly ReservedWindow[], now: number) {
    for (const w of windows) {
      if (w.tenant === null || w.startTime > now || w.endTime <= now || w.accelerators <= 0) continue;
      let byType = this.byOwner.get(w.tenant);
      if (byType === undefined) this.byOwner.set(w.tenant, (byType = new Map()));
      const l = byType.get(w.acceleratorType);
      if (l) l.push(w);
      else byType.set(w.acceleratorType, [w]);
    }
    // by id: reasons name the same window whatever the order of the snapshot's array
    for (const byType of this.byOwner.values())
      for (const l of byType.values()) l.sort((a, b) => cmpStr(a.id, b.id));
  }

  get empty(): boolean {
    return this.byOwner.size === 0;
  }
  /** Tenants with an open booking, by name (sorted once: asked once per blocked job). */
  private ownerList: string[] | null = null;
  owners(): readonly string[] {
    this.ownerList ??= [...this.byOwner.keys()].sort(cmpStr);
    return this.ownerList;
  }
  /** Devices of `type` booked by `tenant` in windows open now that last until `end`. */
  entitlement(tenant: string, type: AcceleratorType, end: number): number {
    let n = 0;
    for (const w of this.byOwner.get(tenant)?.get(type) ?? []) if (w.endTime >= end) n += w.accelerators;
    return n;
  }
  /** The open window that names the booking in reasons: the first by id that lasts until `end`. */
  window(tenant: string, type: AcceleratorType, end: number): ReservedWindow | undefined {
    const l = this.byOwner.get(tenant)?.get(type) ?? [];
    return l.find((w) => w.endTime >= end) ?? l[0];
  }
  /** When the earliest open window of the tenant and type began (jobs started since may hold its lent devices). */
  openedAt(tenant: string, type: AcceleratorType): number {
    let t = Infinity;
    for (const w of this.byOwner.get(tenant)?.get(type) ?? []) t = Math.min(t, w.startTime);
    return t;
  }
  usedBy(tenant: string, type: AcceleratorType): number {
    return this.used.get(`${tenant}\u0000${type}`) ?? 0;
  }
  use(tenant: string, type: AcceleratorType, devices: number): void {
    this.used.set(`${tenant}\u0000${type}`, this.usedBy(tenant, type) + devices);
  }
  /** Would `devices` more of `type`, running until `end`, fit inside the tenant's open bookings? */
  fits(tenant: string, type: AcceleratorType, devices: number, end: number): boolean {
    if (devices <= 0 || !Number.isFinite(end) || !this.byOwner.has(tenant)) return false;
    return this.usedBy(tenant, type) + devices <= this.entitlement(tenant, type, end);
  }
  /**
   * Is a job of `tenant` short of free devices only because other tenants' open bookings keep them
   * (all their devices; only those in use when idle ones are `lent` to it)? The type and the first
   * such window (by id), or null.
   */
  keptFrom(
    tenant: string,
    types: readonly (AcceleratorType | null)[],
    devices: number,
    lent: boolean,
    freeOf: (t: AcceleratorType) => number,
  ): { type: AcceleratorType; window: ReservedWindow } | null {
    for (const t of types) {
      if (t === null) continue;
      let keptN = 0;
      let first: ReservedWindow | null = null;
      for (const owner of this.owners()) {
        if (owner === tenant) continue;
        const ws = this.byOwner.get(owner)?.get(t) ?? [];
        let booked = 0;
        for (const w of ws) booked += w.accelerators;
        const k = lent ? Math.min(booked, this.usedBy(owner, t)) : booked;
        if (k <= 0) continue;
        keptN += k;
        const w0 = ws[0];
        if (w0 !== undefined && (first === null || w0.id < first.id)) first = w0;
      }
      if (first !== null && freeOf(t) + keptN >= devices) return { type: t, window: first };
    }
    return null;
  }
  /** The types of `types` in which a pending job (`devices`, time limit `durationMs`) would run inside a booking now. */
  insideTypes(
    tenant: string,
    types: readonly (AcceleratorType | null)[],
    devices: number,
    end: number,
  ): AcceleratorType[] {
    if (!this.byOwner.has(tenant)) return [];
    const out: AcceleratorType[] = [];
    for (const t of types) if (t !== null && this.fits(tenant, t, devices, end)) out.push(t);
    return out;
  }
}

/**
 * The tenant's next booking (a window not yet open) that could hold a job of `devices` of one of
 * `types` for `durationMs`: earliest start, then id. Used to tell a job its quota does not allow
 * that it will run inside its booking.
 */
export function nextBookingFor(
  windows: readonly ReservedWindow[],
  now: number,
  tenant: string,
  types: readonly (AcceleratorType | null)[],
  devices: number,
  durationMs: number | null,
): ReservedWindow | null {
  if (durationMs === null || devices <= 0) return null;
  let best: ReservedWindow | null = null;
  for (const w of windows) {
    if (
      w.tenant !== tenant ||
      w.startTime <= now ||
      w.accelerators < devices ||
      w.endTime - w.startTime < durationMs
    )
      continue;
    if (!types.includes(w.acceleratorType)) continue;
    if (best === null || w.startTime < best.startTime || (w.startTime === best.startTime && w.id < best.id))
      best = w;
  }
  return best;
}
