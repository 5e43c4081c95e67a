/**
 * `suanli submit --wait` and per-replica logs, driven as a user would: a `suanli server` child
 * process and the CLI as child processes. `--wait` returns when the job ends, with its status as
 * the exit code (as `sbatch --wait`); `--wait=running` when it starts. `suanli logs` of a gang shows
 * every replica's lines whole, each prefixed `[rank]`, however the replicas' writes raced;
 * `--replica N` shows one replica's output as it wrote it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, startServerProcess } from './testing/server-process.js';

const execFileP = promisify(execFile);

test(
  'submit --wait exits with the job status; logs of a gang are per replica, prefixed, never cut mid-line',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-wait-'));
    const dataDir = join(dir, 'data');
    const server = await startServerProcess(dataDir, { env: { SUANLI_ADMIN_TOKEN: '' } });
    try {
      const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
      const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
        try {
          const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], {
            env: { ...process.env, SUANLI_URL: server.url, SUANLI_TOKEN: token },
            cwd: dir,
            maxBuffer: 16 * 1024 * 1024,
          });
          return { code: 0, stdout, stderr };
        } catch (e) {
          const err = e as { code: number; stdout: string; stderr: string };
          return { code: err.code, stdout: err.stdout, stderr: err.stderr };
        }
      };
      // Two replicas write 400 long lines each as fast as they can, then replica 1 fails with 3.
      const pad = 'x'.repeat(300);
      await writeFile(
        join(dir, 'gang.yaml'),
        [
          'name: gang',
          'replicas: 2',
          'resources: { accelerators: 0 }',
          'retry: { maxAttempts: 1 }',
          'command:',
          '  - sh',
          '  - -c',
          `  - 'i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "replica $SUANLI_REPLICA_RANK line $i ${pad}"; done; [ "$SUANLI_REPLICA_RANK" = 1 ] && exit 3; exit 0'`,
          '',
        ].join('\n'),
      );
      const failed = await cli('submit', 'gang.yaml', '--wait', '--json');
      assert.equal(failed.code, 3, `--wait exits with the failed job's exit code; stderr: ${failed.stderr}`);
      const job = JSON.parse(failed.stdout) as { id: string; state: string };
      assert.equal(job.state, 'failed');
      assert.match(failed.stderr, /failed/, 'progress went to standard error');

      const all = await cli('logs', job.id);
      assert.equal(all.code, 0, all.stderr);
      const lines = all.stdout.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 800, 'every line of both replicas');
      for (const l of lines)
        assert.match(
          l,
          new RegExp(`^\\[(0|1)\\] replica \\1 line \\d+ ${pad}$`),
          'whole lines, prefixed with their replica',
        );
      for (const r of ['0', '1'])
        assert.deepEqual(
          lines.filter((l) => l.startsWith(`[${r}]`)).map((l) => Number(l.split(' ')[4])),
          Array.from({ length: 400 }, (_, i) => i + 1),
          `replica ${r}'s lines in its own order`,
        );
      const one = await cli('logs', job.id, '--replica', '1');
      assert.equal(one.code, 0, one.stderr);
      const own = one.stdout.split('\n').filter((l) => l !== '');
      assert.equal(own.length, 400);
      assert.ok(
        own.every((l) => l.startsWith('replica 1 line ')),
        'one replica, as it wrote it',
      );
      assert.equal((await cli('logs', job.id, '--replica', '2')).code, 1, 'a replica the job does not have');
      assert.equal((await cli('logs', job.id, '--replica', 'x')).code, 2);

      await writeFile(join(dir, 'ok.yaml'), 'name: ok\ncommand: ["true"]\nresources: { accelerators: 1 }\n');
      const ok = await cli('submit', 'ok.yaml', '--wait', '--json');
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { state: string }).state, 'succeeded');

      await writeFile(
        join(dir, 'long.yaml'),
        'name: long\ncommand: ["sleep", "60"]\nresources: { accelerators: 1 }\n',
      );
      const started = await cli('submit', 'long.yaml', '--wait=running', '--json');
      assert.equal(started.code, 0, started.stderr);
      const long = JSON.parse(started.stdout) as { id: string; state: string };
      assert.equal(long.state, 'running', '--wait=running returns once it runs');
      assert.equal((await cli('submit', 'long.yaml', '--wait=forever')).code, 2);
      assert.equal((await cli('cancel', long.id)).code, 0);
    } finally {
      server.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      await rm(dir, { recursive: true, force: true });
    }
  },
);
