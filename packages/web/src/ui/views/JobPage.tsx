/** One job: facts, why it waits, its state timeline, its logs (followed by offset polling), cancel. */
import { useEffect, useRef, useState } from 'react';
import {
  ApiClientError,
  describeTransition,
  describeVerdictDetail,
  type JobView,
  type SuanliClient,
} from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { usePoll, useNow } from '../poll.js';
import { errorMessage } from '../api.js';
import { Link, navigate } from '../router.js';
import { ConfirmAction, ErrorNote, StateBadge, Updated } from './common.js';
import { isActive } from '../../lib/overview.js';
import { formatBytes, formatCpuTime, formatDuration, formatRelative, formatTime } from '../../lib/format.js';
import { can } from '../../lib/roles.js';
import type { MessageKey } from '../../lib/i18n.js';

const JOB_POLL_MS = 2000;
const LOG_POLL_MS = 1000;
/** The log view keeps at most this many characters (the tail); older output is dropped from view. */
export const LOG_VIEW_MAX_CHARS = 1_000_000;

export function JobPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const { client, me } = useSession();
  const now = useNow(1000);
  const [done, setDone] = useState(false);
  const poll = usePoll(() => client.getJob(id), done ? 0 : JOB_POLL_MS, [client, id, done]);
  const job = poll.data;
  useEffect(() => {
    if (job && !isActive(job.state) && !job.cancelRequested) setDone(true);
  }, [job]);

  // An array's id opened as a job's (a link or a typed URL): its page is the array's.
  const notFound = poll.error instanceof ApiClientError && poll.error.code === 'JOB_NOT_FOUND';
  useEffect(() => {
    if (!notFound || id.includes('_')) return;
    let stop = false;
    client
      .getArray(id, { limit: 1 })
      .then(() => !stop && navigate(`/job-arrays/${id}`, true))
      .catch(() => undefined);
    return () => {
      stop = true;
    };
  }, [notFound, client, id]);

  if (notFound)
    return (
      <section>
        <h1>{t('job.title', { id })}</h1>
        <ErrorNote error={t('job.notFound', { id })} />
        <Link href="/jobs">{t('job.back')}</Link>
      </section>
    );

  return (
    <section aria-labelledby="job-title" className="job-page">
      <p>
        <Link href="/jobs">← {t('job.back')}</Link>
      </p>
      <h1 id="job-title">
        {t('job.title', { id })} {job ? <StateBadge state={job.state} /> : null}
      </h1>
      {done ? null : <Updated at={poll.updatedAt} liveSeconds={JOB_POLL_MS / 1000} />}
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!job ? (
        <p className="muted" role="status">
          {t('common.loading')}
        </p>
      ) : (
        <>
          {job.arrayId !== undefined ? (
            <p data-testid="array-task-of">
              <Link href={`/job-arrays/${job.arrayId}`}>
                {t('job.arrayTask', { index: job.arrayIndex ?? '?', array: job.arrayId })}
              </Link>
            </p>
          ) : null}
          {can(me.role, 'job.cancel') && isActive(job.state) ? (
            <CancelButton client={client} job={job} onDone={poll.refresh} />
          ) : null}
          {job.pending ? (
            <div className="card pending" role="status" data-testid="pending">
              <h2>{t('job.pending')}</h2>
              <p>
                <span className="mono">{job.pending.verdict}</span> —{' '}
                {t(`verdict.${job.pending.verdict}` as MessageKey)}
              </p>
              {job.pending.detail ? (
                <p data-testid="pending-detail">{describeVerdictDetail(job.pending.detail, { lang, now })}</p>
              ) : null}
              <p className={lang === 'en' ? undefined : 'muted small'} data-testid="pending-reason">
                {lang === 'en' ? null : `${t('job.schedulerReason')}: `}
                {job.pending.reason}
              </p>
              <p>
                {t('job.estimatedStart')}:{' '}
                {job.pending.estimatedStart
                  ? `${formatTime(job.pending.estimatedStart, lang)} (${formatRelative(job.pending.estimatedStart, now, lang)})`
                  : t('job.noEstimate')}
              </p>
            </div>
          ) : null}
          <div className="grid2">
            <section className="card" aria-labelledby="facts-title">
              <h2 id="facts-title">{job.name}</h2>
              <dl className="facts">
                <dt>{t('job.state')}</dt>
                <dd data-testid="job-state">
                  <StateBadge state={job.state} />
                  {job.cancelRequested && isActive(job.state) ? ` · ${t('job.cancelRequested')}` : ''}
                </dd>
                <dt>{t('job.project')}</dt>
                <dd>
                  {job.tenant}/{job.project}
                </dd>
                <dt>{t('job.submittedBy')}</dt>
                <dd>{job.submittedBy}</dd>
                <dt>{t('job.command')}</dt>
                <dd className="mono wrap">
                  {job.command.map((a) => (/^[\w./:=@%+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}
                </dd>
                <dt>{t('job.resources')}</dt>
                <dd>
                  {t('job.resourcesValue', {
                    replicas: job.replicas,
                    accelerators: job.acceleratorsPerReplica,
                    types: job.acceleratorTypes.join(' | '),
                  })}
                </dd>
                <dt>{t('job.timeLimit')}</dt>
                <dd>{job.timeLimitSeconds === null ? '—' : formatDuration(job.timeLimitSeconds * 1000)}</dd>
                <dt>{t('job.attempt')}</dt>
                <dd>
                  {job.attempt} / {job.maxAttempts}
                </dd>
                <dt>{t('job.exitCode')}</dt>
                <dd>{job.exitCode ?? '—'}</dd>
                <dt>{t('job.submittedAt')}</dt>
                <dd>{formatTime(job.submittedAt, lang)}</dd>
                <dt>{t('job.startedAt')}</dt>
                <dd>{formatTime(job.startedAt, lang)}</dd>
                <dt>{t('job.finishedAt')}</dt>
                <dd>{formatTime(job.finishedAt, lang)}</dd>
                <dt>{t('job.placement')}</dt>
                <dd className="mono">
                  {job.placement?.length
                    ? job.placement.map((r) => `${r.node}: ${r.acceleratorIds.join(', ') || '—'}`).join('; ')
                    : '—'}
                </dd>
              </dl>
            </section>
            <section className="card" aria-labelledby="timeline-title">
              <h2 id="timeline-title">{t('job.timeline')}</h2>
              {job.transitions?.length ? (
                <ol className="timeline" data-testid="timeline">
                  {job.transitions.map((tr, i) => (
                    <li key={i}>
                      <span className="when small">{formatTime(tr.at, lang)}</span>
                      <span>
                        {tr.from ? <StateBadge state={tr.from} /> : '∅'} → <StateBadge state={tr.to} />
                        {tr.attempt > 1 ? <span className="small muted"> (#{tr.attempt})</span> : null}
                      </span>
                      <span
                        className="small"
                        data-testid="transition-reason"
                        title={lang === 'en' ? undefined : tr.reason}
                      >
                        {tr.detail ? describeTransition(tr.detail, { lang }) : tr.reason}
                      </span>
                    </li>
                  ))}
                </ol>
              ) : (
                <p className="muted">{t('job.noTransitions')}</p>
              )}
            </section>
          </div>
          <Attempts job={job} />
          <Logs client={client} job={job} />
        </>
      )}
    </section>
  );
}

/** Each attempt with what it used (peak memory, CPU time: measured by a confining executor). */
function Attempts({ job }: { job: JobView }) {
  const { t, lang } = useI18n();
  const attempts = job.attempts ?? [];
  const unmeasured = <span className="muted">{t('job.attempts.unmeasured')}</span>;
  return (
    <section className="card" aria-labelledby="attempts-title">
      <h2 id="attempts-title">{t('job.attempts')}</h2>
      {attempts.length === 0 ? (
        <p className="muted">{t('job.attempts.none')}</p>
      ) : (
        <div className="table-scroll">
          <table
            className="table compact"
            aria-label={t('job.attempts.table', { id: job.id })}
            data-testid="attempts"
          >
            <thead>
              <tr>
                <th scope="col">{t('job.attempts.number')}</th>
                <th scope="col">{t('job.attempts.started')}</th>
                <th scope="col">{t('job.attempts.ended')}</th>
                <th scope="col">{t('job.attempts.endState')}</th>
                <th scope="col">{t('job.attempts.devices')}</th>
                <th scope="col">{t('job.attempts.peakMemory')}</th>
                <th scope="col">{t('job.attempts.cpuTime')}</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={a.attempt} data-attempt={a.attempt}>
                  <td>{a.attempt}</td>
                  <td>{formatTime(a.startedAt, lang)}</td>
                  <td>{formatTime(a.finishedAt, lang)}</td>
                  <td>
                    {a.endState ? (
                      <StateBadge state={a.endState} />
                    ) : (
                      <span className="muted">{t('job.attempts.running')}</span>
                    )}
                  </td>
                  <td>
                    {a.accelerators === 0
                      ? '—'
                      : `${a.accelerators}${a.acceleratorType ? ` × ${a.acceleratorType}` : ''}`}
                  </td>
                  <td data-testid="peak-memory">
                    {a.peakMemoryBytes === null ? unmeasured : formatBytes(a.peakMemoryBytes)}
                  </td>
                  <td data-testid="cpu-time">
                    {a.cpuTimeMs === null ? unmeasured : formatCpuTime(a.cpuTimeMs)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function CancelButton({ client, job, onDone }: { client: SuanliClient; job: JobView; onDone: () => void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (job.cancelRequested) return <p role="status">{t('job.cancelRequested')}</p>;
  const cancel = async () => {
    setBusy(true);
    setError(null);
    try {
      await client.cancelJob(job.id);
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="actions">
      <ConfirmAction
        label={t('job.cancel')}
        confirmLabel={t('job.cancelConfirm')}
        abortLabel={t('job.cancelAbort')}
        testId="cancel"
        busy={busy}
        onConfirm={cancel}
      />
      {error ? <ErrorNote error={error} /> : null}
    </div>
  );
}

interface LogState {
  text: string;
  offset: number;
  /** The merged log of a gang: per-replica offsets (`o0,o1,…`) as the server last returned them. */
  cursor: string;
  trimmed: boolean;
  finished: boolean;
  notStarted: boolean;
  error: string | null;
}
const EMPTY_LOG: LogState = {
  text: '',
  offset: 0,
  cursor: '',
  trimmed: false,
  finished: false,
  notStarted: false,
  error: null,
};

function Logs({ client, job }: { client: SuanliClient; job: JobView }) {
  const { t } = useI18n();
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const [attempt, setAttempt] = useState<number>(job.attempt);
  // A gang's log: every replica's lines prefixed `[rank]` ('all'), or one replica's own.
  const [replica, setReplica] = useState<'all' | number>('all');
  const gang = job.replicas > 1;
  const [log, setLog] = useState<LogState>(EMPTY_LOG);
  const pre = useRef<HTMLPreElement | null>(null);
  const follow = useRef(true);
  const jobState = useRef(job.state);
  jobState.current = job.state;

  // Follow the newest attempt unless the user picked an older one.
  const latest = useRef(job.attempt);
  useEffect(() => {
    if (job.attempt !== latest.current) {
      if (attempt === latest.current) setAttempt(job.attempt);
      latest.current = job.attempt;
    }
  }, [job.attempt, attempt]);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let state: LogState = EMPTY_LOG;
    let probed = false;
    const merged = gang && replica === 'all';
    const which = gang && replica !== 'all' ? { replica } : {};
    setLog(state);
    const tick = async () => {
      let again = LOG_POLL_MS;
      try {
        if (attempt < 1) {
          state = { ...state, notStarted: true };
        } else {
          if (!probed) {
            // A long log: start at its tail (the view keeps only the last LOG_VIEW_MAX_CHARS anyway).
            const probe = await client.readLogs(job.id, { stream, attempt, ...which, offset: 0, limit: 1 });
            if (stop) return;
            probed = true;
            if (probe.size > LOG_VIEW_MAX_CHARS && !merged)
              state = { ...state, offset: probe.size - LOG_VIEW_MAX_CHARS, trimmed: true };
            if (probe.size > LOG_VIEW_MAX_CHARS && merged) {
              // Each replica's tail, sharing the view between them.
              const share = Math.floor(LOG_VIEW_MAX_CHARS / job.replicas);
              const sizes = await Promise.all(
                Array.from({ length: job.replicas }, (_, r) =>
                  client.readLogs(job.id, { stream, attempt, replica: r, limit: 1 }).then(
                    (x) => x.size,
                    () => 0,
                  ),
                ),
              );
              if (stop) return;
              state = { ...state, cursor: sizes.map((n) => Math.max(0, n - share)).join(','), trimmed: true };
            }
          }
          const c = await client.readLogs(
            job.id,
            merged
              ? { stream, attempt, ...(state.cursor ? { cursor: state.cursor } : {}) }
              : { stream, attempt, ...which, offset: state.offset },
          );
          if (stop) return;
          let text = state.text + c.data;
          let trimmed = state.trimmed;
          if (text.length > LOG_VIEW_MAX_CHARS) {
            text = text.slice(text.length - LOG_VIEW_MAX_CHARS);
            trimmed = true;
          }
          state = {
            text,
            offset: c.nextOffset,
            cursor: c.cursor ?? state.cursor,
            trimmed,
            finished: c.finished && c.nextOffset >= c.size,
            notStarted: false,
            error: null,
          };
          // More is already there (a gang's unfinished last line waits for its newline: not "more").
          if (c.nextOffset < c.size && c.data) again = 0;
        }
      } catch (err) {
        if (stop) return;
        if (err instanceof ApiClientError && err.code === 'LOG_NOT_FOUND')
          state = {
            ...state,
            notStarted: jobState.current === 'queued',
            finished: !isActive(jobState.current),
          };
        else state = { ...state, error: errorMessage(err) };
      }
      setLog(state);
      if (!stop && !state.finished) timer = setTimeout(() => void tick(), again);
    };
    void tick();
    return () => {
      stop = true;
      if (timer) clearTimeout(timer);
    };
  }, [client, job.id, stream, attempt, replica, gang]);

  // A job that was waiting starts: the log poll above restarts through `attempt`.
  useEffect(() => {
    if (follow.current && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [log.text]);

  return (
    <section className="card" aria-labelledby="logs-title">
      <div className="row-between">
        <h2 id="logs-title">{t('job.logs')}</h2>
        <div className="inline-controls">
          <label>
            {t('job.stream')}{' '}
            <select
              value={stream}
              onChange={(e) => setStream(e.target.value as 'stdout' | 'stderr')}
              data-testid="log-stream"
            >
              <option value="stdout">stdout</option>
              <option value="stderr">stderr</option>
            </select>
          </label>
          {gang ? (
            <label>
              {t('job.replica')}{' '}
              <select
                value={String(replica)}
                onChange={(e) => setReplica(e.target.value === 'all' ? 'all' : Number(e.target.value))}
                data-testid="log-replica"
              >
                <option value="all">{t('job.replicaAll', { count: job.replicas })}</option>
                {Array.from({ length: job.replicas }, (_, r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          {job.attempt > 1 ? (
            <label>
              {t('job.attempt')}{' '}
              <select value={attempt} onChange={(e) => setAttempt(Number(e.target.value))}>
                {Array.from({ length: job.attempt }, (_, i) => i + 1).map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
        </div>
      </div>
      {log.trimmed ? (
        <p className="muted small">{t('job.logsTrimmed', { size: `${LOG_VIEW_MAX_CHARS / 1_000_000} M` })}</p>
      ) : null}
      {log.error ? <ErrorNote error={log.error} /> : null}
      <pre
        ref={pre}
        className="log"
        role="log"
        aria-label={`${t('job.logs')} (${stream}${gang ? `, ${replica === 'all' ? t('job.replicaAll', { count: job.replicas }) : `${t('job.replica')} ${replica}`}` : ''})`}
        tabIndex={0}
        data-testid="log"
        onScroll={(e) => {
          const el = e.currentTarget;
          follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
        }}
      >
        {log.text || (log.notStarted || job.attempt === 0 ? t('job.logsNotStarted') : t('job.logsWaiting'))}
      </pre>
      <p className="muted small" data-testid="log-status">
        {log.finished ? t('job.logsFinished') : job.attempt > 0 ? t('job.logsFollowing') : ''}
      </p>
    </section>
  );
}
