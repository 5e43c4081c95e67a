/**
 * SVG plots, drawn by hand (no dependency): JCT CDFs (log-scaled hours), utilisation over time,
 * and mean queueing delay per tenant. Returns (file name, SVG text) pairs.
 */
import { jctSeconds } from './metrics.js';
import type { SimReport } from './run.js';

const W = 820;
const H = 420;
const M = { l: 70, r: 170, t: 40, b: 50 };
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function frame(title: string, xLabel: string, yLabel: string, body: string[], legend: string[]): string {
  const leg = legend
    .map(
      (name, i) =>
        `<rect x="${W - M.r + 15}" y="${M.t + i * 20}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${W - M.r + 32}" y="${M.t + i * 20 + 11}" font-size="12">${esc(name)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${W / 2 - 60}" y="22" font-size="15" text-anchor="middle">${esc(title)}</text>` +
    `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="black"/>` +
    `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="black"/>` +
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 12}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text x="16" y="${(M.t + H - M.b) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${(M.t + H - M.b) / 2})">${esc(yLabel)}</text>` +
    body.join('') +
    leg +
    `</svg>\n`
  );
}

const px = (fx: number): number => M.l + fx * (W - M.l - M.r);
const py = (fy: number): number => H - M.b - fy * (H - M.t - M.b);

function jctCdf(report: SimReport): string {
  const series = report.runs.map((r) => jctSeconds(r).map((s) => Math.max(s / 3600, 1e-3)));
  const lo = -3;
  const hi = Math.ceil(Math.log10(Math.max(1e-3, ...series.map((s) => s[s.length - 1] ?? 1e-3))));
  const body: string[] = [];
  for (let e = lo; e <= hi; e++) {
    const x = px((e - lo) / (hi - lo));
    body.push(
      `<line x1="${x}" y1="${M.t}" x2="${x}" y2="${H - M.b}" stroke="#ddd"/><text x="${x}" y="${H - M.b + 16}" font-size="11" text-anchor="middle">10^${e}</text>`,
    );
  }
  for (let q = 0; q <= 4; q++)
    body.push(`<text x="${M.l - 8}" y="${py(q / 4) + 4}" font-size="11" text-anchor="end">${q * 25}%</text>`);
  series.forEach((s, i) => {
    const pts: string[] = [];
    const step = Math.max(1, Math.floor(s.length / 400));
    for (let k = 0; k < s.length; k += step)
      pts.push(`${px((Math.log10(s[k]!) - lo) / (hi - lo)).toFixed(1)},${py((k + 1) / s.length).toFixed(1)}`);
    if (s.length > 0)
      pts.push(`${px((Math.log10(s[s.length - 1]!) - lo) / (hi - lo)).toFixed(1)},${py(1).toFixed(1)}`);
    body.push(
      `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6" points="${pts.join(' ')}"/>`,
    );
  });
  return frame(
    'JCT CDF',
    'job completion time (hours, log scale)',
    'fraction of jobs',
    body,
    report.results.map((r) => r.policy),
  );
}

function utilization(report: SimReport): string {
  const body: string[] = [];
  const n = Math.max(1, ...report.results.map((r) => r.utilization_series.length));
  const bucketH = (report.results[0]?.utilization_bucket_s ?? 3600) / 3600;
  const smooth = Math.max(1, Math.floor(n / 300));
  for (let q = 0; q <= 4; q++)
    body.push(
      `<line x1="${M.l}" y1="${py(q / 4)}" x2="${W - M.r}" y2="${py(q / 4)}" stroke="#eee"/><text x="${M.l - 8}" y="${py(q / 4) + 4}" font-size="11" text-anchor="end">${q * 25}%</text>`,
    );
  for (let t = 0; t <= 4; t++)
    body.push(
      `<text x="${px(t / 4)}" y="${H - M.b + 16}" font-size="11" text-anchor="middle">${Math.round(((t / 4) * n * bucketH) / 24)} d</text>`,
    );
  report.results.forEach((r, i) => {
    const pts: string[] = [];
    for (let k = 0; k < r.utilization_series.length; k += smooth) {
      const chunk = r.utilization_series.slice(k, k + smooth);
      const avg = chunk.reduce((s, x) => s + x, 0) / chunk.length;
      pts.push(`${px(k / n).toFixed(1)},${py(Math.min(1, avg)).toFixed(1)}`);
    }
    body.push(
      `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.2" points="${pts.join(' ')}"/>`,
    );
  });
  return frame(
    'Accelerator utilisation over time',
    'time since first submission',
    'busy devices / devices',
    body,
    report.results.map((r) => r.policy),
  );
}

function tenantWait(report: SimReport): string {
  const tenants = report.results[0]?.per_tenant.map((t) => t.tenant) ?? [];
  const max = Math.max(1, ...report.results.flatMap((r) => r.per_tenant.map((t) => t.mean_queue_s / 3600)));
  const body: string[] = [];
  const groupW = (W - M.l - M.r) / Math.max(1, tenants.length);
  const barW = (groupW * 0.8) / Math.max(1, report.results.length);
  tenants.forEach((t, ti) => {
    report.results.forEach((r, pi) => {
      const v = (r.per_tenant.find((x) => x.tenant === t)?.mean_queue_s ?? 0) / 3600;
      const x = M.l + ti * groupW + groupW * 0.1 + pi * barW;
      body.push(
        `<rect x="${x.toFixed(1)}" y="${py(v / max).toFixed(1)}" width="${barW.toFixed(1)}" height="${(py(0) - py(v / max)).toFixed(1)}" fill="${COLORS[pi % COLORS.length]}"/>`,
      );
    });
    body.push(
      `<text x="${M.l + ti * groupW + groupW / 2}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${esc(t.slice(0, 8))}</text>`,
    );
  });
  for (let q = 0; q <= 4; q++)
    body.push(
      `<text x="${M.l - 8}" y="${py(q / 4) + 4}" font-size="11" text-anchor="end">${((q / 4) * max).toFixed(1)}</text>`,
    );
  return frame(
    'Mean queueing delay per tenant',
    'tenant',
    'hours',
    body,
    report.results.map((r) => r.policy),
  );
}

export function writePlots(report: SimReport): [string, string][] {
  return [
    ['jct-cdf.svg', jctCdf(report)],
    ['utilization.svg', utilization(report)],
    ['tenant-wait.svg', tenantWait(report)],
  ];
}
