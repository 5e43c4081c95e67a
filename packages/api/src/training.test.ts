/**
 * Long training runs end to end: a real server (SQLite, engine, local executor with declared GPUs)
 * runs real PyTorch DDP jobs (Debian's python3-torch, gloo on CPU) that checkpoint into
 * SUANLI_CHECKPOINT_DIR and report progress. A gang whose worker is killed fails as one, names the
 * replica, is retried under `retryOn: [user]`, and resumes from its checkpoint; a preempted job gets
 * its `checkpoint.signal`, saves, and resumes where it stopped.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DDP_CHECKPOINT, SYSTEM_PYTHON, pythonHas } from '@suanli/executors';
import { startServer, type RunningServer } from './server.js';
import { waitFor } from './test-fixture.js';

const TOKEN = 'sl_test-admin-token-0123456789';
const skip = pythonHas('torch')
  ? false
  : `${SYSTEM_PYTHON} cannot import torch (apt-get install python3-torch)`;

interface JobJson {
  id: string;
  state: string;
  attempt: number;
  transitions: { to: string; reason: string }[];
  attempts: {
    attempt: number;
    endState: string | null;
    step?: number | null;
    checkpoint?: number | null;
    stepsLost?: number | null;
  }[];
}

describe('training runs', { skip }, () => {
  let server: RunningServer;
  let dir: string;
  let script: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'suanli-train-'));
    script = join(dir, 'ddp.py');
    await writeFile(script, DDP_CHECKPOINT);
    await writeFile(
      join(dir, 'policy.yaml'),
      'priorityClasses:\n  low: { value: 0, default: true }\n  high: { value: 100 }\npreemption: { withinTenant: lower-priority, minRuntime: 0, gracePeriod: 60s }\n',
    );
    process.env['SUANLI_ADMIN_TOKEN'] = TOKEN;
    server = await startServer({
      dataDir: dir,
      port: 0,
      accelerators: 'gpu:2',
      nodeName: 'testnode',
      logLevel: false,
      cycleIntervalMs: 100,
      cancelGraceMs: 2000,
      print: () => {},
    });
    delete process.env['SUANLI_ADMIN_TOKEN'];
  });
  after(async () => {
    await server.close({ endJobs: true });
    await rm(dir, { recursive: true, force: true });
  });

  const submit = async (body: object): Promise<string> => {
    const r = await server.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: auth, payload: body });
    assert.equal(r.statusCode, 201, r.body);
    return r.json<{ id: string }>().id;
  };
  const get = async (id: string): Promise<JobJson> =>
    (await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json<JobJson>();
  const ddp = (name: string, out: string, args: string[], extra: object = {}) => ({
    name,
    command: [SYSTEM_PYTHON, script, out, ...args],
    replicas: 2,
    resources: { accelerators: 1 },
    env: { OMP_NUM_THREADS: '1' },
    ...extra,
  });

  test(
    'a DDP gang whose worker is killed fails as one, names the replica, and resumes from its checkpoint',
    { timeout: 240_000 },
    async () => {
      const out = await mkdtemp(join(dir, 'out-'));
      // 12 steps, a checkpoint every 3; on attempt 1 rank 1 is SIGKILLed at step 7.
      const id = await submit(
        ddp('resume', out, ['12', '3', '0.2', '7'], {
          retry: { maxAttempts: 2, retryOn: ['user'], backoff: 0 },
        }),
      );
      const done = await waitFor(
        async () => {
          const j = await get(id);
          return ['succeeded', 'failed'].includes(j.state) ? j : null;
        },
        'the job to end',
        200_000,
      );
      assert.equal(done.state, 'succeeded', JSON.stringify(done.transitions, null, 1));
      assert.equal(done.attempt, 2);
      const requeue = done.transitions.find((t) => t.to === 'requeued');
      assert.match(
        requeue?.reason ?? '',
        /replica 1: killed by SIGKILL/,
        'the attempt ends with the replica that failed and why',
      );
      assert.equal(
        await readFile(join(out, 'start-2.txt'), 'utf8'),
        '6',
        'attempt 2 resumed from the checkpoint of step 6',
      );
      const result = JSON.parse(await readFile(join(out, 'done.json'), 'utf8')) as {
        steps: number;
        attempt: number;
      };
      assert.deepEqual(result, { steps: 12, attempt: 2, start: 6 });
      const [a1, a2] = done.attempts;
      assert.deepEqual(
        [a1?.step, a1?.checkpoint, a1?.stepsLost],
        [7, 6, 1],
        'attempt 1 reached step 7; 1 step after its checkpoint was lost',
      );
      assert.deepEqual([a2?.step, a2?.checkpoint, a2?.stepsLost], [12, 12, 0]);
    },
  );

  test(
    'a preempted DDP job gets its checkpoint signal, saves, and resumes where it stopped',
    { timeout: 240_000 },
    async () => {
      const out = await mkdtemp(join(dir, 'out-'));
      // Never checkpoints on its own (every 1000 steps): only the signal makes it save.
      const low = await submit(
        ddp('low', out, ['400', '1000', '0.1'], {
          checkpoint: { signal: 'SIGUSR1', grace: '60s' },
          retry: { maxAttempts: 1, retryOn: [], backoff: 0 },
        }),
      );
      const progress = join(dir, 'logs', low, 'attempt-1', 'progress.log');
      await waitFor(
        async () => ((await readFile(progress, 'utf8').catch(() => '')).includes('step=5') ? true : null),
        'the low job to train 5 steps',
        120_000,
      );
      const high = await submit({
        name: 'high',
        priority: 'high',
        command: ['true'],
        resources: { accelerators: 2 },
      });
      const preempted = await waitFor(
        async () => {
          const j = await get(low);
          return j.transitions.some((t) => t.to === 'preempted') ? j : null;
        },
        'the low job to be preempted',
        120_000,
      );
      const stoppedAt = Number(await readFile(join(out, 'signalled-1.txt'), 'utf8'));
      assert.ok(stoppedAt >= 5, `it checkpointed on SIGUSR1 at step ${stoppedAt}`);
      assert.match(
        preempted.transitions.find((t) => t.to === 'preempted')?.reason ?? '',
        /exit code 0/,
        'it saved and exited by itself within the grace',
      );
      await waitFor(
        async () => ((await get(high)).state === 'succeeded' ? true : null),
        'the high job',
        60_000,
      );
      const started = await waitFor(
        async () => await readFile(join(out, 'start-2.txt'), 'utf8').catch(() => null),
        'the low job to restart',
        120_000,
      );
      assert.equal(Number(started), stoppedAt, 'attempt 2 resumed at the step the signal saved');
      const j = await get(low);
      assert.deepEqual([j.attempts[0]?.checkpoint, j.attempts[0]?.stepsLost], [stoppedAt, 0], 'nothing lost');
      await server.app.inject({ method: 'POST', url: `/api/v1/jobs/${low}/cancel`, headers: auth });
    },
  );
});
