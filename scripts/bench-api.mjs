#!/usr/bin/env node
// API benchmark (a script, not a test): job submissions per second through the HTTP API on
// SQLite and PostgreSQL, and the time from submit to running on an idle machine.
//   npm run bench:api [-- --seconds 5 --concurrency 32 --latency-jobs 20]
// PostgreSQL is measured when SUANLI_TEST_PG_URL is set or /run/suanli-pg/url exists
// (bash scripts/pg-ci.sh up). Prints one JSON object per line.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPgSchema, pgUrl } from './lib/pg-bench.mjs';
import { startServer } from '../packages/api/dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 5);
const CONCURRENCY = arg('concurrency', 32);
const LATENCY_JOBS = arg('latency-jobs', 20);
const TOKEN = 'sl_bench-admin-token-0123456789';
// The per-token rate limit would cap the figure at its own setting: measure the platform, not the limiter.
process.env.SUANLI_RATE_LIMIT = 'off';
// Jobs run unconfined here (npm run bench:launch measures what confinement costs); a confined run
// would also leave the control-group parent it made behind, as a server does for its next start.
process.env.SUANLI_CONFINE = 'off';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

async function bench(label, database) {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-bench-'));
  process.env.SUANLI_ADMIN_TOKEN = TOKEN;
  // Declared devices; jobs with 0 accelerators that never start would block nothing. For the
  // throughput run the node is drained, so the measurement is the API + store path alone.
  const server = await startServer({
    dataDir: dir,
    port: 0,
    accelerators: 'gpu:8',
    nodeName: 'bench',
    logLevel: false,
    print: () => {},
    cycleIntervalMs: 1000,
    ...(database ? { database } : {}),
  });
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const spec = JSON.stringify({ name: 'bench', command: ['true'], resources: { accelerators: 1 } });
  try {
    await fetch(`${server.url}/api/v1/nodes/bench/drain`, { method: 'POST', headers, body: '{}' });
    // Warm-up.
    for (let i = 0; i < 50; i++)
      await fetch(`${server.url}/api/v1/jobs`, { method: 'POST', headers, body: spec }).then((r) =>
        r.arrayBuffer(),
      );
    let done = 0;
    let errors = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const r = await fetch(`${server.url}/api/v1/jobs`, { method: 'POST', headers, body: spec });
          await r.arrayBuffer();
          if (r.status === 201) done++;
          else errors++;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    console.log(
      JSON.stringify({
        metric: 'submissions_per_second',
        store: label,
        value: Math.round(done / elapsed),
        concurrency: CONCURRENCY,
        seconds: SECONDS,
        errors,
      }),
    );
  } finally {
    await server.close();
    delete process.env.SUANLI_ADMIN_TOKEN;
    await rm(dir, { recursive: true, force: true });
  }
}

async function latency(label, database) {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-bench-'));
  process.env.SUANLI_ADMIN_TOKEN = TOKEN;
  const server = await startServer({
    dataDir: dir,
    port: 0,
    accelerators: 'gpu:8',
    nodeName: 'bench',
    logLevel: false,
    print: () => {},
    ...(database ? { database } : {}),
  });
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const spec = JSON.stringify({ name: 'lat', command: ['true'], resources: { accelerators: 1 } });
  const samples = [];
  try {
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const t0 = performance.now();
      const job = await (
        await fetch(`${server.url}/api/v1/jobs`, { method: 'POST', headers, body: spec })
      ).json();
      // Poll tightly: the figure is when the platform recorded `running`, measured from the client's submit.
      for (let k = 0; k < 10_000; k++) {
        const j = await (await fetch(`${server.url}/api/v1/jobs/${job.id}`, { headers })).json();
        const running = j.transitions.find((t) => t.to === 'running');
        if (running) {
          samples.push(Date.parse(running.at) - Date.parse(j.submittedAt));
          break;
        }
        if (performance.now() - t0 > 10_000) throw new Error('job did not start within 10 s');
      }
      // Let it finish so the machine is idle again.
      for (let k = 0; k < 1000; k++) {
        const j = await (await fetch(`${server.url}/api/v1/jobs/${job.id}`, { headers })).json();
        if (j.state === 'succeeded' || j.state === 'failed') break;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    console.log(
      JSON.stringify({
        metric: 'submit_to_running_ms',
        store: label,
        median: median(samples),
        min: Math.min(...samples),
        max: Math.max(...samples),
        jobs: samples.length,
      }),
    );
  } finally {
    await server.close();
    delete process.env.SUANLI_ADMIN_TOKEN;
    await rm(dir, { recursive: true, force: true });
  }
}

await bench('sqlite');
await latency('sqlite');
const url = await pgUrl();
if (url) {
  for (const phase of [bench, latency]) {
    const db = await freshPgSchema(url, 'suanli_bench');
    try {
      await phase('postgres', db.url);
    } finally {
      await db.drop();
    }
  }
} else
  console.log(
    JSON.stringify({
      metric: 'submissions_per_second',
      store: 'postgres',
      skipped: 'no PostgreSQL: run bash scripts/pg-ci.sh up',
    }),
  );
