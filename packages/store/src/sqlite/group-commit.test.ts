import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { GroupCommitWriter } from './group-commit.js';
import { openSqliteFile } from './sqlite-store.js';
import type { Database } from '../schema.js';

const root = mkdtempSync(join(tmpdir(), 'suanli-group-commit-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh file with one table `meta(key primary key, value)`: enough to see what was committed. */
async function fresh(): Promise<{
  db: Kysely<Database>;
  writer: GroupCommitWriter;
  keys: () => Promise<string[]>;
}> {
  const raw = openSqliteFile(join(root, `g-${++n}.db`));
  raw.exec('create table meta (key text primary key, value text not null)');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const writer = new GroupCommitWriter(db, () => raw.inTransaction);
  const keys = async () =>
    (await db.selectFrom('meta').select('key').orderBy('key').execute()).map((r) => r.key);
  return { db, writer, keys };
}

const put = (key: string) => (conn: Kysely<Database>) =>
  conn
    .insertInto('meta')
    .values({ key, value: 'v' })
    .execute()
    .then(() => key);

void it('concurrent writes share commits; a failing write rolls back only its own changes', async () => {
  const { db, writer, keys } = await fresh();
  try {
    const failing = async (conn: Kysely<Database>) => {
      await conn.insertInto('meta').values({ key: 'half-done', value: 'v' }).execute();
      throw new Error('boom after one insert');
    };
    const results = await Promise.allSettled([
      writer.write(put('a')),
      writer.write(put('b')),
      writer.write(failing),
      writer.write(put('c')),
      ...Array.from({ length: 16 }, (_, i) => writer.write(put(`z${String(i).padStart(2, '0')}`))),
    ]);
    assert.equal(results[2]?.status, 'rejected');
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 19);
    assert.deepEqual(results[0], { status: 'fulfilled', value: 'a' });
    const stored = await keys();
    assert.ok(!stored.includes('half-done'));
    assert.equal(stored.length, 19);
    assert.ok(writer.stats.batches < writer.stats.writes, `grouped: ${JSON.stringify(writer.stats)}`);
  } finally {
    await db.destroy();
  }
});

void it('a lone failing write is rolled back whole', async () => {
  const { db, writer, keys } = await fresh();
  try {
    await assert.rejects(
      writer.write(async (conn) => {
        await put('x')(conn);
        await put('x')(conn); // primary key violation
      }),
      /UNIQUE constraint failed/,
    );
    assert.deepEqual(await keys(), []);
    assert.equal(await writer.write(put('y')), 'y');
    assert.deepEqual(await keys(), ['y']);
  } finally {
    await db.destroy();
  }
});

void it('when the commit fails, every write of the batch rejects and nothing is kept', async () => {
  const { db, writer, keys } = await fresh();
  try {
    // A deferred foreign key is checked at COMMIT: the last write makes the commit itself fail.
    await sql`create table child (k text references meta(key) deferrable initially deferred)`.execute(db);
    const results = await Promise.allSettled([
      writer.write(put('p')),
      writer.write(put('q')),
      writer.write((conn) => sql`insert into child values ('missing')`.execute(conn)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.deepEqual(await keys(), []);
  } finally {
    await db.destroy();
  }
});
