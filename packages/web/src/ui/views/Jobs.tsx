/**
 * The job list: one page of jobs at a time, newest first, moved with the server's cursor (never
 * the whole list), filters (state, project, submitter, tenant for operators) applied by the
 * server and kept in the URL with the page's cursor, job arrays folded into one row with their
 * task counts per state, live state by polling the page shown, and a windowed table.
 *
 * Loading: lib/job-list.ts (a quiet poll re-renders nothing).
 */
import { memo, useEffect, useMemo, useRef, useState, type UIEvent } from 'react';
import type { JobArrayView, JobView } from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { usePoll, useNow } from '../poll.js';
import { errorMessage } from '../api.js';
import {
  arrayLabel,
  countEntries,
  listQueryString,
  loadJobPage,
  PAGE_SIZES,
  PageTrail,
  parseListQuery,
  reusePage,
  STATE_FILTERS,
  type JobListQuery,
  type JobPage,
  type ListRow,
} from '../../lib/job-list.js';
import { Link, navigate, useLocation } from '../router.js';
import { ErrorNote, StateBadge, Updated } from './common.js';
import { rowWindow } from '../../lib/windowing.js';
import { formatDuration, formatTime } from '../../lib/format.js';
import { isPlatformRole } from '../../lib/roles.js';
import type { MessageKey } from '../../lib/i18n.js';

const POLL_MS = 3000;
export const ROW_PX = 40;
/** Rows rendered beyond each edge of the viewport: enough for a wheel step, few enough that a jump re-renders little. */
const OVERSCAN_ROWS = 4;

/** The page trail outlives the view (back from a job's page keeps "newer" working). */
const trail = new PageTrail();

/** A text filter that applies after a short pause in typing. */
function useDebounced(value: string, apply: (v: string) => void): [string, (v: string) => void] {
  const [input, setInput] = useState(value);
  useEffect(() => setInput(value), [value]);
  useEffect(() => {
    if (input === value) return;
    const h = setTimeout(() => apply(input.trim()), 400);
    return () => clearTimeout(h);
  }, [input]);
  return [input, setInput];
}

export function Jobs() {
  const { t, lang } = useI18n();
  const { client, me } = useSession();
  const { query } = useLocation();
  const q = useMemo(() => parseListQuery(query), [query.toString()]);
  const operator = isPlatformRole(me.role);

  const go = (next: JobListQuery, replace: boolean) => navigate('/jobs' + listQueryString(next), replace);
  // A changed filter starts again at the newest page.
  const setFilter = (patch: Partial<JobListQuery>) => go({ ...q, ...patch, cursor: '' }, true);
  const [project, setProject] = useDebounced(q.project, (v) => setFilter({ project: v }));
  const [submittedBy, setSubmittedBy] = useDebounced(q.submittedBy, (v) => setFilter({ submittedBy: v }));
  const [tenant, setTenant] = useDebounced(q.tenant, (v) => setFilter({ tenant: v }));

  const key = listQueryString(q);
  const poll = usePoll(
    (prev: JobPage | null) => loadJobPage(client, q, operator).then((p) => reusePage(prev, p)),
    POLL_MS,
    [client, key],
  );
  const page = poll.data;
  const pageNo = trail.known(q.cursor);

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
            value={q.state}
            onChange={(e) => setFilter({ state: e.target.value })}
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
            value={project}
            onChange={(e) => setProject(e.target.value)}
            maxLength={63}
            spellCheck={false}
            data-testid="filter-project"
          />
        </label>
        <label>
          {t('jobs.filterSubmittedBy')}
          <input
            type="search"
            value={submittedBy}
            onChange={(e) => setSubmittedBy(e.target.value)}
            maxLength={200}
            spellCheck={false}
            data-testid="filter-submitted-by"
          />
        </label>
        {operator ? (
          <label>
            {t('jobs.filterTenant')}
            <input
              type="search"
              value={tenant}
              onChange={(e) => setTenant(e.target.value)}
              maxLength={63}
              spellCheck={false}
              data-testid="filter-tenant"
            />
          </label>
        ) : null}
        <label>
          {t('jobs.pageSize')}
          <select
            value={q.limit}
            onChange={(e) => setFilter({ limit: Number(e.target.value) })}
            data-testid="page-size"
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={q.fold}
            onChange={(e) => setFilter({ fold: e.target.checked })}
            data-testid="fold-arrays"
          />{' '}
          {t('jobs.fold')}
        </label>
      </form>
      <Updated at={poll.updatedAt} liveSeconds={POLL_MS / 1000} />
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!page ? (
        <p className="muted" role="status">
          {t('common.loading')}
        </p>
      ) : (
        <>
          <p
            className="muted small"
            role="status"
            data-testid="jobs-count"
            data-page={pageNo ?? ''}
            data-rows={page.rows.length}
          >
            {pageNo === null
              ? t('jobs.pageFrom', { count: page.rows.length })
              : t('jobs.page', { page: pageNo, count: page.rows.length })}
          </p>
          {page.rows.length === 0 ? (
            <p className="muted">{t('jobs.empty')}</p>
          ) : (
            <JobTable rows={page.rows} lang={lang} />
          )}
          <Pager
            atFirst={q.cursor === ''}
            nextCursor={page.nextCursor}
            onFirst={() => go({ ...q, cursor: '' }, false)}
            onPrev={() => go({ ...q, cursor: trail.previous(q.cursor) }, false)}
            onNext={(c) => {
              trail.forward(q.cursor, c);
              go({ ...q, cursor: c }, false);
            }}
          />
        </>
      )}
    </section>
  );
}

/** Newest / newer / older buttons over a cursor-paged list. */
export function Pager(props: {
  atFirst: boolean;
  nextCursor: string | null;
  onFirst: () => void;
  onPrev: () => void;
  onNext: (cursor: string) => void;
}) {
  const { t } = useI18n();
  const next = props.nextCursor;
  return (
    <nav className="pager actions" aria-label={t('jobs.pager')}>
      <button
        type="button"
        className="secondary"
        disabled={props.atFirst}
        onClick={props.onFirst}
        data-testid="page-first"
      >
        {t('jobs.first')}
      </button>
      <button
        type="button"
        className="secondary"
        disabled={props.atFirst}
        onClick={props.onPrev}
        data-testid="page-prev"
      >
        {t('jobs.prev')}
      </button>
      <button
        type="button"
        className="secondary"
        disabled={next === null}
        onClick={() => next !== null && props.onNext(next)}
        data-testid="page-next"
      >
        {t('jobs.next')}
      </button>
    </nav>
  );
}

function JobTable({ rows, lang }: { rows: readonly ListRow[]; lang: 'en' | 'zh-CN' }) {
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
            {visible.map((r, i) =>
              // Recycled keys: row k keeps key k mod pool while it stays in view, and a row scrolled out
              // hands its DOM nodes to the one scrolled in (text updates instead of new elements).
              r.kind === 'job' ? (
                <JobRow
                  key={(win.start + i) % pool}
                  job={r.job}
                  index={win.start + i}
                  now={now}
                  lang={lang}
                />
              ) : (
                <ArrayRow key={(win.start + i) % pool} array={r.array} index={win.start + i} lang={lang} />
              ),
            )}
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
      <span role="cell" className="mono ellipsis">
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

/** A folded job array: its id with its expression, and how many of its tasks are in each state. */
const ArrayRow = memo(function ArrayRow({
  array: a,
  index,
  lang,
}: {
  array: JobArrayView;
  index: number;
  lang: 'en' | 'zh-CN';
}) {
  const { t } = useI18n();
  const counts = countEntries(a.counts);
  const summary = counts.map(([s, n]) => `${t(`state.${s}` as MessageKey)} ${n}`).join(' · ');
  return (
    <div
      className="vrow array-row"
      role="row"
      aria-rowindex={index + 2}
      style={{ height: ROW_PX }}
      data-array={a.id}
    >
      <span role="cell" className="mono ellipsis" title={arrayLabel(a)}>
        <Link href={`/job-arrays/${a.id}`}>{arrayLabel(a)}</Link>
      </span>
      <span role="cell" className="ellipsis" title={a.name}>
        {a.name} <span className="muted small">({t('jobs.arrayTasks', { size: a.size })})</span>
      </span>
      <span role="cell" className="ellipsis">
        {a.tenant}/{a.project}
      </span>
      <span
        role="cell"
        className="counts ellipsis"
        title={summary}
        aria-label={`${t('jobs.arrayCounts')}: ${summary}`}
      >
        <TaskCounts counts={a.counts} />
      </span>
      <span role="cell" className="num">
        {a.replicas > 1 ? `${a.replicas}×${a.acceleratorsPerReplica}` : a.acceleratorsPerReplica}
      </span>
      <span role="cell" className="small">
        {formatTime(a.submittedAt, lang)}
      </span>
      <span role="cell" className="num small">
        {a.size}
      </span>
    </div>
  );
});

/** Task counts per state as compact badges (`data-count` = the state, text = how many). */
export function TaskCounts({ counts }: { counts: Readonly<Record<string, number>> }) {
  const { t } = useI18n();
  return (
    <>
      {countEntries(counts).map(([s, n]) => (
        <span
          key={s}
          className={`count-badge state-${s}`}
          data-count={s}
          title={`${t(`state.${s}` as MessageKey)} (${s})`}
        >
          {n}
        </span>
      ))}
    </>
  );
}
