import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverLocalNode } from './discover.js';
import { fixturePath } from './fixtures.js';

/** A stand-in vendor tool (the outermost edge): a script that prints a real capture or fails like a broken driver. */
function tool(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

void test("discover: nvidia-smi output becomes the node's accelerators; CPU and memory come from the OS", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-discover-'));
  try {
    const smi = tool(dir, 'nvidia-smi', `cat '${fixturePath('nvidia-smi-h200-query-gpu-idle.csv')}'`);
    const node = await discoverLocalNode({
      nodeName: 'h200-box',
      nvidiaSmi: smi,
      npuSmi: join(dir, 'absent'),
    });
    assert.equal(node.name, 'h200-box');
    assert.equal(node.cpuMillis, availableParallelism() * 1000);
    assert.ok(node.memoryMiB > 0);
    assert.deepEqual(
      node.accelerators.map((a) => [a.id, a.type, a.source]),
      [['GPU-63607559-b631-345c-eee2-12ce10e27faf', 'nvidia-h200', 'nvidia-smi']],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('discover: without nvidia-smi, npu-smi is used; a broken tool warns and falls through', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-discover-'));
  try {
    const broken = tool(
      dir,
      'nvidia-smi',
      'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." >&2; exit 9',
    );
    const npu = tool(dir, 'npu-smi', `grep -v '^#' '${fixturePath('npu-smi-info-910b3-x8.txt')}'`);
    const warnings: string[] = [];
    const node = await discoverLocalNode({
      nodeName: 'atlas',
      nvidiaSmi: broken,
      npuSmi: npu,
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(node.accelerators.length, 8);
    assert.equal(node.accelerators[0]?.id, 'atlas/ascend/0');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /nvidia-smi is installed but failed.*couldn't communicate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('discover: declared devices override tools; nothing at all means zero accelerators', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-discover-'));
  try {
    const smi = tool(dir, 'nvidia-smi', `cat '${fixturePath('nvidia-smi-h200-query-gpu-idle.csv')}'`);
    const declared = await discoverLocalNode({ nodeName: 'd', accelerators: 'gpu:2', nvidiaSmi: smi });
    assert.deepEqual(
      declared.accelerators.map((a) => a.id),
      ['d/gpu/0', 'd/gpu/1'],
    );
    const none = await discoverLocalNode({ nvidiaSmi: join(dir, 'absent-1'), npuSmi: join(dir, 'absent-2') });
    assert.equal(none.name, hostname());
    assert.deepEqual(none.accelerators, []);
    const cfg = join(dir, 'nodes.yaml');
    writeFileSync(
      cfg,
      'nodes:\n  - name: a\n    accelerators: gpu:1\n  - name: b\n    accelerators: nvidia-h200:4\n    cpu: 8\n',
    );
    const b = await discoverLocalNode({ nodeName: 'b', configFile: cfg });
    assert.deepEqual([b.accelerators.length, b.cpuMillis], [4, 8000]);
    await assert.rejects(
      discoverLocalNode({ configFile: cfg }),
      /declares "a", "b"; give the node name to use/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
