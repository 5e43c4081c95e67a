/**
 * The plots, drawn by hand (no dependency): JCT CDFs (log-scaled hours), utilisation over time,
 * and mean queueing delay per tenant. Each plot is drawn once against `Surface`, a tiny drawing
 * interface with two back ends: SVG text and a raster canvas written as PNG (raster.ts), so the
 * two files of a plot show the same data, colours and layout. Coordinates are SVG user units
 * (W × H); the PNG is drawn `pngScale` times larger.
 */
import { jctSeconds } from './metrics.js';
import type { SimReport } from './run.js';
import type { TextAnchor } from './raster.js';
import { Canvas, encodePng, parseColor } from './raster.js';

export const W = 820;
export const H = 420;
/** Margins around the plot area (the legend is in the right one). */
export const M = { l: 70, r: 170, t: 40, b: 50 };
export const COLORS = [
  '#d62728',
  '#1f77b4',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
];

export interface TextOptions {
  /** Font size in user units (the SVG's font-size). */
  readonly size: number;
  readonly anchor?: TextAnchor;
  /** Rotated 90° counter-clockwise about (x, y), reading upwards. */
  readonly upwards?: boolean;
}

/** What a plot draws with. Colours are `#rgb`, `#rrggbb`, `black` or `white`; text is black. */
export interface Surface {
  rect(x: number, y: number, w: number, h: number, fill: string): void;
  line(x1: number, y1: number, x2: number, y2: number, stroke: string, width?: number): void;
  polyline(points: readonly (readonly [number, number])[], stroke: string, width: number): void;
  /** Text with its baseline through (x, y). */
  text(x: number, y: number, s: string, o: TextOptions): void;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A coordinate to at most one decimal, as short as it goes ("12", "12.5"). */
const num = (n: number): string => String(Math.round(n * 10) / 10);

/** Collects SVG elements; `svg()` closes the document. */
export class SvgSurface implements Surface {
  private readonly parts: string[] = [];

  rect(x: number, y: number, w: number, h: number, fill: string): void {
    this.parts.push(
      `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="${fill}"/>`,
    );
  }

  line(x1: number, y1: number, x2: number, y2: number, stroke: string, width = 1): void {
    const sw = width === 1 ? '' : ` stroke-width="${width}"`;
    this.parts.push(
      `<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${stroke}"${sw}/>`,
    );
  }

  polyline(points: readonly (readonly [number, number])[], stroke: string, width: number): void {
    const pts = points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
    this.parts.push(`<polyline fill="none" stroke="${stroke}" stroke-width="${width}" points="${pts}"/>`);
  }

  text(x: number, y: number, s: string, o: TextOptions): void {
    const anchor = o.anchor === undefined || o.anchor === 'start' ? '' : ` text-anchor="${o.anchor}"`;
    const rot = o.upwards === true ? ` transform="rotate(-90 ${num(x)} ${num(y)})"` : '';
    this.parts.push(
      `<text x="${num(x)}" y="${num(y)}" font-size="${o.size}"${anchor}${rot}>${esc(s)}</text>`,
    );
  }

  svg(): string {
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
      this.parts.join('') +
      `</svg>\n`
    );
  }
}

/**
 * Draws on a `Canvas` `scale` times the user units: widths scale with it, and a font size picks
 * the integer magnification of the 5×7 font whose capitals are nearest 0.7 em.
 */
export class RasterSurface implements Surface {
  readonly canvas: Canvas;

  constructor(readonly scale = 2) {
    this.canvas = new Canvas(W * scale, H * scale);
  }

  rect(x: number, y: number, w: number, h: number, fill: string): void {
    const k = this.scale;
    this.canvas.fillRect(x * k, y * k, w * k, h * k, parseColor(fill));
  }

  line(x1: number, y1: number, x2: number, y2: number, stroke: string, width = 1): void {
    const k = this.scale;
    this.canvas.line(x1 * k, y1 * k, x2 * k, y2 * k, width * k, parseColor(stroke));
  }

  polyline(points: readonly (readonly [number, number])[], stroke: string, width: number): void {
    const k = this.scale;
    this.canvas.polyline(
      points.map(([x, y]) => [x * k, y * k] as const),
      width * k,
      parseColor(stroke),
    );
  }

  text(x: number, y: number, s: string, o: TextOptions): void {
    const k = this.scale;
    this.canvas.text(x * k, y * k, s, {
      scale: Math.max(1, Math.round((o.size * k) / 10)),
      anchor: o.anchor ?? 'start',
      upwards: o.upwards === true,
    });
  }

  png(): Buffer {
    return encodePng(this.canvas);
  }
}

const px = (fx: number): number => M.l + fx * (W - M.l - M.r);
const py = (fy: number): number => H - M.b - fy * (H - M.t - M.b);
const color = (i: number): string => COLORS[i % COLORS.length]!;

/**
 * The parts every plot shares, around `body` (gridlines, tick labels, series): background, title,
 * axis labels, then the axes over the body and the legend (one swatch per policy).
 */
function frame(
  s: Surface,
  title: string,
  xLabel: string,
  yLabel: string,
  legend: readonly string[],
  body: () => void,
): void {
  s.rect(0, 0, W, H, 'white');
  s.text(W / 2 - 60, 22, title, { size: 15, anchor: 'middle' });
  s.text((M.l + W - M.r) / 2, H - 12, xLabel, { size: 12, anchor: 'middle' });
  s.text(16, (M.t + H - M.b) / 2, yLabel, { size: 12, anchor: 'middle', upwards: true });
  body();
  s.line(M.l, H - M.b, W - M.r, H - M.b, 'black');
  s.line(M.l, M.t, M.l, H - M.b, 'black');
  legend.forEach((name, i) => {
    s.rect(W - M.r + 15, M.t + i * 20, 12, 12, color(i));
    s.text(W - M.r + 32, M.t + i * 20 + 11, name, { size: 12 });
  });
}

function jctCdf(report: SimReport, s: Surface): void {
  const series = report.runs.map((r) => jctSeconds(r).map((x) => Math.max(x / 3600, 1e-3)));
  const lo = -3;
  const hi = Math.ceil(Math.log10(Math.max(1e-3, ...series.map((x) => x[x.length - 1] ?? 1e-3))));
  // With every job under 1e-3 h, lo = hi: give the axis one decade.
  const span = Math.max(1, hi - lo);
  const fx = (h: number): number => px((Math.log10(h) - lo) / span);
  const policies = report.results.map((r) => r.policy);
  frame(s, 'JCT CDF', 'job completion time (hours, log scale)', 'fraction of jobs', policies, () => {
    for (let e = lo; e <= lo + span; e++) {
      const x = px((e - lo) / span);
      s.line(x, M.t, x, H - M.b, '#ddd');
      s.text(x, H - M.b + 16, `10^${e}`, { size: 11, anchor: 'middle' });
    }
    for (let q = 0; q <= 4; q++) s.text(M.l - 8, py(q / 4) + 4, `${q * 25}%`, { size: 11, anchor: 'end' });
    series.forEach((xs, i) => {
      const pts: [number, number][] = [];
      const step = Math.max(1, Math.floor(xs.length / 400));
      for (let k = 0; k < xs.length; k += step) pts.push([fx(xs[k]!), py((k + 1) / xs.length)]);
      if (xs.length > 0) pts.push([fx(xs[xs.length - 1]!), py(1)]);
      s.polyline(pts, color(i), 1.6);
    });
  });
}

function utilization(report: SimReport, s: Surface): void {
  const n = Math.max(1, ...report.results.map((r) => r.utilization_series.length));
  const bucketH = (report.results[0]?.utilization_bucket_s ?? 3600) / 3600;
  const smooth = Math.max(1, Math.floor(n / 300));
  const policies = report.results.map((r) => r.policy);
  frame(
    s,
    'Accelerator utilisation over time',
    'time since first submission',
    'busy devices / devices',
    policies,
    () => {
      for (let q = 0; q <= 4; q++) {
        s.line(M.l, py(q / 4), W - M.r, py(q / 4), '#eee');
        s.text(M.l - 8, py(q / 4) + 4, `${q * 25}%`, { size: 11, anchor: 'end' });
      }
      for (let t = 0; t <= 4; t++)
        s.text(px(t / 4), H - M.b + 16, `${Math.round(((t / 4) * n * bucketH) / 24)} d`, {
          size: 11,
          anchor: 'middle',
        });
      report.results.forEach((r, i) => {
        const pts: [number, number][] = [];
        for (let k = 0; k < r.utilization_series.length; k += smooth) {
          const chunk = r.utilization_series.slice(k, k + smooth);
          const avg = chunk.reduce((a, x) => a + x, 0) / chunk.length;
          pts.push([px(k / n), py(Math.min(1, avg))]);
        }
        s.polyline(pts, color(i), 1.2);
      });
    },
  );
}

function tenantWait(report: SimReport, s: Surface): void {
  const tenants = report.results[0]?.per_tenant.map((t) => t.tenant) ?? [];
  const max = Math.max(1, ...report.results.flatMap((r) => r.per_tenant.map((t) => t.mean_queue_s / 3600)));
  const groupW = (W - M.l - M.r) / Math.max(1, tenants.length);
  const barW = (groupW * 0.8) / Math.max(1, report.results.length);
  // Tenant labels (size 10: about 6 units a character) cut to fit their group, at most 8 characters.
  const labelChars = Math.min(8, Math.max(3, Math.floor(groupW / 6)));
  const policies = report.results.map((r) => r.policy);
  frame(s, 'Mean queueing delay per tenant', 'tenant', 'hours', policies, () => {
    tenants.forEach((t, ti) => {
      report.results.forEach((r, pi) => {
        const v = (r.per_tenant.find((x) => x.tenant === t)?.mean_queue_s ?? 0) / 3600;
        const x = M.l + ti * groupW + groupW * 0.1 + pi * barW;
        s.rect(x, py(v / max), barW, py(0) - py(v / max), color(pi));
      });
      s.text(M.l + ti * groupW + groupW / 2, H - M.b + 14, t.slice(0, labelChars), {
        size: 10,
        anchor: 'middle',
      });
    });
    for (let q = 0; q <= 4; q++)
      s.text(M.l - 8, py(q / 4) + 4, ((q / 4) * max).toFixed(1), { size: 11, anchor: 'end' });
  });
}

const PLOTS: readonly (readonly [string, (report: SimReport, s: Surface) => void])[] = [
  ['jct-cdf', jctCdf],
  ['utilization', utilization],
  ['tenant-wait', tenantWait],
];

export interface PlotOptions {
  /** Write a PNG beside each SVG (default true). */
  readonly png?: boolean;
  /** PNG pixels per SVG unit (default 2: 1640 × 840). */
  readonly pngScale?: number;
}

/** (file name, content) pairs: `NAME.svg` (text) and, unless `png: false`, `NAME.png` (bytes). */
export function writePlots(report: SimReport, o: PlotOptions = {}): [string, string | Uint8Array][] {
  const out: [string, string | Uint8Array][] = [];
  for (const [name, draw] of PLOTS) {
    const svg = new SvgSurface();
    draw(report, svg);
    out.push([`${name}.svg`, svg.svg()]);
    if (o.png === false) continue;
    const raster = new RasterSurface(o.pngScale ?? 2);
    draw(report, raster);
    out.push([`${name}.png`, raster.png()]);
  }
  return out;
}
