import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterNode, JobSpec, Placement } from '@suanli/core';
import type { LaunchRequest } from '../executor.js';
import { defineExecutorContract, testJobSpec } from '../contract.js';
import { declaredAccelerators, parseAcceleratorsFlag } from '../discovery/declared.js';
import {
  LocalExecutor,
  aggregateOutcomes,
  attemptStateDir,
  exitStatusPath,
  parseExitStatus,
  parseLocalRef,
} from './local-executor.js';
import { readProcStat } from './procfs.js';

const NODE = 'contract-node';
const inventory = async (): Promise<ClusterNode[]> => [
  {
    name: NODE,
    state: 'ready',
    accelerators: declaredAccelerators(NODE, parseAcceleratorsFlag('gpu:4')),
    cpuMillis: 4000,
    memoryMiB: 8192,
    topology: {},
    labels: {},
  },
];

/** A launch of `spec` on the test node (one replica, no devices unless `placement` says otherwise). */
function launchRequest(
  jobId: string,
  spec: JobSpec,
  node: ClusterNode,
  logDir: string,
  placement: Placement = [{ node: NODE, acceleratorIds: [], cpuMillis: 0, memoryMiB: 0 }],
): LaunchRequest {
  return {
    jobId,
    jobName: spec.name,
    tenant: 't',
    project: 'p',
    attempt: 1,
    spec,
    placement,
    nodes: [node],
    logDir,
    unixUser: null,
  };
}

/** A ref naming a LIVE process (the test runner itself) with a start time that is not its own. */
function forgeRef(ref: string): string {
  const parsed = parseLocalRef(ref);
  assert.ok(parsed);
  const own = readProcStat(process.pid);
  assert.ok(own);
  return JSON.stringify({
    ...parsed,
    replicas: parsed.replicas.map((r) => ({
      ...r,
      pid: process.pid,
      startTime: String(Number(own.startTime) + 1),
    })),
  });
}

defineExecutorContract(
  'local',
  () =>
    new LocalExecutor({ inventory, nodeName: NODE, pollIntervalMs: 50, gangGraceMs: 300, killWaitMs: 2000 }),
  {
    cancelGraceMs: 400,
    forgeRef,
  },
);

void test('local: the exit-status record and ref parsers accept only what the shim and launch write', () => {
  assert.deepEqual(parseExitStatus('code 3\n'), { kind: 'code', code: 3 });
  assert.deepEqual(parseExitStatus('signal SIGTERM\n'), { kind: 'signal', signal: 'SIGTERM' });
  assert.equal(parseExitStatus('code\n'), null);
  assert.equal(parseExitStatus('signal TERM\n'), null);
  assert.equal(
    parseLocalRef('{"v":1,"bootId":"b","replicas":[]}'),
    null,
    'a ref without replicas proves nothing',
  );
  assert.equal(
    parseLocalRef('{"v":1,"bootId":"b","replicas":[{"rank":0,"pid":1,"startTime":"5"}]}'),
    null,
    'pid 1 is never a job',
  );
  assert.deepEqual(
    parseLocalRef('{"v":1,"bootId":"b","replicas":[{"rank":0,"pid":77,"startTime":"5"}]}')?.replicas,
    [{ rank: 0, pid: 77, startTime: '5' }],
  );
});

void test('local: the first replica to fail decides the attempt result, and is named', () => {
  assert.deepEqual(
    aggregateOutcomes(
      [
        { kind: 'code', code: 0 },
        { kind: 'code', code: 0 },
      ],
      [1, 0],
    ),
    { exitCode: 0, signal: null, backendReason: null, replica: null },
  );
  assert.deepEqual(
    aggregateOutcomes(
      [
        { kind: 'code', code: 0 },
        { kind: 'code', code: 2 },
        { kind: 'signal', signal: 'SIGTERM' },
      ],
      [0, 2, 1],
    ),
    { exitCode: 2, signal: null, backendReason: null, replica: 2 },
  );
  assert.deepEqual(
    aggregateOutcomes(
      [
        { kind: 'signal', signal: 'SIGKILL' },
        { kind: 'code', code: 1 },
      ],
      [1, 0],
    ),
    { exitCode: null, signal: 'SIGKILL', backendReason: null, replica: 1 },
  );
  assert.deepEqual(aggregateOutcomes([{ kind: 'unknown' }], [0]), {
    exitCode: null,
    signal: null,
    backendReason: 'exit-status-unknown',
    replica: 0,
  });
});

void test("local: with a launcher, its end is the attempt's unless a holder failed first", () => {
  const term = { kind: 'signal', signal: 'SIGTERM' } as const;
  assert.deepEqual(aggregateOutcomes([{ kind: 'code', code: 0 }, term], [0, 1], 0), {
    exitCode: 0,
    signal: null,
    backendReason: null,
    replica: 0,
  });
  assert.deepEqual(
    aggregateOutcomes(
      [
        { kind: 'signal', signal: 'SIGKILL' },
        { kind: 'code', code: 0 },
      ],
      [1, 0],
      0,
    ),
    {
      exitCode: null,
      signal: 'SIGKILL',
      backendReason: null,
      replica: 1,
    },
  );
});

void test(
  'local: a signal that kills the job is recorded by the shim and reported as the signal',
  { timeout: 20_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-local-'));
    const ex = new LocalExecutor({ inventory, nodeName: NODE });
    try {
      const exited = new Promise<unknown>((resolve) => ex.onEvent((e) => e.kind === 'exited' && resolve(e)));
      const [node] = await inventory();
      assert.ok(node);
      const spec = testJobSpec('sig', ['/bin/sh', '-c', 'kill -TERM $$']);
      await ex.launch(launchRequest('sig-1', spec, node, dir));
      const e = (await exited) as { exitCode: number | null; signal: string | null };
      assert.equal(e.exitCode, null);
      assert.equal(e.signal, 'SIGTERM');
      assert.equal(readFileSync(exitStatusPath(dir, 0), 'utf8'), 'signal SIGTERM\n');
      assert.deepEqual(
        readdirSync(attemptStateDir(dir)).filter((f) => f.includes('.tmp')),
        [],
        'no temporary record left behind',
      );
    } finally {
      await ex.close();
      for (const d of [dir, attemptStateDir(dir)]) rmSync(d, { recursive: true, force: true }); // the state dir is its sibling
    }
  },
);

void test('local: a placement on another node is refused before anything starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-local-'));
  const ex = new LocalExecutor({ inventory, nodeName: NODE });
  try {
    const [node] = await inventory();
    assert.ok(node);
    const spec = testJobSpec('x', ['true']);
    await assert.rejects(
      ex.launch(
        launchRequest('x', spec, node, dir, [
          { node: 'elsewhere', acceleratorIds: [], cpuMillis: 0, memoryMiB: 0 },
        ]),
      ),
      /runs on node "contract-node" only, placement names "elsewhere"/,
    );
  } finally {
    await ex.close();
    for (const d of [dir, attemptStateDir(dir)]) rmSync(d, { recursive: true, force: true }); // the state dir is its sibling
  }
});

void test(
  'local: a gang member that failed while the server was down ends the re-adopted gang with its code',
  { timeout: 20_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-local-'));
    const first = new LocalExecutor({ inventory, nodeName: NODE });
    const second = new LocalExecutor({ inventory, nodeName: NODE, pollIntervalMs: 50, gangGraceMs: 300 });
    try {
      const [node] = await inventory();
      assert.ok(node);
      const spec = {
        name: 'gang',
        project: 'p',
        command: ['/bin/sh', '-c', 'if [ "$SUANLI_REPLICA_RANK" = 0 ]; then exit 6; fi; exec sleep 60'],
        workingDir: null,
        env: {},
        replicas: 2,
        perReplica: { accelerators: 0, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
        timeLimitSeconds: null,
        priorityClass: null,
        priority: null,
        retry: { maxAttempts: 1, retryOn: [], backoffSeconds: 0 },
        preemptible: true,
        checkpointIntervalSeconds: null,
      };
      const empty = { node: NODE, acceleratorIds: [], cpuMillis: 0, memoryMiB: 0 };
      const { ref } = await first.launch(launchRequest('gang-1', spec, node, dir, [empty, empty]));
      await first.close(); // down before it could see rank 0 fail
      const deadline = Date.now() + 5000;
      while (!existsSync(exitStatusPath(dir, 0)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const exited = new Promise<unknown>((resolve) =>
        second.onEvent((e) => e.kind === 'exited' && resolve(e)),
      );
      const [r] = await second.recover([{ jobId: 'gang-1', attempt: 1, ref, logDir: dir }]);
      assert.deepEqual(r, { jobId: 'gang-1', status: 'running' }, 'rank 1 still runs and is provably ours');
      const e = (await exited) as { exitCode: number | null };
      assert.equal(e.exitCode, 6, "rank 0's failure decides; rank 1 was terminated");
      const rank1 = parseLocalRef(ref)?.replicas[1];
      assert.ok(rank1);
      assert.equal(
        readProcStat(rank1.pid)?.startTime === rank1.startTime && readProcStat(rank1.pid)?.state !== 'Z',
        false,
        'rank 1 is gone',
      );
    } finally {
      await first.close();
      await second.close();
      for (const d of [dir, attemptStateDir(dir)]) rmSync(d, { recursive: true, force: true }); // the state dir is its sibling
    }
  },
);

void test(
  "local: the working directory is the spec's, else the log directory; a missing program exits 127",
  { timeout: 20_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-local-'));
    const ex = new LocalExecutor({ inventory, nodeName: NODE });
    try {
      const [node] = await inventory();
      assert.ok(node);
      const exits = new Map<string, { exitCode: number | null }>();
      ex.onEvent((e) => {
        if (e.kind === 'exited') exits.set(e.jobId, e);
      });
      const base = testJobSpec('wd', ['/bin/sh', '-c', 'pwd']);
      const launch = (jobId: string, spec: typeof base) =>
        ex.launch({
          jobId,
          jobName: 'wd',
          tenant: 't',
          project: 'p',
          attempt: 1,
          spec,
          placement: [{ node: NODE, acceleratorIds: [], cpuMillis: 0, memoryMiB: 0 }],
          nodes: [node],
          logDir: join(dir, jobId),
          unixUser: null,
        });
      await launch('wd-default', base);
      await launch('wd-spec', { ...base, workingDir: tmpdir() });
      await launch('no-such-program', { ...base, command: ['/nonexistent/program-suanli'] });
      await assert.rejects(
        launch('wd-missing', { ...base, workingDir: join(dir, 'absent') }),
        /working directory ".*absent" does not exist/,
      );
      const deadline = Date.now() + 10_000;
      while (exits.size < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(
        readFileSync(join(dir, 'wd-default', 'stdout.log'), 'utf8').trim(),
        join(dir, 'wd-default'),
      );
      assert.equal(readFileSync(join(dir, 'wd-spec', 'stdout.log'), 'utf8').trim(), tmpdir());
      assert.equal(exits.get('no-such-program')?.exitCode, 127);
      assert.match(
        readFileSync(join(dir, 'no-such-program', 'stderr.log'), 'utf8'),
        /program-suanli: not found/,
      );
    } finally {
      await ex.close();
      for (const d of [dir, attemptStateDir(dir)]) rmSync(d, { recursive: true, force: true }); // the state dir is its sibling
    }
  },
);

void test(
  'local: an exit record proves the end even when the pid has since been reused',
  { timeout: 20_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-local-'));
    const ex = new LocalExecutor({ inventory, nodeName: NODE });
    try {
      const [node] = await inventory();
      assert.ok(node);
      const spec = testJobSpec('reuse', ['/bin/sh', '-c', 'exit 9']);
      const exited = new Promise<void>((resolve) => ex.onEvent((e) => e.kind === 'exited' && resolve()));
      const { ref } = await ex.launch(launchRequest('reuse-1', spec, node, dir));
      await exited;
      // Pretend the kernel handed the pid to another process since: here, the test runner itself.
      const restarted = new LocalExecutor({ inventory });
      const [r] = await restarted.recover([
        { jobId: 'reuse-1', attempt: 1, ref: forgeRef(ref), logDir: dir },
      ]);
      assert.equal(r?.status, 'exited');
      assert.equal(r?.status === 'exited' ? r.exitCode : undefined, 9);
      await restarted.close();
    } finally {
      await ex.close();
      for (const d of [dir, attemptStateDir(dir)]) rmSync(d, { recursive: true, force: true }); // the state dir is its sibling
    }
  },
);

void test(
  'local: an attempt whose ref the engine never stored is recovered from ref.json, not run twice',
  { timeout: 20_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-refless-'));
    const first = new LocalExecutor({ inventory, nodeName: NODE });
    const second = new LocalExecutor({ inventory, nodeName: NODE, pollIntervalMs: 50 });
    try {
      const [node] = await inventory();
      assert.ok(node);
      const gate = join(dir, 'gate');
      const spec = testJobSpec('refless', [
        '/bin/sh',
        '-c',
        `while [ ! -e ${gate} ]; do sleep 0.05; done; exit 4`,
      ]);
      await first.launch(launchRequest('refless-1', spec, node, dir));
      await first.close(); // the "server" died before it stored the ref
      const exited = new Promise<unknown>((resolve) =>
        second.onEvent((e) => e.kind === 'exited' && resolve(e)),
      );
      const [r] = await second.recover([{ jobId: 'refless-1', attempt: 1, ref: '', logDir: dir }]);
      assert.deepEqual(r, { jobId: 'refless-1', status: 'running' });
      writeFileSync(gate, '');
      const e = (await exited) as { exitCode: number | null };
      assert.equal(e.exitCode, 4);
    } finally {
      await first.close();
      await second.close();
      for (const d of [dir, attemptStateDir(dir)]) rmSync(d, { recursive: true, force: true }); // the state dir is its sibling
    }
  },
);
