/**
 * Security review #20, finding 7: the PostgreSQL password could only be given in `--database`,
 * visible to every user in `ps`. Now: SUANLI_DATABASE_URL, PGPASSWORD and passfiles (PGPASSFILE,
 * ~/.pgpass), and the banner shows the URL with the password redacted. Against a real PostgreSQL
 * (scripts/pg-ci.sh; skipped without one, failing under CI as the store suites do) in a schema of
 * its own; the passfile rules also without a server.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adminPostgresSchema,
  passwordFromPassfileText,
  redactDatabaseUrl,
  resolvePostgresPassword,
} from '@suanli/store';
import { startServer } from './server.js';

const URL_FILE = '/run/suanli-pg/url';
const pgUrl =
  process.env['SUANLI_TEST_PG_URL'] ||
  (existsSync(URL_FILE) ? readFileSync(URL_FILE, 'utf8').trim() : '') ||
  null;
const ADMIN = 'sl_database-credentials-admin-0123';

describe('database credentials without a command line', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const newDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'suanli-db-'));
    dirs.push(d);
    return d;
  };

  test('the banner and errors show a database URL with its password redacted', () => {
    assert.equal(
      redactDatabaseUrl('postgres://suanli:s3cr%40t@db.example:5432/suanli'),
      'postgres://suanli:***@db.example:5432/suanli',
    );
    assert.equal(redactDatabaseUrl('postgresql://suanli@db/x'), 'postgresql://suanli@db/x');
    assert.equal(
      redactDatabaseUrl('postgresql://db/x?password=hunter2&ssl=1'),
      'postgresql://db/x?password=***&ssl=1',
    );
  });

  test('passfiles as libpq reads them: wildcards, escapes, first match, ignored when others may read it', async () => {
    const text = [
      '# comment',
      'other:5432:*:suanli:wrong',
      'db.example:5432:suanli:suanli:pa\\:ss\\\\word',
      '*:*:*:*:fallback',
    ].join('\n');
    const target = { host: 'db.example', port: '5432', database: 'suanli', user: 'suanli' };
    assert.equal(passwordFromPassfileText(text, target), 'pa:ss\\word');
    assert.equal(passwordFromPassfileText(text, { ...target, host: 'elsewhere' }), 'fallback');

    const dir = await newDir();
    const file = join(dir, 'pgpass');
    await writeFile(file, text + '\n', { mode: 0o644 });
    await chmod(file, 0o644);
    const env = { PGPASSFILE: file, HOME: dir };
    const warnings: string[] = [];
    const url = 'postgres://suanli@db.example:5432/suanli';
    assert.equal(
      resolvePostgresPassword(url, env, (w) => warnings.push(w)),
      undefined,
    );
    assert.match(warnings[0] ?? '', /readable by group or others/);
    await chmod(file, 0o600);
    assert.equal(resolvePostgresPassword(url, env), 'pa:ss\\word');
    assert.equal(resolvePostgresPassword(url, { ...env, PGPASSWORD: 'from-env' }), 'from-env');
    assert.equal(resolvePostgresPassword('postgres://suanli:inline@db.example/suanli', env), 'inline');
  });

  test(
    'SUANLI_DATABASE_URL without a password + PGPASSFILE (or PGPASSWORD) reaches PostgreSQL; the banner has no password',
    { skip: pgUrl === null ? 'needs PostgreSQL: bash scripts/pg-ci.sh up' : false },
    async () => {
      assert.ok(pgUrl);
      const full = new URL(pgUrl);
      const password = decodeURIComponent(full.password);
      const schema = `suanli_cred_${process.pid}`;
      await adminPostgresSchema(pgUrl, 'create', schema);
      const bare = new URL(pgUrl);
      bare.password = '';
      bare.searchParams.set('options', `-c search_path=${schema}`);
      const dir = await newDir();
      const passfile = join(dir, 'pgpass');
      await writeFile(passfile, `${full.hostname}:${full.port || '5432'}:*:${full.username}:${password}\n`, {
        mode: 0o600,
      });
      const saved = { ...process.env };
      try {
        for (const [env, value] of [
          ['PGPASSFILE', passfile],
          ['PGPASSWORD', password],
        ] as const) {
          delete process.env['PGPASSWORD'];
          delete process.env['PGPASSFILE'];
          process.env[env] = value;
          process.env['SUANLI_DATABASE_URL'] = bare.toString();
          process.env['SUANLI_ADMIN_TOKEN'] = ADMIN;
          const lines: string[] = [];
          const server = await startServer({
            dataDir: await newDir(),
            port: 0,
            accelerators: 'gpu:1',
            nodeName: 'testnode',
            logLevel: false,
            print: (l) => lines.push(l),
          });
          try {
            assert.equal(server.store.dialect, 'postgres', `${env}: SUANLI_DATABASE_URL is used`);
            const who = await server.app.inject({
              method: 'GET',
              url: '/api/v1/whoami',
              headers: { authorization: `Bearer ${ADMIN}` },
            });
            assert.equal(who.statusCode, 200, who.body);
            const banner = lines.join('\n');
            assert.match(banner, /store: postgres \(postgresql:\/\//);
            assert.ok(!banner.includes(password), `${env}: the banner has no password:\n${banner}`);
          } finally {
            await server.close();
          }
        }
        // A password in the URL itself (from the environment, not argv) is redacted in the banner.
        delete process.env['PGPASSWORD'];
        delete process.env['PGPASSFILE'];
        const withPassword = new URL(bare);
        withPassword.password = full.password;
        process.env['SUANLI_DATABASE_URL'] = withPassword.toString();
        const lines: string[] = [];
        const server = await startServer({
          dataDir: await newDir(),
          port: 0,
          accelerators: 'gpu:1',
          nodeName: 'testnode',
          logLevel: false,
          print: (l) => lines.push(l),
        });
        await server.close();
        assert.ok(!lines.join('\n').includes(password), lines.join('\n'));
        assert.match(lines.join('\n'), /:\*\*\*@/);
      } finally {
        for (const k of ['PGPASSWORD', 'PGPASSFILE', 'SUANLI_DATABASE_URL', 'SUANLI_ADMIN_TOKEN']) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
        await adminPostgresSchema(pgUrl, 'drop', schema);
      }
    },
  );
});
