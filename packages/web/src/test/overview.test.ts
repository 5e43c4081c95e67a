import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobView, NodeView } from '@suanli/client';
import { appendSample, countAccelerators, heatmap, summariseQueue, topConsumers } from '../lib/overview.js';

function acc(
  id: string,
  index: number,
  over: Partial<NodeView['accelerators'][number]> = {},
): NodeView['accelerators'][number] {
  return {
    id,
    index,
    type: 'gpu',
    vendor: 'nvidia',
    source: 'declared',
    declared: true,
    model: null,
    memoryMiB: null,
    healthy: true,
    allocatedTo: null,
    ...over,
  };
}
function node(name: string, accelerators: NodeView['accelerators'], over: Partial<NodeView> = {}): NodeView {
  return {
    name,
    state: 'ready',
    adminState: null,
    adminReason: null,
    cpuMillis: 8000,
    memoryMiB: 1024,
    topology: {},
    accelerators,
    updatedAt: '2026-01-01T00:00:00Z',
    health: { state: 'unchecked', reason: null, since: null, checkedAt: null, drains: 0 },
    ...over,
  };
}
function job(id: string, over: Partial<JobView> = {}): JobView {
  return {
    id,
    name: id,
    tenant: 't',
    project: 'p',
    submittedBy: 'u',
    state: 'queued',
    priority: 0,
    replicas: 1,
    acceleratorsPerReplica: 1,
    acceleratorTypes: [],
    command: ['true'],
    timeLimitSeconds: null,
    attempt: 0,
    maxAttempts: 1,
    submittedAt: '2026-01-01T00:00:00Z',
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    placement: null,
    pending: null,
    cancelRequested: false,
    ...over,
  };
}

test('accelerators are busy, idle, draining or down', () => {
  const nodes = [
    node('b', [acc('b0', 0, { allocatedTo: 'j-1' }), acc('b1', 1)], {
      state: 'draining',
      adminState: 'draining',
    }),
    node('a', [acc('a1', 1, { healthy: false }), acc('a0', 0)]),
  ];
  assert.deepEqual(countAccelerators(nodes), { idle: 1, busy: 1, draining: 1, down: 1, total: 4 });
  const h = heatmap(nodes);
  assert.deepEqual(h.nodes, ['a', 'b']);
  assert.equal(h.width, 2);
  assert.deepEqual(
    h.cells.map((c) => [c[0], c[1], c[2]]),
    [
      [0, 0, 0],
      [1, 0, 3],
      [0, 1, 1],
      [1, 1, 2],
    ],
  );
});

test('queue summary: length, waits, verdicts, requested accelerators', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  const q = summariseQueue(
    [
      job('j1', {
        submittedAt: '2026-01-01T00:00:00Z',
        pending: { verdict: 'waits-for-capacity', reason: 'r', estimatedStart: null, detail: null },
        replicas: 2,
        acceleratorsPerReplica: 4,
      }),
      job('j2', { submittedAt: '2026-01-01T00:08:00Z' }),
      job('j3', {
        submittedAt: '2026-01-01T00:09:00Z',
        pending: { verdict: 'waits-for-capacity', reason: 'r', estimatedStart: null, detail: null },
      }),
    ],
    now,
  );
  assert.equal(q.length, 3);
  assert.equal(q.medianWaitMs, 2 * 60_000);
  assert.equal(q.maxWaitMs, 10 * 60_000);
  assert.deepEqual(
    [...q.byVerdict],
    [
      ['waits-for-capacity', 2],
      ['unknown', 1],
    ],
  );
  assert.equal(q.acceleratorsRequested, 10);
  assert.equal(summariseQueue([], now).medianWaitMs, null);
});

test('top consumers count held accelerators per tenant/project', () => {
  const rows = topConsumers([
    job('j1', {
      state: 'running',
      project: 'x',
      placement: [{ node: 'n', acceleratorIds: ['a', 'b'], cpuMillis: 0, memoryMiB: 0 }],
    }),
    job('j2', { state: 'running', project: 'y', replicas: 3, acceleratorsPerReplica: 1 }),
    job('j3', {
      state: 'running',
      project: 'x',
      placement: [{ node: 'n', acceleratorIds: ['c', 'd'], cpuMillis: 0, memoryMiB: 0 }],
    }),
  ]);
  assert.deepEqual(
    rows.map((r) => [r.key, r.accelerators, r.jobs]),
    [
      ['t/x', 4, 2],
      ['t/y', 3, 1],
    ],
  );
});

test('utilisation samples are bounded', () => {
  let s = appendSample([], { atMs: 0, busy: 0, total: 1, queued: 0 }, 3);
  for (let i = 1; i < 10; i++) s = appendSample(s, { atMs: i, busy: 0, total: 1, queued: 0 }, 3);
  assert.deepEqual(
    s.map((x) => x.atMs),
    [7, 8, 9],
  );
});
