/**
 * Plain values the `suanli` policy reads and writes: value equality of snapshot objects (the cache
 * diffs snapshots by it), the victim and hold orders, and the texts verdicts are made of.
 */
import type { AcceleratorType, ClusterNode } from '../../model/resources.js';
import type { RunningSchedJob, SchedJob } from '../../model/scheduling.js';
import type { ProfileHold } from '../../placement/profile.js';
import { compareHolds } from '../../placement/profile.js';
import type { NoNodeFitsDetail } from '../../verdict.js';
import { reasonTime } from '../../verdict.js';

/** Type and device count of a running job's placement. */
export interface RunInfo {
  readonly type: AcceleratorType | null;
  readonly devices: number;
}

export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Value equality of what the scheduler reads from a job, a running job and a node: the engine
 * rebuilds its objects every cycle, and equal values must not cost a rebuild of the caches.
 */
export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
export function sameSchedJob(a: SchedJob, b: SchedJob): boolean {
  const r = a.perReplica;
  const q = b.perReplica;
  return (
    a.id === b.id &&
    a.tenant === b.tenant &&
    a.project === b.project &&
    a.submitTime === b.submitTime &&
    a.priority === b.priority &&
    a.replicas === b.replicas &&
    a.timeLimitMs === b.timeLimitMs &&
    a.preemptible === b.preemptible &&
    a.attainedServiceMs === b.attainedServiceMs &&
    (a.claimedAt ?? null) === (b.claimedAt ?? null) &&
    r.accelerators === q.accelerators &&
    r.cpuMillis === q.cpuMillis &&
    r.memoryMiB === q.memoryMiB &&
    sameStrings(r.acceleratorTypes, q.acceleratorTypes)
  );
}
export function sameRunningJob(a: RunningSchedJob, b: RunningSchedJob): boolean {
  if (!sameSchedJob(a, b) || a.startTime !== b.startTime || a.lastCheckpointTime !== b.lastCheckpointTime)
    return false;
  if (
    (a.preemptedAt ?? null) !== (b.preemptedAt ?? null) ||
    (a.preemptedFor ?? null) !== (b.preemptedFor ?? null) ||
    a.placement.length !== b.placement.length
  )
    return false;
  for (let i = 0; i < a.placement.length; i++) {
    const x = a.placement[i];
    const y = b.placement[i];
    if (x === undefined || y === undefined) return false;
    if (
      x.node !== y.node ||
      x.cpuMillis !== y.cpuMillis ||
      x.memoryMiB !== y.memoryMiB ||
      !sameStrings(x.acceleratorIds, y.acceleratorIds)
    )
      return false;
  }
  return true;
}
export function sameNode(a: ClusterNode, b: ClusterNode): boolean {
  if (a.name !== b.name || a.state !== b.state || a.cpuMillis !== b.cpuMillis || a.memoryMiB !== b.memoryMiB)
    return false;
  if (
    a.topology.switch !== b.topology.switch ||
    a.topology.rack !== b.topology.rack ||
    a.accelerators.length !== b.accelerators.length
  )
    return false;
  for (let i = 0; i < a.accelerators.length; i++) {
    const x = a.accelerators[i];
    const y = b.accelerators[i];
    if (x === undefined || y === undefined) return false;
    if (x.id !== y.id || x.index !== y.index || x.type !== y.type || x.healthy !== y.healthy) return false;
  }
  return true;
}

/** Bound: how far past its head a tenant's queue is searched for a job that fits its guarantee. */
export const GUARANTEE_LOOKAHEAD = 32;

/** Bound: gang searches per job while choosing preemption victims. */
export const PREEMPTION_MAX_PLACEMENT_TESTS = 16;

/**
 * Victim order, losing least work first: lowest priority, then least work since the last
 * checkpoint (latest checkpoint, or latest start without one), then latest start, then id.
 */
export function compareVictims(a: RunningSchedJob, b: RunningSchedJob): number {
  return (
    a.priority - b.priority ||
    (b.lastCheckpointTime ?? b.startTime) - (a.lastCheckpointTime ?? a.startTime) ||
    b.startTime - a.startTime ||
    cmpStr(a.id, b.id)
  );
}

export const BEYOND_DEPTH_REASON =
  'not examined this cycle: further down the queue than backfill.maxJobsExamined; it is considered as the jobs ahead of it start';

/** The detail of `neverFitReason`. */
export function noNodeFitsDetail(job: SchedJob): NoNodeFitsDetail {
  return { code: 'no-node-fits', replicas: job.replicas, need: job.replicas * job.perReplica.accelerators };
}

export function neverFitReason(job: SchedJob, desc: string): string {
  return `no ${job.replicas > 1 ? 'set of nodes' : 'node'} in the hall can hold ${desc}, even when empty`;
}

export function signature(job: SchedJob): string {
  const r = job.perReplica;
  return `${job.replicas}|${r.accelerators}|${r.acceleratorTypes.join(',')}|${r.cpuMillis}|${r.memoryMiB}`;
}

export function describeRequest(job: SchedJob): string {
  const r = job.perReplica;
  const type =
    r.accelerators === 0
      ? ''
      : ` ${r.acceleratorTypes.length === 0 ? 'accelerator' : r.acceleratorTypes.join('|')}`;
  const per =
    `${r.accelerators}${type}` +
    (r.cpuMillis ? `, ${r.cpuMillis / 1000} CPU` : '') +
    (r.memoryMiB ? `, ${r.memoryMiB} MiB` : '');
  return job.replicas > 1 ? `${job.replicas} replicas × (${per})` : per;
}

/** A time in a verdict's English reason (ISO 8601 UTC; `never` when infinite). */
export const isoOrMs = reasonTime;

/**
 * Sorts holds as `compareHolds` does (end time, then job id). Fast path: finite end times packed
 * with the index into one float key and sorted natively; runs of equal end times are then ordered
 * by job id. Falls back to a comparator sort when the keys would not fit in 53 bits.
 */
export function sortHolds(all: ProfileHold[]): ProfileHold[] {
  const n = all.length;
  let min = Infinity;
  let max = -Infinity;
  for (const h of all) {
    if (h.endTime < min) min = h.endTime;
    if (h.endTime > max) max = h.endTime;
  }
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  if (
    n === 0 ||
    !Number.isFinite(max) ||
    !Number.isFinite(min) ||
    (max - min + 1) * scale >= 2 ** 53 ||
    !all.every((h) => Number.isInteger(h.endTime))
  ) {
    return [...all].sort(compareHolds);
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = ((all[i] as ProfileHold).endTime - min) * scale + i;
  keys.sort();
  const out: ProfileHold[] = new Array<ProfileHold>(n);
  for (let i = 0; i < n; i++) out[i] = all[(keys[i] as number) % scale] as ProfileHold;
  // equal end times: by job id
  for (let i = 0; i < n;) {
    let k = i + 1;
    while (k < n && (out[k] as ProfileHold).endTime === (out[i] as ProfileHold).endTime) k++;
    if (k - i > 1) {
      const run = out.slice(i, k).sort(compareHolds);
      for (let r = 0; r < run.length; r++) out[i + r] = run[r] as ProfileHold;
    }
    i = k;
  }
  return out;
}
