/// <reference types="node" />
/**
 * Table tests of the `suanli` policy, one rule per case, from small builders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, DEFAULT_POLICY } from './config.js';
import type { PolicyConfig } from './config.js';
import { createScheduler, scheduleOnce } from './suanli.js';
import { devicesOn, makeJob, makeNode, makeRunning } from '../testing/builders.js';
import type { ClusterNode } from '../model/resources.js';
import type { RunningSchedJob, ScheduleResult, SchedJob, Snapshot } from '../model/scheduling.js';

function policy(input: unknown): PolicyConfig {
  const c = compilePolicy(input);
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return c.value;
}

function snap(
  nodes: ClusterNode[],
  pending: SchedJob[],
  running: RunningSchedJob[] = [],
  extra: Partial<Snapshot> = {},
): Snapshot {
  return { now: 1_000_000, nodes, pending, running, ...extra };
}

const started = (r: ScheduleResult): string[] => r.starts.map((s) => s.jobId).sort();
const verdictOf = (r: ScheduleResult, id: string) => r.pending.find((p) => p.jobId === id);

const TWO_TENANTS = {
  fairShare: { halfLife: '1h' },
  cohorts: ['all'],
  preemption: {
    reclaim: true,
    withinTenant: 'lower-priority',
    minRuntime: '10m',
    gracePeriod: '30s',
    boundedReclaimTime: '5m',
  },
  tenants: {
    a: { weight: 1, cohort: 'all', quotas: { 'nvidia-h200': { guaranteed: 8 } } },
    b: { weight: 1, cohort: 'all', quotas: { 'nvidia-h200': { guaranteed: 8 } } },
  },
};

const HOUR = 3_600_000;
/** TWO_TENANTS with least attained service on (bands at 1 and 10 accelerator-hours). */
const LAS = { ...TWO_TENANTS, attainedService: { enabled: true, bandsAcceleratorHours: [1, 10] } };

/** A booking of tenant `owner`: 8 H200 from 900 000 (open at `snap`'s now) for 4 h. */
const W_OPEN = {
  id: 'w1',
  startTime: 900_000,
  endTime: 1_000_000 + 4 * 3_600_000,
  acceleratorType: 'nvidia-h200',
  accelerators: 8,
  tenant: 'owner',
} as const;

interface Case {
  name: string;
  config?: PolicyConfig;
  snapshot: Snapshot;
  wantStarts: string[];
  wantVerdicts?: Record<string, string>;
  wantPreempted?: string[];
  check?: (r: ScheduleResult) => void;
}

const cases: Case[] = [
  {
    name: 'gang: a job starts whole or not at all',
    snapshot: snap(
      [makeNode('a'), makeNode('b')],
      [makeJob('gang', { replicas: 2, accelerators: 8 })],
      [makeRunning(makeJob('r'), devicesOn('b', 4))],
    ),
    wantStarts: [],
    wantVerdicts: { gang: 'waits-for-capacity' },
  },
  {
    name: 'can-never-fit does not block the jobs behind it',
    snapshot: snap(
      [makeNode('a')],
      [makeJob('huge', { accelerators: 16, submitTime: 0 }), makeJob('small', { submitTime: 1 })],
    ),
    wantStarts: ['small'],
    wantVerdicts: { huge: 'can-never-fit' },
  },
  {
    name: 'first come first served among equals',
    snapshot: snap(
      [makeNode('a')],
      [
        makeJob('late', { accelerators: 8, submitTime: 2 }),
        makeJob('early', { accelerators: 8, submitTime: 1 }),
      ],
    ),
    wantStarts: ['early'],
    wantVerdicts: { late: 'waits-for-capacity' },
  },
  {
    name: 'priority orders jobs within a tenant',
    snapshot: snap(
      [makeNode('a')],
      [
        makeJob('low', { accelerators: 8, submitTime: 1 }),
        makeJob('high', { accelerators: 8, submitTime: 2, priority: 10 }),
      ],
    ),
    wantStarts: ['high'],
  },
  {
    name: 'EASY backfill: a short job may jump ahead, a long one may not',
    snapshot: snap(
      [makeNode('a')],
      [
        makeJob('head', { accelerators: 8, submitTime: 1 }),
        makeJob('short', { accelerators: 4, submitTime: 2, timeLimitMs: 50_000 }),
        makeJob('long', { accelerators: 2, submitTime: 3, timeLimitMs: 500_000 }),
      ],
      [
        makeRunning(makeJob('r', { accelerators: 2, timeLimitMs: 100_000 }), devicesOn('a', 2), {
          startTime: 1_000_000,
        }),
      ],
    ),
    wantStarts: ['short'],
    wantVerdicts: { head: 'waits-for-capacity', long: 'waits-for-turn' },
    check: (r) => assert.equal(verdictOf(r, 'head')?.estimatedStart, 1_100_000),
  },
  {
    name: 'a job without a time limit is not backfilled past a reservation',
    snapshot: snap(
      [makeNode('a')],
      [
        makeJob('head', { accelerators: 8, submitTime: 1 }),
        makeJob('forever', { accelerators: 1, submitTime: 2, timeLimitMs: null }),
      ],
      [
        makeRunning(makeJob('r', { accelerators: 2, timeLimitMs: 100_000 }), devicesOn('a', 2), {
          startTime: 1_000_000,
        }),
      ],
    ),
    wantStarts: [],
    wantVerdicts: { forever: 'waits-for-turn' },
  },
  {
    name: 'behind a job without a time limit, the blocked head still gets a reservation (assumed time limit)',
    snapshot: snap(
      [makeNode('a')],
      [
        makeJob('head', { accelerators: 8, submitTime: 1 }),
        makeJob('unlimited', { accelerators: 2, submitTime: 2, timeLimitMs: null }),
        makeJob('short', { accelerators: 2, submitTime: 3, timeLimitMs: 60_000 }),
      ],
      [
        makeRunning(makeJob('r', { accelerators: 4, timeLimitMs: null }), devicesOn('a', 4), {
          startTime: 0,
        }),
      ],
    ),
    wantStarts: ['short'],
    wantVerdicts: { head: 'waits-for-capacity', unlimited: 'waits-for-turn' },
    check: (r) => assert.equal(verdictOf(r, 'head')?.estimatedStart, 7 * 24 * 3600 * 1000),
  },
  {
    name: 'quota: a tenant at its borrowing limit waits for quota',
    config: policy({ tenants: { a: { quotas: { 'nvidia-h200': { guaranteed: 4, borrowingLimit: 0 } } } } }),
    snapshot: snap(
      [makeNode('n')],
      [
        makeJob('j1', { tenant: 'a', accelerators: 4, submitTime: 1 }),
        makeJob('j2', { tenant: 'a', accelerators: 1, submitTime: 2 }),
      ],
    ),
    wantStarts: ['j1'],
    wantVerdicts: { j2: 'waits-for-quota' },
    check: (r) => assert.match(verdictOf(r, 'j2')?.reason ?? '', /at most 4 nvidia-h200/),
  },
  {
    name: 'quota: a project limit caps its jobs',
    config: policy({ tenants: { a: { projects: { p: { limits: { 'nvidia-h200': 2 } } } } } }),
    snapshot: snap(
      [makeNode('n')],
      [makeJob('j', { tenant: 'a', project: 'p', accelerators: 1 })],
      [makeRunning(makeJob('r', { tenant: 'a', project: 'p', accelerators: 2 }), devicesOn('n', 2))],
    ),
    wantStarts: [],
    wantVerdicts: { j: 'waits-for-quota' },
  },
  {
    name: 'quota: a job asking more than its quota could ever give can never fit (as the policy stands)',
    config: policy({ tenants: { a: { quotas: { 'nvidia-h200': { guaranteed: 2, borrowingLimit: 2 } } } } }),
    snapshot: snap([makeNode('n')], [makeJob('j', { tenant: 'a', accelerators: 5 })]),
    wantStarts: [],
    wantVerdicts: { j: 'can-never-fit' },
    check: (r) => assert.match(verdictOf(r, 'j')?.reason ?? '', /more than tenant a may ever use/),
  },
  {
    name: 'quota: a job needing more than others could ever lend can never fit (as the policy stands)',
    config: policy({
      cohorts: ['all'],
      tenants: {
        a: { cohort: 'all', quotas: { 'nvidia-h200': { guaranteed: 8 } } },
        b: { cohort: 'all', quotas: { 'nvidia-h200': { guaranteed: 8, lendingLimit: 2 } } },
      },
    }),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('big', { tenant: 'a', replicas: 2, accelerators: 6 })],
    ),
    wantStarts: [],
    wantVerdicts: { big: 'can-never-fit' },
    check: (r) =>
      assert.match(verdictOf(r, 'big')?.reason ?? '', /could ever get \(guaranteed 8 \+ at most 2 lent/),
  },
  {
    name: 'borrowing: idle guaranteed capacity in the cohort is lent out',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [
        makeJob('b1', { tenant: 'b', accelerators: 8 }),
        makeJob('b2', { tenant: 'b', accelerators: 8, submitTime: 1 }),
      ],
    ),
    wantStarts: ['b1', 'b2'],
  },
  {
    name: 'lending limit: a tenant lends only part of its guarantee',
    config: policy({
      ...TWO_TENANTS,
      tenants: {
        ...TWO_TENANTS.tenants,
        a: { cohort: 'all', quotas: { 'nvidia-h200': { guaranteed: 8, lendingLimit: 2 } } },
      },
    }),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [
        makeJob('b1', { tenant: 'b', accelerators: 8 }),
        makeJob('b2', { tenant: 'b', accelerators: 4, submitTime: 1 }),
      ],
    ),
    wantStarts: ['b1'],
    wantVerdicts: { b2: 'waits-for-quota' },
  },
  {
    name: 'reclaim: a tenant below its guarantee preempts a borrower (whole job) and reserves the capacity',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('a1', { tenant: 'a', accelerators: 8 })],
      [
        makeRunning(makeJob('b1', { tenant: 'b', accelerators: 8 }), devicesOn('n1', 8), { startTime: 0 }),
        makeRunning(makeJob('b2', { tenant: 'b', accelerators: 8 }), devicesOn('n2', 8), {
          startTime: 500_000,
        }),
      ],
    ),
    wantStarts: [],
    wantPreempted: ['b2'],
    wantVerdicts: { a1: 'waits-for-capacity' },
    check: (r) => {
      assert.equal(verdictOf(r, 'a1')?.estimatedStart, 1_030_000);
      assert.match(r.preemptions[0]?.reason ?? '', /reclaimed: tenant b borrows/);
    },
  },
  {
    name: 'reclaim: victims lose the least work since their last checkpoint',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('a1', { tenant: 'a', accelerators: 8 })],
      [
        makeRunning(makeJob('b1', { tenant: 'b', accelerators: 8 }), devicesOn('n1', 8), {
          startTime: 0,
          lastCheckpointTime: 990_000,
        }),
        makeRunning(makeJob('b2', { tenant: 'b', accelerators: 8 }), devicesOn('n2', 8), {
          startTime: 0,
          lastCheckpointTime: 100_000,
        }),
      ],
    ),
    wantStarts: [],
    wantPreempted: ['b1'],
  },
  {
    name: 'reclaim never takes from a tenant within its own guarantee',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('a2', { tenant: 'a', accelerators: 8 })],
      [
        makeRunning(makeJob('a1', { tenant: 'a', accelerators: 8 }), devicesOn('n1', 8)),
        makeRunning(makeJob('b1', { tenant: 'b', accelerators: 8 }), devicesOn('n2', 8)),
      ],
    ),
    wantStarts: [],
    wantPreempted: [],
  },
  {
    name: 'priority preemption within a tenant honours the minimum runtime',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1')],
      [makeJob('hi', { tenant: 'a', accelerators: 8, priority: 100 })],
      [
        makeRunning(makeJob('lo', { tenant: 'a', accelerators: 8 }), devicesOn('n1', 8), {
          startTime: 1_000_000 - 60_000,
        }),
      ],
    ),
    wantStarts: [],
    wantPreempted: [],
  },
  {
    name: 'priority preemption within a tenant after the minimum runtime',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1')],
      [makeJob('hi', { tenant: 'a', accelerators: 8, priority: 100 })],
      [makeRunning(makeJob('lo', { tenant: 'a', accelerators: 8 }), devicesOn('n1', 8), { startTime: 0 })],
    ),
    wantStarts: [],
    wantPreempted: ['lo'],
  },
  {
    name: 'non-preemptible jobs are never victims',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1')],
      [makeJob('hi', { tenant: 'a', accelerators: 8, priority: 100 })],
      [
        makeRunning(makeJob('lo', { tenant: 'a', accelerators: 8, preemptible: false }), devicesOn('n1', 8), {
          startTime: 0,
        }),
      ],
    ),
    wantStarts: [],
    wantPreempted: [],
  },
  {
    name: 'a job whose victims are already stopping preempts no one else',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('a1', { tenant: 'a', accelerators: 8 })],
      [
        makeRunning(makeJob('b1', { tenant: 'b', accelerators: 8 }), devicesOn('n1', 8), {
          startTime: 0,
          preemptedAt: 990_000,
        }),
        makeRunning(makeJob('b2', { tenant: 'b', accelerators: 8 }), devicesOn('n2', 8), { startTime: 0 }),
      ],
    ),
    wantStarts: [],
    wantPreempted: [],
    check: (r) => assert.equal(verdictOf(r, 'a1')?.estimatedStart, 1_020_000),
  },
  {
    name: 'fair share: the tenant with less decayed usage per weight goes first',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1')],
      [
        makeJob('a1', { tenant: 'a', accelerators: 8, submitTime: 0 }),
        makeJob('b1', { tenant: 'b', accelerators: 8, submitTime: 5 }),
      ],
      [],
      {
        usage: { a: 1e6, b: 10 },
      },
    ),
    wantStarts: ['b1'],
  },
  {
    name: 'fair share: weights scale usage',
    config: policy({ ...TWO_TENANTS, tenants: { a: { weight: 100 }, b: { weight: 1 } } }),
    snapshot: snap(
      [makeNode('n1')],
      [
        makeJob('a1', { tenant: 'a', accelerators: 8, submitTime: 5 }),
        makeJob('b1', { tenant: 'b', accelerators: 8, submitTime: 0 }),
      ],
      [],
      {
        usage: { a: 1000, b: 100 },
      },
    ),
    wantStarts: ['a1'],
  },
  {
    name: 'fair share interleaves tenants within one cycle',
    config: policy({ fairShare: { halfLife: '1h' } }),
    snapshot: snap(
      [makeNode('n1', { accelerators: 4 })],
      [
        makeJob('a1', { tenant: 'a', submitTime: 0 }),
        makeJob('a2', { tenant: 'a', submitTime: 1 }),
        makeJob('a3', { tenant: 'a', submitTime: 2 }),
        makeJob('a4', { tenant: 'a', submitTime: 3 }),
        makeJob('b1', { tenant: 'b', submitTime: 10 }),
        makeJob('b2', { tenant: 'b', submitTime: 11 }),
      ],
    ),
    wantStarts: ['a1', 'a2', 'b1', 'b2'],
  },
  {
    name: 'booked capacity is kept for its tenant: others wait behind the booking',
    snapshot: snap([makeNode('n1')], [makeJob('j', { accelerators: 4, timeLimitMs: 3_600_000 })], [], {
      windows: [
        {
          id: 'w1',
          startTime: 1_500_000,
          endTime: 2_000_000,
          acceleratorType: 'nvidia-h200',
          accelerators: 6,
          tenant: 'owner',
        },
      ],
    }),
    wantStarts: [],
    wantVerdicts: { j: 'behind-booking' },
    check: (r) => assert.equal(verdictOf(r, 'j')?.estimatedStart, 2_000_000),
  },
  // bookings: window W_OPEN of tenant `owner` is open now (opened at 900 000, 4 h left)
  {
    name: 'booking: inside its open window the owner runs regardless of quota (guaranteed 0, borrowing limit 0)',
    config: policy({
      tenants: { owner: { quotas: { 'nvidia-h200': { guaranteed: 0, borrowingLimit: 0 } } } },
    }),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('mine', { tenant: 'owner', accelerators: 8, timeLimitMs: 3_600_000 })],
      [],
      { windows: [W_OPEN] },
    ),
    wantStarts: ['mine'],
    check: (r) => assert.match(r.starts[0]?.reason ?? '', /inside booking window w1 of tenant owner/),
  },
  {
    name: 'booking: a job that outlives the window, or asks more than is booked, is subject to quota as usual',
    config: policy({
      tenants: { owner: { quotas: { 'nvidia-h200': { guaranteed: 0, borrowingLimit: 0 } } } },
    }),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [
        makeJob('outlives', { tenant: 'owner', accelerators: 8, timeLimitMs: 5 * 3_600_000 }),
        makeJob('too-big', { tenant: 'owner', replicas: 2, accelerators: 8, timeLimitMs: 3_600_000 }),
        makeJob('no-limit', { tenant: 'owner', accelerators: 1, timeLimitMs: null }),
      ],
      [],
      { windows: [W_OPEN] },
    ),
    wantStarts: [],
    wantVerdicts: { outlives: 'can-never-fit', 'too-big': 'can-never-fit', 'no-limit': 'can-never-fit' },
  },
  {
    name: 'booking: the owner’s jobs inside use at most the booked devices; the rest is quota as usual',
    config: policy({
      tenants: { owner: { quotas: { 'nvidia-h200': { guaranteed: 0, borrowingLimit: 0 } } } },
    }),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('second', { tenant: 'owner', accelerators: 4, timeLimitMs: 3_600_000 })],
      [
        makeRunning(
          makeJob('first', { tenant: 'owner', accelerators: 6, timeLimitMs: 3_600_000 }),
          devicesOn('n1', 6),
          { startTime: 950_000 },
        ),
      ],
      { windows: [W_OPEN] },
    ),
    wantStarts: [],
    wantVerdicts: { second: 'waits-for-quota' },
  },
  {
    name: 'booking: before its window opens, a job its quota never allows waits for the booking (not can-never-fit)',
    config: policy({
      tenants: { owner: { quotas: { 'nvidia-h200': { guaranteed: 0, borrowingLimit: 0 } } } },
    }),
    snapshot: snap(
      [makeNode('n1')],
      [makeJob('mine', { tenant: 'owner', accelerators: 8, timeLimitMs: 3_600_000 })],
      [],
      {
        windows: [{ ...W_OPEN, startTime: 2_000_000 }],
      },
    ),
    wantStarts: [],
    wantVerdicts: { mine: 'waits-for-quota' },
    check: (r) => {
      assert.equal(verdictOf(r, 'mine')?.estimatedStart, 2_000_000);
      assert.match(verdictOf(r, 'mine')?.reason ?? '', /inside booking window w1/);
    },
  },
  {
    name: 'booking (lendIdle): idle booked devices are lent to another tenant’s preemptible job, never to a non-preemptible one',
    config: policy({ bookings: { lendIdle: true } }),
    snapshot: snap(
      [makeNode('n1')],
      [
        makeJob('lent', { tenant: 'other', accelerators: 4, submitTime: 1 }),
        makeJob('firm', { tenant: 'other', accelerators: 2, submitTime: 2, preemptible: false }),
      ],
      [],
      { windows: [W_OPEN] },
    ),
    wantStarts: ['lent'],
    wantVerdicts: { firm: 'behind-booking' },
  },
  {
    name: 'booking (lendIdle): before a window opens nothing of another tenant runs into it, preemptible or not',
    config: policy({ bookings: { lendIdle: true } }),
    snapshot: snap([makeNode('n1')], [makeJob('lent', { tenant: 'other', accelerators: 4 })], [], {
      windows: [{ ...W_OPEN, startTime: 2_000_000 }],
    }),
    wantStarts: [],
    wantVerdicts: { lent: 'behind-booking' },
  },
  {
    name: 'booking without lendIdle: the window is kept empty of other tenants’ jobs',
    snapshot: snap([makeNode('n1')], [makeJob('lent', { tenant: 'other', accelerators: 4 })], [], {
      windows: [W_OPEN],
    }),
    wantStarts: [],
    wantVerdicts: { lent: 'behind-booking' },
  },
  {
    name: 'booking (lendIdle): when the owner’s job arrives, the jobs lent its devices are evicted whole (grace period, reason names the booking)',
    config: policy({
      bookings: { lendIdle: true },
      tenants: { owner: { quotas: { 'nvidia-h200': { guaranteed: 0, borrowingLimit: 0 } } } },
    }),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('mine', { tenant: 'owner', accelerators: 8, timeLimitMs: 3_600_000 })],
      [
        // started before the window opened (ending before it) on n1: not lent, kept
        makeRunning(
          makeJob('early', { tenant: 'other', accelerators: 8, timeLimitMs: 100_001 }),
          devicesOn('n1', 8),
          { startTime: 800_000 },
        ),
        // lent: started inside the window
        makeRunning(makeJob('lent-a', { tenant: 'other', accelerators: 4 }), devicesOn('n2', 4), {
          startTime: 950_000,
        }),
        makeRunning(makeJob('lent-b', { tenant: 'other', accelerators: 4 }), devicesOn('n2', 4, 4), {
          startTime: 990_000,
        }),
      ],
      { windows: [W_OPEN] },
    ),
    wantStarts: [],
    wantPreempted: ['lent-a', 'lent-b'],
    wantVerdicts: { mine: 'waits-for-capacity' },
    check: (r) => {
      assert.equal(verdictOf(r, 'mine')?.estimatedStart, 1_030_000);
      for (const p of r.preemptions) {
        assert.equal(p.forJobId, 'mine');
        assert.match(p.reason, /booking window w1/);
      }
    },
  },
  {
    name: 'booking (lendIdle): eviction takes no more than the owner needs, and never a non-preemptible job',
    config: policy({ bookings: { lendIdle: true } }),
    snapshot: snap(
      [makeNode('n1')],
      [makeJob('mine', { tenant: 'owner', accelerators: 4, timeLimitMs: 3_600_000 })],
      [
        makeRunning(makeJob('lent-a', { tenant: 'other', accelerators: 4 }), devicesOn('n1', 4), {
          startTime: 950_000,
        }),
        makeRunning(
          makeJob('lent-b', { tenant: 'other', accelerators: 2, preemptible: false }),
          devicesOn('n1', 2, 4),
          { startTime: 960_000 },
        ),
        makeRunning(makeJob('lent-c', { tenant: 'other', accelerators: 2 }), devicesOn('n1', 2, 6), {
          startTime: 990_000,
        }),
      ],
      { windows: [{ ...W_OPEN, accelerators: 4 }] },
    ),
    wantStarts: [],
    wantPreempted: ['lent-a'],
  },
  {
    name: 'guaranteed first: a job inside its tenant’s guarantee goes before a borrower’s, whatever their fair-share usage',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1')],
      [makeJob('c1', { tenant: 'c', accelerators: 8 }), makeJob('a1', { tenant: 'a', accelerators: 8 })],
      [],
      { usage: { a: 1e9, c: 0 } },
    ),
    wantStarts: ['a1'],
  },
  {
    name: 'attained service: within a tenant, a fresh job goes before one that has already had service',
    config: policy(LAS),
    snapshot: snap(
      [makeNode('n1')],
      [
        makeJob('old', { tenant: 'a', accelerators: 8, submitTime: 1, attainedServiceMs: 2 * HOUR }),
        makeJob('fresh', { tenant: 'a', accelerators: 8, submitTime: 2 }),
      ],
    ),
    wantStarts: ['fresh'],
  },
  {
    name: 'attained service: a fresh job preempts its own tenant’s job of a higher band, never one inside another tenant’s guarantee',
    config: policy(LAS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('a-new', { tenant: 'a', accelerators: 8 })],
      [
        makeRunning(makeJob('b-long', { tenant: 'b', accelerators: 8 }), devicesOn('n1', 8), {
          startTime: 0,
        }),
        makeRunning(makeJob('a-long', { tenant: 'a', accelerators: 8 }), devicesOn('n2', 8), {
          startTime: 100_000,
        }),
      ],
    ),
    wantStarts: [],
    wantPreempted: ['a-long'],
    check: (r) =>
      assert.match(
        r.preemptions[0]?.reason ?? '',
        /least attained service: it has had at least 1 accelerator-hour/,
      ),
  },
  {
    name: 'attained service: a fresh job takes a borrower’s most-served job only while that tenant keeps its guarantee',
    config: policy(LAS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2'), makeNode('n3')],
      [makeJob('a-new', { tenant: 'a', accelerators: 8 })],
      [
        // a is at its guarantee with a young job (band 0, under the minimum runtime)
        makeRunning(makeJob('a1', { tenant: 'a', accelerators: 8 }), devicesOn('n1', 8), {
          startTime: 990_000,
        }),
        // b borrows 8 above its guarantee of 8
        makeRunning(makeJob('b2', { tenant: 'b', accelerators: 8 }), devicesOn('n2', 8), { startTime: 0 }),
        makeRunning(makeJob('b3', { tenant: 'b', accelerators: 8 }), devicesOn('n3', 8), {
          startTime: 300_000,
        }),
      ],
    ),
    wantStarts: [],
    wantPreempted: ['b3'],
    check: (r) => assert.match(r.preemptions[0]?.reason ?? '', /tenant b keeps its guarantee of 8/),
  },
  {
    name: 'attained service: no victim of the same band',
    config: policy(LAS),
    snapshot: snap(
      [makeNode('n1')],
      [makeJob('a-new', { tenant: 'a', accelerators: 8, attainedServiceMs: 2 * HOUR })],
      [
        makeRunning(makeJob('a-long', { tenant: 'a', accelerators: 8 }), devicesOn('n1', 8), {
          startTime: 100_000,
        }),
      ],
    ),
    wantStarts: [],
    wantPreempted: [],
  },
  {
    name: 'victims: the node that needs the fewest of them, not the least work lost scattered over nodes',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [makeJob('a1', { tenant: 'a', accelerators: 8 })],
      [
        makeRunning(makeJob('b8', { tenant: 'b', accelerators: 8 }), devicesOn('n1', 8), { startTime: 0 }),
        makeRunning(makeJob('c1', { tenant: 'b', accelerators: 4 }), devicesOn('n2', 4), {
          startTime: 300_000,
        }),
        makeRunning(makeJob('c2', { tenant: 'b', accelerators: 4 }), devicesOn('n2', 4, 4), {
          startTime: 310_000,
        }),
      ],
    ),
    wantStarts: [],
    wantPreempted: ['b8'],
  },
  {
    name: 'moves: to free a whole node inside a guarantee, a job inside its own guarantee is moved to free devices elsewhere',
    config: policy({
      fairShare: { halfLife: '1h' },
      preemption: { reclaim: true, minRuntime: '10m', gracePeriod: '30s', boundedReclaimTime: '5m' },
      tenants: {
        a: { quotas: { 'nvidia-h200': { guaranteed: 8 } } },
        b: { quotas: { 'nvidia-h200': { guaranteed: 8 } } },
        e: { quotas: { 'nvidia-h200': { guaranteed: 4 } } },
      },
    }),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2'), makeNode('n3')],
      [makeJob('a1', { tenant: 'a', accelerators: 8 })],
      [
        makeRunning(makeJob('b1', { tenant: 'b', accelerators: 4 }), devicesOn('n1', 4), { startTime: 0 }),
        makeRunning(makeJob('c1', { tenant: 'c', accelerators: 4 }), devicesOn('n1', 4, 4), { startTime: 0 }),
        makeRunning(makeJob('b2', { tenant: 'b', accelerators: 4 }), devicesOn('n2', 4), { startTime: 0 }),
        makeRunning(makeJob('c2', { tenant: 'c', accelerators: 4 }), devicesOn('n2', 4, 4), { startTime: 0 }),
        makeRunning(makeJob('e1', { tenant: 'e', accelerators: 4 }), devicesOn('n3', 4), { startTime: 0 }),
      ],
    ),
    wantStarts: [],
    wantPreempted: ['b1', 'c1'],
    check: (r) => {
      assert.match(
        r.preemptions.find((p) => p.jobId === 'b1')?.reason ?? '',
        /^moved: tenant a needs node n1 whole for job a1/,
      );
      assert.match(r.preemptions.find((p) => p.jobId === 'c1')?.reason ?? '', /^reclaimed: tenant c borrows/);
    },
  },
  {
    name: 'moves that chain: where no node has room for a moved job, a borrower elsewhere is reclaimed to make it',
    config: policy({
      fairShare: { halfLife: '1h' },
      preemption: { reclaim: true, minRuntime: '10m', gracePeriod: '30s', boundedReclaimTime: '5m' },
      tenants: {
        a: { quotas: { 'nvidia-h200': { guaranteed: 8 } } },
        b: { quotas: { 'nvidia-h200': { guaranteed: 4 } } },
        d: { quotas: { 'nvidia-h200': { guaranteed: 8 } } },
        e: { quotas: { 'nvidia-h200': { guaranteed: 4 } } },
      },
    }),
    // a1 needs a whole node inside a's guarantee; nothing is free. n1: b1 (inside b's guarantee,
    // movable) and c1 (c borrows); n2: d1 (8 devices, nowhere to go); n3: e1 (inside e's guarantee,
    // too young to move) and c3 (c borrows). Clearing n1 moves b1 to n3 in place of c3.
    snapshot: snap(
      [makeNode('n1'), makeNode('n2'), makeNode('n3')],
      [makeJob('a1', { tenant: 'a', accelerators: 8 })],
      [
        makeRunning(makeJob('b1', { tenant: 'b', accelerators: 4 }), devicesOn('n1', 4), { startTime: 0 }),
        makeRunning(makeJob('c1', { tenant: 'c', accelerators: 4 }), devicesOn('n1', 4, 4), { startTime: 0 }),
        makeRunning(makeJob('d1', { tenant: 'd', accelerators: 8 }), devicesOn('n2', 8), { startTime: 0 }),
        makeRunning(makeJob('e1', { tenant: 'e', accelerators: 4 }), devicesOn('n3', 4), {
          startTime: 940_000,
        }),
        makeRunning(makeJob('c3', { tenant: 'c', accelerators: 4 }), devicesOn('n3', 4, 4), { startTime: 0 }),
      ],
    ),
    wantStarts: [],
    wantPreempted: ['b1', 'c1', 'c3'],
    check: (r) => {
      assert.match(
        r.preemptions.find((p) => p.jobId === 'b1')?.reason ?? '',
        /^moved: tenant a needs node n1 whole for job a1/,
      );
      assert.match(r.preemptions.find((p) => p.jobId === 'c3')?.reason ?? '', /^reclaimed: tenant c borrows/);
      assert.deepEqual(verdictOf(r, 'a1')?.verdict, 'waits-for-capacity');
    },
  },
  {
    name: 'claims: devices stopping for one job are reserved for it and planned for no other',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1'), makeNode('n2')],
      [
        makeJob('a1', { tenant: 'a', accelerators: 8, submitTime: 5 }),
        makeJob('b9', { tenant: 'b', accelerators: 8, submitTime: 1 }),
      ],
      [
        {
          ...makeRunning(makeJob('c1', { tenant: 'c', accelerators: 8 }), devicesOn('n1', 8), {
            startTime: 0,
            preemptedAt: 990_000,
          }),
          preemptedFor: 'a1',
        },
        makeRunning(makeJob('b1', { tenant: 'b', accelerators: 8 }), devicesOn('n2', 8), { startTime: 0 }),
      ],
      { usage: { a: 1e9, b: 0 } },
    ),
    wantStarts: [],
    wantPreempted: [],
    check: (r) => {
      assert.match(
        verdictOf(r, 'a1')?.reason ?? '',
        /waiting for preempted job\(s\) c1 to stop; the capacity is reserved for it/,
      );
      assert.equal(verdictOf(r, 'a1')?.estimatedStart, 1_020_000);
      assert.doesNotMatch(verdictOf(r, 'b9')?.reason ?? '', /preempted/);
    },
  },
  {
    name: 'claims: a job whose victims have just stopped is considered before jobs ahead of it in fair share',
    config: policy(TWO_TENANTS),
    snapshot: snap(
      [makeNode('n1')],
      [
        makeJob('b1', { tenant: 'b', accelerators: 8, submitTime: 0 }),
        makeJob('a1', { tenant: 'a', accelerators: 8, submitTime: 0, claimedAt: 990_000 }),
      ],
      [],
      {
        usage: { a: 1e9, b: 0 },
      },
    ),
    wantStarts: ['a1'],
  },
  {
    name: 'draining and unhealthy capacity is not used',
    snapshot: snap(
      [makeNode('d', { state: 'draining' }), makeNode('u', { unhealthy: [0, 1, 2, 3] })],
      [makeJob('j', { accelerators: 5 })],
    ),
    wantStarts: [],
    wantVerdicts: { j: 'waits-for-capacity' },
  },
  {
    name: 'heterogeneous: a job takes the first acceptable type with room',
    snapshot: snap(
      [makeNode('g', { accelerators: 2 }), makeNode('n', { type: 'ascend-910b' })],
      [makeJob('j', { accelerators: 4, types: ['nvidia-h200', 'ascend-910b'] })],
    ),
    wantStarts: ['j'],
    check: (r) => assert.match(r.starts[0]?.placement[0]?.acceleratorIds[0] ?? '', /ascend-910b/),
  },
  {
    name: 'default policy: tenants not listed share everything',
    config: DEFAULT_POLICY,
    snapshot: snap([makeNode('n1')], [makeJob('x', { tenant: 'unknown-lab', accelerators: 8 })]),
    wantStarts: ['x'],
  },
];

for (const c of cases) {
  void test(c.name, () => {
    const r = scheduleOnce(c.config ?? DEFAULT_POLICY, c.snapshot);
    assert.deepEqual(started(r), [...c.wantStarts].sort(), `starts; pending: ${JSON.stringify(r.pending)}`);
    for (const [id, v] of Object.entries(c.wantVerdicts ?? {}))
      assert.equal(verdictOf(r, id)?.verdict, v, `verdict of ${id}: ${JSON.stringify(verdictOf(r, id))}`);
    if (c.wantPreempted)
      assert.deepEqual(
        r.preemptions.map((p) => p.jobId).sort(),
        [...c.wantPreempted].sort(),
        JSON.stringify(r.preemptions),
      );
    // every pending job is either started or has exactly one verdict
    const ids = c.snapshot.pending.map((j) => j.id).sort();
    assert.deepEqual([...r.starts.map((s) => s.jobId), ...r.pending.map((p) => p.jobId)].sort(), ids);
    for (const p of r.pending) assert.ok(p.reason.length > 0);
    c.check?.(r);
  });
}

void test('the stateful scheduler answers as a fresh one even when the caller mutates its arrays in place', () => {
  const warm = createScheduler(DEFAULT_POLICY);
  const nodes = [makeNode('a'), makeNode('b')];
  const pending: SchedJob[] = [
    makeJob('p1', { accelerators: 8, submitTime: 1 }),
    makeJob('p2', { accelerators: 8, submitTime: 2 }),
  ];
  const running: RunningSchedJob[] = [makeRunning(makeJob('r1', { accelerators: 8 }), devicesOn('a', 8))];
  const same = (s: Snapshot): void => assert.deepEqual(warm.schedule(s), scheduleOnce(DEFAULT_POLICY, s));
  same({ now: 1000, nodes, pending, running });
  pending.push(makeJob('p3', { accelerators: 1, submitTime: 3 }));
  running.pop(); // r1 ended
  same({ now: 2000, nodes, pending, running });
  nodes[1] = makeNode('b', { state: 'draining' });
  pending.splice(0, 1);
  same({ now: 3000, nodes, pending, running });
});

void test('copying a blocked verdict to a job alike changes no decision: the same queue with nothing alike decides the same', () => {
  // each job in a project of its own makes every job unlike every other (projects carry no limits
  // here, so they change nothing else); the answers must be the same as with copying
  for (const config of [
    policy(LAS),
    policy({ ...LAS, backfill: { maxJobsTested: 3, estimateMaxJobs: 2 } }),
  ]) {
    const nodes = [makeNode('a'), makeNode('b'), makeNode('c')];
    const running = [
      makeRunning(
        makeJob('ra', { tenant: 'b', accelerators: 8, attainedServiceMs: 20 * HOUR }),
        devicesOn('a', 8),
        { startTime: 0 },
      ),
      makeRunning(makeJob('rb', { tenant: 'b', accelerators: 7 }), devicesOn('b', 7), { startTime: 0 }),
      makeRunning(makeJob('rc', { tenant: 'a', accelerators: 6 }), devicesOn('c', 6), { startTime: 900_000 }),
    ];
    const shapes = [1, 2, 8, 1, 4, 2, 1, 8];
    const pending = (ownProjects: boolean): SchedJob[] =>
      Array.from({ length: 40 }, (_, i) =>
        makeJob(`p${i}`, {
          tenant: i % 3 === 0 ? 'a' : 'b',
          accelerators: shapes[i % shapes.length],
          submitTime: i,
          timeLimitMs: (1 + (i % 7)) * HOUR,
          ...(ownProjects ? { project: `own-${i}` } : {}),
        }),
      );
    const copying = scheduleOnce(config, snap(nodes, pending(false), running));
    const alone = scheduleOnce(config, snap(nodes, pending(true), running));
    assert.deepEqual(copying, alone);
    assert.ok(copying.pending.length > 30, 'most jobs wait');
  }
  // where the time limit decides: 4 devices free on b until a reservation there in 1 h, so of
  // jobs alike in all but time limit the short ones backfill and the long ones wait (a verdict read
  // with RUN_NOW is copied only to a job with the same time limit)
  const now = 1_000_000;
  const running = [
    makeRunning(makeJob('long', { accelerators: 8, timeLimitMs: 10 * HOUR }), devicesOn('a', 8), {
      startTime: now,
    }),
    makeRunning(makeJob('short', { accelerators: 4, timeLimitMs: HOUR }), devicesOn('b', 4), {
      startTime: now,
    }),
  ];
  const queue = (ownProjects: boolean): SchedJob[] => [
    makeJob('head', { accelerators: 8, submitTime: 0 }),
    ...[2, 0.5, 2, 0.5, 3, 0.25].map((h, i) =>
      makeJob(`q${i}`, {
        accelerators: 1,
        submitTime: 1 + i,
        timeLimitMs: h * HOUR,
        ...(ownProjects ? { project: `own-${i}` } : {}),
      }),
    ),
  ];
  // (no estimates beyond the reservation, as in the simulator: verdicts without an estimated start are copied)
  const config = policy({ backfill: { estimateMaxJobs: 0 } });
  const copying = scheduleOnce(config, snap([makeNode('a'), makeNode('b')], queue(false), running));
  assert.deepEqual(copying, scheduleOnce(config, snap([makeNode('a'), makeNode('b')], queue(true), running)));
  assert.deepEqual(started(copying), ['q1', 'q3', 'q5']);
});
