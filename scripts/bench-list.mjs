#!/usr/bin/env node
// Job-list benchmark (a script, not a test): fills a store with --jobs jobs (default 1,000,000;
// --waiting of them queued, default 100,000; a fifth of them tasks of 1,000-task arrays) by bulk
// insert, then prints one JSON line per listing: p50/p99 latency of GET /api/v1/jobs's store
// queries (first page and pages deep in the list by cursor), per filter. Then the time to create
// a 10,000-task array on that full store. SQLite always; PostgreSQL when SUANLI_TEST_PG_URL is set
// or /run/suanli-pg/url exists (bash scripts/pg-ci.sh up), in a schema of its own, dropped after.
//   node scripts/bench-list.mjs [--jobs 1000000 --waiting 100000 --runs 200 --only sqlite|postgres]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPgSchema, pgUrl } from './lib/pg-bench.mjs';
import { openStore } from '../packages/store/dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const JOBS = Number(arg('jobs', 1_000_000));
const WAITING = Number(arg('waiting', 100_000));
const RUNS = Number(arg('runs', 200));
const ONLY = arg('only', null);
const TENANTS = 10;
const ARRAY_SIZE = 1000;
const T0 = 1_767_225_600_000;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};
const round = (x) => Math.round(x * 100) / 100;
const SPEC = JSON.stringify({
  name: 'bench',
  project: 'p0',
  command: ['python', 'train.py', '--epochs', '10'],
  workingDir: null,
  env: {},
  replicas: 1,
  perReplica: { accelerators: 1, acceleratorTypes: [], cpuMillis: 4000, memoryMiB: 16384 },
  timeLimitSeconds: 3600,
  priorityClass: null,
  priority: null,
  retry: { maxAttempts: 3, retryOn: ['lost'], backoffSeconds: 10 },
  preemptible: true,
  checkpointIntervalSeconds: null,
});

/**
 * Job i: tenant i % 10, project i % 5, submitter i % 7; the newest WAITING are queued, the rest
 * ended; jobs in the window [0.4, 0.6) of the history are tasks of 1,000-task arrays.
 */
function row(i) {
  const inArray = i >= JOBS * 0.4 && i < JOBS * 0.6;
  const arrayNo = Math.floor((i - Math.floor(JOBS * 0.4)) / ARRAY_SIZE);
  const ended = ['succeeded', 'failed', 'cancelled'][i % 3];
  const arrayId = inArray ? `j-${arrayNo.toString(16).padStart(16, '0')}` : null;
  const tenant = inArray ? `t${arrayNo % TENANTS}` : `t${i % TENANTS}`;
  return {
    id: inArray ? `${arrayId}_${i % ARRAY_SIZE}` : `j-${(0x1000000000 + i).toString(16).padStart(16, '0')}`,
    tenant,
    project: `p${i % 5}`,
    name: 'bench',
    submitted_by: `u${i % 7}`,
    spec: SPEC,
    state: i >= JOBS - WAITING ? 'queued' : ended,
    priority: 0,
    submitted_at: T0 + i,
    queued_at: T0 + i,
    attempt: i >= JOBS - WAITING ? 0 : 1,
    placement: null,
    executor_ref: null,
    started_at: null,
    finished_at: i >= JOBS - WAITING ? null : T0 + i + 1000,
    exit_code: null,
    pending_verdict: null,
    pending_reason: null,
    estimated_start: null,
    not_before: null,
    cancel_requested_at: null,
    idempotency_key: null,
    array_id: arrayId,
    array_index: inArray ? i % ARRAY_SIZE : null,
    array_throttle: null,
  };
}

async function fill(store) {
  const db = store.backend.db;
  const t0 = performance.now();
  const CHUNK = 1000;
  const PER_TX = 50_000;
  for (let from = 0; from < JOBS; from += PER_TX) {
    await store.backend.write(async (trx) => {
      for (let i = from; i < Math.min(JOBS, from + PER_TX); i += CHUNK) {
        const rows = [];
        for (let k = i; k < Math.min(JOBS, i + CHUNK); k++) rows.push(row(k));
        await trx.insertInto('jobs').values(rows).execute();
        const heads = rows.filter((r) => r.array_index === 0);
        if (heads.length > 0) {
          const firstSeqs = await trx
            .selectFrom('jobs')
            .select(['seq', 'array_id'])
            .where(
              'id',
              'in',
              heads.map((r) => r.id),
            )
            .execute();
          await trx
            .insertInto('job_arrays')
            .values(
              firstSeqs.map((h) => ({
                id: h.array_id,
                tenant: heads.find((r) => r.array_id === h.array_id).tenant,
                project: 'p0',
                name: 'bench',
                submitted_by: 'u0',
                spec: SPEC,
                expression: `0-${ARRAY_SIZE - 1}`,
                throttle: null,
                size: ARRAY_SIZE,
                first_seq: Number(h.seq),
                submitted_at: T0,
                idempotency_key: null,
              })),
            )
            .execute();
        }
      }
    });
  }
  if (store.dialect === 'postgres')
    await db.executeQuery({ sql: 'analyze', parameters: [], query: { kind: 'RawNode' } });
  else await db.executeQuery({ sql: 'analyze', parameters: [], query: { kind: 'RawNode' } });
  return performance.now() - t0;
}

async function measure(label, fn) {
  const first = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    await fn(r);
    first.push(performance.now() - t);
  }
  return { p50: round(pct(first, 50)), p99: round(pct(first, 99)) };
}

async function bench(label, database) {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-bench-list-'));
  const store = await openStore({ dataDir: dir, ...(database ? { database } : {}) });
  try {
    await store.migrate();
    const fillMs = await fill(store);
    console.log(
      JSON.stringify({
        store: label,
        jobs: JOBS,
        waiting: WAITING,
        arrays: (JOBS * 0.2) / ARRAY_SIZE,
        fillSeconds: round(fillMs / 1000),
      }),
    );
    const maxSeq = JOBS;
    const filters = {
      all: {},
      'state=queued': { states: ['queued'] },
      'state=queued,running,starting': { states: ['queued', 'running', 'starting'] },
      tenant: { tenant: 't3' },
      'tenant+state=queued': { tenant: 't3', states: ['queued'] },
      'tenant+active states': { tenant: 't3', states: ['queued', 'starting', 'running'] },
      'tenant+project': { tenant: 't3', project: 'p3' },
      'tenant+submittedBy': { tenant: 't3', submittedBy: 'u3' },
      'tenant+state=succeeded (history)': { tenant: 't3', states: ['succeeded'] },
    };
    for (const [name, f] of Object.entries(filters)) {
      const firstPage = await measure(name, () => store.listJobs({ ...f, limit: 100 }));
      // a page deep in the list: a cursor at a random point of the history
      const deep = await measure(name, (r) =>
        store.listJobs({
          ...f,
          limit: 100,
          beforeSeq: 1 + Math.floor((((r * 7919) % 1000) / 1000) * maxSeq),
        }),
      );
      const fold = await measure(name, () => store.listJobEntries({ ...f, limit: 100 }));
      console.log(
        JSON.stringify({
          store: label,
          filter: name,
          limit: 100,
          firstPageMs: firstPage,
          deepPageMs: deep,
          foldedFirstPageMs: fold,
        }),
      );
    }
    const arr = await measure('array tasks', (r) =>
      store.listJobs({
        arrayId: `j-${(r % 200).toString(16).padStart(16, '0')}`,
        oldestFirst: true,
        limit: 100,
      }),
    );
    console.log(
      JSON.stringify({ store: label, filter: 'array tasks (index order)', limit: 100, firstPageMs: arr }),
    );
    const plans = await store.explainListJobs({ tenant: 't3', states: ['queued', 'running'], limit: 100 });
    console.log(JSON.stringify({ store: label, plan: 'tenant+states queued,running', plans }));
    // a 10,000-task array on the full store
    const times = [];
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      await store.createJobArray({
        id: `j-${(0xbe0c0000 + k).toString(16).padStart(16, '0')}`,
        tenant: 't1',
        submittedBy: 'u1',
        spec: JSON.parse(SPEC),
        indices: Array.from({ length: 10_000 }, (_, i) => i),
        expression: '0-9999',
        throttle: 50,
        priority: 0,
        submittedAt: T0 + JOBS + k,
        idempotencyKey: null,
      });
      times.push(performance.now() - t);
    }
    console.log(JSON.stringify({ store: label, createArrayOf10000TasksMs: times.map(round) }));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (ONLY !== 'postgres') await bench('sqlite', undefined);
const url = ONLY === 'sqlite' ? null : await pgUrl();
if (url) {
  const schema = await freshPgSchema(url, 'suanli_bench_list');
  try {
    await bench('postgres', schema.url);
  } finally {
    await schema.drop();
  }
} else if (ONLY !== 'sqlite')
  console.log(JSON.stringify({ store: 'postgres', skipped: 'no PostgreSQL (bash scripts/pg-ci.sh up)' }));
