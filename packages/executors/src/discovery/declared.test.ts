import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeclarationError,
  declaredAccelerators,
  parseAcceleratorsFlag,
  parseDeclaredConfig,
  vendorOfType,
} from './declared.js';

const defaults = { cpuMillis: 2000, memoryMiB: 4096 };

void test('declared: the --accelerators flag takes TYPE:COUNT lists', () => {
  assert.deepEqual(parseAcceleratorsFlag('gpu:8'), [{ type: 'gpu', count: 8 }]);
  assert.deepEqual(parseAcceleratorsFlag('nvidia-h200:4, ascend-910b:8'), [
    { type: 'nvidia-h200', count: 4 },
    { type: 'ascend-910b', count: 8 },
  ]);
  assert.deepEqual(parseAcceleratorsFlag('gpu:2,gpu:3'), [{ type: 'gpu', count: 5 }], 'repeats add up');
});

void test('declared: malformed flag values say what form is expected', () => {
  for (const bad of ['', 'gpu', 'gpu:', 'GPU:8', 'gpu:eight', 'gpu:8,', ':8', 'gpu:-1']) {
    assert.throws(
      () => parseAcceleratorsFlag(bad),
      (e: unknown) => e instanceof DeclarationError && /TYPE:COUNT|whole number/.test(e.message),
      bad,
    );
  }
  assert.throws(() => parseAcceleratorsFlag('gpu:0'), /from 1 to 1024/);
  assert.throws(() => parseAcceleratorsFlag('gpu:5000'), /from 1 to 1024/);
});

void test('declared: devices get node-scoped ids, vendor from the type prefix, and distinct indices per visibility variable', () => {
  const accs = declaredAccelerators('n1', parseAcceleratorsFlag('nvidia-h200:2,ascend-910b:2,gpu:1'));
  assert.deepEqual(
    accs.map((a) => [a.id, a.index, a.vendor, a.source, a.healthy]),
    [
      ['n1/nvidia-h200/0', 0, 'nvidia', 'declared', true],
      ['n1/nvidia-h200/1', 1, 'nvidia', 'declared', true],
      ['n1/ascend-910b/0', 0, 'ascend', 'declared', true],
      ['n1/ascend-910b/1', 1, 'ascend', 'declared', true],
      ['n1/gpu/2', 2, 'other', 'declared', true],
    ],
  );
  assert.equal(vendorOfType('npu'), 'other');
});

void test('declared: a YAML config describes nodes with types, counts, cpu, memory and topology', () => {
  const nodes = parseDeclaredConfig(
    [
      'nodes:',
      '  - name: gpu-01',
      '    accelerators: nvidia-h200:2',
      '    cpu: 64',
      '    memory: 512Gi',
      '    topology: { switch: sw-1, rack: r-1 }',
      '    labels: { zone: a }',
      '  - name: npu-01',
      '    accelerators: [{ type: ascend-910b, count: 1 }]',
    ].join('\n'),
    'nodes.yaml',
    defaults,
  );
  assert.equal(nodes.length, 2);
  assert.deepEqual(
    { ...nodes[0], accelerators: nodes[0]?.accelerators.map((a) => a.id) },
    {
      name: 'gpu-01',
      state: 'ready',
      accelerators: ['gpu-01/nvidia-h200/0', 'gpu-01/nvidia-h200/1'],
      cpuMillis: 64000,
      memoryMiB: 524288,
      topology: { switch: 'sw-1', rack: 'r-1' },
      labels: { zone: 'a' },
    },
  );
  assert.deepEqual(
    [nodes[1]?.cpuMillis, nodes[1]?.memoryMiB, nodes[1]?.accelerators[0]?.type],
    [2000, 4096, 'ascend-910b'],
    'omitted cpu/memory default to this machine',
  );
});

void test('declared: JSON configs work too, and every problem is reported with its path', () => {
  assert.equal(
    parseDeclaredConfig('{"nodes":[{"name":"a","accelerators":"gpu:1"}]}', 'n.json', defaults)[0]
      ?.accelerators.length,
    1,
  );
  assert.throws(
    () =>
      parseDeclaredConfig(
        'nodes:\n  - name: a\n    accelerators: gpu\n    cpu: -1\n    colour: red\n  - name: a\n',
        'bad.yaml',
        defaults,
      ),
    (e: unknown) => {
      assert.ok(e instanceof DeclarationError);
      assert.match(e.message, /^bad\.yaml: 4 problem\(s\)/);
      assert.match(e.message, /nodes\.0\.colour: unknown field/);
      assert.match(e.message, /nodes\.0\.accelerators: invalid accelerator declaration "gpu"/);
      assert.match(e.message, /nodes\.0\.cpu: must be a number of cores/);
      assert.match(e.message, /nodes\.1\.name: "a" is declared twice/);
      return true;
    },
  );
  assert.throws(() => parseDeclaredConfig('just text', 'x.yaml', defaults), /non-empty "nodes" list/);
  assert.throws(() => parseDeclaredConfig('{ nodes: [', 'x.yaml', defaults), /not valid YAML or JSON/);
});
