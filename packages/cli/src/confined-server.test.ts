/**
 * A real `suanli server` running as root confines its jobs end to end: they run as the tenant's
 * account, a job over its memory limit fails as `out-of-memory` while the server carries on, the
 * data directory is the server's alone, and `kill -9` of the server re-adopts a confined job that
 * is then neither lost nor run twice. Root only (CI runs as root); removes the account it creates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { lookupAccount, removeAccount, tenantAccountName } from '@suanli/executors';
import { BIN, startServerProcess } from './testing/server-process.js';

const execFileP = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const ACCOUNT = tenantAccountName('default');
const CGROUP_PARENT = `suanli-test-${process.pid}`;

/** Removes `parent` (and any group left in it) from every cgroup hierarchy; fails if one stays. */
async function removeCgroupTree(parent: string): Promise<void> {
  const script = `for i in $(seq 50); do find /sys/fs/cgroup/*/${parent} /sys/fs/cgroup/${parent} -depth -type d -exec rmdir {} + 2>/dev/null; ls -d /sys/fs/cgroup/*/${parent} /sys/fs/cgroup/${parent} >/dev/null 2>&1 || exit 0; sleep 0.1; done; exit 1`;
  await execFileP('sh', ['-c', script]);
}

test(
  'confined server: tenant account, out-of-memory, private data directory, kill -9 and re-adoption',
  { timeout: 90_000, skip: isRoot ? false : 'needs root (CI runs as root)' },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-confined-'));
    const dataDir = join(dir, 'data');
    const env = { SUANLI_ADMIN_TOKEN: '', SUANLI_CONFINE: 'auto' };
    // Its own control-group parent, removed with everything in it at the end.
    const args = ['--cgroup-parent', CGROUP_PARENT];
    let server = await startServerProcess(dataDir, { env, args });
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const cli = async (...args: string[]) => {
      try {
        return {
          code: 0,
          ...(await execFileP(process.execPath, [BIN, ...args], {
            env: { ...process.env, SUANLI_URL: server.url, SUANLI_TOKEN: token },
            cwd: dir,
          })),
        };
      } catch (e) {
        return e as { code: number; stdout: string; stderr: string };
      }
    };
    const job = async (id: string) =>
      JSON.parse((await cli('job', id, '--json')).stdout) as {
        state: string;
        attempt: number;
        transitions: { to: string; reason: string }[];
      };
    const waitState = async (id: string, states: string[]) => {
      for (let i = 0; i < 200; i++) {
        const j = await job(id);
        if (states.includes(j.state)) return j;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`job ${id} never reached ${states.join('|')}: ${JSON.stringify(await job(id))}`);
    };
    const submit = async (name: string, yaml: string) => {
      await writeFile(join(dir, `${name}.yaml`), yaml);
      const r = await cli('submit', join(dir, `${name}.yaml`), '--json');
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { id: string }).id;
    };
    try {
      assert.match(server.output(), /jobs: confined/);
      // The data directory: traversable, not listable; its files the server's alone.
      assert.equal(((await stat(dataDir)).mode & 0o777).toString(8), '711');
      assert.equal(((await stat(join(dataDir, 'suanli.db'))).mode & 0o777).toString(8), '600');

      const oom = await submit(
        'oom',
        'name: oom\ncommand: ["sh", "-c", "head -c 768m /dev/zero | tr \\"\\\\0\\" x | sort > /dev/null"]\nresources:\n  accelerators: 0\n  memory: 128Mi\n',
      );
      const ended = await waitState(oom, ['failed']);
      assert.match(ended.transitions.at(-1)?.reason ?? '', /out-of-memory \(limit 128 MiB, peak \d+ MiB\)/);

      // A job that waits for a gate in its own directory (the test, as root, opens it).
      const long = await submit(
        'long',
        'name: long\ncommand: ["sh", "-c", "id -u; while [ ! -e gate ]; do sleep 0.1; done; echo done"]\nresources:\n  accelerators: 1\n',
      );
      await waitState(long, ['running']);
      const logDir = join(dataDir, 'logs', long, 'attempt-1');
      const account = await lookupAccount(ACCOUNT);
      assert.ok(account, `the server created ${ACCOUNT}`);
      assert.equal((await stat(logDir)).uid, account.uid, 'the attempt directory is the job account');
      server.proc.kill('SIGKILL');
      await new Promise((r) => server.proc.once('exit', r));
      server = await startServerProcess(dataDir, { env, args });
      const again = await waitState(long, ['running']);
      assert.equal(again.attempt, 1);
      await writeFile(join(logDir, 'gate'), '');
      await chmod(join(logDir, 'gate'), 0o644);
      const done = await waitState(long, ['succeeded']);
      assert.equal(done.attempt, 1, 're-adopted, not run a second time');
      const out = (await cli('logs', long)).stdout;
      assert.equal(out, `${account.uid}\ndone\n`);
    } finally {
      server.proc.kill('SIGKILL');
      await removeAccount(ACCOUNT); // also ends whatever of its jobs still runs
      await removeCgroupTree(CGROUP_PARENT);
      await rm(dir, { recursive: true, force: true });
    }
  },
);
