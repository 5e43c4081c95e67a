/**
 * Step "order": the order in which one cycle considers pending jobs. Each tenant's queue is kept in
 * queue order (priority desc, attained-service band asc, submitTime asc, id asc); tenants are
 * interleaved by fair share (`orderJobs`).
 */
import type { AcceleratorType } from '../../model/resources.js';
import type { SchedJob } from '../../model/scheduling.js';
import { byQueueOrder } from '../fcfs.js';
import { cmpStr } from './values.js';

/**
 * Queue order inside a tenant: priority desc, then attained-service band asc (all 0 with LAS off),
 * then first-come (submitTime asc, id asc) — `byQueueOrder` with the band between.
 */
export type QueueCompare = (a: SchedJob, b: SchedJob) => number;
export function queueCompare(band: (j: SchedJob) => number): QueueCompare {
  return (a, b) => b.priority - a.priority || band(a) - band(b) || byQueueOrder(a, b);
}

/**
 * Sorts jobs in queue order (see `queueCompare`; `bands` = how many bands there are). Fast path
 * (integer priorities and submit times whose ranges fit): (priority desc, band asc, submitTime
 * asc) and the index packed into one float key and sorted natively, then runs of equal keys by id.
 * Otherwise a comparator sort on typed keys (property reads once per job, not per comparison).
 */
export function sortQueueOrder(
  jobs: readonly SchedJob[],
  band: (j: SchedJob) => number,
  bands: number,
): number[] {
  const n = jobs.length;
  const bandOf = new Float64Array(n);
  const prio = new Float64Array(n);
  const sub = new Float64Array(n);
  let minP = Infinity;
  let maxP = -Infinity;
  let minS = Infinity;
  let maxS = -Infinity;
  let ints = true;
  for (let i = 0; i < n; i++) {
    const j = jobs[i] as SchedJob;
    const p = j.priority;
    const s = j.submitTime;
    prio[i] = p;
    sub[i] = s;
    bandOf[i] = bands > 1 ? band(j) : 0;
    if (p < minP) minP = p;
    if (p > maxP) maxP = p;
    if (s < minS) minS = s;
    if (s > maxS) maxS = s;
    if (!Number.isInteger(p) || !Number.isInteger(s)) ints = false;
  }
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  const spanS = maxS - minS + 1;
  if (n > 1 && ints && (maxP - minP + 1) * bands * spanS * scale < 2 ** 53) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++)
      keys[i] =
        (((maxP - (prio[i] as number)) * bands + (bandOf[i] as number)) * spanS +
          ((sub[i] as number) - minS)) *
          scale +
        i;
    keys.sort();
    const out: number[] = [];
    const key = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const k = keys[i] as number;
      const idx = k % scale;
      out.push(idx);
      key[i] = (k - idx) / scale;
    }
    // equal (priority, band, submitTime): by id (a stable sort: duplicates keep their input order)
    for (let i = 0; i < n;) {
      let k = i + 1;
      while (k < n && key[k] === key[i]) k++;
      if (k - i > 1) {
        const run = out.slice(i, k).sort((a, b) => byQueueOrder(jobs[a] as SchedJob, jobs[b] as SchedJob));
        for (let r = 0; r < run.length; r++) out[i + r] = run[r] as number;
      }
      i = k;
    }
    return out;
  }
  const idx: number[] = [];
  for (let i = 0; i < n; i++) idx.push(i);
  idx.sort(
    (a, b) =>
      (prio[b] ?? 0) - (prio[a] ?? 0) ||
      (bandOf[a] ?? 0) - (bandOf[b] ?? 0) ||
      (sub[a] ?? 0) - (sub[b] ?? 0) ||
      cmpStr(jobs[a]?.id ?? '', jobs[b]?.id ?? ''),
  );
  return idx;
}

/** The jobs matching `pred` first (in `order` if given, else as they were), then the rest as they were. */
export function moveToFront(
  jobs: readonly SchedJob[],
  pred: (j: SchedJob) => boolean,
  order?: QueueCompare,
): readonly SchedJob[] {
  if (!jobs.some(pred)) return jobs; // the common case: no copy
  const first: SchedJob[] = [];
  const rest: SchedJob[] = [];
  for (const j of jobs) (pred(j) ? first : rest).push(j);
  if (order !== undefined) first.sort(order);
  return first.concat(rest);
}

/** Binary insert into an array sorted by `cmp`; returns the index. */
export function insertSorted(arr: SchedJob[], job: SchedJob, cmp: QueueCompare): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = arr[mid];
    if (m !== undefined && cmp(m, job) <= 0) lo = mid + 1;
    else hi = mid;
  }
  arr.splice(lo, 0, job);
  return lo;
}

/**
 * A tenant's place in the interleaving of tenant queues (one cycle's ordering state): `cls` 0 when
 * its next job fits inside its guarantee (1 otherwise), `band` that job's attained-service band (0
 * with LAS off), `key` its fair-share key (decayed usage, plus what this cycle's order charged it,
 * per weight). Mutated only while out of the heap.
 */
export interface TenantTurn {
  readonly name: string;
  /** Its queue, in queue order, and the first position not yet taken in order. */
  readonly jobs: readonly SchedJob[];
  pos: number;
  /** Accelerator-seconds charged, and devices taken, for its jobs already placed in order. */
  charged: number;
  taken: number;
  readonly weight: number;
  /** Devices left inside its guarantee per type as the cycle starts, and their maximum. */
  readonly room: ReadonlyMap<AcceleratorType, number>;
  readonly maxRoom: number;
  /** The job its next turn is for. */
  job: SchedJob | undefined;
  cls: number;
  band: number;
  key: number;
}

/** Min-heap of tenants by (cls, band, key, name). */
export class TenantHeap {
  private readonly items: TenantTurn[] = [];
  private less(a: TenantTurn, b: TenantTurn): boolean {
    if (a.cls !== b.cls) return a.cls < b.cls;
    if (a.band !== b.band) return a.band < b.band;
    if (a.key !== b.key) return a.key < b.key;
    return a.name < b.name;
  }
  get size(): number {
    return this.items.length;
  }
  push(x: TenantTurn): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ai = a[i];
      const ap = a[p];
      if (ai === undefined || ap === undefined || !this.less(ai, ap)) break;
      a[i] = ap;
      a[p] = ai;
      i = p;
    }
  }
  pop(): TenantTurn | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l] as TenantTurn, a[m] as TenantTurn)) m = l;
      if (r < a.length && this.less(a[r] as TenantTurn, a[m] as TenantTurn)) m = r;
      if (m === i) break;
      const t = a[i] as TenantTurn;
      a[i] = a[m] as TenantTurn;
      a[m] = t;
      i = m;
    }
    return top;
  }
}
