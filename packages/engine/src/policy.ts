/**
 * The scheduling policy as data: a YAML (or JSON) document compiled by the core's `compilePolicy`,
 * kept in a file (default `<data-dir>/policy.yaml`), reloadable without a restart (SIGHUP or
 * `PUT /api/v1/policy`). An invalid document never replaces a valid one: the error names every
 * field, and the running policy stays in force.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import {
  compilePolicy,
  createSuanliPolicy,
  DEFAULT_POLICY,
  type FieldError,
  type PolicyConfig,
  type SuanliScheduler,
} from '@suanli/core';

export class PolicyError extends Error {
  constructor(
    message: string,
    readonly details: readonly FieldError[],
  ) {
    super(message);
    this.name = 'PolicyError';
  }
}

/** Parses YAML or JSON text and compiles it, or throws a PolicyError naming every problem. */
export function compilePolicyText(text: string, source: string): PolicyConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new PolicyError(`${source} is not valid YAML: ${(err as Error).message}`, [
      { path: '', message: (err as Error).message },
    ]);
  }
  if (doc === null || doc === undefined) return DEFAULT_POLICY; // an empty file: the defaults
  const compiled = compilePolicy(doc);
  if (!compiled.ok) {
    const n = compiled.errors.length;
    throw new PolicyError(
      `${source} has ${n} error${n === 1 ? '' : 's'}: ${compiled.errors.map((e) => `${e.path || '(policy)'} ${e.message}`).join('; ')}`,
      compiled.errors,
    );
  }
  return compiled.value;
}

export class PolicyManager {
  private scheduler: SuanliScheduler;
  private text: string | null = null;

  private constructor(
    readonly path: string,
    config: PolicyConfig,
  ) {
    this.scheduler = createSuanliPolicy(config);
  }

  /** Loads the policy file; a missing file means the default policy (the file is not created). */
  static async open(path: string): Promise<PolicyManager> {
    let text: string | null = null;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const m = new PolicyManager(path, text === null ? DEFAULT_POLICY : compilePolicyText(text, path));
    m.text = text;
    return m;
  }

  get policy(): SuanliScheduler {
    return this.scheduler;
  }

  get config(): PolicyConfig {
    return this.scheduler.config;
  }

  /** The document as stored (YAML), or the defaults rendered as YAML when there is no file. */
  get document(): string {
    return this.text ?? DEFAULT_POLICY_DOCUMENT;
  }

  /** Priority class name → value, for resolving job specs. */
  priorityClasses(): Record<string, number> {
    return Object.fromEntries(this.config.priorityClasses.map((c) => [c.name, c.value]));
  }

  /** Re-reads the file (SIGHUP). Throws PolicyError and keeps the running policy if it is invalid. */
  async reload(): Promise<SuanliScheduler> {
    const text = await readFile(this.path, 'utf8');
    this.scheduler = createSuanliPolicy(compilePolicyText(text, this.path));
    this.text = text;
    return this.scheduler;
  }

  /** Validates and stores a new document (atomically: tmp + rename), then makes it current. */
  async apply(text: string): Promise<SuanliScheduler> {
    const config = compilePolicyText(text, 'the policy document');
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, this.path);
    this.scheduler = createSuanliPolicy(config);
    this.text = text;
    return this.scheduler;
  }
}

/**
 * The built-in defaults written in the file format, shown when there is no policy file and used as
 * the starting point for one. A test checks that it compiles to exactly `DEFAULT_POLICY`.
 */
export const DEFAULT_POLICY_DOCUMENT = `# No policy file: these built-in defaults are in force.
# Save this as the policy file (suanli policy apply FILE) and edit it to add tenants and quotas.
organisation: default
fairShare:
  enabled: false
  halfLife: 7d
priorityClasses:
  normal: { value: 0, preemptible: true, default: true }
preemption:
  reclaim: false
  withinTenant: never
  minRuntime: 0
  gracePeriod: 30s
  boundedReclaimTime: 15m
backfill:
  enabled: true
# Per tenant (or under defaultTenant): maxWaitingJobs, jobs waiting at once (default 10000).
tenants:
  default: { weight: 1 }
`;
