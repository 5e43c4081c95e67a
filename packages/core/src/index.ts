/**
 * @suanli/core: the pure, deterministic heart of the platform. Nothing here performs I/O, reads
 * the wall clock or uses randomness; time and all state arrive in an immutable `Snapshot`.
 */
export * from './model/resources.js';
export * from './model/lifecycle.js';
export * from './model/job-spec.js';
export * from './model/scheduling.js';
export { fcfsPolicy, byQueueOrder } from './policy/fcfs.js';
export * from './placement/index.js';
export * from './policy/baselines/index.js';
