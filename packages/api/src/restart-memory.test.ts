/// <reference types="node" />
/**
 * What the engine keeps in memory for the scheduler (fair-share usage) survives a restart: it is
 * read back from the usage ledger, not started empty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './server.js';
import { waitFor } from './test-fixture.js';

const TOKEN = 'sl_test-admin-token-restart-0123456789';

test('fair-share usage is read back from the ledger after a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-restart-'));
  const opts = {
    dataDir: dir,
    port: 0,
    accelerators: 'gpu:2',
    nodeName: 'testnode',
    logLevel: false as const,
    cycleIntervalMs: 50,
    print: () => {},
  };
  process.env['SUANLI_ADMIN_TOKEN'] = TOKEN;
  let server = await startServer(opts);
  delete process.env['SUANLI_ADMIN_TOKEN'];
  try {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const r = await server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: auth,
      payload: { name: 'short', command: ['sleep', '0.3'], resources: { accelerators: 2 } },
    });
    assert.equal(r.statusCode, 201, r.body);
    const id = r.json().id as string;
    const done = await waitFor(async () => {
      const j = (await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json();
      return j.state === 'succeeded' ? j : null;
    });
    // the ended attempt is charged by the first cycle after it ended
    const finishedAt = Date.parse(done.finishedAt as string);
    const before = await waitFor(async () => {
      const u = server.engine.fairShareUsage();
      return u.asOf >= finishedAt ? { ...u.byTenant } : null;
    });
    await server.close();
    server = await startServer(opts);
    const after = server.engine.fairShareUsage().byTenant;
    assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
    for (const [tenant, v] of Object.entries(before)) {
      // 2 devices × ~0.3 s, decayed by a few seconds of a 7-day half-life: the same to 0.1 %
      // (the engine charges the recorded start and end times, which the ledger holds)
      assert.ok(v > 0.4 && v < 5, `${tenant}: ${v}`);
      assert.ok(
        Math.abs((after[tenant] ?? 0) - v) / v < 1e-3,
        `${tenant}: ${after[tenant]} after the restart, ${v} before`,
      );
    }
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
