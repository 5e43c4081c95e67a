/**
 * One job array: its expression and throttle, task counts per state, a page of its tasks in index
 * order (moved with the server's cursor, filtered by state on the server), and cancel of the whole
 * array. Polls the page shown.
 */
import { useMemo, useState } from 'react';
import { ApiClientError, type JobArrayView } from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { usePoll } from '../poll.js';
import { errorMessage } from '../api.js';
import { Link, navigate, useLocation } from '../router.js';
import { ConfirmAction, ErrorNote, StateBadge, Updated } from './common.js';
import { Pager } from './Jobs.js';
import {
  arrayLabel,
  countEntries,
  PageTrail,
  STATE_FILTERS,
  statesFor,
  unfinished,
} from '../../lib/job-list.js';
import { formatTime } from '../../lib/format.js';
import { can } from '../../lib/roles.js';
import type { MessageKey } from '../../lib/i18n.js';

const POLL_MS = 3000;
export const ARRAY_PAGE_SIZE = 50;
const trail = new PageTrail();

export function ArrayPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const { client, me } = useSession();
  const { query } = useLocation();
  const stateFilter = query.get('state') ?? '';
  const cursor = query.get('cursor') ?? '';
  const states = useMemo(() => statesFor(stateFilter), [stateFilter]);
  const poll = usePoll(
    () =>
      client.getArray(id, {
        ...(states ? { state: states } : {}),
        limit: ARRAY_PAGE_SIZE,
        ...(cursor ? { cursor } : {}),
      }),
    // Always polled (one small request): changing the interval would start the page from nothing.
    POLL_MS,
    [client, id, stateFilter, cursor],
  );
  const a = poll.data;
  const open = a ? unfinished(a.counts) : 0;

  const go = (patch: { state?: string; cursor?: string }, replace: boolean) => {
    const p = new URLSearchParams();
    const s = patch.state ?? stateFilter;
    const c = patch.cursor ?? cursor;
    if (s) p.set('state', s);
    if (c) p.set('cursor', c);
    const qs = p.toString();
    navigate(`/job-arrays/${id}` + (qs ? `?${qs}` : ''), replace);
  };

  if (poll.error instanceof ApiClientError && poll.error.status === 404)
    return (
      <section>
        <h1>{t('array.title', { id })}</h1>
        <ErrorNote error={t('array.notFound', { id })} />
        <Link href="/jobs">{t('job.back')}</Link>
      </section>
    );

  const pageNo = trail.known(cursor);
  return (
    <section aria-labelledby="array-title" className="job-page">
      <p>
        <Link href="/jobs">← {t('job.back')}</Link>
      </p>
      <h1 id="array-title">{t('array.title', { id: a ? arrayLabel(a) : id })}</h1>
      <Updated at={poll.updatedAt} liveSeconds={POLL_MS / 1000} />
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!a ? (
        <p className="muted" role="status">
          {t('common.loading')}
        </p>
      ) : (
        <>
          {can(me.role, 'job.cancel') ? <CancelArray array={a} open={open} onDone={poll.refresh} /> : null}
          <section className="card" aria-labelledby="array-facts">
            <h2 id="array-facts">{a.name}</h2>
            <dl className="facts">
              <dt>{t('job.project')}</dt>
              <dd>
                {a.tenant}/{a.project}
              </dd>
              <dt>{t('job.submittedBy')}</dt>
              <dd>{a.submittedBy}</dd>
              <dt>{t('job.submittedAt')}</dt>
              <dd>{formatTime(a.submittedAt, lang)}</dd>
              <dt>{t('array.expression')}</dt>
              <dd className="mono" data-testid="array-expression">
                {a.array}
              </dd>
              <dt>{t('array.throttle')}</dt>
              <dd>{a.throttle ?? t('array.noThrottle')}</dd>
              <dt>{t('array.size')}</dt>
              <dd data-testid="array-size">{a.size}</dd>
              <dt>{t('job.command')}</dt>
              <dd className="mono wrap">
                {a.command.map((x) => (/^[\w./:=@%+-]+$/.test(x) ? x : JSON.stringify(x))).join(' ')}
              </dd>
              <dt>{t('array.counts')}</dt>
              <dd data-testid="array-counts">
                {countEntries(a.counts).map(([s, n]) => (
                  <span key={s} className="count-pair" data-count={s}>
                    <StateBadge state={s} /> {n}
                  </span>
                ))}
              </dd>
            </dl>
          </section>
          <section className="card" aria-labelledby="array-tasks">
            <div className="row-between">
              <h2 id="array-tasks">{t('array.tasks')}</h2>
              <label className="inline-controls">
                {t('jobs.filterState')}{' '}
                <select
                  value={stateFilter}
                  onChange={(e) => go({ state: e.target.value, cursor: '' }, true)}
                  data-testid="array-filter-state"
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
            </div>
            <p className="muted small" role="status" data-testid="array-page">
              {t('array.page', { page: pageNo ?? '…', count: a.tasks?.length ?? 0 })}
            </p>
            {(a.tasks?.length ?? 0) === 0 ? (
              <p className="muted">{t('array.noTasks')}</p>
            ) : (
              <TaskTable array={a} />
            )}
            <Pager
              atFirst={cursor === ''}
              nextCursor={a.nextCursor ?? null}
              onFirst={() => go({ cursor: '' }, false)}
              onPrev={() => go({ cursor: trail.previous(cursor) }, false)}
              onNext={(c) => {
                trail.forward(cursor, c);
                go({ cursor: c }, false);
              }}
            />
          </section>
        </>
      )}
    </section>
  );
}

function TaskTable({ array: a }: { array: JobArrayView }) {
  const { t, lang } = useI18n();
  return (
    <div className="table-scroll">
      <table
        className="table compact"
        aria-label={t('array.tasksTable', { id: a.id })}
        data-testid="array-tasks"
      >
        <thead>
          <tr>
            <th scope="col">{t('array.index')}</th>
            <th scope="col">{t('jobs.col.id')}</th>
            <th scope="col">{t('jobs.col.state')}</th>
            <th scope="col">{t('job.attempt')}</th>
            <th scope="col">{t('job.startedAt')}</th>
            <th scope="col">{t('job.finishedAt')}</th>
            <th scope="col">{t('job.exitCode')}</th>
          </tr>
        </thead>
        <tbody>
          {(a.tasks ?? []).map((j) => (
            <tr key={j.id} data-task={j.id}>
              <td className="num">{j.arrayIndex ?? '—'}</td>
              <td className="mono">
                <Link href={`/jobs/${j.id}`}>{j.id}</Link>
              </td>
              <td>
                <StateBadge state={j.state} />
              </td>
              <td>
                {j.attempt} / {j.maxAttempts}
              </td>
              <td>{formatTime(j.startedAt, lang)}</td>
              <td>{formatTime(j.finishedAt, lang)}</td>
              <td>{j.exitCode ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CancelArray({ array: a, open, onDone }: { array: JobArrayView; open: number; onDone: () => void }) {
  const { t } = useI18n();
  const { client } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const cancel = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await client.cancelArray(a.id);
      setResult(t('array.cancelled', { cancelled: r.cancelled ?? 0, requested: r.cancelRequested ?? 0 }));
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  if (open === 0 && result === null) return null;
  return (
    <div className="actions">
      {open === 0 ? null : (
        <ConfirmAction
          label={t('array.cancel')}
          confirmLabel={t('array.cancelConfirm')}
          abortLabel={t('job.cancelAbort')}
          testId="cancel-array"
          busy={busy}
          onConfirm={cancel}
        />
      )}
      {result ? (
        <p role="status" data-testid="array-cancelled">
          {result}
        </p>
      ) : null}
      {error ? <ErrorNote error={error} /> : null}
    </div>
  );
}
