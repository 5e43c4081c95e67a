import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Accelerator, ClusterNode, JobSpec } from '@suanli/core';
import type { LaunchRequest } from './executor.js';
import { PLATFORM_ENV_VARS, PlacementResolutionError, buildReplicaEnv, deviceVisibilityEnv } from './env.js';

const gpu = (i: number): Accelerator => ({
  id: `GPU-uuid-${i}`,
  index: i,
  type: 'nvidia-h200',
  vendor: 'nvidia',
  source: 'nvidia-smi',
  healthy: true,
});
const npu = (i: number): Accelerator => ({
  id: `n2/ascend/${i}`,
  index: i,
  type: 'ascend-910b',
  vendor: 'ascend',
  source: 'npu-smi',
  healthy: true,
});
const node = (name: string, accelerators: Accelerator[]): ClusterNode => ({
  name,
  state: 'ready',
  accelerators,
  cpuMillis: 1000,
  memoryMiB: 1024,
  topology: {},
  labels: {},
});

function request(
  o: Partial<LaunchRequest> & Pick<LaunchRequest, 'placement' | 'nodes'>,
  env: Record<string, string> = {},
): LaunchRequest {
  const spec: JobSpec = {
    name: 'train',
    project: 'vision',
    command: ['python', 'train.py'],
    workingDir: null,
    env,
    replicas: o.placement.length,
    perReplica: { accelerators: 0, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
    timeLimitSeconds: null,
    priorityClass: null,
    priority: null,
    retry: { maxAttempts: 1, retryOn: [], backoffSeconds: 0 },
    preemptible: true,
    checkpointIntervalSeconds: null,
  };
  return {
    jobId: 'j1',
    jobName: 'train',
    tenant: 'lab',
    project: 'vision',
    attempt: 2,
    spec,
    logDir: '/tmp/x',
    unixUser: null,
    ...o,
  };
}
const rdv = { masterAddr: 'n1', masterPort: 29500 };

void test('env: real NVIDIA devices are pinned by UUID, Ascend devices by index', () => {
  assert.deepEqual(deviceVisibilityEnv([gpu(3), gpu(5)]), { CUDA_VISIBLE_DEVICES: 'GPU-uuid-3,GPU-uuid-5' });
  assert.deepEqual(deviceVisibilityEnv([npu(0), npu(7)]), {
    CUDA_VISIBLE_DEVICES: '',
    ASCEND_RT_VISIBLE_DEVICES: '0,7',
  });
  const declared: Accelerator = {
    id: 'n/gpu/2',
    index: 2,
    type: 'gpu',
    vendor: 'other',
    source: 'declared',
    healthy: true,
  };
  const declaredNv: Accelerator = {
    ...declared,
    id: 'n/nvidia-h200/1',
    index: 1,
    type: 'nvidia-h200',
    vendor: 'nvidia',
  };
  assert.deepEqual(
    deviceVisibilityEnv([declared, declaredNv]),
    { CUDA_VISIBLE_DEVICES: '2,1' },
    'declared devices use their indices',
  );
  assert.deepEqual(deviceVisibilityEnv([]), { CUDA_VISIBLE_DEVICES: '' });
});

void test('env: a multi-node gang gets per-replica ranks, node list in rank order and local ranks per node', () => {
  const req = request({
    placement: [
      { node: 'n1', acceleratorIds: ['GPU-uuid-0'], cpuMillis: 0, memoryMiB: 0 },
      { node: 'n1', acceleratorIds: ['GPU-uuid-1'], cpuMillis: 0, memoryMiB: 0 },
      { node: 'n2', acceleratorIds: ['n2/ascend/4'], cpuMillis: 0, memoryMiB: 0 },
    ],
    nodes: [node('n1', [gpu(0), gpu(1)]), node('n2', [npu(4)])],
  });
  const envs = [0, 1, 2].map((r) =>
    buildReplicaEnv(req, r, rdv, {
      PATH: '/usr/bin',
      CUDA_VISIBLE_DEVICES: '0',
      NVIDIA_VISIBLE_DEVICES: 'all',
      SUANLI_STALE: 'x',
    }),
  );
  assert.deepEqual(
    envs[2],
    {
      PATH: '/usr/bin',
      MASTER_ADDR: 'n1',
      MASTER_PORT: '29500',
      RANK: '2',
      WORLD_SIZE: '3',
      LOCAL_RANK: '0',
      CUDA_VISIBLE_DEVICES: '',
      ASCEND_RT_VISIBLE_DEVICES: '4',
      SUANLI_JOB_ID: 'j1',
      SUANLI_JOB_NAME: 'train',
      SUANLI_ATTEMPT: '2',
      SUANLI_TENANT: 'lab',
      SUANLI_PROJECT: 'vision',
      SUANLI_REPLICA_RANK: '2',
      SUANLI_NUM_REPLICAS: '3',
      SUANLI_NODE_NAME: 'n2',
      SUANLI_NODE_LIST: 'n1,n2',
      SUANLI_ACCELERATOR_IDS: 'n2/ascend/4',
      SUANLI_ACCELERATOR_TYPE: 'ascend-910b',
      SUANLI_NUM_ACCELERATORS: '1',
      SUANLI_MASTER_ADDR: 'n1',
      SUANLI_MASTER_PORT: '29500',
    },
    'the inherited device variables and stale SUANLI_* are gone',
  );
  assert.deepEqual(
    envs.map((e) => e['LOCAL_RANK']),
    ['0', '1', '0'],
  );
  assert.deepEqual(
    envs.map((e) => e['CUDA_VISIBLE_DEVICES']),
    ['GPU-uuid-0', 'GPU-uuid-1', ''],
  );
  for (const e of envs) for (const v of PLATFORM_ENV_VARS) assert.ok(v in e, `${v} is always set`);
});

void test('env: spec variables pass through, platform variables win, PyTorch conveniences yield to the spec', () => {
  const req = request(
    {
      placement: [{ node: 'n1', acceleratorIds: ['GPU-uuid-0'], cpuMillis: 0, memoryMiB: 0 }],
      nodes: [node('n1', [gpu(0)])],
    },
    { OMP_NUM_THREADS: '4', SUANLI_JOB_ID: 'forged', CUDA_VISIBLE_DEVICES: 'GPU-other', MASTER_PORT: '1234' },
  );
  const env = buildReplicaEnv(req, 0, rdv);
  assert.equal(env['OMP_NUM_THREADS'], '4');
  assert.equal(env['SUANLI_JOB_ID'], 'j1');
  assert.equal(env['CUDA_VISIBLE_DEVICES'], 'GPU-uuid-0');
  assert.equal(env['MASTER_PORT'], '1234');
  assert.equal(env['SUANLI_MASTER_PORT'], '29500');
});

void test('env: a placement naming an unknown node or device is refused with what is missing', () => {
  const unknownDevice = request({
    placement: [{ node: 'n1', acceleratorIds: ['GPU-gone'], cpuMillis: 0, memoryMiB: 0 }],
    nodes: [node('n1', [gpu(0)])],
  });
  assert.throws(
    () => buildReplicaEnv(unknownDevice, 0, rdv),
    (e: unknown) =>
      e instanceof PlacementResolutionError && /device "GPU-gone" is not on node "n1"/.test(e.message),
  );
  const unknownNode = request({
    placement: [{ node: 'n9', acceleratorIds: [], cpuMillis: 0, memoryMiB: 0 }],
    nodes: [],
  });
  assert.throws(() => buildReplicaEnv(unknownNode, 0, rdv), /names node "n9"/);
});
