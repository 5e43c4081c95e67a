/**
 * The job list: filters (state, project) kept in the URL, live state by polling, and a windowed
 * table (only the rows in view are in the DOM), so 10,000 jobs scroll smoothly.
 *
 * Loading: every page of GET /api/v1/jobs up to JOBS_LOADED_MAX once. Then every POLL_MS: the
 * newest page (new jobs) and ACTIVE_PAGES_PER_POLL pages of the active jobs, continuing where the
 * previous poll stopped, so the cost of a poll stays bounded however many jobs wait (10,000 queued
 * jobs are all refreshed within 5 polls). When a sweep over the active jobs completes, a job that was
 * active here but was not seen in it has ended: it is fetched alone (at most STALE_REFRESH_MAX per
 * poll) to learn how.
 */
import { memo, useEffect, useMemo, useRef, useState, type UIEvent } from 'react';
import type { JobView, SuanliClient } from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { usePoll, useNow } from '../poll.js';
import { errorMessage, JOBS_LOADED_MAX, loadJobs } from '../api.js';
import { Link, navigate, useLocation } from '../router.js';
import { ErrorNote, StateBadge, Updated } from './common.js';
import { rowWindow } from '../../lib/windowing.js';
import { ACTIVE_STATES, isActive } from '../../lib/overview.js';
import { formatDuration, formatTime } from '../../lib/format.js';
import type { MessageKey } from '../../lib/i18n.js';

const POLL_MS = 3000;
const NEWEST_PAGE = 200;
const ACTIVE_PAGE = 1000;
const ACTIVE_PAGES_PER_POLL = 2;
const STALE_REFRESH_MAX = 25;
export const ROW_PX = 40;

const STATE_FILTERS = ['', 'active', 'queued', 'starting', 'running', 'succeeded', 'failed', 'cancelled', 'timed-out', 'preempted', 'lost', 'requeued'] as const;

function statesFor(filter: string): string[] | undefined {
  if (!filter) return undefined;
  if (filter === 'active') return [...ACTIVE_STATES];
  return [filter];
}

interface ListState {
  readonly order: readonly string[];
  readonly byId: ReadonlyMap<string, JobView>;
  readonly truncated: boolean;
  /** The sweep over active jobs: where the next page starts (undefined: from the newest) and what it has seen. */
  readonly sweepBefore: number | undefined;
  readonly sweepSeen: ReadonlySet<string>;
}

/** Whether a polled job differs from the one shown in anything the list or its links depend on. */
function changed(a: JobView, b: JobView): boolean {
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

async function refresh(client: SuanliClient, prev: ListState | null, states: string[] | undefined, project: string): Promise<ListState> {
  const q = { ...(states ? { state: states } : {}), ...(project ? { project } : {}) };
  if (!prev) {
    const { jobs, truncated } = await loadJobs(client, q, JOBS_LOADED_MAX);
    return { order: jobs.map((j) => j.id), byId: new Map(jobs.map((j) => [j.id, j])), truncated, sweepBefore: undefined, sweepSeen: new Set() };
  }
  const activeStates = (states ?? [...ACTIVE_STATES]).filter((s) => isActive(s));
  const newest = await client.listJobs({ ...q, limit: NEWEST_PAGE });
  const swept: JobView[] = [];
  let sweepBefore = prev.sweepBefore;
  let sweepDone = activeStates.length === 0;
  for (let i = 0; i < ACTIVE_PAGES_PER_POLL && !sweepDone; i++) {
    const page = await client.listJobs({ ...q, state: activeStates, limit: ACTIVE_PAGE, ...(sweepBefore ? { before: sweepBefore } : {}) });
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
    const stale = [...prev.byId.values()].filter((j) => isActive(j.state) && !seen.has(j.id) && !newest.jobs.some((n) => n.id === j.id)).slice(0, STALE_REFRESH_MAX);
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
  const sweep = { sweepBefore: sweepDone ? undefined : sweepBefore, sweepSeen: sweepDone ? new Set<string>() : seen };
  if (!copied && added.length === 0) return { ...prev, ...sweep, order: prev.order, byId: prev.byId };
  const order = added.length || removed.size ? [...added, ...prev.order.filter((id) => !removed.has(id))] : prev.order;
  return { order, byId, truncated: prev.truncated, ...sweep };
}

export function Jobs() {
  const { t, lang } = useI18n();
  const { client } = useSession();
  const { query } = useLocation();
  const stateFilter = query.get('state') ?? '';
  const projectFilter = query.get('project') ?? '';
  const [projectInput, setProjectInput] = useState(projectFilter);
  const states = useMemo(() => statesFor(stateFilter), [stateFilter]);

  const setFilter = (key: 'state' | 'project', value: string) => {
    const q = new URLSearchParams(window.location.search);
    if (value) q.set(key, value);
    else q.delete(key);
    const s = q.toString();
    navigate('/jobs' + (s ? `?${s}` : ''), true);
  };
  // Typing in the project box filters after a short pause.
  useEffect(() => {
    if (projectInput === projectFilter) return;
    const h = setTimeout(() => setFilter('project', projectInput.trim()), 400);
    return () => clearTimeout(h);
  }, [projectInput]);

  const poll = usePoll((prev: ListState | null) => refresh(client, prev, states, projectFilter), POLL_MS, [client, stateFilter, projectFilter]);
  const list = poll.data;
  // Rebuilt only when the poll brought a change (refresh keeps `order` and `byId` otherwise).
  const order = list?.order;
  const byId = list?.byId;
  const rows = useMemo(() => (order && byId ? order.map((id) => byId.get(id)).filter((j): j is JobView => j !== undefined) : []), [order, byId]);

  return (
    <section aria-labelledby="jobs-title" className="jobs-view">
      <h1 id="jobs-title">{t('jobs.title')}</h1>
      <form className="filters" role="search" aria-label={t('jobs.title')} onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('jobs.filterState')}
          <select value={stateFilter} onChange={(e) => setFilter('state', e.target.value)} data-testid="filter-state">
            {STATE_FILTERS.map((s) => (
              <option key={s} value={s}>
                {s === '' ? t('jobs.allStates') : s === 'active' ? t('jobs.active') : `${s} — ${t(`state.${s}` as MessageKey)}`}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('jobs.filterProject')}
          <input type="search" value={projectInput} onChange={(e) => setProjectInput(e.target.value)} maxLength={63} spellCheck={false} data-testid="filter-project" />
        </label>
      </form>
      <Updated at={poll.updatedAt} liveSeconds={POLL_MS / 1000} />
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!list ? (
        <p className="muted" role="status">
          {t('common.loading')}
        </p>
      ) : (
        <>
          <p className="muted small" role="status" data-testid="jobs-count">
            {list.truncated ? t('jobs.countMore', { count: rows.length, max: JOBS_LOADED_MAX }) : t('jobs.count', { count: rows.length })}
          </p>
          {rows.length === 0 ? <p className="muted">{t('jobs.empty')}</p> : <JobTable rows={rows} lang={lang} />}
        </>
      )}
    </section>
  );
}

function JobTable({ rows, lang }: { rows: readonly JobView[]; lang: 'en' | 'zh-CN' }) {
  const { t } = useI18n();
  const now = useNow(1000);
  const box = useRef<HTMLDivElement | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    setViewport(el.clientHeight);
    return () => ro.disconnect();
  }, []);
  const win = rowWindow(scrollTop, viewport, ROW_PX, rows.length);
  const onScroll = (e: UIEvent<HTMLDivElement>) => setScrollTop(e.currentTarget.scrollTop);
  const visible = rows.slice(win.start, win.end);
  const pool = Math.max(128, win.end - win.start);

  return (
    <div className="vtable" role="table" aria-label={t('jobs.table')} aria-rowcount={rows.length + 1} data-testid="jobs-table">
      <div className="vrow vhead" role="row" aria-rowindex={1}>
        <span role="columnheader">{t('jobs.col.id')}</span>
        <span role="columnheader">{t('jobs.col.name')}</span>
        <span role="columnheader">{t('jobs.col.project')}</span>
        <span role="columnheader">{t('jobs.col.state')}</span>
        <span role="columnheader" className="num">
          {t('jobs.col.accelerators')}
        </span>
        <span role="columnheader">{t('jobs.col.submitted')}</span>
        <span role="columnheader" className="num">
          {t('jobs.col.waitOrRun')}
        </span>
      </div>
      <div className="vbody" ref={box} onScroll={onScroll} role="rowgroup" tabIndex={0} data-testid="jobs-scroll">
        <div style={{ height: win.totalPx, position: 'relative' }}>
          <div style={{ transform: `translateY(${win.offsetPx}px)` }}>
            {visible.map((j, i) => (
              // Recycled keys: row k keeps key k mod pool while it stays in view, and a row scrolled out
              // hands its DOM nodes to the one scrolled in (text updates instead of new elements).
              <JobRow key={(win.start + i) % pool} job={j} index={win.start + i} now={now} lang={lang} />
            ))}
          </div>
        </div>
      </div>
    </div>
  );
}

const JobRow = memo(function JobRow({ job: j, index, now, lang }: { job: JobView; index: number; now: number; lang: 'en' | 'zh-CN' }) {
  const started = j.startedAt ? Date.parse(j.startedAt) : null;
  const finished = j.finishedAt ? Date.parse(j.finishedAt) : null;
  const submitted = Date.parse(j.submittedAt);
  const span = started !== null ? (finished ?? now) - started : (finished ?? now) - submitted;
  return (
    <div className="vrow" role="row" aria-rowindex={index + 2} style={{ height: ROW_PX }} data-job={j.id}>
      <span role="cell" className="mono">
        <Link href={`/jobs/${j.id}`}>{j.id}</Link>
      </span>
      <span role="cell" className="ellipsis" title={j.name}>
        {j.name}
      </span>
      <span role="cell" className="ellipsis">
        {j.tenant}/{j.project}
      </span>
      <span role="cell">
        <StateBadge state={j.state} />
      </span>
      <span role="cell" className="num">
        {j.replicas > 1 ? `${j.replicas}×${j.acceleratorsPerReplica}` : j.acceleratorsPerReplica}
      </span>
      <span role="cell" className="small">
        {formatTime(j.submittedAt, lang)}
      </span>
      <span role="cell" className="num small">
        {formatDuration(span)}
      </span>
    </div>
  );
});
