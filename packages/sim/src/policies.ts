/**
 * The policies the simulator can run, by name. All are policies of the real core: the baselines
 * from `@suanli/core`'s baselines folder and `suanli` (the core's `createSuanliPolicy`, or a
 * policy file compiled by the core's `compilePolicy`, the format the server reads).
 *
 * `suanli` is looked up at run time so that the simulator builds and runs while the core's policy
 * is still being written; `--policy suanli` then says plainly that it is not available.
 */
import * as core from '@suanli/core';
import type { JobKnowledge } from '@suanli/core';
import type { DrivenPolicy } from './engine.js';

export const BASELINE_POLICIES = ['fifo', 'easy', 'sjf-oracle', 'srtf-oracle', 'tiresias'] as const;
export const ALL_POLICIES = ['suanli', ...BASELINE_POLICIES] as const;

export interface PolicyContext {
  readonly knowledge: JobKnowledge;
  /** Tenant → guaranteed devices (from the policy file or `--guarantees`). */
  readonly guarantees: ReadonlyMap<string, number>;
  /** Parsed policy file (JSON/YAML object), when one was given. */
  readonly policyFile: unknown;
  readonly acceleratorType: string;
}

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

/**
 * The policy file the simulator derives from `--guarantees` when none is given, in the server's
 * format: one tenant per trace tenant, guaranteed its share of the simulated type, fair-share
 * weight equal to that guarantee (at least 1), fair share, reclaim and least-attained-service on
 * (bands at 1, 10 and 100 accelerator-hours), a 5 min minimum runtime before a job can be
 * preempted, and no estimated starts beyond the reservation (users read them; the simulator does
 * not); everything else is the core's default (borrowing unlimited, EASY backfill with one
 * reservation, 30 s grace period).
 */
export function derivedPolicyFile(
  guarantees: ReadonlyMap<string, number>,
  acceleratorType: string,
): Record<string, unknown> {
  const tenants: Record<string, unknown> = {};
  for (const [name, g] of guarantees)
    tenants[name] = { weight: Math.max(1, g), quotas: { [acceleratorType]: { guaranteed: g } } };
  return {
    fairShare: { enabled: true },
    // a job runs at least 10 restart costs (10 × 30 s) before it can be preempted again
    preemption: { reclaim: true, minRuntime: '5m' },
    attainedService: { enabled: true },
    // estimated starts beyond the reservation are shown to users, not read by the simulator
    backfill: { estimateMaxJobs: 0 },
    tenants,
  };
}

function makeSuanli(ctx: PolicyContext): DrivenPolicy {
  const source = ctx.policyFile ?? derivedPolicyFile(ctx.guarantees, ctx.acceleratorType);
  const compiled = core.compilePolicy(source);
  if (!compiled.ok) {
    const what = ctx.policyFile === undefined ? 'derived guarantees' : 'policy file';
    throw new PolicyError(`${what}: ${compiled.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
  const policy = core.createSuanliPolicy(compiled.value);
  return Object.assign(policy, {
    preempts: compiled.value.preemption.reclaim || compiled.value.preemption.withinTenant !== 'never',
    gracePeriodMs: compiled.value.preemption.gracePeriodMs,
    ...(compiled.value.fairShare.enabled ? { usageHalfLifeMs: compiled.value.fairShare.halfLifeMs } : {}),
  });
}

/** The core's suanli policy is built in (kept for callers that probed for it). */
export function suanliAvailable(): boolean {
  return true;
}

export function makePolicy(name: string, ctx: PolicyContext): DrivenPolicy {
  switch (name) {
    case 'fifo':
      return core.createFifoPolicy();
    case 'easy':
      return core.createEasyBackfillPolicy();
    case 'sjf-oracle':
      return core.createSjfOraclePolicy(ctx.knowledge);
    case 'srtf-oracle':
      return core.createSrtfOraclePolicy(ctx.knowledge);
    case 'tiresias':
      return core.createTiresiasPolicy(ctx.knowledge);
    case 'fcfs':
      return { ...core.fcfsPolicy, preempts: false };
    case 'suanli':
      return makeSuanli(ctx);
    default:
      throw new PolicyError(
        `unknown policy "${name}" (known: ${[...ALL_POLICIES, 'fcfs', 'all'].join(', ')})`,
      );
  }
}

/** `all` → every policy this build can run; else a comma-separated list. */
export function expandPolicies(spec: string): string[] {
  if (spec === 'all') return [...(suanliAvailable() ? ['suanli'] : []), ...BASELINE_POLICIES];
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
