/** An ECharts chart that loads ECharts on first use (so the first paint does not wait for it). */
import { useEffect, useRef } from 'react';
import type { EChartsCoreOption, ECharts } from 'echarts/core';
import type { init as echartsInit } from './echarts-setup.js';

type Init = typeof echartsInit;
let initPromise: Promise<Init> | null = null;
const loadInit = () => (initPromise ??= import('./echarts-setup.js').then((m) => m.init));

export function Chart(props: { option: EChartsCoreOption; height: number; label: string; testId?: string }) {
  const el = useRef<HTMLDivElement | null>(null);
  const chart = useRef<ECharts | null>(null);
  const latest = useRef(props.option);
  latest.current = props.option;

  useEffect(() => {
    let disposed = false;
    let ro: ResizeObserver | null = null;
    void loadInit().then((init) => {
      if (disposed || !el.current) return;
      chart.current = init(el.current, undefined, { renderer: 'canvas' });
      chart.current.setOption(latest.current);
      // The first chart on screen (read by scripts/bench-console.mjs).
      if (performance.getEntriesByName('suanli:chart-ready').length === 0)
        requestAnimationFrame(() => performance.mark('suanli:chart-ready'));
      ro = new ResizeObserver(() => chart.current?.resize());
      ro.observe(el.current);
    });
    return () => {
      disposed = true;
      ro?.disconnect();
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(props.option, { notMerge: true });
  }, [props.option]);

  useEffect(() => {
    chart.current?.resize();
  }, [props.height]);

  return (
    <div
      ref={el}
      className="chart"
      style={{ height: props.height }}
      role="img"
      aria-label={props.label}
      data-testid={props.testId}
    />
  );
}
