import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBytes,
  formatCpuTime,
  formatDuration,
  formatMiB,
  formatPercent,
  formatRelative,
  median,
} from '../lib/format.js';

test('formatDuration picks two units', () => {
  assert.equal(formatDuration(-5), '0s');
  assert.equal(formatDuration(45_000), '45s');
  assert.equal(formatDuration(725_000), '12m 5s');
  assert.equal(formatDuration((3 * 3600 + 4 * 60) * 1000), '3h 4m');
  assert.equal(formatDuration(53 * 3600 * 1000), '2d 5h');
});

test('formatMiB', () => {
  assert.equal(formatMiB(81920), '80 GiB');
  assert.equal(formatMiB(1536), '1.5 GiB');
  assert.equal(formatMiB(512), '512 MiB');
  assert.equal(formatMiB(null), '—');
});

test('formatRelative in both languages', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  assert.equal(formatRelative('2026-01-01T00:05:00Z', now, 'en'), '5m 0s ago');
  assert.equal(formatRelative('2026-01-01T00:15:00Z', now, 'en'), 'in 5m 0s');
  assert.equal(formatRelative('2026-01-01T00:05:00Z', now, 'zh-CN'), '5m 0s前');
  assert.equal(formatRelative(null, now, 'en'), '—');
});

test('formatPercent and median', () => {
  assert.equal(formatPercent(1, 2), '50%');
  assert.equal(formatPercent(0, 0), '—');
  assert.equal(median([]), null);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});

test('formatHours, utcMonth and monthWindow', async () => {
  const { formatHours, utcMonth, monthWindow } = await import('../lib/format.js');
  assert.equal(formatHours(1234.4), '1,234');
  assert.equal(formatHours(12.46), '12.5');
  assert.equal(formatHours(4 / 3600), '0.001');
  assert.equal(formatHours(0), '0');
  assert.equal(formatHours(1 / 3600), '<0.001');
  assert.equal(utcMonth(Date.parse('2026-11-30T23:59:59Z')), '2026-11');
  assert.deepEqual(monthWindow('2026-12'), {
    from: '2026-12-01T00:00:00.000Z',
    to: '2027-01-01T00:00:00.000Z',
  });
  assert.equal(monthWindow('2026-13'), null);
  assert.equal(monthWindow('bad'), null);
});

test('formatBytes and formatCpuTime: measured peaks and CPU time as people read them; unknown is a dash', () => {
  assert.equal(formatBytes(300 * 2 ** 20), '300 MiB');
  assert.equal(formatBytes(3 * 2 ** 30 + 1), '3.0 GiB');
  assert.equal(formatBytes(null), '—');
  assert.equal(formatCpuTime(850), '850 ms');
  assert.equal(formatCpuTime(12_500), '12.5 s');
  assert.equal(formatCpuTime(5_400_000), '1h 30m');
  assert.equal(formatCpuTime(null), '—');
});
