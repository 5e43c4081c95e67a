/**
 * One server per data directory, with two real `suanli server` processes: the second is refused
 * with the first one's PID and address and exits non-zero; after the first is killed with SIGKILL
 * (its lock left behind, stale) a new server takes the directory over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, startServerProcess, type ServerProcess } from './testing/server-process.js';

const execFileP = promisify(execFile);

async function stop(server: ServerProcess, signal: NodeJS.Signals): Promise<void> {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return;
  const exited = new Promise((r) => server.proc.once('exit', r));
  server.proc.kill(signal);
  await exited;
}

test(
  'a second server on the same data directory is refused, naming the PID and address of the first',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-lock-'));
    const dataDir = join(dir, 'data');
    const running: ServerProcess[] = [];
    try {
      const first = await startServerProcess(dataDir, { env: { SUANLI_ADMIN_TOKEN: '' } });
      running.push(first);
      const lock = JSON.parse(await readFile(join(dataDir, 'server.lock'), 'utf8')) as {
        pid: number;
        address: string;
      };
      assert.equal(lock.pid, first.proc.pid);
      assert.equal(lock.address, first.url);

      const second = await execFileP(
        process.execPath,
        [BIN, 'server', '--data-dir', dataDir, '--port', '0', '--accelerators', 'gpu:1'],
        {
          env: { ...process.env, SUANLI_ADMIN_TOKEN: '' },
          timeout: 20_000,
        },
      ).then(
        () => ({ code: 0, stdout: '', stderr: '' }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      assert.notEqual(second.code, 0, 'the second server must not start');
      assert.match(
        second.stderr,
        new RegExp(
          `another suanli server \\(PID ${first.proc.pid}, listening on ${first.url.replace(/[.]/g, '\\.')}`,
        ),
      );
      assert.match(second.stderr, /--data-dir/);
      assert.doesNotMatch(second.stdout, /listening on/);
      // The first still serves and still holds the lock.
      assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
      assert.equal(
        (JSON.parse(await readFile(join(dataDir, 'server.lock'), 'utf8')) as { pid: number }).pid,
        first.proc.pid,
      );

      // SIGKILL leaves the lock behind; its PID is gone, so the next server takes over.
      await stop(first, 'SIGKILL');
      assert.ok(existsSync(join(dataDir, 'server.lock')));
      const third = await startServerProcess(dataDir, { env: { SUANLI_ADMIN_TOKEN: '' } });
      running.push(third);
      assert.equal(
        (JSON.parse(await readFile(join(dataDir, 'server.lock'), 'utf8')) as { pid: number }).pid,
        third.proc.pid,
      );

      // A clean stop removes it.
      await stop(third, 'SIGTERM');
      assert.equal(existsSync(join(dataDir, 'server.lock')), false);
    } finally {
      for (const s of running) await stop(s, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  },
);
