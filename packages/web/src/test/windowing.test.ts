import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowWindow } from '../lib/windowing.js';

test('renders only the rows in view plus overscan', () => {
  const w = rowWindow(4000, 400, 40, 10_000, 5);
  assert.equal(w.start, 95);
  assert.equal(w.end, 100 + 11 + 5);
  assert.equal(w.offsetPx, 95 * 40);
  assert.equal(w.totalPx, 400_000);
});

test('clamps at both ends and handles empty lists', () => {
  assert.deepEqual(rowWindow(-100, 400, 40, 10, 2), { start: 0, end: 10, offsetPx: 0, totalPx: 400 });
  const end = rowWindow(1e9, 400, 40, 10_000, 2);
  assert.equal(end.end, 10_000);
  assert.ok(end.end - end.start <= 11 + 4);
  assert.deepEqual(rowWindow(0, 400, 40, 0), { start: 0, end: 0, offsetPx: 0, totalPx: 0 });
});

test('the DOM size does not grow with the list', () => {
  for (const n of [100, 10_000, 1_000_000]) {
    const w = rowWindow(n * 20, 800, 40, n);
    assert.ok(w.end - w.start <= 21 + 16, `${n}: ${w.end - w.start} rows`);
  }
});
