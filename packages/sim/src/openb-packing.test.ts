import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { bestFitShareScore, shareDevices } from '@suanli/core';
import { mulberry32, packOnce, parseOpenbNodes, parseOpenbTasks, runOpenbPacking } from './openb-packing.js';

const NODES = fileURLToPath(new URL('../fixtures/openb-nodes-20.csv', import.meta.url));
const PODS = fileURLToPath(new URL('../fixtures/openb-pods-200.csv', import.meta.url));

test('share placement: a share goes to the fullest GPU that holds it; whole GPUs need fully free ones', () => {
  const node = { cpuMilliLeft: 64000, memoryMiBLeft: 1 << 20, gpuMilliLeft: [1000, 300, 600, 1000] };
  assert.deepEqual(shareDevices(node, { cpuMilli: 1000, memoryMiB: 1, gpus: 1, gpuMilli: 500 }), [2]);
  assert.deepEqual(shareDevices(node, { cpuMilli: 1000, memoryMiB: 1, gpus: 2, gpuMilli: 1000 }), [0, 3]);
  assert.equal(shareDevices(node, { cpuMilli: 1000, memoryMiB: 1, gpus: 3, gpuMilli: 1000 }), null);
  assert.equal(shareDevices(node, { cpuMilli: 99000, memoryMiB: 1, gpus: 0, gpuMilli: 0 }), null);
});

test('best-fit score: the node left with less free scores higher (FGD scale 0..100)', () => {
  const req = { cpuMilli: 8000, memoryMiB: 1, gpus: 1, gpuMilli: 1000 };
  const full = bestFitShareScore({ cpuMilliLeft: 8000, memoryMiBLeft: 10, gpuMilliLeft: [1000] }, req);
  const empty = bestFitShareScore(
    { cpuMilliLeft: 128000, memoryMiBLeft: 10, gpuMilliLeft: new Array<number>(8).fill(1000) },
    req,
  );
  assert.equal(full, 100);
  assert.equal(empty, Math.trunc((1 - (0.5 * 120000) / 128000 - (0.5 * 7000) / 8000) * 100));
  assert.ok(full! > empty!);
});

test('packing run on a slice: deterministic per seed, allocation never above arrivals, checkpoints filled', () => {
  const nodes = parseOpenbNodes(readFileSync(NODES, 'utf8'));
  const tasks = parseOpenbTasks(readFileSync(PODS, 'utf8'));
  const a = packOnce(nodes, tasks, 'best-fit', 42);
  assert.deepEqual(packOnce(nodes, tasks, 'best-fit', 42), a);
  let prev = 0;
  for (const cp of ['90', '100', '110', '120', '130']) {
    const v = a.allocPctAt[cp];
    assert.ok(
      v !== undefined && v >= prev && v <= 100,
      `checkpoint ${cp}: ${v} (allocation only grows, never above capacity)`,
    );
    prev = v;
  }
  assert.ok(a.tasksFailed > 0, 'at 130 % of capacity some tasks cannot be placed');
  const res = runOpenbPacking({
    podList: PODS,
    nodeList: NODES,
    seeds: [1, 2, 3],
    policies: ['best-fit', 'random-fit'],
  });
  const bf = res.results[0]!.mean_alloc_pct_at['130']!;
  const rf = res.results[1]!.mean_alloc_pct_at['130']!;
  assert.ok(bf >= rf, `best-fit (${bf}) packs at least as well as random-fit (${rf}) here`);
});

test('mulberry32 is a seeded, reproducible stream in [0, 1)', () => {
  const a = mulberry32(7);
  const b = mulberry32(7);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
