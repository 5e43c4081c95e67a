/**
 * Quick throughput figures for the Store (not a test; nothing asserts a speed):
 *   node packages/store/dist/bench/store-bench.js [jobs=5000]
 * SQLite runs in a temp dir; PostgreSQL runs in a throwaway schema when SUANLI_TEST_PG_URL or
 * /run/suanli-pg/url names a server (`bash scripts/pg-ci.sh up`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { makeNewJob } from '../contract.js';
import { openStore } from '../open.js';
import { openPostgresStore } from '../postgres/postgres-store.js';
import type { Store } from '../store.js';

const JOBS = Number(process.argv[2] ?? 5000);
const CONCURRENCY = 32;

async function timed(label: string, count: number, fn: () => Promise<void>): Promise<void> {
  const t0 = process.hrtime.bigint();
  await fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(
    `  ${label.padEnd(44)} ${count.toString().padStart(6)} in ${ms.toFixed(0).padStart(6)} ms = ${((count / ms) * 1000).toFixed(0).padStart(7)} /s`,
  );
}

async function bench(name: string, store: Store): Promise<void> {
  console.log(`${name}:`);
  await store.migrate();
  const ids: string[] = [];
  await timed('createJob, one at a time', JOBS, async () => {
    for (let i = 0; i < JOBS; i++)
      ids.push((await store.createJob(makeNewJob({ idempotencyKey: `seq-${i}` }))).job.id);
  });
  await timed(`createJob, ${CONCURRENCY} in flight`, JOBS, async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < JOBS) {
          next++;
          ids.push((await store.createJob(makeNewJob({ idempotencyKey: `par-${next}` }))).job.id);
        }
      }),
    );
  });
  await timed('createJob, repeated idempotency key', 1000, async () => {
    for (let i = 0; i < 1000; i++) await store.createJob(makeNewJob({ idempotencyKey: 'seq-1' }));
  });
  const some = ids.slice(0, 1000);
  await timed('transitionJob queued→starting', some.length, async () => {
    for (const id of some) await store.transitionJob(id, 'queued', 'starting', 1, 'bench', { attempt: 1 });
  });
  const queued = ids.slice(1000);
  await timed('setPendingReasons, one call', queued.length, async () => {
    await store.setPendingReasons(
      queued.map((jobId) => ({
        jobId,
        verdict: 'waits-for-turn',
        reason: 'behind others',
        estimatedStart: null,
      })),
    );
  });
  await timed('listJobs (100 newest), calls', 200, async () => {
    for (let i = 0; i < 200; i++) await store.listJobs({});
  });
  await timed('jobsInStates([queued]), calls', 5, async () => {
    for (let i = 0; i < 5; i++) await store.jobsInStates(['queued']);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'suanli-store-bench-'));
try {
  const sqlite = await openStore({ dataDir: dir });
  await bench('sqlite (WAL, synchronous=NORMAL)', sqlite);
  await sqlite.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const url =
  process.env['SUANLI_TEST_PG_URL'] ||
  (existsSync('/run/suanli-pg/url') ? readFileSync('/run/suanli-pg/url', 'utf8').trim() : '');
if (url) {
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  const schema = `suanli_bench_${process.pid}`;
  await admin.query(`create schema ${schema}`);
  try {
    const store = await openPostgresStore({ connectionString: url, schema });
    await bench('postgres (loopback)', store);
    await store.close();
  } finally {
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
} else {
  console.log('postgres: skipped (run `bash scripts/pg-ci.sh up`)');
}
