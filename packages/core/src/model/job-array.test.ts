/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARRAY_LIMITS, arrayTaskId, formatArrayExpression, parseArrayExpression } from './job-array.js';

const ok = (s: unknown) => {
  const r = parseArrayExpression(s);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.value;
};
const bad = (s: unknown) => {
  const r = parseArrayExpression(s);
  assert.ok(!r.ok, `expected ${JSON.stringify(s)} to be refused`);
  return r.errors.map((e) => e.message).join('; ');
};

void test('array expressions: ranges, steps, lists and the throttle, as sbatch --array takes them', () => {
  const a = ok('0-999%50');
  assert.equal(a.indices.length, 1000);
  assert.equal(a.indices[0], 0);
  assert.equal(a.indices[999], 999);
  assert.equal(a.throttle, 50);
  assert.equal(a.text, '0-999%50');
  assert.deepEqual(ok('0-15:4').indices, [0, 4, 8, 12]);
  assert.equal(ok('0-15:4').text, '0,4,8,12');
  assert.deepEqual(ok('7,1,3-5').indices, [1, 3, 4, 5, 7]);
  assert.equal(ok('7,1,3-5').text, '1,3-5,7');
  assert.equal(ok('7,1,3-5').throttle, null);
  assert.deepEqual(ok(3).indices, [3]);
  assert.deepEqual(ok(' 2 ').indices, [2]);
});

void test('array expressions: every malformed form is refused with what to fix', () => {
  assert.match(bad(''), /array expression/);
  assert.match(bad('abc'), /"abc" is not an index or a range/);
  assert.match(bad('5-1'), /from low to high, e.g. "1-5"/);
  assert.match(bad('0-9%0'), /throttle after "%" must be a whole number of at least 1/);
  assert.match(bad('0-9%2%3'), /"%" once/);
  assert.match(bad('0-9:0'), /step after ":" must be at least 1/);
  assert.match(bad('1,1'), /index 1 more than once/);
  assert.match(bad('0-4,3'), /index 3 more than once/);
  assert.match(bad(`0-${ARRAY_LIMITS.maxTasks}`), new RegExp(`more than ${ARRAY_LIMITS.maxTasks} tasks`));
  assert.match(bad(`${ARRAY_LIMITS.maxIndex + 1}`), /indices go from 0 to/);
  assert.match(bad('-1'), /not an index or a range/);
  assert.match(bad({}), /array expression/);
  assert.match(bad(1.5), /array expression/);
  // a lower cap (the tenant's room for waiting jobs) is honoured
  const r = parseArrayExpression('0-9', 'array', 5);
  assert.ok(!r.ok);
});

void test('the canonical text round-trips and task ids follow <arrayId>_<index>', () => {
  for (const s of ['0-999', '1,3-5,7', '0,4,8,12%2', '42']) assert.equal(ok(s).text, s);
  assert.equal(formatArrayExpression([]), '');
  assert.equal(arrayTaskId('j-0123456789abcdef', 17), 'j-0123456789abcdef_17');
});
