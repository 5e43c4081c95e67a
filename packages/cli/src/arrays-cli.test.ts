/**
 * Job arrays from the command line, against a real `suanli server` child process: submit with
 * `--array`, `suanli jobs` folding the array into one line with counts, `suanli job` on the array
 * listing its tasks, cancel of one task and of the array, and a bad expression refused.
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
  'suanli submit --array, jobs (folded), job ARRAY, cancel of a task and of the array',
  { timeout: 90_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-cli-arrays-'));
    const dataDir = join(dir, 'data');
    const server = await startServerProcess(dataDir, { env: { SUANLI_ADMIN_TOKEN: '' } });
    try {
      const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
      const cli = async (...args: string[]) => {
        try {
          const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], {
            env: { ...process.env, SUANLI_URL: server.url, SUANLI_TOKEN: token },
            cwd: dir,
          });
          return { code: 0, stdout, stderr };
        } catch (e) {
          const err = e as { code: number; stdout: string; stderr: string };
          return { code: err.code, stdout: err.stdout, stderr: err.stderr };
        }
      };
      await writeFile(
        join(dir, 'sweep.yaml'),
        'name: sweep\ncommand: ["sleep", "30"]\nresources:\n  accelerators: 0\n  cpu: 0.1\narray: "0-3"\n',
      );
      const sub = await cli('submit', 'sweep.yaml', '--array', '0-9%2');
      assert.equal(sub.code, 0, sub.stderr);
      const m =
        /^submitted job array (j-[0-9a-f]{16}) \(sweep\): 10 tasks (\S+) … (\S+), at most 2 at once$/m.exec(
          sub.stdout,
        );
      assert.ok(m, sub.stdout);
      const id = m[1]!;
      assert.equal(m[2], `${id}_0`);
      assert.equal(m[3], `${id}_9`);

      // folded: one line for the array, with its counts, once two tasks run
      let jobs = '';
      for (let i = 0; i < 100; i++) {
        jobs = (await cli('jobs')).stdout;
        if (jobs.includes('2 running, 8 queued')) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const lines = jobs.split('\n').filter((l) => l.includes(id));
      assert.equal(lines.length, 1, jobs);
      assert.match(lines[0]!, new RegExp(`${id}_\\[0-9%2\\]\\s+sweep\\s+array of 10 .*2 running, 8 queued`));
      // --tasks: one line per task
      const tasks = (await cli('jobs', '--tasks')).stdout.split('\n').filter((l) => l.includes(`${id}_`));
      assert.equal(tasks.length, 10);

      const show = await cli('job', id);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, new RegExp(`^Job array ${id}  sweep`, 'm'));
      assert.match(show.stdout, /tasks: {7}10 \(0-9%2: at most 2 at once\)/);
      for (let i = 0; i < 10; i++) assert.match(show.stdout, new RegExp(`${id}_${i}\\b`));
      assert.match(show.stdout, /waits-for-turn: .*%2/);

      const one = await cli('cancel', `${id}_9`);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, new RegExp(`job ${id}_9 cancelled`));
      const all = await cli('cancel', id);
      assert.equal(all.code, 0, all.stderr);
      assert.match(
        all.stdout,
        new RegExp(`job array ${id}: 7 waiting task\\(s\\) cancelled, 2 running task\\(s\\) asked to stop`),
      );

      // the running ones end within the grace period: nothing outlives the test
      for (let i = 0; ; i++) {
        const v = JSON.parse((await cli('job', id, '--json')).stdout) as { counts: Record<string, number> };
        if (v.counts['cancelled'] === 10) break;
        assert.ok(i < 150, JSON.stringify(v.counts));
        await new Promise((r) => setTimeout(r, 200));
      }

      const bad = await cli('submit', 'sweep.yaml', '--array', '9-1');
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /JOB_ARRAY_INVALID/);
      assert.match(bad.stderr, /from low to high/);
    } finally {
      server.proc.kill('SIGTERM');
      if (server.proc.exitCode === null) await new Promise((r) => server.proc.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    }
  },
);
