/**
 * The availability profile: what is free now and when held capacity comes back, as a time-ordered
 * list of holds, and ONE placement question asked in three modes (as Slurm's select plugin,
 * src/interfaces/select.h):
 *
 *   - `run-now`   (SELECT_MODE_RUN_NOW):  can the gang start now, for its whole time limit, without
 *                 touching capacity reserved for jobs ahead of it or booked by another tenant?
 *   - `test-only` (SELECT_MODE_TEST_ONLY): could it ever run on this hall, if the hall were empty?
 *   - `will-run`  (SELECT_MODE_WILL_RUN): the earliest time it can start, walking the profile's
 *                 release events in time order (Slurm's node_space_map).
 *
 * A hold is capacity taken over a time interval: running jobs [startTime, expected end), jobs started
 * in this cycle, and reservations [start, end) made for blocked jobs (the promises backfill must
 * keep). Booked capacity (`ReservedWindow`, "N devices of type T during [t0, t1)") is a separate,
 * aggregate entry: bookings are not tied to nodes until they begin.
 *
 * Answers are values with reasons, never exceptions.
 */
import type { AcceleratorType, Placement, ReplicaRequest } from '../model/resources.js';
import type { ReservedWindow } from '../model/scheduling.js';
import type { ClusterCapacity, FreeState, NodeView } from './capacity.js';
import {
  candidateTypes,
  deviceTypeOn,
  freeStateView,
  indexOfId,
  placeGangOnView,
  typesThatCouldEverFit,
} from './capacity.js';

export type { ReservedWindow };

export interface ProfileHold {
  readonly jobId: string;
  readonly placement: Placement;
  readonly startTime: number;
  /** Expected end, epoch ms; `Infinity` when unknown (no time limit). */
  readonly endTime: number;
}

export interface PlacementRequest {
  readonly jobId: string;
  readonly tenant: string;
  readonly replicas: number;
  readonly perReplica: ReplicaRequest;
  /** The job's time limit in ms; null means it may run forever (it then overlaps every reservation). */
  readonly durationMs: number | null;
  /**
   * The device types to try, in order (e.g. those the quota allows). Omitted: every acceptable type
   * present in the hall, in the request's preference order.
   */
  readonly types?: readonly (AcceleratorType | null)[];
  /**
   * Lending: a preemptible job may use the idle devices of another tenant's booking that
   * is already open when it starts (the owner's jobs evict it when they need them back). Windows
   * that open later, and maintenance windows, are kept from it as from any job. Omitted: false.
   */
  readonly preemptible?: boolean;
}

export type PlacementMode = 'run-now' | 'test-only' | 'will-run';

export type PlacementAnswer =
  | {
      readonly ok: true;
      readonly startTime: number;
      readonly placement: Placement;
      readonly acceleratorType: AcceleratorType | null;
    }
  | {
      readonly ok: false;
      /**
       * `never`: no hall state could hold it. `capacity`: not enough free capacity (at the times
       * scanned). `reservation`: it would fit but would take capacity promised to `blockingJobId`.
       * `booking`: it would fit but would eat into booked window `blockingWindowId`.
       */
      readonly kind: 'never' | 'capacity' | 'reservation' | 'booking';
      readonly reason: string;
      readonly blockingJobId?: string;
      readonly blockingWindowId?: string;
    };

/** Work limits of the profile (Slurm: bf_window, bf_resolution, max events). */
export interface ProfileBounds {
  /** `will-run` looks no further than now + this. */
  readonly willRunHorizonMs: number;
  /** `will-run` visits at most this many distinct release times. */
  readonly willRunMaxEventsScanned: number;
  /** `will-run` runs the O(nodes) gang search at most this many times per question. */
  readonly willRunMaxPlacementTests: number;
}

export const DEFAULT_PROFILE_BOUNDS: ProfileBounds = {
  willRunHorizonMs: 30 * 24 * 3600 * 1000,
  willRunMaxEventsScanned: 100_000,
  willRunMaxPlacementTests: 32,
};

/** What one replica of a hold gives back when it ends: node, healthy device ids of one type, CPU, memory. */
interface ReleaseRecord {
  readonly node: number;
  readonly type: AcceleratorType | null;
  readonly ids: readonly string[];
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/**
 * Release records per hold, cached per capacity and hold object (holds are reused across cycles by
 * the stateful scheduler, so a will-run walk does not look devices up again).
 */
const releaseCache = new WeakMap<ClusterCapacity, WeakMap<ProfileHold, readonly ReleaseRecord[]>>();
function releaseRecords(cap: ClusterCapacity, h: ProfileHold): readonly ReleaseRecord[] {
  let perCap = releaseCache.get(cap);
  if (perCap === undefined) releaseCache.set(cap, (perCap = new WeakMap()));
  let recs = perCap.get(h);
  if (recs !== undefined) return recs;
  const out: ReleaseRecord[] = [];
  for (const r of h.placement) {
    const nc = cap.byName.get(r.node);
    if (nc === undefined) continue;
    let type: AcceleratorType | null = null;
    const ids: string[] = [];
    if (nc.schedulable) {
      for (const id of r.acceleratorIds) {
        const t = deviceTypeOn(nc, id);
        if (t === undefined || indexOfId(nc.devicesByType.get(t) ?? [], id) < 0) continue; // unhealthy: never comes back
        type ??= t;
        if (t === type) ids.push(id);
      }
    }
    out.push({ node: nc.index, type, ids, cpuMillis: r.cpuMillis, memoryMiB: r.memoryMiB });
  }
  recs = out;
  perCap.set(h, recs);
  return recs;
}

/** Order of holds: by end time, then job id (deterministic). */
export function compareHolds(a: ProfileHold, b: ProfileHold): number {
  return a.endTime - b.endTime || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

function upperBound(sorted: readonly ProfileHold[], endTime: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid]?.endTime ?? 0) <= endTime) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class AvailabilityProfile {
  /** Holds that started at or before now (running, and started in this cycle), sorted by endTime. */
  private readonly current: ProfileHold[] = [];
  /** Future holds (reservations for blocked jobs), in the order made. Few: bounded by the caller. */
  private readonly reservations: ProfileHold[] = [];
  /** Booked windows, by id. */
  readonly windows: readonly ReservedWindow[];

  constructor(
    readonly cap: ClusterCapacity,
    /** What is free now; the profile takes started jobs from it. */
    readonly free: FreeState,
    readonly now: number,
    running: readonly ProfileHold[],
    windows: readonly ReservedWindow[] = [],
    readonly bounds: ProfileBounds = DEFAULT_PROFILE_BOUNDS,
    /** The caller promises `running` is already sorted by endTime (a cached list): skips the sort. */
    runningSortedByEnd = false,
  ) {
    // by id: the window a reason names must not depend on the order of the snapshot's array
    this.windows =
      windows.length <= 1 ? windows : [...windows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // overdue holds end "any moment": they come back at the first release event after now
    this.current = running.slice();
    if (runningSortedByEnd) {
      // sorted: the overdue holds are a prefix
      for (let i = 0; i < this.current.length; i++) {
        const h = this.current[i] as ProfileHold;
        if (h.endTime > now) break;
        this.current[i] = { ...h, endTime: now + 1 };
      }
    } else {
      for (let i = 0; i < this.current.length; i++) {
        const h = this.current[i] as ProfileHold;
        if (h.endTime <= now) this.current[i] = { ...h, endTime: now + 1 };
      }
      this.current.sort(compareHolds);
    }
  }

  get reservationCount(): number {
    return this.reservations.length;
  }
  reservationFor(jobId: string): ProfileHold | undefined {
    return this.reservations.find((r) => r.jobId === jobId);
  }

  /** Records a start now: takes the placement from the free state and adds a hold until `endTime`. */
  start(jobId: string, placement: Placement, endTime: number): void {
    this.free.takePlacement(placement);
    this.insertCurrent({ jobId, placement, startTime: this.now, endTime });
  }

  /** Promises `placement` to `jobId` during [startTime, endTime): later `run-now` questions respect it. */
  reserve(jobId: string, placement: Placement, startTime: number, endTime: number): void {
    this.reservations.push({ jobId, placement, startTime, endTime });
  }

  /** Brings forward the expected end of a running hold (a preemption victim ends after its grace period). */
  shortenHold(jobId: string, endTime: number): void {
    const i = this.current.findIndex((h) => h.jobId === jobId);
    const h = this.current[i];
    if (i < 0 || h === undefined || h.endTime <= endTime) return;
    this.current.splice(i, 1);
    this.insertCurrent({ ...h, endTime });
  }

  private insertCurrent(h: ProfileHold): void {
    const i = upperBound(this.current, h.endTime);
    this.current.splice(i, 0, h);
  }

  ask(mode: PlacementMode, req: PlacementRequest): PlacementAnswer {
    switch (mode) {
      case 'test-only':
        return this.testOnly(req);
      case 'run-now':
        return this.runNow(req);
      case 'will-run':
        return this.willRun(req);
    }
  }

  private types(req: PlacementRequest): readonly (AcceleratorType | null)[] {
    return req.types ?? candidateTypes(this.cap, req.perReplica);
  }

  private testOnly(req: PlacementRequest): PlacementAnswer {
    const ok = typesThatCouldEverFit(this.cap, req.replicas, req.perReplica).filter((t) =>
      this.types(req).includes(t),
    );
    const t = ok[0];
    if (t === undefined)
      return { ok: false, kind: 'never', reason: 'no set of nodes in the hall can hold it, even empty' };
    return { ok: true, startTime: this.now, placement: [], acceleratorType: t };
  }

  /**
   * Devices of `type` that must stay free at instant `t` for bookings of other tenants, and the
   * booking that demands them. `lentFrom`: a lent (preemptible) job starting then is not kept out
   * of tenants' windows already open at that time.
   */
  private bookedAt(
    t: number,
    type: AcceleratorType,
    tenant: string,
    lentFrom: number | null,
  ): { devices: number; windowId: string | null } {
    let devices = 0;
    let windowId: string | null = null;
    for (const w of this.windows) {
      if (w.acceleratorType !== type || w.tenant === tenant || w.startTime > t || w.endTime <= t) continue;
      if (lentFrom !== null && windowLends(w, lentFrom)) continue;
      devices += w.accelerators;
      windowId ??= w.id;
    }
    return { devices, windowId };
  }

  /** Devices of `type` held at instant `t` by current holds and reservations. */
  private heldAt(t: number, type: AcceleratorType): number {
    let n = 0;
    const count = (h: ProfileHold): void => {
      for (const r of h.placement) {
        const nc = this.cap.byName.get(r.node);
        if (nc !== undefined) for (const id of r.acceleratorIds) if (deviceTypeOn(nc, id) === type) n++;
      }
    };
    for (let i = upperBound(this.current, t); i < this.current.length; i++) {
      const h = this.current[i];
      if (h) count(h);
    }
    for (const h of this.reservations) if (h.startTime <= t && h.endTime > t) count(h);
    return n;
  }

  /**
   * Would starting `devices` of `type` during [start, end) leave too little for a booking of another
   * tenant? Checked at each booking's start within the interval (capacity only shrinks towards it).
   * `lend`: the job is preemptible, so the idle devices of tenants' windows already open at `start`
   * may be lent to it (only what is free: the owner's running jobs hold theirs).
   */
  private bookingConflict(
    type: AcceleratorType | null,
    devices: number,
    start: number,
    end: number,
    tenant: string,
    lend: boolean,
  ): string | null {
    if (type === null || this.windows.length === 0) return null;
    const capacity = this.cap.schedulableByType.get(type) ?? 0;
    const lentFrom = lend ? start : null;
    for (const w of this.windows) {
      if (w.acceleratorType !== type || w.tenant === tenant) continue;
      if (w.endTime <= start || w.startTime >= end) continue;
      if (lentFrom !== null && windowLends(w, lentFrom)) continue;
      const at = Math.max(w.startTime, start);
      const booked = this.bookedAt(at, type, tenant, lentFrom);
      if (this.heldAt(at, type) + devices + booked.devices > capacity) return booked.windowId ?? w.id;
    }
    return null;
  }

  /**
   * RUN_NOW's gang searches, memoised while the free state stays the same: a blocked queue asks the
   * same question many times per cycle, and the answer is a function of the free state, the shape
   * and the reservations it overlaps (named in the key by position: reservations are only added,
   * never changed).
   */
  private readonly runNowMemo = new Map<
    string,
    { readonly placement: Placement | null; readonly blockedBy: string | null }
  >();
  private runNowMemoFree = -1;

  private placeNow(
    type: AcceleratorType | null,
    req: PlacementRequest,
    overlapping: readonly ProfileHold[],
    overlapKey: string,
  ): { readonly placement: Placement | null; readonly blockedBy: string | null } {
    if (this.runNowMemoFree !== this.free.version) {
      this.runNowMemo.clear();
      this.runNowMemoFree = this.free.version;
    }
    const r = req.perReplica;
    const key = `${type}\u0000${req.replicas}\u0000${r.accelerators}\u0000${r.cpuMillis}\u0000${r.memoryMiB}\u0000${overlapKey}`;
    let answer = this.runNowMemo.get(key);
    if (answer !== undefined) return answer;
    if (overlapping.length === 0) {
      answer = {
        placement: placeGangOnView(this.cap, freeStateView(this.free), type, req.replicas, r),
        blockedBy: null,
      };
    } else {
      const m = this.free.mark();
      for (const h of overlapping) this.free.takePlacement(h.placement);
      const placement = placeGangOnView(this.cap, freeStateView(this.free), type, req.replicas, r);
      this.free.rollback(m);
      let blockedBy: string | null = null;
      if (placement === null) {
        const unconstrained = placeGangOnView(this.cap, freeStateView(this.free), type, req.replicas, r);
        if (unconstrained !== null)
          blockedBy = firstConflicting(overlapping, unconstrained) ?? overlapping[0]?.jobId ?? null;
      }
      answer = { placement, blockedBy };
    }
    this.runNowMemo.set(key, answer);
    return answer;
  }

  private runNow(req: PlacementRequest): PlacementAnswer {
    const end = req.durationMs === null ? Infinity : this.now + req.durationMs;
    const need = req.replicas * req.perReplica.accelerators;
    const overlapping: ProfileHold[] = [];
    let overlapKey = '';
    for (let i = 0; i < this.reservations.length; i++) {
      const r = this.reservations[i] as ProfileHold;
      if (r.startTime >= end) continue;
      overlapping.push(r);
      overlapKey += `${i},`;
    }
    let blockedByReservation: string | null = null;
    let blockedByBooking: string | null = null;
    for (const type of this.types(req)) {
      if (type !== null && this.free.freeOfType(type) < need) continue; // O(1) rejection
      const { placement, blockedBy } = this.placeNow(type, req, overlapping, overlapKey);
      blockedByReservation ??= blockedBy;
      if (placement === null) continue;
      const w = this.bookingConflict(type, need, this.now, end, req.tenant, req.preemptible === true);
      if (w !== null) {
        blockedByBooking ??= w;
        continue;
      }
      return { ok: true, startTime: this.now, placement, acceleratorType: type };
    }
    if (blockedByBooking !== null)
      return {
        ok: false,
        kind: 'booking',
        reason: `would use capacity booked by window ${blockedByBooking}`,
        blockingWindowId: blockedByBooking,
      };
    if (blockedByReservation !== null)
      return {
        ok: false,
        kind: 'reservation',
        reason: `fits now, but would delay job ${blockedByReservation}, which is promised that capacity`,
        blockingJobId: blockedByReservation,
      };
    return { ok: false, kind: 'capacity', reason: 'not enough free capacity now' };
  }

  /**
   * WILL_RUN. Walks release events in time order. A cheap pre-check per event (replica slots:
   * Σ over nodes of ⌊free devices of the type / devices per replica⌋, kept incrementally as holds
   * end) decides when the O(nodes) gang search is worth running; only then is the free state
   * brought to that time. Bounded by willRunMaxEventsScanned and willRunMaxPlacementTests.
   */
  private willRun(req: PlacementRequest): PlacementAnswer {
    const types = this.types(req);
    const need = req.replicas * req.perReplica.accelerators;
    const k = req.perReplica.accelerators;
    const horizon = this.now + this.bounds.willRunHorizonMs;
    // extra candidate times besides hold releases: reservation and window ends
    const extra: number[] = [];
    for (const r of this.reservations)
      if (r.endTime > this.now && r.endTime <= horizon) extra.push(r.endTime);
    for (const w of this.windows) if (w.endTime > this.now && w.endTime <= horizon) extra.push(w.endTime);
    extra.sort((a, b) => a - b);
    // replica slots per type, from the free state now
    const perNode = new Map<AcceleratorType, Map<number, number>>();
    const slots = new Map<AcceleratorType, number>();
    for (const t of types) {
      if (t === null || k === 0) continue;
      const m = new Map<number, number>();
      let sl = 0;
      for (const n of this.free.nodesWithFree(t)) {
        const c = this.free.nodeFreeCount(n, t);
        m.set(n, c);
        sl += Math.floor(c / k);
      }
      perNode.set(t, m);
      slots.set(t, sl);
    }
    // What the holds released so far give back, per node: healthy device ids by type, CPU, memory.
    // The free state itself is never changed: the search runs on an overlay view.
    const relIds = new Map<number, Map<AcceleratorType, string[]>>();
    const relCpu = new Map<number, number>();
    const relMem = new Map<number, number>();
    const release = (h: ProfileHold): void => {
      for (const rec of releaseRecords(this.cap, h)) {
        relCpu.set(rec.node, (relCpu.get(rec.node) ?? 0) + rec.cpuMillis);
        relMem.set(rec.node, (relMem.get(rec.node) ?? 0) + rec.memoryMiB);
        if (rec.type === null || rec.ids.length === 0) continue;
        let byType = relIds.get(rec.node);
        if (byType === undefined) relIds.set(rec.node, (byType = new Map()));
        const l = byType.get(rec.type);
        if (l) for (const id of rec.ids) l.push(id);
        else byType.set(rec.type, [...rec.ids]);
        const m = perNode.get(rec.type);
        if (m === undefined) continue;
        const c = m.get(rec.node) ?? 0;
        const c2 = c + rec.ids.length;
        m.set(rec.node, c2);
        slots.set(rec.type, (slots.get(rec.type) ?? 0) + Math.floor(c2 / k) - Math.floor(c / k));
      }
    };
    /** The hall at time t for a job running until `end`: free now + released − overlapping reservations. */
    const overlay = (t: number, end: number): NodeView => {
      const resIds = new Map<number, Set<string>>();
      const resCpu = new Map<number, number>();
      const resMem = new Map<number, number>();
      for (const r of this.reservations) {
        if (!(r.startTime < end && r.endTime > t)) continue;
        for (const rp of r.placement) {
          const nc = this.cap.byName.get(rp.node);
          if (nc === undefined) continue;
          let set = resIds.get(nc.index);
          if (set === undefined) resIds.set(nc.index, (set = new Set()));
          for (const id of rp.acceleratorIds) set.add(id);
          resCpu.set(nc.index, (resCpu.get(nc.index) ?? 0) + rp.cpuMillis);
          resMem.set(nc.index, (resMem.get(nc.index) ?? 0) + rp.memoryMiB);
        }
      }
      const cache = new Map<number, Map<AcceleratorType, readonly string[]>>();
      const ids = (n: number, type: AcceleratorType): readonly string[] => {
        let byType = cache.get(n);
        const hit = byType?.get(type);
        if (hit !== undefined) return hit;
        const base = this.free.nodeFreeIds(n, type);
        const rel = relIds.get(n)?.get(type);
        const res = resIds.get(n);
        let out: readonly string[] = base;
        if (rel !== undefined && rel.length > 0) {
          const order = this.cap.nodes[n]?.devicesByType.get(type) ?? [];
          out = [...new Set([...base, ...rel])].sort((a, b) => indexOfId(order, a) - indexOfId(order, b));
        }
        if (res !== undefined) out = out.filter((id) => !res.has(id));
        if (byType === undefined) cache.set(n, (byType = new Map()));
        byType.set(type, out);
        return out;
      };
      return {
        candidates: (type) => {
          const m = perNode.get(type);
          if (m === undefined) return null;
          // keys are only ever added, so a list sorted at the same size is still right
          const hit = sortedKeys.get(type);
          if (hit !== undefined && hit.length === m.size) return hit;
          const list = [...m.keys()].sort((a, b) => a - b);
          sortedKeys.set(type, list);
          return list;
        },
        count: (n, type) => {
          if (type === null) return Number.MAX_SAFE_INTEGER;
          // fast path: no reservation on the node: free now + released (tracked per node)
          const tracked = perNode.get(type);
          if (tracked !== undefined && !resIds.has(n)) return tracked.get(n) ?? 0;
          return ids(n, type).length;
        },
        ids,
        cpu: (n) => this.free.nodeCpu(n) + (relCpu.get(n) ?? 0) - (resCpu.get(n) ?? 0),
        mem: (n) => this.free.nodeMem(n) + (relMem.get(n) ?? 0) - (resMem.get(n) ?? 0),
      };
    };
    const sortedKeys = new Map<AcceleratorType, number[]>();
    let scanned = 0; // holds released so far
    let x = 0;
    let tests = 0;
    let events = 0;
    let sawBooking: string | null = null;
    let t = this.now;
    for (;;) {
      const end = req.durationMs === null ? Infinity : t + req.durationMs;
      let view: NodeView | null = null;
      for (const type of types) {
        if (type !== null && k > 0 && (slots.get(type) ?? 0) < req.replicas) continue;
        if (tests >= this.bounds.willRunMaxPlacementTests)
          return {
            ok: false,
            kind: 'capacity',
            reason: `no start found within ${this.bounds.willRunMaxPlacementTests} placement tests (willRunMaxPlacementTests)`,
          };
        tests++;
        view ??= overlay(t, end);
        const placement = placeGangOnView(this.cap, view, type, req.replicas, req.perReplica);
        if (placement === null) continue;
        const w = this.bookingConflict(type, need, t, end, req.tenant, req.preemptible === true);
        if (w !== null) {
          sawBooking ??= w;
          continue;
        }
        return { ok: true, startTime: t, placement, acceleratorType: type };
      }
      // next event
      const nextHold = this.current[scanned]?.endTime ?? Infinity;
      const nextExtra = extra[x] ?? Infinity;
      const next = Math.min(nextHold, nextExtra);
      if (next > horizon || !Number.isFinite(next)) break;
      if (++events > this.bounds.willRunMaxEventsScanned) {
        return {
          ok: false,
          kind: 'capacity',
          reason: `no start found within the first ${this.bounds.willRunMaxEventsScanned} release events (willRunMaxEventsScanned)`,
        };
      }
      t = next;
      while (scanned < this.current.length && (this.current[scanned]?.endTime ?? Infinity) <= t) {
        const h = this.current[scanned];
        if (h) release(h);
        scanned++;
      }
      while (x < extra.length && (extra[x] ?? Infinity) <= t) x++;
    }
    if (sawBooking !== null)
      return {
        ok: false,
        kind: 'booking',
        reason: `capacity is booked by window ${sawBooking}`,
        blockingWindowId: sawBooking,
      };
    return {
      ok: false,
      kind: 'capacity',
      reason:
        'no start found within the planning horizon: running jobs without a time limit hold the capacity',
    };
  }
}

/**
 * Does window `w` lend its idle devices to a preemptible job of another tenant starting at `start`?
 * Only a tenant's booking (not maintenance) that is already open then: before a window opens,
 * nothing of another tenant may run into it.
 */
export function windowLends(w: ReservedWindow, start: number): boolean {
  return w.tenant !== null && w.startTime <= start && start < w.endTime;
}

/** The first reservation whose devices or nodes the placement would use. */
function firstConflicting(reservations: readonly ProfileHold[], placement: Placement): string | null {
  const nodes = new Set(placement.map((r) => r.node));
  const devices = new Set(placement.flatMap((r) => r.acceleratorIds));
  for (const r of reservations) {
    for (const rp of r.placement) {
      if (rp.acceleratorIds.some((id) => devices.has(id))) return r.jobId;
    }
  }
  for (const r of reservations) if (r.placement.some((rp) => nodes.has(rp.node))) return r.jobId;
  return null;
}
