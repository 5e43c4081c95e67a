import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runSim } from './run.js';
import { COLORS, H, M, W, writePlots } from './plots.js';
import type { DecodedPng } from './testing-png.js';
import { countColor, decodePng, pixelHex } from './testing-png.js';

const SLICE = fileURLToPath(new URL('../fixtures/philly-2017-10-03.csv', import.meta.url));
const report = runSim({ trace: SLICE, nodes: 4, acceleratorsPerNode: 8, policy: 'fifo,easy' });
const files = new Map(writePlots(report));
const K = 2; // the default pngScale
/** The plot area in PNG pixels, inside the axes. */
const PLOT = { x0: (M.l + 2) * K, y0: (M.t - 2) * K, x1: (W - M.r) * K, y1: (H - M.b - 1) * K };

function png(name: string): DecodedPng {
  const f = files.get(`${name}.png`);
  assert.ok(f instanceof Uint8Array, `${name}.png is bytes`);
  return decodePng(f);
}

function svg(name: string): string {
  const f = files.get(`${name}.svg`);
  assert.equal(typeof f, 'string');
  return f as string;
}

/** Every `name="number"` attribute of each element `tag` in the SVG. */
function elements(doc: string, tag: string): Record<string, string>[] {
  return [...doc.matchAll(new RegExp(`<${tag} ([^>]*?)/?>`, 'g'))].map((m) =>
    Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])),
  );
}

test('writePlots: an SVG and a PNG per plot; png: false and pngScale are honoured', () => {
  assert.deepEqual(
    [...files.keys()],
    [
      'jct-cdf.svg',
      'jct-cdf.png',
      'utilization.svg',
      'utilization.png',
      'tenant-wait.svg',
      'tenant-wait.png',
    ],
  );
  assert.deepEqual(
    writePlots(report, { png: false }).map(([n]) => n),
    ['jct-cdf.svg', 'utilization.svg', 'tenant-wait.svg'],
  );
  const small = decodePng(writePlots(report, { pngScale: 1 })[1]![1] as Uint8Array);
  assert.deepEqual([small.width, small.height], [W, H]);
});

for (const name of ['jct-cdf', 'utilization', 'tenant-wait']) {
  test(`${name}.png: valid PNG, white background, both series in the plot area, title, ticks and axes`, () => {
    const p = png(name); // decodePng checks the signature, every CRC and the chunk order
    assert.deepEqual([p.width, p.height, p.channels], [W * K, H * K, 3]);
    for (const [x, y] of [
      [0, 0],
      [p.width - 1, 0],
      [0, p.height - 1],
      [p.width - 1, p.height - 1],
    ] as const)
      assert.equal(pixelHex(p, x, y), '#ffffff', `corner ${x},${y}`);
    const whole = { x0: 0, y0: 0, x1: p.width, y1: p.height };
    assert.ok(countColor(p, '#ffffff', whole) > 0.6 * p.width * p.height, 'mostly white');
    // fifo and easy, in the first two colours, inside the axes (the legend is right of them).
    for (const c of COLORS.slice(0, 2)) assert.ok(countColor(p, c, PLOT) > 50, `${c} in the plot area`);
    assert.equal(countColor(p, COLORS[2]!, whole), 0, 'no third series');
    // The legend swatches: 12 × 12 units each.
    for (const [i, c] of COLORS.slice(0, 2).entries())
      assert.equal(
        countColor(p, c, {
          x0: (W - M.r + 15) * K,
          y0: (M.t + i * 20) * K,
          x1: (W - M.r + 27) * K,
          y1: (M.t + i * 20 + 12) * K,
        }),
        12 * K * 12 * K,
      );
    // The title: black ink above the plot area, around its centre at W / 2 - 60.
    const title = { x0: 0, y0: 0, x1: p.width, y1: (M.t - 8) * K };
    const ink = countColor(p, '#000000', title);
    assert.ok(ink > 100, `title ink ${ink}`);
    assert.ok(countColor(p, '#000000', { ...title, x1: (W / 2 - 60) * K }) > 0.3 * ink, 'title centred');
    assert.ok(countColor(p, '#000000', { ...title, x0: (W / 2 - 60) * K }) > 0.3 * ink, 'title centred');
    // Tick labels under the x axis and left of the y axis; the y label, rotated, at the far left.
    assert.ok(
      countColor(p, '#000000', { x0: M.l * K, y0: (H - M.b + 4) * K, x1: p.width, y1: (H - M.b + 20) * K }) >
        50,
    );
    assert.ok(
      countColor(p, '#000000', { x0: 30 * K, y0: M.t * K - 20, x1: (M.l - 4) * K, y1: (H - M.b) * K }) > 50,
    );
    const yLabel = { x0: 0, y0: 0, x1: 20 * K, y1: p.height };
    assert.ok(countColor(p, '#000000', yLabel) > 50, 'y label');
    assert.equal(
      countColor(p, '#000000', { ...yLabel, y1: (M.t + 20) * K }),
      0,
      'y label runs up the middle',
    );
    // The axes, 1 unit = K pixels wide, black over the whole plot area.
    assert.ok(
      countColor(p, '#000000', {
        x0: M.l * K,
        y0: (H - M.b) * K,
        x1: (W - M.r) * K,
        y1: (H - M.b) * K + 1,
      }) >=
        (W - M.l - M.r) * K,
    );
    assert.equal(
      countColor(p, '#000000', { x0: M.l * K, y0: M.t * K, x1: M.l * K + 1, y1: (H - M.b) * K }),
      (H - M.t - M.b) * K,
    );
  });
}

test('the PNG draws what the SVG says: bars, legend swatches, the top series and the gridlines', () => {
  const bars = png('tenant-wait');
  const rects = elements(svg('tenant-wait'), 'rect').filter(
    (r) => r.fill !== 'white' && Number(r.height) >= 2,
  );
  assert.ok(rects.length > 4);
  for (const r of rects) {
    const cx = Math.floor((Number(r.x) + Number(r.width) / 2) * K);
    const cy = Math.floor((Number(r.y) + Number(r.height) / 2) * K);
    assert.equal(pixelHex(bars, cx, cy), r.fill, `rect at ${r.x},${r.y}`);
  }
  const cdf = png('jct-cdf');
  const lines = elements(svg('jct-cdf'), 'polyline');
  assert.deepEqual(
    lines.map((l) => l.stroke),
    COLORS.slice(0, 2),
  );
  const top = lines[lines.length - 1]!; // drawn last, so nothing but the axes covers it
  let checked = 0;
  for (const pt of top.points!.split(' ')) {
    const [x, y] = pt.split(',').map(Number) as [number, number];
    if (x < M.l + 2 || y > H - M.b - 2) continue;
    assert.equal(pixelHex(cdf, Math.floor(x * K), Math.floor(y * K)), top.stroke, `vertex ${pt}`);
    checked++;
  }
  assert.ok(checked > 20, `${checked} vertices`);
  const grid = elements(svg('jct-cdf'), 'line').filter((l) => l.stroke === '#ddd');
  assert.ok(grid.length >= 4);
  for (const g of grid.slice(1)) {
    // Somewhere down each vertical gridline (where no series crosses it) is #dddddd.
    const x = Math.floor(Number(g.x1) * K);
    assert.ok(
      countColor(cdf, '#dddddd', { x0: x - 1, y0: M.t * K, x1: x + 2, y1: (H - M.b) * K }) > 100,
      `gridline ${x}`,
    );
  }
});
