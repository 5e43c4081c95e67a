#!/usr/bin/env node
// Runs the simulator's `suanli` policy on a Philly window with the derived policy (the one
// `suanli sim` builds from --guarantees proportional) changed at one or more paths, beside the
// unchanged policy, and prints the figures the results document compares. The variants quoted in
// docs/simulation-results.md ("the closest we came": a finer first attained-service band) come
// from here.
//
//   npx tsc -b packages/sim && node scripts/sim-policy-variant.mjs --from 2017-10-01 --to 2017-12-01 \
//     --nodes 72 --set 'attainedService.bandsAcceleratorHours=[0.25,1,10,100]'
import { parseArgs } from 'node:util';
import {
  derivedPolicyFile,
  GUARANTEE_WAIT_BOUND_S,
  prepareRun,
  simulatePolicy,
} from '../packages/sim/dist/index.js';

const { values } = parseArgs({
  options: {
    trace: { type: 'string', default: '../shared/traces/philly_pollux/philly.csv' },
    from: { type: 'string' },
    to: { type: 'string' },
    nodes: { type: 'string', default: '72' },
    set: { type: 'string', multiple: true, default: [] },
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

/** `a.b.c=JSON`: sets that path of the policy document (objects are created as needed). */
function withSet(doc, assignment) {
  const eq = assignment.indexOf('=');
  if (eq < 0) throw new Error(`--set ${assignment}: expected path=JSON`);
  const path = assignment.slice(0, eq).split('.');
  const value = JSON.parse(assignment.slice(eq + 1));
  const out = structuredClone(doc);
  let at = out;
  for (const key of path.slice(0, -1)) at = at[key] ??= {};
  at[path.at(-1)] = value;
  return out;
}

const base = derivedPolicyFile(input.guarantees, input.acceleratorType);
const variant = values.set.reduce(withSet, base);
const min = (s) => (s / 60).toFixed(1);
for (const [label, policyFile] of [
  ['derived policy', base],
  [`with ${values.set.join(', ') || 'nothing changed'}`, variant],
]) {
  const { metrics: m } = simulatePolicy('suanli', { ...input, policyFile });
  console.log(
    `${label}: mean JCT ${(m.mean_jct_s / 3600).toFixed(2)} h, p99 start delay ${(m.p99_queue_s / 3600).toFixed(2)} h, ` +
      `${m.preemptions_per_job.toFixed(3)} preemptions/job; tenants with a job over ${GUARANTEE_WAIT_BOUND_S / 60} min inside the guarantee ` +
      `${m.tenants_guarantee_not_honoured} (longest ${min(m.max_guarantee_wait_s)} min); tenants below the guarantee over ` +
      `${GUARANTEE_WAIT_BOUND_S / 60} min at once ${m.tenants_guarantee_gap_over_bound} (longest ${min(m.max_guarantee_gap_s)} min)`,
  );
}
