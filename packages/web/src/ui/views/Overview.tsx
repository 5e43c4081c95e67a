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

  const poll = usePoll(
    async () => {
      const [nodes, waiting, running] = await Promise.all([
        client.listNodes(),
        loadJobs(client, { state: [...WAITING_STATES] }, OVERVIEW_JOBS_MAX),
        loadJobs(client, { state: [...RUNNING_STATES] }, OVERVIEW_JOBS_MAX),
      ]);
      return { nodes: nodes.nodes, waiting, running, at: Date.now() };
    },
    OVERVIEW_POLL_MS,
    [client],
  );
  const data = poll.data;

  const counts = useMemo(() => (data ? countAccelerators(data.nodes) : null), [data]);
  useEffect(() => {
    if (!data || !counts) return;
    setSamples((s) => appendSample(s, { atMs: data.at, busy: counts.busy, total: counts.total, queued: data.waiting.jobs.length }));
  }, [data, counts]);
  useEffect(() => {
    // The overview's "meaningful paint": the first time real figures are on screen (read by the bench).
    if (data && !marked.current) {
      marked.current = true;
      requestAnimationFrame(() => performance.mark('suanli:overview-ready'));
    }
  }, [data]);

  const queue = useMemo(() => (data ? summariseQueue(data.waiting.jobs, now) : null), [data, now]);
  const top = useMemo(() => (data ? topConsumers(data.running.jobs, 8) : []), [data]);
  const heat = useMemo(() => (data ? heatmap(data.nodes) : null), [data]);

  const stateLabel = (s: (typeof ACCELERATOR_STATES)[number]) => t(`overview.${s}` as MessageKey);

  const lineOption: EChartsCoreOption = useMemo(
    () => ({
      animation: false,
      grid: { left: 48, right: 48, top: 36, bottom: 28 },
      legend: { top: 0, data: [t('overview.busy'), t('overview.total'), t('overview.queueLength')] },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time' },
      yAxis: [
        { type: 'value', name: t('overview.accelerators'), minInterval: 1, min: 0 },
        { type: 'value', name: t('overview.queueLength'), minInterval: 1, min: 0, splitLine: { show: false } },
      ],
      series: [
        { name: t('overview.busy'), type: 'line', showSymbol: false, areaStyle: { opacity: 0.15 }, color: STATE_COLOURS.busy, data: samples.map((s) => [s.atMs, s.busy]) },
        { name: t('overview.total'), type: 'line', showSymbol: false, lineStyle: { type: 'dashed' }, color: '#7f8c8d', data: samples.map((s) => [s.atMs, s.total]) },
        { name: t('overview.queueLength'), type: 'line', showSymbol: false, yAxisIndex: 1, color: '#8e44ad', data: samples.map((s) => [s.atMs, s.queued]) },
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
      xAxis: { type: 'category', data: Array.from({ length: heat.width }, (_, i) => `#${i}`), splitArea: { show: true } },
      yAxis: { type: 'category', data: heat.nodes, inverse: true },
      visualMap: {
        type: 'piecewise',
        dimension: 2,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        pieces: ACCELERATOR_STATES.map((s, i) => ({ value: i, label: stateLabel(s), color: STATE_COLOURS[s] })),
      },
      series: [{ type: 'heatmap', data: heat.cells.map((c) => [...c]), itemStyle: { borderColor: '#fff', borderWidth: 2 }, progressive: 0 }],
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [heat, lang]);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">{t('overview.title')}</h1>
      <Updated at={poll.updatedAt} liveSeconds={OVERVIEW_POLL_MS / 1000} />
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!data || !counts || !queue ? (
        <p className="muted" role="status">
          {t('common.loading')}
        </p>
      ) : (
        <>
          <div className="kpis" data-testid="overview-kpis">
            <Kpi label={t('overview.busy')} value={counts.busy} className="busy" testId="kpi-busy" />
            <Kpi label={t('overview.idle')} value={counts.idle} className="idle" testId="kpi-idle" />
            <Kpi label={t('overview.draining')} value={counts.draining} className="draining" testId="kpi-draining" />
            <Kpi label={t('overview.down')} value={counts.down} className="down" testId="kpi-down" />
            <Kpi label={t('overview.utilisation')} value={formatPercent(counts.busy, counts.total)} sub={`${counts.busy} / ${counts.total}`} testId="kpi-utilisation" />
            <Kpi label={t('overview.queueLength')} value={queue.length} testId="kpi-queue" />
            <Kpi label={t('overview.medianWait')} value={queue.medianWaitMs === null ? '—' : formatDuration(queue.medianWaitMs)} testId="kpi-median-wait" />
            <Kpi label={t('overview.maxWait')} value={queue.maxWaitMs === null ? '—' : formatDuration(queue.maxWaitMs)} testId="kpi-max-wait" />
            <Kpi label={t('overview.running')} value={data.running.jobs.length} testId="kpi-running" />
          </div>
          <p className="muted small">{t('overview.booked')}</p>
          {data.waiting.truncated || data.running.truncated ? <p className="muted small">{t('overview.truncated', { count: OVERVIEW_JOBS_MAX })}</p> : null}
          <div className="grid2">
            <Card title={t('overview.chartTitle')} id="util-title">
              <Chart option={lineOption} height={240} label={`${t('overview.chartTitle')}: ${t('overview.busy')} ${counts.busy} / ${counts.total}, ${t('overview.queueLength')} ${queue.length}`} testId="util-chart" />
              <p className="muted small" data-testid="sampling-note">
                {t('overview.sampling', { seconds: OVERVIEW_POLL_MS / 1000, count: samples.length })}
              </p>
            </Card>
            <Card title={t('overview.heatmapTitle')} id="heat-title">
              {heat && heat.nodes.length > 0 && heatOption ? (
                <>
                  <Chart option={heatOption} height={Math.max(140, 80 + heat.nodes.length * 32)} label={`${t('overview.heatmapTitle')}: ${ACCELERATOR_STATES.map((s) => `${stateLabel(s)} ${counts[s]}`).join(', ')}`} testId="heatmap" />
                  <p className="muted small">{t('overview.heatmapHint')}</p>
                </>
              ) : (
                <p className="muted">{t('overview.noNodes')}</p>
              )}
            </Card>
            <Card title={t('overview.verdicts')} id="verdict-title">
              {queue.length === 0 ? (
                <p className="muted">{t('common.none')}</p>
              ) : (
                <ul className="plain">
                  {[...queue.byVerdict.entries()].map(([v, n]) => (
                    <li key={v}>
                      <span className="mono">{v}</span> — {t(`verdict.${v}` as MessageKey)}: <strong>{n}</strong>
                    </li>
                  ))}
                  <li>
                    {t('overview.requested')}: <strong>{queue.acceleratorsRequested}</strong>
                  </li>
                </ul>
              )}
            </Card>
            <Card title={t('overview.topTitle')} id="top-title">
              {top.length === 0 ? (
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
                          <Link href={`/jobs?project=${encodeURIComponent(r.project)}&state=active`}>{r.key}</Link>
                        </td>
                        <td className="num">
                          <span className="bar" style={{ width: `${counts.total ? Math.round((r.accelerators / counts.total) * 100) : 0}%` }} aria-hidden="true" />
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

function Kpi(props: { label: string; value: number | string; sub?: string; className?: string; testId?: string }) {
  return (
    <div className={`kpi ${props.className ?? ''}`} data-testid={props.testId}>
      <div className="kpi-value">{props.value}</div>
      <div className="kpi-label">{props.label}</div>
      {props.sub ? <div className="kpi-sub muted small">{props.sub}</div> : null}
    </div>
  );
}
