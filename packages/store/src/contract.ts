/**
 * The Store contract: one suite of behaviours that every Store implementation must show, run against
 * real databases (`sqlite.test.ts`, `postgres.test.ts` each call `defineStoreContract`). When a
 * backend behaves differently from another, a case here fails; add the case before fixing the backend.
 *
 * Concurrency cases issue overlapping calls on ONE store: on PostgreSQL they run on different pool
 * connections (truly concurrent), on SQLite they are serialized by the connection mutex (which is the
 * property under test there). Two stores on the same database are only used where the harness says
 * the backend supports that inside one process (`concurrentStoresInOneProcess`): two better-sqlite3
 * connections in one thread would block each other in the busy handler.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IllegalTransitionError, type ClusterNode, type JobSpec, type Placement } from '@suanli/core';
import { KyselyStore, LIST_JOBS_DEFAULT_LIMIT, LIST_JOBS_MAX_LIMIT } from './kysely-store.js';
import { MIGRATIONS } from './migrations/index.js';
import type { JobRecord, NewJob, NewJobArray, Store } from './store.js';

export interface StoreContractOptions {
  /** Opens another store on the same database as `store` (after `store` was closed, or beside it). */
  reopen(store: Store): Promise<Store>;
  /** May two stores on one database run concurrently in this process? (PostgreSQL yes, SQLite no.) */
  readonly concurrentStoresInOneProcess: boolean;
  /** When set, every case is skipped with this message. */
  readonly skip?: string;
}

// ---- fixtures: small builders with defaults, overridden per test ----

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, an arbitrary fixed epoch-ms origin

export function makeSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'train-llm',
    project: 'nlp',
    command: ['python', 'train.py', '--lr', '3e-4', 'quote " and 中文'],
    workingDir: null,
    env: { WANDB_MODE: 'offline', EMPTY: '' },
    replicas: 2,
    perReplica: {
      accelerators: 8,
      acceleratorTypes: ['nvidia-h200', 'ascend-910b'],
      cpuMillis: 64_000,
      memoryMiB: 512 * 1024,
    },
    timeLimitSeconds: 86_400,
    priorityClass: null,
    priority: null,
    retry: { maxAttempts: 3, retryOn: ['lost', 'failed'], backoffSeconds: 10 },
    preemptible: true,
    checkpointIntervalSeconds: null,
    ...overrides,
  };
}

let jobCounter = 0;
export function makeNewJob(overrides: Partial<NewJob> = {}): NewJob {
  jobCounter += 1;
  return {
    id: `job-${process.pid}-${jobCounter}`,
    tenant: 'lab-a',
    submittedBy: 'alice',
    spec: makeSpec(),
    priority: 0,
    submittedAt: T0 + jobCounter,
    idempotencyKey: null,
    ...overrides,
  };
}

const PLACEMENT: Placement = [
  { node: 'gpu-01', acceleratorIds: ['GPU-aaaa', 'GPU-bbbb'], cpuMillis: 8000, memoryMiB: 65_536 },
  { node: 'gpu-02', acceleratorIds: ['gpu-02/nvidia-h200/0'], cpuMillis: 8000, memoryMiB: 65_536 },
];

export function makeNode(name: string, overrides: Partial<ClusterNode> = {}): ClusterNode {
  return {
    name,
    state: 'ready',
    accelerators: [
      {
        id: `GPU-${name}-0`,
        index: 0,
        type: 'nvidia-h200',
        vendor: 'nvidia',
        source: 'nvidia-smi',
        healthy: true,
        model: 'NVIDIA H200',
        memoryMiB: 143_771,
      },
      { id: `${name}/npu/1`, index: 1, type: 'npu', vendor: 'ascend', source: 'declared', healthy: false },
    ],
    cpuMillis: 128_000,
    memoryMiB: 1_048_576,
    topology: { switch: 'sw-1', rack: 'r-7' },
    labels: { zone: 'hall-1', feature: 'nvlink' },
    ...overrides,
  };
}

/** Opens a migrated store; closes it after the body, also when the body throws. */
async function withStore(open: () => Promise<Store>, body: (store: Store) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await store.migrate();
    await body(store);
  } finally {
    await store.close();
  }
}

async function createMany(
  store: Store,
  count: number,
  overrides: (i: number) => Partial<NewJob> = () => ({}),
): Promise<JobRecord[]> {
  // Concurrent in batches: on PostgreSQL this uses the pool; on SQLite calls queue on the mutex.
  const out: JobRecord[] = [];
  const BATCH = 50;
  for (let i = 0; i < count; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, count - i) }, (_, k) =>
        store.createJob(makeNewJob({ submittedAt: T0 + i + k, ...overrides(i + k) })),
      ),
    );
    out.push(...batch.map((b) => b.job));
  }
  return out;
}

export function defineStoreContract(
  name: string,
  open: () => Promise<Store>,
  options: StoreContractOptions,
): void {
  const run = (body: (store: Store) => Promise<void>) => () => withStore(open, body);

  void describe(`Store contract: ${name}`, { skip: options.skip ?? false }, () => {
    void describe('migrations', () => {
      void it('a second migrate() applies nothing and the store keeps working', async () => {
        const store = await open();
        try {
          if (store instanceof KyselyStore) {
            const first = await store.migrateWithResult();
            assert.deepEqual(
              first.applied,
              MIGRATIONS.map((m) => m.version),
            );
            const second = await store.migrateWithResult();
            assert.deepEqual(second, { applied: [], version: MIGRATIONS.length });
          } else {
            await store.migrate();
            await store.migrate();
          }
          assert.equal(await store.getJob('nope'), null);
        } finally {
          await store.close();
        }
      });

      void it(
        'two stores migrating one database at once apply each migration exactly once',
        { skip: !options.concurrentStoresInOneProcess },
        async () => {
          const a = await open();
          const b = await options.reopen(a);
          try {
            assert.ok(a instanceof KyselyStore && b instanceof KyselyStore);
            const [ra, rb] = await Promise.all([a.migrateWithResult(), b.migrateWithResult()]);
            assert.deepEqual(
              [...ra.applied, ...rb.applied].sort(),
              MIGRATIONS.map((m) => m.version),
            );
            const created = await a.createJob(makeNewJob());
            assert.equal((await b.getJob(created.job.id))?.id, created.job.id);
          } finally {
            await a.close();
            await b.close();
          }
        },
      );
    });

    void describe('meta', () => {
      void it(
        'getMeta is null for an absent key; initMeta sets it once and keeps the first value',
        run(async (store) => {
          assert.equal(await store.getMeta('admin-token-hash'), null);
          assert.equal(await store.initMeta('admin-token-hash', 'first'), 'first');
          assert.equal(await store.initMeta('admin-token-hash', 'second'), 'first');
          assert.equal(await store.getMeta('admin-token-hash'), 'first');
        }),
      );

      void it(
        'setMeta replaces the value whatever it held (admin token rotation)',
        run(async (store) => {
          await store.setMeta('admin-token-hash', 'first');
          assert.equal(await store.getMeta('admin-token-hash'), 'first');
          await store.setMeta('admin-token-hash', 'rotated');
          assert.equal(await store.getMeta('admin-token-hash'), 'rotated');
          assert.equal(await store.initMeta('admin-token-hash', 'again'), 'rotated');
        }),
      );

      void it(
        'concurrent initMeta calls all return the one value that was stored',
        run(async (store) => {
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => store.initMeta('cluster-id', `candidate-${i}`)),
          );
          const stored = await store.getMeta('cluster-id');
          assert.ok(stored !== null && stored.startsWith('candidate-'));
          assert.deepEqual(new Set(results), new Set([stored]));
        }),
      );
    });

    void describe('createJob', () => {
      void it(
        'creates a queued job with attempt 0, queuedAt = submittedAt and a "submitted" transition',
        run(async (store) => {
          const input = makeNewJob({ submittedAt: T0 + 5, priority: 7, idempotencyKey: 'k-1' });
          const { job, created } = await store.createJob(input);
          assert.equal(created, true);
          assert.deepEqual(job, {
            id: input.id,
            seq: job.seq,
            tenant: 'lab-a',
            project: 'nlp',
            name: 'train-llm',
            submittedBy: 'alice',
            spec: input.spec,
            state: 'queued',
            priority: 7,
            submittedAt: T0 + 5,
            queuedAt: T0 + 5,
            attempt: 0,
            placement: null,
            executorRef: null,
            startedAt: null,
            finishedAt: null,
            exitCode: null,
            pendingVerdict: null,
            pendingReason: null,
            pendingDetail: null,
            estimatedStart: null,
            notBefore: null,
            cancelRequestedAt: null,
            idempotencyKey: 'k-1',
            arrayId: null,
            arrayIndex: null,
            arrayThrottle: null,
          });
          assert.equal(typeof job.seq, 'number');
          assert.deepEqual(await store.getJob(input.id), job);
          assert.deepEqual(await store.listTransitions(input.id), [
            {
              jobId: input.id,
              seq: 1,
              from: null,
              to: 'queued',
              at: T0 + 5,
              reason: 'submitted',
              attempt: 0,
            },
          ]);
        }),
      );

      void it(
        'the spec round-trips exactly (booleans, nulls, unicode, empty strings, nested arrays)',
        run(async (store) => {
          const spec = makeSpec({
            name: 'ft-中文',
            workingDir: '/data/实验',
            env: { A: '', B: 'line1\nline2', C: '{"json":true}' },
            preemptible: false,
            priority: -5,
            priorityClass: 'high',
            timeLimitSeconds: null,
            checkpointIntervalSeconds: 1800,
            perReplica: { accelerators: 0, acceleratorTypes: [], cpuMillis: 500, memoryMiB: 1 },
          });
          const { job } = await store.createJob(makeNewJob({ spec }));
          const read = await store.getJob(job.id);
          assert.deepEqual(read?.spec, spec);
          assert.equal(read?.spec.preemptible, false);
          assert.equal(read?.name, 'ft-中文');
        }),
      );

      void it(
        'a repeated (tenant, idempotencyKey) returns the existing job with created=false',
        run(async (store) => {
          const first = await store.createJob(makeNewJob({ idempotencyKey: 'retry-me' }));
          const again = await store.createJob(
            makeNewJob({ idempotencyKey: 'retry-me', spec: makeSpec({ name: 'other' }) }),
          );
          assert.equal(again.created, false);
          assert.deepEqual(again.job, first.job);
          assert.equal((await store.listTransitions(first.job.id)).length, 1);
          assert.equal((await store.listJobs({})).length, 1);
        }),
      );

      void it(
        'the same key in another tenant, or no key at all, creates separate jobs',
        run(async (store) => {
          const a = await store.createJob(makeNewJob({ tenant: 'lab-a', idempotencyKey: 'same' }));
          const b = await store.createJob(makeNewJob({ tenant: 'lab-b', idempotencyKey: 'same' }));
          const c = await store.createJob(makeNewJob({ idempotencyKey: null }));
          const d = await store.createJob(makeNewJob({ idempotencyKey: null }));
          assert.deepEqual([a.created, b.created, c.created, d.created], [true, true, true, true]);
          assert.equal(new Set([a.job.id, b.job.id, c.job.id, d.job.id]).size, 4);
        }),
      );

      void it(
        'concurrent creates with one key create exactly one job; all callers get it',
        run(async (store) => {
          const results = await Promise.all(
            Array.from({ length: 20 }, () => store.createJob(makeNewJob({ idempotencyKey: 'burst' }))),
          );
          assert.equal(results.filter((r) => r.created).length, 1);
          const winner = results.find((r) => r.created)?.job;
          assert.ok(winner);
          for (const r of results) assert.deepEqual(r.job, winner);
          assert.deepEqual(
            (await store.listJobs({ tenant: 'lab-a' })).map((j) => j.id),
            [winner.id],
          );
          assert.equal((await store.listTransitions(winner.id)).length, 1);
        }),
      );

      void it(
        'a create that fails (duplicate id) rejects alone; concurrent creates are unaffected',
        run(async (store) => {
          const { job: existing } = await store.createJob(makeNewJob());
          const results = await Promise.allSettled([
            ...Array.from({ length: 5 }, () => store.createJob(makeNewJob())),
            store.createJob(makeNewJob({ id: existing.id, idempotencyKey: 'other-key' })),
            ...Array.from({ length: 5 }, () => store.createJob(makeNewJob())),
          ]);
          assert.deepEqual(
            results.map((r) => r.status),
            [...Array<string>(5).fill('fulfilled'), 'rejected', ...Array<string>(5).fill('fulfilled')],
          );
          assert.equal((await store.listJobs({})).length, 11);
          assert.deepEqual(await store.getJob(existing.id), existing);
          assert.equal((await store.listTransitions(existing.id)).length, 1);
        }),
      );

      void it(
        'seq increases in submission order',
        run(async (store) => {
          const a = await store.createJob(makeNewJob());
          const b = await store.createJob(makeNewJob());
          const c = await store.createJob(makeNewJob());
          assert.ok(a.job.seq < b.job.seq && b.job.seq < c.job.seq);
        }),
      );

      void it(
        'rejects a time that is not an integer number of epoch ms',
        run(async (store) => {
          await assert.rejects(
            store.createJob(makeNewJob({ submittedAt: 1.5 })),
            /submittedAt must be an integer number of epoch milliseconds/,
          );
          assert.deepEqual(await store.listJobs({}), []);
        }),
      );
    });

    void describe('transitionJob and patchJob', () => {
      void it(
        'moves the state, applies the patch and appends the transition, in order',
        run(async (store) => {
          const { job } = await store.createJob(makeNewJob({ submittedAt: T0 }));
          const starting = await store.transitionJob(
            job.id,
            'queued',
            'starting',
            T0 + 10,
            'placed on gpu-01,gpu-02',
            {
              attempt: 1,
              placement: PLACEMENT,
              executorRef: '{"pid":123,"startTicks":456}',
              pendingVerdict: null,
            },
          );
          assert.equal(starting?.state, 'starting');
          assert.equal(starting?.attempt, 1);
          assert.deepEqual(starting?.placement, PLACEMENT);
          assert.equal(starting?.executorRef, '{"pid":123,"startTicks":456}');
          const running = await store.transitionJob(
            job.id,
            'starting',
            'running',
            T0 + 20,
            'process started',
            { startedAt: T0 + 20 },
          );
          assert.equal(running?.startedAt, T0 + 20);
          assert.deepEqual(running?.placement, PLACEMENT, 'fields absent from the patch are unchanged');
          const done = await store.transitionJob(job.id, 'running', 'succeeded', T0 + 30, 'exit 0', {
            finishedAt: T0 + 30,
            exitCode: 0,
          });
          assert.equal(done?.state, 'succeeded');
          assert.equal(done?.exitCode, 0);
          assert.deepEqual(await store.getJob(job.id), done);
          assert.deepEqual(await store.listTransitions(job.id), [
            { jobId: job.id, seq: 1, from: null, to: 'queued', at: T0, reason: 'submitted', attempt: 0 },
            {
              jobId: job.id,
              seq: 2,
              from: 'queued',
              to: 'starting',
              at: T0 + 10,
              reason: 'placed on gpu-01,gpu-02',
              attempt: 1,
            },
            {
              jobId: job.id,
              seq: 3,
              from: 'starting',
              to: 'running',
              at: T0 + 20,
              reason: 'process started',
              attempt: 1,
            },
            {
              jobId: job.id,
              seq: 4,
              from: 'running',
              to: 'succeeded',
              at: T0 + 30,
              reason: 'exit 0',
              attempt: 1,
            },
          ]);
        }),
      );

      void it(
        'a requeue clears fields with null and moves queuedAt',
        run(async (store) => {
          const { job } = await store.createJob(makeNewJob({ submittedAt: T0 }));
          await store.transitionJob(job.id, 'queued', 'starting', T0 + 1, 'placed', {
            attempt: 1,
            placement: PLACEMENT,
            executorRef: 'slurm:42',
          });
          await store.transitionJob(job.id, 'starting', 'running', T0 + 2, 'started', { startedAt: T0 + 2 });
          await store.transitionJob(job.id, 'running', 'preempted', T0 + 3, 'preempted for lab-b');
          await store.transitionJob(job.id, 'preempted', 'requeued', T0 + 4, 'will retry');
          const queued = await store.transitionJob(job.id, 'requeued', 'queued', T0 + 4, 'requeued', {
            placement: null,
            executorRef: null,
            startedAt: null,
            queuedAt: T0 + 4,
            notBefore: T0 + 10_004,
          });
          assert.equal(queued?.state, 'queued');
          assert.equal(queued?.placement, null);
          assert.equal(queued?.executorRef, null);
          assert.equal(queued?.startedAt, null);
          assert.equal(queued?.queuedAt, T0 + 4);
          assert.equal(queued?.submittedAt, T0);
          assert.equal(queued?.notBefore, T0 + 10_004);
          assert.equal(queued?.attempt, 1);
          const trail = await store.listTransitions(job.id);
          assert.deepEqual(
            trail.map((t) => t.seq),
            [1, 2, 3, 4, 5, 6],
          );
          assert.deepEqual(
            trail.map((t) => t.to),
            ['queued', 'starting', 'running', 'preempted', 'requeued', 'queued'],
          );
        }),
      );

      void it(
        'returns null and records nothing when the job is not in the expected state or does not exist',
        run(async (store) => {
          const { job } = await store.createJob(makeNewJob());
          assert.equal(await store.transitionJob(job.id, 'running', 'succeeded', T0 + 1, 'x'), null);
          assert.equal(await store.transitionJob('no-such-job', 'queued', 'starting', T0 + 1, 'x'), null);
          assert.equal((await store.getJob(job.id))?.state, 'queued');
          assert.equal((await store.listTransitions(job.id)).length, 1);
        }),
      );

      void it(
        'rejects an illegal pair with IllegalTransitionError and changes nothing',
        run(async (store) => {
          const { job } = await store.createJob(makeNewJob());
          await assert.rejects(
            store.transitionJob(job.id, 'queued', 'succeeded', T0 + 1, 'x'),
            (err: unknown) => {
              assert.ok(err instanceof IllegalTransitionError);
              assert.equal(err.from, 'queued');
              assert.equal(err.to, 'succeeded');
              return true;
            },
          );
          assert.equal((await store.getJob(job.id))?.state, 'queued');
          assert.equal((await store.listTransitions(job.id)).length, 1);
        }),
      );

      void it(
        'two concurrent transitions from the same state: exactly one wins, the other gets null',
        run(async (store) => {
          for (let round = 0; round < 5; round++) {
            const { job } = await store.createJob(makeNewJob());
            const [start, cancel] = await Promise.all([
              store.transitionJob(job.id, 'queued', 'starting', T0 + 1, 'scheduler', { attempt: 1 }),
              store.transitionJob(job.id, 'queued', 'cancelled', T0 + 1, 'user cancel', {
                finishedAt: T0 + 1,
              }),
            ]);
            assert.equal([start, cancel].filter((r) => r !== null).length, 1, `round ${round}`);
            const winner = start ?? cancel;
            assert.equal((await store.getJob(job.id))?.state, winner?.state);
            const trail = await store.listTransitions(job.id);
            assert.deepEqual(
              trail.map((t) => t.to),
              ['queued', winner?.state],
            );
          }
        }),
      );

      void it(
        'many concurrent transitions of one job from the same state: one winner',
        run(async (store) => {
          const { job } = await store.createJob(makeNewJob());
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              store.transitionJob(job.id, 'queued', 'starting', T0 + i, `cycle ${i}`, { attempt: 1 }),
            ),
          );
          assert.equal(results.filter((r) => r !== null).length, 1);
          assert.equal((await store.listTransitions(job.id)).length, 2);
        }),
      );

      void it(
        'patchJob is compare-and-set on state and records no transition',
        run(async (store) => {
          const { job } = await store.createJob(makeNewJob());
          const patched = await store.patchJob(job.id, 'queued', {
            cancelRequestedAt: T0 + 9,
            pendingReason: 'quota',
            notBefore: T0 + 99,
          });
          assert.equal(patched?.cancelRequestedAt, T0 + 9);
          assert.equal(patched?.pendingReason, 'quota');
          assert.equal(patched?.notBefore, T0 + 99);
          assert.equal(patched?.state, 'queued');
          assert.equal(await store.patchJob(job.id, 'running', { exitCode: 1 }), null);
          assert.equal((await store.getJob(job.id))?.exitCode, null);
          assert.deepEqual(
            await store.patchJob(job.id, 'queued', {}),
            await store.getJob(job.id),
            'an empty patch reads the job',
          );
          assert.equal(await store.patchJob('no-such-job', 'queued', { exitCode: 1 }), null);
          assert.equal((await store.listTransitions(job.id)).length, 1);
        }),
      );
    });

    void describe('pending reasons and listings', () => {
      void it(
        'countJobsByState counts by state (all tenants or one) with the oldest queuedAt, reading no job',
        run(async (store) => {
          assert.deepEqual(await store.countJobsByState(), []);
          const a1 = (await store.createJob(makeNewJob({ tenant: 'lab-a' }))).job;
          const a2 = (await store.createJob(makeNewJob({ tenant: 'lab-a' }))).job;
          const b1 = (await store.createJob(makeNewJob({ tenant: 'lab-b' }))).job;
          await store.transitionJob(a2.id, 'queued', 'starting', T0 + 100, 'placed');
          assert.deepEqual(await store.countJobsByState(), [
            { state: 'queued', count: 2, oldestQueuedAt: Math.min(a1.queuedAt, b1.queuedAt) },
            { state: 'starting', count: 1, oldestQueuedAt: a2.queuedAt },
          ]);
          assert.deepEqual(await store.countJobsByState({ tenant: 'lab-b' }), [
            { state: 'queued', count: 1, oldestQueuedAt: b1.queuedAt },
          ]);
          assert.deepEqual(await store.countJobsByState({ tenant: 'nobody' }), []);
          assert.deepEqual(
            await store.countJobsByState({ tenant: 'lab-a', states: ['starting', 'running'] }),
            [{ state: 'starting', count: 1, oldestQueuedAt: a2.queuedAt }],
          );
          assert.deepEqual(await store.countJobsByState({ states: [] }), []);
        }),
      );

      void it(
        'setPendingReasons updates only jobs still queued and ignores unknown ids',
        run(async (store) => {
          const queued = (await store.createJob(makeNewJob())).job;
          const starting = (await store.createJob(makeNewJob())).job;
          const cancelled = (await store.createJob(makeNewJob())).job;
          await store.transitionJob(starting.id, 'queued', 'starting', T0 + 1, 'placed');
          await store.transitionJob(cancelled.id, 'queued', 'cancelled', T0 + 1, 'user');
          await store.setPendingReasons([
            { jobId: queued.id, verdict: 'waits-for-quota', reason: 'stale', estimatedStart: null },
            {
              jobId: queued.id,
              verdict: 'waits-for-capacity',
              reason: 'needs 16 nvidia-h200, 8 free',
              estimatedStart: T0 + 3_600_000,
              detail: { code: 'expected-start', at: T0 + 3_600_000, reserved: true },
            },
            { jobId: starting.id, verdict: 'waits-for-capacity', reason: 'x', estimatedStart: null },
            { jobId: cancelled.id, verdict: 'can-never-fit', reason: 'x', estimatedStart: null },
            { jobId: 'no-such-job', verdict: 'waits-for-turn', reason: 'x', estimatedStart: null },
          ]);
          const q = await store.getJob(queued.id);
          assert.equal(q?.pendingVerdict, 'waits-for-capacity', 'the last update for a job wins');
          assert.equal(q?.pendingReason, 'needs 16 nvidia-h200, 8 free');
          assert.equal(q?.estimatedStart, T0 + 3_600_000);
          assert.deepEqual(q?.pendingDetail, { code: 'expected-start', at: T0 + 3_600_000, reserved: true });
          assert.equal((await store.getJob(starting.id))?.pendingVerdict, null);
          assert.equal((await store.getJob(cancelled.id))?.pendingVerdict, null);
          await store.setPendingReasons([]);
          assert.equal((await store.getJob(queued.id))?.pendingVerdict, 'waits-for-capacity');
          // A verdict without detail clears the previous one; so does a verdict set by a patch.
          await store.setPendingReasons([
            { jobId: queued.id, verdict: 'waits-for-turn', reason: 'behind', estimatedStart: null },
          ]);
          assert.equal((await store.getJob(queued.id))?.pendingDetail, null);
          await store.setPendingReasons([
            {
              jobId: queued.id,
              verdict: 'behind-booking',
              reason: 'booked',
              estimatedStart: null,
              detail: {
                code: 'booked-until',
                at: T0 + 60_000,
                window: 'bk-1',
                tenant: null,
                acceleratorType: 'gpu',
              },
            },
          ]);
          assert.deepEqual((await store.getJob(queued.id))?.pendingDetail, {
            code: 'booked-until',
            at: T0 + 60_000,
            window: 'bk-1',
            tenant: null,
            acceleratorType: 'gpu',
          });
          await store.patchJob(queued.id, 'queued', { pendingVerdict: null });
          assert.equal((await store.getJob(queued.id))?.pendingDetail, null);
        }),
      );

      void it(
        'listJobs is newest first and filters by states, tenant, project and beforeSeq',
        run(async (store) => {
          const a = (await store.createJob(makeNewJob({ tenant: 't1', spec: makeSpec({ project: 'p1' }) })))
            .job;
          const b = (await store.createJob(makeNewJob({ tenant: 't2', spec: makeSpec({ project: 'p1' }) })))
            .job;
          const c = (await store.createJob(makeNewJob({ tenant: 't1', spec: makeSpec({ project: 'p2' }) })))
            .job;
          await store.transitionJob(b.id, 'queued', 'starting', T0 + 1, 'placed');
          const ids = (jobs: JobRecord[]) => jobs.map((j) => j.id);
          assert.deepEqual(ids(await store.listJobs({})), [c.id, b.id, a.id]);
          assert.deepEqual(ids(await store.listJobs({ states: ['queued'] })), [c.id, a.id]);
          assert.deepEqual(ids(await store.listJobs({ states: ['starting', 'running'] })), [b.id]);
          assert.deepEqual(ids(await store.listJobs({ states: [] })), []);
          assert.deepEqual(ids(await store.listJobs({ tenant: 't1' })), [c.id, a.id]);
          assert.deepEqual(ids(await store.listJobs({ project: 'p1' })), [b.id, a.id]);
          assert.deepEqual(ids(await store.listJobs({ tenant: 't1', project: 'p1', states: ['queued'] })), [
            a.id,
          ]);
          assert.deepEqual(ids(await store.listJobs({ beforeSeq: c.seq })), [b.id, a.id]);
          assert.deepEqual(ids(await store.listJobs({ limit: 2 })), [c.id, b.id]);
          assert.deepEqual(ids(await store.listJobs({ limit: 2, beforeSeq: b.seq })), [a.id]);
          assert.deepEqual(ids(await store.jobsInStates(['queued', 'starting'])), [a.id, b.id, c.id]);
          assert.deepEqual(ids(await store.jobsInStates(['starting'])), [b.id]);
          assert.deepEqual(await store.jobsInStates([]), []);
        }),
      );

      void it(
        'with more than 1000 jobs: limit defaults to 100, is capped at 1000; bulk pending update of all',
        run(async (store) => {
          const COUNT = LIST_JOBS_MAX_LIMIT + 50;
          const jobs = await createMany(store, COUNT);
          assert.equal((await store.listJobs({})).length, LIST_JOBS_DEFAULT_LIMIT);
          assert.equal((await store.listJobs({ limit: 5000 })).length, LIST_JOBS_MAX_LIMIT);
          assert.equal((await store.listJobs({ limit: 0 })).length, 1);
          const working = await store.jobsInStates(['queued']);
          assert.equal(working.length, COUNT);
          assert.ok(
            working.every((j, i) => i === 0 || (working[i - 1]?.seq ?? Infinity) < j.seq),
            'oldest first',
          );
          await store.setPendingReasons(
            jobs.map((j, i) => ({
              jobId: j.id,
              verdict: 'waits-for-turn',
              reason: `behind ${i} jobs`,
              estimatedStart: T0 + i,
            })),
          );
          const after = await store.jobsInStates(['queued']);
          assert.ok(after.every((j) => j.pendingVerdict === 'waits-for-turn'));
          const last = jobs[COUNT - 1];
          assert.ok(last);
          assert.equal((await store.getJob(last.id))?.pendingReason, `behind ${COUNT - 1} jobs`);
          assert.equal((await store.getJob(last.id))?.estimatedStart, T0 + COUNT - 1);
        }),
      );
    });

    void describe('change feed (onChange)', () => {
      void it(
        'reports each committed create, transition and patch with the row as committed, and nothing for a write that changed nothing',
        run(async (store) => {
          const seen: string[] = [];
          const off = store.onChange((c) => {
            if (c.kind === 'jobs')
              for (const j of c.jobs) seen.push(`${j.id}:${j.state}:${j.cancelRequestedAt ?? '-'}`);
            else seen.push('nodes');
          });
          const { job } = await store.createJob(makeNewJob({ submittedAt: T0, idempotencyKey: 'k1' }));
          const again = await store.createJob(makeNewJob({ submittedAt: T0, idempotencyKey: 'k1' }));
          assert.equal(again.created, false);
          assert.equal(await store.transitionJob(job.id, 'running', 'succeeded', T0 + 1, 'lost race'), null);
          await store.transitionJob(job.id, 'queued', 'starting', T0 + 2, 'placed', { attempt: 1 });
          assert.equal(await store.patchJob(job.id, 'queued', { cancelRequestedAt: T0 + 3 }), null);
          await store.patchJob(job.id, 'starting', { cancelRequestedAt: T0 + 3 });
          await store.upsertNodes([makeNode('gpu-01')], T0 + 4);
          assert.equal(await store.setNodeAdminState('no-such-node', 'draining', 'x', T0 + 5), false);
          await store.setNodeAdminState('gpu-01', 'draining', 'fan', T0 + 5);
          off();
          await store.transitionJob(job.id, 'starting', 'running', T0 + 6, 'started');
          assert.deepEqual(seen, [
            `${job.id}:queued:-`,
            `${job.id}:starting:-`,
            `${job.id}:starting:${T0 + 3}`,
            'nodes',
            'nodes',
          ]);
        }),
      );
    });

    void describe('nodes', () => {
      void it(
        'upsertNodes stores the inventory; node JSON round-trips; listNodes is by name',
        run(async (store) => {
          const n2 = makeNode('gpu-02');
          const n1 = makeNode('gpu-01', { topology: {}, labels: {} });
          await store.upsertNodes([n2, n1], T0);
          assert.deepEqual(await store.listNodes(), [
            { node: n1, adminState: null, adminReason: null, updatedAt: T0 },
            { node: n2, adminState: null, adminReason: null, updatedAt: T0 },
          ]);
          await store.upsertNodes([], T0 + 1);
          assert.equal((await store.listNodes()).length, 2);
        }),
      );

      void it(
        'upsertNodes replaces discovered data but keeps the operator override',
        run(async (store) => {
          await store.upsertNodes([makeNode('gpu-01'), makeNode('gpu-02')], T0);
          assert.equal(await store.setNodeAdminState('gpu-01', 'draining', 'replace fan', T0 + 1), true);
          const rediscovered = makeNode('gpu-01', { state: 'unhealthy', cpuMillis: 96_000 });
          await store.upsertNodes([rediscovered], T0 + 2);
          const [first, second] = await store.listNodes();
          assert.deepEqual(first, {
            node: rediscovered,
            adminState: 'draining',
            adminReason: 'replace fan',
            updatedAt: T0 + 2,
          });
          assert.deepEqual(second?.node, makeNode('gpu-02'));
          assert.equal(second?.updatedAt, T0, 'nodes not named in the upsert are left alone');
          assert.equal(await store.setNodeAdminState('gpu-01', null, null, T0 + 3), true);
          const cleared = (await store.listNodes())[0];
          assert.equal(cleared?.adminState, null);
          assert.equal(cleared?.adminReason, null);
        }),
      );

      void it(
        'setNodeAdminState returns false for an unknown node',
        run(async (store) => {
          assert.equal(await store.setNodeAdminState('ghost', 'down', 'x', T0), false);
          assert.deepEqual(await store.listNodes(), []);
        }),
      );

      void it(
        'the last entry wins when a name repeats within one upsert',
        run(async (store) => {
          await store.upsertNodes([makeNode('n', { cpuMillis: 1 }), makeNode('n', { cpuMillis: 2 })], T0);
          const nodes = await store.listNodes();
          assert.equal(nodes.length, 1);
          assert.equal(nodes[0]?.node.cpuMillis, 2);
        }),
      );
    });

    void describe('values both engines store alike', () => {
      void it(
        'text with a NUL character is refused with the field named, and nothing is written',
        run(async (store) => {
          const nul = 'a\u0000b';
          await assert.rejects(
            store.createJob(makeNewJob({ tenant: nul })),
            /tenant contains a NUL character/,
          );
          await assert.rejects(store.initMeta('k', nul), /meta value contains a NUL character/);
          const { job } = await store.createJob(makeNewJob());
          await assert.rejects(
            store.transitionJob(job.id, 'queued', 'starting', T0 + 1, `launch failed: ${nul}`),
            /reason contains a NUL character/,
          );
          await assert.rejects(
            store.setPendingReasons([
              { jobId: job.id, verdict: 'waits-for-turn', reason: nul, estimatedStart: null },
            ]),
            /reason contains a NUL character/,
          );
          await assert.rejects(
            store.patchJob(job.id, 'queued', { executorRef: nul }),
            /executorRef contains a NUL/,
          );
          assert.equal((await store.getJob(job.id))?.state, 'queued');
          assert.equal((await store.listJobs({})).length, 1);
          assert.equal(await store.getMeta('k'), null);
          // Inside JSON a NUL is escaped, so specs and node data may carry one.
          const spec = makeSpec({ env: { WEIRD: nul } });
          const withNul = await store.createJob(makeNewJob({ spec }));
          assert.deepEqual((await store.getJob(withNul.job.id))?.spec, spec);
        }),
      );
    });

    void describe('identity, audit and the usage ledger', () => {
      void it(
        'tenants, projects and memberships: create once, read, change a role, remove',
        run(async (store) => {
          assert.equal(
            await store.createTenant({ name: 'lab-a', displayName: 'Lab A 实验室', createdAt: T0 }),
            true,
          );
          assert.equal(
            await store.createTenant({ name: 'lab-a', displayName: 'again', createdAt: T0 + 1 }),
            false,
          );
          await store.createTenant({ name: 'corp-b', displayName: 'Corp B', createdAt: T0 });
          assert.deepEqual(await store.getTenant('lab-a'), {
            name: 'lab-a',
            displayName: 'Lab A 实验室',
            createdAt: T0,
          });
          assert.equal(await store.getTenant('nope'), null);
          assert.deepEqual(
            (await store.listTenants()).map((t) => t.name),
            ['corp-b', 'lab-a'],
          );
          assert.equal(await store.createProject({ tenant: 'lab-a', name: 'nlp', createdAt: T0 }), true);
          assert.equal(await store.createProject({ tenant: 'lab-a', name: 'nlp', createdAt: T0 }), false);
          await store.createProject({ tenant: 'corp-b', name: 'nlp', createdAt: T0 });
          assert.deepEqual(
            (await store.listProjects('lab-a')).map((p) => p.name),
            ['nlp'],
          );
          assert.equal((await store.listProjects()).length, 2);
          assert.equal((await store.getProject('corp-b', 'nlp'))?.tenant, 'corp-b');
          assert.equal(await store.getProject('corp-b', 'cv'), null);
          await store.setMembership({ tenant: 'lab-a', subject: 'alice', role: 'member', createdAt: T0 });
          await store.setMembership({
            tenant: 'lab-a',
            subject: 'alice',
            role: 'tenant-admin',
            createdAt: T0 + 5,
          });
          const m = await store.getMembership('lab-a', 'alice');
          assert.equal(m?.role, 'tenant-admin');
          assert.equal(m?.createdAt, T0, 'a role change keeps the membership date');
          await assert.rejects(
            store.setMembership({ tenant: 'lab-a', subject: 'bob', role: 'root' as 'admin', createdAt: T0 }),
            TypeError,
          );
          assert.equal((await store.listMemberships('lab-a')).length, 1);
          assert.equal(await store.deleteMembership('lab-a', 'alice'), true);
          assert.equal(await store.deleteMembership('lab-a', 'alice'), false);
          assert.equal(await store.getMembership('lab-a', 'alice'), null);
        }),
      );

      void it(
        'API tokens: stored as given, listed by tenant and subject, revoked exactly once',
        run(async (store) => {
          const tok = {
            id: 'abc123',
            hash: 'salt$hash',
            subject: 'alice',
            tenant: 'lab-a',
            name: 'ci pipeline',
            createdBy: 'admin',
            createdAt: T0,
            expiresAt: T0 + 86_400_000,
            revokedAt: null,
          };
          await store.createApiToken(tok);
          await store.createApiToken({ ...tok, id: 'def456', subject: 'bob', expiresAt: null });
          await store.createApiToken({ ...tok, id: 'ghi789', tenant: 'corp-b' });
          assert.deepEqual(await store.getApiToken('abc123'), tok);
          await assert.rejects(store.createApiToken(tok), 'a duplicate id is refused');
          assert.deepEqual(
            (await store.listApiTokens({ tenant: 'lab-a' })).map((t) => t.id),
            ['abc123', 'def456'],
          );
          assert.deepEqual(
            (await store.listApiTokens({ tenant: 'lab-a', subject: 'bob' })).map((t) => t.id),
            ['def456'],
          );
          assert.equal(await store.revokeApiToken('abc123', T0 + 10), true);
          assert.equal(
            await store.revokeApiToken('abc123', T0 + 20),
            false,
            'the first revocation time stays',
          );
          assert.equal(await store.revokeApiToken('nope', T0), false);
          assert.equal((await store.getApiToken('abc123'))?.revokedAt, T0 + 10);
        }),
      );

      void it(
        'audit: appended in order, filtered, paged by seq; the Store offers no way to change an entry',
        run(async (store) => {
          const entry = (i: number, subject: string | null) => ({
            at: T0 + i * 1000,
            subject,
            tenant: subject === null ? null : 'lab-a',
            role: subject === null ? null : 'member',
            method: 'POST',
            route: '/api/v1/jobs',
            target: `j-${i}`,
            ip: '127.0.0.1',
            status: i % 2 === 0 ? 201 : 400,
            errorCode: i % 2 === 0 ? null : 'JOB_SPEC_INVALID',
            requestId: `req-${i}`,
          });
          for (let i = 0; i < 6; i++)
            await store.appendAudit(entry(i, i === 5 ? null : i < 3 ? 'alice' : 'bob'));
          const all = await store.listAudit({});
          assert.equal(all.length, 6);
          assert.deepEqual(
            all.map((a) => a.requestId),
            ['req-0', 'req-1', 'req-2', 'req-3', 'req-4', 'req-5'],
          );
          const { seq: _seq, ...first } = all[0]!;
          assert.deepEqual(first, entry(0, 'alice'));
          assert.equal(all[5]?.subject, null);
          assert.equal((await store.listAudit({ subject: 'alice' })).length, 3);
          assert.deepEqual(
            (await store.listAudit({ from: T0 + 1000, to: T0 + 3000 })).map((a) => a.requestId),
            ['req-1', 'req-2'],
          );
          const page = await store.listAudit({ afterSeq: all[3]!.seq, limit: 1 });
          assert.deepEqual(
            page.map((a) => a.requestId),
            ['req-4'],
          );
          for (const m of ['updateAudit', 'deleteAudit', 'clearAudit'])
            assert.equal((store as unknown as Record<string, unknown>)[m], undefined);
        }),
      );

      void it(
        "the ledger gets one row per ended attempt, in the transition, with the recorded times and the devices' type",
        run(async (store) => {
          await store.upsertNodes([makeNode('gpu-01'), makeNode('gpu-02')], T0);
          const placement: Placement = [
            { node: 'gpu-01', acceleratorIds: ['GPU-gpu-01-0'], cpuMillis: 4000, memoryMiB: 1024 },
            { node: 'gpu-02', acceleratorIds: ['GPU-gpu-02-0'], cpuMillis: 4000, memoryMiB: 1024 },
          ];
          const { job } = await store.createJob(makeNewJob({ tenant: 'lab-a' }));
          await store.transitionJob(job.id, 'queued', 'starting', T0 + 100, 'placed', {
            attempt: 1,
            placement,
          });
          await store.transitionJob(job.id, 'starting', 'running', T0 + 200, 'started', {
            startedAt: T0 + 200,
          });
          assert.deepEqual(
            await store.listUsage({ from: T0, to: T0 + 10_000_000 }),
            [],
            'nothing until the attempt ends',
          );
          // A lost CAS (wrong from) writes no ledger row.
          assert.equal(
            await store.transitionJob(job.id, 'starting', 'failed', T0 + 300, 'x', { finishedAt: T0 + 300 }),
            null,
          );
          await store.transitionJob(job.id, 'running', 'preempted', T0 + 5200, 'preempted', {
            finishedAt: T0 + 5200,
            attemptResources: { peakMemoryBytes: 85_899_345_920, cpuTimeMs: 3_600_000 },
          });
          await store.transitionJob(job.id, 'preempted', 'requeued', T0 + 5200, 'requeue');
          await store.transitionJob(job.id, 'requeued', 'queued', T0 + 5200, 'back', {
            queuedAt: T0 + 5200,
            placement: null,
            startedAt: null,
            finishedAt: null,
          });
          await store.transitionJob(job.id, 'queued', 'starting', T0 + 6000, 'placed', {
            attempt: 2,
            placement,
          });
          // Launch failed before the process ran: an interval of zero length.
          await store.transitionJob(job.id, 'starting', 'failed', T0 + 6100, 'launch failed', {
            finishedAt: T0 + 6100,
          });
          const rows = await store.listUsage({ from: T0, to: T0 + 10_000_000 });
          assert.deepEqual(rows, [
            {
              jobId: job.id,
              attempt: 1,
              tenant: 'lab-a',
              project: 'nlp',
              acceleratorType: 'nvidia-h200',
              accelerators: 2,
              cpuMillis: 8000,
              memoryMiB: 2048,
              startedAt: T0 + 200,
              finishedAt: T0 + 5200,
              endState: 'preempted',
              peakMemoryBytes: 85_899_345_920,
              cpuTimeMs: 3_600_000,
            },
            {
              jobId: job.id,
              attempt: 2,
              tenant: 'lab-a',
              project: 'nlp',
              acceleratorType: 'nvidia-h200',
              accelerators: 2,
              cpuMillis: 8000,
              memoryMiB: 2048,
              startedAt: T0 + 6100,
              finishedAt: T0 + 6100,
              endState: 'failed',
              peakMemoryBytes: null,
              cpuTimeMs: null,
            },
          ]);
          assert.deepEqual(
            await store.listJobAttempts(job.id),
            rows,
            "a job's attempts are its ledger rows in attempt order",
          );
          assert.equal(
            (await store.listUsage({ from: T0 + 5300, to: T0 + 6000 })).length,
            0,
            'no overlap, no row',
          );
          assert.equal(
            (await store.listUsage({ from: T0, to: T0 + 10_000_000, tenant: 'corp-b' })).length,
            0,
          );
        }),
      );

      void it(
        "an attempt's measured resources go on its ledger row: a job's attempts in order, only that job's, unknown as null",
        run(async (store) => {
          const end = async (
            id: string,
            attempt: number,
            to: 'failed' | 'lost' | 'preempted' | 'succeeded',
            at: number,
            attemptResources?: { peakMemoryBytes: number | null; cpuTimeMs: number | null } | null,
          ) => {
            await store.transitionJob(id, 'queued', 'starting', at - 20, 'placed', {
              attempt,
              placement: PLACEMENT,
            });
            await store.transitionJob(id, 'starting', 'running', at - 10, 'started', { startedAt: at - 10 });
            await store.transitionJob(id, 'running', to, at, 'ended', {
              finishedAt: at,
              ...(attemptResources !== undefined ? { attemptResources } : {}),
            });
          };
          const { job } = await store.createJob(makeNewJob());
          const { job: other } = await store.createJob(makeNewJob());
          assert.deepEqual(await store.listJobAttempts(job.id), [], 'no attempt ended yet');
          await end(job.id, 1, 'lost', T0 + 100, { peakMemoryBytes: null, cpuTimeMs: 1234 });
          await store.transitionJob(job.id, 'lost', 'requeued', T0 + 101, 'retry');
          await store.transitionJob(job.id, 'requeued', 'queued', T0 + 102, 'back', { queuedAt: T0 + 102 });
          // 3 GiB + 1 byte: past 32 bits, exact on both backends.
          await end(job.id, 2, 'failed', T0 + 200, { peakMemoryBytes: 3 * 2 ** 30 + 1, cpuTimeMs: null });
          await end(other.id, 1, 'succeeded', T0 + 150);
          const attempts = await store.listJobAttempts(job.id);
          assert.deepEqual(
            attempts.map((a) => [a.attempt, a.endState, a.peakMemoryBytes, a.cpuTimeMs]),
            [
              [1, 'lost', null, 1234],
              [2, 'failed', 3 * 2 ** 30 + 1, null],
            ],
          );
          assert.deepEqual(
            (await store.listJobAttempts(other.id)).map((a) => [a.attempt, a.peakMemoryBytes, a.cpuTimeMs]),
            [[1, null, null]],
            'no attemptResources in the patch: unknown',
          );
          assert.deepEqual(await store.listJobAttempts('no-such-job'), []);
          const { job: bad } = await store.createJob(makeNewJob());
          await store.transitionJob(bad.id, 'queued', 'starting', T0 + 1, 'placed', {
            attempt: 1,
            placement: PLACEMENT,
          });
          for (const v of [-1, 1.5, Number.NaN])
            await assert.rejects(
              store.transitionJob(bad.id, 'starting', 'failed', T0 + 2, 'x', {
                attemptResources: { peakMemoryBytes: v, cpuTimeMs: 0 },
              }),
              TypeError,
            );
          assert.equal((await store.getJob(bad.id))?.state, 'starting', 'a refused patch changes nothing');
        }),
      );

      void it(
        "a member's Unix account: null when unset, kept by a role change that does not name it, replaced, cleared",
        run(async (store) => {
          await store.setMembership({ tenant: 'lab-a', subject: 'alice', role: 'member', createdAt: T0 });
          assert.equal((await store.getMembership('lab-a', 'alice'))?.unixUser, null);
          await store.setMembership({
            tenant: 'lab-a',
            subject: 'alice',
            role: 'member',
            createdAt: T0,
            unixUser: 'alice_w',
          });
          await store.setMembership({ tenant: 'lab-a', subject: 'bob', role: 'viewer', createdAt: T0 });
          await store.setMembership({
            tenant: 'lab-a',
            subject: 'alice',
            role: 'tenant-admin',
            createdAt: T0,
          });
          assert.deepEqual(await store.getMembership('lab-a', 'alice'), {
            tenant: 'lab-a',
            subject: 'alice',
            role: 'tenant-admin',
            createdAt: T0,
            unixUser: 'alice_w',
          });
          assert.deepEqual(
            (await store.listMemberships('lab-a')).map((m) => [m.subject, m.unixUser]),
            [
              ['alice', 'alice_w'],
              ['bob', null],
            ],
          );
          await store.setMembership({
            tenant: 'lab-a',
            subject: 'alice',
            role: 'member',
            createdAt: T0,
            unixUser: 'awang',
          });
          assert.equal((await store.getMembership('lab-a', 'alice'))?.unixUser, 'awang');
          await store.setMembership({
            tenant: 'lab-a',
            subject: 'alice',
            role: 'member',
            createdAt: T0,
            unixUser: null,
          });
          assert.equal((await store.getMembership('lab-a', 'alice'))?.unixUser, null);
          await assert.rejects(
            store.setMembership({
              tenant: 'lab-a',
              subject: 'bob',
              role: 'viewer',
              createdAt: T0,
              unixUser: '',
            }),
            TypeError,
          );
        }),
      );

      void it(
        "of two concurrent transitions out of running exactly one writes the attempt's ledger row",
        run(async (store) => {
          const { job } = await store.createJob(makeNewJob());
          await store.transitionJob(job.id, 'queued', 'starting', T0 + 1, 'placed', {
            attempt: 1,
            placement: PLACEMENT,
          });
          await store.transitionJob(job.id, 'starting', 'running', T0 + 2, 'started', { startedAt: T0 + 2 });
          const results = await Promise.all([
            store.transitionJob(job.id, 'running', 'succeeded', T0 + 10, 'done', { finishedAt: T0 + 10 }),
            store.transitionJob(job.id, 'running', 'cancelled', T0 + 20, 'cancel', { finishedAt: T0 + 20 }),
            store.transitionJob(job.id, 'running', 'lost', T0 + 30, 'lost', { finishedAt: T0 + 30 }),
          ]);
          assert.equal(results.filter((r) => r !== null).length, 1);
          const rows = await store.listUsage({ from: T0, to: T0 + 1000 });
          assert.equal(rows.length, 1);
          const winner = results.find((r) => r !== null)!;
          assert.equal(rows[0]?.endState, winner.state);
          assert.equal(rows[0]?.finishedAt, winner.finishedAt);
          assert.equal(rows[0]?.acceleratorType, 'unknown', 'devices of nodes the store does not know');
          assert.equal(rows[0]?.accelerators, 3);
        }),
      );

      void it(
        'budgets and prices: upsert, list, delete',
        run(async (store) => {
          await store.setBudget({ tenant: 'lab-a', project: null, acceleratorHours: 100, updatedAt: T0 });
          await store.setBudget({ tenant: 'lab-a', project: 'nlp', acceleratorHours: 10.5, updatedAt: T0 });
          await store.setBudget({ tenant: 'lab-a', project: null, acceleratorHours: 200, updatedAt: T0 + 1 });
          assert.deepEqual(await store.listBudgets('lab-a'), [
            { tenant: 'lab-a', project: null, acceleratorHours: 200, updatedAt: T0 + 1 },
            { tenant: 'lab-a', project: 'nlp', acceleratorHours: 10.5, updatedAt: T0 },
          ]);
          await assert.rejects(
            store.setBudget({ tenant: 'lab-a', project: null, acceleratorHours: Number.NaN, updatedAt: T0 }),
            TypeError,
          );
          assert.equal(await store.deleteBudget('lab-a', 'nlp'), true);
          assert.equal(await store.deleteBudget('lab-a', 'nlp'), false);
          assert.equal((await store.listBudgets()).length, 1);
          await store.setPrice({
            acceleratorType: 'nvidia-h200',
            perAcceleratorHour: 2.5,
            currency: 'CNY',
            updatedAt: T0,
          });
          await store.setPrice({
            acceleratorType: 'nvidia-h200',
            perAcceleratorHour: 3,
            currency: 'CNY',
            updatedAt: T0 + 1,
          });
          await store.setPrice({
            acceleratorType: 'ascend-910b',
            perAcceleratorHour: 1.25,
            currency: 'CNY',
            updatedAt: T0,
          });
          assert.deepEqual(await store.listPrices(), [
            { acceleratorType: 'ascend-910b', perAcceleratorHour: 1.25, currency: 'CNY', updatedAt: T0 },
            { acceleratorType: 'nvidia-h200', perAcceleratorHour: 3, currency: 'CNY', updatedAt: T0 + 1 },
          ]);
        }),
      );
    });

    void describe('job arrays and paged listings', () => {
      const newArray = (overrides: Partial<NewJobArray> = {}): NewJobArray => {
        jobCounter += 1;
        return {
          id: `arr-${process.pid}-${jobCounter}`,
          tenant: 'lab-a',
          submittedBy: 'alice',
          spec: makeSpec({ name: 'sweep' }),
          indices: [0, 1, 2, 3, 4],
          expression: '0-4',
          throttle: 2,
          priority: 7,
          submittedAt: T0 + jobCounter,
          idempotencyKey: null,
          ...overrides,
        };
      };

      void it(
        'createJobArray makes every task a queued job with its first transition, in one call; a repeated key returns the array',
        run(async (store) => {
          const before = await store.createJob(makeNewJob());
          const { array, created } = await store.createJobArray(newArray({ idempotencyKey: 'k1' }));
          assert.equal(created, true);
          assert.equal(array.size, 5);
          assert.equal(array.throttle, 2);
          assert.equal(array.expression, '0-4');
          assert.equal(array.name, 'sweep');
          assert.ok(array.firstSeq > before.job.seq);
          assert.deepEqual(await store.getJobArray(array.id), array);
          const task = await store.getJob(`${array.id}_3`);
          assert.ok(task);
          assert.equal(task.state, 'queued');
          assert.equal(task.arrayId, array.id);
          assert.equal(task.arrayIndex, 3);
          assert.equal(task.arrayThrottle, 2);
          assert.equal(task.priority, 7);
          assert.equal(task.seq, array.firstSeq + 3, 'tasks are numbered in index order');
          assert.deepEqual(
            (await store.listTransitions(task.id)).map((t) => [t.from, t.to, t.reason]),
            [[null, 'queued', 'submitted']],
          );
          assert.equal((await store.getJob(before.job.id))?.arrayId, null);
          const again = await store.createJobArray(newArray({ idempotencyKey: 'k1' }));
          assert.equal(again.created, false);
          assert.equal(again.array.id, array.id);
          assert.deepEqual(await store.countArrayTasks(array.id), [{ state: 'queued', count: 5 }]);
          // waiting-jobs limits count tasks as jobs
          const waiting = await store.countJobsByState({ tenant: 'lab-a', states: ['queued'] });
          assert.equal(waiting[0]?.count, 6);
          // many arrays in one query; an unknown id is absent
          const other = (await store.createJobArray(newArray())).array;
          await store.transitionJob(`${other.id}_0`, 'queued', 'cancelled', T0 + 2, 'cancelled', {
            finishedAt: T0 + 2,
          });
          const both = await store.countTasksOfArrays([array.id, other.id, 'no-such-array']);
          assert.deepEqual(
            [...both].sort(([a], [b]) => a.localeCompare(b)),
            [
              [array.id, [{ state: 'queued', count: 5 }]],
              [
                other.id,
                [
                  { state: 'cancelled', count: 1 },
                  { state: 'queued', count: 4 },
                ],
              ],
            ].sort(([a], [b]) => String(a).localeCompare(String(b))),
          );
        }),
      );

      void it(
        'a 10,000-task array is created in batches and its tasks page in index order by cursor',
        run(async (store) => {
          const indices = Array.from({ length: 10_000 }, (_, i) => i * 2);
          const { array } = await store.createJobArray(
            newArray({ indices, expression: '0-19998:2', throttle: null }),
          );
          assert.deepEqual(await store.countArrayTasks(array.id), [{ state: 'queued', count: 10_000 }]);
          const seen: number[] = [];
          let afterSeq: number | undefined;
          for (;;) {
            const page = await store.listJobs({
              arrayId: array.id,
              oldestFirst: true,
              limit: LIST_JOBS_MAX_LIMIT,
              ...(afterSeq !== undefined ? { afterSeq } : {}),
            });
            seen.push(...page.map((j) => j.arrayIndex ?? -1));
            if (page.length < LIST_JOBS_MAX_LIMIT) break;
            afterSeq = page[page.length - 1]!.seq;
          }
          assert.deepEqual(seen, indices);
        }),
      );

      void it(
        'listJobs with several states pages newest first by cursor, each job exactly once, across tenants and filters',
        run(async (store) => {
          const jobs = await createMany(store, 60, (i) => ({
            tenant: i % 3 === 0 ? 'lab-b' : 'lab-a',
            submittedBy: i % 2 === 0 ? 'bob' : 'alice',
          }));
          for (const j of jobs.filter((_, i) => i % 4 === 1))
            await store.transitionJob(j.id, 'queued', 'starting', T0 + 100, 'placed', { attempt: 1 });
          for (const j of jobs.filter((_, i) => i % 4 === 2))
            await store.transitionJob(j.id, 'queued', 'cancelled', T0 + 100, 'cancelled');
          const filters = [
            { states: ['queued', 'starting'] as const },
            { states: ['queued', 'starting', 'cancelled'] as const, tenant: 'lab-a' },
            { tenant: 'lab-a', submittedBy: 'bob' },
            { tenant: 'lab-b', project: 'nlp', states: ['cancelled'] as const },
          ];
          for (const f of filters) {
            const current = (await Promise.all(jobs.map((j) => store.getJob(j.id)))).filter(
              (j): j is JobRecord => j !== null,
            );
            const expected = current
              .filter((j) => f.tenant === undefined || j.tenant === f.tenant)
              .filter((j) => !('submittedBy' in f) || j.submittedBy === f.submittedBy)
              .filter((j) => !('project' in f) || j.project === f.project)
              .filter((j) => f.states === undefined || (f.states as readonly string[]).includes(j.state))
              .sort((a, b) => b.seq - a.seq)
              .map((j) => j.id);
            const all = await store.listJobs({
              ...f,
              ...(f.states ? { states: [...f.states] } : {}),
              limit: 1000,
            });
            assert.deepEqual(
              all.map((j) => j.id),
              expected,
              JSON.stringify(f),
            );
            const paged: string[] = [];
            let beforeSeq: number | undefined;
            for (;;) {
              const page = await store.listJobs({
                ...(f as object),
                ...(f.states ? { states: [...f.states] } : {}),
                limit: 7,
                ...(beforeSeq !== undefined ? { beforeSeq } : {}),
              });
              paged.push(...page.map((j) => j.id));
              if (page.length < 7) break;
              beforeSeq = page[page.length - 1]!.seq;
            }
            assert.deepEqual(
              paged,
              all.map((j) => j.id),
              JSON.stringify(f),
            );
            assert.ok(all.length > 0, JSON.stringify(f));
          }
        }),
      );

      void it(
        'listJobEntries folds each array into one entry at its first task, and matches states by any task',
        run(async (store) => {
          const a1 = await store.createJob(makeNewJob());
          const { array: arr } = await store.createJobArray(newArray());
          const a2 = await store.createJob(makeNewJob());
          const other = await store.createJobArray(newArray({ tenant: 'lab-b' }));
          const all = await store.listJobEntries({});
          assert.deepEqual(
            all.map((e) => (e.kind === 'job' ? e.job.id : e.array.id)),
            [other.array.id, a2.job.id, arr.id, a1.job.id],
          );
          const mine = await store.listJobEntries({ tenant: 'lab-a', limit: 2 });
          assert.deepEqual(
            mine.map((e) => (e.kind === 'job' ? e.job.id : e.array.id)),
            [a2.job.id, arr.id],
          );
          const older = await store.listJobEntries({ tenant: 'lab-a', limit: 2, beforeSeq: mine[1]!.seq });
          assert.deepEqual(
            older.map((e) => (e.kind === 'job' ? e.job.id : e.array.id)),
            [a1.job.id],
          );
          // state filter: the array is listed while any task is running
          assert.deepEqual(await store.listJobEntries({ tenant: 'lab-a', states: ['running'] }), []);
          await store.transitionJob(`${arr.id}_4`, 'queued', 'starting', T0 + 9, 'placed', { attempt: 1 });
          await store.transitionJob(`${arr.id}_4`, 'starting', 'running', T0 + 9, 'started');
          const running = await store.listJobEntries({ tenant: 'lab-a', states: ['running'] });
          assert.deepEqual(
            running.map((e) => (e.kind === 'array' ? e.array.id : e.job.id)),
            [arr.id],
          );
        }),
      );

      void it(
        'cancelArrayTasks ends waiting tasks with a transition each and marks active ones, leaving ended ones alone',
        run(async (store) => {
          const { array } = await store.createJobArray(newArray());
          await store.transitionJob(`${array.id}_0`, 'queued', 'starting', T0 + 5, 'placed', { attempt: 1 });
          await store.transitionJob(`${array.id}_0`, 'starting', 'running', T0 + 5, 'started');
          await store.transitionJob(`${array.id}_1`, 'queued', 'starting', T0 + 5, 'placed', { attempt: 1 });
          await store.transitionJob(`${array.id}_1`, 'starting', 'running', T0 + 5, 'started');
          await store.transitionJob(`${array.id}_1`, 'running', 'succeeded', T0 + 6, 'exit 0', {
            finishedAt: T0 + 6,
            exitCode: 0,
          });
          const r = await store.cancelArrayTasks(array.id, T0 + 10, 'array cancelled by alice');
          assert.deepEqual(r, { cancelled: 3, cancelRequested: 1 });
          assert.deepEqual(await store.countArrayTasks(array.id), [
            { state: 'cancelled', count: 3 },
            { state: 'running', count: 1 },
            { state: 'succeeded', count: 1 },
          ]);
          const t2 = await store.getJob(`${array.id}_2`);
          assert.equal(t2?.finishedAt, T0 + 10);
          assert.deepEqual(
            (await store.listTransitions(`${array.id}_2`)).map((t) => [t.seq, t.from, t.to, t.reason]),
            [
              [1, null, 'queued', 'submitted'],
              [2, 'queued', 'cancelled', 'array cancelled by alice'],
            ],
          );
          assert.equal((await store.getJob(`${array.id}_0`))?.cancelRequestedAt, T0 + 10);
          assert.equal((await store.getJob(`${array.id}_1`))?.cancelRequestedAt, null);
          // a second cancel changes nothing
          assert.deepEqual(await store.cancelArrayTasks(array.id, T0 + 11, 'again'), {
            cancelled: 0,
            cancelRequested: 0,
          });
        }),
      );

      void it(
        'the change feed reports the tasks of an array as created and as cancelled, with the rows as committed',
        run(async (store) => {
          const seen: string[] = [];
          const fed: JobRecord[] = [];
          const off = store.onChange((c) => {
            if (c.kind === 'jobs')
              for (const j of c.jobs) {
                fed.push(j);
                seen.push(`${j.arrayIndex}:${j.state}:${j.cancelRequestedAt ?? '-'}`);
              }
          });
          const { array } = await store.createJobArray(newArray({ indices: [0, 1, 2], expression: '0-2' }));
          assert.deepEqual(seen.splice(0), ['0:queued:-', '1:queued:-', '2:queued:-']);
          // the records the feed built for the new tasks are exactly the rows as stored
          for (const j of fed.splice(0)) assert.deepEqual(j, await store.getJob(j.id));
          await store.transitionJob(`${array.id}_0`, 'queued', 'starting', T0 + 5, 'placed', { attempt: 1 });
          seen.length = 0;
          await store.cancelArrayTasks(array.id, T0 + 10, 'array cancelled');
          off();
          assert.deepEqual(seen.sort(), [`0:starting:${T0 + 10}`, '1:cancelled:-', '2:cancelled:-']);
        }),
      );

      void it(
        'every listing the API serves is an index range scan in seq order: no table scan, no sort',
        run(async (store) => {
          assert.ok(store instanceof KyselyStore);
          await createMany(store, 20);
          const filters = [
            {},
            { states: ['queued' as const] },
            { states: ['queued' as const, 'running' as const, 'starting' as const] },
            { tenant: 'lab-a' },
            { tenant: 'lab-a', states: ['queued' as const, 'requeued' as const] },
            { tenant: 'lab-a', project: 'nlp' },
            { tenant: 'lab-a', submittedBy: 'alice' },
            { arrayId: 'arr-x', oldestFirst: true },
            { arrayId: 'arr-x', oldestFirst: true, states: ['queued' as const] },
            { beforeSeq: 10, tenant: 'lab-a', states: ['running' as const] },
          ];
          for (const f of filters)
            for (const plan of await store.explainListJobs(f)) {
              const where = `${JSON.stringify(f)}:\n${plan}`;
              if (store.dialect === 'sqlite') {
                // Unfiltered, SQLite reads the rowid (= seq) table backwards and stops at the limit.
                if (Object.keys(f).length > 0) assert.doesNotMatch(plan, /^SCAN jobs$/m, where);
                assert.doesNotMatch(plan, /TEMP B-TREE/, where);
                if (Object.keys(f).length > 0)
                  assert.match(plan, /USING (INDEX|INTEGER PRIMARY KEY|COVERING INDEX)/, where);
              } else {
                assert.doesNotMatch(plan, /Seq Scan/, where);
                assert.doesNotMatch(plan, /\bSort\b/, where);
                assert.match(plan, /Index (Only )?Scan/, where);
              }
            }
        }),
      );
    });

    void describe('durability', () => {
      void it('close() waits for operations already started, then refuses new ones', async () => {
        const store = await open();
        await store.migrate();
        const creates = Array.from({ length: 10 }, () => store.createJob(makeNewJob()));
        const listing = store.listJobs({});
        await store.close();
        const created = await Promise.all(creates);
        assert.ok(created.every((c) => c.created));
        assert.ok(Array.isArray(await listing));
        await assert.rejects(store.getJob('x'), /store is closed/);
        await assert.rejects(store.createJob(makeNewJob()), /store is closed/);
        await store.close(); // a second close is harmless
        const again = await options.reopen(store);
        try {
          await again.migrate();
          assert.equal((await again.listJobs({})).length, 10);
        } finally {
          await again.close();
        }
      });

      void it('data survives close and reopen of the same database', async () => {
        const first = await open();
        await first.migrate();
        const { job } = await first.createJob(makeNewJob({ idempotencyKey: 'durable' }));
        await first.transitionJob(job.id, 'queued', 'starting', T0 + 1, 'placed', {
          attempt: 1,
          placement: PLACEMENT,
        });
        await first.upsertNodes([makeNode('gpu-01')], T0);
        await first.setNodeAdminState('gpu-01', 'draining', 'maintenance', T0 + 2);
        await first.initMeta('admin-token-hash', 'h');
        const before = await first.getJob(job.id);
        await first.close();

        const second = await options.reopen(first);
        try {
          await second.migrate();
          assert.deepEqual(await second.getJob(job.id), before);
          assert.equal((await second.listTransitions(job.id)).length, 2);
          assert.equal((await second.listNodes())[0]?.adminState, 'draining');
          assert.equal(await second.getMeta('admin-token-hash'), 'h');
          const again = await second.createJob(makeNewJob({ idempotencyKey: 'durable' }));
          assert.equal(again.created, false);
          const next = await second.createJob(makeNewJob());
          assert.ok(next.job.seq > job.seq, 'seq keeps increasing after a restart');
        } finally {
          await second.close();
        }
      });
    });
  });
}
