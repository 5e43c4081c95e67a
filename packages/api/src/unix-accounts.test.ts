/**
 * Confinement through the API: who may map a member to a Unix account and which accounts
 * are refused, a job's attempts with what they used, and the executor's confinement on the nodes
 * route. Real server in-process (SQLite store, local executor with declared devices).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { UNIX_USER_RE, tenantAccountName } from '@suanli/executors';
import type { JobRecord, UsageRecord } from '@suanli/store';
import { UNIX_USER_PATTERN } from '@suanli/schemas';
import { superuserReason, systemUidLookup } from './unix-accounts.js';
import { toAttemptViews } from './views.js';
import { confinementOf } from './routes/nodes.js';
import {
  ADMIN_TOKEN,
  caller,
  seedTenants,
  startTestServer,
  waitFor,
  type Call,
  type TestServer,
  type Tokens,
} from './test-fixture.js';

test('the schema pattern for unixUser is the executors’ UNIX_USER_RE', () => {
  assert.equal(UNIX_USER_PATTERN, UNIX_USER_RE.source);
});

test('superuserReason: root by name, any uid-0 alias by lookup; unknown and ordinary accounts pass', async () => {
  const fake = (table: Record<string, number>) => (name: string) => Promise.resolve(table[name] ?? null);
  assert.match((await superuserReason('root', fake({}))) ?? '', /never run as root/);
  assert.match((await superuserReason('toor', fake({ toor: 0 }))) ?? '', /"toor" has uid 0/);
  assert.equal(await superuserReason('alice', fake({ alice: 1000 })), null);
  assert.equal(
    await superuserReason('ghost', fake({})),
    null,
    'an account this host lacks may exist on the nodes',
  );
  assert.equal(await systemUidLookup('root'), 0, 'this host resolves root to uid 0');
  assert.equal(await systemUidLookup('sl-no-such-account-x'), null);
});

test('confinementOf: what the executor says; an executor without confinement() does not confine', () => {
  assert.deepEqual(confinementOf({}), { confined: false, detail: 'this executor does not confine jobs' });
  assert.deepEqual(
    confinementOf({ confinement: () => ({ confined: true, detail: 'as sl-<tenant>, cgroup v2' }) }),
    {
      confined: true,
      detail: 'as sl-<tenant>, cgroup v2',
    },
  );
});

test('toAttemptViews: ended attempts from the ledger with what they used, then the running one', () => {
  const row = (attempt: number, over: Partial<UsageRecord> = {}): UsageRecord => ({
    jobId: 'j-1',
    attempt,
    tenant: 'lab-a',
    project: 'p',
    acceleratorType: 'gpu',
    accelerators: 2,
    cpuMillis: 1000,
    memoryMiB: 1024,
    startedAt: 1_000,
    finishedAt: 61_000,
    endState: 'failed',
    peakMemoryBytes: 3 * 2 ** 30,
    cpuTimeMs: 90_000,
    ...over,
  });
  const job = {
    state: 'running',
    attempt: 3,
    startedAt: 70_000,
    placement: [{ node: 'n', acceleratorIds: ['a', 'b'], cpuMillis: 1, memoryMiB: 1 }],
  } as unknown as JobRecord;
  assert.deepEqual(
    toAttemptViews(job, [row(1), row(2, { endState: 'lost', peakMemoryBytes: null, cpuTimeMs: null })]),
    [
      {
        attempt: 1,
        startedAt: '1970-01-01T00:00:01.000Z',
        finishedAt: '1970-01-01T00:01:01.000Z',
        endState: 'failed',
        acceleratorType: 'gpu',
        accelerators: 2,
        peakMemoryBytes: 3 * 2 ** 30,
        cpuTimeMs: 90_000,
      },
      {
        attempt: 2,
        startedAt: '1970-01-01T00:00:01.000Z',
        finishedAt: '1970-01-01T00:01:01.000Z',
        endState: 'lost',
        acceleratorType: 'gpu',
        accelerators: 2,
        peakMemoryBytes: null,
        cpuTimeMs: null,
      },
      {
        attempt: 3,
        startedAt: '1970-01-01T00:01:10.000Z',
        finishedAt: null,
        endState: null,
        acceleratorType: null,
        accelerators: 2,
        peakMemoryBytes: null,
        cpuTimeMs: null,
      },
    ],
  );
  assert.deepEqual(
    toAttemptViews({ ...job, state: 'succeeded' } as JobRecord, []),
    [],
    'no row, not active: none',
  );
});

describe('Unix accounts, attempts and confinement through the API', () => {
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

  const members = async (tenant: string, token: string) =>
    (await call('GET', `/api/v1/orgs/${tenant}/members`, token)).json()['members'] as {
      subject: string;
      role: string;
      unixUser: string | null;
      runsAs: string;
    }[];

  test('operators and admins map a member to an account; the list shows it; absent keeps it, null clears it', async () => {
    const op = tokens['lab-a']!['operator'];
    const set = await call('PUT', '/api/v1/orgs/lab-a/members/wang', op, {
      role: 'member',
      unixUser: 'wang_l',
    });
    assert.equal(set.status, 200, set.body);
    assert.deepEqual(
      { unixUser: set.json()['unixUser'], runsAs: set.json()['runsAs'] },
      { unixUser: 'wang_l', runsAs: 'wang_l' },
    );
    const listed = (await members('lab-a', tokens['lab-a']!['tenant-admin'])).find(
      (m) => m.subject === 'wang',
    );
    assert.deepEqual(listed && [listed.unixUser, listed.runsAs], ['wang_l', 'wang_l']);
    assert.equal(
      ts.server.store && (await ts.server.store.getMembership('lab-a', 'wang'))?.unixUser,
      'wang_l',
    );
    // A tenant admin may still change the role; the operator's mapping survives.
    const ta = tokens['lab-a']!['tenant-admin'];
    const role = await call('PUT', '/api/v1/orgs/lab-a/members/wang', ta, { role: 'viewer' });
    assert.equal(role.status, 200, role.body);
    assert.deepEqual([role.json()['role'], role.json()['unixUser']], ['viewer', 'wang_l']);
    const cleared = await call('PUT', '/api/v1/orgs/lab-a/members/wang', ADMIN_TOKEN, {
      role: 'member',
      unixUser: null,
    });
    assert.equal(cleared.status, 200, cleared.body);
    assert.deepEqual(
      [cleared.json()['unixUser'], cleared.json()['runsAs']],
      [null, tenantAccountName('lab-a')],
    );
    const plain = (await members('lab-a', ADMIN_TOKEN)).find((m) => m.subject === 'member-a');
    assert.deepEqual(plain && [plain.unixUser, plain.runsAs], [null, 'sl-lab-a']);
  });

  test('a tenant admin may not choose the account (403 UNIX_USER_OPERATOR_ONLY), not even null; a member may not at all', async () => {
    const ta = tokens['lab-a']!['tenant-admin'];
    for (const unixUser of ['tenant-admin-a', 'nobody', null]) {
      const r = await call('PUT', '/api/v1/orgs/lab-a/members/member-a', ta, { role: 'member', unixUser });
      assert.equal(r.status, 403, r.body);
      assert.equal(r.json().error?.code, 'UNIX_USER_OPERATOR_ONLY');
      assert.equal(r.json().error?.details?.[0]?.path, 'body.unixUser');
    }
    const self = await call('PUT', '/api/v1/orgs/lab-a/members/member-a', tokens['lab-a']!['member'], {
      role: 'member',
      unixUser: 'member_a',
    });
    assert.equal(self.status, 403);
    assert.equal(self.json().error?.code, 'FORBIDDEN');
    assert.equal(
      (await ts.server.store.getMembership('lab-a', 'member-a'))?.unixUser,
      null,
      'nothing changed',
    );
  });

  test('root and malformed names are refused at the boundary with coded 400s', async () => {
    const op = tokens['lab-b']!['operator'];
    const root = await call('PUT', '/api/v1/orgs/lab-b/members/eve', op, {
      role: 'member',
      unixUser: 'root',
    });
    assert.equal(root.status, 400, root.body);
    assert.equal(root.json().error?.code, 'UNIX_USER_FORBIDDEN');
    for (const bad of ['Root', '0day', 'a b', '../etc', 'x'.repeat(33), 'eve;id', 'ev\u0000e', 42]) {
      const r = await call('PUT', '/api/v1/orgs/lab-b/members/eve', op, { role: 'member', unixUser: bad });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.body}`);
      assert.equal(r.json().error?.code, 'REQUEST_INVALID', String(bad));
    }
    assert.equal(await ts.server.store.getMembership('lab-b', 'eve'), null, 'no membership was created');
    // The schema layer reads "" for a nullable field as null: the same as clearing the mapping.
    const empty = await call('PUT', '/api/v1/orgs/lab-b/members/eve', op, { role: 'member', unixUser: '' });
    assert.equal(empty.status, 200, empty.body);
    assert.equal(empty.json()['unixUser'], null);
  });

  test('the job view lists the attempts from the ledger', async () => {
    const submit = await call('POST', '/api/v1/jobs', tokens['lab-a']!['member'], {
      name: 'quick',
      command: ['true'],
      resources: { accelerators: 1 },
      timeLimit: '1m',
    });
    assert.equal(submit.status, 201, submit.body);
    const id = submit.json()['id'] as string;
    const view = await waitFor(async () => {
      const r = await call('GET', `/api/v1/jobs/${id}`, tokens['lab-a']!['viewer']);
      return r.json()['state'] === 'succeeded' ? r.json() : null;
    }, 'the job to succeed');
    const attempts = view['attempts'] as Record<string, unknown>[];
    assert.equal(attempts.length, 1);
    assert.deepEqual(
      [
        attempts[0]?.['attempt'],
        attempts[0]?.['endState'],
        attempts[0]?.['accelerators'],
        attempts[0]?.['acceleratorType'],
      ],
      [1, 'succeeded', 1, 'gpu'],
    );
    for (const k of ['peakMemoryBytes', 'cpuTimeMs'] as const)
      assert.ok(attempts[0]?.[k] === null || Number.isInteger(attempts[0]?.[k]), k);
    const listed = await call('GET', '/api/v1/jobs', tokens['lab-a']!['viewer']);
    assert.ok(
      (listed.json()['jobs'] as Record<string, unknown>[]).every((j) => !('attempts' in j)),
      'listings stay lean',
    );
  });

  test('the nodes route says whether the executor confines jobs', async () => {
    const r = await call('GET', '/api/v1/nodes', tokens['lab-a']!['viewer']);
    assert.equal(r.status, 200);
    const c = r.json()['confinement'] as { confined: boolean; detail: string };
    assert.deepEqual(c, confinementOf(ts.server.engine.executor));
    assert.equal(typeof c.confined, 'boolean');
    assert.ok(c.detail.length > 0);
  });
});
