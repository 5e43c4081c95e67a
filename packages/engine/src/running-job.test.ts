/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileJobSpec } from '@suanli/core';
import type { JobRecord } from '@suanli/store';
import { toRunningSchedJob } from './engine.js';

function record(state: 'starting' | 'running', startedAt: number | null): JobRecord {
  const spec = compileJobSpec({ name: 'train', command: ['true'], resources: { accelerators: 2 } });
  assert.ok(spec.ok);
  return {
    id: 'j1',
    seq: 1,
    tenant: 'lab',
    project: 'default',
    name: 'train',
    submittedBy: 'u',
    spec: spec.value,
    state,
    priority: 0,
    submittedAt: 1_000,
    queuedAt: 1_000,
    attempt: 1,
    placement: [{ node: 'n1', acceleratorIds: ['n1/gpu/0', 'n1/gpu/1'], cpuMillis: 0, memoryMiB: 0 }],
    executorRef: null,
    startedAt,
    finishedAt: null,
    exitCode: null,
    pendingVerdict: null,
    pendingReason: null,
    estimatedStart: null,
    pendingDetail: null,
    notBefore: null,
    cancelRequestedAt: null,
    idempotencyKey: null,
    arrayId: null,
    arrayIndex: null,
    arrayThrottle: null,
  };
}

void test('a job still starting has not run: its start is now, not its queue time', () => {
  // queued at 1 s, placed and starting at 1 h: an hour of waiting is not an hour of service, nor
  // past the minimum runtime that protects it from preemption
  const now = 3_600_000;
  assert.equal(toRunningSchedJob(record('starting', null), now).startTime, now);
  assert.equal(toRunningSchedJob(record('running', 3_500_000), now).startTime, 3_500_000);
});
