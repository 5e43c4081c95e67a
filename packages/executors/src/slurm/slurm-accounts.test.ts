/** The account a Slurm job runs as, its log directory, and job refs: pure or local, no cluster. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareJobDir, resolveJobAccount } from './accounts.js';
import { formatSlurmRef, parseSlurmRef } from './executor.js';

const known =
  (table: Record<string, number>) =>
  (name: string): Promise<{ uid: number; gid: number } | null> =>
    Promise.resolve(table[name] === undefined ? null : { uid: table[name], gid: table[name] });

test("a job runs as the mapped account, else the tenant's sl-<tenant>", async () => {
  const lookup = known({ 'sl-lab': 2001, alice: 1500 });
  assert.deepEqual(await resolveJobAccount({ jobId: 'j', tenant: 'lab', unixUser: null }, lookup, true), {
    name: 'sl-lab',
    uid: 2001,
    gid: 2001,
  });
  assert.equal(
    (await resolveJobAccount({ jobId: 'j', tenant: 'lab', unixUser: 'alice' }, lookup, true)).name,
    'alice',
  );
  // A server that is not root cannot see every account (it hands out no directories): name only.
  assert.deepEqual(await resolveJobAccount({ jobId: 'j', tenant: 'x', unixUser: null }, lookup, false), {
    name: 'sl-x',
    uid: null,
    gid: null,
  });
});

test('root, uid 0, a malformed name and (for a root server) an unknown account are refused', async () => {
  const lookup = known({ root: 0, toor: 0 });
  await assert.rejects(
    () => resolveJobAccount({ jobId: 'j', tenant: 't', unixUser: 'root' }, lookup, true),
    /refusing to run a job as root/,
  );
  await assert.rejects(
    () => resolveJobAccount({ jobId: 'j', tenant: 't', unixUser: 'toor' }, lookup, false),
    /refusing to run a job as uid 0/,
  );
  await assert.rejects(
    () => resolveJobAccount({ jobId: 'j', tenant: 't', unixUser: '../x' }, lookup, true),
    /not a valid Unix account name/,
  );
  await assert.rejects(
    () => resolveJobAccount({ jobId: 'j', tenant: 'nobody-here', unixUser: null }, lookup, true),
    /"sl-nobody-here" .* does not exist on this machine/,
  );
});

test('the log directory is created once and must not be a planted link', () => {
  const root = mkdtempSync(join(tmpdir(), 'suanli-logdir-'));
  try {
    const d = join(root, 'a', 'job-1');
    prepareJobDir(d, null, false);
    prepareJobDir(d, null, false); // again: fine
    assert.ok(statSync(d).isDirectory());
    symlinkSync(root, join(root, 'link'));
    assert.throws(() => prepareJobDir(join(root, 'link'), null, false), /is not a directory/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a ref is the Slurm job id and its submit time; a bare id (older refs) still parses', () => {
  assert.deepEqual(parseSlurmRef('1234@1795882218'), { slurmId: 1234, submitTime: 1795882218 });
  assert.deepEqual(parseSlurmRef('17'), { slurmId: 17, submitTime: null });
  for (const bad of ['', '0', '-1', '12@', '@5', '1.5', 'not a ref {', '12@3@4'])
    assert.equal(parseSlurmRef(bad), null, bad);
  assert.equal(formatSlurmRef({ slurmId: 9, submitTime: 100 }), '9@100');
  assert.equal(formatSlurmRef({ slurmId: 9, submitTime: null }), '9');
});
