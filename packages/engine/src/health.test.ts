import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterNode } from '@suanli/core';
import type { StoredNode } from '@suanli/store';
import { nvidiaFaultLines, parseNvidiaSmiQueryXml } from '@suanli/executors';
import {
  evaluateHealth,
  heartbeatResults,
  HEALTH_RECOVERED_PREFIX,
  isHealthReason,
  runCheckProgram,
  type CheckResult,
} from './health.js';

/** `nvidia-smi -q -x` of a healthy H200 (driver 580.159.04), as captured. */
const H200_XML = readFileSync(
  fileURLToPath(new URL('../../executors/src/discovery/fixtures/nvidia-smi-h200-q.xml', import.meta.url)),
  'utf8',
);

function node(name: string, state: ClusterNode['state'] = 'ready'): ClusterNode {
  return { name, state, accelerators: [], cpuMillis: 1000, memoryMiB: 1024, topology: {}, labels: {} };
}
function stored(
  name: string,
  adminState: StoredNode['adminState'] = null,
  adminReason: string | null = null,
): StoredNode {
  return { node: node(name), adminState, adminReason, updatedAt: 0 };
}
/** The device check's result on a node, from an `nvidia-smi -q -x` text. */
function devices(nodeName: string, xml: string): CheckResult {
  const faults = nvidiaFaultLines(parseNvidiaSmiQueryXml(xml));
  return { node: nodeName, check: 'devices', failure: faults.length > 0 ? faults.join('; ') : null };
}

void test('health: the real healthy H200 capture keeps its node in service; an ECC fault in it drains the node', () => {
  const nodes = [stored('gpu-01'), stored('gpu-02')];
  const ok = evaluateHealth(nodes, [devices('gpu-01', H200_XML)], 'manual');
  assert.deepEqual(ok.actions, []);
  assert.deepEqual([...ok.verdicts], [['gpu-01', null]]);
  assert.equal(ok.failing.size, 0);

  const volatile = H200_XML.indexOf('<volatile>');
  const i = H200_XML.indexOf('<dram_uncorrectable>0</dram_uncorrectable>', volatile);
  assert.ok(volatile > 0 && i > volatile);
  const faulty = `${H200_XML.slice(0, i)}<dram_uncorrectable>3</dram_uncorrectable>${H200_XML.slice(i + '<dram_uncorrectable>0</dram_uncorrectable>'.length)}`;
  const bad = evaluateHealth(nodes, [devices('gpu-01', faulty), devices('gpu-02', H200_XML)], 'manual');
  const reason =
    'health: devices: GPU 0 (GPU-63607559-b631-345c-eee2-12ce10e27faf): 3 uncorrectable ECC errors (dram_uncorrectable)';
  assert.deepEqual(bad.actions, [{ kind: 'drain', node: 'gpu-01', reason, fresh: true }]);
  assert.deepEqual([...bad.failing.keys()], ['gpu-01']);
  assert.ok(isHealthReason(reason));
  assert.equal(isHealthReason('drained by operator'), false);
});

void test('health: failures of several checks are joined; an operator drain keeps its reason but its jobs still go', () => {
  const results: CheckResult[] = [
    { node: 'a', check: 'program', failure: '/scratch is read-only\n(second line ignored by the joiner)' },
    { node: 'a', check: 'heartbeat', failure: 'the executor reports the node down' },
    { node: 'b', check: 'program', failure: 'ib0 down' },
  ];
  const e = evaluateHealth([stored('a'), stored('b', 'draining', 'maintenance window')], results, 'manual');
  assert.deepEqual(e.actions, [
    {
      kind: 'drain',
      node: 'a',
      reason:
        'health: program: /scratch is read-only (second line ignored by the joiner); heartbeat: the executor reports the node down',
      fresh: true,
    },
  ]);
  assert.deepEqual([...e.failing.keys()].sort(), ['a', 'b']);
  // already drained by health with the same reason: nothing to write
  const again = evaluateHealth(
    [stored('b', 'unhealthy', 'health: program: ib0 down')],
    [results[2]!],
    'manual',
  );
  assert.deepEqual(again.actions, []);
  assert.deepEqual([...again.failing.keys()], ['b']);
  // a new reason is written, not counted as a new drain
  const changed = evaluateHealth(
    [stored('b', 'unhealthy', 'health: program: ib0 down')],
    [{ node: 'b', check: 'program', failure: 'ib1 down' }],
    'manual',
  );
  assert.deepEqual(changed.actions, [
    { kind: 'drain', node: 'b', reason: 'health: program: ib1 down', fresh: false },
  ]);
});

void test('health: a recovered node waits for an operator (manual) or returns by itself (auto)', () => {
  const drained = [
    stored('a', 'unhealthy', 'health: program: ib0 down'),
    stored('b', 'draining', 'maintenance'),
  ];
  const pass: CheckResult[] = [
    { node: 'a', check: 'program', failure: null },
    { node: 'b', check: 'program', failure: null },
  ];
  const manual = evaluateHealth(drained, pass, 'manual');
  assert.deepEqual(manual.actions, [
    { kind: 'recovered', node: 'a', reason: `${HEALTH_RECOVERED_PREFIX}program: ib0 down)` },
  ]);
  // said once: the next round changes nothing
  const recovered = [stored('a', 'unhealthy', `${HEALTH_RECOVERED_PREFIX}program: ib0 down)`)];
  assert.deepEqual(evaluateHealth(recovered, pass, 'manual').actions, []);
  // the operator's own drain is never lifted by a check
  assert.deepEqual(evaluateHealth(drained, pass, 'auto').actions, [{ kind: 'return', node: 'a' }]);
});

void test('health: heartbeat: a node down in the inventory or gone from it fails; no inventory yet gives no verdict', () => {
  const s = [stored('a'), stored('b'), stored('c')];
  assert.deepEqual(heartbeatResults(s, null), []);
  const r = heartbeatResults(s, { nodes: [node('a'), node('b', 'down')], at: Date.UTC(2026, 0, 1) });
  assert.deepEqual(r, [
    { node: 'a', check: 'heartbeat', failure: null },
    { node: 'b', check: 'heartbeat', failure: 'the executor reports the node down' },
    {
      node: 'c',
      check: 'heartbeat',
      failure: "not in the executor's inventory since 2026-01-01T00:00:00.000Z",
    },
  ]);
});

void test('health: the check program: exit 0 healthy, else its first line; a timeout fails; a missing program gives no verdict', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-health-'));
  try {
    const prog = join(dir, 'check');
    writeFileSync(
      prog,
      [
        '#!/bin/sh',
        'case "$1" in',
        '  good) exit 0 ;;',
        '  bad) echo; echo "GPU 3: XID 79 fallen off the bus"; echo detail; exit 1 ;;',
        '  quiet) echo "only on stderr" >&2; exit 2 ;;',
        '  silent) exit 3 ;;',
        '  slow) sleep 30 & wait ;;',
        'esac',
        '[ "$SUANLI_NODE" = "$1" ] || exit 9',
        'exit 0',
      ].join('\n'),
    );
    chmodSync(prog, 0o755);
    assert.deepEqual(await runCheckProgram(prog, 'good', 5000), { failure: null });
    assert.deepEqual(await runCheckProgram(prog, 'bad', 5000), {
      failure: 'GPU 3: XID 79 fallen off the bus',
    });
    assert.deepEqual(await runCheckProgram(prog, 'quiet', 5000), { failure: 'only on stderr' });
    assert.deepEqual(await runCheckProgram(prog, 'silent', 5000), {
      failure: 'the check program ended with exit code 3',
    });
    assert.deepEqual(
      await runCheckProgram(prog, 'other-node', 5000),
      { failure: null },
      'SUANLI_NODE names the node',
    );
    const t0 = Date.now();
    assert.deepEqual(await runCheckProgram(prog, 'slow', 300), {
      failure: 'the check program did not finish within 0.3 s',
    });
    assert.ok(Date.now() - t0 < 5000, 'the timeout kills the program and what it forked');
    const missing = await runCheckProgram(join(dir, 'missing'), 'good', 5000);
    assert.equal(missing.failure, undefined);
    assert.match(missing.error ?? '', /cannot run the health check program .*ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
