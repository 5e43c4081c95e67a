import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandHostlist, parseGresEntry, parseGresList, SlurmParseError } from './hostlist.js';
import {
  acceleratorTypeOf,
  clusterNodeOf,
  decodeWaitStatus,
  DEFAULT_ACCELERATOR_MAPPING,
  jobOutcomeOf,
  jobPhaseOf,
  jobPlacementOf,
  nodeStateOf,
} from './mapping.js';
import { jobComment, parseJobComment, rendezvousPort, shq } from './script.js';
import { parseSlurmOptions } from './options.js';
import { mintSlurmJwt } from './client.js';

const M = DEFAULT_ACCELERATOR_MAPPING;

test('hostlists expand in Slurm order, with ranges, lists, padding and several bracket groups', () => {
  assert.deepEqual(expandHostlist('node[1-3,5]'), ['node1', 'node2', 'node3', 'node5']);
  assert.deepEqual(expandHostlist('gpu[08-10]'), ['gpu08', 'gpu09', 'gpu10']);
  assert.deepEqual(expandHostlist('a[1-2]-r[1-2]'), ['a1-r1', 'a1-r2', 'a2-r1', 'a2-r2']);
  assert.deepEqual(expandHostlist('n1,n[3-4],login'), ['n1', 'n3', 'n4', 'login']);
  assert.deepEqual(expandHostlist(''), []);
  assert.deepEqual(expandHostlist('(null)'), []);
});

test('malformed hostlists are refused with the input named', () => {
  assert.throws(() => expandHostlist('node[1-3'), SlurmParseError);
  assert.throws(() => expandHostlist('node[3-1]'), /descending range "3-1"/);
  assert.throws(() => expandHostlist('node[1-x]'), /bad range/);
  assert.throws(() => expandHostlist('n[1-999999999]'), /more than/);
});

test('GRES entries: typed, untyped, with socket or index details, N/A and TRES spelling', () => {
  assert.deepEqual(parseGresEntry('gpu:h100:8(S:0-1)'), {
    name: 'gpu',
    type: 'h100',
    count: 8,
    indices: null,
  });
  assert.deepEqual(parseGresEntry('gpu:h100:2(IDX:0-1)'), {
    name: 'gpu',
    type: 'h100',
    count: 2,
    indices: [0, 1],
  });
  assert.deepEqual(parseGresEntry('gpu:h100:3(IDX:0-1,4)'), {
    name: 'gpu',
    type: 'h100',
    count: 3,
    indices: [0, 1, 4],
  });
  assert.deepEqual(parseGresEntry('gpu:h100:0(IDX:N/A)'), {
    name: 'gpu',
    type: 'h100',
    count: 0,
    indices: null,
  });
  assert.deepEqual(parseGresEntry('gpu:4'), { name: 'gpu', type: null, count: 4, indices: null });
  assert.deepEqual(parseGresEntry('npu'), { name: 'npu', type: null, count: 1, indices: null });
  assert.deepEqual(parseGresEntry('gres/gpu:a100=2'), { name: 'gpu', type: 'a100', count: 2, indices: null });
  assert.deepEqual(
    parseGresList('gpu:h100:4(S:0),gpu:a100:2(IDX:4-5)').map((e) => e.type),
    ['h100', 'a100'],
  );
  assert.deepEqual(parseGresList('(null)'), []);
  assert.throws(() => parseGresEntry('gpu:h100:x'), /bad GRES count/);
});

test('accelerator types: default vendor rule, overridable per name:type and per name', () => {
  assert.equal(acceleratorTypeOf(M, 'gpu', 'h100'), 'nvidia-h100');
  assert.equal(acceleratorTypeOf(M, 'gpu', null), 'gpu');
  assert.equal(acceleratorTypeOf(M, 'npu', '910B'), 'ascend-910b');
  const custom = { gresNames: ['gpu'], typeMap: { 'gpu:mi300x': 'amd-mi300x', gpu: 'nvidia-a100' } };
  assert.equal(acceleratorTypeOf(custom, 'gpu', 'mi300x'), 'amd-mi300x');
  assert.equal(acceleratorTypeOf(custom, 'gpu', 'other'), 'nvidia-a100');
});

test('a Slurm node becomes a ClusterNode: typed devices numbered as Slurm numbers them, features as topology', () => {
  const n = clusterNodeOf(M, {
    name: 'node1',
    address: '10.0.0.1',
    state: 'mixed',
    state_flags: [],
    gres: 'gpu:h100:2(S:0),gpu:a100:1(S:1),license:5',
    features: 'h100,switch_s1,rack=r7',
    partitions: ['main'],
    cpus: 16,
    real_memory: 16000,
  });
  assert.equal(n.state, 'ready');
  assert.deepEqual(
    n.accelerators.map((a) => [a.id, a.index, a.type, a.vendor, a.source]),
    [
      ['node1/nvidia-h100/0', 0, 'nvidia-h100', 'nvidia', 'slurm'],
      ['node1/nvidia-h100/1', 1, 'nvidia-h100', 'nvidia', 'slurm'],
      ['node1/nvidia-a100/2', 2, 'nvidia-a100', 'nvidia', 'slurm'],
    ],
  );
  assert.deepEqual(n.topology, { switch: 's1', rack: 'r7' });
  assert.equal(n.labels['h100'], 'true');
  assert.equal(n.labels['slurm.address'], '10.0.0.1');
  assert.equal(n.cpuMillis, 16000);
});

test('node states: drained and draining → draining; down, not responding, unknown → down', () => {
  const s = (state: string, flags: string[] = []): string =>
    nodeStateOf({ name: 'n', state, state_flags: flags });
  assert.equal(s('idle'), 'ready');
  assert.equal(s('allocated'), 'ready');
  assert.equal(s('idle', ['DRAIN']), 'draining');
  assert.equal(s('mixed', ['DRAIN']), 'draining');
  assert.equal(s('idle', ['NOT_RESPONDING']), 'down');
  assert.equal(s('down', ['NOT_RESPONDING']), 'down');
  assert.equal(s('down', ['DRAIN']), 'down');
  assert.equal(s('unknown'), 'down');
});

test('job states map onto phases and outcomes; exit_code is a wait status', () => {
  const j = (job_state: string, exit_code = 0, restart_cnt = 0) => ({
    job_id: 1,
    job_state,
    exit_code,
    restart_cnt,
  });
  assert.equal(jobPhaseOf(j('PENDING')), 'pending');
  assert.equal(jobPhaseOf(j('RUNNING')), 'running');
  assert.equal(jobPhaseOf(j('COMPLETING')), 'running');
  assert.equal(jobPhaseOf(j('PENDING', 0, 1)), 'requeued');
  for (const s of ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED'])
    assert.equal(jobPhaseOf(j(s)), 'finished');
  assert.deepEqual(decodeWaitStatus(768), { exitCode: 3, signal: null });
  assert.deepEqual(decodeWaitStatus(15), { exitCode: null, signal: 'SIGTERM' });
  assert.deepEqual(decodeWaitStatus(137 << 8), { exitCode: 137, signal: null });
  assert.deepEqual(jobOutcomeOf(j('COMPLETED'), false), {
    exitCode: 0,
    signal: null,
    backendReason: null,
    lost: false,
    limit: null,
  });
  assert.deepEqual(jobOutcomeOf(j('FAILED', 768), false), {
    exitCode: 3,
    signal: null,
    backendReason: null,
    lost: false,
    limit: null,
  });
  assert.deepEqual(jobOutcomeOf(j('CANCELLED', 15), true), {
    exitCode: null,
    signal: 'SIGTERM',
    backendReason: null,
    lost: false,
    limit: null,
  });
  assert.equal(jobOutcomeOf(j('CANCELLED', 15), false).backendReason, 'cancelled-in-slurm');
  assert.deepEqual(jobOutcomeOf(j('TIMEOUT'), false), {
    exitCode: null,
    signal: 'SIGKILL',
    backendReason: null,
    lost: false,
    limit: null,
  });
  assert.equal(jobOutcomeOf(j('OUT_OF_MEMORY'), false).backendReason, null);
  assert.equal(jobOutcomeOf(j('OUT_OF_MEMORY'), false).limit, 'out-of-memory');
  // The usual shape on 22.05: srun's task step was OOM-killed, the batch script failed with 137.
  assert.deepEqual(jobOutcomeOf({ ...j('FAILED', 137 << 8), derived_exit_code: 253 }, false), {
    exitCode: 137,
    signal: null,
    backendReason: null,
    lost: false,
    limit: 'out-of-memory',
  });
  assert.equal(jobOutcomeOf({ ...j('FAILED', 253 << 8), derived_exit_code: 253 << 8 }, false).limit, null);
  assert.equal(jobOutcomeOf(j('PREEMPTED'), false).backendReason, 'preempted-by-slurm');
  assert.deepEqual(jobOutcomeOf(j('NODE_FAIL'), false), {
    exitCode: null,
    signal: null,
    backendReason: 'node-failure',
    lost: true,
    limit: null,
  });
});

test('a running job holds the devices gres_detail names, node by node', () => {
  const p = jobPlacementOf(M, {
    job_id: 7,
    job_state: 'RUNNING',
    nodes: 'node[2-3]',
    gres_detail: ['gpu:h100:2(IDX:0-1)', 'gpu:h100:2(IDX:4,6)'],
    job_resources: {
      nodes: 'node[2-3]',
      allocated_nodes: [
        {
          nodename: 'node2',
          memory_allocated: 200,
          sockets: { '0': { cores: { '0': 'allocated', '1': 'allocated' } } },
        },
      ],
    },
    cpus: 4,
  });
  assert.deepEqual(p, [
    {
      node: 'node2',
      acceleratorIds: ['node2/nvidia-h100/0', 'node2/nvidia-h100/1'],
      cpuMillis: 2000,
      memoryMiB: 200,
    },
    {
      node: 'node3',
      acceleratorIds: ['node3/nvidia-h100/4', 'node3/nvidia-h100/6'],
      cpuMillis: 2000,
      memoryMiB: 0,
    },
  ]);
});

test('the comment ties a Slurm job to exactly one attempt', () => {
  const c = jobComment('suanli', 'job-42', 3);
  assert.equal(c, 'suanli job=job-42 attempt=3');
  assert.deepEqual(parseJobComment('suanli', c), { jobId: 'job-42', attempt: 3 });
  assert.equal(parseJobComment('other', c), null);
  assert.equal(parseJobComment('suanli', 'my own job'), null);
});

test('shell quoting and rendezvous ports are stable', () => {
  assert.equal(shq(`it's`), `'it'\\''s'`);
  const p = rendezvousPort(29500, 1000, 'job-1', 1);
  assert.equal(p, rendezvousPort(29500, 1000, 'job-1', 1));
  assert.ok(p >= 29500 && p < 30500);
});

test('JWTs are HS256 with exp, iat and sun, as scontrol token makes them', () => {
  const t = mintSlurmJwt(Buffer.from('k'.repeat(32)), 'alice', 600, 1_000_000_000_000);
  const [h, b] = t.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(JSON.parse(Buffer.from(b!, 'base64url').toString()), {
    exp: 1_000_000_600,
    iat: 1_000_000_000,
    sun: 'alice',
  });
});

test('parseSlurmOptions reads flags, falls back to the environment, and lists every problem', () => {
  const ok = parseSlurmOptions(
    {
      'slurm-url': 'http://127.0.0.1:6820',
      'slurm-jwt-key': '/etc/slurm/jwt_hs256.key',
      'slurm-gres-types': 'gpu:h100=nvidia-h100',
    },
    { SUANLI_SLURM_USER: 'svc' },
  );
  assert.ok(ok.ok);
  assert.equal(ok.value.user, 'svc');
  assert.deepEqual(ok.value.acceleratorMapping, { typeMap: { 'gpu:h100': 'nvidia-h100' } });
  const bad = parseSlurmOptions({ 'slurm-gres-types': 'h100', 'slurm-poll-interval-ms': '5' });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors, [
    '--slurm-url is required (e.g. http://127.0.0.1:6820 or unix:/run/slurmrestd/slurmrestd.sock)',
    '--slurm-poll-interval-ms must be a whole number of milliseconds, at least 100',
    '--slurm-gres-types: "h100" is not gres[:type]=platform-type (e.g. gpu:h100=nvidia-h100)',
  ]);
  const noAuth = parseSlurmOptions({ 'slurm-url': 'http://127.0.0.1:6820' });
  assert.ok(!noAuth.ok && /needs a JWT/.test(noAuth.errors[0]!));
});
