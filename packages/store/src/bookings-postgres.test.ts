/**
 * The BookingStore contract on PostgreSQL (server from SUANLI_TEST_PG_URL or /run/suanli-pg/url, as
 * postgres.test.ts): a fresh schema per store, dropped at the end; a second store on the same
 * schema is a second pool, so admissions really race.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, it } from 'node:test';
import pg from 'pg';
import { defineBookingContract } from './bookings.contract.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import type { Store } from './store.js';

const URL_FILE = '/run/suanli-pg/url';
const fromEnv = process.env['SUANLI_TEST_PG_URL'];
const url =
  fromEnv !== undefined && fromEnv !== ''
    ? fromEnv
    : existsSync(URL_FILE)
      ? readFileSync(URL_FILE, 'utf8').trim() || null
      : null;
const missing = 'PostgreSQL tests need a server: run `bash scripts/pg-ci.sh up` (or set SUANLI_TEST_PG_URL)';
if (url === null && process.env['CI'] !== undefined && process.env['CI'] !== '') {
  void it('PostgreSQL is available for the booking contract (required under CI)', () => assert.fail(missing));
}

const admin = url === null ? null : new pg.Pool({ connectionString: url, max: 2 });
const schemas: string[] = [];
const schemaOf = new WeakMap<Store, string>();
after(async () => {
  if (admin === null) return;
  for (const s of schemas) await admin.query(`drop schema if exists ${s} cascade`);
  await admin.end();
});

async function open(): Promise<Store> {
  assert.ok(admin && url);
  const schema = `suanli_bk_${process.pid}_${schemas.length + 1}`;
  await admin.query(`drop schema if exists ${schema} cascade`);
  await admin.query(`create schema ${schema}`);
  schemas.push(schema);
  const store = await openPostgresStore({ connectionString: url, schema });
  schemaOf.set(store, schema);
  return store;
}

defineBookingContract('postgres', open, {
  async openAnother(store) {
    const schema = schemaOf.get(store);
    assert.ok(schema && url);
    return openPostgresStore({ connectionString: url, schema });
  },
  ...(url === null ? { skip: missing } : {}),
});
