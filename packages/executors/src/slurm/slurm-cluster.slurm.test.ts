/**
 * What only a real Slurm cluster can show: inventory from GET /nodes, one Slurm job for a
 * multi-node gang, Slurm's own jobs as external usage, recovery by comment, and a node dying under
 * a running job. Needs the cluster of scripts/slurm-ci.sh (4 nodes × 8 fake h100).
 * The contract suite (slurm-contract.slurm.test.ts) runs at the same time and places on node1 (first
 * fit); these tests stay off node1 so Slurm's choice of device indices there stays predictable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterNode, JobSpec, Placement } from '@suanli/core';
import type { LaunchRequest } from '../executor.js';
import { parseEnvDump, shQuote } from '../contract.js';
import { createSlurmExecutor, parseSlurmRef } from './executor.js';
import { jobDeviceIndices } from './mapping.js';
import { EXIT_FILE } from './script.js';
import { TEST_SLURM, events, requireSlurmCluster } from './test-cluster.js';

const SLURM_CI = fileURLToPath(new URL('../../../../scripts/slurm-ci.sh', import.meta.url));
let root = '';
let seq = 0;

before(async () => {
  await requireSlurmCluster();
  root = mkdtempSync('/tmp/suanli-slurm-test-');
  chmodSync(root, 0o1777); // jobs run as the tenant's account (and slurmrestd's) and write here
});
after(() => rmSync(root, { recursive: true, force: true }));

function spec(command: string, replicas: number, accelerators: number): JobSpec {
  return {
    name: `slurm-test-${seq}`,
    project: 'p',
    command: ['/bin/sh', '-c', command],
    workingDir: null,
    env: {},
    replicas,
    perReplica: { accelerators, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
    timeLimitSeconds: null,
    priorityClass: null,
    priority: null,
    retry: { maxAttempts: 1, retryOn: [], backoffSeconds: 0 },
    preemptible: true,
    checkpointIntervalSeconds: null,
  };
}

/** A request placing replica r on `onNodes[r]` with the first `perReplica` free devices there. */
function request(
  nodes: readonly ClusterNode[],
  command: string | ((jobId: string) => string),
  onNodes: string[],
  perReplica: number,
): LaunchRequest {
  seq += 1;
  const jobId = `st-${process.pid}-${seq}`;
  const taken = new Set<string>();
  const placement: Placement = onNodes.map((name) => {
    const n = nodes.find((x) => x.name === name);
    assert.ok(n, `node ${name} discovered`);
    const ids = n.accelerators
      .filter((a) => !taken.has(a.id))
      .slice(0, perReplica)
      .map((a) => a.id);
    ids.forEach((id) => taken.add(id));
    return { node: name, acceleratorIds: ids, cpuMillis: 0, memoryMiB: 0 };
  });
  const s = spec(typeof command === 'string' ? command : command(jobId), onNodes.length, perReplica);
  return {
    jobId,
    jobName: s.name,
    tenant: 't',
    project: 'p',
    attempt: 1,
    spec: s,
    placement,
    nodes: nodes.filter((n) => onNodes.includes(n.name)),
    logDir: join(root, jobId),
    unixUser: null,
  };
}

const slurmIdOf = (ref: string): number => parseSlurmRef(ref)?.slurmId ?? NaN;

const gate = (jobId: string): string => join(root, `${jobId}.gate`);
const waitGate = (jobId: string): string =>
  `i=0; while [ ! -e ${shQuote(gate(jobId))} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;

describe('slurm executor on a real cluster', () => {
  test('discover: 4 nodes × 8 nvidia-h100 from GRES, switch topology from node features', async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    try {
      const nodes = await ex.discover();
      assert.deepEqual(
        nodes.map((n) => n.name),
        ['node1', 'node2', 'node3', 'node4'],
      );
      for (const n of nodes) {
        assert.equal(n.accelerators.length, 8);
        assert.deepEqual(
          [...new Set(n.accelerators.map((a) => `${a.type}/${a.vendor}/${a.source}`))],
          ['nvidia-h100/nvidia/slurm'],
        );
        assert.deepEqual(
          n.accelerators.map((a) => a.index),
          [0, 1, 2, 3, 4, 5, 6, 7],
        );
        assert.equal(n.cpuMillis, 16_000);
        assert.match(
          n.labels['slurm.address'] ?? '',
          /^(127\.0\.0\.1|10\.231\.0\.\d+)$/,
          'NodeAddr (ports or netns mode)',
        );
      }
      assert.deepEqual(
        nodes.map((n) => n.topology.switch),
        ['s1', 's1', 's2', 's2'],
      );
      assert.deepEqual(
        nodes.map((n) => n.topology.rack),
        ['r1', 'r1', 'r1', 'r1'],
      );
    } finally {
      await ex.close();
    }
  });

  test('a node an operator drains in Slurm is draining, with the reason; resumed, it is ready again', async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    try {
      execFileSync('scontrol', ['update', 'nodename=node4', 'state=drain', 'reason=suanli test: fan']);
      const n = (await ex.discover()).find((x) => x.name === 'node4');
      assert.equal(n?.state, 'draining');
      assert.equal(n?.labels['slurm.reason'], 'suanli test: fan');
    } finally {
      execFileSync('scontrol', ['update', 'nodename=node4', 'state=resume']);
    }
    try {
      // Slurm flags a resumed node NOT_RESPONDING (→ down) until it has pinged it: a moment.
      let state = '';
      for (let i = 0; i < 50 && state !== 'ready'; i++) {
        state = (await ex.discover()).find((x) => x.name === 'node4')?.state ?? '';
        if (state !== 'ready') await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(state, 'ready');
    } finally {
      await ex.close();
    }
  });

  test('a 2-node gang runs as ONE Slurm job; ranks follow the placement; devices are what gres_detail says', async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    const ev = events(ex);
    try {
      const nodes = await ex.discover();
      // Rank 0 on node3, rank 1 on node2: the reverse of Slurm's own node order.
      const req = request(
        nodes,
        (id) => `env > ${shQuote(root)}/$SUANLI_JOB_ID.$SUANLI_REPLICA_RANK.env; ${waitGate(id)}`,
        ['node3', 'node2'],
        4,
      );
      const { ref } = await ex.launch(req);
      await ev.wait((e) => e.kind === 'running' && e.jobId === req.jobId, 20_000, 'running');
      const job = await ex.client.job(slurmIdOf(ref));
      assert.ok(job);
      assert.equal(job.nodes, 'node[2-3]');
      assert.equal(job.comment, `suanli job=${req.jobId} attempt=1`);
      const devices = jobDeviceIndices(job);
      const envFile = (r: number): string => join(root, `${req.jobId}.${r}.env`);
      for (let i = 0; i < 200 && !(existsSync(envFile(0)) && existsSync(envFile(1))); i++)
        await new Promise((r) => setTimeout(r, 50));
      writeFileSync(gate(req.jobId), '');
      const exited = await ev.wait((e) => e.kind === 'exited' && e.jobId === req.jobId, 20_000, 'exited');
      assert.equal(exited.kind === 'exited' && exited.exitCode, 0);
      const envs = [0, 1].map((r) => parseEnvDump(readFileSync(envFile(r), 'utf8')));
      assert.deepEqual(
        envs.map((e) => e['SLURMD_NODENAME']),
        ['node3', 'node2'],
        'rank r runs where the core put it',
      );
      assert.deepEqual(
        envs.map((e) => e['SUANLI_NODE_NAME']),
        ['node3', 'node2'],
      );
      assert.deepEqual(
        envs.map((e) => e['SUANLI_NODE_LIST']),
        ['node3,node2', 'node3,node2'],
      );
      assert.deepEqual(
        envs.map((e) => e['SLURM_JOB_ID']),
        [String(slurmIdOf(ref)), String(slurmIdOf(ref))],
        'one Slurm job',
      );
      const node3Addr = nodes.find((n) => n.name === 'node3')?.labels['slurm.address'];
      assert.deepEqual(
        envs.map((e) => e['SUANLI_MASTER_ADDR']),
        [node3Addr, node3Addr],
        "rank 0's NodeAddr",
      );
      assert.equal(envs[0]?.['SUANLI_MASTER_PORT'], envs[1]?.['SUANLI_MASTER_PORT']);
      assert.deepEqual(
        envs.map((e) => [e['RANK'], e['WORLD_SIZE'], e['LOCAL_RANK']]),
        [
          ['0', '2', '0'],
          ['1', '2', '0'],
        ],
      );
      for (const [r, e] of envs.entries()) {
        const node = r === 0 ? 'node3' : 'node2';
        const idx = devices.get(node) ?? [];
        assert.equal(idx.length, 4);
        // ConstrainDevices: the job sees only its own device files, and Slurm numbers them from 0
        // as CUDA will; SUANLI_ACCELERATOR_IDS keeps the node's own indices.
        assert.equal(e['CUDA_VISIBLE_DEVICES'], idx.map((_, k) => k).join(','));
        assert.equal(e['SUANLI_ACCELERATOR_IDS'], idx.map((i) => `${node}/nvidia-h100/${i}`).join(','));
        assert.equal(e['SUANLI_NUM_ACCELERATORS'], '4');
      }
    } finally {
      await ex.close();
    }
  });

  test("two replicas on one node split the node's devices between them", async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    const ev = events(ex);
    try {
      const nodes = await ex.discover();
      const req = request(
        nodes,
        `env > ${shQuote(root)}/$SUANLI_JOB_ID.$SUANLI_REPLICA_RANK.env`,
        ['node2', 'node2'],
        2,
      );
      await ex.launch(req);
      const exited = await ev.wait((e) => e.kind === 'exited' && e.jobId === req.jobId, 25_000, 'exited');
      assert.equal(exited.kind === 'exited' && exited.exitCode, 0);
      const envs = [0, 1].map((r) => parseEnvDump(readFileSync(join(root, `${req.jobId}.${r}.env`), 'utf8')));
      assert.deepEqual(
        envs.map((e) => e['LOCAL_RANK']),
        ['0', '1'],
      );
      const a = (envs[0]?.['CUDA_VISIBLE_DEVICES'] ?? '').split(',');
      const b = (envs[1]?.['CUDA_VISIBLE_DEVICES'] ?? '').split(',');
      assert.equal(a.length, 2);
      assert.equal(b.length, 2);
      assert.equal(new Set([...a, ...b]).size, 4, `disjoint devices: ${a} / ${b}`);
    } finally {
      await ex.close();
    }
  });

  test('a job array task sees SLURM_ARRAY_TASK_ID = its index and SUANLI_ARRAY_ID / SUANLI_ARRAY_INDEX', async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    const ev = events(ex);
    try {
      const nodes = await ex.discover();
      const base = request(nodes, `env > ${shQuote(root)}/$SUANLI_JOB_ID.env`, ['node2'], 1);
      const arrayId = 'j-0123456789abcdef';
      const req: LaunchRequest = { ...base, jobId: `${base.jobId}_7`, array: { id: arrayId, index: 7 } };
      const { ref } = await ex.launch(req);
      const exited = await ev.wait((e) => e.kind === 'exited' && e.jobId === req.jobId, 25_000, 'exited');
      assert.equal(exited.kind === 'exited' && exited.exitCode, 0);
      const env = parseEnvDump(readFileSync(join(root, `${req.jobId}.env`), 'utf8'));
      assert.equal(env['SLURM_ARRAY_TASK_ID'], '7');
      assert.equal(env['SUANLI_ARRAY_INDEX'], '7');
      assert.equal(env['SUANLI_ARRAY_ID'], arrayId);
      assert.equal(env['SUANLI_JOB_ID'], req.jobId);
      // Each task is its own Slurm batch job: the array job id is that job's id.
      assert.equal(env['SLURM_ARRAY_JOB_ID'], String(slurmIdOf(ref)));
      assert.equal(env['SLURM_JOB_ID'], String(slurmIdOf(ref)));
    } finally {
      await ex.close();
    }
  });

  test('a placement Slurm cannot express (uneven replicas per node) is refused, not over-allocated', async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    try {
      const nodes = await ex.discover();
      const req = request(nodes, 'true', ['node1', 'node1', 'node2'], 1);
      await assert.rejects(ex.launch(req), /same number of replicas/);
    } finally {
      await ex.close();
    }
  });

  test("Slurm's own jobs (plain sbatch) show up in externalUsage with their devices; suanli's do not", async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    const ev = events(ex);
    const foreign = execFileSync(
      'sbatch',
      [
        '--parsable',
        '--gres=gpu:h100:3',
        '-w',
        'node4',
        '-t',
        '10',
        '-o',
        '/dev/null',
        '--wrap',
        'sleep 120',
      ],
      { encoding: 'utf8' },
    ).trim();
    try {
      const nodes = await ex.discover();
      const req = request(nodes, (id) => waitGate(id), ['node4'], 2);
      const { ref } = await ex.launch(req);
      await ev.wait((e) => e.kind === 'running' && e.jobId === req.jobId, 20_000, 'running');
      let usage = await ex.externalUsage();
      for (let i = 0; i < 100 && !usage.some((u) => u.ref === `slurm:${foreign}`); i++) {
        await new Promise((r) => setTimeout(r, 200));
        usage = await ex.externalUsage();
      }
      const mine = usage.find((u) => u.ref === `slurm:${foreign}`);
      assert.ok(mine, `sbatch job ${foreign} in ${JSON.stringify(usage)}`);
      assert.equal(mine.placement.length, 1);
      assert.equal(mine.placement[0]?.node, 'node4');
      assert.equal(mine.placement[0]?.acceleratorIds.length, 3);
      assert.ok(mine.placement[0]?.acceleratorIds.every((id) => id.startsWith('node4/nvidia-h100/')));
      assert.ok(
        mine.expectedEnd !== null && mine.expectedEnd > Date.now(),
        'its time limit gives an expected end',
      );
      assert.ok(!usage.some((u) => u.ref === `slurm:${ref}`), "the platform's own job is not external");
      writeFileSync(gate(req.jobId), '');
      await ev.wait((e) => e.kind === 'exited' && e.jobId === req.jobId, 20_000, 'exited');
    } finally {
      execFileSync('scancel', [foreign]);
      await ex.close();
    }
  });

  test('cancel of a job still pending in Slurm ends it without a running event', async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    const ev = events(ex);
    try {
      const nodes = await ex.discover();
      const holder = request(nodes, (id) => waitGate(id), ['node3'], 8);
      await ex.launch(holder);
      await ev.wait((e) => e.kind === 'running' && e.jobId === holder.jobId, 20_000, 'the holder running');
      const waiting = request(nodes, 'true', ['node3'], 8); // all of node3's devices are taken
      const { ref } = await ex.launch(waiting);
      assert.equal((await ex.client.job(slurmIdOf(ref)))?.job_state, 'PENDING');
      await ex.cancel(waiting.jobId, ref, 2_000);
      const e = await ev.wait((x) => x.kind === 'exited' && x.jobId === waiting.jobId, 20_000, 'exited');
      assert.ok(e.kind === 'exited' && e.exitCode !== 0 && e.backendReason === null, JSON.stringify(e));
      assert.deepEqual(
        ev.log.filter((x) => x.jobId === waiting.jobId).map((x) => x.kind),
        ['exited'],
      );
      writeFileSync(gate(holder.jobId), '');
      await ev.wait((x) => x.kind === 'exited' && x.jobId === holder.jobId, 20_000, 'the holder exited');
    } finally {
      await ex.close();
    }
  });

  test('cancel: every replica gets SIGTERM, and a program that exits cleanly on it reports its own code', async () => {
    const ex = createSlurmExecutor(TEST_SLURM);
    const ev = events(ex);
    try {
      const nodes = await ex.discover();
      const cmd = `trap 'echo "term $SUANLI_REPLICA_RANK"; exit 0' TERM; touch ${shQuote(root)}/$SUANLI_JOB_ID.$SUANLI_REPLICA_RANK.up; while :; do sleep 0.05; done`;
      const req = request(nodes, cmd, ['node2', 'node3'], 1);
      const { ref } = await ex.launch(req);
      const up = (r: number): boolean => existsSync(join(root, `${req.jobId}.${r}.up`));
      for (let i = 0; i < 400 && !(up(0) && up(1)); i++) await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      await ex.cancel(req.jobId, ref, 10_000);
      const e = await ev.wait((x) => x.kind === 'exited' && x.jobId === req.jobId, 20_000, 'exited');
      assert.ok(Date.now() - t0 < 10_000, 'ended well within the grace period');
      const err = (): string =>
        existsSync(join(req.logDir, 'stderr.log'))
          ? readFileSync(join(req.logDir, 'stderr.log'), 'utf8')
          : '';
      const codes = (): string =>
        existsSync(join(req.logDir, EXIT_FILE)) ? readFileSync(join(req.logDir, EXIT_FILE), 'utf8') : '';
      assert.equal(
        e.kind === 'exited' && e.exitCode,
        0,
        `${JSON.stringify(e)} stderr: ${err()} codes: ${codes()}`,
      );
      const out = readFileSync(join(req.logDir, 'stdout.log'), 'utf8');
      assert.deepEqual(out.trim().split('\n').sort(), ['term 0', 'term 1']);
    } finally {
      await ex.close();
    }
  });

  test('auth: a token from `scontrol token` works; a forged token or a mistyped partition fail with a clear error', async () => {
    const token = execFileSync('scontrol', ['token', 'username=root', 'lifespan=120'], { encoding: 'utf8' })
      .trim()
      .replace(/^SLURM_JWT=/, '');
    const good = createSlurmExecutor({ url: TEST_SLURM.url, user: 'root', token });
    const bad = createSlurmExecutor({
      url: TEST_SLURM.url,
      user: 'root',
      token: `${token.slice(0, -4)}AAAA`,
    });
    try {
      assert.equal((await good.discover()).length, 4);
      const typo = createSlurmExecutor({ ...TEST_SLURM, partition: 'mian' });
      await assert.rejects(
        typo.discover(),
        /partition "mian" has no nodes; the cluster's partitions are: main/,
      );
      await typo.close();
      await assert.rejects(
        bad.discover(),
        (e: Error) => e.name === 'SlurmApiError' && /slurmrestd GET/.test(e.message),
      );
    } finally {
      await good.close();
      await bad.close();
    }
  });

  test("over a UNIX socket with rest_auth/local: no token, jobs run as slurmrestd's user", async () => {
    const socket = process.env['SUANLI_TEST_SLURM_SOCKET'] ?? '/run/slurmrestd/slurmrestd.sock';
    const ex = createSlurmExecutor({ url: `unix:${socket}`, partition: 'main', pollIntervalMs: 500 });
    const ev = events(ex);
    try {
      const nodes = await ex.discover();
      assert.equal(nodes.length, 4);
      const req = request(nodes, 'id -un', ['node2'], 0);
      // The job's user (slurmrestd) writes the logs: the directory must be writable for it.
      mkdirSync(req.logDir, { recursive: true, mode: 0o777 });
      chmodSync(req.logDir, 0o777);
      await ex.launch(req);
      const e = await ev.wait((x) => x.kind === 'exited' && x.jobId === req.jobId, 20_000, 'exited');
      assert.equal(e.kind === 'exited' && e.exitCode, 0, JSON.stringify(e));
      assert.equal(readFileSync(join(req.logDir, 'stdout.log'), 'utf8'), 'slurmrestd\n');
    } finally {
      await ex.close();
    }
  });

  test('after a restart, an attempt is found by its comment even when the stored Slurm id is wrong', async () => {
    const first = createSlurmExecutor(TEST_SLURM);
    const nodes = await first.discover();
    const req = request(nodes, (id) => `${waitGate(id)}; exit 9`, ['node2'], 1);
    const ev1 = events(first);
    await first.launch(req);
    await ev1.wait((e) => e.kind === 'running' && e.jobId === req.jobId, 20_000, 'running');
    await first.close();
    const second = createSlurmExecutor(TEST_SLURM);
    const ev = events(second);
    try {
      const [r] = await second.recover([{ jobId: req.jobId, attempt: 1, ref: '999999', logDir: req.logDir }]);
      assert.deepEqual(r, { jobId: req.jobId, status: 'running' });
      writeFileSync(gate(req.jobId), '');
      const e = await ev.wait((x) => x.kind === 'exited' && x.jobId === req.jobId, 20_000, 'exited');
      assert.equal(e.kind === 'exited' && e.exitCode, 9);
    } finally {
      await second.close();
    }
  });

  test(
    'a node dying under a running job: exited with node-failure, node down, recover says lost; node returns',
    { timeout: 150_000 },
    async () => {
      const ex = createSlurmExecutor(TEST_SLURM);
      const ev = events(ex);
      try {
        const nodes = await ex.discover();
        const req = request(
          nodes,
          `touch ${shQuote(root)}/$SUANLI_JOB_ID.$SUANLI_REPLICA_RANK.up; exec sleep 300`,
          ['node3', 'node4'],
          1,
        );
        const { ref } = await ex.launch(req);
        await ev.wait((e) => e.kind === 'running' && e.jobId === req.jobId, 20_000, 'running');
        // Kill the node once both replicas run: killed earlier, srun's task launch on node4 fails
        // and the job ends FAILED before Slurm has noticed anything about the node.
        const up = (r: number): boolean => existsSync(join(root, `${req.jobId}.${r}.up`));
        for (let i = 0; i < 200 && !(up(0) && up(1)); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(up(0) && up(1), 'both replicas started');
        const t0 = Date.now();
        execFileSync('bash', [SLURM_CI, 'kill-node', '4']);
        const e = await ev.wait(
          (x) => x.kind === 'exited' && x.jobId === req.jobId,
          120_000,
          'exited after node failure',
        );
        const detectedMs = Date.now() - t0;
        console.log(`node failure: exited event ${detectedMs} ms after killing node4's slurmd`);
        const stderr = existsSync(join(req.logDir, 'stderr.log'))
          ? readFileSync(join(req.logDir, 'stderr.log'), 'utf8')
          : '';
        assert.equal(
          e.kind === 'exited' && e.backendReason,
          'node-failure',
          `event ${JSON.stringify(e)}, job ${JSON.stringify(await ex.client.job(slurmIdOf(ref)))}, stderr: ${stderr}`,
        );
        const node4 = (await ex.discover()).find((n) => n.name === 'node4');
        assert.equal(node4?.state, 'down');
        const again = createSlurmExecutor(TEST_SLURM);
        try {
          const [r] = await again.recover([{ jobId: req.jobId, attempt: 1, ref, logDir: req.logDir }]);
          assert.equal(r?.status, 'lost');
          assert.match(r?.status === 'lost' ? r.reason : '', /node-failure/);
        } finally {
          await again.close();
        }
      } finally {
        execFileSync('bash', [SLURM_CI, 'start-node', '4']);
        for (let i = 0; i < 150; i++) {
          const n = (await ex.discover()).find((x) => x.name === 'node4');
          if (n?.state === 'ready') break;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert.equal(
          (await ex.discover()).find((x) => x.name === 'node4')?.state,
          'ready',
          'node4 back in service',
        );
        await ex.close();
      }
    },
  );
});
