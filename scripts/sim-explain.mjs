#!/usr/bin/env node
// Explains one simulated run of a policy on Philly: who the slowest 1 % of starts are, which jobs
// waited over 15 minutes inside their tenant's guarantee, which jobs were preempted most, and on
// which days the policy spent its time. The figures quoted in docs/simulation-results.md beyond
// the simulator's own table come from here.
//
//   npx tsc -b packages/sim && node scripts/sim-explain.mjs --from 2017-10-01 --to 2017-12-01 \
//     [--nodes 72] [--policy suanli] [--trace ../shared/traces/philly_pollux/philly.csv] \
//     [--compare srtf-oracle] [--job ID]
//
// --job ID prints, for every cycle in which job ID waited, its tenant's devices in use against its
// guarantee and the policy's verdict on the job (why it waited).
// --compare P also runs policy P and splits the difference in mean JCT by job class (size ×
// duration): which jobs the gap comes from, and whether they waited to start or after preemption.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import {
  clusterAccelerators,
  GUARANTEE_WAIT_BOUND_S,
  makePolicy,
  prepareRun,
  simulate,
  simulatePolicy,
} from '../packages/sim/dist/index.js';

const { values } = parseArgs({
  options: {
    trace: { type: 'string', default: '../shared/traces/philly_pollux/philly.csv' },
    from: { type: 'string' },
    to: { type: 'string' },
    nodes: { type: 'string', default: '72' },
    policy: { type: 'string', default: 'suanli' },
    compare: { type: 'string' },
    job: { type: 'string' },
  },
});
const { input } = prepareRun({
  trace: values.trace,
  format: 'philly',
  from: values.from,
  to: values.to,
  nodes: Number(values.nodes),
  acceleratorsPerNode: 8,
});
const { nodes, guarantees } = input;
const byDay = new Map();
// the hall every 10 simulated minutes: devices held per tenant, jobs waiting per tenant
const samples = [];
const SAMPLE_MS = 600_000;
const jobTrace = [];
const run = simulate({
  ...input,
  makePolicy: (knowledge) => {
    const p = makePolicy(values.policy, { ...input, knowledge });
    const inner = p.schedule.bind(p);
    return Object.assign(p, {
      schedule(s) {
        const t0 = performance.now();
        const r = inner(s);
        const day = new Date(s.now).toISOString().slice(0, 10);
        const e = byDay.get(day) ?? { ms: 0, calls: 0, pending: 0 };
        e.ms += performance.now() - t0;
        e.calls++;
        e.pending += s.pending.length;
        byDay.set(day, e);
        const traced = values.job === undefined ? undefined : s.pending.find((j) => j.id === values.job);
        if (traced !== undefined) {
          let used = 0;
          for (const j of s.running)
            if (j.tenant === traced.tenant)
              used += j.placement.reduce((n, p) => n + p.acceleratorIds.length, 0);
          const started = r.starts.some((x) => x.jobId === traced.id);
          const v = r.pending.find((x) => x.jobId === traced.id);
          jobTrace.push(
            `  ${new Date(s.now).toISOString().slice(0, 19)} ${traced.tenant} uses ${used}/${guarantees.get(traced.tenant) ?? 0}: ${started ? 'starts' : `${v?.verdict}: ${v?.reason}`}`,
          );
        }
        if (samples.length === 0 || s.now - samples.at(-1).now >= SAMPLE_MS) {
          const held = new Map();
          for (const j of s.running) {
            const d = j.placement.reduce((n, p) => n + p.acceleratorIds.length, 0);
            held.set(j.tenant, (held.get(j.tenant) ?? 0) + d);
          }
          const waiting = new Map();
          for (const j of s.pending) waiting.set(j.tenant, (waiting.get(j.tenant) ?? 0) + 1);
          samples.push({ now: s.now, held, waiting });
        }
        return r;
      },
    });
  },
});

const count = (xs, key) => {
  const m = new Map();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
};
const started = run.jobs
  .filter((j) => j.firstStartMs !== null)
  .sort((a, b) => b.firstStartMs - b.submitMs - (a.firstStartMs - a.submitMs));
const top = started.slice(0, Math.ceil(started.length * 0.01));
console.log(
  `slowest 1 % of starts (${top.length} jobs, waits ≥ ${((top.at(-1).firstStartMs - top.at(-1).submitMs) / 3.6e6).toFixed(2)} h)`,
);
console.log(`  by tenant: ${count(top, (j) => j.tenant)}`);
console.log(`  by size (GPUs): ${count(top, (j) => j.accelerators)}`);
{
  // the hall while the tenant with most of the slowest starts waited: could it have had more
  // without taking devices other tenants hold inside their guarantees?
  const byTenant = new Map();
  for (const j of top) byTenant.set(j.tenant, (byTenant.get(j.tenant) ?? 0) + 1);
  const tenant = [...byTenant].sort((a, b) => b[1] - a[1])[0][0];
  const mine = top.filter((j) => j.tenant === tenant);
  const from = Math.min(...mine.map((j) => j.submitMs));
  const to = Math.max(...mine.map((j) => j.firstStartMs));
  const total = clusterAccelerators(nodes);
  const rows = samples
    .filter((x) => x.now >= from && x.now <= to)
    .map((x) => {
      let others = 0;
      let othersBorrowed = 0;
      for (const [t, d] of x.held) {
        if (t === tenant) continue;
        others += d;
        othersBorrowed += Math.max(0, d - (guarantees.get(t) ?? 0));
      }
      const used = [...x.held.values()].reduce((a, b) => a + b, 0);
      return {
        mine: x.held.get(tenant) ?? 0,
        waiting: x.waiting.get(tenant) ?? 0,
        free: total - used,
        others,
        othersBorrowed,
      };
    });
  const range = (k) => `${Math.min(...rows.map((r) => r[k]))}–${Math.max(...rows.map((r) => r[k]))}`;
  const othersGuaranteed = [...guarantees].filter(([t]) => t !== tenant).reduce((a, [, g]) => a + g, 0);
  console.log(
    `  while ${tenant}'s slowest waited (${new Date(from).toISOString().slice(0, 16)} → ${new Date(to).toISOString().slice(0, 16)}, ${rows.length} samples 10 min apart):`,
  );
  console.log(
    `    ${tenant} held ${range('mine')} GPUs (guarantee ${guarantees.get(tenant) ?? 0}) with ${range('waiting')} jobs waiting; ${range('free')} GPUs free; other tenants held ${range('others')} (guarantees ${othersGuaranteed} in all), ${range('othersBorrowed')} of it borrowed`,
  );
}
const over = run.jobs
  .filter((j) => j.maxGuaranteeWaitMs > GUARANTEE_WAIT_BOUND_S * 1000)
  .sort((a, b) => b.maxGuaranteeWaitMs - a.maxGuaranteeWaitMs);
console.log(
  `jobs that waited over ${GUARANTEE_WAIT_BOUND_S / 60} min inside their guarantee: ${over.length}`,
);
if (over.length > 0) {
  console.log(`  by tenant: ${count(over, (j) => j.tenant)}`);
  console.log(
    `  longest: ${over
      .slice(0, 5)
      .map(
        (j) =>
          `job ${j.id} (${j.tenant}, ${j.accelerators} GPUs) ${(j.maxGuaranteeWaitMs / 60000).toFixed(1)} min`,
      )
      .join('; ')}`,
  );
}
const preempted = [...run.jobs].sort((a, b) => b.preemptions - a.preemptions).slice(0, 5);
console.log(
  `most preempted: ${preempted.map((j) => `job ${j.id} (${j.accelerators} GPUs, ${(j.durationMs / 3.6e6).toFixed(0)} h) ${j.preemptions}×`).join('; ')}`,
);
const total = [...byDay.values()].reduce((s, e) => s + e.ms, 0);
console.log(`policy time ${(total / 1000).toFixed(1)} s in ${run.policyCalls} calls; costliest days:`);
for (const [day, e] of [...byDay].sort((a, b) => b[1].ms - a[1].ms).slice(0, 5))
  console.log(
    `  ${day}: ${(e.ms / 1000).toFixed(1)} s, ${e.calls} calls, ${(e.ms / e.calls).toFixed(2)} ms/call, ${Math.round(e.pending / e.calls)} jobs waiting on average`,
  );

if (values.job !== undefined) {
  console.log(`job ${values.job}, each cycle it waited (its tenant's devices in use / guarantee):`);
  for (const line of jobTrace) console.log(line);
}
if (values.compare !== undefined) {
  const other = simulatePolicy(values.compare, input).run;
  const theirs = new Map(other.jobs.map((j) => [j.id, j]));
  const sizeClass = (g) => (g <= 1 ? '1 GPU' : g <= 8 ? '2–8 GPUs' : '> 8 GPUs');
  const lengthClass = (ms) =>
    ms < 3.6e6 ? '< 1 h' : ms < 36e6 ? '1–10 h' : ms < 360e6 ? '10–100 h' : '> 100 h';
  const byClass = new Map();
  for (const j of run.jobs) {
    const k = theirs.get(j.id);
    if (k === undefined || j.endMs === null || k.endMs === null) continue;
    const c = `${sizeClass(j.accelerators)}, ${lengthClass(j.durationMs)}`;
    const e = byClass.get(c) ?? { n: 0, jct: 0, theirJct: 0, wait: 0, theirWait: 0, preemptions: 0 };
    e.n++;
    e.jct += j.endMs - j.submitMs;
    e.theirJct += k.endMs - k.submitMs;
    e.wait += j.firstStartMs - j.submitMs;
    e.theirWait += k.firstStartMs - k.submitMs;
    e.preemptions += j.preemptions;
    byClass.set(c, e);
  }
  const h = (ms) => (ms / 3.6e6).toFixed(1);
  console.log(
    `mean JCT by job class, ${values.policy} vs ${values.compare} (h); "share" is the class's part of the difference in mean JCT over all ${run.jobs.length} jobs:`,
  );
  console.log(
    '  class                 jobs  JCT (mine / theirs)  share  first wait (mine / theirs)  preemptions/job (mine)',
  );
  for (const [c, e] of [...byClass].sort((a, b) => b[1].jct - b[1].theirJct - (a[1].jct - a[1].theirJct)))
    console.log(
      `  ${c.padEnd(20)} ${String(e.n).padStart(5)}  ${h(e.jct / e.n).padStart(7)} / ${h(e.theirJct / e.n).padEnd(7)}  ${h((e.jct - e.theirJct) / run.jobs.length).padStart(5)}  ${h(e.wait / e.n).padStart(7)} / ${h(e.theirWait / e.n).padEnd(7)}            ${(e.preemptions / e.n).toFixed(2)}`,
    );
}
