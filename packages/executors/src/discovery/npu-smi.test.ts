import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFixture } from './fixtures.js';
import {
  ascendAccelerators,
  ascendTelemetry,
  ascendTypeFromName,
  parseNpuSmiInfo,
  NpuSmiParseError,
} from './npu-smi.js';

void test('npu-smi: the published 8 × 910B3 output parses into eight healthy ascend-910b devices', () => {
  const chips = parseNpuSmiInfo(readFixture('npu-smi-info-910b3-x8.txt'));
  assert.equal(chips.length, 8);
  assert.deepEqual(chips[0], {
    npu: 0,
    chip: 0,
    index: 0,
    name: '910B3',
    health: 'OK',
    powerW: 101.8,
    temperatureC: 43,
    busId: '0000:C1:00.0',
    aiCorePct: 0,
    memoryUsedMB: 0,
    memoryTotalMB: 0,
    hbmUsedMB: 3318,
    hbmTotalMB: 65536,
  });
  assert.deepEqual(
    chips.map((c) => c.index),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  assert.equal(chips[7]?.busId, '0000:42:00.0');
  const accs = ascendAccelerators('atlas-01', chips);
  assert.deepEqual(accs[3], {
    id: 'atlas-01/ascend/3',
    index: 3,
    type: 'ascend-910b',
    vendor: 'ascend',
    source: 'npu-smi',
    healthy: true,
    model: 'Ascend 910B3',
    memoryMiB: 65536,
  });
  const t = ascendTelemetry('atlas-01', chips, 5);
  assert.deepEqual(t[6], {
    id: 'atlas-01/ascend/6',
    index: 6,
    utilizationPct: 0,
    memoryUsedMiB: 3314,
    memoryTotalMiB: 65536,
    temperatureC: 45,
    powerW: 103.8,
    eccUncorrected: null,
    at: 5,
  });
});

void test('npu-smi: a chip whose health is not OK is unhealthy', () => {
  const text = readFixture('npu-smi-info-910b3-x8.txt').replace(
    '| 2     910B3               | OK     ',
    '| 2     910B3               | Warning',
  );
  const accs = ascendAccelerators('n', parseNpuSmiInfo(text));
  assert.deepEqual(
    accs.filter((a) => !a.healthy).map((a) => a.index),
    [2],
  );
});

void test('npu-smi: the Device column gives the index, NA readings are null, the process table is skipped', () => {
  // The layout npu-smi 23.x/25.x prints for 310-series cards (Chip + Device columns, DDR only,
  // then a process table), as published in driver installation notes.
  const text = [
    '| NPU     Name                  | Health          | Power(W)     Temp(C)           Hugepages-Usage(page) |',
    '| Chip    Device                | Bus-Id          | AICore(%)    Memory-Usage(MB)                        |',
    '+===============================+=================+======================================================+',
    '| 6       310P3                 | OK              | NA           50                0     / 0             |',
    '| 0       0                     | 0000:84:00.0    | 0            1839 / 21525                            |',
    '+===============================+=================+======================================================+',
    '+-------------------------------+-----------------+------------------------------------------------------+',
    '| NPU     Chip                  | Process id      | Process name             | Process memory(MB)        |',
    '+===============================+=================+======================================================+',
    '| No running processes found in NPU 6                                                                    |',
  ].join('\n');
  const chips = parseNpuSmiInfo(text);
  assert.equal(chips.length, 1);
  assert.equal(chips[0]?.index, 0, 'logical Device id, not the NPU id 6');
  assert.equal(chips[0]?.powerW, null);
  assert.deepEqual(
    [chips[0]?.memoryUsedMB, chips[0]?.memoryTotalMB, chips[0]?.hbmTotalMB],
    [1839, 21525, null],
  );
  assert.deepEqual(ascendAccelerators('n', chips)[0]?.memoryMiB, 21525);
  assert.equal(ascendAccelerators('n', chips)[0]?.type, 'ascend-310p');
});

void test('npu-smi: a truncated table is an error, not a silent partial inventory', () => {
  const lines = readFixture('npu-smi-info-910b3-x8.txt').trim().split('\n');
  const cut = lines.slice(
    0,
    lines.findIndex((l) => l.includes('0000:C1:00.0')),
  );
  assert.throws(() => parseNpuSmiInfo(cut.join('\n')), NpuSmiParseError);
});

void test('npu-smi: chip names normalise to families', () => {
  assert.equal(ascendTypeFromName('910B3'), 'ascend-910b');
  assert.equal(ascendTypeFromName('910B4'), 'ascend-910b');
  assert.equal(ascendTypeFromName('Ascend910B'), 'ascend-910b');
  assert.equal(ascendTypeFromName('310P3'), 'ascend-310p');
  assert.equal(ascendTypeFromName('910'), 'ascend-910');
});
