/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { compilePolicy, DEFAULT_POLICY, resolvePriority, tenantConfig } from './config.js';

// dist/policy/config.test.js → packages/core/examples/policy.yaml
const EXAMPLE = fileURLToPath(new URL('../../examples/policy.yaml', import.meta.url));

void test('the example policy file compiles', () => {
  const c = compilePolicy(parse(readFileSync(EXAMPLE, 'utf8')));
  assert.ok(c.ok, JSON.stringify(!c.ok && c.errors));
  const p = c.value;
  assert.equal(p.organisation, 'city-ai-center');
  assert.equal(p.fairShare.halfLifeMs, 7 * 24 * 3600 * 1000);
  assert.deepEqual(
    p.priorityClasses.map((x) => x.name),
    ['urgent', 'normal', 'scavenger'],
  );
  assert.equal(p.defaultPriorityClass, 'normal');
  assert.equal(p.preemption.gracePeriodMs, 120_000);
  assert.equal(p.backfill.assumedTimeLimitMs, 3 * 24 * 3600 * 1000);
  assert.deepEqual(p.tenants['tsinghua-nlp']?.quotas['nvidia-h200'], {
    guaranteed: 64,
    borrowingLimit: 64,
    lendingLimit: 48,
  });
  assert.equal(p.tenants['tsinghua-nlp']?.projects['eval']?.limits['nvidia-h200'], 8);
  assert.equal(p.tenants['robotics-startup']?.cohort, 'industry');
  assert.equal(p.defaultTenant.weight, 0.5);
});

void test('no file, null or {} compile to the default policy', () => {
  for (const input of [undefined, null, {}]) {
    const c = compilePolicy(input);
    assert.ok(c.ok);
    assert.deepEqual(c.value, DEFAULT_POLICY);
  }
});

interface ErrCase {
  name: string;
  input: unknown;
  path: string;
  message: RegExp;
}

const errorCases: ErrCase[] = [
  { name: 'not a mapping', input: [1], path: '', message: /must be a mapping/ },
  {
    name: 'unknown top-level field',
    input: { tenant: {} },
    path: 'tenant',
    message: /unknown field "tenant"; allowed fields here are: organisation, fairShare/,
  },
  {
    name: 'unknown quota field',
    input: { tenants: { a: { quotas: { 'nvidia-h200': { nominal: 8 } } } } },
    path: 'tenants.a.quotas.nvidia-h200.nominal',
    message: /unknown field "nominal"/,
  },
  {
    name: 'bad half-life',
    input: { fairShare: { halfLife: 'a week' } },
    path: 'fairShare.halfLife',
    message: /must be a duration such as "30s"/,
  },
  {
    name: 'undeclared cohort',
    input: { tenants: { a: { cohort: 'x' } } },
    path: 'tenants.a.cohort',
    message: /no cohorts are declared/,
  },
  {
    name: 'cohort not in the list',
    input: { cohorts: ['y'], tenants: { a: { cohort: 'x' } } },
    path: 'tenants.a.cohort',
    message: /must be one of the declared cohorts: y/,
  },
  {
    name: 'lending more than guaranteed',
    input: { tenants: { a: { quotas: { 'nvidia-h200': { guaranteed: 4, lendingLimit: 8 } } } } },
    path: 'tenants.a.quotas.nvidia-h200.lendingLimit',
    message: /must be at most guaranteed \(4\)/,
  },
  {
    name: 'negative quota',
    input: { tenants: { a: { quotas: { 'nvidia-h200': { guaranteed: -1 } } } } },
    path: 'tenants.a.quotas.nvidia-h200.guaranteed',
    message: /whole number from 0/,
  },
  {
    name: 'upper-case type',
    input: { tenants: { a: { quotas: { H200: { guaranteed: 1 } } } } },
    path: 'tenants.a.quotas.H200',
    message: /lower-case/,
  },
  {
    name: 'zero weight',
    input: { tenants: { a: { weight: 0 } } },
    path: 'tenants.a.weight',
    message: /greater than 0/,
  },
  {
    name: 'two default classes',
    input: { priorityClasses: { x: { value: 1, default: true }, y: { value: 2, default: true } } },
    path: 'priorityClasses',
    message: /only one class may be the default/,
  },
  {
    name: 'class without value',
    input: { priorityClasses: { x: {} } },
    path: 'priorityClasses.x.value',
    message: /is required/,
  },
  {
    name: 'bad withinTenant',
    input: { preemption: { withinTenant: 'always' } },
    path: 'preemption.withinTenant',
    message: /"never" or "lower-priority"/,
  },
  {
    name: 'reclaim faster than grace',
    input: { preemption: { gracePeriod: '10m', boundedReclaimTime: '5m' } },
    path: 'preemption.boundedReclaimTime',
    message: /at least preemption.gracePeriod/,
  },
  {
    name: 'zero backfill bound',
    input: { backfill: { maxJobsTested: 0 } },
    path: 'backfill.maxJobsTested',
    message: /whole number from 1/,
  },
  {
    name: 'lendIdle not a boolean',
    input: { bookings: { lendIdle: 'yes' } },
    path: 'bookings.lendIdle',
    message: /true or false/,
  },
  {
    name: 'unknown bookings field',
    input: { bookings: { lend: true } },
    path: 'bookings.lend',
    message: /unknown field "lend"; allowed fields here are: lendIdle/,
  },
  {
    name: 'bands not increasing',
    input: { attainedService: { bandsAcceleratorHours: [10, 1] } },
    path: 'attainedService.bandsAcceleratorHours',
    message: /increasing positive numbers of accelerator-hours/,
  },
  {
    name: 'bands empty',
    input: { attainedService: { bandsAcceleratorHours: [] } },
    path: 'attainedService.bandsAcceleratorHours',
    message: /1 to 16 increasing/,
  },
  {
    name: 'unknown attainedService field',
    input: { attainedService: { bands: [1] } },
    path: 'attainedService.bands',
    message: /allowed fields here are: enabled, bandsAcceleratorHours/,
  },
];

void test('attainedService: off without the section; a section turns it on with bands in accelerator-hours', () => {
  assert.equal(DEFAULT_POLICY.attainedService, undefined);
  const on = compilePolicy({ attainedService: { bandsAcceleratorHours: [0.5, 8] } });
  assert.ok(on.ok);
  assert.deepEqual(on.value.attainedService, { enabled: true, bandBoundariesMs: [1_800_000, 28_800_000] });
  const dflt = compilePolicy({ attainedService: {} });
  assert.ok(dflt.ok);
  assert.deepEqual(dflt.value.attainedService, {
    enabled: true,
    bandBoundariesMs: [3_600_000, 36_000_000, 360_000_000],
  });
  const off = compilePolicy({ attainedService: { enabled: false } });
  assert.ok(off.ok);
  assert.equal(off.value.attainedService?.enabled, false);
});

void test('bookings.lendIdle: absent without the section (lending off), as given with it', () => {
  const on = compilePolicy({ bookings: { lendIdle: true } });
  assert.ok(on.ok);
  assert.deepEqual(on.value.bookings, { lendIdle: true });
  const off = compilePolicy({ bookings: {} });
  assert.ok(off.ok);
  assert.deepEqual(off.value.bookings, { lendIdle: false });
  assert.equal(DEFAULT_POLICY.bookings, undefined);
});

for (const c of errorCases) {
  void test(`compilePolicy rejects: ${c.name}`, () => {
    const r = compilePolicy(c.input);
    assert.equal(r.ok, false);
    const e = !r.ok ? r.errors.find((x) => x.path === c.path) : undefined;
    assert.ok(e, `no error at ${c.path}: ${JSON.stringify(!r.ok && r.errors)}`);
    assert.match(e.message, c.message);
  });
}

void test('compilePolicy reports every problem at once', () => {
  const r = compilePolicy({ bogus: 1, fairShare: { halfLife: 'x' }, tenants: { a: { weight: -1 } } });
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors.map((e) => e.path), ['bogus', 'fairShare.halfLife', 'tenants.a.weight']);
});

void test('resolvePriority: class value, explicit override, preemptible from both, unknown class', () => {
  const c = compilePolicy({
    priorityClasses: { urgent: { value: 100, preemptible: false }, normal: { value: 0 } },
  });
  assert.ok(c.ok);
  assert.deepEqual(resolvePriority(c.value, 'urgent', null, true), {
    ok: true,
    value: { priority: 100, preemptible: false, priorityClass: 'urgent' },
  });
  assert.deepEqual(resolvePriority(c.value, null, 7, true), {
    ok: true,
    value: { priority: 7, preemptible: true, priorityClass: 'normal' },
  });
  const bad = resolvePriority(c.value, 'vip', null, true);
  assert.equal(bad.ok, false);
  assert.match(
    !bad.ok ? (bad.errors[0]?.message ?? '') : '',
    /unknown priority class "vip"; this center defines: urgent, normal/,
  );
});

void test('tenants not listed take the defaultTenant settings', () => {
  const t = tenantConfig(DEFAULT_POLICY, 'someone');
  assert.deepEqual(t, { name: 'someone', weight: 1, cohort: null, quotas: {}, projects: {} });
});
