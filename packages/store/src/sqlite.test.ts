import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { defineStoreContract, makeNewJob } from './contract.js';
import { openStore } from './open.js';
import { openSqliteFile, openSqliteStore } from './sqlite/sqlite-store.js';
import { MIGRATIONS, type MigrationResult } from './migrations/index.js';
import type { Store } from './store.js';

// Each store gets its own temporary directory, removed when the file's tests are done.
const root = mkdtempSync(join(tmpdir(), 'suanli-store-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
const freshDir = (): string => join(root, `db-${++dirCounter}`);
const dirOf = new WeakMap<Store, string>();

async function open(): Promise<Store> {
  const dataDir = freshDir();
  const store = await openStore({ dataDir });
  dirOf.set(store, dataDir);
  return store;
}

defineStoreContract('sqlite', open, {
  async reopen(store) {
    const dataDir = dirOf.get(store);
    assert.ok(dataDir, 'reopen of a store this file did not open');
    const again = await openStore({ dataDir });
    dirOf.set(again, dataDir);
    return again;
  },
  concurrentStoresInOneProcess: false,
});

void describe('SQLite backend specifics', () => {
  void it('openStore creates the data dir with mode 0700 and <dataDir>/suanli.db with WAL and foreign keys', async () => {
    const dataDir = join(freshDir(), 'nested');
    const store = await openStore({ dataDir });
    try {
      await store.migrate();
      assert.equal(store.dialect, 'sqlite');
      assert.equal(statSync(dataDir).mode & 0o777, 0o700);
      assert.ok(statSync(join(dataDir, 'suanli.db')).isFile());
    } finally {
      await store.close();
    }
    const raw = openSqliteFile(join(dataDir, 'suanli.db'));
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(raw.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(raw.pragma('synchronous', { simple: true }), 1); // NORMAL
      assert.deepEqual(
        raw.prepare('select version, name from schema_migrations order by version').all(),
        MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
      );
    } finally {
      raw.close();
    }
  });

  void it('openStore refuses an unsupported database string and names the accepted forms', async () => {
    await assert.rejects(
      openStore({ dataDir: freshDir(), database: 'mysql://u:secret@127.0.0.1/x' }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /unsupported database "mysql:\/\/u:\*\*\*@127\.0\.0\.1\/x"/);
        assert.match(err.message, /leave it unset for the embedded SQLite file/);
        assert.match(err.message, /postgresql:\/\//);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      },
    );
  });

  void it('a database migrated by a newer build (unknown version) is refused', async () => {
    const dataDir = freshDir();
    const store = await openStore({ dataDir });
    await store.migrate();
    await store.close();
    const raw = openSqliteFile(join(dataDir, 'suanli.db'));
    raw
      .prepare(
        "insert into schema_migrations (version, name, applied_at) values (999, 'from_the_future', 'x')",
      )
      .run();
    raw.close();
    const again = await openStore({ dataDir });
    try {
      await assert.rejects(
        again.migrate(),
        /migration 999 \(from_the_future\) that this build does not know/,
      );
    } finally {
      await again.close();
    }
  });

  void it('two processes (threads) migrating one file at once apply each migration exactly once', async () => {
    const file = join(freshDir() + '-file.db');
    const moduleUrl = new URL('./sqlite/sqlite-store.js', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.moduleUrl).then(async (m) => {
        const store = await m.openSqliteStore({ file: workerData.file });
        const result = await store.migrateWithResult();
        await store.close();
        parentPort.postMessage(result);
      }).catch((err) => parentPort.postMessage({ error: String(err) }));`;
    const runOne = () =>
      new Promise<MigrationResult>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { file, moduleUrl } });
        w.once('message', (m: MigrationResult | { error: string }) =>
          'error' in m ? reject(new Error(m.error)) : resolve(m),
        );
        w.once('error', reject);
      });
    const results = await Promise.all([runOne(), runOne(), runOne()]);
    assert.deepEqual(
      results.flatMap((r) => r.applied).sort(),
      MIGRATIONS.map((m) => m.version),
    );
    const store = await openSqliteStore({ file });
    try {
      assert.deepEqual(await store.migrateWithResult(), { applied: [], version: MIGRATIONS.length });
      assert.equal((await store.createJob(makeNewJob())).created, true);
    } finally {
      await store.close();
    }
  });
});
