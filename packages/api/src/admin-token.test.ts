/**
 * Security review #20, finding 5: the bootstrap admin token could be neither rotated nor revoked
 * (a changed SUANLI_ADMIN_TOKEN was silently ignored) and any length was accepted. Real server in
 * process on a temporary data directory, real SQLite store.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminTokenWeakness, ADMIN_TOKEN_FILE } from './auth.js';
import { startServer, type RunningServer } from './server.js';

const OLD = 'sl_admin-token-before-rotation-0123';
const NEW = 'sl_admin-token-after-rotation-4567';

describe('the bootstrap admin token: strength, rotation, revocation', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function start(
    dir: string,
    envToken: string | undefined,
    opts: { rotateAdminToken?: boolean; revokeAdminToken?: boolean } = {},
  ): Promise<{ server: RunningServer; lines: string[] }> {
    const saved = process.env['SUANLI_ADMIN_TOKEN'];
    if (envToken === undefined) delete process.env['SUANLI_ADMIN_TOKEN'];
    else process.env['SUANLI_ADMIN_TOKEN'] = envToken;
    const lines: string[] = [];
    try {
      const server = await startServer({
        dataDir: dir,
        port: 0,
        accelerators: 'gpu:1',
        nodeName: 'testnode',
        logLevel: false,
        print: (l) => lines.push(l),
        ...opts,
      });
      return { server, lines };
    } finally {
      if (saved === undefined) delete process.env['SUANLI_ADMIN_TOKEN'];
      else process.env['SUANLI_ADMIN_TOKEN'] = saved;
    }
  }

  const whoami = async (server: RunningServer, token: string): Promise<number> =>
    (
      await server.app.inject({
        method: 'GET',
        url: '/api/v1/whoami',
        headers: { authorization: `Bearer ${token}` },
      })
    ).statusCode;

  const newDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'suanli-admin-'));
    dirs.push(d);
    return d;
  };

  test('weak admin tokens are refused at start-up with a clear error', async () => {
    for (const weak of ['adm', 'a'.repeat(40), '0123456789'.repeat(3), 'abababababababababababab12']) {
      const dir = await newDir();
      await assert.rejects(
        start(dir, weak),
        (err: Error) => err.name === 'AdminTokenError' && /SUANLI_ADMIN_TOKEN is too weak/.test(err.message),
        `"${weak}" is refused`,
      );
    }
    assert.match(adminTokenWeakness('adm') ?? '', /at least 24/);
    assert.equal(adminTokenWeakness(OLD), null);
  });

  test('a changed SUANLI_ADMIN_TOKEN is reported, --rotate-admin-token replaces it, --revoke-admin-token ends it; both audited', async () => {
    const dir = await newDir();
    let s = await start(dir, OLD);
    assert.equal(await whoami(s.server, OLD), 200);
    await s.server.close();

    // A different token in the environment is not taken silently: a warning, and the old one holds.
    s = await start(dir, NEW);
    assert.ok(
      s.lines.some((l) => /warning: SUANLI_ADMIN_TOKEN differs .*--rotate-admin-token/.test(l)),
      s.lines.join('\n'),
    );
    assert.equal(await whoami(s.server, NEW), 401);
    assert.equal(await whoami(s.server, OLD), 200);
    await s.server.close();

    // Rotation: the environment's token replaces the stored one; the old one stops working.
    s = await start(dir, NEW, { rotateAdminToken: true });
    assert.ok(
      s.lines.some((l) => /admin token: ROTATED/.test(l)),
      s.lines.join('\n'),
    );
    assert.equal(await whoami(s.server, NEW), 200);
    assert.equal(await whoami(s.server, OLD), 401);
    await s.server.close();

    // Rotation without a token in the environment: a generated one, written 0600.
    s = await start(dir, undefined, { rotateAdminToken: true });
    const file = join(dir, ADMIN_TOKEN_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const { readFile } = await import('node:fs/promises');
    const generated = (await readFile(file, 'utf8')).trim();
    assert.equal(await whoami(s.server, generated), 200);
    assert.equal(await whoami(s.server, NEW), 401);
    await s.server.close();

    // Revocation: no bootstrap token works, the file is gone, and the next start says so.
    s = await start(dir, undefined, { revokeAdminToken: true });
    assert.equal(await whoami(s.server, generated), 401);
    await assert.rejects(stat(file));
    const audit = await s.server.store.listAudit({ limit: 100 });
    assert.deepEqual(
      audit
        .filter((a) => a.method === 'SERVER')
        .map((a) => a.route)
        .sort(),
      ['--revoke-admin-token', '--rotate-admin-token', '--rotate-admin-token'],
    );
    await s.server.close();
    s = await start(dir, OLD);
    assert.equal(await whoami(s.server, OLD), 401);
    assert.ok(
      s.lines.some((l) => /warning: the bootstrap admin token .* is revoked/.test(l)),
      s.lines.join('\n'),
    );
    await s.server.close();
  });
});
