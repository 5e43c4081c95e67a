import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Accelerator } from '@suanli/core';
import {
  Accounts,
  AccountError,
  DEFAULT_UID_RANGE,
  preferredUid,
  tenantAccountName,
  UNIX_USER_RE,
} from './accounts.js';
import { deviceNodesFor } from './sandbox.js';

void test('a tenant name that is already an account name keeps it readable; others get a hash, never a shared account', () => {
  assert.equal(tenantAccountName('lab-a'), 'sl-lab-a');
  const upper = tenantAccountName('Lab');
  const lower = tenantAccountName('lab');
  assert.notEqual(upper, lower);
  assert.match(upper, /^sl-lab-[0-9a-f]{8}$/);
  assert.notEqual(tenantAccountName('a.b'), tenantAccountName('a_b'));
  const long = tenantAccountName('x'.repeat(60));
  assert.ok(long.length <= 32);
  for (const n of [upper, lower, long, tenantAccountName('a.b')]) assert.match(n, UNIX_USER_RE);
});

void test('the preferred uid is stable and inside the range', () => {
  const a = preferredUid('sl-lab', DEFAULT_UID_RANGE);
  assert.equal(a, preferredUid('sl-lab', DEFAULT_UID_RANGE));
  assert.ok(a >= DEFAULT_UID_RANGE[0] && a <= DEFAULT_UID_RANGE[1]);
  assert.equal(preferredUid('anything', [5000, 5000]), 5000);
});

void test('a uid range below 1000 or upside down is refused', () => {
  assert.throws(() => new Accounts({ uidRange: [0, 10] }), AccountError);
  assert.throws(() => new Accounts({ uidRange: [9000, 8000] }), AccountError);
});

void test('jobs never run as root: a mapping to root is refused', async () => {
  await assert.rejects(new Accounts({ create: false }).resolve('t', 'root'), /never run as root/);
  await assert.rejects(new Accounts({ create: false }).resolve('t', 'no-such-user-suanli'), /does not exist/);
});

void test('device nodes: a GPU by its minor number plus the control nodes; declared devices have none', () => {
  const gpu = (index: number, minor?: number): Accelerator => ({
    id: `GPU-${index}`,
    index,
    type: 'nvidia-h200',
    vendor: 'nvidia',
    source: 'nvidia-smi',
    healthy: true,
    ...(minor !== undefined ? { deviceMinor: minor } : {}),
  });
  const all = () => true;
  assert.deepEqual(deviceNodesFor([gpu(2, 5)], '/dev', all), [
    '/dev/nvidia5',
    '/dev/nvidiactl',
    '/dev/nvidia-uvm',
    '/dev/nvidia-uvm-tools',
    '/dev/nvidia-modeset',
  ]);
  assert.deepEqual(
    deviceNodesFor([gpu(3)], '/d', (p) => !p.includes('uvm') && !p.includes('modeset')),
    ['/d/nvidia3', '/d/nvidiactl'],
  );
  const npu: Accelerator = {
    id: 'n/ascend/1',
    index: 1,
    type: 'ascend-910b',
    vendor: 'ascend',
    source: 'npu-smi',
    healthy: true,
  };
  assert.deepEqual(deviceNodesFor([npu], '/dev', all), [
    '/dev/davinci1',
    '/dev/davinci_manager',
    '/dev/devmm_svm',
    '/dev/hisi_hdc',
  ]);
  assert.deepEqual(deviceNodesFor([{ ...gpu(0), source: 'declared' }], '/dev', all), []);
});
