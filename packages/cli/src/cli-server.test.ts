/**
 * The judged scenario, for real: a `suanli server --accelerators gpu:2` child process, driven by
 * the `suanli` CLI as child processes. Three 1-accelerator jobs: two run at once with different
 * CUDA_VISIBLE_DEVICES while the third waits with a reason; logs; cancel; `kill -9` of the server
 * and a restart with nothing lost or run twice; malformed specs rejected with the field named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseGenericTrace } from '@suanli/sim';
import { BIN, startServerProcess } from './testing/server-process.js';

const execFileP = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

test(
  'three jobs on gpu:2, logs, cancel, kill -9 and restart, malformed specs',
  { timeout: 90_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-cli-'));
    const dataDir = join(dir, 'data');
    let server = await startServerProcess(dataDir, { env: { SUANLI_ADMIN_TOKEN: '' } });
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const cli = async (...args: string[]): Promise<CliResult> => {
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
    const jobJson = async (id: string) =>
      JSON.parse((await cli('job', id, '--json')).stdout) as {
        state: string;
        attempt: number;
        exitCode: number | null;
        pending: { verdict: string; reason: string } | null;
        transitions: { to: string; reason: string }[];
      };
    const waitState = async (id: string, states: string[], timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const j = await jobJson(id);
        if (states.includes(j.state)) return j;
        if (Date.now() > deadline)
          throw new Error(`job ${id} stuck in ${j.state}, wanted ${states.join('|')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    try {
      // The token file is readable by its owner only.
      const { stdout: mode } = await execFileP('stat', ['-c', '%a', join(dataDir, 'admin-token')]);
      assert.equal(mode.trim(), '600');

      // Each job runs until the test opens its gate (a file), so timing on a loaded machine cannot
      // change which jobs end while the server is down.
      const gate = (name: string) => join(dir, `gate-${name}`);
      const spec = (name: string) =>
        `name: ${name}\ncommand: ["bash", "-c", "echo start $CUDA_VISIBLE_DEVICES; while [ ! -e ${gate(name)} ]; do sleep 0.1; done; echo done"]\nresources:\n  accelerators: 1\n`;
      await writeFile(join(dir, 'short.yaml'), spec('short'));
      await writeFile(join(dir, 'long.yaml'), spec('long'));
      await writeFile(join(dir, 'third.yaml'), spec('third'));

      const ids: string[] = [];
      for (const f of ['short.yaml', 'long.yaml', 'third.yaml']) {
        const r = await cli('submit', f, '--json');
        assert.equal(r.code, 0, r.stderr);
        ids.push(JSON.parse(r.stdout).id);
      }
      const [shortId, longId, thirdId] = ids as [string, string, string];
      await waitState(shortId, ['running']);
      await waitState(longId, ['running']);
      const third = await jobJson(thirdId);
      assert.equal(third.state, 'queued');
      assert.equal(third.pending?.verdict, 'waits-for-capacity');
      assert.match(third.pending?.reason ?? '', /accelerator/);
      const human = await cli('job', thirdId);
      assert.match(human.stdout, /why pending: waits-for-capacity/);

      // Two different devices, read back through the logs command.
      const readStart = async (id: string) => {
        for (let i = 0; i < 50; i++) {
          const m = /start (\S+)/.exec((await cli('logs', id)).stdout);
          if (m) return m[1]!;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`no start line in the log of ${id}`);
      };
      const devShort = await readStart(shortId);
      const devLong = await readStart(longId);
      assert.notEqual(devShort, devLong);

      const list = await cli('jobs');
      assert.match(list.stdout, /ID\s+NAME\s+STATE/);
      const nodes = await cli('nodes');
      assert.match(nodes.stdout, /\(declared\)/);
      assert.match(nodes.stdout, /^jobs: (confined|NOT confined) \(.+\)$/m);

      // Cancel the waiting job.
      const c = await cli('cancel', thirdId);
      assert.equal(c.code, 0, c.stderr);
      assert.equal((await jobJson(thirdId)).state, 'cancelled');

      // kill -9 the server while two jobs run; the short one finishes while it is down.
      server.proc.kill('SIGKILL');
      await new Promise((r) => server.proc.once('exit', r));
      // Open the short job's gate while the server is down; wait until its shim recorded the exit.
      await writeFile(gate('short'), '');
      const statusFile = join(dataDir, 'logs', shortId, 'attempt-1.state', 'exit-status.0');
      for (let i = 0; i < 200 && !(await readFile(statusFile, 'utf8').catch(() => '')); i++)
        await new Promise((r) => setTimeout(r, 100));
      server = await startServerProcess(dataDir, { env: { SUANLI_ADMIN_TOKEN: '' } });

      const s = await waitState(shortId, ['succeeded', 'failed', 'lost', 'queued']);
      assert.equal(s.state, 'succeeded');
      assert.equal(s.exitCode, 0);
      assert.equal(s.attempt, 1);
      assert.match(
        s.transitions.at(-1)!.reason,
        /while the server was down/,
        JSON.stringify(s.transitions, null, 1),
      );
      const l = await waitState(longId, ['running', 'succeeded'], 5000);
      assert.equal(l.attempt, 1, 'the running job was re-adopted, not started again');
      await writeFile(gate('long'), '');
      const done = await waitState(longId, ['succeeded'], 20_000);
      assert.equal(done.attempt, 1);
      const longLog = (await cli('logs', longId)).stdout;
      assert.equal(longLog.match(/start /g)?.length, 1, 'started exactly once');
      assert.match(longLog, /done/);
      const shown = (await cli('job', longId)).stdout;
      assert.match(shown, /attempts:\n\s+#\s+STARTED\s+ENDED\s+END STATE\s+DEVICES\s+PEAK MEM\s+CPU TIME/);
      assert.match(shown, /^\s+1\s+\S+\s+\S+\s+succeeded\s+1 /m);

      // Malformed specs: the field is named, the exit code is non-zero, nothing is created.
      await writeFile(
        join(dir, 'bad.yaml'),
        'name: bad\ncommand: ["true"]\nresources:\n  accelerators: two\n  gpu: 1\n',
      );
      const bad = await cli('submit', 'bad.yaml');
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /JOB_SPEC_INVALID/);
      assert.match(bad.stderr, /resources\.accelerators: must be a whole number/);
      assert.match(bad.stderr, /resources\.gpu: unknown field/);
      await writeFile(join(dir, 'broken.yaml'), 'name: [oops\n');
      const broken = await cli('submit', 'broken.yaml');
      assert.equal(broken.code, 2);
      assert.match(broken.stderr, /not valid YAML/);
      const all = JSON.parse((await cli('jobs', '--json')).stdout) as { jobs: unknown[] };
      assert.equal(all.jobs.length, 3);

      // The history replays in the simulator: the two jobs that ran, in the generic trace format.
      const trace = await cli('export-trace');
      assert.equal(trace.code, 0, trace.stderr);
      const rows = parseGenericTrace(trace.stdout);
      assert.deepEqual(rows.map((r) => r.id).sort(), [shortId, longId].sort());
      assert.ok(rows.every((r) => r.accelerators === 1 && r.durationS > 0 && r.tenant === 'default'));
    } finally {
      server.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      await rm(dir, { recursive: true, force: true });
    }
  },
);
