/**
 * Security review #20: one tenant must not be able to exhaust the server (spec size, alias
 * expansion, waiting jobs, per-cycle and per-scrape cost) nor talk past the rate limit by minting
 * tokens. Each test reproduces the attack against the real server in-process (real SQLite store,
 * real engine) and would pass the attack through without the fix.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { JOB_SPEC_LIMITS } from '@suanli/core';
import { TokenBuckets } from './hooks.js';
import { MAX_LIVE_TOKENS_PER_SUBJECT } from './routes/identity.js';
import { YAML_BODY_LIMITS } from './yaml-body.js';
import {
  ADMIN_TOKEN,
  NEVER_FITS,
  caller,
  seedTenants,
  startTestServer,
  type Call,
  type TestServer,
  type Tokens,
} from './test-fixture.js';

/** `count` anchors of `size` characters, each aliased `perAnchor` times as command arguments. */
function aliasBomb(count: number, size: number, perAnchor: number): string {
  const lines = ['name: bomb', 'resources: { accelerators: 64 }', 'env:'];
  for (let a = 0; a < count; a++)
    lines.push(`  V${a}: &a${a} ${String.fromCharCode(97 + (a % 26)).repeat(size)}`);
  lines.push('command:');
  for (let a = 0; a < count; a++) for (let i = 0; i < perAnchor; i++) lines.push(`  - *a${a}`);
  return lines.join('\n') + '\n';
}

describe('security review #20: bounded specs, queues and scrapes', () => {
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

  /** Tests share the server: each starts with no waiting job. */
  const cancelWaiting = async (): Promise<void> => {
    for (const j of await ts.server.store.jobsInStates(['queued']))
      await ts.server.store.transitionJob(j.id, 'queued', 'cancelled', Date.now(), 'test cleanup');
  };

  const postYaml = (token: string, payload: string) =>
    ts.server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' },
      payload,
    });

  test('a YAML alias bomb (many anchors, each aliased up to the per-anchor cap) is refused before it expands', async () => {
    const member = tokens['lab-a']!.member;
    // 15 anchors × 100 aliases: the `yaml` library's maxAliasCount (100) is per anchor, so this
    // expanded into a 15 MB spec from a body of a few KB before the fix.
    const bomb = aliasBomb(15, 10_000, 100);
    assert.ok(bomb.length < 200_000, `the body is small (${bomb.length} bytes)`);
    const r = await postYaml(member, bomb);
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().error.code, 'BODY_MALFORMED');
    assert.match(r.json().error.message, new RegExp(`more than ${YAML_BODY_LIMITS.maxAliases} aliases`));

    // Few aliases of one big anchor: bounded by the expanded size, measured without expanding.
    const wide = await postYaml(member, aliasBomb(1, 16_000, 90));
    assert.equal(wide.statusCode, 400, wide.body);
    assert.equal(wide.json().error.code, 'BODY_MALFORMED');
    assert.match(wide.json().error.message, /expands to more than/);

    // Within the YAML bounds but past the spec's field bounds: JOB_SPEC_INVALID, nothing stored.
    const fat = await postYaml(member, aliasBomb(4, 8_000, 1));
    assert.equal(fat.statusCode, 400, fat.body);
    assert.equal(fat.json().error.code, 'JOB_SPEC_INVALID');

    // A modest YAML spec with an alias still works.
    const ok = await postYaml(
      member,
      'name: ok\nresources: { accelerators: 64 }\nenv: { A: &x hello }\ncommand: [echo, *x]\n',
    );
    assert.equal(ok.statusCode, 201, ok.body);
    await call('POST', `/api/v1/jobs/${ok.json().id as string}/cancel`, member);
  });

  test('JSON specs: the body, each field and the whole compiled spec are bounded', async () => {
    const member = tokens['lab-a']!.member;
    // 960 KB of JSON was accepted and kept before the fix.
    const huge = { ...NEVER_FITS, env: { BIG: 'x'.repeat(960_000) } };
    const tooLarge = await call('POST', '/api/v1/jobs', member, huge);
    assert.equal(tooLarge.status, 413, tooLarge.body);
    assert.equal(tooLarge.json().error?.code, 'PAYLOAD_TOO_LARGE');

    const cases: [unknown, string][] = [
      [{ ...NEVER_FITS, command: Array.from({ length: 12 }, () => 'a'.repeat(15_000)) }, 'command'],
      [{ ...NEVER_FITS, command: Array.from({ length: 2000 }, () => 'a') }, 'command'],
      [
        {
          ...NEVER_FITS,
          env: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`V${i}`, 'v'.repeat(10_000)])),
        },
        'env',
      ],
      [{ ...NEVER_FITS, env: { ['N'.repeat(300)]: '1' } }, 'env.'],
      [{ ...NEVER_FITS, workingDir: '/' + 'd'.repeat(5000) }, 'workingDir'],
      [
        {
          ...NEVER_FITS,
          resources: { accelerators: 64, acceleratorType: Array.from({ length: 50 }, (_, i) => `t${i}`) },
        },
        'resources.acceleratorType',
      ],
      // Every field within its own bound (they cannot sum past the whole-spec bound), but control
      // characters take six characters each as JSON: the whole-spec bound is the backstop.
      [
        {
          ...NEVER_FITS,
          command: Array.from({ length: 2 }, () => '\u0001'.repeat(8000)),
          env: Object.fromEntries(Array.from({ length: 1 }, (_, i) => [`V${i}`, '\u0001'.repeat(8000)])),
        },
        `limit of ${JOB_SPEC_LIMITS.specMaxJsonChars}`,
      ],
    ];
    for (const [spec, path] of cases) {
      const r = await call('POST', '/api/v1/jobs', member, spec);
      assert.equal(r.status, 400, `${path}: ${r.body.slice(0, 300)}`);
      assert.equal(r.json().error?.code, 'JOB_SPEC_INVALID');
      assert.ok(
        r.json().error?.message.includes(path),
        `${path} is named: ${r.json().error?.message.slice(0, 300)}`,
      );
    }
    const listed = await call('GET', '/api/v1/jobs?tenant=lab-a&state=queued', ADMIN_TOKEN);
    assert.equal((listed.json()['jobs'] as unknown[]).length, 0, 'nothing was stored');
  });

  test('a tenant may have at most maxWaitingJobs waiting (policy file); the next is refused with 429 TOO_MANY_WAITING_JOBS', async () => {
    const put = await ts.server.app.inject({
      method: 'PUT',
      url: '/api/v1/policy',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
      payload: 'tenants:\n  lab-a: { maxWaitingJobs: 3 }\ndefaultTenant: { maxWaitingJobs: 5 }\n',
    });
    await cancelWaiting();
    assert.equal(put.statusCode, 200, put.body);
    try {
      const a = tokens['lab-a']!.member;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await call('POST', '/api/v1/jobs', a, NEVER_FITS);
        assert.equal(r.status, 201, r.body);
        ids.push(r.json()['id'] as string);
      }
      const refused = await call('POST', '/api/v1/jobs', a, NEVER_FITS);
      assert.equal(refused.status, 429, refused.body);
      assert.equal(refused.json().error?.code, 'TOO_MANY_WAITING_JOBS');
      assert.match(
        refused.json().error?.message ?? '',
        /3 jobs waiting.*most it may have is 3.*maxWaitingJobs/,
      );
      // Another tenant has its own count (the defaultTenant setting).
      const b = tokens['lab-b']!.member;
      assert.equal((await call('POST', '/api/v1/jobs', b, NEVER_FITS)).status, 201);
      // A cancelled job no longer waits: there is room again.
      await call('POST', `/api/v1/jobs/${ids[0]!}/cancel`, a);
      assert.equal((await call('POST', '/api/v1/jobs', a, NEVER_FITS)).status, 201);
    } finally {
      await ts.server.app.inject({
        method: 'PUT',
        url: '/api/v1/policy',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
        payload: 'organisation: default\n',
      });
      await cancelWaiting();
    }
  });

  test('/metrics counts jobs with one GROUP BY (no waiting job is read), and a cycle does not parse specs again', async () => {
    const store = ts.server.store;
    const a = tokens['lab-a']!.member;
    await cancelWaiting();
    for (let i = 0; i < 5; i++) assert.equal((await call('POST', '/api/v1/jobs', a, NEVER_FITS)).status, 201);
    const readStates: string[][] = [];
    const original = store.jobsInStates.bind(store);
    // Record the reads the scrape makes (the engine's own cycles read the queue, as they must).
    store.jobsInStates = (states) => {
      if (new Error().stack?.includes('routes/metrics')) readStates.push([...states]);
      return original(states);
    };
    try {
      const m = await ts.server.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(m.statusCode, 200);
      assert.match(m.body, /suanli_jobs\{state="queued"\} 5\n/);
      assert.ok(
        readStates.every((s) => !s.includes('queued')),
        `the scrape read waiting jobs: ${JSON.stringify(readStates)}`,
      );
    } finally {
      store.jobsInStates = original;
    }
    // The engine reads the queue every cycle: the specs come from the cache, parsed once.
    const first = await store.jobsInStates(['queued']);
    const again = await store.jobsInStates(['queued']);
    assert.equal(first.length, 5);
    for (const [i, j] of first.entries()) assert.equal(again[i]!.spec, j.spec, 'the same parsed spec object');
    await cancelWaiting();
  });

  test('live API tokens per subject are capped: 409 TOO_MANY_TOKENS, revoking makes room', async () => {
    const subject = 'minter-a';
    await call('PUT', `/api/v1/orgs/lab-a/members/${subject}`, ADMIN_TOKEN, { role: 'member' });
    const first = await call('POST', '/api/v1/tokens', ADMIN_TOKEN, { name: 't0', tenant: 'lab-a', subject });
    assert.equal(first.status, 201, first.body);
    const own = first.json()['token'] as string;
    const ids = [(first.json()['info'] as { id: string }).id];
    for (let i = 1; i < MAX_LIVE_TOKENS_PER_SUBJECT; i++) {
      const r = await call('POST', '/api/v1/tokens', own, { name: `t${i}` });
      assert.equal(r.status, 201, r.body);
      ids.push((r.json()['info'] as { id: string }).id);
    }
    const refused = await call('POST', '/api/v1/tokens', own, { name: 'one too many' });
    assert.equal(refused.status, 409, refused.body);
    assert.equal(refused.json().error?.code, 'TOO_MANY_TOKENS');
    // Concurrent requests cannot race past the cap either.
    await call('DELETE', `/api/v1/tokens/${ids[1]!}`, own);
    const burst = await Promise.all(
      Array.from({ length: 5 }, (_, i) => call('POST', '/api/v1/tokens', own, { name: `race${i}` })),
    );
    assert.deepEqual(
      burst.map((r) => r.status).sort(),
      [201, 409, 409, 409, 409],
      'exactly one takes the freed slot',
    );
  });
});

describe('security review #20: the rate limit is per subject and per tenant', () => {
  test("tokens a member mints share one budget; a tenant's subjects share a larger one", async () => {
    // Burst 40, practically no refill: what is served is what the buckets allow.
    const ts = await startTestServer({ SUANLI_RATE_LIMIT: '0.001/40' });
    try {
      const call = caller(ts.server);
      const tokens = await seedTenants(call); // 22 requests of the admin subject
      const member = tokens['lab-a']!.member;
      const minted = [member];
      for (let i = 0; i < 4; i++) {
        const r = await call('POST', '/api/v1/tokens', member, { name: `spread ${i}` });
        assert.equal(r.status, 201, r.body);
        minted.push(r.json()['token'] as string);
      }
      // 100 requests spread over 5 tokens: before the fix each token had its own 40.
      const spread = await Promise.all(
        Array.from({ length: 100 }, (_, i) => call('GET', '/api/v1/whoami', minted[i % 5]!)),
      );
      const served = spread.filter((r) => r.status === 200).length;
      assert.equal(served, 40 - 4, `one subject's budget in all (the 4 mints spent some): ${served}`);
      const limited = spread.find((r) => r.status === 429);
      assert.equal(limited?.json().error?.code, 'RATE_LIMITED');

      // Every subject of lab-a at once: the tenant's budget (4 × 40) caps them together.
      const roles = ['admin', 'operator', 'tenant-admin', 'viewer'] as const;
      const others = await Promise.all(
        roles.flatMap((role) =>
          Array.from({ length: 40 }, () => call('GET', '/api/v1/whoami', tokens['lab-a']![role])),
        ),
      );
      const total = served + 4 + others.filter((r) => r.status === 200).length;
      assert.equal(total, 160, `the tenant's budget in all: ${total}`);
      // Another tenant is not affected.
      assert.equal((await call('GET', '/api/v1/whoami', tokens['lab-b']!.member)).status, 200);
    } finally {
      await ts.close();
    }
  });

  test("the limiter's memory is bounded and never forgets a caller that is over its limit", () => {
    let now = 0;
    const b = new TokenBuckets({ perSecond: 1, burst: 2 }, () => now, 100);
    assert.deepEqual([b.take('abuser'), b.take('abuser')], [0, 0]);
    assert.ok(b.take('abuser') > 0, 'limited');
    // Before the fix, enough new keys cleared the whole table (and the abuser with it).
    for (let i = 0; i < 10_000; i++) b.take(`ip:${i}`);
    assert.ok(b.size <= 100, `bounded: ${b.size}`);
    assert.ok(b.take('abuser') > 0, 'still limited after 10,000 other callers');
    // When every tracked caller is limited, a new one is refused rather than anyone forgotten.
    const full = new TokenBuckets({ perSecond: 1, burst: 1 }, () => now, 10);
    for (let i = 0; i < 10; i++) assert.equal(full.take(`k${i}`), 0);
    assert.ok(full.take('newcomer') > 0);
    for (let i = 0; i < 10; i++) assert.ok(full.take(`k${i}`) > 0, `k${i} is still limited`);
    now = 2000; // everyone refilled: newcomers are tracked again, evicting idle keys
    assert.equal(full.take('newcomer'), 0);
    assert.ok(full.size <= 10);
  });
});
