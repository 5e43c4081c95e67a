/**
 * Identity, audit, metering, budgets and input hardening against the real server in-process
 * (real SQLite store, real engine, real local executor with declared devices).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken } from './auth.js';
import {
  ADMIN_TOKEN,
  NEVER_FITS,
  caller,
  seedTenants,
  startTestServer,
  type Call,
  type TestServer,
  type Tokens,
  waitFor,
} from './test-fixture.js';

describe('identity, audit, metering, hardening', () => {
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

  test('a token secret is shown once and stored only as a salted hash; revocation, expiry and removal end it', async () => {
    const store = ts.server.store;
    await call('PUT', '/api/v1/orgs/lab-a/members/alice', ADMIN_TOKEN, { role: 'member' });
    const created = await call('POST', '/api/v1/tokens', ADMIN_TOKEN, {
      name: 'alice laptop',
      tenant: 'lab-a',
      subject: 'alice',
      expiresInSeconds: 3600,
    });
    assert.equal(created.status, 201);
    const secret = created.json()['token'] as string;
    const info = created.json()['info'] as { id: string; expiresAt: string };
    assert.match(secret, /^sl_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/);
    assert.ok(secret.startsWith(`sl_${info.id}.`), 'the public id is the token prefix');
    const stored = await store.getApiToken(info.id);
    assert.ok(stored && !stored.hash.includes(secret.split('.')[1]!), 'the secret is not stored');
    assert.match(stored.hash, /^[0-9a-f]{32}\$[0-9a-f]{64}$/);

    const who = await call('GET', '/api/v1/whoami', secret);
    assert.deepEqual(who.json(), { subject: 'alice', role: 'member', tenant: 'lab-a' });
    const list = await call('GET', '/api/v1/tokens', secret);
    assert.equal(list.status, 200);
    assert.ok(!list.body.includes(secret.split('.')[1]!), 'listings never carry the secret');
    assert.deepEqual(
      (list.json()['tokens'] as { id: string; subject: string }[]).map((t) => t.subject),
      ['alice'],
      'a member lists only their own tokens',
    );
    const tenantAdminList = await call('GET', '/api/v1/tokens', tokens['lab-a']!['tenant-admin']);
    assert.ok(
      (tenantAdminList.json()['tokens'] as { tenant: string }[]).every((t) => t.tenant === 'lab-a'),
      "a tenant admin lists the tenant's tokens and no other tenant's",
    );

    // A role change applies at once to existing tokens.
    await call('PUT', '/api/v1/orgs/lab-a/members/alice', ADMIN_TOKEN, { role: 'viewer' });
    assert.equal((await call('GET', '/api/v1/whoami', secret)).json()['role'], 'viewer');
    assert.equal((await call('POST', '/api/v1/jobs', secret, NEVER_FITS)).status, 403);

    // Revoked: 401 at once; revoking twice is fine.
    const rev = await call('DELETE', `/api/v1/tokens/${info.id}`, ADMIN_TOKEN);
    assert.equal(rev.status, 200);
    assert.notEqual(rev.json()['revokedAt'], null);
    const after = await call('GET', '/api/v1/whoami', secret);
    assert.equal(after.status, 401);
    assert.equal(after.json().error?.code, 'UNAUTHENTICATED');
    assert.equal((await call('DELETE', `/api/v1/tokens/${info.id}`, ADMIN_TOKEN)).status, 200);

    // Expired: a token whose expiry has passed is refused (stored directly with a past expiry).
    const expired = 'sl_0123456789ab.' + 'A'.repeat(43);
    await store.createApiToken({
      id: '0123456789ab',
      hash: hashToken(expired),
      subject: 'alice',
      tenant: 'lab-a',
      name: 'old',
      createdBy: 'admin',
      createdAt: Date.now() - 7200_000,
      expiresAt: Date.now() - 1000,
      revokedAt: null,
    });
    assert.equal((await call('GET', '/api/v1/whoami', expired)).status, 401);

    // Membership removed: every token of the subject in that tenant stops working.
    const second = await call('POST', '/api/v1/tokens', ADMIN_TOKEN, {
      name: 'again',
      tenant: 'lab-a',
      subject: 'alice',
    });
    const secret2 = second.json()['token'] as string;
    assert.equal((await call('GET', '/api/v1/whoami', secret2)).status, 200);
    assert.equal((await call('DELETE', '/api/v1/orgs/lab-a/members/alice', ADMIN_TOKEN)).status, 204);
    assert.equal((await call('GET', '/api/v1/whoami', secret2)).status, 401);

    // A wrong secret with a real id, and garbage, are refused alike.
    assert.equal((await call('GET', '/api/v1/whoami', `sl_${info.id}.${'B'.repeat(43)}`)).status, 401);
    assert.equal((await call('GET', '/api/v1/whoami', 'x'.repeat(5000))).status, 401);
    // The bootstrap admin token keeps working.
    assert.equal((await call('GET', '/api/v1/whoami', ADMIN_TOKEN)).json()['role'], 'admin');
  });

  test('nobody grants a role above their own; a tenant admin manages members of their tenant only', async () => {
    const ta = tokens['lab-a']!['tenant-admin'];
    const up = await call('PUT', '/api/v1/orgs/lab-a/members/mallory', ta, { role: 'admin' });
    assert.equal(up.status, 403);
    assert.equal(up.json().error?.code, 'FORBIDDEN');
    assert.equal((await call('PUT', '/api/v1/orgs/lab-a/members/bob', ta, { role: 'member' })).status, 200);
    const op = await call('PUT', '/api/v1/orgs/lab-a/members/carol', tokens['lab-a']!['operator'], {
      role: 'admin',
    });
    assert.equal(op.status, 403, 'an operator cannot mint admins');
    const other = await call('PUT', '/api/v1/orgs/lab-b/members/bob', ta, { role: 'member' });
    assert.equal(other.status, 404);
    assert.equal(other.json().error?.code, 'TENANT_NOT_FOUND');
    const missing = await call('PUT', '/api/v1/orgs/no-such/members/bob', ADMIN_TOKEN, { role: 'member' });
    assert.equal(missing.json().error?.code, 'TENANT_NOT_FOUND');
  });

  test("another tenant's job answers exactly like a missing one", async () => {
    const job = await call('POST', '/api/v1/jobs', tokens['lab-b']!['member'], NEVER_FITS);
    const id = job.json()['id'] as string;
    const hidden = await call('GET', `/api/v1/jobs/${id}`, tokens['lab-a']!['member']);
    const missing = await call('GET', '/api/v1/jobs/j-0000000000000000', tokens['lab-a']!['member']);
    assert.equal(hidden.status, 404);
    assert.deepEqual(
      { ...hidden.json(), error: { ...hidden.json().error, message: '' } },
      { ...missing.json(), error: { ...missing.json().error, message: '' } },
    );
    assert.ok(!hidden.body.includes('lab-b'));
    const list = await call('GET', '/api/v1/jobs', tokens['lab-a']!['member']);
    assert.ok((list.json()['jobs'] as { tenant: string }[]).every((j) => j.tenant === 'lab-a'));
    const cancel = await call('POST', `/api/v1/jobs/${id}/cancel`, tokens['lab-a']!['tenant-admin']);
    assert.equal(cancel.json().error?.code, 'JOB_NOT_FOUND');
    assert.equal(
      (await call('GET', `/api/v1/jobs/${id}`, tokens['lab-b']!['member'])).json()['state'],
      'queued',
    );
  });

  test('every mutating request is audited (who, what, target, when, where, outcome) and exportable', async () => {
    const t0 = Date.now();
    const ok = await call('POST', '/api/v1/jobs', tokens['lab-a']!['member'], NEVER_FITS);
    const jobId = ok.json()['id'] as string;
    const bad = await call('POST', '/api/v1/jobs', tokens['lab-a']!['member'], { name: 'x' });
    const denied = await call('POST', '/api/v1/nodes/testnode/drain', tokens['lab-a']!['viewer'], {});
    const anon = await call('POST', '/api/v1/jobs', null, NEVER_FITS);
    await call('GET', '/api/v1/jobs', tokens['lab-a']!['member']); // reads are not audited
    assert.deepEqual([ok.status, bad.status, denied.status, anon.status], [201, 400, 403, 401]);

    const r = await call('GET', `/api/v1/audit?from=${t0}`, tokens['lab-a']!['operator']);
    assert.equal(r.status, 200);
    const entries = r.json()['entries'] as {
      subject: string | null;
      role: string | null;
      method: string;
      route: string;
      target: string | null;
      ip: string;
      status: number;
      errorCode: string | null;
      at: string;
    }[];
    const mine = entries.filter((e) => e.method !== 'GET');
    assert.equal(entries.length, mine.length, 'no GET is audited');
    const pick = (e: (typeof entries)[number]) => [
      e.subject,
      e.method,
      e.route,
      e.target,
      e.status,
      e.errorCode,
    ];
    assert.deepEqual(mine.slice(-4).map(pick), [
      ['member-a', 'POST', '/api/v1/jobs', jobId, 201, null],
      ['member-a', 'POST', '/api/v1/jobs', null, 400, 'JOB_SPEC_INVALID'],
      ['viewer-a', 'POST', '/api/v1/nodes/:name/drain', 'testnode', 403, 'FORBIDDEN'],
      [null, 'POST', '/api/v1/jobs', null, 401, 'UNAUTHENTICATED'],
    ]);
    for (const e of mine.slice(-4)) {
      assert.equal(e.ip, '127.0.0.1');
      assert.ok(Date.parse(e.at) >= t0 - 1000);
    }
    const jsonl = await call('GET', `/api/v1/audit?from=${t0}&format=jsonl`, ADMIN_TOKEN);
    assert.match(String(jsonl.headers['content-type']), /application\/x-ndjson/);
    const lines = jsonl.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { requestId: string; route: string });
    assert.equal(lines.length, entries.length, 'the same entries, one JSON document per line');
    const csv = await call('GET', `/api/v1/audit?from=${t0}&format=csv`, ADMIN_TOKEN);
    assert.match(String(csv.headers['content-type']), /text\/csv/);
    const rows = csv.body.trim().split('\r\n');
    assert.equal(rows[0], 'seq,at,subject,tenant,role,method,route,target,ip,status,errorCode,requestId');
    assert.equal(rows.length, entries.length + 1);
    assert.match(rows[rows.length - 1]!, /,POST,\/api\/v1\/jobs,,127\.0\.0\.1,401,UNAUTHENTICATED,/);
    // Tenant roles may not read the audit log.
    assert.equal((await call('GET', '/api/v1/audit', tokens['lab-a']!['tenant-admin'])).status, 403);
    // The store offers no path to change it.
    const store = ts.server.store as unknown as Record<string, unknown>;
    assert.equal(store['deleteAudit'], undefined);
    assert.equal(store['updateAudit'], undefined);
  });

  test('usage: the ledger meters a real run exactly (accelerator-seconds = run time × devices); reports and invoice', async () => {
    const t0 = Date.now();
    await call('PUT', '/api/v1/prices/gpu', ADMIN_TOKEN, { perAcceleratorHour: 3600, currency: 'CNY' });
    const r = await call('POST', '/api/v1/jobs', tokens['lab-b']!['member'], {
      name: 'metered',
      command: ['sleep', '0.3'],
      resources: { accelerators: 2 },
    });
    assert.equal(r.status, 201, r.body);
    const id = r.json()['id'] as string;
    const job = await waitFor(async () => {
      const j = (await call('GET', `/api/v1/jobs/${id}`, tokens['lab-b']!['member'])).json() as Record<
        string,
        unknown
      >;
      return j['state'] === 'succeeded' ? j : null;
    }, 'the metered job to finish');
    const runMs = Date.parse(job['finishedAt'] as string) - Date.parse(job['startedAt'] as string);
    assert.ok(runMs > 0);
    const q = `from=${t0}&to=${Date.now() + 1000}`;
    const usage = await call('GET', `/api/v1/usage?${q}&groupBy=job`, tokens['lab-b']!['viewer']);
    assert.equal(usage.status, 200, usage.body);
    const rows = usage.json()['rows'] as {
      jobId: string;
      acceleratorSeconds: number;
      attempts: number;
      acceleratorType: string;
    }[];
    const row = rows.find((x) => x.jobId === id);
    assert.ok(row, 'the job has a ledger row');
    assert.equal(
      row.acceleratorSeconds,
      (2 * runMs) / 1000,
      'accelerator-seconds = run time × devices, exactly',
    );
    assert.equal(row.attempts, 1);
    assert.equal(row.acceleratorType, 'gpu');
    // The other tenant sees none of it.
    const theirs = await call('GET', `/api/v1/usage?${q}&groupBy=job`, tokens['lab-a']!['tenant-admin']);
    assert.ok(!(theirs.json()['rows'] as { jobId: string }[]).some((x) => x.jobId === id));
    const byType = await call('GET', `/api/v1/usage?${q}&groupBy=type&tenant=lab-b`, ADMIN_TOKEN);
    assert.equal(
      (byType.json()['total'] as { acceleratorSeconds: number }).acceleratorSeconds,
      (2 * runMs) / 1000,
    );
    const csv = await call('GET', `/api/v1/usage?${q}&groupBy=tenant&format=csv`, tokens['lab-b']!['member']);
    assert.equal(
      csv.body.split('\r\n')[0],
      'tenant,project,acceleratorType,jobId,attempts,acceleratorSeconds,acceleratorHours,cpuMilliSeconds,memoryMiBSeconds,cpuTimeSeconds,peakMemoryBytes',
    );
    assert.match(csv.body, new RegExp(`^lab-b,,,,1,${(2 * runMs) / 1000},`, 'm'));
    const invoice = await call('GET', `/api/v1/usage/invoice?${q}&tenant=lab-b`, ADMIN_TOKEN);
    const line = (
      invoice.json()['lines'] as { acceleratorType: string; amount: number; currency: string }[]
    )[0];
    // 3600 CNY per accelerator-hour = 1 CNY per accelerator-second.
    assert.deepEqual(line && { type: line.acceleratorType, amount: line.amount, currency: line.currency }, {
      type: 'gpu',
      amount: Math.round((2 * runMs) / 10) / 100,
      currency: 'CNY',
    });
  });

  test('budgets: a job past the monthly budget is refused; budgeted jobs need a time limit; registered projects close the list', async () => {
    const member = tokens['lab-a']!['member'];
    assert.equal(
      (await call('PUT', '/api/v1/budgets', ADMIN_TOKEN, { tenant: 'lab-a', acceleratorHours: 3 })).status,
      200,
    );
    try {
      const spec = (accelerators: number, timeLimit?: string) => ({
        name: 'budgeted',
        command: ['sleep', '1'],
        resources: { accelerators },
        ...(timeLimit ? { timeLimit } : {}),
      });
      // The matrix-free tenant may already hold queued jobs with reservations: start from a clean slate.
      for (const j of (await call('GET', '/api/v1/jobs?tenant=lab-a&limit=1000', ADMIN_TOKEN)).json()[
        'jobs'
      ] as { id: string; state: string }[])
        if (j.state === 'queued') await call('POST', `/api/v1/jobs/${j.id}/cancel`, ADMIN_TOKEN);
      const noLimit = await call('POST', '/api/v1/jobs', member, spec(64));
      assert.equal(noLimit.status, 400);
      assert.equal(noLimit.json().error?.code, 'BUDGET_NEEDS_TIME_LIMIT');
      const ok = await call('POST', '/api/v1/jobs', member, spec(64, '2m')); // 64 × 2 min = 2.13 h
      assert.equal(ok.status, 201, ok.body);
      const over = await call('POST', '/api/v1/jobs', member, spec(64, '1m')); // 2.13 + 1.07 > 3
      assert.equal(over.status, 402);
      assert.equal(over.json().error?.code, 'BUDGET_EXCEEDED');
      assert.match(over.json().error?.message ?? '', /left this month/);
      const view = await call('GET', '/api/v1/budgets', member);
      const b = (view.json()['budgets'] as { project: string | null; reservedHours: number }[]).find(
        (x) => x.project === null,
      );
      assert.ok(b && Math.abs(b.reservedHours - (64 * 2) / 60) < 1e-6);
      // Cancelling the reserved job frees its hours.
      await call('POST', `/api/v1/jobs/${ok.json()['id'] as string}/cancel`, member);
      assert.equal((await call('POST', '/api/v1/jobs', member, spec(64, '1m'))).status, 201);
    } finally {
      await call('DELETE', '/api/v1/budgets?tenant=lab-a', ADMIN_TOKEN);
    }
    // Projects: once a tenant registers one, submissions must name a registered project (or default).
    await call('POST', '/api/v1/orgs/lab-b/projects', ADMIN_TOKEN, { name: 'vision' });
    const wrong = await call('POST', '/api/v1/jobs', tokens['lab-b']!['member'], {
      ...NEVER_FITS,
      project: 'nlp',
    });
    assert.equal(wrong.json().error?.code, 'PROJECT_NOT_FOUND');
    assert.equal(
      (await call('POST', '/api/v1/jobs', tokens['lab-b']!['member'], { ...NEVER_FITS, project: 'vision' }))
        .status,
      201,
    );
  });

  test('405 for a known path with another method; traversal in log paths never reaches the filesystem', async () => {
    const m = await call('DELETE', '/api/v1/jobs', ADMIN_TOKEN);
    assert.equal(m.status, 405);
    assert.equal(m.json().error?.code, 'METHOD_NOT_ALLOWED');
    assert.match(String(m.headers['allow']), /GET/);
    for (const url of [
      '/api/v1/jobs/..%2F..%2Fadmin-token/logs',
      '/api/v1/jobs/../../admin-token/logs',
      '/api/v1/jobs/j-0000000000000000/logs?stream=..%2F..%2Fadmin-token',
      '/api/v1/jobs/j-0000000000000000/logs?attempt=..%2F1',
      '/api/v1/jobs/%2e%2e%2f%2e%2e%2fsuanli.db/logs',
    ]) {
      const r = await call('GET', url, ADMIN_TOKEN);
      assert.ok(r.status === 400 || r.status === 404, `${url}: ${r.status}`);
      assert.ok(!r.body.includes('sl_test-admin'), 'no file content leaks');
    }
  });

  test('percent-encoded paths that route into the API still need a token', async () => {
    // With a query the route rejects: answered 400 by validation if the hook had let it through.
    for (const url of [
      '/%61pi/v1/jobs?limit=0',
      '/%61pi/v1/audit?zz=1',
      '/%61%70%69/v1/orgs',
      '/api/v1/%6Aobs?limit=0',
    ]) {
      const r = await call('GET', url, null);
      assert.equal(r.status, 401, `${url}: ${r.status} ${r.body.slice(0, 100)}`);
      assert.equal(r.json().error?.code, 'UNAUTHENTICATED');
    }
    const post = await call('POST', '/%61pi/v1/orgs', null, { name: 'sneaky', unknown: 1 });
    assert.equal(post.status, 401);
    assert.equal(await ts.server.store.getTenant('sneaky'), null);
  });

  test('a job cannot override SUANLI_* variables or device pinning (end to end)', async () => {
    for (const key of [
      'SUANLI_JOB_ID',
      'CUDA_VISIBLE_DEVICES',
      'ASCEND_RT_VISIBLE_DEVICES',
      'NVIDIA_VISIBLE_DEVICES',
    ]) {
      const r = await call('POST', '/api/v1/jobs', tokens['lab-a']!['member'], {
        ...NEVER_FITS,
        env: { [key]: '0' },
      });
      assert.equal(r.status, 400, `${key}: ${r.body}`);
      assert.equal(r.json().error?.code, 'JOB_SPEC_INVALID');
      assert.match(r.body, /env/);
    }
  });
});

describe('rate limits and an unavailable store', () => {
  test('429 RATE_LIMITED with Retry-After per token; other callers unaffected; 503 when the store is gone', async () => {
    const ts = await startTestServer({ SUANLI_RATE_LIMIT: '1/3' });
    try {
      const call = caller(ts.server);
      const statuses: number[] = [];
      let retryAfter: unknown;
      for (let i = 0; i < 5; i++) {
        const r = await call('GET', '/api/v1/whoami', ADMIN_TOKEN);
        statuses.push(r.status);
        if (r.status === 429) {
          assert.equal(r.json().error?.code, 'RATE_LIMITED');
          retryAfter = r.headers['retry-after'];
        }
      }
      assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
      assert.equal(statuses[4], 429);
      assert.ok(Number(retryAfter) >= 1);
      // Anonymous callers have their own bucket (per address): the admin's limit does not leak to them.
      assert.equal((await call('GET', '/api/v1/whoami', null)).status, 401);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await call('GET', '/api/v1/whoami', ADMIN_TOKEN)).status, 200, 'the bucket refills');

      await ts.server.store.close();
      const down = await ts.server.app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(down.statusCode, 200, 'health does not touch the store');
      await new Promise((r) => setTimeout(r, 1100));
      const gone = await call('GET', '/api/v1/whoami', null);
      assert.equal(gone.status, 401);
      const r = await ts.server.app.inject({
        method: 'GET',
        url: '/api/v1/jobs',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(r.statusCode, 503, r.body);
      assert.equal(r.json().error.code, 'STORE_UNAVAILABLE');
    } finally {
      await ts.close().catch(() => undefined);
    }
  });
});
