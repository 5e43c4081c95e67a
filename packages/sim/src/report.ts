/** Report output: one JSON document (`--json`) or Markdown tables. */
import { GUARANTEE_WAIT_BOUND_S } from './metrics.js';
import type { SimReport } from './run.js';

export function reportJson(report: SimReport): string {
  const { runs: _runs, ...rest } = report;
  return JSON.stringify(rest, null, 2);
}

const h = (s: number): string => (Number.isFinite(s) ? (s / 3600).toFixed(2) : '–');
const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '–');

export function reportMarkdown(report: SimReport): string {
  const s = report.setup;
  const lines: string[] = [];
  lines.push(
    `Trace ${s.trace ?? '(given)'} (${s.format}), window ${s.window.from ?? 'start'} → ${s.window.to ?? 'end'}: ${s.jobs} jobs, ${s.tenants} tenants, ` +
      `${s.device_hours} device-hours; cluster ${s.nodes} nodes, ${s.accelerators} accelerators; offered load ${(s.offered_load * 100).toFixed(1)} %; ` +
      `restart cost ${s.model.restartCostSmallS} s (≤ ${s.model.largeJobAboveAccelerators} devices) / ${s.model.restartCostLargeS} s; ` +
      `time limit = duration × ${s.model.timeLimitFactor}; guarantees ${s.guarantees}.`,
    '',
    '| policy | mean JCT (h) | median JCT (h) | p99 JCT (h) | mean queue (h) | p99 queue (h) | mean slowdown | makespan (h) | utilisation (while jobs arrive) | preemptions/job | device-h lost | fairness (max/min slowdown) | tenants with guarantee violation (max h) | tenants whose guarantee was not honoured (longest wait inside it, min) | tenants below their guarantee over 15 min at once (longest, min) | sim time (s) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of report.results) {
    lines.push(
      `| ${r.policy} | ${h(r.mean_jct_s)} | ${h(r.median_jct_s)} | ${h(r.p99_jct_s)} | ${h(r.mean_queue_s)} | ${h(r.p99_queue_s)} | ${f(r.mean_slowdown)} | ${h(r.makespan_s)} | ` +
        `${(r.utilization * 100).toFixed(1)} % (${(r.utilization_arrivals * 100).toFixed(1)} %) | ${f(r.preemptions_per_job, 3)} | ${f(r.accelerator_hours_lost, 1)} | ${f(r.fairness_max_min_slowdown)} | ` +
        `${r.tenants_with_guarantee_violation} (${f(r.guarantee_violation_h_max, 1)}) | ${r.tenants_guarantee_not_honoured} (${f(r.max_guarantee_wait_s / 60, 1)}) | ${r.tenants_guarantee_gap_over_bound} (${f(r.max_guarantee_gap_s / 60, 1)}) | ${f(r.sim_seconds)} |` +
        (r.unfinished_jobs > 0 ? ` (${r.unfinished_jobs} jobs never fit)` : ''),
    );
  }
  lines.push(
    '',
    `Per tenant (mean queueing delay, h / mean slowdown / hours a job within the guarantee waited / jobs that waited over ${GUARANTEE_WAIT_BOUND_S / 60} min inside it / longest stretch below the guarantee with a job that fit waiting, min):`,
    '',
  );
  const tenants = report.results[0]?.per_tenant.map((t) => t.tenant) ?? [];
  lines.push(`| tenant | jobs | guarantee | ${report.results.map((r) => r.policy).join(' | ')} |`);
  lines.push(`| --- | ---: | ---: | ${report.results.map(() => '---').join(' | ')} |`);
  for (const t of tenants) {
    const first = report.results[0]!.per_tenant.find((x) => x.tenant === t)!;
    const cells = report.results.map((r) => {
      const x = r.per_tenant.find((y) => y.tenant === t);
      return x === undefined
        ? '–'
        : `${h(x.mean_queue_s)} / ${f(x.mean_slowdown)} / ${f(x.guarantee_violation_h ?? NaN, 1)} / ${x.guarantee_waits_over_bound ?? '–'} / ${f((x.max_guarantee_gap_s ?? NaN) / 60, 1)}`;
    });
    lines.push(`| ${t} | ${first.jobs} | ${first.guarantee_accelerators ?? '–'} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
