/**
 * The job list's data: one page at a time of GET /api/v1/jobs, newest first, with the server's
 * filters (state, tenant, project, submittedBy) and job arrays folded into one row each
 * (`fold=true`). The console never loads the whole list: it holds one page (at most
 * PAGE_SIZES' largest) and moves with the server's opaque cursor, so 100,000 jobs cost what 50 do.
 *
 * Polling asks for the same page again; a poll that changed nothing returns the previous rows
 * array (and each unchanged row object), so the view re-renders nothing.
 */
import type { JobArrayView, JobView, ListJobsQuery, SuanliClient } from '@suanli/client';
import { ACTIVE_STATES } from './overview.js';

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

/** Rows per page the list offers (the server's maximum is 1000). */
export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 50;

/** A state filter from the URL ("" = all, "active" = the four active states) as API states. */
export function statesFor(filter: string): string[] | undefined {
  if (!filter) return undefined;
  if (filter === 'active') return [...ACTIVE_STATES];
  return [filter];
}

/** Pages through GET /api/v1/jobs (newest first) with the cursor until the end or `max` jobs. */
export async function loadJobs(
  client: Pick<SuanliClient, 'listJobs'>,
  q: Omit<ListJobsQuery, 'limit' | 'before' | 'cursor' | 'fold'>,
  max: number,
  pageSize = 1000,
): Promise<{ jobs: JobView[]; truncated: boolean }> {
  const jobs: JobView[] = [];
  let cursor: string | undefined;
  while (jobs.length < max) {
    const res = await client.listJobs({
      ...q,
      limit: Math.min(pageSize, max - jobs.length),
      ...(cursor ? { cursor } : {}),
    });
    jobs.push(...res.jobs);
    if (res.nextCursor === null) return { jobs, truncated: false };
    cursor = res.nextCursor;
  }
  return { jobs, truncated: true };
}

/** What the list page shows, as its URL says it (`/jobs?state=…&project=…&cursor=…`). */
export interface JobListQuery {
  readonly state: string;
  readonly project: string;
  readonly submittedBy: string;
  readonly tenant: string;
  /** Fold arrays into one row (the default); false lists their tasks one by one. */
  readonly fold: boolean;
  readonly limit: number;
  /** Where the page starts (a nextCursor of the server); "" = the newest page. */
  readonly cursor: string;
}

export function parseListQuery(q: URLSearchParams): JobListQuery {
  const limit = Number(q.get('limit'));
  return {
    state: q.get('state') ?? '',
    project: q.get('project') ?? '',
    submittedBy: q.get('submittedBy') ?? '',
    tenant: q.get('tenant') ?? '',
    fold: q.get('tasks') !== '1',
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE,
    cursor: q.get('cursor') ?? '',
  };
}

/** The URL search string of a query (defaults left out), e.g. `?state=queued&cursor=…`. */
export function listQueryString(q: JobListQuery): string {
  const p = new URLSearchParams();
  if (q.state) p.set('state', q.state);
  if (q.project) p.set('project', q.project);
  if (q.submittedBy) p.set('submittedBy', q.submittedBy);
  if (q.tenant) p.set('tenant', q.tenant);
  if (!q.fold) p.set('tasks', '1');
  if (q.limit !== DEFAULT_PAGE_SIZE) p.set('limit', String(q.limit));
  if (q.cursor) p.set('cursor', q.cursor);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** One row of the list: a job (an array's task too, when not folded) or a folded job array. */
export type ListRow =
  | { readonly kind: 'job'; readonly id: string; readonly job: JobView }
  | { readonly kind: 'array'; readonly id: string; readonly array: JobArrayView };

export interface JobPage {
  readonly rows: readonly ListRow[];
  /** The next (older) page's cursor; null: this is the last page. */
  readonly nextCursor: string | null;
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

function sameCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function sameRow(a: ListRow, b: ListRow): boolean {
  if (a.kind === 'job' && b.kind === 'job') return a.id === b.id && !changed(a.job, b.job);
  if (a.kind === 'array' && b.kind === 'array')
    return a.id === b.id && sameCounts(a.array.counts, b.array.counts);
  return false;
}

/** `next`, keeping `prev`'s row objects (and its array) where nothing the list shows changed. */
export function reusePage(prev: JobPage | null, next: JobPage): JobPage {
  if (!prev) return next;
  const old = new Map(prev.rows.map((r) => [`${r.kind}:${r.id}`, r]));
  let same = prev.rows.length === next.rows.length && prev.nextCursor === next.nextCursor;
  const rows = next.rows.map((r, i) => {
    const o = old.get(`${r.kind}:${r.id}`);
    const keep = o !== undefined && sameRow(o, r) ? o : r;
    if (keep !== prev.rows[i]) same = false;
    return keep;
  });
  return same ? prev : { rows, nextCursor: next.nextCursor };
}

/** One page of GET /api/v1/jobs for `q` (arrays folded unless `q.fold` is false). */
export async function loadJobPage(
  client: Pick<SuanliClient, 'listJobs'>,
  q: JobListQuery,
  isOperator: boolean,
): Promise<JobPage> {
  const states = statesFor(q.state);
  const res = await client.listJobs({
    ...(states ? { state: states } : {}),
    ...(q.project ? { project: q.project } : {}),
    ...(q.submittedBy ? { submittedBy: q.submittedBy } : {}),
    ...(q.tenant && isOperator ? { tenant: q.tenant } : {}),
    ...(q.fold ? { fold: true } : {}),
    ...(q.cursor ? { cursor: q.cursor } : {}),
    limit: q.limit,
  });
  const rows: ListRow[] = q.fold
    ? (res.entries ?? []).flatMap((e): ListRow[] =>
        e.array
          ? [{ kind: 'array', id: e.array.id, array: e.array }]
          : e.job
            ? [{ kind: 'job', id: e.job.id, job: e.job }]
            : [],
      )
    : res.jobs.map((j) => ({ kind: 'job', id: j.id, job: j }));
  return { rows, nextCursor: res.nextCursor };
}

/**
 * The way back through pages: for each page start (a cursor; "" the newest page) the start of the
 * page before it and its number. Built as the user moves forward; a page opened from a link or a
 * reload has no known predecessor, and "previous" then goes to the newest page.
 */
export class PageTrail {
  private readonly back = new Map<string, { prev: string; page: number }>();

  /** Records that `next` was reached from `from` and returns `next`'s page number (1 = newest). */
  forward(from: string, next: string): number {
    const page = this.pageOf(from) + 1;
    this.back.set(next, { prev: from, page });
    return page;
  }

  /** The start of the page before `cursor` ("" when unknown or when it is the second page). */
  previous(cursor: string): string {
    return this.back.get(cursor)?.prev ?? '';
  }

  /** The page number of `cursor`; null when it was not reached through this trail. */
  known(cursor: string): number | null {
    return cursor === '' ? 1 : (this.back.get(cursor)?.page ?? null);
  }

  private pageOf(cursor: string): number {
    return this.known(cursor) ?? 1;
  }
}

/** An array's id as the CLI prints it: `j-…_[0-999%50]`. */
export function arrayLabel(a: Pick<JobArrayView, 'id' | 'array'>): string {
  return `${a.id}_[${a.array}]`;
}

/** The order states are shown in a count summary: active first, then how tasks ended. */
const COUNT_ORDER = [
  'running',
  'starting',
  'queued',
  'requeued',
  'succeeded',
  'failed',
  'timed-out',
  'cancelled',
  'preempted',
  'lost',
];

/** The non-zero task counts of an array, in COUNT_ORDER (unknown states last, by name). */
export function countEntries(counts: Readonly<Record<string, number>>): [string, number][] {
  const rank = (s: string) => {
    const i = COUNT_ORDER.indexOf(s);
    return i < 0 ? COUNT_ORDER.length : i;
  };
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

/** How many of an array's tasks have not ended (cancel has something to do while this is > 0). */
export function unfinished(counts: Readonly<Record<string, number>>): number {
  return [...ACTIVE_STATES].reduce((n, s) => n + (counts[s] ?? 0), 0);
}

/** A job id or a job array task id (`j-0123456789abcdef` or `j-0123456789abcdef_7`). */
export const JOB_PATH_RE = /^\/jobs\/(j-[0-9a-f]{16}(?:_[0-9]{1,7})?)$/;
/** A job array's page. */
export const ARRAY_PATH_RE = /^\/job-arrays\/(j-[0-9a-f]{16})$/;
