/**
 * @suanli/sim: the trace-driven simulator. Replays a trace in virtual time through the real
 * scheduling core and compares policies. Entry points: `runSim` (what `suanli sim`
 * calls), `main` (the command line), the trace loaders and `formatGenericTrace` (the server's job
 * history export), and the openb packing experiment.
 */
export * from './trace.js';
export * from './cluster.js';
export {
  simulate,
  jobShape,
  DEFAULT_JOB_MODEL,
  MAX_CYCLES_PER_INSTANT,
  UTILIZATION_BUCKET_MS,
  SimError,
} from './engine.js';
export type { JobModel, DrivenPolicy, JobOutcome, RunOutcome, EngineInput } from './engine.js';
export * from './metrics.js';
export { runSim, prepareRun, loadTrace, deriveGuarantees, SimOptionsError } from './run.js';
export { simulatePolicy } from './simulate-policy.js';
export type { PolicyRunInput } from './simulate-policy.js';
export type { SimOptions, SimReport, GuaranteeMode } from './run.js';
export { reportJson, reportMarkdown } from './report.js';
export { writePlots } from './plots.js';
export {
  makePolicy,
  derivedPolicyFile,
  expandPolicies,
  suanliAvailable,
  ALL_POLICIES,
  BASELINE_POLICIES,
  PolicyError,
} from './policies.js';
export { main, USAGE, parseArgs, optionsFromArgs } from './cli.js';
export * from './openb-packing.js';
