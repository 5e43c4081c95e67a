/**
 * `suanli login`, tokens, members, usage and audit through the real CLI binary (child processes)
 * against a real server in this process, with a private XDG_CONFIG_HOME.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer } from '@suanli/api';

const BIN = fileURLToPath(new URL('../bin/suanli.js', import.meta.url));
const execFileP = promisify(execFile);
const ADMIN = 'sl_cli-identity-admin-0123456789';

test(
  'login saves a verified token 0600; tokens, members, usage and audit from the CLI',
  { timeout: 90_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-cli-id-'));
    const saved = process.env['SUANLI_ADMIN_TOKEN'];
    process.env['SUANLI_ADMIN_TOKEN'] = ADMIN;
    const server = await startServer({
      dataDir: join(dir, 'data'),
      port: 0,
      accelerators: 'gpu:1',
      logLevel: false,
      print: () => {},
    });
    if (saved === undefined) delete process.env['SUANLI_ADMIN_TOKEN'];
    else process.env['SUANLI_ADMIN_TOKEN'] = saved;
    const home = join(dir, 'config');
    const env = (extra: Record<string, string> = {}) => {
      const e: Record<string, string | undefined> = { ...process.env, XDG_CONFIG_HOME: home, ...extra };
      delete e['SUANLI_URL'];
      delete e['SUANLI_TOKEN'];
      Object.assign(e, extra);
      return e;
    };
    const cli = async (args: string[], extra: Record<string, string> = {}) => {
      try {
        const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], {
          env: env(extra),
          cwd: dir,
        });
        return { code: 0, stdout, stderr };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
      }
    };
    try {
      // Login with the token on stdin (the prompt), then everything else uses the saved files.
      const login = spawn(process.execPath, [BIN, 'login', '--url', server.url], { env: env(), cwd: dir });
      login.stdin.end(ADMIN + '\n');
      let out = '';
      login.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => login.on('exit', r));
      assert.equal(code, 0, out);
      assert.match(out, /logged in to .* as admin \(admin, tenant default\)/);
      const sdir = join(home, 'suanli');
      for (const f of ['token', 'url'])
        assert.equal((await stat(join(sdir, f))).mode & 0o777, 0o600, `${f} is 0600`);
      assert.equal((await readFile(join(sdir, 'token'), 'utf8')).trim(), ADMIN);
      assert.equal((await readFile(join(sdir, 'url'), 'utf8')).trim(), server.url);
      assert.match((await cli(['whoami'])).stdout, /^admin \(admin, tenant default\)/);

      assert.equal((await cli(['org', 'create', 'lab-a'])).code, 0);
      assert.equal((await cli(['member', 'set', 'lab-a', 'alice', 'member'])).code, 0);
      const bad = await cli(['member', 'set', 'lab-a', 'bob', 'root']);
      assert.notEqual(bad.code, 0);
      // The Unix account alice's jobs run as: set, shown, refused for root, cleared.
      const mapped = await cli(['member', 'set', 'lab-a', 'alice', 'member', '--unix-user', 'alice_w']);
      assert.equal(mapped.code, 0, mapped.stderr);
      assert.match(mapped.stdout, /their jobs run as alice_w/);
      assert.match((await cli(['member', 'list', 'lab-a'])).stdout, /^alice\s+member\s+alice_w\s/m);
      const kept = await cli(['member', 'set', 'lab-a', 'alice', 'member']);
      assert.match(kept.stdout, /run as alice_w/, 'a role change without --unix-user keeps the mapping');
      const asRoot = await cli(['member', 'set', 'lab-a', 'alice', 'member', '--unix-user', 'root']);
      assert.equal(asRoot.code, 1);
      assert.match(asRoot.stderr, /UNIX_USER_FORBIDDEN/);
      const cleared = await cli(['member', 'set', 'lab-a', 'alice', 'member', '--no-unix-user']);
      assert.equal(cleared.code, 0, cleared.stderr);
      assert.match(cleared.stdout, /the tenant's account sl-lab-a/);
      assert.match(
        (await cli(['member', 'list', 'lab-a'])).stdout,
        /^alice\s+member\s+sl-lab-a \(tenant account\)/m,
      );
      await cli(['member', 'set', 'lab-a', 'alice', 'member', '--unix-user', 'alice_w']);
      assert.match(
        (await cli(['member', 'set', 'lab-a', 'alice', 'member', '--unix-user', ''])).stdout,
        /sl-lab-a/,
      );
      const created = await cli([
        'token',
        'create',
        'alice-ci',
        '--tenant',
        'lab-a',
        '--subject',
        'alice',
        '--expires',
        '30d',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const secret = created.stdout.trim();
      assert.match(secret, /^sl_[0-9a-f]{12}\./);
      assert.match(created.stderr, /not shown again/);

      // A wrong token is refused and does not replace the saved one.
      const wrong = await cli(['login', '--token', 'sl_wrong']);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /UNAUTHENTICATED/);
      assert.equal((await readFile(join(sdir, 'token'), 'utf8')).trim(), ADMIN);

      const asAlice = await cli(['login', '--token', secret]);
      assert.equal(asAlice.code, 0, asAlice.stderr);
      assert.match(asAlice.stdout, /as alice \(member, tenant lab-a\)/);
      const list = JSON.parse((await cli(['token', 'list', '--json'])).stdout) as {
        tokens: { id: string; subject: string }[];
      };
      assert.deepEqual(
        list.tokens.map((t) => t.subject),
        ['alice'],
      );
      assert.ok(!JSON.stringify(list).includes(secret.split('.')[1]!));

      const csv = await cli(['usage', '--csv', '--by', 'project']);
      assert.equal(csv.code, 0, csv.stderr);
      assert.match(csv.stdout, /^tenant,project,acceleratorType,jobId,attempts,acceleratorSeconds/);
      const usage = JSON.parse((await cli(['usage', '--json'])).stdout) as {
        groupBy: string;
        total: { attempts: number };
      };
      assert.equal(usage.groupBy, 'tenant');
      const audit = await cli(['audit']);
      assert.equal(audit.code, 1, 'members may not read the audit log');
      assert.match(audit.stderr, /FORBIDDEN/);

      // The admin (token from the environment, which wins over the saved one) revokes alice's token.
      const adminAudit = await cli(['audit', '--csv'], { SUANLI_TOKEN: ADMIN, SUANLI_URL: server.url });
      assert.match(adminAudit.stdout, /POST,\/api\/v1\/tokens,/);
      const id = list.tokens[0]!.id;
      assert.equal(
        (await cli(['token', 'revoke', id], { SUANLI_TOKEN: ADMIN, SUANLI_URL: server.url })).code,
        0,
      );
      const after = await cli(['whoami']);
      assert.equal(after.code, 1);
      assert.match(after.stderr, /UNAUTHENTICATED/);
      assert.equal((await cli(['logout'])).code, 0);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
