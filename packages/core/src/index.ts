/**
 * @suanli/core: the pure, deterministic heart of the platform. Nothing here performs I/O, reads
 * the wall clock or uses randomness; time and all state arrive in an immutable `Snapshot`.
 */
export * from './model/resources.js';
export * from './model/lifecycle.js';
export * from './model/job-spec.js';
export * from './model/scheduling.js';
export * from './verdict.js';
export * from './model/job-array.js';
export { fcfsPolicy, byQueueOrder } from './policy/fcfs.js';
export * from './placement/index.js';
export * from './policy/baselines/index.js';
export type {
  PolicyConfig,
  TenantConfig,
  TypeQuota,
  ProjectConfig,
  PriorityClass,
  PreemptionConfig,
  BackfillConfig,
  AttainedServiceConfig,
} from './policy/config.js';
export {
  compilePolicy,
  DEFAULT_POLICY,
  DEFAULT_ATTAINED_SERVICE,
  resolvePriority,
  tenantConfig,
  maxWaitingJobsOf,
  DEFAULT_MAX_WAITING_JOBS,
} from './policy/config.js';
export type { TenantUsage } from './policy/fairshare.js';
export {
  decayUsage,
  decayUsageOfDevices,
  accrueUsage,
  decayedAcceleratorSeconds,
  EMPTY_USAGE,
} from './policy/fairshare.js';
export { PolicyState } from './policy/policy-state.js';
export type { EndedAttempt, RunningDevices } from './policy/policy-state.js';
export { QuotaBook } from './policy/quota.js';
export type { QuotaCheck } from './policy/quota.js';
export type { SuanliScheduler, SchedulerOptions } from './policy/suanli.js';
export { createScheduler, createSuanliPolicy, scheduleOnce } from './policy/suanli.js';
export * from './booking/index.js';
