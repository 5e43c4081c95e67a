/**
 * Framework launch contracts on the local executor with the frameworks' own launchers: plain
 * `torchrun` in a 2-replica × 2-device gang builds a world of 4 ranks, and plain `mpirun` on the
 * launcher replica runs an mpi4py all-reduce over every slot of the gang. Real PyTorch (Debian's
 * python3-torch, gloo on CPU) and Open MPI (openmpi-bin, python3-mpi4py); skipped with the reason
 * where they are not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterNode, JobSpec } from '@suanli/core';
import type { ExecutionEvent, LaunchRequest } from '../executor.js';
import { testJobSpec } from '../contract.js';
import { declaredAccelerators, parseAcceleratorsFlag } from '../discovery/declared.js';
import { MPI_ALLREDUCE, SYSTEM_PYTHON, TORCH_ALLREDUCE, pythonHas } from '../training-scripts.js';
import { LocalExecutor, attemptStateDir } from './local-executor.js';

const NODE = 'fw-node';
const node: ClusterNode = {
  name: NODE,
  state: 'ready',
  accelerators: declaredAccelerators(NODE, parseAcceleratorsFlag('gpu:4')),
  cpuMillis: 4000,
  memoryMiB: 8192,
  topology: {},
  labels: {},
};
const ids = node.accelerators.map((a) => a.id);
const hasTorch = pythonHas('torch');
const hasMpi = pythonHas('mpi4py');

async function runGang(
  spec: JobSpec,
  perReplica: string[][],
  timeoutMs: number,
): Promise<{
  event: Extract<ExecutionEvent, { kind: 'exited' }>;
  logDir: string;
  out: string;
  cleanup: () => void;
}> {
  const root = mkdtempSync(join(tmpdir(), 'suanli-fw-'));
  const out = join(root, 'out');
  const logDir = join(root, 'attempt-1');
  mkdirSync(out);
  const ex = new LocalExecutor({ inventory: async () => [node], nodeName: NODE, gangGraceMs: 2000 });
  const cleanup = () => {
    for (const d of [root, attemptStateDir(logDir)]) rmSync(d, { recursive: true, force: true });
  };
  try {
    const exited = new Promise<Extract<ExecutionEvent, { kind: 'exited' }>>((resolve) =>
      ex.onEvent((e) => e.kind === 'exited' && resolve(e)),
    );
    const req: LaunchRequest = {
      jobId: 'fw-1',
      jobName: spec.name,
      tenant: 't',
      project: 'p',
      attempt: 1,
      spec: { ...spec, command: spec.command.map((a) => a.replaceAll('{out}', out)) },
      placement: perReplica.map((acceleratorIds) => ({
        node: NODE,
        acceleratorIds,
        cpuMillis: 0,
        memoryMiB: 0,
      })),
      nodes: [node],
      logDir,
      unixUser: null,
    };
    const { ref } = await ex.launch(req);
    const timer = setTimeout(() => void ex.cancel(req.jobId, ref, 500), timeoutMs);
    const event = await exited;
    clearTimeout(timer);
    return { event, logDir, out, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  } finally {
    await ex.close();
  }
}

void test(
  'framework pytorch: plain torchrun in a 2-replica × 2-device gang builds one world of 4 ranks',
  {
    timeout: 180_000,
    skip: hasTorch ? false : `${SYSTEM_PYTHON} cannot import torch (apt-get install python3-torch)`,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-fw-script-'));
    const script = join(dir, 'train.py');
    writeFileSync(script, TORCH_ALLREDUCE);
    const spec = testJobSpec('ddp', ['/usr/bin/torchrun', script, '{out}'], {
      replicas: 2,
      perReplica: { accelerators: 2, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
      // Debian bookworm's torch 1.13 under Python 3.11 cannot parse torchrun's own defaults for
      // --redirects/--tee ("0": Python 3.11 no longer iterates a Flag's zero member, so
      // Std.from_str returns None and every torchrun fails, with or without suanli). A mapping
      // for a local rank that does not exist means "no redirect" for all ranks and parses.
      env: { OMP_NUM_THREADS: '1', PET_REDIRECTS: '9:1', PET_TEE: '9:1' },
    });
    const run = await runGang(spec, [ids.slice(0, 2), ids.slice(2, 4)], 150_000);
    try {
      const stderr = (() => {
        try {
          return readFileSync(join(run.logDir, 'stderr.log'), 'utf8').slice(-4000);
        } catch {
          return '';
        }
      })();
      assert.equal(run.event.exitCode, 0, `torchrun gang exits 0; stderr:\n${stderr}`);
      const recs = readdirSync(run.out)
        .filter((f) => f.startsWith('rank-'))
        .map((f) => JSON.parse(readFileSync(join(run.out, f), 'utf8')) as Record<string, number | string>)
        .sort((a, b) => Number(a['rank']) - Number(b['rank']));
      assert.deepEqual(
        recs.map((r) => r['rank']),
        [0, 1, 2, 3],
      );
      for (const r of recs) {
        assert.equal(r['world'], 4, 'every rank sees a world of 4');
        assert.equal(r['sum'], 6, 'the all-reduce crossed both replicas (0+1+2+3)');
      }
      // torchrun numbered the ranks by node (replica) then local rank: replica r holds ranks 2r, 2r+1.
      assert.deepEqual(
        recs.map((r) => [r['replica'], r['local_rank']]),
        [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ],
      );
      assert.deepEqual(
        recs.map((r) => r['cuda_visible']),
        ['0,1', '0,1', '2,3', '2,3'],
        "each replica's processes see only its own devices",
      );
    } finally {
      run.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

void test(
  'framework mpi: plain mpirun on the launcher replica runs an mpi4py all-reduce over every slot of the gang',
  {
    timeout: 120_000,
    skip: hasMpi
      ? false
      : `${SYSTEM_PYTHON} cannot import mpi4py (apt-get install openmpi-bin python3-mpi4py)`,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-fw-script-'));
    const script = join(dir, 'allreduce.py');
    writeFileSync(script, MPI_ALLREDUCE);
    const spec = testJobSpec('mpi', ['mpirun', '--oversubscribe', SYSTEM_PYTHON, script, '{out}'], {
      framework: 'mpi',
      replicas: 2,
      perReplica: { accelerators: 1, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
      // The test runs as root here; Open MPI refuses root unless told.
      env: { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_btl: 'self,tcp' },
    });
    const run = await runGang(spec, [ids.slice(0, 1), ids.slice(1, 2)], 100_000);
    try {
      const stderr = (() => {
        try {
          return readFileSync(join(run.logDir, 'stderr.log'), 'utf8').slice(-4000);
        } catch {
          return '';
        }
      })();
      assert.equal(
        run.event.exitCode,
        0,
        `the launcher's mpirun exits 0 and decides the attempt; stderr:\n${stderr}`,
      );
      assert.equal(run.event.replica, 0, 'the launcher (replica 0) decided');
      assert.equal(readFileSync(join(run.logDir, 'hostfile'), 'utf8'), '127.0.0.1 slots=2\n');
      const rec = JSON.parse(readFileSync(join(run.out, 'mpi.json'), 'utf8')) as {
        size: number;
        sum: number;
      };
      assert.equal(rec.size, 2, 'mpirun started one process per slot of the gang (the hostfile)');
      assert.equal(rec.sum, 1, 'the all-reduce spans both processes (0+1)');
    } finally {
      run.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
