/**
 * The job spec: what a user writes (YAML in files, JSON over the API) and the strict internal form
 * the platform works with. `compileJobSpec` is the one place a spec is validated: it compiles loose
 * input into a `JobSpec` or returns every problem, each naming its field and saying what to fix.
 * Unknown fields are rejected so typos do not silently do nothing.
 */
import type { AcceleratorType, ReplicaRequest } from './resources.js';

/** A problem with one field of user input. `path` is dotted (`resources.accelerators`, `env.FOO`). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export type Compiled<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly FieldError[] };

/**
 * What the platform retries automatically. `lost`: the platform could not prove the attempt ran to
 * an end. `failed`: the job itself failed (a non-zero exit, a signal it did not get from the
 * platform, out of memory): the user's error. `platform`: the attempt ended because of the
 * platform, not the job (its node was lost or failed a health check, a device fault, an exit the
 * platform could not record); `lost` is one case of it. `user` is `failed`'s other name.
 */
export type RetryableOutcome = 'lost' | 'failed' | 'timed-out' | 'platform' | 'user';

/**
 * The launch contract a job is written against (`framework:`): which framework's own variables
 * and files the platform sets so that the framework's usual command runs unchanged. `pytorch`
 * (the default) also suits scripts that read MASTER_ADDR/RANK/WORLD_SIZE; `none` sets only the
 * SUANLI_* variables and device pinning. The executors' env.ts lists every variable.
 */
export type Framework = 'pytorch' | 'mpi' | 'mindspore' | 'tensorflow' | 'none';
export const FRAMEWORKS: readonly Framework[] = ['pytorch', 'mpi', 'mindspore', 'tensorflow', 'none'];

/** How the platform asks a job to checkpoint before it stops it (`checkpoint:` in the spec). */
export interface CheckpointPolicy {
  /** Sent first to every replica (`SIGUSR1`, `SIGTERM`, …); SIGKILL follows after `graceSeconds`. */
  readonly signal: string;
  readonly graceSeconds: number;
}

/** Signals a spec may name for `checkpoint.signal`. */
export const CHECKPOINT_SIGNALS = ['SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGINT', 'SIGHUP'] as const;

export interface RetryPolicy {
  /** Total attempts including the first; preemptions do not count. */
  readonly maxAttempts: number;
  readonly retryOn: readonly RetryableOutcome[];
  readonly backoffSeconds: number;
}

/** The strict internal form. Units are in the names. */
export interface JobSpec {
  readonly name: string;
  readonly project: string;
  readonly command: readonly string[];
  readonly workingDir: string | null;
  readonly env: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly perReplica: ReplicaRequest;
  readonly timeLimitSeconds: number | null;
  /** A priority class name (resolved against the policy) or null for the default class. */
  readonly priorityClass: string | null;
  /** Explicit numeric priority, or null to take the class's value. */
  readonly priority: number | null;
  readonly retry: RetryPolicy;
  /** May the scheduler preempt this job to give capacity back to its owner or to higher priorities? */
  readonly preemptible: boolean;
  /** Seconds between the job's checkpoints, if it checkpoints: used to pick preemption victims losing least work. */
  readonly checkpointIntervalSeconds: number | null;
  /** The launch contract; absent (specs stored before it existed): `pytorch`. */
  readonly framework?: Framework;
  /** Signal and grace before the platform stops the job; absent: SIGTERM and the server's grace. */
  readonly checkpoint?: CheckpointPolicy | null;
}

/**
 * Every bound on a job spec, in one place (the README's "Job spec" section lists them). A spec is
 * kept in memory and read by every scheduling cycle, so its size is bounded as a whole
 * (`specMaxJsonChars`, the compiled spec as JSON) and per field; the per-field totals are chosen
 * so that no field alone can reach the whole-spec bound with room to spare for the others.
 */
export const JOB_SPEC_LIMITS = {
  nameMaxChars: 63,
  /** The compiled spec serialised as JSON: what is stored, cached and read every cycle. */
  specMaxJsonChars: 64 * 1024,
  commandMaxArgs: 1024,
  argMaxChars: 16 * 1024,
  /** All arguments of `command` together. */
  commandMaxTotalChars: 32 * 1024,
  workingDirMaxChars: 4096,
  envMaxVars: 256,
  envNameMaxChars: 256,
  envValueMaxChars: 16 * 1024,
  /** All names and values of `env` together. */
  envMaxTotalChars: 24 * 1024,
  acceleratorTypesMax: 16,
  acceleratorsPerReplicaMax: 1024,
  replicasMax: 1024,
  cpuCoresMax: 4096,
  memoryMiBMax: 64 * 1024 * 1024,
  timeLimitSecondsMax: 365 * 24 * 3600,
  maxAttemptsMax: 100,
  checkpointGraceSecondsMax: 3600,
  priorityAbsMax: 1_000_000,
} as const;

/** Variables the platform sets for every job; a spec may not override them. */
export const RESERVED_ENV_PREFIXES = ['SUANLI_'] as const;
export const RESERVED_ENV_NAMES = [
  'CUDA_VISIBLE_DEVICES',
  'NVIDIA_VISIBLE_DEVICES',
  'ASCEND_RT_VISIBLE_DEVICES',
  'ASCEND_VISIBLE_DEVICES',
] as const;

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, retryOn: ['lost'], backoffSeconds: 10 };

/**
 * The forms of a spec's strings, as regular-expression sources: `compileJobSpec` matches with them
 * and the API's JSON Schema for a job spec (`JobSpecInputSchema`) is built from them and from
 * `JOB_SPEC_LIMITS`, so the two cannot drift. Durations and sizes are matched after trimming.
 */
export const JOB_SPEC_PATTERNS = {
  name: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  envName: '^[A-Za-z_][A-Za-z0-9_]*$',
  acceleratorType: '^[a-z0-9][a-z0-9._-]*$',
  duration: '^(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?$',
  memory: '^(\\d+(?:\\.\\d+)?)\\s*(Ki|Mi|Gi|Ti|K|M|G|T|KB|MB|GB|TB)?$',
} as const;

/** What `retry.retryOn` may list. */
export const RETRYABLE_OUTCOMES: readonly RetryableOutcome[] = [
  'lost',
  'failed',
  'timed-out',
  'platform',
  'user',
];

const NAME_RE = new RegExp(JOB_SPEC_PATTERNS.name);
const ENV_NAME_RE = new RegExp(JOB_SPEC_PATTERNS.envName);
const TYPE_RE = new RegExp(JOB_SPEC_PATTERNS.acceleratorType);
const DURATION_RE = new RegExp(JOB_SPEC_PATTERNS.duration);
const MEMORY_RE = new RegExp(JOB_SPEC_PATTERNS.memory);

type Json = unknown;

function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses `90`, `"90s"`, `"30m"`, `"2h"`, `"1d12h"` into seconds, or returns null when malformed. */
export function parseDurationSeconds(v: Json): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) > 0 ? Number(s) : null;
  const m = DURATION_RE.exec(s);
  if (!m || s === '') return null;
  const [, d, h, min, sec] = m;
  const total = Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(sec ?? 0);
  return total > 0 ? total : null;
}

/** Parses `"16Gi"`, `"512Mi"`, `"2G"` or a number of MiB into MiB, or null when malformed. */
export function parseMemoryMiB(v: Json): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.ceil(v) : null;
  if (typeof v !== 'string') return null;
  const m = MEMORY_RE.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'Mi').replace(/B$/, '').replace(/i$/, '');
  const factor: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };
  const f = factor[unit];
  return f === undefined ? null : Math.ceil(n * f);
}

const TOP_FIELDS = [
  'name',
  'project',
  'command',
  'workingDir',
  'env',
  'resources',
  'replicas',
  'timeLimit',
  'priority',
  'retry',
  'preemptible',
  'checkpointInterval',
  'framework',
  'checkpoint',
] as const;
const CHECKPOINT_FIELDS = ['signal', 'grace'] as const;
const RESOURCE_FIELDS = ['accelerators', 'acceleratorType', 'cpu', 'memory'] as const;
const RETRY_FIELDS = ['maxAttempts', 'retryOn', 'backoff'] as const;
const RETRY_ON = RETRYABLE_OUTCOMES;

function unknownFields(
  obj: Record<string, Json>,
  known: readonly string[],
  prefix: string,
  errors: FieldError[],
): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      errors.push({
        path: prefix + key,
        message: `unknown field "${key}"; allowed fields here are: ${known.join(', ')}`,
      });
    }
  }
}

function isInt(v: Json, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/**
 * Compiles user input (parsed YAML or JSON) into a `JobSpec`. Never throws on bad input: every
 * problem is returned, in field order, so a user fixes them all in one go.
 */
export function compileJobSpec(input: Json): Compiled<JobSpec> {
  const errors: FieldError[] = [];
  const L = JOB_SPEC_LIMITS;
  if (!isRecord(input)) {
    return {
      ok: false,
      errors: [
        {
          path: '',
          message: 'a job spec must be an object (a YAML mapping) with at least name, command and resources',
        },
      ],
    };
  }
  unknownFields(input, TOP_FIELDS, '', errors);

  // name
  const name = input['name'];
  if (name === undefined)
    errors.push({ path: 'name', message: 'is required: give the job a short name, e.g. "train-resnet"' });
  else if (typeof name !== 'string' || !NAME_RE.test(name) || name.length > L.nameMaxChars)
    errors.push({
      path: 'name',
      message: `must be 1–${L.nameMaxChars} letters, digits, ".", "_" or "-", starting with a letter or digit`,
    });

  // project
  const project = input['project'];
  if (
    project !== undefined &&
    (typeof project !== 'string' || !NAME_RE.test(project) || project.length > L.nameMaxChars)
  )
    errors.push({ path: 'project', message: `must be 1–${L.nameMaxChars} letters, digits, ".", "_" or "-"` });

  // command
  const command = input['command'];
  if (command === undefined)
    errors.push({
      path: 'command',
      message: 'is required: a list of program and arguments, e.g. ["python", "train.py"]',
    });
  else if (!Array.isArray(command) || command.length === 0)
    errors.push({
      path: 'command',
      message:
        'must be a non-empty list of strings, e.g. ["python", "train.py"] (a single string is not split for you)',
    });
  else if (command.length > L.commandMaxArgs)
    errors.push({ path: 'command', message: `must have at most ${L.commandMaxArgs} elements` });
  else {
    const total = command.reduce<number>((n, a) => n + (typeof a === 'string' ? a.length : 0), 0);
    if (total > L.commandMaxTotalChars)
      errors.push({
        path: 'command',
        message: `must be at most ${L.commandMaxTotalChars} characters in all (it has ${total}); pass large inputs as files`,
      });
    command.forEach((arg, i) => {
      if (typeof arg !== 'string')
        errors.push({ path: `command.${i}`, message: 'must be a string (quote numbers in YAML)' });
      else if (arg.length > L.argMaxChars)
        errors.push({ path: `command.${i}`, message: `must be at most ${L.argMaxChars} characters` });
      else if (arg.includes('\0'))
        errors.push({ path: `command.${i}`, message: 'must not contain NUL characters' });
    });
  }

  // workingDir
  const workingDir = input['workingDir'];
  if (
    workingDir !== undefined &&
    (typeof workingDir !== 'string' ||
      !workingDir.startsWith('/') ||
      workingDir.includes('\0') ||
      workingDir.length > L.workingDirMaxChars)
  )
    errors.push({
      path: 'workingDir',
      message: `must be an absolute path of at most ${L.workingDirMaxChars} characters, e.g. /home/alice/project`,
    });

  // env
  const env: Record<string, string> = {};
  const envIn = input['env'];
  if (envIn !== undefined) {
    if (!isRecord(envIn)) errors.push({ path: 'env', message: 'must be a mapping of NAME: value' });
    else {
      const keys = Object.keys(envIn);
      if (keys.length > L.envMaxVars)
        errors.push({ path: 'env', message: `must have at most ${L.envMaxVars} variables` });
      else {
        const total = keys.reduce((n, k) => {
          const v = envIn[k];
          return n + k.length + (typeof v === 'string' ? v.length : String(v).length);
        }, 0);
        if (total > L.envMaxTotalChars)
          errors.push({
            path: 'env',
            message: `must be at most ${L.envMaxTotalChars} characters in all, names and values (it has ${total})`,
          });
      }
      for (const k of keys.slice(0, L.envMaxVars)) {
        const v = envIn[k];
        if (k.length > L.envNameMaxChars)
          errors.push({
            path: `env.${k.slice(0, 64)}…`,
            message: `variable names must be at most ${L.envNameMaxChars} characters`,
          });
        else if (!ENV_NAME_RE.test(k))
          errors.push({ path: `env.${k}`, message: 'variable names must match [A-Za-z_][A-Za-z0-9_]*' });
        else if (
          RESERVED_ENV_PREFIXES.some((p) => k.startsWith(p)) ||
          (RESERVED_ENV_NAMES as readonly string[]).includes(k)
        )
          errors.push({
            path: `env.${k}`,
            message:
              'is set by the platform (device pinning and SUANLI_* variables) and cannot be overridden',
          });
        else if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
          errors.push({ path: `env.${k}`, message: 'must be a string, number or boolean' });
        else if (String(v).length > L.envValueMaxChars || String(v).includes('\0'))
          errors.push({
            path: `env.${k}`,
            message: `must be at most ${L.envValueMaxChars} characters without NUL`,
          });
        else env[k] = String(v);
      }
    }
  }

  // resources
  let accelerators = 0;
  let acceleratorTypes: AcceleratorType[] = [];
  let cpuMillis = 0;
  let memoryMiB = 0;
  const res = input['resources'];
  if (res === undefined)
    errors.push({ path: 'resources', message: 'is required, e.g. resources: { accelerators: 1 }' });
  else if (!isRecord(res))
    errors.push({ path: 'resources', message: 'must be a mapping, e.g. { accelerators: 1 }' });
  else {
    unknownFields(res, RESOURCE_FIELDS, 'resources.', errors);
    const a = res['accelerators'];
    if (a === undefined)
      errors.push({
        path: 'resources.accelerators',
        message: 'is required: the number of accelerators per replica (0 for none)',
      });
    else if (!isInt(a, 0, L.acceleratorsPerReplicaMax))
      errors.push({
        path: 'resources.accelerators',
        message: `must be a whole number from 0 to ${L.acceleratorsPerReplicaMax}`,
      });
    else accelerators = a;
    const t = res['acceleratorType'];
    if (t !== undefined) {
      const list = typeof t === 'string' ? [t] : Array.isArray(t) ? t : null;
      if (
        list === null ||
        list.length === 0 ||
        list.length > L.acceleratorTypesMax ||
        list.some((x) => typeof x !== 'string' || x.length > L.nameMaxChars || !TYPE_RE.test(x))
      )
        errors.push({
          path: 'resources.acceleratorType',
          message: `must be a type such as "nvidia-h200" or a non-empty list of at most ${L.acceleratorTypesMax} acceptable types, lower-case`,
        });
      else acceleratorTypes = [...new Set(list as string[])];
    }
    const c = res['cpu'];
    if (c !== undefined) {
      if (typeof c !== 'number' || !Number.isFinite(c) || c <= 0 || c > L.cpuCoresMax)
        errors.push({
          path: 'resources.cpu',
          message: `must be a number of cores greater than 0 and at most ${L.cpuCoresMax} (fractions allowed, e.g. 0.5)`,
        });
      else cpuMillis = Math.ceil(c * 1000);
    }
    const m = res['memory'];
    if (m !== undefined) {
      const mib = parseMemoryMiB(m);
      if (mib === null || mib > L.memoryMiBMax)
        errors.push({
          path: 'resources.memory',
          message: 'must be a size such as "16Gi", "512Mi" or a number of MiB',
        });
      else memoryMiB = mib;
    }
  }

  // replicas
  const replicasIn = input['replicas'];
  let replicas = 1;
  if (replicasIn !== undefined) {
    if (!isInt(replicasIn, 1, L.replicasMax))
      errors.push({ path: 'replicas', message: `must be a whole number from 1 to ${L.replicasMax}` });
    else replicas = replicasIn;
  }

  // timeLimit
  let timeLimitSeconds: number | null = null;
  const tl = input['timeLimit'];
  if (tl !== undefined) {
    const s = parseDurationSeconds(tl);
    if (s === null || s > L.timeLimitSecondsMax)
      errors.push({
        path: 'timeLimit',
        message:
          'must be a duration such as "90s", "30m", "2h", "1d12h" or a number of seconds, at most 365 days',
      });
    else timeLimitSeconds = s;
  }

  // priority
  let priority: number | null = null;
  let priorityClass: string | null = null;
  const p = input['priority'];
  if (p !== undefined) {
    if (typeof p === 'string' && NAME_RE.test(p) && p.length <= L.nameMaxChars) priorityClass = p;
    else if (isInt(p, -L.priorityAbsMax, L.priorityAbsMax)) priority = p;
    else
      errors.push({
        path: 'priority',
        message: `must be a priority class name (e.g. "high") or a whole number from -${L.priorityAbsMax} to ${L.priorityAbsMax}`,
      });
  }

  // retry
  let retry: RetryPolicy = DEFAULT_RETRY;
  const r = input['retry'];
  if (r !== undefined) {
    if (!isRecord(r))
      errors.push({
        path: 'retry',
        message: 'must be a mapping, e.g. { maxAttempts: 3, retryOn: [lost, failed] }',
      });
    else {
      unknownFields(r, RETRY_FIELDS, 'retry.', errors);
      let maxAttempts = DEFAULT_RETRY.maxAttempts;
      let retryOn = DEFAULT_RETRY.retryOn;
      let backoffSeconds = DEFAULT_RETRY.backoffSeconds;
      if (r['maxAttempts'] !== undefined) {
        if (!isInt(r['maxAttempts'], 1, L.maxAttemptsMax))
          errors.push({
            path: 'retry.maxAttempts',
            message: `must be a whole number from 1 to ${L.maxAttemptsMax} (1 means never retry)`,
          });
        else maxAttempts = r['maxAttempts'];
      }
      if (r['retryOn'] !== undefined) {
        const ro = r['retryOn'];
        if (!Array.isArray(ro) || ro.some((x) => !RETRY_ON.includes(x as RetryableOutcome)))
          errors.push({
            path: 'retry.retryOn',
            message: `must be a list drawn from: ${RETRY_ON.join(', ')}`,
          });
        else retryOn = [...new Set(ro as RetryableOutcome[])];
      }
      if (r['backoff'] !== undefined) {
        const b = r['backoff'] === 0 ? 0 : parseDurationSeconds(r['backoff']);
        if (b === null)
          errors.push({
            path: 'retry.backoff',
            message: 'must be a duration such as "30s" or a number of seconds',
          });
        else backoffSeconds = b;
      }
      retry = { maxAttempts, retryOn, backoffSeconds };
    }
  }

  const pre = input['preemptible'];
  if (pre !== undefined && typeof pre !== 'boolean')
    errors.push({ path: 'preemptible', message: 'must be true or false' });

  let checkpointIntervalSeconds: number | null = null;
  const ci = input['checkpointInterval'];
  if (ci !== undefined) {
    const s = parseDurationSeconds(ci);
    if (s === null)
      errors.push({
        path: 'checkpointInterval',
        message: 'must be a duration such as "30m" or a number of seconds',
      });
    else checkpointIntervalSeconds = s;
  }

  let framework: Framework = 'pytorch';
  const fw = input['framework'];
  if (fw !== undefined) {
    if (typeof fw !== 'string' || !(FRAMEWORKS as readonly string[]).includes(fw))
      errors.push({ path: 'framework', message: `must be one of: ${FRAMEWORKS.join(', ')}` });
    else framework = fw as Framework;
  }

  let checkpoint: CheckpointPolicy | null = null;
  const cp = input['checkpoint'];
  if (cp !== undefined) {
    if (!isRecord(cp))
      errors.push({
        path: 'checkpoint',
        message: 'must be a mapping, e.g. { signal: SIGUSR1, grace: 120s }',
      });
    else {
      unknownFields(cp, CHECKPOINT_FIELDS, 'checkpoint.', errors);
      let signal = 'SIGTERM';
      let graceSeconds = 30;
      const sig = cp['signal'];
      if (sig !== undefined) {
        const name = typeof sig === 'string' ? (sig.startsWith('SIG') ? sig : `SIG${sig}`).toUpperCase() : '';
        if (!(CHECKPOINT_SIGNALS as readonly string[]).includes(name))
          errors.push({
            path: 'checkpoint.signal',
            message: `must be one of: ${CHECKPOINT_SIGNALS.join(', ')}`,
          });
        else signal = name;
      }
      const g = cp['grace'];
      if (g !== undefined) {
        const s = g === 0 ? 0 : parseDurationSeconds(g);
        if (s === null || s > L.checkpointGraceSecondsMax)
          errors.push({
            path: 'checkpoint.grace',
            message: `must be a duration such as "120s" or a number of seconds, at most ${L.checkpointGraceSecondsMax}`,
          });
        else graceSeconds = s;
      }
      checkpoint = { signal, graceSeconds };
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  const value: JobSpec = {
    name: name as string,
    project: (project as string | undefined) ?? 'default',
    command: command as string[],
    workingDir: (workingDir as string | undefined) ?? null,
    env,
    replicas,
    perReplica: { accelerators, acceleratorTypes, cpuMillis, memoryMiB },
    timeLimitSeconds,
    priorityClass,
    priority,
    retry,
    preemptible: (pre as boolean | undefined) ?? true,
    checkpointIntervalSeconds,
    framework,
    checkpoint,
  };
  // The whole-spec bound: what the platform stores and reads every cycle, whatever the input's form.
  const jsonChars = JSON.stringify(value).length;
  if (jsonChars > L.specMaxJsonChars)
    return {
      ok: false,
      errors: [
        {
          path: '',
          message: `the compiled spec is ${jsonChars} characters as JSON, more than the limit of ${L.specMaxJsonChars}; pass large inputs as files`,
        },
      ],
    };
  return { ok: true, value };
}
