/**
 * The job list: filters (state, project) kept in the URL, live state by polling, and a windowed
 * table (only the rows in view are in the DOM), so 10,000 jobs scroll smoothly.
 *
 * Loading and refreshing: lib/job-list.ts (bounded polls; quiet polls re-render nothing).
 */
import { memo, useEffect, useMemo, useRef, useState, type UIEvent } from 'react';
import type { JobView } from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { usePoll, useNow } from '../poll.js';
import { errorMessage } from '../api.js';
import {
  JOB_LIST_LIMITS,
  refreshJobList,
  STATE_FILTERS,
  statesFor,
  type ListState,
} from '../../lib/job-list.js';
import { Link, navigate, useLocation } from '../router.js';
import { ErrorNote, StateBadge, Updated } from './common.js';
import { rowWindow } from '../../lib/windowing.js';
import { formatDuration, formatTime } from '../../lib/format.js';
import type { MessageKey } from '../../lib/i18n.js';

const POLL_MS = 3000;
export const ROW_PX = 40;
/** Rows rendered beyond each edge of the viewport: enough for a wheel step, few enough that a jump re-renders little. */
const OVERSCAN_ROWS = 4;

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

  const poll = usePoll(
    (prev: ListState | null) => refreshJobList(client, prev, states, projectFilter),
    POLL_MS,
    [client, stateFilter, projectFilter],
  );
  const list = poll.data;
  // Rebuilt only when the poll brought a change (refresh keeps `order` and `byId` otherwise).
  const order = list?.order;
  const byId = list?.byId;
  const rows = useMemo(
    () => (order && byId ? order.map((id) => byId.get(id)).filter((j): j is JobView => j !== undefined) : []),
    [order, byId],
  );

  return (
    <section aria-labelledby="jobs-title" className="jobs-view">
      <h1 id="jobs-title">{t('jobs.title')}</h1>
      <form
        className="filters"
        role="search"
        aria-label={t('jobs.title')}
        onSubmit={(e) => e.preventDefault()}
      >
        <label>
          {t('jobs.filterState')}
          <select
            value={stateFilter}
            onChange={(e) => setFilter('state', e.target.value)}
            data-testid="filter-state"
          >
            {STATE_FILTERS.map((s) => (
              <option key={s} value={s}>
                {s === ''
                  ? t('jobs.allStates')
                  : s === 'active'
                    ? t('jobs.active')
                    : `${s} — ${t(`state.${s}` as MessageKey)}`}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('jobs.filterProject')}
          <input
            type="search"
            value={projectInput}
            onChange={(e) => setProjectInput(e.target.value)}
            maxLength={63}
            spellCheck={false}
            data-testid="filter-project"
          />
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
            {list.truncated
              ? t('jobs.countMore', { count: rows.length, max: JOB_LIST_LIMITS.loadedMax })
              : t('jobs.count', { count: rows.length })}
          </p>
          {rows.length === 0 ? (
            <p className="muted">{t('jobs.empty')}</p>
          ) : (
            <JobTable rows={rows} lang={lang} />
          )}
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
  const win = rowWindow(scrollTop, viewport, ROW_PX, rows.length, OVERSCAN_ROWS);
  const onScroll = (e: UIEvent<HTMLDivElement>) => setScrollTop(e.currentTarget.scrollTop);
  const visible = rows.slice(win.start, win.end);
  const pool = Math.max(128, win.end - win.start);

  return (
    <div
      className="vtable"
      role="table"
      aria-label={t('jobs.table')}
      aria-rowcount={rows.length + 1}
      data-testid="jobs-table"
    >
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
      <div
        className="vbody"
        ref={box}
        onScroll={onScroll}
        role="rowgroup"
        tabIndex={0}
        data-testid="jobs-scroll"
      >
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

const JobRow = memo(function JobRow({
  job: j,
  index,
  now,
  lang,
}: {
  job: JobView;
  index: number;
  now: number;
  lang: 'en' | 'zh-CN';
}) {
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
