/**
 * An existing data directory with loose modes is tightened at every start (security review,
 * finding 6): before, a directory pre-created 0755 kept suanli.db 0644 and logs 0755.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './server.js';

const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);

test('a pre-created 0755 data directory with 0644 files comes out 0700 / 0600, and the server says what it fixed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-modes-'));
  try {
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'suanli.db'), '', { mode: 0o644 });
    await writeFile(join(dir, 'policy.yaml'), 'defaultTenant: {}\n', { mode: 0o644 });
    await mkdir(join(dir, 'logs'), { mode: 0o755 });
    await chmod(join(dir, 'logs'), 0o755);
    const lines: string[] = [];
    const server = await startServer({
      dataDir: dir,
      port: 0,
      accelerators: 'gpu:1',
      logLevel: false,
      confine: 'off',
      print: (l) => lines.push(l),
    });
    try {
      assert.equal(await mode(dir), '700');
      assert.equal(await mode(join(dir, 'logs')), '700');
      for (const f of ['suanli.db', 'policy.yaml', 'admin-token'])
        assert.equal(await mode(join(dir, f)), '600', f);
      assert.ok(
        lines.some((l) => /suanli\.db had mode 0644; set to 0600/.test(l)),
        lines.join('\n'),
      );
      assert.ok(lines.some((l) => /jobs: NOT confined/.test(l)));
    } finally {
      await server.close();
    }
    // The WAL and shared-memory files SQLite made since are tightened on the next start too.
    const again = await startServer({
      dataDir: dir,
      port: 0,
      accelerators: 'gpu:1',
      logLevel: false,
      confine: 'off',
      print: () => {},
    });
    await again.close();
    for (const f of ['suanli.db-wal', 'suanli.db-shm'])
      await stat(join(dir, f)).then(
        async () => assert.equal(await mode(join(dir, f)), '600', f),
        () => undefined,
      );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
