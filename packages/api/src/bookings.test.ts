/**
 * Bookings through the real server in-process (SQLite, local executor, gpu:2): admission without
 * overbooking (also under concurrent requests), cancel frees capacity at once, approval, maintenance
 * windows, quota, tenant isolation, the capacity query, and the engine keeping a window for its
 * owner: another tenant's job that would run into it waits `behind-booking`, the owner's job starts
 * on time.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_TOKEN,
  caller,
  seedTenants,
  startTestServer,
  type Call,
  type TestServer,
  type Tokens,
  waitFor,
} from './test-fixture.js';

let ts: TestServer;
let call: Call;
let tokens: Tokens;
const tok = (tenant: 'lab-a' | 'lab-b', role: 'member' | 'operator' | 'viewer' | 'tenant-admin') =>
  tokens[tenant]![role];

before(async () => {
  ts = await startTestServer({ SUANLI_RATE_LIMIT: 'off' });
  call = caller(ts.server);
  tokens = await seedTenants(call);
});
after(async () => {
  await ts.close();
});

/** A window on a far-future day, so tests of admission never touch the engine's near-term windows. */
const day = (d: number, from = '09:00', to = '21:00') => ({
  start: `2031-01-${String(d).padStart(2, '0')}T${from}`,
  end: `2031-01-${String(d).padStart(2, '0')}T${to}`,
});

test('book, overbooking refused with the holder named, cancel frees the capacity at once', async () => {
  const a = await call('POST', '/api/v1/bookings', tok('lab-a', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 2,
    ...day(1),
    timeZone: 'Asia/Shanghai',
  });
  assert.equal(a.status, 201, a.body);
  const booking = a.json();
  assert.equal(booking['state'], 'approved');
  assert.equal(booking['tenant'], 'lab-a');
  assert.deepEqual(booking['occurrences'], [
    { start: '2031-01-01T01:00:00.000Z', end: '2031-01-01T13:00:00.000Z' },
  ]);
  assert.equal(booking['bookedAcceleratorHours'], 24);
  const b = await call('POST', '/api/v1/bookings', tok('lab-b', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    start: '2031-01-01T12:00:00Z',
    end: '2031-01-01T14:00:00Z',
  });
  assert.equal(b.status, 409, b.body);
  assert.equal((b.json()['error'] as { code: string }).code, 'BOOKING_NO_CAPACITY');
  assert.match(b.body, new RegExp(`booking ${String(booking['id'])} holds capacity`));
  const c = await call(
    'POST',
    `/api/v1/bookings/${String(booking['id'])}/cancel`,
    tok('lab-a', 'member'),
    {},
  );
  assert.equal(c.status, 200, c.body);
  assert.equal(c.json()['state'], 'cancelled');
  const again = await call('POST', '/api/v1/bookings', tok('lab-b', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    start: '2031-01-01T12:00:00Z',
    end: '2031-01-01T14:00:00Z',
  });
  assert.equal(again.status, 201, again.body);
  const twice = await call(
    'POST',
    `/api/v1/bookings/${String(booking['id'])}/cancel`,
    tok('lab-a', 'member'),
    {},
  );
  assert.equal(twice.status, 409);
  assert.equal((twice.json()['error'] as { code: string }).code, 'STATE_CONFLICT');
});

test('concurrent requests for the same capacity: exactly one is accepted', async () => {
  const asks = Array.from({ length: 12 }, (_, i) =>
    call('POST', '/api/v1/bookings', tok(i % 2 === 0 ? 'lab-a' : 'lab-b', 'member'), {
      acceleratorType: 'gpu',
      accelerators: 2,
      ...day(2),
    }),
  );
  const results = await Promise.all(asks);
  assert.deepEqual(results.map((r) => r.status).sort(), [201, ...Array<number>(11).fill(409)]);
});

test('validation: field errors name the field (BOOKING_INVALID); a type the hall lacks can never be booked', async () => {
  const r = await call('POST', '/api/v1/bookings', tok('lab-a', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(3),
    timeZone: 'Mars/Olympus',
    repeat: 'daily',
  });
  assert.equal(r.status, 400, r.body);
  const err = r.json()['error'] as unknown as { code: string; details: { path: string }[] };
  assert.equal(err.code, 'BOOKING_INVALID');
  assert.deepEqual(
    err.details.map((d) => d.path),
    ['timeZone', 'until'],
  );
  const never = await call('POST', '/api/v1/bookings', tok('lab-a', 'member'), {
    acceleratorType: 'nvidia-h200',
    accelerators: 1,
    ...day(3),
  });
  assert.equal(never.status, 400);
  assert.match(never.body, /0 schedulable nvidia-h200/);
  const proj = await call('POST', '/api/v1/orgs/lab-a/projects', ADMIN_TOKEN, { name: 'vision' });
  assert.equal(proj.status, 201, proj.body);
  const noProject = await call('POST', '/api/v1/bookings', tok('lab-a', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(3),
    project: 'nlp',
  });
  assert.equal(noProject.status, 404, noProject.body);
  assert.equal((noProject.json()['error'] as { code: string }).code, 'PROJECT_NOT_FOUND');
  const withProject = await call('POST', '/api/v1/bookings', tok('lab-a', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(3),
    project: 'vision',
  });
  assert.equal(withProject.status, 201, withProject.body);
  assert.equal(withProject.json()['project'], 'vision');
  const viewer = await call('POST', '/api/v1/bookings', tok('lab-a', 'viewer'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(3),
  });
  assert.equal(viewer.status, 403);
});

test('tenants see only their bookings (others answer 404) plus maintenance windows; operators see all', async () => {
  const mine = await call('POST', '/api/v1/bookings', tok('lab-a', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(4),
  });
  assert.equal(mine.status, 201, mine.body);
  const id = String(mine.json()['id']);
  const maint = await call('POST', '/api/v1/bookings', tok('lab-a', 'operator'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(4),
    kind: 'maintenance',
  });
  assert.equal(maint.status, 201, maint.body);
  const hidden = await call('GET', `/api/v1/bookings/${id}`, tok('lab-b', 'member'));
  assert.equal(hidden.status, 404);
  assert.equal((hidden.json()['error'] as { code: string }).code, 'BOOKING_NOT_FOUND');
  const cancelOther = await call('POST', `/api/v1/bookings/${id}/cancel`, tok('lab-b', 'member'), {});
  assert.equal(cancelOther.status, 404);
  const listB = (await call('GET', '/api/v1/bookings', tok('lab-b', 'viewer'))).json()['bookings'] as {
    id: string;
    tenant: string;
    kind: string;
  }[];
  assert.ok(listB.every((b) => b.tenant === 'lab-b' || b.kind === 'maintenance'));
  assert.ok(listB.some((b) => b.id === String(maint.json()['id'])));
  assert.ok(!listB.some((b) => b.id === id));
  const listOp = (await call('GET', '/api/v1/bookings', tok('lab-a', 'operator'))).json()['bookings'] as {
    id: string;
  }[];
  assert.ok(listOp.some((b) => b.id === id));
  // the maintenance window and the booking hold the whole hall on day 4
  const full = await call('POST', '/api/v1/bookings', tok('lab-b', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(4),
  });
  assert.equal(full.status, 409);
  const memberMaint = await call('POST', '/api/v1/bookings', tok('lab-b', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(5),
    kind: 'maintenance',
  });
  assert.equal(memberMaint.status, 403);
});

test('operators require approval per tenant: requests hold capacity until approved or rejected; quota', async () => {
  const set = await call('PUT', '/api/v1/booking-settings/lab-b', tok('lab-a', 'operator'), {
    requireApproval: true,
    maxAcceleratorsPerBooking: 1,
  });
  assert.equal(set.status, 200, set.body);
  assert.equal(
    (
      await call('PUT', '/api/v1/booking-settings/lab-b', tok('lab-b', 'tenant-admin'), {
        requireApproval: false,
      })
    ).status,
    403,
  );
  const quota = await call('POST', '/api/v1/bookings', tok('lab-b', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 2,
    ...day(6),
  });
  assert.equal(quota.status, 409);
  assert.equal((quota.json()['error'] as { code: string }).code, 'BOOKING_QUOTA_EXCEEDED');
  const req = await call('POST', '/api/v1/bookings', tok('lab-b', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(6),
  });
  assert.equal(req.status, 201, req.body);
  assert.equal(req.json()['state'], 'requested');
  const id = String(req.json()['id']);
  assert.equal(
    (await call('POST', `/api/v1/bookings/${id}/approve`, tok('lab-b', 'tenant-admin'), {})).status,
    403,
  );
  const ok = await call('POST', `/api/v1/bookings/${id}/approve`, tok('lab-a', 'operator'), {
    reason: 'fine',
  });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.json()['state'], 'approved');
  assert.equal(ok.json()['decidedBy'], 'operator-a');
  const req2 = await call('POST', '/api/v1/bookings', tok('lab-b', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 1,
    ...day(7),
  });
  const rej = await call('POST', `/api/v1/bookings/${String(req2.json()['id'])}/reject`, ADMIN_TOKEN, {
    reason: 'no',
  });
  assert.equal(rej.json()['state'], 'rejected');
  assert.equal(
    (await call('PUT', '/api/v1/booking-settings/lab-b', ADMIN_TOKEN, { requireApproval: false })).status,
    200,
  );
});

test('capacity query: the earliest start for N accelerators for a duration, from the same profile', async () => {
  const r = await call(
    'GET',
    '/api/v1/capacity?type=gpu&accelerators=2&durationSeconds=3600&notBefore=2031-01-08T00:00:00Z',
    tok('lab-b', 'viewer'),
  );
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json(), {
    acceleratorType: 'gpu',
    accelerators: 2,
    durationSeconds: 3600,
    available: true,
    start: '2031-01-08T00:00:00.000Z',
    end: '2031-01-08T01:00:00.000Z',
    reason: null,
  });
  const soon = await call(
    'GET',
    '/api/v1/capacity?type=gpu&accelerators=3&durationSeconds=60',
    tok('lab-b', 'viewer'),
  );
  assert.equal(soon.json()['available'], false);
  assert.match(
    String(soon.json()['reason']),
    /the hall has 2 schedulable gpu accelerators; 3 are never free at once/,
  );
});

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

test('the engine keeps a booked window: another tenant waits behind-booking, the owner starts on time, booked vs used is reported, cancelling frees the capacity at once', async () => {
  const start = Date.now() + 5000;
  const end = start + 3_600_000;
  const bk = await call('POST', '/api/v1/bookings', tok('lab-a', 'member'), {
    acceleratorType: 'gpu',
    accelerators: 2,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
  });
  assert.equal(bk.status, 201, bk.body);
  // lab-b: a job ending before the window may run now (backfill); one that would run into it waits
  const short = await call('POST', '/api/v1/jobs', tok('lab-b', 'member'), {
    name: 'short',
    command: ['sleep', '30'],
    resources: { accelerators: 2 },
    timeLimit: '1s',
  });
  const long = await call('POST', '/api/v1/jobs', tok('lab-b', 'member'), {
    name: 'long',
    command: ['sleep', '30'],
    resources: { accelerators: 1 },
    timeLimit: '1h',
  });
  assert.equal(short.status, 201, short.body);
  const shortId = String(short.json()['id']);
  const longId = String(long.json()['id']);
  await waitFor(async () => {
    const j = (await call('GET', `/api/v1/jobs/${shortId}`, tok('lab-b', 'member'))).json();
    return j['startedAt'] ? j : null;
  });
  const verdict = await waitFor(async () => {
    const j = (await call('GET', `/api/v1/jobs/${longId}`, tok('lab-b', 'member'))).json() as {
      pending?: { verdict: string; reason: string } | null;
    };
    return j.pending?.verdict === 'behind-booking' ? j.pending : null;
  });
  assert.match(verdict.reason, new RegExp(String(bk.json()['id'])));
  // the owner's job, submitted while the hall is busy, starts no later than one cycle after the window opens
  const owner = await call('POST', '/api/v1/jobs', tok('lab-a', 'member'), {
    name: 'owner',
    command: ['sleep', '30'],
    resources: { accelerators: 2 },
    // inside the window: a job that would outlive it waits if the capacity after it is promised
    timeLimit: '30m',
  });
  const ownerId = String(owner.json()['id']);
  const started = await waitFor(async () => {
    const j = (await call('GET', `/api/v1/jobs/${ownerId}`, tok('lab-a', 'member'))).json();
    return j['startedAt'] ? Date.parse(String(j['startedAt'])) : null;
  });
  assert.ok(started <= start + 1000, `owner started ${started - start} ms after the window opened`);
  const stillWaiting = (await call('GET', `/api/v1/jobs/${longId}`, tok('lab-b', 'member'))).json();
  assert.equal(stillWaiting['startedAt'], null);
  // booked versus used: the owner runs ~1 s into its window; 'booked' charges the window, 'used' the use
  await new Promise((r) => setTimeout(r, Math.max(0, start - Date.now()) + 1000)); // ~1 s inside the window
  await call('POST', `/api/v1/jobs/${ownerId}/cancel`, tok('lab-a', 'member'), {});
  await waitFor(async () => {
    const j = (await call('GET', `/api/v1/jobs/${ownerId}`, tok('lab-a', 'member'))).json();
    return j['finishedAt'] ? j : null;
  });
  const range = `from=${new Date(start).toISOString()}&to=${new Date(start + 600_000).toISOString()}`;
  const used = await call('GET', `/api/v1/bookings/usage?${range}&charge=used`, tok('lab-a', 'viewer'));
  assert.equal(used.status, 200, used.body);
  const row = (
    used.json()['bookings'] as {
      id: string;
      bookedAcceleratorHours: number;
      usedAcceleratorHours: number;
      chargedAcceleratorHours: number;
    }[]
  ).find((r) => r.id === String(bk.json()['id']));
  assert.ok(row, used.body);
  assert.equal(row.bookedAcceleratorHours, round((2 * 600) / 3600));
  assert.ok(
    row.usedAcceleratorHours > 0 && row.usedAcceleratorHours < (2 * 30) / 3600,
    `used ${row.usedAcceleratorHours}`,
  );
  assert.equal(row.chargedAcceleratorHours, row.usedAcceleratorHours);
  const booked = await call('GET', `/api/v1/bookings/usage?${range}`, tok('lab-a', 'viewer'));
  assert.equal(booked.json()['charge'], 'booked');
  const bookedRow = (booked.json()['bookings'] as { id: string; chargedAcceleratorHours: number }[]).find(
    (r) => r.id === row.id,
  );
  assert.equal(bookedRow?.chargedAcceleratorHours, row.bookedAcceleratorHours);
  const otherTenant = await call('GET', `/api/v1/bookings/usage?${range}`, tok('lab-b', 'viewer'));
  assert.ok(!(otherTenant.json()['bookings'] as { id: string }[]).some((r) => r.id === row.id));
  // cancelling the booking frees its capacity at once: lab-b's waiting job starts within a few cycles
  const cancelledAt = Date.now();
  const cancelled = await call(
    'POST',
    `/api/v1/bookings/${String(bk.json()['id'])}/cancel`,
    tok('lab-a', 'member'),
    {},
  );
  assert.equal(cancelled.json()['state'], 'cancelled');
  const longStarted = await waitFor(async () => {
    const j = (await call('GET', `/api/v1/jobs/${longId}`, tok('lab-b', 'member'))).json();
    return j['startedAt'] ? Date.parse(String(j['startedAt'])) : null;
  });
  assert.ok(longStarted - cancelledAt < 2000, `started ${longStarted - cancelledAt} ms after the cancel`);
  for (const [id, t] of [
    [longId, tok('lab-b', 'member')],
    [shortId, tok('lab-b', 'member')],
  ] as const)
    await call('POST', `/api/v1/jobs/${id}/cancel`, t, {});
});
