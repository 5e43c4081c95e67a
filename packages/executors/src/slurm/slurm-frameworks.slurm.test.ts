/**
 * Training launch contracts on a real Slurm cluster (scripts/slurm-ci.sh, 4 nodes × 8 fake h100):
 * plain `torchrun` in a 2-replica gang across two nodes builds one gloo world (Debian's
 * python3-torch on CPU), and a gang whose one replica fails ends as one, naming that replica. The
 * same job specs run on the local executor (local/frameworks.test.ts). These tests stay off node1,
 * where the contract suite places.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterNode, JobSpec } from '@suanli/core';
import type { LaunchRequest } from '../executor.js';
import { testJobSpec } from '../contract.js';
import { SYSTEM_PYTHON, TORCH_ALLREDUCE, pythonHas } from '../training-scripts.js';
import { REPLICA_EXIT_FILE } from './script.js';
import { requireSlurmCluster, withSlurmExecutor } from './test-cluster.js';

let root = '';
let seq = 0;

before(async () => {
  await requireSlurmCluster();
  root = mkdtempSync('/tmp/suanli-slurm-fw-');
  chmodSync(root, 0o1777); // the tasks write here as the Slurm user
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Replica r on `onNodes[r]` with one device each. */
function request(nodes: readonly ClusterNode[], spec: JobSpec, onNodes: string[]): LaunchRequest {
  seq += 1;
  const jobId = `sfw-${process.pid}-${seq}`;
  const placement = onNodes.map((name) => {
    const n = nodes.find((x) => x.name === name);
    assert.ok(n, `node ${name} discovered`);
    return {
      node: name,
      acceleratorIds: n.accelerators.slice(0, 1).map((a) => a.id),
      cpuMillis: 0,
      memoryMiB: 0,
    };
  });
  const logDir = join(root, jobId);
  return {
    jobId,
    jobName: spec.name,
    tenant: 't',
    project: 'p',
    attempt: 1,
    spec,
    placement,
    nodes: nodes.filter((n) => onNodes.includes(n.name)),
    logDir,
    unixUser: null,
  };
}

const tail = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').slice(-3000);
  } catch {
    return '';
  }
};

describe('training on the Slurm executor', () => {
  test(
    'plain torchrun in a 2-replica gang across two Slurm nodes builds one world of 2 ranks',
    {
      timeout: 180_000,
      skip: pythonHas('torch')
        ? false
        : `${SYSTEM_PYTHON} cannot import torch (apt-get install python3-torch)`,
    },
    () =>
      withSlurmExecutor(async (ex, ev) => {
        const out = join(root, `torch-${process.pid}`);
        mkdirSync(out, { mode: 0o777 });
        chmodSync(out, 0o777);
        const script = join(root, 'train.py');
        writeFileSync(script, TORCH_ALLREDUCE);
        chmodSync(script, 0o644);
        const spec = testJobSpec('slurm-torchrun', ['/usr/bin/torchrun', script, out], {
          replicas: 2,
          perReplica: { accelerators: 1, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
          // Debian bookworm's torchrun cannot parse its own --redirects/--tee defaults (docs/training.md).
          env: { OMP_NUM_THREADS: '1', PET_REDIRECTS: '9:1', PET_TEE: '9:1' },
        });
        const req = request(await ex.discover(), spec, ['node3', 'node2']);
        await ex.launch(req);
        const exited = await ev.wait((e) => e.kind === 'exited' && e.jobId === req.jobId, 150_000, 'exited');
        assert.equal(
          exited.kind === 'exited' && exited.exitCode,
          0,
          `torchrun gang exits 0; stderr:\n${tail(join(req.logDir, 'stderr.log'))}`,
        );
        const recs = readdirSync(out)
          .filter((f) => f.startsWith('rank-'))
          .map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as Record<string, number | string>)
          .sort((a, b) => Number(a['rank']) - Number(b['rank']));
        assert.deepEqual(
          recs.map((r) => [r['rank'], r['world'], r['sum'], r['replica'], r['local_rank']]),
          [
            [0, 2, 1, 0, 0],
            [1, 2, 1, 1, 0],
          ],
          'one world of 2 (replicas × 1 device); the all-reduce crossed both nodes; rank follows the replica',
        );
      }),
  );

  test('a gang whose one replica fails ends as one, with the replica named', { timeout: 120_000 }, () =>
    withSlurmExecutor(async (ex, ev) => {
      // Replica 1 fails after a second; replica 0 would sleep for five minutes.
      const spec = testJobSpec(
        'slurm-gang-fail',
        ['/bin/sh', '-c', 'if [ "$SUANLI_REPLICA_RANK" = 1 ]; then sleep 1; exit 7; fi; exec sleep 300'],
        { replicas: 2, perReplica: { accelerators: 1, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 } },
      );
      const req = request(await ex.discover(), spec, ['node2', 'node3']);
      const t0 = Date.now();
      await ex.launch(req);
      const exited = await ev.wait((e) => e.kind === 'exited' && e.jobId === req.jobId, 90_000, 'exited');
      assert.ok(exited.kind === 'exited');
      assert.equal(exited.exitCode, 7, "the attempt ends with the failed replica's code");
      assert.equal(exited.replica, 1, 'the replica that failed is named');
      assert.equal(exited.backendReason, null);
      assert.ok(Date.now() - t0 < 60_000, 'the gang ended as one, long before replica 0 would have');
      const lines = readFileSync(join(req.logDir, REPLICA_EXIT_FILE), 'utf8').trim().split('\n');
      assert.equal(lines[0], '1 7', `replica 1 ended first: ${lines.join(' | ')}`);
    }),
  );
});
