import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Accelerator, ClusterNode, JobSpec } from '@suanli/core';
import type { LaunchRequest } from './executor.js';
import type { Framework } from '@suanli/core';
import {
  ARRAY_ENV_VARS,
  PLATFORM_ENV_VARS,
  SLURM_ARRAY_ENV_VARS,
  PlacementResolutionError,
  TORCHRUN_ENV_VARS,
  buildReplicaEnv,
  deviceVisibilityEnv,
  launchFiles,
  launcherOnly,
} from './env.js';

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
      PET_NNODES: '3',
      PET_NODE_RANK: '2',
      PET_NPROC_PER_NODE: '1',
      PET_MASTER_ADDR: 'n1',
      PET_MASTER_PORT: '29500',
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
      SUANLI_FRAMEWORK: 'pytorch',
      SUANLI_PROGRESS_FILE: '/tmp/x/progress.log',
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

void test('env: a job array task gets SUANLI_ARRAY_ID and SUANLI_ARRAY_INDEX (not forgeable), other jobs neither', () => {
  const placement = [{ node: 'n1', acceleratorIds: ['GPU-uuid-0'], cpuMillis: 0, memoryMiB: 0 }];
  const nodes = [node('n1', [gpu(0)])];
  const task = request(
    { jobId: 'j-0123456789abcdef_17', placement, nodes, array: { id: 'j-0123456789abcdef', index: 17 } },
    { SUANLI_ARRAY_INDEX: '999', SUANLI_ARRAY_ID: 'forged' },
  );
  const env = buildReplicaEnv(task, 0, rdv);
  assert.equal(env['SUANLI_ARRAY_ID'], 'j-0123456789abcdef');
  assert.equal(env['SUANLI_ARRAY_INDEX'], '17');
  assert.equal(env['SUANLI_JOB_ID'], 'j-0123456789abcdef_17');
  for (const v of PLATFORM_ENV_VARS) assert.ok(v in env, `${v} is set for a task too`);
  // Slurm's own names are the Slurm executor's (its batch script), never the common contract's.
  for (const v of SLURM_ARRAY_ENV_VARS) assert.equal(env[v], undefined, v);

  for (const array of [undefined, null]) {
    const plain = request(
      { placement, nodes, ...(array === null ? { array } : {}) },
      { SUANLI_ARRAY_INDEX: '3', SUANLI_ARRAY_ID: 'forged' },
    );
    const e = buildReplicaEnv(plain, 0, rdv);
    for (const v of ARRAY_ENV_VARS)
      assert.equal(e[v], undefined, `${v} is absent outside an array (spec's dropped)`);
  }
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

/** A 2-node gang: n1 holds replicas 0 and 1 (2 NPUs each), n2 replica 2 (2 NPUs), with device IPs. */
function ascendGang(framework: Framework): LaunchRequest {
  const dev = (n: string, i: number): Accelerator => ({
    ...npu(i),
    id: `${n}/ascend/${i}`,
    deviceIp: `192.168.${n === 'n1' ? 100 : 101}.${10 + i}`,
  });
  const base = request({
    placement: [
      { node: 'n1', acceleratorIds: ['n1/ascend/0', 'n1/ascend/1'], cpuMillis: 0, memoryMiB: 0 },
      { node: 'n1', acceleratorIds: ['n1/ascend/2', 'n1/ascend/3'], cpuMillis: 0, memoryMiB: 0 },
      { node: 'n2', acceleratorIds: ['n2/ascend/4', 'n2/ascend/5'], cpuMillis: 0, memoryMiB: 0 },
    ],
    nodes: [
      node(
        'n1',
        [0, 1, 2, 3].map((i) => dev('n1', i)),
      ),
      node(
        'n2',
        [4, 5].map((i) => dev('n2', i)),
      ),
    ],
  });
  return { ...base, spec: { ...base.spec, framework } };
}
const gangRdv = {
  masterAddr: '10.0.0.1',
  masterPort: 29500,
  nodeAddrs: { n1: '10.0.0.1', n2: '10.0.0.2' },
  filesDir: '/jobs/j1/attempt-2',
};

/**
 * The hccl.json (RANK_TABLE_FILE) schema, version 1.0, as Huawei documents it for MindSpore's
 * rank-table startup (mindspore.cn, tutorials/parallel "rank table startup"; hiascend.com,
 * "hccl.json file description"): every value a string; `server_count` = the servers listed;
 * each server has `server_id` (its address) and `device` entries of `device_id`, `device_ip`,
 * `rank_id`; rank ids are 0 … n-1 over all servers; `status` is "completed" once the table is final.
 */
function assertRankTableSchema(
  t: unknown,
): asserts t is { server_list: { server_id: string; device: Record<string, string>[] }[] } {
  assert.ok(typeof t === 'object' && t !== null);
  const o = t as Record<string, unknown>;
  assert.deepEqual(Object.keys(o).sort(), ['server_count', 'server_list', 'status', 'version']);
  assert.equal(o['version'], '1.0');
  assert.equal(o['status'], 'completed');
  assert.ok(Array.isArray(o['server_list']));
  assert.equal(o['server_count'], String(o['server_list'].length));
  const ranks: number[] = [];
  for (const s of o['server_list'] as Record<string, unknown>[]) {
    assert.equal(typeof s['server_id'], 'string');
    assert.ok(Array.isArray(s['device']) && s['device'].length > 0);
    for (const d of s['device'] as Record<string, unknown>[]) {
      for (const k of ['device_id', 'device_ip', 'rank_id'])
        assert.equal(typeof d[k], 'string', `${k} is a string`);
      assert.match(d['device_id'] as string, /^\d+$/);
      assert.match(d['device_ip'] as string, /^\d+\.\d+\.\d+\.\d+$/);
      ranks.push(Number(d['rank_id']));
    }
  }
  assert.deepEqual(
    ranks,
    ranks.map((_, i) => i),
    'rank ids are 0 … n-1 in server order',
  );
}

void test('env: framework mindspore writes an HCCL rank table of the documented schema and the msrun variables', () => {
  const req = ascendGang('mindspore');
  const files = launchFiles(req, gangRdv);
  const table: unknown = JSON.parse(files['rank_table.json'] ?? 'null');
  assertRankTableSchema(table);
  assert.deepEqual(
    table.server_list.map((s) => [
      s.server_id,
      s.device.map((d) => `${d['device_id']}@${d['device_ip']}#${d['rank_id']}`),
    ]),
    [
      ['10.0.0.1', ['0@192.168.100.10#0', '1@192.168.100.11#1', '2@192.168.100.12#2', '3@192.168.100.13#3']],
      ['10.0.0.2', ['4@192.168.101.14#4', '5@192.168.101.15#5']],
    ],
  );
  const envs = [0, 1, 2].map((r) => buildReplicaEnv(req, r, gangRdv));
  assert.deepEqual(
    envs.map((e) => [
      e['RANK_ID'],
      e['DEVICE_ID'],
      e['MS_NODE_RANK'],
      e['MS_LOCAL_WORKER_NUM'],
      e['ASCEND_RT_VISIBLE_DEVICES'],
    ]),
    [
      ['0', '0', '0', '2', '0,1'],
      ['2', '2', '1', '2', '2,3'],
      ['4', '4', '2', '2', '4,5'],
    ],
  );
  for (const e of envs) {
    assert.equal(e['RANK_TABLE_FILE'], '/jobs/j1/attempt-2/rank_table.json');
    assert.equal(e['RANK_SIZE'], '6');
    assert.equal(e['MS_WORKER_NUM'], '6');
    assert.equal(e['MS_SCHED_HOST'], '10.0.0.1');
    assert.equal(e['MS_SCHED_PORT'], '29500');
    assert.equal(e['MS_ROLE'], 'MS_WORKER');
    assert.equal(e['SUANLI_FRAMEWORK'], 'mindspore');
    assert.equal(e['MASTER_ADDR'], undefined, 'no PyTorch variables for MindSpore');
  }
});

void test('env: framework tensorflow sets TF_CONFIG with one worker per replica and its own task', () => {
  const req = ascendGang('tensorflow');
  assert.deepEqual(launchFiles(req, gangRdv), {});
  const configs = [0, 1, 2].map(
    (r) => JSON.parse(buildReplicaEnv(req, r, gangRdv)['TF_CONFIG'] ?? 'null') as unknown,
  );
  configs.forEach((c, r) =>
    assert.deepEqual(c, {
      cluster: { worker: ['10.0.0.1:29500', '10.0.0.1:29501', '10.0.0.2:29502'] },
      task: { type: 'worker', index: r },
    }),
  );
});

void test('env: framework mpi writes a hostfile of slots per node and runs the command on the launcher only', () => {
  const req = ascendGang('mpi');
  assert.deepEqual(launchFiles(req, gangRdv), { hostfile: '10.0.0.1 slots=4\n10.0.0.2 slots=2\n' });
  assert.equal(launcherOnly(req), true);
  const env = buildReplicaEnv(req, 0, gangRdv);
  assert.equal(env['SUANLI_MPI_HOSTFILE'], '/jobs/j1/attempt-2/hostfile');
  assert.equal(env['OMPI_MCA_orte_default_hostfile'], '/jobs/j1/attempt-2/hostfile');
  assert.equal(env['SUANLI_MPI_NP'], '6');
});

void test("env: framework pytorch sets torchrun's PET_ variables (devices per replica, at least 1); none sets no framework variables", () => {
  const req = ascendGang('pytorch');
  const envs = [0, 1, 2].map((r) => buildReplicaEnv(req, r, gangRdv));
  assert.deepEqual(
    envs.map((e) => TORCHRUN_ENV_VARS.map((v) => e[v])),
    [
      ['3', '0', '2', '10.0.0.1', '29500'],
      ['3', '1', '2', '10.0.0.1', '29500'],
      ['3', '2', '2', '10.0.0.1', '29500'],
    ],
  );
  const cpuOnly = request({
    placement: [{ node: 'n1', acceleratorIds: [], cpuMillis: 0, memoryMiB: 0 }],
    nodes: [node('n1', [])],
  });
  assert.equal(buildReplicaEnv(cpuOnly, 0, rdv)['PET_NPROC_PER_NODE'], '1');
  const none = ascendGang('none');
  const e = buildReplicaEnv(none, 0, gangRdv);
  for (const v of ['MASTER_ADDR', 'RANK', 'PET_NNODES', 'TF_CONFIG', 'RANK_TABLE_FILE'])
    assert.equal(e[v], undefined, v);
  assert.equal(e['SUANLI_REPLICA_RANK'], '0');
});

void test('env: the checkpoint directory and progress file are offered when the engine gives one', () => {
  const req = { ...ascendGang('pytorch'), checkpointDir: '/ckpt/j1' };
  const env = buildReplicaEnv(req, 1, gangRdv);
  assert.equal(env['SUANLI_CHECKPOINT_DIR'], '/ckpt/j1');
  assert.equal(
    env['SUANLI_PROGRESS_FILE'],
    '/tmp/x/progress.log',
    'progress is per attempt, in its log directory',
  );
  assert.equal(buildReplicaEnv(ascendGang('pytorch'), 1, gangRdv)['SUANLI_CHECKPOINT_DIR'], undefined);
});
