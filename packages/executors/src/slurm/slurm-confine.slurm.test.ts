/**
 * Confinement on a real Slurm cluster (scripts/slurm-ci.sh: cgroup plugins, accounts sl-t and sl-u,
 * fake GPUs as c 195:N device nodes): jobs run as their account, over their memory they are killed
 * and reported, they cannot open another job's GPU or write another tenant's logs, and a job that
 * rewrites its own Slurm comment stays the platform's (tracked, cancellable, never "external").
 * Runs as root (it reads the accounts' uids and drives scontrol). Placed on node2: the node-failure test of slurm-cluster kills node4's slurmd, and node3 is often full.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterNode } from '@suanli/core';
import type { ExecutionEvent, LaunchRequest } from '../executor.js';
import { shQuote, testJobSpec } from '../contract.js';
import { createSlurmExecutor, parseSlurmRef } from './executor.js';
import { TEST_SLURM, requireSlurmCluster, withSlurmExecutor } from './test-cluster.js';

/** Where slurm-ci.sh's gres.conf puts the fake GPUs (gpu0..gpu7, c 195:N). */
const FAKE_GPUS = process.env['SUANLI_TEST_SLURM_GPU_DIR'] ?? '/var/lib/slurm/fakegpu';
let root = '';
let seq = 0;

before(async () => {
  await requireSlurmCluster();
  root = mkdtempSync('/tmp/suanli-slurm-confine-');
  chmodSync(root, 0o1777); // jobs run as sl-t / sl-u and write here
});
after(() => rmSync(root, { recursive: true, force: true }));

const uidOf = (account: string): number =>
  Number(execFileSync('id', ['-u', account], { encoding: 'utf8' }).trim());

function request(
  nodes: readonly ClusterNode[],
  command: string | ((jobId: string) => string),
  o: { node: string; gpus?: number; tenant?: string; unixUser?: string | null; memoryMiB?: number },
): LaunchRequest {
  seq += 1;
  const jobId = `sc-${process.pid}-${seq}`;
  const n = nodes.find((x) => x.name === o.node);
  assert.ok(n, `node ${o.node} discovered`);
  const gpus = o.gpus ?? 0;
  const spec = testJobSpec(
    `confine-${seq}`,
    ['/bin/sh', '-c', typeof command === 'string' ? command : command(jobId)],
    { perReplica: { accelerators: gpus, acceleratorTypes: [], cpuMillis: 0, memoryMiB: o.memoryMiB ?? 0 } },
  );
  return {
    jobId,
    jobName: spec.name,
    tenant: o.tenant ?? 't',
    project: 'p',
    attempt: 1,
    spec,
    placement: [
      {
        node: o.node,
        acceleratorIds: n.accelerators.slice(0, gpus).map((a) => a.id),
        cpuMillis: 0,
        memoryMiB: 0,
      },
    ],
    nodes: [n],
    logDir: join(root, jobId),
    unixUser: o.unixUser ?? null,
  };
}

const exitedOf =
  (jobId: string) =>
  (e: ExecutionEvent): boolean =>
    e.kind === 'exited' && e.jobId === jobId;
const gate = (jobId: string): string => join(root, `${jobId}.gate`);
const stdoutOf = (req: LaunchRequest): string => readFileSync(join(req.logDir, 'stdout.log'), 'utf8');

describe('slurm executor: jobs are confined', () => {
  test('a job runs as its tenant account sl-<tenant> (or the mapped --unix-user), never as root', () =>
    withSlurmExecutor(async (ex, ev) => {
      assert.equal(ex.confinement().confined, true);
      const nodes = await ex.discover();
      const own = request(nodes, 'id -u; id -un', { node: 'node2', tenant: 't' });
      const mapped = request(nodes, 'id -u; id -un', { node: 'node2', tenant: 't', unixUser: 'sl-u' });
      await ex.launch(own);
      await ex.launch(mapped);
      for (const [req, account] of [
        [own, 'sl-t'],
        [mapped, 'sl-u'],
      ] as const) {
        const e = await ev.wait(exitedOf(req.jobId), 25_000, `${req.jobId} exited`);
        assert.equal(e.kind === 'exited' && e.exitCode, 0, JSON.stringify(e));
        const uid = uidOf(account);
        assert.notEqual(uid, 0);
        assert.equal(stdoutOf(req), `${uid}\n${account}\n`);
        const st = statSync(req.logDir);
        assert.equal(st.uid, uid, 'the log directory is the account’s');
        assert.equal(st.mode & 0o777, 0o700);
      }
      const asRoot = request(nodes, 'true', { node: 'node2', unixUser: 'root' });
      await assert.rejects(ex.launch(asRoot), /refusing to run a job as root/);
      assert.equal(existsSync(asRoot.logDir), false);
    }));

  test('a job over its memory is killed by the cgroup and reported as limit out-of-memory', () =>
    withSlurmExecutor(async (ex, ev) => {
      const nodes = await ex.discover();
      const req = request(nodes, 'exec node -e "const a = []; for (;;) a.push(Buffer.alloc(8 << 20, 1))"', {
        node: 'node2',
        memoryMiB: 96,
      });
      const { ref } = await ex.launch(req);
      const job = await ex.client.job(parseSlurmRef(ref)?.slurmId ?? NaN);
      assert.equal(job?.memory_per_node, 96, 'the spec’s memory reaches Slurm');
      const e = await ev.wait(exitedOf(req.jobId), 40_000, 'exited');
      assert.ok(e.kind === 'exited', JSON.stringify(e));
      assert.equal(e.limit, 'out-of-memory', JSON.stringify(e));
      assert.equal(e.backendReason, null);
      assert.notEqual(e.exitCode, 0);
    }));

  test("a job holding one GPU cannot open the other GPUs' device nodes (ConstrainDevices)", () =>
    withSlurmExecutor(async (ex, ev) => {
      const nodes = await ex.discover();
      // Opening a c 195:N node without a driver fails with ENXIO when the cgroup allows it and
      // with EPERM when it does not.
      const cmd = `echo "gpus=$SLURM_STEP_GPUS"; for i in 0 1 2 3 4 5 6 7; do head -c 1 ${shQuote(FAKE_GPUS)}/gpu$i > /dev/null 2> err; echo "$i $(cat err)"; done; rm -f err`;
      const req = request(nodes, cmd, { node: 'node2', gpus: 1 }); // runs in its log directory
      await ex.launch(req);
      const e = await ev.wait(exitedOf(req.jobId), 25_000, 'exited');
      assert.equal(e.kind === 'exited' && e.exitCode, 0, JSON.stringify(e));
      const lines = stdoutOf(req).trim().split('\n');
      const mine = Number(/^gpus=(\d+)$/.exec(lines[0] ?? '')?.[1]);
      assert.ok(Number.isInteger(mine), lines[0]);
      const results = lines.slice(1);
      assert.equal(results.length, 8, stdoutOf(req));
      for (const line of results) {
        const i = Number(line.split(' ')[0]);
        if (i === mine) assert.match(line, /No such device or address/, `own GPU ${i} is reachable`);
        else assert.match(line, /Operation not permitted/, `GPU ${i} is fenced off`);
      }
    }));

  test("a job cannot write (or read) another tenant's log directory", () =>
    withSlurmExecutor(async (ex, ev) => {
      const nodes = await ex.discover();
      const victim = request(nodes, 'echo secret', { node: 'node2', tenant: 't' });
      await ex.launch(victim);
      await ev.wait(exitedOf(victim.jobId), 25_000, 'victim exited');
      const d = shQuote(victim.logDir);
      const intruder = request(
        nodes,
        `touch ${d}/planted 2>&1; ln -s /etc/shadow ${d}/stdout2.log 2>&1; cat ${d}/stdout.log 2>&1; echo done`,
        { node: 'node2', tenant: 'u' },
      );
      await ex.launch(intruder);
      await ev.wait(exitedOf(intruder.jobId), 25_000, 'intruder exited');
      const out = stdoutOf(intruder);
      assert.match(out, /Permission denied/);
      assert.doesNotMatch(out, /secret/);
      assert.equal(existsSync(join(victim.logDir, 'planted')), false);
      assert.equal(existsSync(join(victim.logDir, 'stdout2.log')), false);
      assert.equal(stdoutOf(victim), 'secret\n');
    }));

  test('a job that rewrites its own Slurm comment stays tracked, cancellable, and is not external usage', () =>
    withSlurmExecutor(async (ex, ev) => {
      const nodes = await ex.discover();
      // The job (running as sl-t, the owner) hides: a new comment and name, then it keeps running.
      const req = request(
        nodes,
        (id) =>
          `scontrol update job "$SLURM_JOB_ID" comment=not-suanli name=innocent && touch ${shQuote(gate(id))}.hidden; sleep 300`,
        { node: 'node2', gpus: 2 },
      );
      const { ref } = await ex.launch(req);
      const id = parseSlurmRef(ref)?.slurmId ?? NaN;
      await ev.wait((e) => e.kind === 'running' && e.jobId === req.jobId, 20_000, 'running');
      for (let i = 0; i < 200 && !existsSync(`${gate(req.jobId)}.hidden`); i++)
        await new Promise((r) => setTimeout(r, 50));
      const job = await ex.client.job(id);
      assert.equal(job?.comment, 'not-suanli', 'the job did change its comment');
      assert.equal(job?.user_name, 'sl-t');
      // Several polls later (500 ms each; before the fix it was "vanished" after 3) it is still ours.
      await new Promise((r) => setTimeout(r, 3_000));
      assert.equal(ev.log.find(exitedOf(req.jobId)), undefined, JSON.stringify(ev.log));
      const usage = await ex.externalUsage();
      assert.ok(!usage.some((u) => u.ref === `slurm:${id}`), `not external: ${JSON.stringify(usage)}`);
      // A restarted platform finds it by its ref, whatever the comment says; a ref with another
      // submit time (the same id reused after slurmctld lost its state) is not it.
      const other = createSlurmExecutor(TEST_SLURM);
      try {
        const [found, wrong] = await other.recover([
          { jobId: req.jobId, attempt: 1, ref, logDir: req.logDir },
          { jobId: `${req.jobId}-x`, attempt: 1, ref: `${id}@1`, logDir: req.logDir },
        ]);
        assert.deepEqual(found, { jobId: req.jobId, status: 'running' });
        assert.equal(wrong?.status, 'lost');
        assert.ok(!(await other.externalUsage()).some((u) => u.ref === `slurm:${id}`));
      } finally {
        await other.close();
      }
      await ex.cancel(req.jobId, ref, 1_000);
      const e = await ev.wait(exitedOf(req.jobId), 20_000, 'exited after cancel');
      assert.ok(e.kind === 'exited' && e.backendReason === null, JSON.stringify(e));
      assert.equal((await ex.client.job(id))?.job_state, 'CANCELLED');
    }));
});
