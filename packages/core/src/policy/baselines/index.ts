/**
 * The baseline policies suanli is measured against. Each is a `SchedulingPolicy` of the
 * core; the simulator runs them through the same contract as the `suanli` policy.
 */
export * from './common.js';
export * from './best-fit.js';
export { createFifoPolicy } from './fifo.js';
export { createEasyBackfillPolicy, EASY_MAX_BACKFILL_CANDIDATES } from './easy.js';
export { createSjfOraclePolicy } from './sjf-oracle.js';
export { createSrtfOraclePolicy, createTiresiasPolicy, TIRESIAS_DEFAULTS } from './preemptive.js';
export type { TiresiasOptions } from './preemptive.js';
