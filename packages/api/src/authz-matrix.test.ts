/**
 * The isolation matrix: every route of the OpenAPI document × every role × the caller's own
 * tenant and another tenant, against the real server. The route list comes from
 * `/api/v1/openapi.json`, so a new route without an entry in EXPECT fails this test.
 *
 * Each case builds fresh target objects with the admin token (a queued job, a token, a member, a
 * budget) so one case's change cannot decide another's outcome, and checks the status AND the
 * error code: a hidden object must answer exactly like a missing one (404 with the object's
 * NOT_FOUND code), a visible one the role may not change answers 403 FORBIDDEN.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Role } from '@suanli/store';
import {
  ADMIN_TOKEN,
  NEVER_FITS,
  ROLES,
  caller,
  seedTenants,
  startTestServer,
  subjectOf,
  type Call,
  type TestServer,
  type Tokens,
} from './test-fixture.js';

type Expected = number | readonly [number, string];
interface Case {
  /** Path with parameters filled in, and the body (built per case: fresh targets). */
  prepare(ctx: {
    role: Role;
    own: boolean;
    tenant: string;
    other: string;
  }): Promise<{ url: string; body?: unknown }>;
  expect(role: Role, own: boolean): Expected;
}

const platform = (r: Role) => r === 'admin' || r === 'operator';
/** Allowed in own tenant for `roles`; other tenant: platform roles allowed, others see 404 `hidden`. */
const scoped =
  (ok: number, roles: readonly Role[], hidden: string) =>
  (role: Role, own: boolean): Expected =>
    platform(role)
      ? ok
      : !own
        ? ([404, hidden] as const)
        : roles.includes(role)
          ? ok
          : ([403, 'FORBIDDEN'] as const);
const platformOnly =
  (ok: number) =>
  (role: Role): Expected =>
    platform(role) ? ok : ([403, 'FORBIDDEN'] as const);
const everyone = (ok: number) => (): Expected => ok;
const ALL: readonly Role[] = ROLES;
const WRITERS: readonly Role[] = ['admin', 'operator', 'tenant-admin', 'member'];
const TADMIN: readonly Role[] = ['admin', 'operator', 'tenant-admin'];

let ts: TestServer;
let call: Call;
let tokens: Tokens;
let counter = 0;
const fresh = (p: string) => `${p}-${++counter}`;

async function newJob(tenant: string): Promise<string> {
  const r = await call('POST', '/api/v1/jobs', tokens[tenant]!['member'], NEVER_FITS);
  assert.equal(r.status, 201, r.body);
  return r.json()['id'] as string;
}
async function newArray(tenant: string): Promise<string> {
  const r = await call('POST', '/api/v1/jobs', tokens[tenant]!['member'], { ...NEVER_FITS, array: '0-1' });
  assert.equal(r.status, 201, r.body);
  return r.json()['id'] as string;
}
async function newToken(tenant: string, subject: string): Promise<string> {
  const r = await call('POST', '/api/v1/tokens', ADMIN_TOKEN, { name: fresh('t'), tenant, subject });
  assert.equal(r.status, 201, r.body);
  return (r.json()['info'] as { id: string }).id;
}
async function newMember(tenant: string): Promise<string> {
  const s = fresh('someone');
  const r = await call('PUT', `/api/v1/orgs/${tenant}/members/${s}`, ADMIN_TOKEN, { role: 'member' });
  assert.equal(r.status, 200, r.body);
  return s;
}

let bookingDays = 0;
/** A fresh far-future day per booking (from 2040-01-01), so matrix bookings never compete for capacity. */
function bookingDay(): { start: string; end: string } {
  const d = new Date(Date.UTC(2040, 0, 1) + ++bookingDays * 86_400_000).toISOString().slice(0, 10);
  return { start: `${d}T09:00`, end: `${d}T10:00` };
}
async function newBooking(tenant: string): Promise<string> {
  const r = await call('POST', '/api/v1/bookings', tokens[tenant]!['member'], {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...bookingDay(),
  });
  assert.equal(r.status, 201, r.body);
  return r.json()['id'] as string;
}

const EXPECT: Record<string, Case> = {
  'GET /healthz': { prepare: async () => ({ url: '/healthz' }), expect: everyone(200) },
  'GET /metrics': { prepare: async () => ({ url: '/metrics' }), expect: everyone(200) },
  'GET /api/v1/whoami': { prepare: async () => ({ url: '/api/v1/whoami' }), expect: everyone(200) },
  'POST /api/v1/jobs': {
    // Submission always goes to the caller's own tenant: "other" is the same request.
    prepare: async () => ({ url: '/api/v1/jobs', body: NEVER_FITS }),
    expect: (role) => (role === 'viewer' ? [403, 'FORBIDDEN'] : 201),
  },
  'GET /api/v1/jobs': {
    prepare: async ({ own, other }) => ({ url: own ? '/api/v1/jobs' : `/api/v1/jobs?tenant=${other}` }),
    expect: scoped(200, ALL, 'TENANT_NOT_FOUND'),
  },
  'GET /api/v1/jobs/{id}': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/jobs/${await newJob(tenant)}` }),
    expect: scoped(200, ALL, 'JOB_NOT_FOUND'),
  },
  'POST /api/v1/jobs/{id}/cancel': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/jobs/${await newJob(tenant)}/cancel` }),
    expect: scoped(202, WRITERS, 'JOB_NOT_FOUND'),
  },
  'GET /api/v1/job-arrays/{id}': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/job-arrays/${await newArray(tenant)}` }),
    expect: scoped(200, ALL, 'JOB_NOT_FOUND'),
  },
  'POST /api/v1/job-arrays/{id}/cancel': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/job-arrays/${await newArray(tenant)}/cancel` }),
    expect: scoped(202, WRITERS, 'JOB_NOT_FOUND'),
  },
  'GET /api/v1/jobs/{id}/logs': {
    // A queued job has no log yet: visible → LOG_NOT_FOUND, hidden → JOB_NOT_FOUND.
    prepare: async ({ tenant }) => ({ url: `/api/v1/jobs/${await newJob(tenant)}/logs` }),
    expect: (role, own) => (own || platform(role) ? [404, 'LOG_NOT_FOUND'] : [404, 'JOB_NOT_FOUND']),
  },
  'GET /api/v1/nodes': { prepare: async () => ({ url: '/api/v1/nodes' }), expect: everyone(200) },
  'POST /api/v1/nodes/{name}/drain': {
    prepare: async () => ({ url: '/api/v1/nodes/testnode/drain', body: { reason: 'matrix' } }),
    expect: platformOnly(200),
  },
  'POST /api/v1/nodes/{name}/undrain': {
    prepare: async () => ({ url: '/api/v1/nodes/testnode/undrain', body: {} }),
    expect: platformOnly(200),
  },
  'GET /api/v1/policy': { prepare: async () => ({ url: '/api/v1/policy' }), expect: everyone(200) },
  'PUT /api/v1/policy': {
    prepare: async () => ({ url: '/api/v1/policy', body: { tenants: { 'lab-a': { weight: 1 } } } }),
    expect: platformOnly(200),
  },
  // The policy's tenant/quota view is platform-wide information (weights and quotas), read by all.
  'GET /api/v1/tenants': { prepare: async () => ({ url: '/api/v1/tenants' }), expect: everyone(200) },
  'GET /api/v1/orgs': { prepare: async () => ({ url: '/api/v1/orgs' }), expect: everyone(200) },
  'POST /api/v1/orgs': {
    prepare: async () => ({ url: '/api/v1/orgs', body: { name: fresh('org') } }),
    expect: platformOnly(201),
  },
  'GET /api/v1/orgs/{tenant}/projects': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/orgs/${tenant}/projects` }),
    expect: scoped(200, ALL, 'TENANT_NOT_FOUND'),
  },
  'POST /api/v1/orgs/{tenant}/projects': {
    prepare: async ({ tenant }) => ({
      url: `/api/v1/orgs/${tenant}/projects`,
      body: { name: fresh('proj') },
    }),
    expect: scoped(201, TADMIN, 'TENANT_NOT_FOUND'),
  },
  'GET /api/v1/orgs/{tenant}/members': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/orgs/${tenant}/members` }),
    expect: scoped(200, TADMIN, 'TENANT_NOT_FOUND'),
  },
  'PUT /api/v1/orgs/{tenant}/members/{subject}': {
    prepare: async ({ tenant }) => ({
      url: `/api/v1/orgs/${tenant}/members/${fresh('new')}`,
      body: { role: 'viewer' },
    }),
    expect: scoped(200, TADMIN, 'TENANT_NOT_FOUND'),
  },
  'DELETE /api/v1/orgs/{tenant}/members/{subject}': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/orgs/${tenant}/members/${await newMember(tenant)}` }),
    expect: scoped(204, TADMIN, 'TENANT_NOT_FOUND'),
  },
  'GET /api/v1/tokens': {
    // Filtered, never refused: each caller sees the tokens it may see (checked in identity.test).
    prepare: async ({ own, other }) => ({ url: own ? '/api/v1/tokens' : `/api/v1/tokens?tenant=${other}` }),
    expect: everyone(200),
  },
  'POST /api/v1/tokens': {
    prepare: async ({ own, other }) => ({
      url: '/api/v1/tokens',
      body: own
        ? { name: fresh('mine') }
        : { name: fresh('theirs'), tenant: other, subject: subjectOf('member', other) },
    }),
    expect: scoped(201, WRITERS, 'TENANT_NOT_FOUND'),
  },
  'DELETE /api/v1/tokens/{id}': {
    // Own: a fresh token of the caller itself; other: a member's token in the other tenant.
    prepare: async ({ role, own, tenant }) => ({
      url: `/api/v1/tokens/${await newToken(tenant, subjectOf(own ? role : 'member', tenant))}`,
    }),
    expect: scoped(200, WRITERS, 'TOKEN_NOT_FOUND'),
  },
  'GET /api/v1/audit': { prepare: async () => ({ url: '/api/v1/audit?limit=5' }), expect: platformOnly(200) },
  'GET /api/v1/usage': {
    prepare: async ({ own, other }) => ({ url: own ? '/api/v1/usage' : `/api/v1/usage?tenant=${other}` }),
    expect: scoped(200, ALL, 'TENANT_NOT_FOUND'),
  },
  'GET /api/v1/usage/invoice': {
    prepare: async ({ own, other }) => ({
      url: own ? '/api/v1/usage/invoice' : `/api/v1/usage/invoice?tenant=${other}`,
    }),
    expect: scoped(200, ALL, 'TENANT_NOT_FOUND'),
  },
  'GET /api/v1/budgets': {
    prepare: async ({ own, other }) => ({ url: own ? '/api/v1/budgets' : `/api/v1/budgets?tenant=${other}` }),
    expect: scoped(200, ALL, 'TENANT_NOT_FOUND'),
  },
  'PUT /api/v1/budgets': {
    prepare: async ({ tenant }) => ({
      url: '/api/v1/budgets',
      body: { tenant, project: 'matrix', acceleratorHours: 1e6 },
    }),
    expect: (role, own) => (platform(role) ? 200 : own ? [403, 'FORBIDDEN'] : [404, 'TENANT_NOT_FOUND']),
  },
  'DELETE /api/v1/budgets': {
    prepare: async ({ tenant }) => {
      const r = await call('PUT', '/api/v1/budgets', ADMIN_TOKEN, {
        tenant,
        project: 'matrix',
        acceleratorHours: 1e6,
      });
      assert.equal(r.status, 200, r.body);
      return { url: `/api/v1/budgets?tenant=${tenant}&project=matrix` };
    },
    expect: (role, own) => (platform(role) ? 204 : own ? [403, 'FORBIDDEN'] : [404, 'TENANT_NOT_FOUND']),
  },
  'GET /api/v1/prices': { prepare: async () => ({ url: '/api/v1/prices' }), expect: everyone(200) },
  // Bookings (routes/bookings.ts): each case books its own far-future day, so cases never collide.
  'POST /api/v1/bookings': {
    // A booking always goes to the caller's own tenant: "other" is the same request.
    prepare: async () => ({
      url: '/api/v1/bookings',
      body: { acceleratorType: 'gpu', accelerators: 1, ...bookingDay() },
    }),
    expect: (role) => (role === 'viewer' ? [403, 'FORBIDDEN'] : 201),
  },
  'GET /api/v1/bookings': {
    prepare: async ({ own, other }) => ({
      url: own ? '/api/v1/bookings' : `/api/v1/bookings?tenant=${other}`,
    }),
    expect: scoped(200, ALL, 'TENANT_NOT_FOUND'),
  },
  'GET /api/v1/bookings/usage': {
    prepare: async ({ own, other }) => ({
      url: own ? '/api/v1/bookings/usage' : `/api/v1/bookings/usage?tenant=${other}`,
    }),
    expect: scoped(200, ALL, 'TENANT_NOT_FOUND'),
  },
  'GET /api/v1/bookings/{id}': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/bookings/${await newBooking(tenant)}` }),
    expect: scoped(200, ALL, 'BOOKING_NOT_FOUND'),
  },
  'POST /api/v1/bookings/{id}/cancel': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/bookings/${await newBooking(tenant)}/cancel`, body: {} }),
    expect: scoped(200, WRITERS, 'BOOKING_NOT_FOUND'),
  },
  'POST /api/v1/bookings/{id}/approve': {
    // Bookings are approved at creation here (no approval required): visible ones answer 409.
    prepare: async ({ tenant }) => ({
      url: `/api/v1/bookings/${await newBooking(tenant)}/approve`,
      body: {},
    }),
    expect: (role, own) =>
      platform(role) ? [409, 'STATE_CONFLICT'] : own ? [403, 'FORBIDDEN'] : [404, 'BOOKING_NOT_FOUND'],
  },
  'POST /api/v1/bookings/{id}/reject': {
    prepare: async ({ tenant }) => ({ url: `/api/v1/bookings/${await newBooking(tenant)}/reject`, body: {} }),
    expect: (role, own) =>
      platform(role) ? [409, 'STATE_CONFLICT'] : own ? [403, 'FORBIDDEN'] : [404, 'BOOKING_NOT_FOUND'],
  },
  'GET /api/v1/capacity': {
    prepare: async () => ({ url: '/api/v1/capacity?type=gpu&accelerators=1&durationSeconds=60' }),
    expect: everyone(200),
  },
  'PUT /api/v1/booking-settings/{tenant}': {
    prepare: async ({ tenant }) => ({
      url: `/api/v1/booking-settings/${tenant}`,
      body: { requireApproval: false },
    }),
    expect: (role, own) => (platform(role) ? 200 : own ? [403, 'FORBIDDEN'] : [404, 'TENANT_NOT_FOUND']),
  },
  'PUT /api/v1/prices/{type}': {
    prepare: async () => ({ url: '/api/v1/prices/gpu', body: { perAcceleratorHour: 1.5, currency: 'CNY' } }),
    expect: platformOnly(200),
  },
};

before(async () => {
  ts = await startTestServer({ SUANLI_RATE_LIMIT: 'off' });
  call = caller(ts.server);
  tokens = await seedTenants(call);
});
after(async () => {
  await ts.close();
});

test(
  'every route × every role × own/other tenant answers as authorize() says',
  { timeout: 120_000 },
  async () => {
    const doc = (await call('GET', '/api/v1/openapi.json', null)).json() as unknown as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const missing = routes.filter((r) => !(r in EXPECT));
    assert.deepEqual(
      missing,
      [],
      'every route in the OpenAPI document needs an entry in the isolation matrix',
    );
    const stale = Object.keys(EXPECT).filter((r) => !routes.includes(r));
    assert.deepEqual(stale, [], 'matrix entries for routes that no longer exist');

    const failures: string[] = [];
    let cases = 0;
    for (const route of routes) {
      const c = EXPECT[route]!;
      const method = route.split(' ')[0] as 'GET' | 'POST' | 'PUT' | 'DELETE';
      for (const role of ROLES) {
        for (const own of [true, false]) {
          const tenant = own ? 'lab-a' : 'lab-b';
          const { url, body } = await c.prepare({ role, own, tenant, other: 'lab-b' });
          const r = await call(method, url, tokens['lab-a']![role], body);
          cases++;
          const want = c.expect(role, own);
          const [wantStatus, wantCode] = typeof want === 'number' ? [want, null] : want;
          const code = r.status >= 400 ? (r.json().error?.code ?? null) : null;
          if (r.status !== wantStatus || (wantCode !== null && code !== wantCode))
            failures.push(
              `${route} as ${role} (${own ? 'own' : 'other'} tenant): got ${r.status} ${code ?? ''}, want ${wantStatus} ${wantCode ?? ''} — ${r.body.slice(0, 160)}`,
            );
        }
      }
    }
    // Undrain, in case a drain case ran last for this node.
    await call('POST', '/api/v1/nodes/testnode/undrain', ADMIN_TOKEN);
    assert.deepEqual(failures, []);
    assert.equal(cases, routes.length * ROLES.length * 2);
    process.stdout.write(
      `# isolation matrix: ${routes.length} routes × ${ROLES.length} roles × 2 tenants = ${cases} cases, all as expected\n`,
    );
  },
);
