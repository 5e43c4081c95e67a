#!/usr/bin/env node
// Figures for the Slurm executor against the CI cluster of scripts/slurm-ci.sh (not a test):
//   1. launch → running: executor.launch() until the `running` event, and Slurm's own submit → start;
//   2. submissions per second through slurmrestd (held jobs, so nothing runs), 1 and 8 in flight;
//   3. reconciliation: recover() over 1,000 known attempts (1,000 held jobs in Slurm), and one poll
//      of 1,000 watched jobs.
// Usage: npm run build && node scripts/bench-slurm.mjs [--jobs 1000] [--launches 10]
// Needs: bash scripts/slurm-ci.sh up (root). Cancels everything it submitted before it exits.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createSlurmExecutor, parseSlurmRef } from '../packages/executors/dist/slurm/index.js';
import { jobComment } from '../packages/executors/dist/slurm/script.js';
import { TEST_SLURM, requireSlurmCluster } from '../packages/executors/dist/slurm/test-cluster.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const JOBS = arg('jobs', 1000);
const LAUNCHES = arg('launches', 10);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (xs) =>
  `median ${pct(xs, 50)} ms, p90 ${pct(xs, 90)} ms, min ${Math.min(...xs)} ms, max ${Math.max(...xs)} ms (n=${xs.length})`;

await requireSlurmCluster();
const root = mkdtempSync('/tmp/suanli-slurm-bench-');
chmodSync(root, 0o711); // jobs run as the tenant's account (sl-t) and must reach their log directory
const ex = createSlurmExecutor({ ...TEST_SLURM, pollIntervalMs: 100 });
const submitted = [];
const results = {};
try {
  // 1. launch → running
  const nodes = await ex.discover();
  const running = new Map();
  ex.onEvent((e) => {
    if (e.kind === 'running') running.get(e.jobId)?.();
  });
  const toRunning = [];
  const slurmStart = [];
  for (let i = 0; i < LAUNCHES; i++) {
    const jobId = `bench-launch-${process.pid}-${i}`;
    const spec = {
      name: 'bench',
      project: 'p',
      command: ['/bin/sh', '-c', 'sleep 1'],
      workingDir: null,
      env: {},
      replicas: 1,
      perReplica: { accelerators: 1, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
      timeLimitSeconds: 60,
      priorityClass: null,
      priority: null,
      retry: { maxAttempts: 1, retryOn: [], backoffSeconds: 0 },
      preemptible: true,
      checkpointIntervalSeconds: null,
    };
    const node = nodes[i % nodes.length];
    const placement = [
      { node: node.name, acceleratorIds: [node.accelerators[0].id], cpuMillis: 0, memoryMiB: 0 },
    ];
    const ran = new Promise((r) => running.set(jobId, r));
    const t0 = Date.now();
    const { ref } = await ex.launch({
      jobId,
      jobName: 'bench',
      tenant: 't',
      project: 'p',
      attempt: 1,
      spec,
      placement,
      nodes: [node],
      logDir: `${root}/${jobId}`,
    });
    submitted.push(parseSlurmRef(ref).slurmId);
    await ran;
    toRunning.push(Date.now() - t0);
    const j = await ex.client.job(parseSlurmRef(ref).slurmId);
    slurmStart.push((j.start_time - j.submit_time) * 1000);
  }
  results.launchToRunning = fmt(toRunning);
  results.slurmSubmitToStart = `${fmt(slurmStart)} (whole seconds in Slurm's record)`;
  console.log('launch → running event:', results.launchToRunning);
  console.log("Slurm's submit → start:", results.slurmSubmitToStart);

  // 2. + 3. submissions per second, held jobs carrying suanli comments
  const held = (i) => ({
    name: 'bench-held',
    comment: jobComment('suanli', `bench-held-${process.pid}-${i}`, 1),
    partition: 'main',
    nodes: 1,
    hold: true,
    current_working_directory: '/tmp',
    standard_output: '/dev/null',
    environment: { PATH: '/usr/bin:/bin' },
  });
  const script = '#!/bin/bash\ntrue\n';
  const refs = new Array(JOBS);
  const serialN = Math.min(200, JOBS);
  let t0 = Date.now();
  for (let i = 0; i < serialN; i++) refs[i] = await ex.client.submit(script, held(i));
  const serialMs = Date.now() - t0;
  submitted.push(...refs.slice(0, serialN));
  results.submitSerial = `${((serialN / serialMs) * 1000).toFixed(1)} jobs/s (${serialN} jobs in ${serialMs} ms, 1 in flight)`;
  console.log('submit, 1 in flight:', results.submitSerial);
  t0 = Date.now();
  let next = serialN;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < JOBS) {
        const i = next++;
        refs[i] = await ex.client.submit(script, held(i));
        submitted.push(refs[i]);
      }
    }),
  );
  const parMs = Date.now() - t0;
  results.submitParallel = `${(((JOBS - serialN) / parMs) * 1000).toFixed(1)} jobs/s (${JOBS - serialN} jobs in ${parMs} ms, 8 in flight)`;
  console.log('submit, 8 in flight:', results.submitParallel);

  const attempts = refs.map((ref, i) => ({
    jobId: `bench-held-${process.pid}-${i}`,
    attempt: 1,
    ref: String(ref),
    logDir: '/tmp',
  }));
  const rec = createSlurmExecutor(TEST_SLURM);
  const times = [];
  let statuses = {};
  for (let k = 0; k < 3; k++) {
    const r0 = Date.now();
    const out = await rec.recover(attempts);
    times.push(Date.now() - r0);
    statuses = out.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
  }
  results.recover = `${fmt(times)} for ${JOBS} attempts → ${JSON.stringify(statuses)}`;
  console.log(`recover(${JOBS}):`, results.recover);
  const polls = [];
  for (let k = 0; k < 3; k++) {
    const p0 = Date.now();
    await rec.pollOnce();
    polls.push(Date.now() - p0);
  }
  results.pollOnce = `${fmt(polls)} with ${JOBS} watched jobs (one GET /jobs)`;
  console.log('one poll:', results.pollOnce);
  const byComment = attempts.map((a) => ({ ...a, ref: 'unknown' }));
  const c0 = Date.now();
  const found = (await rec.recover(byComment)).filter((r) => r.status === 'running').length;
  results.recoverByComment = `${Date.now() - c0} ms, found ${found}/${JOBS} by comment alone`;
  console.log('recover by comment only:', results.recoverByComment);
  await rec.close();
} finally {
  await ex.close();
  for (let i = 0; i < submitted.length; i += 500) {
    try {
      execFileSync('scancel', submitted.slice(i, i + 500).map(String));
    } catch {
      /* already gone */
    }
  }
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(results, null, 2));
