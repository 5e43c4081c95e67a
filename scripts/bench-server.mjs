#!/usr/bin/env node
// Server benchmark (a script, not a test): a real `suanli server` process, driven over HTTP the way
// a center's users drive it, at growing queue depths.
//
//   npm run bench:server [-- --depths 1000,10000,100000 --store sqlite|postgres|both
//                            --window 5 --concurrency 32 --array 10000 --root DIR]
//
// The hall is 8 declared devices held by one job, so every submitted job waits. For each depth the
// queue is filled through the API, then for `--window` seconds 32 clients submit (32 in flight)
// while one client lists the newest 50 waiting jobs and the engine's cycles are sampled from
// /metrics. Then one array of `--array` tasks is submitted. One JSON line per depth:
//   submit_per_s, submit_p50_ms / submit_p99_ms, list_p50_ms / list_p99_ms, cycle_ms_median /
//   cycle_ms_max (the engine's cycles during the window, end to end), rss_mib (resident memory of
//   the server after the window), array_accept_ms (time to the array's 201; null where the server
//   has no job arrays). A last line per store: a restart with the whole queue waiting, the
//   seconds until /healthz answers and until the first cycle has run, and the resident memory then.
// `--root DIR` runs the server of another checkout (built), e.g. the last commit before a change,
// so a baseline and a change are measured on the same machine in the same run. PostgreSQL is
// measured when SUANLI_TEST_PG_URL is set or /run/suanli-pg/url exists (bash scripts/pg-ci.sh up),
// each run in a schema of its own, dropped afterwards.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freshPgSchema, pgUrl } from './lib/pg-bench.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const DEPTHS = opt('depths', '1000,10000,100000').split(',').map(Number);
const STORES = opt('store', 'both');
const WINDOW_S = Number(opt('window', '5'));
const CONCURRENCY = Number(opt('concurrency', '32'));
const ARRAY_TASKS = Number(opt('array', '10000'));
const ROOT = resolve(opt('root', '.'));
const TOKEN = 'sl_bench-server-admin-token-0123456789';
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const WAITING = JSON.stringify({ name: 'w', command: ['true'], resources: { accelerators: 1 } });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]);
};
const round = (x) => Math.round(x * 10) / 10;

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function startServer(dir, database) {
  const port = await freePort();
  await writeFile(join(dir, 'policy.yaml'), 'defaultTenant: { weight: 1, maxWaitingJobs: 1000000 }\n');
  const args = [
    join(ROOT, 'packages/cli/bin/suanli.js'),
    'server',
    '--data-dir',
    dir,
    '--port',
    String(port),
  ];
  args.push('--accelerators', 'gpu:8', '--node-name', 'bench', '--log-level', 'warn');
  if (database) args.push('--database', database);
  const env = { ...process.env, SUANLI_ADMIN_TOKEN: TOKEN, SUANLI_RATE_LIMIT: 'off', SUANLI_CONFINE: 'off' };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${stderr}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, child };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`server did not answer /healthz: ${stderr}`);
}

async function post(url, path, body) {
  const t0 = performance.now();
  const r = await fetch(`${url}${path}`, { method: 'POST', headers, body });
  const text = await r.text();
  return { status: r.status, ms: performance.now() - t0, body: text };
}

async function waitForState(url, id, state) {
  for (let i = 0; i < 200; i++) {
    const job = await (await fetch(`${url}/api/v1/jobs/${id}`, { headers })).json();
    if (job.state === state) return;
    await sleep(100);
  }
  throw new Error(`job ${id} never reached ${state}`);
}

/** `n` submissions, `CONCURRENCY` in flight; or, with `untilMs`, as many as fit before it. */
async function submitMany({ n = Infinity, untilMs = Infinity, url }) {
  const latencies = [];
  let issued = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (issued < n && performance.now() < untilMs) {
        issued++;
        const r = await post(url, '/api/v1/jobs', WAITING);
        if (r.status === 201) latencies.push(r.ms);
        else if (++errors <= 3) console.error(`submit: ${r.status} ${r.body.slice(0, 200)}`);
      }
    }),
  );
  return { latencies, errors, seconds: (performance.now() - t0) / 1000 };
}

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : null;
}

async function queuedCount(url) {
  return (await metric(url, 'suanli_jobs{state="queued"}')) ?? 0;
}

async function rssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

async function measureDepth(url, child, depth) {
  const before = await queuedCount(url);
  if (depth > before) {
    const fill = await submitMany({ n: depth - before, url });
    if (fill.errors > 0) throw new Error(`${fill.errors} submissions failed while filling`);
  }
  const untilMs = performance.now() + WINDOW_S * 1000;
  const lists = [];
  const cycles = [];
  const listing = (async () => {
    while (performance.now() < untilMs) {
      const t0 = performance.now();
      const r = await fetch(`${url}/api/v1/jobs?state=queued&limit=50`, { headers });
      await r.arrayBuffer();
      if (r.ok) lists.push(performance.now() - t0);
    }
  })();
  const sampling = (async () => {
    let lastCount = await metric(url, 'suanli_scheduler_cycles_total');
    while (performance.now() < untilMs + 1000) {
      await sleep(100);
      const count = await metric(url, 'suanli_scheduler_cycles_total');
      if (count !== lastCount) cycles.push((await metric(url, 'suanli_scheduler_last_cycle_seconds')) * 1000);
      lastCount = count;
    }
  })();
  const window = await submitMany({ untilMs, url });
  await Promise.all([listing, sampling]);
  const rss = await rssMiB(child.pid);
  let arrayAcceptMs = null;
  if (ARRAY_TASKS > 0) {
    const spec = JSON.parse(WAITING);
    const r = await post(
      url,
      '/api/v1/jobs',
      JSON.stringify({ ...spec, name: 'sweep', array: `0-${ARRAY_TASKS - 1}` }),
    );
    if (r.status === 201) arrayAcceptMs = round(r.ms);
    else console.error(`array submission: ${r.status} ${r.body.slice(0, 200)}`);
  }
  return {
    waiting: before > depth ? before : depth,
    submit_per_s: Math.round(window.latencies.length / window.seconds),
    submit_p50_ms: quantile(window.latencies, 0.5),
    submit_p99_ms: quantile(window.latencies, 0.99),
    submit_errors: window.errors,
    list_p50_ms: quantile(lists, 0.5),
    list_p99_ms: quantile(lists, 0.99),
    lists: lists.length,
    cycle_ms_median: quantile(cycles, 0.5),
    cycle_ms_max: cycles.length ? round(Math.max(...cycles)) : null,
    cycles: cycles.length,
    rss_mib: rss,
    array_accept_ms: arrayAcceptMs,
  };
}

async function stopServer(child) {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
}

async function bench(storeName, database) {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-bench-server-'));
  let { url, child } = await startServer(dir, database);
  let holder = null;
  try {
    const h = await post(
      url,
      '/api/v1/jobs',
      JSON.stringify({ name: 'holder', command: ['sleep', '100000'], resources: { accelerators: 8 } }),
    );
    if (h.status !== 201) throw new Error(`holder job: ${h.status} ${h.body}`);
    holder = JSON.parse(h.body).id;
    await waitForState(url, holder, 'running');
    for (const depth of DEPTHS) {
      const r = await measureDepth(url, child, depth);
      console.log(JSON.stringify({ store: storeName, root: ROOT, depth, ...r }));
    }
    // Cold start: a restart with the whole queue waiting, until it answers and has run a cycle.
    const waiting = await queuedCount(url);
    await stopServer(child);
    const t0 = performance.now();
    ({ url, child } = await startServer(dir, database));
    const healthzS = (performance.now() - t0) / 1000;
    while (!((await metric(url, 'suanli_scheduler_cycles_total')) >= 1)) await sleep(50);
    const firstCycleS = (performance.now() - t0) / 1000;
    console.log(
      JSON.stringify({
        store: storeName,
        root: ROOT,
        restart_waiting: waiting,
        restart_healthz_s: round(healthzS),
        restart_first_cycle_s: round(firstCycleS),
        rss_mib: await rssMiB(child.pid),
      }),
    );
  } finally {
    // The holder is ended before the server stops (a stopped server leaves its jobs running).
    if (holder) {
      await post(url, `/api/v1/jobs/${holder}/cancel`, '{}').catch(() => undefined);
      await waitForState(url, holder, 'cancelled').catch((err) => console.error(String(err)));
    }
    await stopServer(child);
    await rm(dir, { recursive: true, force: true });
  }
}

if (STORES === 'sqlite' || STORES === 'both') await bench('sqlite');
if (STORES === 'postgres' || STORES === 'both') {
  const url = await pgUrl();
  if (!url) console.error('PostgreSQL: no server (SUANLI_TEST_PG_URL or bash scripts/pg-ci.sh up); skipped');
  else {
    const schema = await freshPgSchema(url, 'suanli_bench_server');
    try {
      await bench('postgres', schema.url);
    } finally {
      await schema.drop();
    }
  }
}
