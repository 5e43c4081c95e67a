import { test } from 'node:test';
import assert from 'node:assert/strict';
import { can } from '../lib/roles.js';

test('buttons follow the roles the API enforces', () => {
  assert.ok(can('admin', 'node.drain'));
  assert.ok(can('operator', 'node.drain'));
  assert.ok(!can('member', 'node.drain'));
  assert.ok(can('member', 'job.submit'));
  assert.ok(!can('viewer', 'job.submit'));
  assert.ok(!can('viewer', 'job.cancel'));
  assert.ok(!can('someone-new', 'job.submit'));
  assert.ok(!can(null, 'job.submit'));
});
