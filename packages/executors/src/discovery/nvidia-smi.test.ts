import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFixture } from './fixtures.js';
import {
  nvidiaAccelerators,
  nvidiaTelemetry,
  nvidiaTypeFromName,
  parseNvidiaNumber,
  parseNvidiaSmiCsv,
  NvidiaSmiParseError,
} from './nvidia-smi.js';

const H200_UUID = 'GPU-63607559-b631-345c-eee2-12ce10e27faf';

void test('nvidia-smi: the real idle H200 capture parses into one healthy nvidia-h200 named by its UUID', () => {
  const gpus = parseNvidiaSmiCsv(readFixture('nvidia-smi-h200-query-gpu-idle.csv'));
  assert.equal(gpus.length, 1);
  const [g] = gpus;
  assert.deepEqual(g, {
    index: 0,
    uuid: H200_UUID,
    name: 'NVIDIA H200',
    memoryTotalMiB: 143771,
    memoryUsedMiB: 0,
    memoryFreeMiB: 143156,
    utilizationGpuPct: 0,
    utilizationMemoryPct: 0,
    temperatureC: 36,
    powerDrawW: 80.18,
    powerLimitW: 700,
    pciBusId: '00000000:00:06.0',
    driverVersion: '580.159.04',
    smClockMHz: 345,
    smClockMaxMHz: 1980,
    eccUncorrected: 0,
    minorNumber: null, // this capture predates the minor_number column: the index stands in
  });
  assert.deepEqual(nvidiaAccelerators(gpus), [
    {
      id: H200_UUID,
      index: 0,
      type: 'nvidia-h200',
      vendor: 'nvidia',
      source: 'nvidia-smi',
      healthy: true,
      model: 'NVIDIA H200',
      memoryMiB: 143771,
    },
  ]);
});

void test('nvidia-smi: minor_number, when the output has it, names the device node', () => {
  const [header, row] = readFixture('nvidia-smi-h200-query-gpu-idle.csv').trim().split('\n');
  const gpus = parseNvidiaSmiCsv(`${header}, minor_number\n${row}, 3\n`);
  assert.equal(gpus[0]?.minorNumber, 3);
  assert.equal(nvidiaAccelerators(gpus)[0]?.deviceMinor, 3);
});

void test('nvidia-smi: the real busy capture yields telemetry with the load it shows', () => {
  const t = nvidiaTelemetry(
    parseNvidiaSmiCsv(readFixture('nvidia-smi-h200-query-gpu-busy.csv')),
    1_700_000_000_000,
  );
  assert.deepEqual(t, [
    {
      id: H200_UUID,
      index: 0,
      utilizationPct: 100,
      memoryUsedMiB: 2005,
      memoryTotalMiB: 143771,
      temperatureC: 56,
      powerW: 687.04,
      eccUncorrected: 0,
      at: 1_700_000_000_000,
    },
  ]);
});

void test('nvidia-smi: [N/A] and [Not Supported] become null, and uncorrected ECC errors make a GPU unhealthy', () => {
  // The real capture, with the values a consumer GPU (no ECC, no power reading) and a faulty GPU print.
  const [header, row] = readFixture('nvidia-smi-h200-query-gpu-idle.csv').trim().split('\n');
  assert.ok(header && row);
  const noEcc = row.replace('80.18 W', '[N/A]').replace(/, 0$/, ', [Not Supported]');
  const faulty = row.replace(/^0, GPU-63607559/, '1, GPU-73607559').replace(/, 0$/, ', 2');
  const gpus = parseNvidiaSmiCsv([header, noEcc, faulty].join('\n'));
  assert.equal(gpus[0]?.powerDrawW, null);
  assert.equal(gpus[0]?.eccUncorrected, null);
  assert.equal(gpus[1]?.eccUncorrected, 2);
  assert.deepEqual(
    nvidiaAccelerators(gpus).map((a) => a.healthy),
    [true, false],
  );
});

void test('nvidia-smi: columns are found by header name, so reordered output parses the same', () => {
  const gpus = parseNvidiaSmiCsv(
    'name, index, uuid, memory.total [MiB]\nNVIDIA A100-SXM4-80GB, 3, GPU-abc, 81920 MiB\n',
  );
  assert.deepEqual(
    [gpus[0]?.index, gpus[0]?.uuid, gpus[0]?.name, gpus[0]?.memoryTotalMiB],
    [3, 'GPU-abc', 'NVIDIA A100-SXM4-80GB', 81920],
  );
  assert.throws(() => parseNvidiaSmiCsv('foo, bar\n1, 2\n'), NvidiaSmiParseError);
  assert.deepEqual(parseNvidiaSmiCsv(''), []);
});

void test('nvidia-smi: units are stripped and unknown forms are null', () => {
  assert.equal(parseNvidiaNumber('143771 MiB'), 143771);
  assert.equal(parseNvidiaNumber('687.04 W'), 687.04);
  assert.equal(parseNvidiaNumber('100 %'), 100);
  assert.equal(parseNvidiaNumber('1980 MHz'), 1980);
  assert.equal(parseNvidiaNumber('[N/A]'), null);
  assert.equal(parseNvidiaNumber('[Not Supported]'), null);
  assert.equal(parseNvidiaNumber('N/A'), null);
  assert.equal(parseNvidiaNumber('12 furlongs'), null);
});

void test('nvidia-smi: model names normalise to vendor-qualified types', () => {
  const cases: [string, string][] = [
    ['NVIDIA H200', 'nvidia-h200'],
    ['NVIDIA A100-SXM4-80GB', 'nvidia-a100'],
    ['NVIDIA A100-PCIE-40GB', 'nvidia-a100'],
    ['NVIDIA A100 80GB PCIe', 'nvidia-a100'],
    ['NVIDIA H100 80GB HBM3', 'nvidia-h100'],
    ['NVIDIA H100 NVL', 'nvidia-h100'],
    ['Tesla V100-SXM2-32GB', 'nvidia-v100'],
    ['Tesla T4', 'nvidia-t4'],
    ['NVIDIA GeForce RTX 4090', 'nvidia-rtx-4090'],
    ['NVIDIA RTX A6000', 'nvidia-rtx-a6000'],
    ['NVIDIA L40S', 'nvidia-l40s'],
    ['NVIDIA GH200 480GB', 'nvidia-gh200'],
  ];
  for (const [name, type] of cases) assert.equal(nvidiaTypeFromName(name), type, name);
});
