/**
 * Node health through the CLI, for real: `suanli server --health-check-program FILE
 * --health-check-interval 0.2 --health-return auto` as a child process. While the program fails,
 * `suanli nodes` shows the node unhealthy with the program's reason; once it passes, the node
 * returns to service by itself (auto). A program that cannot be run is refused at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, startServerProcess } from './testing/server-process.js';

const execFileP = promisify(execFile);

test(
  'suanli nodes shows a node drained by a failing health check, and auto return',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-health-cli-'));
    const check = join(dir, 'check');
    const flag = join(dir, 'broken');
    await writeFile(
      check,
      `#!/bin/sh\nif [ -e '${flag}' ]; then echo "ib0: link down"; exit 1; fi\nexit 0\n`,
    );
    await chmod(check, 0o755);
    await writeFile(flag, '');
    const dataDir = join(dir, 'data');
    const server = await startServerProcess(dataDir, {
      env: { SUANLI_ADMIN_TOKEN: '' },
      args: ['--health-check-program', check, '--health-check-interval', '0.2', '--health-return', 'auto'],
    });
    try {
      const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
      const nodes = async (): Promise<string> =>
        (
          await execFileP(process.execPath, [BIN, 'nodes'], {
            env: { ...process.env, SUANLI_URL: server.url, SUANLI_TOKEN: token },
          })
        ).stdout;
      const until = async (re: RegExp): Promise<string> => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const out = await nodes();
          if (re.test(out)) return out;
          if (Date.now() > deadline) throw new Error(`suanli nodes never matched ${re}:\n${out}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      const drained = await until(/^box\s+unhealthy \(health: program: ib0: link down\)/m);
      assert.match(drained, /NODE\s+STATE/);
      await unlink(flag);
      await until(/^box\s+ready\s/m);
    } finally {
      const exited = new Promise((r) => server.proc.once('exit', r));
      server.proc.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test('suanli server refuses a health check program it cannot run', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-health-cli-'));
  try {
    const r = await execFileP(
      process.execPath,
      [
        BIN,
        'server',
        '--data-dir',
        join(dir, 'data'),
        '--port',
        '0',
        '--accelerators',
        'gpu:1',
        '--health-check-program',
        join(dir, 'missing'),
      ],
      { env: { ...process.env, SUANLI_ADMIN_TOKEN: '' } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /--health-check-program .*missing cannot be run \(.*ENOENT.*\): give an executable file/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
