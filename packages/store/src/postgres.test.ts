/**
 * The Store contract against a real PostgreSQL. The server comes from SUANLI_TEST_PG_URL, else from
 * /run/suanli-pg/url (written by `bash scripts/pg-ci.sh up`). Without either the suite is skipped
 * locally but FAILS under CI (process.env.CI), so CI can never pass by not testing PostgreSQL.
 * Every store opened here gets its own schema (search_path), all dropped when the file is done.
 */
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { defineStoreContract, makeNewJob } from './contract.js';
import { openStore } from './open.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import type { Store } from './store.js';

const URL_FILE = '/run/suanli-pg/url';

function findUrl(): string | null {
  const fromEnv = process.env['SUANLI_TEST_PG_URL'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (existsSync(URL_FILE)) return readFileSync(URL_FILE, 'utf8').trim() || null;
  return null;
}

const url = findUrl();
const missing = `PostgreSQL tests need a server: run \`bash scripts/pg-ci.sh up\` (or set SUANLI_TEST_PG_URL)`;

if (url === null && process.env['CI'] !== undefined && process.env['CI'] !== '') {
  void it('PostgreSQL is available for the store contract (required under CI)', () => {
    assert.fail(missing);
  });
}

const admin = url === null ? null : new pg.Pool({ connectionString: url, max: 2 });
const schemaOf = new WeakMap<Store, string>();
const schemas: string[] = [];
let schemaCounter = 0;

async function freshSchema(): Promise<string> {
  assert.ok(admin && url);
  const schema = `suanli_test_${process.pid}_${++schemaCounter}`;
  await admin.query(`drop schema if exists ${schema} cascade`);
  await admin.query(`create schema ${schema}`);
  schemas.push(schema);
  return schema;
}

after(async () => {
  if (admin === null) return;
  for (const s of schemas) await admin.query(`drop schema if exists ${s} cascade`);
  await admin.end();
});

async function open(): Promise<Store> {
  const schema = await freshSchema();
  const store = await openPostgresStore({ connectionString: url ?? '', schema });
  schemaOf.set(store, schema);
  return store;
}

defineStoreContract('postgres', open, {
  async reopen(store) {
    const schema = schemaOf.get(store);
    assert.ok(schema, 'reopen of a store this file did not open');
    const again = await openPostgresStore({ connectionString: url ?? '', schema });
    schemaOf.set(again, schema);
    return again;
  },
  concurrentStoresInOneProcess: true,
  ...(url === null ? { skip: missing } : {}),
});

void describe('PostgreSQL backend specifics', { skip: url === null ? missing : false }, () => {
  void it('openStore accepts postgres:// and postgresql:// URLs (search_path via ?options)', async () => {
    for (const scheme of ['postgresql://', 'postgres://']) {
      const schema = await freshSchema();
      const withSchema = `${(url ?? '').replace(/^postgres(ql)?:\/\//, scheme)}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      const dataDir = `/tmp/suanli-store-pg-${process.pid}`;
      const store = await openStore({ dataDir, database: withSchema });
      try {
        assert.equal(store.dialect, 'postgres');
        await store.migrate();
        const { job } = await store.createJob(makeNewJob({ submittedAt: 2 ** 52 }));
        assert.equal(job.submittedAt, 2 ** 52, 'int8 epoch ms come back as exact JS numbers');
        assert.equal(typeof job.seq, 'number');
        const tables = await admin?.query<{ table_name: string }>(
          'select table_name from information_schema.tables where table_schema = $1 order by table_name',
          [schema],
        );
        assert.deepEqual(
          tables?.rows.map((r) => r.table_name),
          [
            'api_tokens',
            'audit_log',
            'booking_settings',
            'bookings',
            'budgets',
            'job_arrays',
            'job_transitions',
            'jobs',
            'memberships',
            'meta',
            'nodes',
            'prices',
            'projects',
            'schema_migrations',
            'tenants',
            'usage_ledger',
          ],
        );
      } finally {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  });

  void it('a bad schema name is refused before connecting', async () => {
    await assert.rejects(
      openPostgresStore({ connectionString: url ?? '', schema: 'x; drop table jobs' }),
      /schema name .* must match/,
    );
  });
});
