import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobState } from '@suanli/core';
import { ADMIN_TOKEN, caller, startTestServer, waitFor } from './test-fixture.js';

test('the engine schedules from its working set: no cycle reads the queue back from the store, and the policy runs in its worker thread', async () => {
  const t = await startTestServer();
  try {
    const { server } = t;
    const call = caller(server);
    assert.equal(server.engine.stats().policyThread, 'worker');
    // Count the store reads that would be a re-read of the queue (the engine's resync of jobs
    // holding devices reads only starting/running).
    let queueReads = 0;
    const store = server.store as { jobsInStates: (s: readonly JobState[]) => Promise<unknown[]> };
    const read = store.jobsInStates.bind(store);
    store.jobsInStates = (states) => {
      if (states.includes('queued')) queueReads++;
      return read(states);
    };

    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await call('POST', '/api/v1/jobs', ADMIN_TOKEN, {
        name: `w${i}`,
        command: ['sleep', '0.1'],
        resources: { accelerators: 1 },
      });
      assert.equal(r.status, 201, r.body);
      ids.push(r.json()['id'] as string);
    }
    // One waiting job is cancelled before it can start: the working set drops it.
    const last = ids.pop() as string;
    assert.equal((await call('POST', `/api/v1/jobs/${last}/cancel`, ADMIN_TOKEN)).status, 202);
    const states = await waitFor(async () => {
      const s = await Promise.all(
        ids.map(async (id) => (await call('GET', `/api/v1/jobs/${id}`, ADMIN_TOKEN)).json()['state']),
      );
      return s.every((x) => x === 'succeeded') ? s : null;
    }, 'every job to succeed on gpu:2');
    assert.equal(states.length, 11);
    assert.equal((await call('GET', `/api/v1/jobs/${last}`, ADMIN_TOKEN)).json()['state'], 'cancelled');
    assert.ok(server.engine.stats().cycles > 3);
    assert.equal(queueReads, 0, 'a cycle read the queue back from the store');

    const metrics = (await call('GET', '/metrics', null)).body;
    assert.match(metrics, /^suanli_scheduler_working_jobs 0$/m);
    assert.match(metrics, /^suanli_scheduler_last_policy_seconds \d/m);
  } finally {
    await t.close();
  }
});
