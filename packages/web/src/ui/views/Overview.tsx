/**
 * The hall at a glance, from GET /api/v1/nodes and GET /api/v1/jobs (waiting and running jobs).
 * The utilisation chart is sampled by this page while it is open; a history API comes later.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { EChartsCoreOption } from 'echarts/core';
import { useI18n, useSession } from '../context.js';
import { usePoll, useNow } from '../poll.js';
import { errorMessage, loadJobs } from '../api.js';
import { Chart } from '../Chart.js';
import { Card, ErrorNote, Updated } from './common.js';
import { Link } from '../router.js';
import {
  ACCELERATOR_STATES,
  appendSample,
  countAccelerators,
  heatmap,
  RUNNING_STATES,
  summariseQueue,
  topConsumers,
  WAITING_STATES,
  type UtilisationSample,
} from '../../lib/overview.js';
import { formatDuration, formatPercent } from '../../lib/format.js';
import { bookedNow } from '../../lib/bookings.js';
import { useCapability } from './Unavailable.js';
import type { MessageKey } from '../../lib/i18n.js';

export const OVERVIEW_POLL_MS = 5000;
/** Waiting and running jobs loaded for the overview (each kind); beyond it the page says so. */
const OVERVIEW_JOBS_MAX = 5000;

export const STATE_COLOURS: Readonly<Record<(typeof ACCELERATOR_STATES)[number], string>> = {
  idle: '#cfe8d5',
  busy: '#2f6fdd',
  draining: '#f0b429',
  down: '#c0392b',
};

export function Overview() {
  const { t, lang } = useI18n();
  const { client } = useSession();
  const now = useNow(5000);
  const [samples, setSamples] = useState<UtilisationSample[]>([]);
  const marked = useRef(false);

  // Two polls: the nodes answer fast and carry the accelerator figures, so they paint first; the
  // waiting/running job lists can be long (they are paged) and fill the queue figures when they come.
  const nodesPoll = usePoll(
    async () => ({ nodes: (await client.listNodes()).nodes, at: Date.now() }),
    OVERVIEW_POLL_MS,
    [client],
  );
  const jobsPoll = usePoll(
    async () => {
      const [waiting, running] = await Promise.all([
        loadJobs(client, { state: [...WAITING_STATES] }, OVERVIEW_JOBS_MAX),
        loadJobs(client, { state: [...RUNNING_STATES] }, OVERVIEW_JOBS_MAX),
      ]);
      return { waiting, running };
    },
    OVERVIEW_POLL_MS,
    [client],
  );
  const nodes = nodesPoll.data;
  const jobs = jobsPoll.data;

  const counts = useMemo(() => (nodes ? countAccelerators(nodes.nodes) : null), [nodes]);
  const queuedNow = useRef<number | null>(null);
  queuedNow.current = jobs ? jobs.waiting.jobs.length : null;
  useEffect(() => {
    if (!nodes || !counts || queuedNow.current === null) return;
    const queued = queuedNow.current;
    setSamples((s) => appendSample(s, { atMs: nodes.at, busy: counts.busy, total: counts.total, queued }));
  }, [nodes, counts, jobs !== null]);
  useEffect(() => {
    // The overview's "meaningful paint": the first frame with the accelerator figures (read by the bench);
    // `suanli:overview-queue-ready` when the queue figures follow.
    if (nodes && !marked.current) {
      marked.current = true;
      requestAnimationFrame(() => performance.mark('suanli:overview-ready'));
    }
  }, [nodes]);
  useEffect(() => {
    if (jobs && performance.getEntriesByName('suanli:overview-queue-ready').length === 0)
      requestAnimationFrame(() => performance.mark('suanli:overview-queue-ready'));
  }, [jobs]);

  const queue = useMemo(() => (jobs ? summariseQueue(jobs.waiting.jobs, now) : null), [jobs, now]);
  const top = useMemo(() => (jobs ? topConsumers(jobs.running.jobs, 8) : []), [jobs]);
  const heat = useMemo(() => (nodes ? heatmap(nodes.nodes) : null), [nodes]);
  const error = nodesPoll.error ?? jobsPoll.error;
  const q = (f: (x: NonNullable<typeof queue>) => string | number) => (queue ? f(queue) : '…');

  const stateLabel = (s: (typeof ACCELERATOR_STATES)[number]) => t(`overview.${s}` as MessageKey);

  const lineOption: EChartsCoreOption = useMemo(
    () => ({
      animation: false,
      grid: { left: 48, right: 48, top: 36, bottom: 28 },
      legend: { top: 0, data: [t('overview.busy'), t('overview.total'), t('overview.queueLength')] },
      tooltip: { trigger: 'axis' },
      // A sliding window: at least the last 5 minutes, so the first samples do not fill the width.
      xAxis: {
        type: 'time',
        min: samples.length
          ? Math.min(samples[0]?.atMs ?? 0, (samples[samples.length - 1]?.atMs ?? 0) - 5 * 60_000)
          : undefined,
        max: samples[samples.length - 1]?.atMs,
      },
      yAxis: [
        { type: 'value', name: t('overview.accelerators'), minInterval: 1, min: 0 },
        {
          type: 'value',
          name: t('overview.queueLength'),
          minInterval: 1,
          min: 0,
          splitLine: { show: false },
        },
      ],
      series: [
        {
          name: t('overview.busy'),
          type: 'line',
          showSymbol: samples.length < 3,
          areaStyle: { opacity: 0.15 },
          color: STATE_COLOURS.busy,
          data: samples.map((s) => [s.atMs, s.busy]),
        },
        {
          name: t('overview.total'),
          type: 'line',
          showSymbol: samples.length < 3,
          lineStyle: { type: 'dashed' },
          color: '#7f8c8d',
          data: samples.map((s) => [s.atMs, s.total]),
        },
        {
          name: t('overview.queueLength'),
          type: 'line',
          showSymbol: samples.length < 3,
          yAxisIndex: 1,
          color: '#8e44ad',
          data: samples.map((s) => [s.atMs, s.queued]),
        },
      ],
    }),
    [samples, t],
  );

  const heatOption: EChartsCoreOption | null = useMemo(() => {
    if (!heat) return null;
    return {
      animation: false,
      grid: { left: 110, right: 16, top: 8, bottom: 56 },
      tooltip: {
        formatter: (p: { data: [number, number, number, string, string] }) => {
          const [, row, st, id, job] = p.data;
          const s = ACCELERATOR_STATES[st] ?? 'idle';
          return `${heat.nodes[row] ?? ''} · ${id}<br/>${stateLabel(s)}${job ? ` · ${job}` : ''}`;
        },
      },
      xAxis: {
        type: 'category',
        data: Array.from({ length: heat.width }, (_, i) => `#${i}`),
        splitArea: { show: true },
      },
      yAxis: { type: 'category', data: heat.nodes, inverse: true },
      visualMap: {
        type: 'piecewise',
        dimension: 2,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        pieces: ACCELERATOR_STATES.map((s, i) => ({
          value: i,
          label: stateLabel(s),
          color: STATE_COLOURS[s],
        })),
      },
      series: [
        {
          type: 'heatmap',
          data: heat.cells.map((c) => [...c]),
          itemStyle: { borderColor: '#fff', borderWidth: 2 },
          progressive: 0,
        },
      ],
    };
  }, [heat, lang]);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">{t('overview.title')}</h1>
      <Updated at={nodesPoll.updatedAt} liveSeconds={OVERVIEW_POLL_MS / 1000} />
      {error ? <ErrorNote error={errorMessage(error)} /> : null}
      {!nodes || !counts ? (
        <p className="muted" role="status">
          {t('common.loading')}
        </p>
      ) : (
        <>
          <div className="kpis" data-testid="overview-kpis">
            <Kpi label={t('overview.busy')} value={counts.busy} className="busy" testId="kpi-busy" />
            <Kpi label={t('overview.idle')} value={counts.idle} className="idle" testId="kpi-idle" />
            <Kpi
              label={t('overview.draining')}
              value={counts.draining}
              className="draining"
              testId="kpi-draining"
            />
            <Kpi label={t('overview.down')} value={counts.down} className="down" testId="kpi-down" />
            <Kpi
              label={t('overview.utilisation')}
              value={formatPercent(counts.busy, counts.total)}
              sub={`${counts.busy} / ${counts.total}`}
              testId="kpi-utilisation"
            />
            <Kpi label={t('overview.queueLength')} value={q((x) => x.length)} testId="kpi-queue" />
            <Kpi
              label={t('overview.medianWait')}
              value={q((x) => (x.medianWaitMs === null ? '—' : formatDuration(x.medianWaitMs)))}
              testId="kpi-median-wait"
            />
            <Kpi
              label={t('overview.maxWait')}
              value={q((x) => (x.maxWaitMs === null ? '—' : formatDuration(x.maxWaitMs)))}
              testId="kpi-max-wait"
            />
            <Kpi
              label={t('overview.running')}
              value={jobs ? jobs.running.jobs.length : '…'}
              testId="kpi-running"
            />
          </div>
          <BookedNow />
          {jobs && (jobs.waiting.truncated || jobs.running.truncated) ? (
            <p className="muted small">{t('overview.truncated', { count: OVERVIEW_JOBS_MAX })}</p>
          ) : null}
          <div className="grid2">
            <Card title={t('overview.chartTitle')} id="util-title">
              <Chart
                option={lineOption}
                height={240}
                label={`${t('overview.chartTitle')}: ${t('overview.busy')} ${counts.busy} / ${counts.total}, ${t('overview.queueLength')} ${q((x) => x.length)}`}
                testId="util-chart"
              />
              <p className="muted small" data-testid="sampling-note">
                {t('overview.sampling', { seconds: OVERVIEW_POLL_MS / 1000, count: samples.length })}
              </p>
            </Card>
            <Card title={t('overview.heatmapTitle')} id="heat-title">
              {heat && heat.nodes.length > 0 && heatOption ? (
                <>
                  <Chart
                    option={heatOption}
                    height={Math.max(140, 80 + heat.nodes.length * 32)}
                    label={`${t('overview.heatmapTitle')}: ${ACCELERATOR_STATES.map((s) => `${stateLabel(s)} ${counts[s]}`).join(', ')}`}
                    testId="heatmap"
                  />
                  <p className="muted small">{t('overview.heatmapHint')}</p>
                </>
              ) : (
                <p className="muted">{t('overview.noNodes')}</p>
              )}
            </Card>
            <Card title={t('overview.verdicts')} id="verdict-title">
              {!queue ? (
                <p className="muted">{t('common.loading')}</p>
              ) : queue.length === 0 ? (
                <p className="muted">{t('common.none')}</p>
              ) : (
                <ul className="plain">
                  {[...queue.byVerdict.entries()].map(([v, n]) => (
                    <li key={v}>
                      <span className="mono">{v}</span> — {t(`verdict.${v}` as MessageKey)}:{' '}
                      <strong>{n}</strong>
                    </li>
                  ))}
                  <li>
                    {t('overview.requested')}: <strong>{queue.acceleratorsRequested}</strong>
                  </li>
                </ul>
              )}
            </Card>
            <Card title={t('overview.topTitle')} id="top-title">
              {!jobs ? (
                <p className="muted">{t('common.loading')}</p>
              ) : top.length === 0 ? (
                <p className="muted">{t('overview.noRunning')}</p>
              ) : (
                <table className="table compact" aria-labelledby="top-title">
                  <thead>
                    <tr>
                      <th scope="col">{t('jobs.col.project')}</th>
                      <th scope="col" className="num">
                        {t('overview.accelerators')}
                      </th>
                      <th scope="col" className="num">
                        {t('overview.running')}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {top.map((r) => (
                      <tr key={r.key}>
                        <td>
                          <Link href={`/jobs?project=${encodeURIComponent(r.project)}&state=active`}>
                            {r.key}
                          </Link>
                        </td>
                        <td className="num">
                          <span
                            className="bar"
                            style={{
                              width: `${counts.total ? Math.round((r.accelerators / counts.total) * 100) : 0}%`,
                            }}
                            aria-hidden="true"
                          />
                          {r.accelerators}
                        </td>
                        <td className="num">{r.jobs}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Card>
          </div>
        </>
      )}
    </section>
  );
}

function Kpi(props: {
  label: string;
  value: number | string;
  sub?: string;
  className?: string;
  testId?: string;
}) {
  return (
    <div className={`kpi ${props.className ?? ''}`} data-testid={props.testId}>
      <div className="kpi-value">{props.value}</div>
      <div className="kpi-label">{props.label}</div>
      {props.sub ? <div className="kpi-sub muted small">{props.sub}</div> : null}
    </div>
  );
}

/** Accelerators booked right now (GET /bookings, read every 30 s), when the server has bookings. */
function BookedNow() {
  const { t } = useI18n();
  const present = useCapability('bookings');
  if (present === null) return null;
  if (!present) return <p className="muted small">{t('overview.booked')}</p>;
  return <BookedNowFigures />;
}

function BookedNowFigures() {
  const { t } = useI18n();
  const { client, me } = useSession();
  const poll = usePoll(() => client.listBookings(), 30_000, [client]);
  const now = useNow(30_000);
  if (!poll.data) return null;
  const b = bookedNow(poll.data.bookings, now);
  const platform = me.role === 'admin' || me.role === 'operator';
  return (
    <p className="muted small" data-testid="overview-booked">
      {t(platform ? 'overview.bookedNowAll' : 'overview.bookedNowTenant', {
        booked: b.booked,
        bookings: b.bookings,
        maintenance: b.maintenance,
        tenant: me.tenant,
      })}{' '}
      <Link href="/bookings">{t('overview.bookingsLink')}</Link>
    </p>
  );
}
