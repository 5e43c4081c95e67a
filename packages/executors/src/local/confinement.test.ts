/**
 * Confined jobs, tried as a hostile tenant would (issue: "jobs confined to what they were given").
 * Runs as root only (CI runs as root); it creates two tenants' real Unix accounts, a directory of
 * `mknod`ed NVIDIA device nodes (major 195) and a stand-in `nvidia-smi` that prints the real H200
 * capture, and removes all of them afterwards. Every escape is its own assertion.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterNode, JobSpec } from '@suanli/core';
import type { ExecutionEvent, LaunchRequest } from '../executor.js';
import { testJobSpec } from '../contract.js';
import { discoverLocalNode } from '../discovery/discover.js';
import { lookupAccount, removeAccount, tenantAccountName, type UnixAccount } from '../confine/accounts.js';
import { defineExecutorContract } from '../contract.js';
import { declaredAccelerators, parseAcceleratorsFlag } from '../discovery/declared.js';
import { detectLocalConfinement, LocalExecutor, type LocalConfinement } from './local-executor.js';

const isRoot = process.getuid?.() === 0;
const FIXTURES = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../../shared/fixtures/nvidia-smi-h200',
);
const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const TENANT_A = `ca${suffix}`;
const TENANT_B = `cb${suffix}`;

/** Output of a confined one-replica job: its exit event and stdout. */
interface Ran {
  readonly exit: Extract<ExecutionEvent, { kind: 'exited' }>;
  readonly out: string;
  readonly err: string;
}

void describe(
  'local executor, confined (root)',
  { skip: isRoot ? false : 'needs root (CI runs as root)' },
  () => {
    let root = '';
    let devDir = '';
    let node: ClusterNode;
    let confine: LocalConfinement;
    let ex: LocalExecutor;
    let accountA: UnixAccount;
    let seq = 0;

    before(async () => {
      // Not under /tmp: a confined job has a private /tmp, where every escape below would fail for
      // want of its target rather than because of the fence.
      root = mkdtempSync(join('/var/tmp', 'suanli-confine-'));
      chmodSync(root, 0o711);
      mkdirSync(join(root, 'logs'), { mode: 0o711 }); // as the engine makes it: traversable, not listable
      // Eight GPUs' device nodes as the NVIDIA driver makes them (major 195, minor = index, 255 = ctl).
      devDir = join(root, 'dev');
      mkdirSync(devDir);
      for (let i = 0; i < 8; i++)
        execFileSync('mknod', ['-m', '666', join(devDir, `nvidia${i}`), 'c', '195', String(i)]);
      execFileSync('mknod', ['-m', '666', join(devDir, 'nvidiactl'), 'c', '195', '255']);
      // The stand-in nvidia-smi prints the real capture with its one H200 repeated as eight devices.
      const [header, row] = readFileSync(join(FIXTURES, 'query-gpu-idle.csv'), 'utf8').trim().split('\n');
      assert.ok(header && row);
      const rows = Array.from({ length: 8 }, (_, i) =>
        row.replace(
          /^0, GPU-(\S+)-\w{12},/,
          (_m, p: string) => `${i}, GPU-${p}-${String(i).padStart(12, '0')},`,
        ),
      );
      const smi = join(root, 'nvidia-smi');
      writeFileSync(join(root, 'query.csv'), [header, ...rows].join('\n') + '\n');
      writeFileSync(smi, `#!/bin/sh\ncat ${join(root, 'query.csv')}\n`, { mode: 0o755 });
      node = await discoverLocalNode({ nodeName: 'confined-node', nvidiaSmi: smi });
      assert.equal(node.accelerators.length, 8, 'the stand-in nvidia-smi reports 8 GPUs');

      const d = detectLocalConfinement({
        deviceDir: devDir,
        pidsLimit: 64,
        cgroupParent: `suanli-test-${suffix}`,
      });
      assert.ok(d.confine, `confinement is available as root: ${d.reason}`);
      confine = d.confine;
      ex = new LocalExecutor({
        inventory: async () => [node],
        nodeName: node.name,
        confine,
        gangGraceMs: 500,
        killWaitMs: 3000,
      });
      accountA = await confine.accounts.resolve(TENANT_A, null);
      await confine.accounts.resolve(TENANT_B, null);
    });

    after(async () => {
      await ex?.close();
      assert.ok(confine.cgroups.removeParent(), 'every control group of the suite is gone');
      await removeAccount(tenantAccountName(TENANT_A));
      await removeAccount(tenantAccountName(TENANT_B));
      rmSync(root, { recursive: true, force: true });
    });

    function request(
      tenant: string,
      spec: JobSpec,
      gpus: readonly number[] = [],
      replicas = 1,
    ): LaunchRequest {
      const jobId = `j-${(++seq).toString().padStart(16, '0')}`;
      const ids = gpus.map((i) => node.accelerators[i]?.id ?? '');
      return {
        jobId,
        jobName: spec.name,
        tenant,
        project: 'p',
        attempt: 1,
        spec: { ...spec, replicas },
        placement: Array.from({ length: replicas }, () => ({
          node: node.name,
          acceleratorIds: ids,
          cpuMillis: spec.perReplica.cpuMillis,
          memoryMiB: spec.perReplica.memoryMiB,
        })),
        nodes: [node],
        logDir: join(root, 'logs', jobId, 'attempt-1'),
        unixUser: null,
      };
    }

    function waitExit(jobId: string, ms = 20_000): Promise<Extract<ExecutionEvent, { kind: 'exited' }>> {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`job ${jobId} did not end within ${ms} ms`)), ms);
        ex.onEvent((e) => {
          if (e.kind === 'exited' && e.jobId === jobId) {
            clearTimeout(t);
            resolve(e);
          }
        });
      });
    }

    async function run(
      tenant: string,
      script: string,
      opts: { gpus?: number[]; memoryMiB?: number; replicas?: number } = {},
    ): Promise<Ran> {
      const base = testJobSpec('confined', ['/bin/sh', '-c', script]);
      const spec: JobSpec = { ...base, perReplica: { ...base.perReplica, memoryMiB: opts.memoryMiB ?? 0 } };
      const req = request(tenant, spec, opts.gpus ?? [], opts.replicas ?? 1);
      const exited = waitExit(req.jobId);
      await ex.launch(req);
      const exit = await exited;
      const read = (f: string) =>
        existsSync(join(req.logDir, f)) ? readFileSync(join(req.logDir, f), 'utf8') : '';
      return { exit, out: read('stdout.log'), err: read('stderr.log') };
    }

    /** Starts a long job of tenant B holding a secret in its files and its environment. */
    async function victim(): Promise<{ req: LaunchRequest; pid: number; done: () => Promise<void> }> {
      const spec = testJobSpec('victim', [
        '/bin/sh',
        '-c',
        'echo secret-b > secret.txt; echo ready > ready; exec sleep 60',
      ]);
      const req = request(TENANT_B, { ...spec, env: { B_SECRET: 'hunter2' } });
      const exited = waitExit(req.jobId);
      const { ref } = await ex.launch(req);
      for (let i = 0; i < 200 && !existsSync(join(req.logDir, 'ready')); i++)
        await new Promise((r) => setTimeout(r, 25));
      const pid = (JSON.parse(ref) as { replicas: { pid: number }[] }).replicas[0]?.pid ?? 0;
      return {
        req,
        pid,
        done: async () => {
          await ex.cancel(req.jobId, ref, 200);
          await exited;
        },
      };
    }

    void test('a job runs as its tenant account: not root, no supplementary groups, no capabilities, no new privileges', async () => {
      const r = await run(TENANT_A, 'id -u; id -g; id -G; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status');
      assert.equal(r.exit.exitCode, 0, r.err);
      const [uid, gid, groups, capEff, nnp] = r.out.trim().split('\n');
      assert.equal(uid, String(accountA.uid));
      assert.notEqual(uid, '0');
      assert.equal(gid, String(accountA.gid));
      assert.equal(groups, String(accountA.gid), 'supplementary groups dropped');
      assert.match(capEff ?? '', /CapEff:\s+0+$/);
      assert.match(nnp ?? '', /NoNewPrivs:\s+1$/);
      assert.equal((await lookupAccount(tenantAccountName(TENANT_A)))?.uid, accountA.uid);
    });

    void test('the attempt directory belongs to the job account, mode 0700; the log files too', async () => {
      const r = await run(TENANT_A, 'echo hello; stat -c "%u %a" . stdout.log');
      assert.equal(r.exit.exitCode, 0, r.err);
      assert.match(r.out, new RegExp(`^hello\\n${accountA.uid} 700\\n${accountA.uid} 600\\n$`));
    });

    void describe('escapes tried against another tenant and the platform', () => {
      let b: Awaited<ReturnType<typeof victim>>;
      before(async () => {
        b = await victim();
      });
      after(async () => {
        await b.done();
      });

      /** Runs `script` as tenant A: it must fail with `why` (the fence), not for any other reason. */
      const refused = async (what: string, script: string, why: RegExp = /Permission denied/) => {
        const r = await run(TENANT_A, `${script} && echo ESCAPED`);
        assert.doesNotMatch(r.out, /ESCAPED/, `${what} must be refused; stdout: ${r.out} stderr: ${r.err}`);
        assert.match(r.err, why, `${what} is refused by the fence; stderr: ${r.err}`);
      };

      void test("reading the other tenant's working files is refused", () =>
        refused('read', `cat ${b.req.logDir}/secret.txt`));
      void test("listing the other tenant's directory is refused", () =>
        refused('list', `ls ${b.req.logDir}`));
      void test("writing into the other tenant's directory is refused", () =>
        refused('write', `echo x > ${b.req.logDir}/planted`));
      void test('listing the job ids of the log root is refused', () =>
        refused('list logs', `ls ${join(root, 'logs')}`));
      void test("reading the platform's database is refused", async () => {
        const db = join(root, 'suanli.db');
        writeFileSync(db, 'token hashes', { mode: 0o600 });
        await refused('read db', `cat ${db}`);
      });
      void test('writing into /etc is refused', () =>
        refused('write /etc', `echo x > /etc/suanli-escape-${suffix}`));
      void test("the other job's processes are invisible: no /proc entry, no environment", async () => {
        assert.ok(existsSync(`/proc/${b.pid}/environ`), 'the victim runs (seen from the host)');
        await refused('see', `ls -d /proc/${b.pid}`, /No such file or directory/);
        await refused('environ', `cat /proc/${b.pid}/environ`, /No such file or directory/);
        const r = await run(
          TENANT_A,
          'ps -e -o pid= | wc -l; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n" | grep -c B_SECRET || true',
        );
        assert.ok(Number(r.out.split('\n')[0]) <= 6, `only its own few processes are visible: ${r.out}`);
        assert.match(r.out, /\n0\n$/, 'no B_SECRET in any visible environment');
      });
      void test("signalling the other tenant's job is refused (SIGSTOP, SIGKILL)", async () => {
        await refused('stop', `kill -STOP ${b.pid}`, /No such process/);
        await refused('kill', `kill -KILL -${b.pid}`, /No such process/);
        assert.ok(existsSync(`/proc/${b.pid}`), 'the victim still runs');
        assert.doesNotMatch(readFileSync(`/proc/${b.pid}/stat`, 'utf8'), /\) T /, 'and is not stopped');
      });
    });

    void test('a private /tmp: what one job writes there no other job (or the host) sees', async () => {
      const marker = `suanli-tmp-${suffix}`;
      const r1 = await run(TENANT_A, `echo a > /tmp/${marker}; ls /tmp`);
      assert.equal(r1.exit.exitCode, 0, r1.err);
      assert.ok(!existsSync(join('/tmp', marker)), 'not on the host');
      const r2 = await run(TENANT_A, `test -e /tmp/${marker} && echo SEEN; true`);
      assert.doesNotMatch(r2.out, /SEEN/);
    });

    void test('a replica holding GPU 2 sees only /dev/nvidia2 (+ nvidiactl), even with CUDA_VISIBLE_DEVICES unset', async () => {
      const r = await run(
        TENANT_A,
        'unset CUDA_VISIBLE_DEVICES; ls /dev | grep nvidia; test -e /dev/nvidia3 && echo SEES3; true',
        {
          gpus: [2],
        },
      );
      assert.equal(r.exit.exitCode, 0, r.err);
      assert.deepEqual(r.out.trim().split('\n'), ['nvidia2', 'nvidiactl']);
      const none = await run(TENANT_A, 'ls /dev | grep -c nvidia || true');
      assert.equal(none.out.trim(), '0', 'a job without GPUs sees no NVIDIA node');
      // The host's node of another GPU cannot be opened by path either (the v1 devices controller).
      const host = await run(TENANT_A, `cat ${join(devDir, 'nvidia3')} 2>&1; true`, { gpus: [2] });
      assert.match(
        host.out,
        /Operation not permitted/,
        `opening another GPU is refused before the driver: ${host.out}`,
      );
      const own = await run(TENANT_A, 'cat /dev/nvidia2 2>&1; true', { gpus: [2] });
      assert.match(
        own.out,
        /No such device or address/,
        `its own GPU reaches the (absent) driver: ${own.out}`,
      );
    });

    void test('a job over its memory limit fails with out-of-memory; the node and the server carry on', async () => {
      const r = await run(TENANT_A, "head -c 768m /dev/zero | tr '\\0' x | sort > /dev/null", {
        memoryMiB: 128,
      });
      assert.equal(r.exit.limit, 'out-of-memory', `stderr: ${r.err}`);
      assert.notEqual(r.exit.exitCode, 0);
      assert.ok((r.exit.resources?.peakMemoryBytes ?? 0) <= 129 * 2 ** 20, 'the peak stayed at the limit');
      assert.ok((r.exit.resources?.peakMemoryBytes ?? 0) > 64 * 2 ** 20, 'and reached it');
    });

    void test('a fork bomb is stopped by the pids limit and leaves nothing behind', async () => {
      // Every process forks again until the kernel refuses; each child lingers. Bounded: 2 s, 400 forks.
      const bomb = [
        'import os, time, errno',
        'ok = refused = 0',
        'end = time.time() + 2',
        'while time.time() < end and ok + refused < 400:',
        '  try:',
        '    if os.fork() == 0:',
        '      time.sleep(30); os._exit(0)',
        '    ok += 1',
        '  except OSError as e:',
        '    assert e.errno == errno.EAGAIN, e',
        '    refused += 1',
        'print(ok, refused)',
      ].join('\n');
      const r = await run(TENANT_A, `/usr/bin/python3 -c '${bomb}'`);
      assert.equal(r.exit.exitCode, 0, r.err);
      const [ok, refused] = r.out.trim().split(' ').map(Number);
      assert.ok((ok ?? 99) < 64, `fewer forks succeeded than the pids limit of 64: ${r.out}`);
      assert.ok((refused ?? 0) > 0, `the kernel refused the rest: ${r.out}`);
      const left = execFileSync('sh', ['-c', `ps -u ${accountA.uid} -o pid= | wc -l`])
        .toString()
        .trim();
      assert.equal(left, '0', 'nothing of the job outlives it');
    });

    void test('the attempt reports its peak memory and CPU time', async () => {
      const r = await run(TENANT_A, 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done');
      assert.equal(r.exit.exitCode, 0, r.err);
      assert.ok(
        (r.exit.resources?.cpuTimeMs ?? 0) > 10,
        `CPU time measured: ${JSON.stringify(r.exit.resources)}`,
      );
      assert.ok((r.exit.resources?.peakMemoryBytes ?? 0) > 0);
    });

    void test("a gang's replicas on one node reach each other on loopback", async () => {
      const script =
        'if [ "$RANK" = 0 ]; then /usr/bin/python3 -c "import socket,os; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((os.environ[\'MASTER_ADDR\'], int(os.environ[\'MASTER_PORT\']))); s.listen(); c,_=s.accept(); print(c.recv(10).decode())"; ' +
        "else /usr/bin/python3 -c \"import socket,os,time\nfor i in range(100):\n  try:\n    c=socket.create_connection((os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']))); break\n  except OSError: time.sleep(0.05)\nc.sendall(b'hello-r0')\"; fi";
      const r = await run(TENANT_A, script, { replicas: 2 });
      assert.equal(r.exit.exitCode, 0, r.err);
      assert.match(r.out, /hello-r0/);
    });

    void test('no control group is left behind', () => {
      const left: string[] = [];
      for (let i = 1; i <= seq; i++)
        for (const rank of [0, 1]) {
          const name = `j-${i.toString().padStart(16, '0')}.1.${rank}`;
          if (confine.cgroups.usage(name) !== null) left.push(name);
        }
      assert.deepEqual(left, []);
    });
  },
);

// The executor contract, confined: every replica of the contract's tenant runs as one throwaway account.
if (isRoot) {
  const CONTRACT_TENANT = `cc${suffix}`;
  const detected = detectLocalConfinement({ cgroupParent: `suanli-contract-${suffix}` });
  const contractConfine: LocalConfinement | null = detected.confine && {
    ...detected.confine,
    accounts: { resolve: (_tenant: string) => detected.confine.accounts.resolve(CONTRACT_TENANT, null) },
  };
  defineExecutorContract(
    'local-confined',
    () =>
      new LocalExecutor({
        inventory: async () => [
          {
            name: 'contract-node',
            state: 'ready',
            accelerators: declaredAccelerators('contract-node', parseAcceleratorsFlag('gpu:4')),
            cpuMillis: 4000,
            memoryMiB: 8192,
            topology: {},
            labels: {},
          },
        ],
        nodeName: 'contract-node',
        pollIntervalMs: 50,
        gangGraceMs: 300,
        killWaitMs: 2000,
        confine: contractConfine,
      }),
    // Not under /tmp: a confined job has a private /tmp, and the contract shares files with its jobs.
    { cancelGraceMs: 400, rootMode: 0o1777, logRoot: '/var/tmp' },
  );
  after(async () => {
    await removeAccount(tenantAccountName(CONTRACT_TENANT));
    assert.ok(
      detected.confine?.cgroups.removeParent() ?? true,
      'every control group of the contract is gone',
    );
  });
}
