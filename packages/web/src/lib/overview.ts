/**
 * What the overview shows, computed from the public API's answers (GET /api/v1/nodes and
 * GET /api/v1/jobs). Pure: the caller passes the lists and the current time.
 */
import type { JobView, NodeView } from '@suanli/client';
import {
  ACTIVE_STATES as CORE_ACTIVE_STATES,
  JOB_STATES,
  TERMINAL_STATES as CORE_TERMINAL_STATES,
  UNFINISHED_STATES,
  type JobState,
} from '@suanli/core/lifecycle';
import { median } from './format.js';

/**
 * State of one accelerator as the overview colours it. `busy` wins over everything (a job holds
 * it, even on a draining node); `down` is a device or node that cannot run work; `draining` is an
 * idle device on a node an operator drained. `booked` arrives with the bookings API.
 */
export type AcceleratorState = 'idle' | 'busy' | 'draining' | 'down';
export const ACCELERATOR_STATES: readonly AcceleratorState[] = ['idle', 'busy', 'draining', 'down'];

export function acceleratorState(node: NodeView, acc: NodeView['accelerators'][number]): AcceleratorState {
  if (acc.allocatedTo) return 'busy';
  if (!acc.healthy || node.state === 'down' || node.state === 'unhealthy') return 'down';
  if (node.state === 'draining' || node.adminState === 'draining') return 'draining';
  return 'idle';
}

export interface AcceleratorCounts {
  readonly idle: number;
  readonly busy: number;
  readonly draining: number;
  readonly down: number;
  readonly total: number;
}

export function countAccelerators(nodes: readonly NodeView[]): AcceleratorCounts {
  const c = { idle: 0, busy: 0, draining: 0, down: 0, total: 0 };
  for (const n of nodes)
    for (const a of n.accelerators) {
      c[acceleratorState(n, a)]++;
      c.total++;
    }
  return c;
}

// The classes of job states are the core's (see its lifecycle): "active" in the console means
// unfinished (preempted and lost jobs go on), "running" means holding devices.
export { WAITING_STATES } from '@suanli/core/lifecycle';
export const RUNNING_STATES: readonly JobState[] = [...CORE_ACTIVE_STATES];
export const ACTIVE_STATES: readonly JobState[] = UNFINISHED_STATES;
export const TERMINAL_STATES: readonly JobState[] = JOB_STATES.filter((s) => CORE_TERMINAL_STATES.has(s));

export function isActive(state: string): boolean {
  return (ACTIVE_STATES as readonly string[]).includes(state);
}

export interface QueueSummary {
  readonly length: number;
  /** Milliseconds since submission, over the waiting jobs. */
  readonly medianWaitMs: number | null;
  readonly maxWaitMs: number | null;
  /** Waiting jobs per pending verdict ("waits-for-capacity", …; "unknown" when the server gave none). */
  readonly byVerdict: ReadonlyMap<string, number>;
  /** Accelerators the waiting jobs ask for together. */
  readonly acceleratorsRequested: number;
}

export function summariseQueue(waiting: readonly JobView[], nowMs: number): QueueSummary {
  const waits: number[] = [];
  const byVerdict = new Map<string, number>();
  let acceleratorsRequested = 0;
  for (const j of waiting) {
    const t = Date.parse(j.submittedAt);
    if (!Number.isNaN(t)) waits.push(Math.max(0, nowMs - t));
    const v = j.pending?.verdict ?? 'unknown';
    byVerdict.set(v, (byVerdict.get(v) ?? 0) + 1);
    acceleratorsRequested += j.replicas * j.acceleratorsPerReplica;
  }
  return {
    length: waiting.length,
    medianWaitMs: median(waits),
    maxWaitMs: waits.length ? Math.max(...waits) : null,
    byVerdict,
    acceleratorsRequested,
  };
}

export interface ConsumerRow {
  /** `tenant/project` */
  readonly key: string;
  readonly tenant: string;
  readonly project: string;
  readonly accelerators: number;
  readonly jobs: number;
}

/** Tenants/projects ranked by the accelerators their running jobs hold (ties: by name). */
export function topConsumers(running: readonly JobView[], limit = 5): ConsumerRow[] {
  const m = new Map<string, { tenant: string; project: string; accelerators: number; jobs: number }>();
  for (const j of running) {
    const key = `${j.tenant}/${j.project}`;
    const held = j.placement
      ? j.placement.reduce((n, r) => n + r.acceleratorIds.length, 0)
      : j.replicas * j.acceleratorsPerReplica;
    const row = m.get(key) ?? { tenant: j.tenant, project: j.project, accelerators: 0, jobs: 0 };
    row.accelerators += held;
    row.jobs++;
    m.set(key, row);
  }
  return [...m.entries()]
    .map(([key, r]) => ({ key, ...r }))
    .sort((a, b) => b.accelerators - a.accelerators || a.key.localeCompare(b.key))
    .slice(0, limit);
}

export interface HeatmapData {
  /** Node names, one row each (y axis). */
  readonly nodes: readonly string[];
  /** Largest accelerator count on a node (x axis: slot 0…width-1). */
  readonly width: number;
  /** [slot, nodeRow, stateIndex in ACCELERATOR_STATES, acceleratorId, job id or ""] */
  readonly cells: readonly (readonly [number, number, number, string, string])[];
}

/** Nodes × accelerators, coloured by state; nodes sorted by name so rows do not jump between samples. */
export function heatmap(nodes: readonly NodeView[]): HeatmapData {
  const sorted = [...nodes].sort((a, b) => a.name.localeCompare(b.name));
  const cells: [number, number, number, string, string][] = [];
  let width = 0;
  sorted.forEach((n, row) => {
    const accs = [...n.accelerators].sort((a, b) => a.index - b.index);
    width = Math.max(width, accs.length);
    accs.forEach((a, slot) =>
      cells.push([slot, row, ACCELERATOR_STATES.indexOf(acceleratorState(n, a)), a.id, a.allocatedTo ?? '']),
    );
  });
  return { nodes: sorted.map((n) => n.name), width, cells };
}

export interface UtilisationSample {
  readonly atMs: number;
  readonly busy: number;
  readonly total: number;
  readonly queued: number;
}

/** The console keeps at most this many samples in memory (1 h at one sample every 5 s). */
export const UTILISATION_SAMPLES_MAX = 720;

/** Appends a sample, dropping the oldest beyond `max`. Returns a new array (React state). */
export function appendSample(
  samples: readonly UtilisationSample[],
  s: UtilisationSample,
  max = UTILISATION_SAMPLES_MAX,
): UtilisationSample[] {
  const next = samples.length >= max ? samples.slice(samples.length - max + 1) : samples.slice();
  next.push(s);
  return next;
}
