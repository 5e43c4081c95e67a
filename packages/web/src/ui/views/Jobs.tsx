/**
 * The job list: filters (state, project) kept in the URL, live state by polling, and a windowed
 * table (only the rows in view are in the DOM), so 10,000 jobs scroll smoothly.
 *
 * Loading: every page of GET /api/v1/jobs up to JOBS_LOADED_MAX once; then every POLL_MS the
 * newest page (new jobs) and the active jobs (state changes). A job that was active here and is
 * no longer in the active list is fetched alone (at most STALE_REFRESH_MAX per poll) to learn how
 * it ended.
 */
import { useEffect, useMemo, useRef, useState, type UIEvent } from 'react';
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
}

async function refresh(client: SuanliClient, prev: ListState | null, states: string[] | undefined, project: string): Promise<ListState> {
  const q = { ...(states ? { state: states } : {}), ...(project ? { project } : {}) };
  if (!prev) {
    const { jobs, truncated } = await loadJobs(client, q, JOBS_LOADED_MAX);
    return { order: jobs.map((j) => j.id), byId: new Map(jobs.map((j) => [j.id, j])), truncated };
  }
  const activeStates = (states ?? [...ACTIVE_STATES]).filter((s) => isActive(s));
  const [newest, active] = await Promise.all([
    client.listJobs({ ...q, limit: NEWEST_PAGE }),
    activeStates.length ? loadJobs(client, { ...q, state: activeStates }, JOBS_LOADED_MAX) : Promise.resolve({ jobs: [] as JobView[], truncated: false }),
  ]);
  const byId = new Map(prev.byId);
  const fresh = new Set<string>();
  const added: string[] = [];
  for (const j of [...newest.jobs, ...active.jobs]) {
    if (!byId.has(j.id) && newest.jobs.includes(j)) added.push(j.id);
    byId.set(j.id, j);
    fresh.add(j.id);
  }
  // Jobs that were active here but were not in this poll's answers: fetch them to see how they ended.
  const stale = [...prev.byId.values()].filter((j) => isActive(j.state) && !fresh.has(j.id)).slice(0, STALE_REFRESH_MAX);
  const ended = await Promise.all(stale.map((j) => client.getJob(j.id).catch(() => null)));
  const removed = new Set<string>();
  for (const j of ended) {
    if (!j) continue;
    if (states && !states.includes(j.state)) removed.add(j.id);
    else byId.set(j.id, j);
  }
  for (const id of removed) byId.delete(id);
  const order = [...added, ...prev.order.filter((id) => !removed.has(id))];
  return { order, byId, truncated: prev.truncated };
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
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [projectInput]);

  const poll = usePoll((prev: ListState | null) => refresh(client, prev, states, projectFilter), POLL_MS, [client, stateFilter, projectFilter]);
  const list = poll.data;
  const rows = useMemo(() => (list ? list.order.map((id) => list.byId.get(id)).filter((j): j is JobView => j !== undefined) : []), [list]);

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
              <JobRow key={j.id} job={j} index={win.start + i} now={now} lang={lang} />
            ))}
          </div>
        </div>
      </div>
    </div>
  );
}

function JobRow({ job: j, index, now, lang }: { job: JobView; index: number; now: number; lang: 'en' | 'zh-CN' }) {
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
}
