/**
 * The executor contract suite: the behaviour every `Executor` must show, written once and run
 * against each implementation with real processes (no fakes of the thing under test). An
 * implementation's own test file is a few lines:
 *
 *     defineExecutorContract('local', () => new LocalExecutor({ inventory }), { forgeRef });
 *
 * Jobs are POSIX `sh` one-liners, so the suite runs unchanged wherever `/bin/sh` exists (this
 * machine, Slurm nodes). Jobs that must outlive a step wait on a GATE file the test creates, never
 * on a fixed sleep, and every wait is bounded.
 *
 * Parameters exist for slower backends (Slurm: seconds to start): timeouts, where log directories
 * live (shared storage), and how a placement is built from `discover()`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterNode, JobSpec, Placement } from '@suanli/core';
import type { ExecutionEvent, Executor, LaunchRequest, RecoveryResult } from './executor.js';
import { deviceVisibilityEnv, resolveReplicaDevices } from './env.js';

export interface ExecutorContractOptions {
  /** Parent of each test's log directory; must be visible to every node (shared storage for Slurm). Default: the OS temp dir. */
  readonly logRoot?: string;
  /**
   * Mode of the suite's scratch directory (log directories and files the jobs write). An executor
   * that runs jobs as other accounts needs 0o1777 (world-writable, sticky). Default: mkdtemp's 0o700.
   */
  readonly rootMode?: number;
  /** Longest from `launch` to the `running` event. Default 10 000 ms. */
  readonly startTimeoutMs?: number;
  /** Longest from the job's end (or a cancel) to its `exited` event. Default 10 000 ms. */
  readonly exitTimeoutMs?: number;
  /** The grace period the cancel tests pass. Default 500 ms. */
  readonly cancelGraceMs?: number;
  /** Builds the placement of `replicas` replicas × `perReplica` devices from `discover()`. Default: first fit over healthy devices, in node order. */
  readonly place?: (nodes: readonly ClusterNode[], replicas: number, perReplica: number) => Placement;
  /**
   * Turns a valid ref into one that names something live that is NOT the attempt (local: a live
   * pid with another start time; Slurm: another job id). The forged-ref test is skipped without it.
   */
  readonly forgeRef?: (validRef: string) => string;
  /** Per-test limit. Default 60 000 ms. */
  readonly testTimeoutMs?: number;
}

/** A minimal valid JobSpec for executor tests: no devices, no retries, defaults everywhere else. */
export function testJobSpec(
  name: string,
  command: readonly string[],
  overrides: Partial<JobSpec> = {},
): JobSpec {
  return {
    name,
    project: 'p',
    command,
    workingDir: null,
    env: {},
    replicas: 1,
    perReplica: { accelerators: 0, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
    timeLimitSeconds: null,
    priorityClass: null,
    priority: null,
    retry: { maxAttempts: 1, retryOn: [], backoffSeconds: 0 },
    preemptible: true,
    checkpointIntervalSeconds: null,
    ...overrides,
  };
}

/** Quotes a string for POSIX sh. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** First fit: each replica takes the first node with `perReplica` healthy devices not yet taken. */
export function firstFitPlacement(
  nodes: readonly ClusterNode[],
  replicas: number,
  perReplica: number,
): Placement {
  const taken = new Set<string>();
  const out: { node: string; acceleratorIds: string[]; cpuMillis: number; memoryMiB: number }[] = [];
  for (let r = 0; r < replicas; r++) {
    let placed = false;
    for (const n of nodes) {
      const free = n.accelerators.filter((a) => a.healthy && !taken.has(a.id)).slice(0, perReplica);
      if (free.length < perReplica) continue;
      for (const a of free) taken.add(a.id);
      out.push({ node: n.name, acceleratorIds: free.map((a) => a.id), cpuMillis: 0, memoryMiB: 0 });
      placed = true;
      break;
    }
    if (!placed)
      throw new Error(
        `contract: cannot place ${replicas} × ${perReplica} accelerators on the discovered nodes; give the executor more (declared) devices`,
      );
  }
  return out;
}

/** Parses `env` output (NAME=value per line; values with newlines are not used by the suite). */
export function parseEnvDump(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

/** Events from one executor, with bounded waits. */
class EventLog {
  readonly events: ExecutionEvent[] = [];
  private waiters: (() => void)[] = [];
  constructor(ex: Executor) {
    ex.onEvent((e) => {
      this.events.push(e);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async waitFor(
    pred: (e: ExecutionEvent) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<ExecutionEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; events so far: ${JSON.stringify(this.events)}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  exited(jobId: string, timeoutMs: number): Promise<Extract<ExecutionEvent, { kind: 'exited' }>> {
    return this.waitFor(
      (e) => e.kind === 'exited' && e.jobId === jobId,
      timeoutMs,
      `exited of ${jobId}`,
    ) as Promise<Extract<ExecutionEvent, { kind: 'exited' }>>;
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A shell fragment that waits (bounded, ~60 s) until `gate` exists. */
function waitGate(gate: string): string {
  return `i=0; while [ ! -e ${shQuote(gate)} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;
}

/**
 * Registers the contract's test cases for executor `name`. `makeExecutor` is called for a fresh
 * instance per test, and again to play the "restarted server" in the recovery cases.
 */
export function defineExecutorContract(
  name: string,
  makeExecutor: () => Executor | Promise<Executor>,
  options: ExecutorContractOptions = {},
): void {
  const startMs = options.startTimeoutMs ?? 10_000;
  const exitMs = options.exitTimeoutMs ?? 10_000;
  const graceMs = options.cancelGraceMs ?? 500;
  const place = options.place ?? firstFitPlacement;
  const testOpts = { timeout: options.testTimeoutMs ?? 60_000 };
  let root = '';
  let seq = 0;

  before(() => {
    root = mkdtempSync(join(options.logRoot ?? tmpdir(), `suanli-contract-${name}-`));
    if (options.rootMode !== undefined) chmodSync(root, options.rootMode);
  });
  after(() => {
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  /** A launch request with sensible defaults; `script` runs under `sh -c`. */
  async function request(
    ex: Executor,
    script: string | ((jobId: string) => string),
    o: { replicas?: number; accelerators?: number; env?: Record<string, string> } = {},
  ): Promise<LaunchRequest> {
    const replicas = o.replicas ?? 1;
    const accelerators = o.accelerators ?? 0;
    const nodes = await ex.discover();
    seq += 1;
    const jobId = `contract-${process.pid}-${seq}`;
    const spec: JobSpec = {
      name: `contract-${seq}`,
      project: 'proj-c',
      command: ['/bin/sh', '-c', typeof script === 'string' ? script : script(jobId)],
      workingDir: null,
      env: o.env ?? {},
      replicas,
      perReplica: { accelerators, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
      timeLimitSeconds: null,
      priorityClass: null,
      priority: null,
      retry: { maxAttempts: 1, retryOn: [], backoffSeconds: 0 },
      preemptible: true,
      checkpointIntervalSeconds: null,
    };
    const placement = place(nodes, replicas, accelerators);
    const used = new Set(placement.map((p) => p.node));
    return {
      jobId,
      jobName: spec.name,
      tenant: 'tenant-c',
      project: spec.project,
      attempt: 1,
      spec,
      placement,
      nodes: nodes.filter((n) => used.has(n.name)),
      logDir: join(root, jobId),
      unixUser: null,
    };
  }

  async function withExecutor<T>(fn: (ex: Executor, log: EventLog) => Promise<T>): Promise<T> {
    const ex = await makeExecutor();
    const log = new EventLog(ex);
    try {
      return await fn(ex, log);
    } finally {
      await ex.close();
    }
  }

  void describe(`executor contract: ${name}`, () => {
    void test('launch reports running, then exactly one exited with code 0', testOpts, () =>
      withExecutor(async (ex, log) => {
        const req = await request(ex, 'exit 0');
        const { ref } = await ex.launch(req);
        assert.equal(typeof ref, 'string');
        assert.ok(ref.length > 0);
        await log.waitFor((e) => e.kind === 'running' && e.jobId === req.jobId, startMs, 'running');
        const e = await log.exited(req.jobId, startMs + exitMs);
        assert.equal(e.exitCode, 0);
        assert.equal(e.signal, null);
        assert.equal(e.attempt, 1);
        assert.ok(Number.isInteger(e.at), 'event times are integer epoch ms');
        await new Promise((r) => setTimeout(r, 200)); // a duplicate would arrive about now
        const kinds = log.events.filter((x) => x.jobId === req.jobId).map((x) => x.kind);
        assert.deepEqual(kinds, ['running', 'exited'], 'running comes first and exited exactly once');
      }),
    );

    void test('a non-zero exit code is reported as such', testOpts, () =>
      withExecutor(async (ex, log) => {
        const req = await request(ex, 'exit 3');
        await ex.launch(req);
        const e = await log.exited(req.jobId, startMs + exitMs);
        assert.equal(e.exitCode, 3);
        assert.equal(e.signal, null);
      }),
    );

    void test('stdout and stderr land in the log files', testOpts, () =>
      withExecutor(async (ex, log) => {
        const req = await request(ex, 'echo to-stdout; echo to-stderr >&2');
        await ex.launch(req);
        await log.exited(req.jobId, startMs + exitMs);
        const paths = ex.logPaths(req.jobId, req.attempt, req.logDir);
        assert.equal(readFileSync(paths.stdout, 'utf8'), 'to-stdout\n');
        assert.equal(readFileSync(paths.stderr, 'utf8'), 'to-stderr\n');
      }),
    );

    void test('device pinning and SUANLI_* variables match the placement', testOpts, () =>
      withExecutor(async (ex, log) => {
        const req = await request(ex, `env > ${shQuote(root)}/$SUANLI_JOB_ID.env`, { accelerators: 2 });
        await ex.launch(req);
        const e = await log.exited(req.jobId, startMs + exitMs);
        assert.equal(e.exitCode, 0);
        const env = parseEnvDump(readFileSync(join(root, `${req.jobId}.env`), 'utf8'));
        const devices = resolveReplicaDevices(req, 0);
        const replica = req.placement[0];
        assert.ok(replica);
        for (const [k, v] of Object.entries(deviceVisibilityEnv(devices))) assert.equal(env[k], v, k);
        assert.equal(env['SUANLI_JOB_ID'], req.jobId);
        assert.equal(env['SUANLI_JOB_NAME'], req.jobName);
        assert.equal(env['SUANLI_ATTEMPT'], '1');
        assert.equal(env['SUANLI_TENANT'], 'tenant-c');
        assert.equal(env['SUANLI_PROJECT'], 'proj-c');
        assert.equal(env['SUANLI_REPLICA_RANK'], '0');
        assert.equal(env['SUANLI_NUM_REPLICAS'], '1');
        assert.equal(env['SUANLI_NODE_NAME'], replica.node);
        assert.equal(env['SUANLI_NODE_LIST'], replica.node);
        assert.equal(env['SUANLI_ACCELERATOR_IDS'], replica.acceleratorIds.join(','));
        assert.equal(env['SUANLI_ACCELERATOR_TYPE'], [...new Set(devices.map((d) => d.type))].join(','));
        assert.equal(env['SUANLI_NUM_ACCELERATORS'], '2');
        assert.match(env['SUANLI_MASTER_PORT'] ?? '', /^\d+$/);
        assert.equal(env['MASTER_ADDR'], env['SUANLI_MASTER_ADDR']);
        assert.equal(env['MASTER_PORT'], env['SUANLI_MASTER_PORT']);
        assert.equal(env['RANK'], '0');
        assert.equal(env['WORLD_SIZE'], '1');
        assert.equal(env['LOCAL_RANK'], '0');
      }),
    );

    void test(
      'a job without accelerators gets CUDA_VISIBLE_DEVICES="" so it cannot grab a GPU',
      testOpts,
      () =>
        withExecutor(async (ex, log) => {
          const req = await request(ex, `env > ${shQuote(root)}/$SUANLI_JOB_ID.env`);
          await ex.launch(req);
          assert.equal((await log.exited(req.jobId, startMs + exitMs)).exitCode, 0);
          const env = parseEnvDump(readFileSync(join(root, `${req.jobId}.env`), 'utf8'));
          assert.equal(env['CUDA_VISIBLE_DEVICES'], '');
          assert.equal(env['SUANLI_NUM_ACCELERATORS'], '0');
          assert.equal(env['SUANLI_ACCELERATOR_IDS'], '');
        }),
    );

    void test(
      'the spec env cannot override platform variables (PyTorch conveniences excepted)',
      testOpts,
      () =>
        withExecutor(async (ex, log) => {
          const forged = {
            SUANLI_JOB_ID: 'forged',
            SUANLI_REPLICA_RANK: '9',
            CUDA_VISIBLE_DEVICES: 'GPU-forged',
            MY_SETTING: 'mine',
            RANK: '42',
          };
          const req = await request(ex, `env > ${shQuote(root)}/$SUANLI_JOB_ID.env`, {
            accelerators: 1,
            env: forged,
          });
          await ex.launch(req);
          assert.equal((await log.exited(req.jobId, startMs + exitMs)).exitCode, 0);
          const env = parseEnvDump(readFileSync(join(root, `${req.jobId}.env`), 'utf8'));
          assert.equal(env['SUANLI_JOB_ID'], req.jobId);
          assert.equal(env['SUANLI_REPLICA_RANK'], '0');
          assert.equal(
            env['CUDA_VISIBLE_DEVICES'],
            deviceVisibilityEnv(resolveReplicaDevices(req, 0))['CUDA_VISIBLE_DEVICES'],
          );
          assert.equal(env['MY_SETTING'], 'mine', 'ordinary spec variables pass through');
          assert.equal(env['RANK'], '42', 'PyTorch conveniences set by the spec are kept');
        }),
    );

    void test('a 2-replica gang gets ranks 0 and 1 and the same rendezvous address', testOpts, () =>
      withExecutor(async (ex, log) => {
        const req = await request(ex, `env > ${shQuote(root)}/$SUANLI_JOB_ID.$SUANLI_REPLICA_RANK.env`, {
          replicas: 2,
          accelerators: 1,
        });
        await ex.launch(req);
        assert.equal((await log.exited(req.jobId, startMs + exitMs)).exitCode, 0);
        const envs = [0, 1].map((r) =>
          parseEnvDump(readFileSync(join(root, `${req.jobId}.${r}.env`), 'utf8')),
        );
        assert.deepEqual(
          envs.map((e) => e['SUANLI_REPLICA_RANK']),
          ['0', '1'],
        );
        assert.deepEqual(
          envs.map((e) => e['RANK']),
          ['0', '1'],
        );
        assert.deepEqual(
          envs.map((e) => e['SUANLI_NUM_REPLICAS']),
          ['2', '2'],
        );
        assert.deepEqual(
          envs.map((e) => e['WORLD_SIZE']),
          ['2', '2'],
        );
        assert.equal(envs[0]?.['SUANLI_MASTER_ADDR'], envs[1]?.['SUANLI_MASTER_ADDR']);
        assert.equal(envs[0]?.['SUANLI_MASTER_PORT'], envs[1]?.['SUANLI_MASTER_PORT']);
        assert.ok((envs[0]?.['SUANLI_MASTER_ADDR'] ?? '') !== '', 'a rendezvous address is set');
        assert.notEqual(
          envs[0]?.['SUANLI_ACCELERATOR_IDS'],
          envs[1]?.['SUANLI_ACCELERATOR_IDS'],
          'replicas hold different devices',
        );
      }),
    );

    void test(
      'when one replica of a gang fails, the others are terminated and its code is reported',
      testOpts,
      () =>
        withExecutor(async (ex, log) => {
          const req = await request(ex, 'if [ "$SUANLI_REPLICA_RANK" = 0 ]; then exit 4; fi; exec sleep 60', {
            replicas: 2,
          });
          const t0 = Date.now();
          await ex.launch(req);
          const e = await log.exited(req.jobId, startMs + exitMs);
          assert.equal(e.exitCode, 4);
          assert.ok(Date.now() - t0 < 30_000, 'the surviving replica did not run to its end');
        }),
    );

    void test('cancel of a well-behaved job ends it within the grace period', testOpts, () =>
      withExecutor(async (ex, log) => {
        const req = await request(ex, 'echo ready; exec sleep 60');
        const { ref } = await ex.launch(req);
        const out = ex.logPaths(req.jobId, 1, req.logDir).stdout;
        await waitUntil(() => readOr(out).includes('ready'), startMs, 'the job to start');
        const t0 = Date.now();
        await ex.cancel(req.jobId, ref, 5_000);
        const e = await log.exited(req.jobId, exitMs);
        assert.ok(Date.now() - t0 < 5_000, `ended within the grace (took ${Date.now() - t0} ms)`);
        assert.ok(e.exitCode !== 0, 'a cancelled job does not report success');
      }),
    );

    void test(
      'cancel of a job that traps SIGTERM escalates to SIGKILL after the grace period',
      testOpts,
      () =>
        withExecutor(async (ex, log) => {
          const req = await request(
            ex,
            "trap 'echo got-term' TERM; echo ready; while :; do sleep 0.05; done",
          );
          const { ref } = await ex.launch(req);
          const out = ex.logPaths(req.jobId, 1, req.logDir).stdout;
          await waitUntil(() => readOr(out).includes('ready'), startMs, 'the job to start');
          const t0 = Date.now();
          await ex.cancel(req.jobId, ref, graceMs);
          const tookMs = Date.now() - t0;
          const e = await log.exited(req.jobId, exitMs);
          assert.ok(
            tookMs >= graceMs * 0.9,
            `cancel waited for the grace period (${tookMs} ms of ${graceMs})`,
          );
          assert.ok(tookMs < graceMs + exitMs, `and then killed it (${tookMs} ms)`);
          assert.ok(readOr(out).includes('got-term'), 'SIGTERM was delivered first');
          assert.ok(e.exitCode !== 0);
        }),
    );

    void test(
      'recover: a still-running attempt is re-adopted by a new instance and its exit reported',
      testOpts,
      async () => {
        const first = await makeExecutor();
        const firstLog = new EventLog(first);
        let req: LaunchRequest;
        let ref: string;
        try {
          req = await request(first, (jobId) => `${waitGate(join(root, `${jobId}.gate`))}; exit 5`);
          ref = (await first.launch(req)).ref;
          await firstLog.waitFor((e) => e.kind === 'running' && e.jobId === req.jobId, startMs, 'running');
        } finally {
          await first.close(); // the "server" goes away; the job must not
        }
        await withExecutor(async (second, log) => {
          const [r] = await second.recover([{ jobId: req.jobId, attempt: 1, ref, logDir: req.logDir }]);
          assert.deepEqual(r, { jobId: req.jobId, status: 'running' });
          writeFileSync(join(root, `${req.jobId}.gate`), '');
          const e = await log.exited(req.jobId, exitMs);
          assert.equal(e.exitCode, 5);
          assert.equal(
            firstLog.events.filter((x) => x.kind === 'exited').length,
            0,
            'a closed executor delivers no events',
          );
        });
      },
    );

    void test(
      'recover: an attempt that finished while the server was down is reported with its exit code',
      testOpts,
      async () => {
        const first = await makeExecutor();
        let req: LaunchRequest;
        let ref: string;
        try {
          req = await request(
            first,
            (jobId) => `${waitGate(join(root, `${jobId}.gate`))}; echo done; exit 7`,
          );
          ref = (await first.launch(req)).ref;
        } finally {
          await first.close();
        }
        writeFileSync(join(root, `${req.jobId}.gate`), '');
        const out = join(req.logDir, 'stdout.log');
        await waitUntil(() => readOr(out).includes('done'), startMs + exitMs, 'the job to finish');
        // The job may need a moment after its last output to end; ask fresh instances until it has.
        let result: RecoveryResult | undefined;
        const deadline = Date.now() + exitMs;
        while (Date.now() < deadline) {
          const ex = await makeExecutor();
          try {
            [result] = await ex.recover([{ jobId: req.jobId, attempt: 1, ref, logDir: req.logDir }]);
          } finally {
            await ex.close();
          }
          if (result?.status !== 'running') break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(result && result.status === 'exited', `exited, got ${JSON.stringify(result)}`);
        assert.equal(result.exitCode, 7);
        assert.equal(result.signal, null);
        assert.ok(Number.isInteger(result.at) && result.at > 0, `at is integer epoch ms, got ${result.at}`);
      },
    );

    void test(
      'recover: a forged ref (live process, not the attempt) is lost, never running',
      { ...testOpts, skip: options.forgeRef === undefined && 'no forgeRef given' },
      () =>
        withExecutor(async (ex) => {
          const req = await request(ex, (jobId) => waitGate(join(root, `${jobId}.gate`)));
          const gate = join(root, `${req.jobId}.gate`);
          const { ref } = await ex.launch(req);
          try {
            const forged = options.forgeRef?.(ref) ?? ref;
            const [r] = await ex.recover([
              { jobId: `${req.jobId}-forged`, attempt: 1, ref: forged, logDir: req.logDir },
            ]);
            assert.equal(r?.status, 'lost');
            assert.ok(
              r?.status === 'lost' && r.reason.length > 0,
              'the reason says what could not be proven',
            );
          } finally {
            writeFileSync(gate, '');
            await ex.cancel(req.jobId, ref, graceMs); // leave nothing running behind the suite
          }
        }),
    );

    void test("recover: a ref that is not this executor's is lost with a reason", testOpts, () =>
      withExecutor(async (ex) => {
        const [r] = await ex.recover([
          { jobId: 'garbage', attempt: 1, ref: 'not a ref {', logDir: join(root, 'garbage') },
        ]);
        assert.equal(r?.status, 'lost');
        assert.ok(r?.status === 'lost' && r.reason !== '');
        assert.equal(existsSync(join(root, 'garbage')), false, 'recover creates nothing');
      }),
    );
  });
}
