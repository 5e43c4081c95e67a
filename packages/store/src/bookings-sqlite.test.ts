/**
 * The BookingStore contract on SQLite, each store in its own directory. Racing admissions share
 * the one store of the file, as in a server: better-sqlite3 is synchronous, so a second connection
 * in the same thread would block the thread on the busy lock while the first cannot finish
 * (sqlite.test.ts: concurrentStoresInOneProcess false). The race is then between writes queued on
 * the group-commit writer, which run one after the other in BEGIN IMMEDIATE transactions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { defineBookingContract } from './bookings.contract.js';
import { openStore } from './open.js';
import type { Store } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'suanli-bookings-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dirOf = new WeakMap<Store, string>();

async function open(): Promise<Store> {
  const dataDir = join(root, `db-${++n}`);
  const store = await openStore({ dataDir });
  dirOf.set(store, dataDir);
  return store;
}

defineBookingContract('sqlite', open, {
  async openAnother(store) {
    assert.ok(dirOf.has(store));
    return store; // close() is idempotent
  },
});
