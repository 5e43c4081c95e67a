#!/usr/bin/env node
// Launch overhead of a confined replica against an unconfined one (the local executor before
// confinement): for each, N launches of `/bin/true`, timing launch() and launch → exited event.
// Runs as root (confinement needs it); creates the tenant account sl-benchlaunch and removes it.
// Usage: node scripts/bench-launch.mjs [--runs 50]   (after `npm run build`)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalExecutor, detectLocalConfinement, removeAccount, tenantAccountName } from '@suanli/executors';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 50) || 50;
if (process.getuid?.() !== 0) {
  console.error('bench-launch: run as root (confinement needs it)');
  process.exit(2);
}
const node = {
  name: 'bench',
  state: 'ready',
  accelerators: [],
  cpuMillis: 2000,
  memoryMiB: 4096,
  topology: {},
  labels: {},
};
const spec = {
  name: 'bench',
  project: 'p',
  command: ['/bin/true'],
  workingDir: null,
  env: {},
  replicas: 1,
  perReplica: { accelerators: 0, acceleratorTypes: [], cpuMillis: 1000, memoryMiB: 256 },
  timeLimitSeconds: null,
  priorityClass: null,
  priority: null,
  retry: { maxAttempts: 1, retryOn: [], backoffSeconds: 0 },
  preemptible: true,
  checkpointIntervalSeconds: null,
};
const root = mkdtempSync(join(tmpdir(), 'suanli-bench-launch-'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function measure(label, confine) {
  const ex = new LocalExecutor({ inventory: async () => [node], nodeName: 'bench', confine });
  const launchMs = [];
  const totalMs = [];
  for (let i = 0; i < runs + 3; i++) {
    const jobId = `j-${label}-${i}`;
    const ended = new Promise((resolve) =>
      ex.onEvent((e) => e.kind === 'exited' && e.jobId === jobId && resolve(e)),
    );
    const t0 = performance.now();
    await ex.launch({
      jobId,
      jobName: 'bench',
      tenant: 'benchlaunch',
      project: 'p',
      attempt: 1,
      spec,
      placement: [{ node: 'bench', acceleratorIds: [], cpuMillis: 1000, memoryMiB: 256 }],
      nodes: [node],
      logDir: join(root, jobId, 'attempt-1'),
      unixUser: null,
    });
    const t1 = performance.now();
    const e = await ended;
    const t2 = performance.now();
    if (e.exitCode !== 0) throw new Error(`${label} launch ${i} exited ${e.exitCode} ${e.signal}`);
    if (i >= 3) {
      launchMs.push(t1 - t0);
      totalMs.push(t2 - t0);
    } // 3 warm-up launches
  }
  await ex.close();
  return {
    label,
    runs,
    launchMedianMs: +median(launchMs).toFixed(2),
    launchToExitMedianMs: +median(totalMs).toFixed(2),
  };
}

try {
  const d = detectLocalConfinement({ cgroupParent: 'suanli-bench' });
  if (!d.confine) throw new Error(d.reason);
  // Interleave two rounds of each, so a noisy machine affects both alike.
  const results = [];
  for (const round of [1, 2]) {
    results.push({ round, ...(await measure(`plain${round}`, null)) });
    results.push({ round, ...(await measure(`confined${round}`, d.confine)) });
  }
  for (const r of results) console.log(JSON.stringify(r));
  const plain = median(results.filter((r) => r.label.startsWith('plain')).map((r) => r.launchToExitMedianMs));
  const conf = median(
    results.filter((r) => r.label.startsWith('confined')).map((r) => r.launchToExitMedianMs),
  );
  console.log(
    JSON.stringify({
      summary: 'launch → exit of /bin/true, median',
      unconfinedMs: plain,
      confinedMs: conf,
      overheadMs: +(conf - plain).toFixed(2),
      ratio: +(conf / plain).toFixed(2),
    }),
  );
} finally {
  await removeAccount(tenantAccountName('benchlaunch'));
  detectLocalConfinement({ cgroupParent: 'suanli-bench' }).confine?.cgroups.removeParent();
  rmSync(root, { recursive: true, force: true });
}
