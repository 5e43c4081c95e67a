/**
 * The server's own log on a full disk, for real: `suanli server` with its standard output and
 * error redirected to a file on a small tmpfs (mounted by the test, unmounted on every path), which
 * the test then fills. The server must keep answering at once, keep scheduling, and say in
 * `/healthz` and `/metrics` that log lines are being dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './testing/server-process.js';

const TOKEN = 'sl_log-full-test-token-0123456789';

function fill(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (const size of [chunk.length, 4096, 512, 1])
      for (let i = 0; i < 100_000; i++) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
  } finally {
    closeSync(fd);
  }
}

test(
  'a server whose log disk is full keeps serving and scheduling, and counts the lines it drops',
  { timeout: 90_000 },
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'suanli-logfull-'));
    const mnt = join(root, 'mnt');
    mkdirSync(mnt);
    let mounted = false;
    let proc: ReturnType<typeof spawn> | null = null;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mnt]);
      mounted = true;
      const logPath = join(mnt, 'server.log');
      const logFd = openSync(logPath, 'a');
      proc = spawn(
        process.execPath,
        [
          BIN,
          'server',
          '--data-dir',
          join(root, 'data'),
          '--port',
          '0',
          '--accelerators',
          'gpu:1',
          '--node-name',
          'box',
          '--confine',
          'off',
          '--log-level',
          'info',
        ],
        { stdio: ['ignore', logFd, logFd], env: { ...process.env, SUANLI_ADMIN_TOKEN: TOKEN } },
      );
      closeSync(logFd);
      const exited = new Promise<number | null>((r) => proc!.once('exit', (c) => r(c)));
      const deadline = Date.now() + 20_000;
      let url: string | null = null;
      while (url === null) {
        const m = /listening on (http:\/\/\S+)/.exec(readFileSync(logPath, 'utf8'));
        if (m?.[1]) url = m[1];
        else if (Date.now() > deadline)
          throw new Error(`server did not start: ${readFileSync(logPath, 'utf8')}`);
        else await new Promise((r) => setTimeout(r, 100));
      }
      const auth = { authorization: `Bearer ${TOKEN}` };
      const timed = async (path: string, init: RequestInit = {}) => {
        const t0 = performance.now();
        const r = await fetch(`${url}${path}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
        const body = await r.text();
        return { status: r.status, body, ms: performance.now() - t0 };
      };

      fill(mnt);
      // Every request is logged (level info): each of these writes to the full disk.
      let slowest = 0;
      for (let i = 0; i < 50; i++) {
        const r = await timed('/healthz');
        assert.equal(r.status, 200);
        slowest = Math.max(slowest, r.ms);
      }
      assert.ok(slowest < 1000, `every /healthz answered within 1 s (slowest ${slowest.toFixed(0)} ms)`);

      // It still schedules: a job submitted now runs to completion.
      const sub = await timed('/api/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'after-full', command: ['true'], resources: { accelerators: 1 } }),
      });
      assert.equal(sub.status, 201, sub.body);
      const id = (JSON.parse(sub.body) as { id: string }).id;
      const until = Date.now() + 20_000;
      for (;;) {
        const j = JSON.parse((await timed(`/api/v1/jobs/${id}`)).body) as { state: string };
        if (j.state === 'succeeded') break;
        assert.ok(Date.now() < until, `job ${id} stuck in ${j.state}`);
        await new Promise((r) => setTimeout(r, 200));
      }

      const health = JSON.parse((await timed('/healthz')).body) as {
        status: string;
        problems: { code: string; message: string }[];
      };
      assert.equal(health.status, 'degraded');
      const problem = health.problems.find((p) => p.code === 'log-not-writable');
      assert.ok(problem, JSON.stringify(health));
      assert.match(problem.message, /ENOSPC/);
      const metrics = (await timed('/metrics')).body;
      const dropped = Number(/^suanli_log_lines_dropped_total (\d+)$/m.exec(metrics)?.[1]);
      assert.ok(dropped >= 50, `dropped lines counted (${dropped})`);
      assert.equal(proc.exitCode, null, 'the server is still running');

      proc.kill('SIGTERM');
      assert.equal(await exited, 0, 'and stops cleanly');
    } finally {
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc!.once('exit', r));
        proc.kill('SIGKILL');
        await gone;
      }
      if (mounted) execFileSync('umount', ['-l', mnt]);
      await rm(root, { recursive: true, force: true });
    }
  },
);
