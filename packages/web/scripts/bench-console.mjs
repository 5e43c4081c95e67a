#!/usr/bin/env node
/**
 * Console figures, measured in headless Chromium against a real suanli server on 127.0.0.1:
 *   1. bundle size: every built file, raw and gzip -9; "initial" is what the first page load
 *      fetches (index.html + entry script + stylesheet), "lazy" what loads later (ECharts, editor);
 *   2. overview time to first meaningful paint: the `suanli:overview-ready` mark (first frame after
 *      the overview shows real figures), plus first-contentful-paint and `suanli:chart-ready`,
 *      median of RUNS page loads with the HTTP cache disabled; on an empty server and with JOBS jobs;
 *   3. jobs list with JOBS jobs: time until all are loaded, then frame times while scrolling it
 *      (requestAnimationFrame deltas; a smooth scroll and random jumps).
 * Usage: npm run build && node packages/web/scripts/bench-console.mjs [--jobs 10000] [--runs 5] [--json]
 * Needs /usr/bin/chromium (or CHROMIUM_BIN).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, seedJobs, startConsoleStack } from '../dist/test/harness.js';
import { defaultConsoleRoot } from '../dist/serve.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const JOBS = opt('--jobs', 10_000);
const RUNS = opt('--runs', 5);
const SCROLL_FRAMES = opt('--frames', 600);
const asJson = args.includes('--json');
const log = (...a) => !asJson && console.log(...a);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const r1 = (x) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);

// 1. Bundle ------------------------------------------------------------------------------------
function bundle() {
  const root = defaultConsoleRoot();
  const html = readFileSync(join(root, 'index.html'), 'utf8');
  const initialNames = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]));
  const files = [
    { name: 'index.html', buf: Buffer.from(html) },
    ...readdirSync(join(root, 'assets')).map((f) => ({
      name: `assets/${f}`,
      buf: readFileSync(join(root, 'assets', f)),
    })),
  ];
  const rows = files.map((f) => ({
    file: f.name,
    bytes: f.buf.length,
    gzip: gzipSync(f.buf, { level: 9 }).length,
    initial: f.name === 'index.html' || initialNames.has(f.name),
  }));
  const sum = (pred, k) => rows.filter(pred).reduce((n, r) => n + r[k], 0);
  return {
    files: rows,
    initial: { bytes: sum((r) => r.initial, 'bytes'), gzip: sum((r) => r.initial, 'gzip') },
    lazy: { bytes: sum((r) => !r.initial, 'bytes'), gzip: sum((r) => !r.initial, 'gzip') },
    total: { bytes: sum(() => true, 'bytes'), gzip: sum(() => true, 'gzip') },
  };
}

// 2. Overview paint --------------------------------------------------------------------------
async function overviewPaint(stack, context) {
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.goto(stack.url + '/');
    await page.waitForFunction(
      () =>
        ['suanli:overview-ready', 'suanli:overview-queue-ready', 'suanli:chart-ready'].every(
          (m) => performance.getEntriesByName(m).length > 0,
        ),
      null,
      { timeout: 60_000 },
    );
    samples.push(
      await page.evaluate(() => ({
        fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
        ready: performance.getEntriesByName('suanli:overview-ready')[0]?.startTime ?? null,
        chart: performance.getEntriesByName('suanli:chart-ready')[0]?.startTime ?? null,
        queue: performance.getEntriesByName('suanli:overview-queue-ready')[0]?.startTime ?? null,
        domContentLoaded: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? null,
      })),
    );
    await page.close();
  }
  const m = (k) => r1(median(samples.map((s) => s[k]).filter((x) => x !== null)));
  return {
    runs: RUNS,
    firstContentfulPaintMs: m('fcp'),
    overviewReadyMs: m('ready'),
    queueFiguresMs: m('queue'),
    firstChartMs: m('chart'),
    domContentLoadedMs: m('domContentLoaded'),
    all: samples.map((s) => ({ fcp: r1(s.fcp), ready: r1(s.ready), queue: r1(s.queue), chart: r1(s.chart) })),
  };
}

// 3. Jobs list ---------------------------------------------------------------------------------
async function jobsList(stack, context) {
  const page = await context.newPage();
  const t0 = Date.now();
  // The list holds one page (the largest offered: 200 rows) and moves with the server's cursor.
  await page.goto(stack.url + '/jobs?limit=200');
  await page
    .locator('[data-testid="jobs-count"][data-page="1"][data-rows="200"]')
    .waitFor({ timeout: 120_000 });
  const loadMs = Date.now() - t0;
  const t1 = Date.now();
  await page.getByTestId('page-next').click();
  await page
    .locator('[data-testid="jobs-count"][data-page="2"][data-rows="200"]')
    .waitFor({ timeout: 60_000 });
  const nextPageMs = Date.now() - t1;
  await page.waitForTimeout(500);
  const rowsInDom = await page.locator('[data-testid="jobs-table"] [data-job]').count();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () =>
    Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const measure = (mode) =>
    page.evaluate(
      ({ frames, mode }) =>
        new Promise((resolve) => {
          const el = document.querySelector('[data-testid="jobs-scroll"]');
          const max = el.scrollHeight - el.clientHeight;
          const deltas = [];
          let last = performance.now();
          let i = 0;
          let seed = 12345;
          const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
          const step = (t) => {
            deltas.push(t - last);
            last = t;
            if (mode === 'smooth') el.scrollTop = (el.scrollTop + 240) % max;
            else el.scrollTop = Math.floor(rand() * max);
            if (++i < frames) requestAnimationFrame(step);
            else resolve({ deltas: deltas.slice(2), scrollHeight: el.scrollHeight });
          };
          requestAnimationFrame(step);
        }),
      { frames: SCROLL_FRAMES, mode },
    );
  const result = {};
  for (const mode of ['smooth', 'jumps']) {
    const before = await metrics();
    const { deltas } = await measure(mode);
    const after = await metrics();
    const d = (k) => ((after[k] ?? 0) - (before[k] ?? 0)) * 1000;
    result[mode] = {
      // Main-thread work per frame in the renderer (CDP Performance metrics): what the page itself costs,
      // less sensitive than frame times to other processes competing for the CPU.
      mainThreadMsPerFrame: r1(d('TaskDuration') / deltas.length),
      scriptMsPerFrame: r1(d('ScriptDuration') / deltas.length),
      layoutAndStyleMsPerFrame: r1((d('LayoutDuration') + d('RecalcStyleDuration')) / deltas.length),
      frames: deltas.length,
      meanMs: r1(deltas.reduce((a, b) => a + b, 0) / deltas.length),
      p50Ms: r1(pct(deltas, 50)),
      p95Ms: r1(pct(deltas, 95)),
      p99Ms: r1(pct(deltas, 99)),
      maxMs: r1(Math.max(...deltas)),
      over25Ms: deltas.filter((d) => d > 25).length,
    };
  }
  await page
    .screenshot({
      path: join(
        fileURLToPath(new URL('../../../test-artifacts/console/', import.meta.url)),
        'bench-jobs-10k.png',
      ),
    })
    .catch(() => undefined);
  await page.close();
  return { jobs: JOBS, firstPageMs: loadMs, nextPageMs, rowsInDom, ...result };
}

const out = { bundle: bundle() };
log('bundle (dist/console):');
for (const f of out.bundle.files)
  log(
    `  ${f.file.padEnd(40)} ${String(f.bytes).padStart(8)} B  gzip ${String(f.gzip).padStart(7)} B${f.initial ? '  (initial)' : '  (lazy)'}`,
  );
log(
  `  initial load: ${out.bundle.initial.gzip} B gzip (${out.bundle.initial.bytes} B); lazy: ${out.bundle.lazy.gzip} B gzip; total ${out.bundle.total.gzip} B gzip`,
);

const stack = await startConsoleStack({ accelerators: 'gpu:2', rateLimitOff: true });
const browser = await launchBrowser({ locale: 'en-US', width: 1280, height: 800 });
try {
  const { context, page } = browser;
  await context.addInitScript((token) => localStorage.setItem('suanli.token', token), stack.token);
  await page.goto(stack.url + '/');
  await page.getByTestId('kpi-idle').waitFor();

  out.overviewEmpty = await overviewPaint(stack, context);
  log(
    `overview, empty server (median of ${RUNS}): FCP ${out.overviewEmpty.firstContentfulPaintMs} ms, accelerator figures ${out.overviewEmpty.overviewReadyMs} ms, queue figures ${out.overviewEmpty.queueFiguresMs} ms, first chart ${out.overviewEmpty.firstChartMs} ms`,
  );

  // Drain the node so the seeded jobs stay queued (the list benchmark wants 10,000 rows, not 10,000 processes).
  const nodes = await stack.client.listNodes();
  for (const n of nodes.nodes) await stack.client.drainNode(n.name, 'bench');
  // Stop the scheduling loop first: with the node drained it has nothing to start, but each cycle
  // walks the whole queue and would make seeding (and the figures below) measure the engine, not
  // the console. Submissions still go through the real API, validation and store.
  await stack.server.engine.stop();
  const s0 = Date.now();
  await seedJobs(stack, JOBS, (i) => ({
    name: `bench-${i}`,
    project: `p${i % 7}`,
    command: ['sleep', '60'],
    resources: { accelerators: 1 + (i % 2) },
  }));
  out.seed = { jobs: JOBS, ms: Date.now() - s0 };
  log(`seeded ${JOBS} jobs in ${out.seed.ms} ms (in-process POST /api/v1/jobs, scheduling loop stopped)`);

  out.overviewLoaded = await overviewPaint(stack, context);
  log(
    `overview, ${JOBS} queued jobs (median of ${RUNS}): FCP ${out.overviewLoaded.firstContentfulPaintMs} ms, accelerator figures ${out.overviewLoaded.overviewReadyMs} ms, queue figures ${out.overviewLoaded.queueFiguresMs} ms, first chart ${out.overviewLoaded.firstChartMs} ms`,
  );

  out.jobsList = await jobsList(stack, context);
  out.environment = {
    node: process.version,
    cpus: os.cpus().length,
    loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    chromium: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
  };
  log(
    `jobs list over ${JOBS} jobs: first page of 200 in ${out.jobsList.firstPageMs} ms, next page in ${out.jobsList.nextPageMs} ms; ${out.jobsList.rowsInDom} rows in the DOM`,
  );
  for (const mode of ['smooth', 'jumps'])
    log(
      `  scroll (${mode}, ${out.jobsList[mode].frames} frames): frame time mean ${out.jobsList[mode].meanMs} ms, p50 ${out.jobsList[mode].p50Ms}, p95 ${out.jobsList[mode].p95Ms}, p99 ${out.jobsList[mode].p99Ms}, max ${out.jobsList[mode].maxMs}; frames over 25 ms: ${out.jobsList[mode].over25Ms}; ` +
        `renderer main thread ${out.jobsList[mode].mainThreadMsPerFrame} ms/frame (script ${out.jobsList[mode].scriptMsPerFrame}, layout+style ${out.jobsList[mode].layoutAndStyleMsPerFrame})`,
    );
  log(
    `machine: ${out.environment.cpus} CPUs, load average ${out.environment.loadAvg.join(' / ')} (1/5/15 min) at the end; frame times suffer when other processes share the CPUs`,
  );
} finally {
  await browser.close();
  await stack.close();
}
if (asJson) console.log(JSON.stringify(out, null, 2));
