/**
 * A full disk, for real: a small tmpfs mounted by the test (and unmounted, with its directory
 * removed, on every path).
 *
 * - The data directory on it, filled: submissions get 507 STORAGE_FULL with Retry-After, never 500;
 *   `/healthz` says degraded with the reason; `/metrics` has the gauge and the counter. Once space
 *   is freed, submissions succeed, health is ok again, and every acknowledged job is there.
 * - Only the job log directory on it, filled: a job launched there ends with a launch failure that
 *   says the log directory is not writable (ENOSPC), not as its own failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './server.js';

const TOKEN = 'sl_disk-full-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

async function withTmpfs(sizeBytes: number, fn: (mnt: string, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'suanli-full-'));
  const mnt = join(root, 'mnt');
  mkdirSync(mnt);
  let mounted = false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', mnt]);
    mounted = true;
    await fn(mnt, root);
  } finally {
    if (mounted) execFileSync('umount', ['-l', mnt]);
    await rm(root, { recursive: true, force: true });
  }
}

/** Writes a file until the file system is full; returns its path (delete it to free the space). */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; i < 100_000; i++) {
      try {
        writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
          // the last partial block too
          for (const size of [4096, 512, 1])
            for (;;) {
              try {
                writeSync(fd, chunk, 0, size);
              } catch {
                break;
              }
            }
          return path;
        }
        throw err;
      }
    }
    throw new Error('the file system never filled');
  } finally {
    closeSync(fd);
  }
}

async function start(dataDir: string): Promise<RunningServer> {
  process.env['SUANLI_ADMIN_TOKEN'] = TOKEN;
  try {
    return await startServer({
      dataDir,
      port: 0,
      accelerators: 'gpu:2',
      nodeName: 'testnode',
      confine: 'off',
      logLevel: false,
      cycleIntervalMs: 100,
      cancelGraceMs: 300,
      print: () => {},
    });
  } finally {
    delete process.env['SUANLI_ADMIN_TOKEN'];
  }
}

const spec = (name: string, command: string[] = ['sleep', '60'], accelerators = 2) => ({
  name,
  command,
  resources: { accelerators },
});

async function waitFor<T>(what: string, fn: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(
  'a full data directory: 507 STORAGE_FULL, degraded health and metrics, recovery with nothing acknowledged lost',
  { timeout: 120_000 },
  async () => {
    await withTmpfs(16 * 1024 * 1024, async (mnt) => {
      const server = await start(join(mnt, 'data'));
      try {
        const submit = (body: object) =>
          server.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: auth, payload: body });
        const acknowledged: string[] = [];
        // The first job holds both devices; the rest wait, so nothing else writes to the disk.
        for (let i = 0; i < 5; i++) {
          const r = await submit(spec(`before-${i}`));
          assert.equal(r.statusCode, 201, r.body);
          acknowledged.push(r.json().id as string);
        }
        assert.equal((await server.app.inject({ url: '/healthz' })).json().status, 'ok');

        const filler = fill(mnt);
        let refused = 0;
        const statuses = new Set<number>();
        for (let i = 0; i < 300 && refused < 20; i++) {
          const r = await submit(spec(`during-${i}`));
          statuses.add(r.statusCode);
          if (r.statusCode === 201) acknowledged.push(r.json().id as string);
          else {
            assert.equal(r.statusCode, 507, r.body);
            const e = r.json().error as { code: string; message: string };
            assert.equal(e.code, 'STORAGE_FULL');
            assert.match(e.message, /disk is full.*retry/);
            assert.equal(r.headers['retry-after'], '30');
            refused++;
          }
        }
        assert.ok(refused > 0, `no submission was refused (statuses ${[...statuses].join(', ')})`);
        assert.ok(!statuses.has(500), 'no 500 INTERNAL');

        const health = (await server.app.inject({ url: '/healthz' })).json() as {
          status: string;
          problems: { code: string; message: string }[];
        };
        assert.equal(health.status, 'degraded');
        assert.equal(health.problems[0]?.code, 'storage-full');
        assert.match(health.problems[0]?.message ?? '', /disk is full/);
        const metrics = (await server.app.inject({ url: '/metrics' })).body;
        assert.match(metrics, /^suanli_storage_full 1$/m);
        const errors = Number(/^suanli_storage_full_errors_total (\d+)$/m.exec(metrics)?.[1]);
        assert.ok(errors >= refused, metrics);

        // Space comes back: the server recovers by itself.
        await rm(filler);
        const after = await submit(spec('after'));
        assert.equal(after.statusCode, 201, after.body);
        acknowledged.push(after.json().id as string);
        const healthy = (await server.app.inject({ url: '/healthz' })).json() as {
          status: string;
          problems: unknown[];
        };
        assert.deepEqual([healthy.status, healthy.problems], ['ok', []]);
        assert.match((await server.app.inject({ url: '/metrics' })).body, /^suanli_storage_full 0$/m);

        for (const id of acknowledged) {
          const r = await server.app.inject({ url: `/api/v1/jobs/${id}`, headers: auth });
          assert.equal(r.statusCode, 200, `acknowledged job ${id} is there`);
        }
      } finally {
        await server.close({ endJobs: true });
      }
    });
  },
);

test(
  'a full log directory: the job ends as a launch failure that says so, not as its own failure',
  { timeout: 60_000 },
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'suanli-logs-full-'));
    try {
      const dataDir = join(root, 'data');
      mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
      await withTmpfs(2 * 1024 * 1024, async (mnt) => {
        // The log directory is the tmpfs: bind it where the server keeps job logs.
        execFileSync('mount', ['--bind', mnt, join(dataDir, 'logs')]);
        try {
          fill(mnt);
          const server = await start(dataDir);
          try {
            const r = await server.app.inject({
              method: 'POST',
              url: '/api/v1/jobs',
              headers: auth,
              payload: spec('writes-logs', ['echo', 'hello'], 1),
            });
            assert.equal(r.statusCode, 201, r.body);
            const id = r.json().id as string;
            const job = await waitFor('the job to end', async () => {
              const j = (await server.app.inject({ url: `/api/v1/jobs/${id}`, headers: auth })).json() as {
                state: string;
                exitCode: number | null;
                transitions?: { to: string; reason: string }[];
              };
              return ['failed', 'succeeded'].includes(j.state) ? j : null;
            });
            assert.equal(job.state, 'failed');
            assert.equal(job.exitCode, null, 'the job never ran');
            const last = job.transitions?.at(-1);
            assert.match(last?.reason ?? '', /^launch failed: log directory not writable: ENOSPC/);
          } finally {
            await server.close({ endJobs: true });
          }
        } finally {
          execFileSync('umount', ['-l', join(dataDir, 'logs')]);
        }
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
);
