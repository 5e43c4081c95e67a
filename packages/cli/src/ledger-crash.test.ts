/**
 * Metering across a crash, for real: a `suanli server` child process (gpu:2) runs six 1-device
 * jobs submitted with an issued tenant token (one fails and is retried, one is cancelled while it
 * runs); it is killed with SIGKILL while two run, restarted on the same data directory, and the
 * jobs finish. Then the usage ledger must equal, to the
 * millisecond, Σ over attempts of (end − start) × devices computed independently from the jobs'
 * recorded transitions: nothing lost, nothing counted twice.
 *
 * The same run checks that secrets never reach the logs: the server runs at log level trace and
 * neither the admin token nor the issued token's secret appears anywhere in its output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from './testing/server-process.js';

const ADMIN = 'sl_ledger-admin-token-abcdefghijklmnop';
const SERVER_ENV = { SUANLI_ADMIN_TOKEN: ADMIN, SUANLI_RATE_LIMIT: 'off' };

async function api<T = Record<string, unknown>>(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const r = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: (text ? JSON.parse(text) : null) as T };
}

interface JobView {
  id: string;
  state: string;
  attempt: number;
  transitions: { from: string | null; to: string; at: string; attempt: number }[];
}

test(
  'the ledger equals Σ run time × devices after kill -9 and restart; no secret in the logs',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-ledger-'));
    const dataDir = join(dir, 'data');
    const logs: string[] = [];
    let server = await startServerProcess(dataDir, { logLevel: 'trace', env: SERVER_ENV, sink: logs });
    try {
      const t0 = Date.now();
      // An issued tenant token (not the admin one) submits the work.
      assert.equal((await api(server.url, ADMIN, 'POST', '/api/v1/orgs', { name: 'lab-a' })).status, 201);
      assert.equal(
        (await api(server.url, ADMIN, 'PUT', '/api/v1/orgs/lab-a/members/alice', { role: 'member' })).status,
        200,
      );
      const tok = await api<{ token: string }>(server.url, ADMIN, 'POST', '/api/v1/tokens', {
        name: 'ci',
        tenant: 'lab-a',
        subject: 'alice',
      });
      assert.equal(tok.status, 201);
      const secret = tok.json.token;

      // Two long jobs (running when the server dies), two short ones, one that fails and is retried
      // (two attempts), one cancelled while it runs.
      const specs = [
        { name: 'long-0', command: ['sleep', '3'] },
        { name: 'long-1', command: ['sleep', '3'] },
        { name: 'short-0', command: ['sleep', '1'] },
        { name: 'short-1', command: ['sleep', '1'] },
        {
          name: 'retried',
          command: ['sh', '-c', 'sleep 0.5; exit 3'],
          retry: { maxAttempts: 2, retryOn: ['failed'], backoff: 0 },
        },
        { name: 'cancelled', command: ['sleep', '30'] },
      ];
      const ids: string[] = [];
      for (const spec of specs) {
        const r = await api<{ id: string }>(server.url, secret, 'POST', '/api/v1/jobs', {
          ...spec,
          resources: { accelerators: 1 },
        });
        assert.equal(r.status, 201);
        ids.push(r.json.id);
      }
      const cancelledId = ids[5]!;
      const job = (id: string) =>
        api<JobView>(server.url, secret, 'GET', `/api/v1/jobs/${id}`).then((r) => r.json);
      const waitFor = async (what: string, ok: () => Promise<boolean>, timeoutMs = 30_000) => {
        const deadline = Date.now() + timeoutMs;
        while (!(await ok())) {
          if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await waitFor(
        'two jobs running',
        async () => (await Promise.all(ids.map(job))).filter((j) => j.state === 'running').length === 2,
      );
      await new Promise((r) => setTimeout(r, 700));

      // Crash while two jobs hold both devices.
      server.proc.kill('SIGKILL');
      await new Promise((r) => server.proc.once('exit', r));
      await new Promise((r) => setTimeout(r, 1500));
      server = await startServerProcess(dataDir, { logLevel: 'trace', env: SERVER_ENV, sink: logs });

      // Cancel the long one once it runs (after the restart), then let everything finish.
      await waitFor(
        'the cancellable job running',
        async () => (await job(cancelledId)).state === 'running',
        60_000,
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await api(server.url, secret, 'POST', `/api/v1/jobs/${cancelledId}/cancel`)).status, 202);
      await waitFor(
        'all jobs finished',
        async () =>
          (await Promise.all(ids.map(job))).every((j) =>
            ['succeeded', 'failed', 'lost', 'cancelled'].includes(j.state),
          ),
        60_000,
      );
      const jobs = await Promise.all(ids.map(job));

      // Independent expectation from the transitions: each attempt runs from its `running` transition
      // to the next transition out of `running`, on 1 device.
      let expectedMs = 0;
      const expectedAttempts = new Map<string, number>();
      for (const j of jobs) {
        let start: number | null = null;
        for (const t of j.transitions) {
          if (t.to === 'running') start = Date.parse(t.at);
          else if (t.from === 'running' && start !== null) {
            expectedMs += Date.parse(t.at) - start;
            expectedAttempts.set(j.id, (expectedAttempts.get(j.id) ?? 0) + 1);
            start = null;
          }
        }
        assert.equal(start, null, `job ${j.id} ended every attempt it ran`);
      }
      assert.ok(expectedMs > 5000, `the jobs ran (${expectedMs} ms)`);
      assert.deepEqual(
        jobs.map((j) => j.state),
        ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'cancelled'],
      );
      assert.equal(expectedAttempts.get(ids[4]!), 2, 'the failing job ran twice under its retry policy');

      const usage = await api<{
        rows: { jobId: string; attempts: number; acceleratorSeconds: number }[];
        total: { acceleratorSeconds: number; attempts: number };
      }>(server.url, secret, 'GET', `/api/v1/usage?groupBy=job&from=${t0 - 1000}&to=${Date.now() + 1000}`);
      assert.equal(usage.status, 200);
      const ledgerMs = Math.round(usage.json.total.acceleratorSeconds * 1000);
      for (const id of ids) {
        const row = usage.json.rows.find((r) => r.jobId === id);
        assert.ok(row, `job ${id} is in the ledger`);
        assert.equal(row.attempts, expectedAttempts.get(id), `job ${id}: one ledger row per attempt`);
      }
      assert.equal(ledgerMs, expectedMs, 'ledger total = Σ run time × devices, to the millisecond');
      process.stdout.write(
        `# ledger after kill -9 + restart: ${usage.json.total.attempts} attempts, ${ledgerMs} accelerator-ms in the ledger = ${expectedMs} from the transitions (${jobs.map((j) => j.state).join(', ')})\n`,
      );

      const all = logs.join('');
      assert.ok(
        all.length > 1000 && /"level":10|incoming request/.test(all),
        'the server logged at trace level',
      );
      assert.ok(!all.includes(ADMIN), 'the admin token is not in the logs');
      assert.ok(!all.includes(secret.split('.')[1]!), 'the issued token secret is not in the logs');
    } finally {
      server.proc.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  },
);
