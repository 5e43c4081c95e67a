import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, readFixture } from './fixtures.js';
import { parseNpuSmiInfo } from './npu-smi.js';
import { ascendFaults, nvidiaFaultLines, parseNvidiaSmiQueryXml, readDeviceHealth } from './device-health.js';

const H200_UUID = 'GPU-63607559-b631-345c-eee2-12ce10e27faf';
/** `nvidia-smi -q -x` of a healthy H200 (driver 580.159.04), as captured. */
const XML = readFixture('nvidia-smi-h200-q.xml');

/** The capture with one element's text changed inside `section` (the first match after it). */
function withValue(section: string, tag: string, value: string): string {
  const start = XML.indexOf(`<${section}>`);
  assert.ok(start >= 0, `the capture has <${section}>`);
  const i = XML.indexOf(`<${tag}>`, start);
  const j = XML.indexOf(`</${tag}>`, i);
  assert.ok(i > 0 && j > i, `the capture has <${tag}> in <${section}>`);
  return XML.slice(0, i) + `<${tag}>${value}` + XML.slice(j);
}

void test('device health: the real H200 capture has no fault (N/A retired pages, recovery action None)', () => {
  const gpus = parseNvidiaSmiQueryXml(XML);
  assert.deepEqual(gpus, [{ uuid: H200_UUID, minorNumber: 0, name: 'NVIDIA H200', faults: [] }]);
  assert.deepEqual(nvidiaFaultLines(gpus), []);
});

void test('device health: uncorrectable ECC, a pending remap, a failed remap and a recovery action are faults', () => {
  const ecc = parseNvidiaSmiQueryXml(withValue('volatile', 'dram_uncorrectable', '2'));
  assert.deepEqual(ecc[0]?.faults, ['2 uncorrectable ECC errors (dram_uncorrectable)']);
  assert.deepEqual(nvidiaFaultLines(ecc), [
    `GPU 0 (${H200_UUID}): 2 uncorrectable ECC errors (dram_uncorrectable)`,
  ]);
  // the aggregate count (since manufacture) is history, not a fault of the GPU now
  assert.deepEqual(parseNvidiaSmiQueryXml(withValue('aggregate', 'dram_uncorrectable', '7'))[0]?.faults, []);
  assert.deepEqual(
    parseNvidiaSmiQueryXml(withValue('remapped_rows', 'remapped_row_pending', 'Yes'))[0]?.faults,
    ['row remapping pending (reset the GPU)'],
  );
  assert.deepEqual(
    parseNvidiaSmiQueryXml(withValue('remapped_rows', 'remapped_row_failure', 'Yes'))[0]?.faults,
    ['row remapping failed (replace the GPU)'],
  );
  assert.deepEqual(parseNvidiaSmiQueryXml(withValue('ecc_errors', 'unrepairable_memory', 'Yes'))[0]?.faults, [
    'unrepairable memory',
  ]);
  assert.deepEqual(
    parseNvidiaSmiQueryXml(withValue('retired_pages', 'pending_retirement', 'Yes'))[0]?.faults,
    ['page retirement pending (reset the GPU)'],
  );
  // what the driver sets after an XID that needs a reset (e.g. XID 79, the GPU fell off the bus)
  const xid = XML.replace(
    '<gpu_recovery_action>None</gpu_recovery_action>',
    '<gpu_recovery_action>GPU Reset</gpu_recovery_action>',
  );
  assert.notEqual(xid, XML);
  assert.deepEqual(parseNvidiaSmiQueryXml(xid)[0]?.faults, ['driver asks for recovery: GPU Reset']);
});

void test('device health: an Ascend chip whose Health is not OK is a fault', () => {
  const text = readFixture('npu-smi-info-910b3-x8.txt');
  assert.deepEqual(ascendFaults(parseNpuSmiInfo(text)), []);
  const warned = text.replace(/(\|\s*1\s+910B3\s+\|\s*)OK/, '$1Warning');
  assert.notEqual(warned, text);
  assert.deepEqual(ascendFaults(parseNpuSmiInfo(warned)), [{ index: 1, fault: 'health Warning' }]);
});

void test('device health: readDeviceHealth runs the tool; a tool that fails is itself a fault', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-devhealth-'));
  try {
    const ok = join(dir, 'nvidia-smi-ok');
    writeFileSync(
      ok,
      `#!/bin/sh\n[ "$1 $2" = "-q -x" ] || exit 2\nexec cat '${fixturePath('nvidia-smi-h200-q.xml')}'\n`,
    );
    const lost = join(dir, 'nvidia-smi-lost');
    // what nvidia-smi prints when a GPU has fallen off the bus
    writeFileSync(
      lost,
      '#!/bin/sh\necho "Unable to determine the device handle for GPU0000:00:06.0: Unknown Error" >&2\nexit 15\n',
    );
    chmodSync(ok, 0o755);
    chmodSync(lost, 0o755);
    const none = join(dir, 'not-installed');
    assert.deepEqual(await readDeviceHealth({ nvidiaSmi: ok, npuSmi: none }), {
      sources: ['nvidia-smi'],
      faults: [],
    });
    const r = await readDeviceHealth({ nvidiaSmi: lost, npuSmi: none });
    assert.deepEqual(r.sources, ['nvidia-smi']);
    assert.equal(r.faults.length, 1);
    assert.match(r.faults[0] ?? '', /exited with code 15: Unable to determine the device handle/);
    assert.deepEqual(await readDeviceHealth({ nvidiaSmi: none, npuSmi: none }), { sources: [], faults: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
