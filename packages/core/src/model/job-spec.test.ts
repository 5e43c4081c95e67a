import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileJobSpec } from './job-spec.js';

const base = { name: 'train', command: ['torchrun', 'train.py'], resources: { accelerators: 2 } };

void test('job spec: framework defaults to pytorch and accepts every launch contract', () => {
  const c = compileJobSpec(base);
  assert.ok(c.ok);
  assert.equal(c.value.framework, 'pytorch');
  assert.equal(c.value.checkpoint, null);
  for (const f of ['pytorch', 'mpi', 'mindspore', 'tensorflow', 'none']) {
    const r = compileJobSpec({ ...base, framework: f });
    assert.ok(r.ok, f);
    assert.equal(r.value.framework, f);
  }
  const bad = compileJobSpec({ ...base, framework: 'jax' });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors, [
    { path: 'framework', message: 'must be one of: pytorch, mpi, mindspore, tensorflow, none' },
  ]);
});

void test('job spec: checkpoint names a signal and a grace; bad values say what to fix', () => {
  const c = compileJobSpec({ ...base, checkpoint: { signal: 'USR1', grace: '2m' } });
  assert.ok(c.ok);
  assert.deepEqual(c.value.checkpoint, { signal: 'SIGUSR1', graceSeconds: 120 });
  const d = compileJobSpec({ ...base, checkpoint: {} });
  assert.ok(d.ok);
  assert.deepEqual(d.value.checkpoint, { signal: 'SIGTERM', graceSeconds: 30 });
  const bad = compileJobSpec({ ...base, checkpoint: { signal: 'SIGKILL', grace: '2h', every: 1 } });
  assert.ok(!bad.ok);
  assert.deepEqual(
    bad.errors.map((e) => e.path),
    ['checkpoint.every', 'checkpoint.signal', 'checkpoint.grace'],
  );
});

void test("job spec: retryOn distinguishes the user's errors from the platform's", () => {
  const c = compileJobSpec({ ...base, retry: { retryOn: ['platform'] } });
  assert.ok(c.ok);
  assert.deepEqual(c.value.retry.retryOn, ['platform']);
  const u = compileJobSpec({ ...base, retry: { retryOn: ['user', 'timed-out'] } });
  assert.ok(u.ok);
  assert.deepEqual(u.value.retry.retryOn, ['user', 'timed-out']);
});
