/**
 * The log endpoint reads files in a directory the job owns. A job that plants a link there must not
 * read the server's files back through the API (security review, finding 1).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  caller,
  seedTenants,
  startTestServer,
  waitFor,
  type Call,
  type TestServer,
  type Tokens,
} from './test-fixture.js';

describe('job files are never followed', () => {
  let ts: TestServer;
  let call: Call;
  let tokens: Tokens;
  before(async () => {
    ts = await startTestServer({ SUANLI_RATE_LIMIT: 'off' });
    call = caller(ts.server);
    tokens = await seedTenants(call);
  });
  after(async () => {
    await ts.close();
  });

  /** Submits `script` as lab-a's member, waits for the end, returns the job id. */
  async function runJob(script: string): Promise<string> {
    const member = tokens['lab-a']!.member;
    const r = await call('POST', '/api/v1/jobs', member, {
      name: 'planter',
      command: ['/bin/sh', '-c', script],
      resources: { accelerators: 0 },
    });
    assert.equal(r.status, 201, r.body);
    const id = r.json()['id'] as string;
    await waitFor(async () => {
      const j = await call('GET', `/api/v1/jobs/${id}`, member);
      return ['succeeded', 'failed'].includes(j.json()['state'] as string) ? true : null;
    }, `job ${id} to end`);
    return id;
  }

  const logs = (id: string, stream: 'stdout' | 'stderr') =>
    call('GET', `/api/v1/jobs/${id}/logs?stream=${stream}`, tokens['lab-a']!.member);

  test('a symbolic link planted as stdout.log (to the database) is refused with LOG_UNSAFE', async () => {
    const id = await runJob('echo hi; rm stdout.log; ln -s ../../../suanli.db stdout.log');
    const r = await logs(id, 'stdout');
    assert.equal(r.status, 409, r.body);
    assert.equal(r.json().error?.code, 'LOG_UNSAFE');
    assert.doesNotMatch(r.body, /SQLite format/);
  });

  test('a hard link planted as stderr.log is refused', async () => {
    const id = await runJob('rm stderr.log; ln ../../../suanli.db stderr.log');
    const r = await logs(id, 'stderr');
    assert.equal(r.json().error?.code, 'LOG_UNSAFE', r.body);
    assert.doesNotMatch(r.body, /SQLite format/);
  });

  test('a FIFO planted as stdout.log neither blocks the server nor is read', async () => {
    const id = await runJob('rm stdout.log; mkfifo stdout.log');
    const r = await logs(id, 'stdout');
    assert.equal(r.json().error?.code, 'LOG_UNSAFE', r.body);
  });

  test('an untouched log is served as before', async () => {
    const id = await runJob('echo plain-output');
    const r = await logs(id, 'stdout');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json()['data'], 'plain-output\n');
  });
});
