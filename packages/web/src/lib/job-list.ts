/**
 * The job list's data: a first load of every page up to a bound, then bounded refreshes.
 *
 * Every poll fetches the newest page (new jobs) and `activePagesPerPoll` pages of the active jobs,
 * continuing where the previous poll stopped, so a poll costs the same however many jobs wait
 * (10,000 queued jobs are all refreshed within 5 polls with the defaults). When a sweep over the
 * active jobs completes, a job that was active here but was not seen in it has ended: it is fetched
 * alone (at most `staleRefreshMax` per poll) to learn how. A poll that changed nothing returns the
 * same `order` and `byId` objects, so the view re-renders nothing.
 */
import type { JobView, ListJobsQuery, SuanliClient } from '@suanli/client';
import { ACTIVE_STATES, isActive } from './overview.js';

/** What the list needs from the API (the typed client satisfies it). */
export type JobsSource = Pick<SuanliClient, 'listJobs' | 'getJob'>;

export interface JobListLimits {
  /** The most jobs the list loads; beyond it the view says so and asks for a filter. */
  readonly loadedMax: number;
  /** GET /api/v1/jobs page size for the first load and the active sweep (the server's maximum is 1000). */
  readonly pageSize: number;
  readonly newestPage: number;
  readonly activePagesPerPoll: number;
  readonly staleRefreshMax: number;
}

export const JOB_LIST_LIMITS: JobListLimits = {
  loadedMax: 20_000,
  pageSize: 1000,
  newestPage: 200,
  activePagesPerPoll: 2,
  staleRefreshMax: 25,
};

export const STATE_FILTERS = [
  '',
  'active',
  'queued',
  'starting',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed-out',
  'preempted',
  'lost',
  'requeued',
] as const;

/** A state filter from the URL ("" = all, "active" = the four active states) as API states. */
export function statesFor(filter: string): string[] | undefined {
  if (!filter) return undefined;
  if (filter === 'active') return [...ACTIVE_STATES];
  return [filter];
}

/** Pages through GET /api/v1/jobs (newest first) until the end or `max` jobs. */
export async function loadJobs(
  client: Pick<JobsSource, 'listJobs'>,
  q: Omit<ListJobsQuery, 'limit' | 'before'>,
  max: number,
  pageSize = 1000,
): Promise<{ jobs: JobView[]; truncated: boolean }> {
  const jobs: JobView[] = [];
  let before: number | undefined;
  while (jobs.length < max) {
    const res = await client.listJobs({
      ...q,
      limit: Math.min(pageSize, max - jobs.length),
      ...(before ? { before } : {}),
    });
    jobs.push(...res.jobs);
    if (res.nextBefore === null) return { jobs, truncated: false };
    before = res.nextBefore;
  }
  return { jobs, truncated: true };
}

export interface ListState {
  readonly order: readonly string[];
  readonly byId: ReadonlyMap<string, JobView>;
  readonly truncated: boolean;
  /** The sweep over active jobs: where the next page starts (undefined: from the newest) and what it has seen. */
  readonly sweepBefore: number | undefined;
  readonly sweepSeen: ReadonlySet<string>;
}

/** Whether a polled job differs from the one shown in anything the list or its links depend on. */
export function changed(a: JobView, b: JobView): boolean {
  return (
    a.state !== b.state ||
    a.attempt !== b.attempt ||
    a.startedAt !== b.startedAt ||
    a.finishedAt !== b.finishedAt ||
    a.exitCode !== b.exitCode ||
    a.cancelRequested !== b.cancelRequested ||
    a.pending?.verdict !== b.pending?.verdict
  );
}

export async function refreshJobList(
  client: JobsSource,
  prev: ListState | null,
  states: string[] | undefined,
  project: string,
  limits: JobListLimits = JOB_LIST_LIMITS,
): Promise<ListState> {
  const q = { ...(states ? { state: states } : {}), ...(project ? { project } : {}) };
  if (!prev) {
    const { jobs, truncated } = await loadJobs(client, q, limits.loadedMax, limits.pageSize);
    return {
      order: jobs.map((j) => j.id),
      byId: new Map(jobs.map((j) => [j.id, j])),
      truncated,
      sweepBefore: undefined,
      sweepSeen: new Set(),
    };
  }
  const activeStates = (states ?? [...ACTIVE_STATES]).filter((s) => isActive(s));
  const newest = await client.listJobs({ ...q, limit: limits.newestPage });
  const swept: JobView[] = [];
  let sweepBefore = prev.sweepBefore;
  let sweepDone = activeStates.length === 0;
  for (let i = 0; i < limits.activePagesPerPoll && !sweepDone; i++) {
    const page = await client.listJobs({
      ...q,
      state: activeStates,
      limit: limits.pageSize,
      ...(sweepBefore ? { before: sweepBefore } : {}),
    });
    swept.push(...page.jobs);
    if (page.nextBefore === null) sweepDone = true;
    else sweepBefore = page.nextBefore;
  }
  // Copy the map only when something changed, so a quiet poll re-renders nothing (10,000 rows stay put).
  let byId = prev.byId as Map<string, JobView>;
  let copied = false;
  const put = (j: JobView) => {
    if (!copied) {
      byId = new Map(prev.byId);
      copied = true;
    }
    byId.set(j.id, j);
  };
  const added: string[] = [];
  const addedSet = new Set<string>();
  for (const j of newest.jobs)
    if (!prev.byId.has(j.id)) {
      added.push(j.id);
      addedSet.add(j.id);
    }
  for (const j of [...newest.jobs, ...swept]) {
    const old = byId.get(j.id);
    if (old && !changed(old, j)) continue;
    // Active jobs we have never seen are new ones beyond the newest page (unless the list was cut at its bound).
    if (!old && !addedSet.has(j.id)) {
      if (prev.truncated) continue;
      added.push(j.id);
      addedSet.add(j.id);
    }
    put(j);
  }
  const seen = new Set(prev.sweepSeen);
  for (const j of swept) seen.add(j.id);
  for (const j of newest.jobs) if (isActive(j.state)) seen.add(j.id);
  const removed = new Set<string>();
  if (sweepDone) {
    // The sweep covered every active job: those active here but not seen have ended.
    const stale = [...prev.byId.values()]
      .filter((j) => isActive(j.state) && !seen.has(j.id) && !newest.jobs.some((n) => n.id === j.id))
      .slice(0, limits.staleRefreshMax);
    const ended = await Promise.all(stale.map((j) => client.getJob(j.id).catch(() => null)));
    for (const j of ended) {
      if (!j) continue;
      if (states && !states.includes(j.state)) removed.add(j.id);
      else put(j);
    }
    if (removed.size > 0) {
      if (!copied) byId = new Map(prev.byId);
      copied = true;
      for (const id of removed) byId.delete(id);
    }
  }
  const sweep = {
    sweepBefore: sweepDone ? undefined : sweepBefore,
    sweepSeen: sweepDone ? new Set<string>() : seen,
  };
  if (!copied && added.length === 0) return { ...prev, ...sweep, order: prev.order, byId: prev.byId };
  const order =
    added.length || removed.size ? [...added, ...prev.order.filter((id) => !removed.has(id))] : prev.order;
  return { order, byId, truncated: prev.truncated, ...sweep };
}
