/**
 * Speed helpers of the baselines (the simulator calls them hundreds of thousands of times per
 * trace, with queues of thousands of jobs):
 *
 *  - `SubmitOrder`: the waiting jobs in submission order (`bySubmit`), kept from one cycle to the
 *    next and brought up to date with the jobs that arrived or left since, instead of a sort of the
 *    whole queue per cycle.
 *  - `lazyResult`: a `ScheduleResult` whose `pending` list (one decision per waiting job) is built
 *    when it is first read, so that a caller that reads only the starts (the simulator) does not
 *    pay for thousands of decisions per cycle.
 *
 * Both give exactly what the plain computation gives for the same snapshot: the cache only holds
 * what was derived from earlier snapshots' job objects, which are immutable.
 */
import type {
  PendingDecision,
  PreemptDecision,
  ScheduleResult,
  SchedJob,
  StartDecision,
} from '../../model/scheduling.js';
import { arrayDelta, bySubmit } from './common.js';

/** Above this many jobs arriving or leaving at once, a full sort is cheaper than inserting them. */
const RESORT_ABOVE = 64;

/**
 * `jobs`: the waiting jobs of the latest `sync`ed snapshot, sorted by `bySubmit` (the order
 * `[...pending].sort(bySubmit)` gives, which is total when ids are unique; with equal keys the
 * cache is bypassed and that stable sort is used).
 */
export class SubmitOrder {
  private seen: readonly SchedJob[] = [];
  private sorted: SchedJob[] = [];
  /** Two jobs compare equal (same submission and id): keep the stable sort's order by re-sorting. */
  private ties = false;

  /** Brings the order up to date with `pending` (a snapshot's waiting jobs) and returns it. */
  sync(pending: readonly SchedJob[]): readonly SchedJob[] {
    if (pending === this.seen) return this.sorted;
    const { removed, added } = arrayDelta(this.seen, pending);
    this.seen = pending;
    if (this.ties || removed.length + added.length > RESORT_ABOVE) return this.resort(pending);
    const q = this.sorted;
    if (removed.length > 0) {
      // Positions of the removed jobs, then one compaction pass from the first of them.
      const at: number[] = [];
      for (const job of removed) {
        let i = lowerBound(q, job);
        while (i < q.length && q[i] !== job && bySubmit(q[i]!, job) === 0) i++;
        if (q[i] !== job) return this.resort(pending); // not there: cannot happen for valid input
        at.push(i);
      }
      at.sort((a, b) => a - b);
      let w = at[0]!;
      for (let k = 0; k < at.length; k++) {
        if (k > 0 && at[k] === at[k - 1]) return this.resort(pending); // the same object twice
        const end = k + 1 < at.length ? at[k + 1]! : q.length;
        for (let r = at[k]! + 1; r < end; r++) q[w++] = q[r]!;
      }
      q.length = w;
    }
    for (const job of added) {
      const last = q[q.length - 1];
      if (last === undefined || bySubmit(last, job) < 0) {
        q.push(job);
        continue;
      }
      const i = lowerBound(q, job);
      if (i < q.length && bySubmit(q[i]!, job) === 0) return this.resort(pending);
      q.splice(i, 0, job);
    }
    return q;
  }

  private resort(pending: readonly SchedJob[]): readonly SchedJob[] {
    const q = [...pending].sort(bySubmit);
    this.ties = false;
    for (let i = 1; i < q.length; i++) if (bySubmit(q[i - 1]!, q[i]!) === 0) this.ties = true;
    this.sorted = q;
    return q;
  }
}

/** First position whose job does not sort before `job`. */
function lowerBound(q: readonly SchedJob[], job: SchedJob): number {
  let lo = 0;
  let hi = q.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bySubmit(q[mid]!, job) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where a lazy result keeps how to build its pending list (not enumerable: not part of the value). */
const LAZY = Symbol('lazy pending');
interface LazyState {
  build: (() => PendingDecision[]) | null;
  list: PendingDecision[] | null;
}

/**
 * One accessor shared by every lazy result: V8 then gives them all one hidden class. (A getter
 * closure per result would give each its own, kept in a transition tree until a full collection
 * and, through the closure, its snapshot: a leak of one queue per cycle that made FIFO GC-bound.)
 */
const PENDING_ACCESSOR: PropertyDescriptor = {
  enumerable: true,
  get(this: { [LAZY]: LazyState }): PendingDecision[] {
    const s = this[LAZY];
    if (s.list === null) {
      s.list = s.build!();
      s.build = null;
    }
    return s.list;
  },
};

/**
 * `{ starts, preemptions, pending }` with `pending` computed by `pending()` on first read (an
 * enumerable property, so spreading, JSON and deep comparison see a plain list). `pending()` must
 * only read what the cycle captured (the snapshot, its own results), never state that later cycles
 * change.
 */
export function lazyResult(
  starts: readonly StartDecision[],
  preemptions: readonly PreemptDecision[],
  pending: () => PendingDecision[],
): ScheduleResult {
  const out = { starts, preemptions };
  const state: LazyState = { build: pending, list: null };
  Object.defineProperty(out, LAZY, { value: state });
  Object.defineProperty(out, 'pending', PENDING_ACCESSOR);
  return out as unknown as ScheduleResult;
}
