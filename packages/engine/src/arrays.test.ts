import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobState } from '@suanli/core';
import { activeTasksByArray, throttleArrays, type ArrayTaskLike } from './arrays.js';

const job = (
  id: string,
  state: JobState,
  arrayId: string | null = null,
  throttle: number | null = null,
): ArrayTaskLike => ({
  id,
  state,
  arrayId,
  arrayThrottle: throttle,
});

void test('throttleArrays shows each array only as many queued tasks as its %N leaves room for, lowest first', () => {
  const jobs = [
    job('a_0', 'running', 'a', 2),
    job('a_1', 'queued', 'a', 2),
    job('a_2', 'queued', 'a', 2),
    job('plain', 'queued'),
    job('b_0', 'queued', 'b', 3),
    job('b_1', 'queued', 'b', 3),
    job('c_0', 'queued', 'c', null),
    job('c_1', 'queued', 'c', null),
    job('d_0', 'starting', 'd', 1),
    job('d_1', 'queued', 'd', 1),
  ];
  const active = activeTasksByArray(jobs);
  assert.deepEqual(
    [...active],
    [
      ['a', 1],
      ['d', 1],
    ],
  );
  const queued = jobs.filter((j) => j.state === 'queued');
  const { visible, held } = throttleArrays(queued, active);
  assert.deepEqual(
    visible.map((j) => j.id),
    ['a_1', 'plain', 'b_0', 'b_1', 'c_0', 'c_1'],
  );
  assert.deepEqual(
    held.map((h) => [h.jobId, h.verdict]),
    [
      ['a_2', 'waits-for-turn'],
      ['d_1', 'waits-for-turn'],
    ],
  );
  assert.match(held[0]!.reason, /at most 2 tasks at once \(%2\)/);
  // the reason carries no live count, so it is written once, not every cycle
  const again = throttleArrays(queued, new Map([['a', 0]]));
  assert.equal(
    again.held.find((h) => h.jobId === 'd_1'),
    undefined,
  );
});

void test('throttleArrays with nothing throttled passes the queue through unchanged', () => {
  const queued = [job('x', 'queued'), job('y_0', 'queued', 'y', null)];
  const r = throttleArrays(queued, new Map());
  assert.deepEqual(r.visible, queued);
  assert.deepEqual(r.held, []);
});
