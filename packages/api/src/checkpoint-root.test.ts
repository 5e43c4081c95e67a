import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from './server.js';
import { ADMIN_TOKEN, caller, waitFor } from './test-fixture.js';

test('--checkpoint-root: a job checkpoints under <root>/<job id>, the same directory for every attempt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-ckpt-'));
  const root = join(dir, 'shared-checkpoints');
  process.env['SUANLI_ADMIN_TOKEN'] = ADMIN_TOKEN;
  const server = await startServer({
    dataDir: join(dir, 'data'),
    port: 0,
    accelerators: 'gpu:1',
    nodeName: 'n1',
    logLevel: false,
    cycleIntervalMs: 100,
    checkpointRoot: root,
    print: () => {},
  }).finally(() => delete process.env['SUANLI_ADMIN_TOKEN']);
  try {
    const call = caller(server);
    // The first attempt writes a checkpoint and fails; the retry finds it in the same directory.
    const script =
      'if [ -e "$SUANLI_CHECKPOINT_DIR/step" ]; then echo "resumed $(cat "$SUANLI_CHECKPOINT_DIR/step")" > "$SUANLI_CHECKPOINT_DIR/done"; ' +
      'else echo 7 > "$SUANLI_CHECKPOINT_DIR/step"; exit 3; fi';
    const r = await call('POST', '/api/v1/jobs', ADMIN_TOKEN, {
      name: 'ckpt',
      command: ['sh', '-c', script],
      resources: { accelerators: 1 },
      retry: { maxAttempts: 2, retryOn: ['failed'] },
    });
    assert.equal(r.status, 201, r.body);
    const id = r.json()['id'] as string;
    const job = await waitFor(async () => {
      const j = (await call('GET', `/api/v1/jobs/${id}`, ADMIN_TOKEN)).json();
      return j['state'] === 'succeeded' || j['state'] === 'failed' ? j : null;
    }, 'the job to end');
    assert.equal(job['state'], 'succeeded');
    assert.equal(job['attempt'], 2);
    assert.equal((await readFile(join(root, id, 'done'), 'utf8')).trim(), 'resumed 7');
  } finally {
    await server.close({ endJobs: true });
    await rm(dir, { recursive: true, force: true });
  }
});
