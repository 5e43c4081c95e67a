import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProgressTracker, parseProgress, progressFileOf, retryCovers, stepsLost } from './training.js';

void test('training: retryOn user covers failed attempts, platform covers lost ones', () => {
  assert.equal(retryCovers(['user'], 'failed'), true);
  assert.equal(retryCovers(['user'], 'lost'), false);
  assert.equal(retryCovers(['platform'], 'lost'), true);
  assert.equal(retryCovers(['platform'], 'failed'), false);
  assert.equal(retryCovers(['failed', 'lost'], 'lost'), true);
  assert.equal(retryCovers(['platform', 'user'], 'timed-out'), false);
});

void test('training: the progress protocol keeps the last step and checkpoint and ignores other lines', () => {
  const p = parseProgress('step=1\nloss 0.3\nstep=2\ncheckpoint=2\nstep=3\nstep=x\ncheckpoint=-1\nstep=4');
  assert.deepEqual(p, { step: 4, checkpoint: 2 });
  assert.equal(stepsLost(p), 2);
  assert.equal(stepsLost({ step: 5, checkpoint: null }), 5, 'no checkpoint: everything is lost');
  assert.equal(stepsLost({ step: null, checkpoint: null }), null);
});

void test('training: the tracker dates a checkpoint when it first sees it, per attempt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-progress-'));
  try {
    const a1 = join(dir, 'attempt-1');
    const a2 = join(dir, 'attempt-2');
    await Promise.all([a1, a2].map((d) => mkdir(d)));
    const t = new ProgressTracker();
    await t.poll(new Map([['j', a1]]), 1000);
    assert.equal(t.lastCheckpointTime('j'), null, 'no file yet');
    await writeFile(progressFileOf(a1), 'step=1\ncheckpoint=1\n');
    await t.poll(new Map([['j', a1]]), 2000);
    assert.equal(t.lastCheckpointTime('j'), 2000);
    await appendFile(progressFileOf(a1), 'step=2\n');
    await utimes(progressFileOf(a1), new Date(), new Date(Date.now() + 5000));
    await t.poll(new Map([['j', a1]]), 3000);
    assert.equal(t.lastCheckpointTime('j'), 2000, 'a step alone does not move the checkpoint time');
    await appendFile(progressFileOf(a1), 'checkpoint=2\n');
    await utimes(progressFileOf(a1), new Date(), new Date(Date.now() + 10_000));
    await t.poll(new Map([['j', a1]]), 4000);
    assert.equal(t.lastCheckpointTime('j'), 4000);
    await t.poll(new Map([['j', a2]]), 5000);
    assert.equal(t.lastCheckpointTime('j'), null, 'a new attempt starts without a checkpoint of its own');
    await t.poll(new Map(), 6000);
    assert.equal(t.lastCheckpointTime('j'), null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
