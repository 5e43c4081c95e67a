/**
 * Options of the Slurm executor, and `parseSlurmOptions`, which turns the server's command-line
 * flags (`--slurm-url …`) and environment (`SUANLI_SLURM_URL …`) into them, returning every problem
 * at once with the flag to fix.
 */
import type { SlurmAuth } from './client.js';
import { DEFAULT_ACCELERATOR_MAPPING, type AcceleratorMapping } from './mapping.js';

export interface SlurmExecutorOptions {
  /**
   * Where slurmrestd listens: `http://127.0.0.1:6820`, `https://slurm.example:6820`, or
   * `unix:/run/slurmrestd/slurmrestd.sock` (rest_auth/local: no token; jobs run as slurmrestd's user).
   */
  readonly url: string;
  /** The Slurm user the platform acts as (`X-SLURM-USER-NAME`, the JWT's `sun`); jobs run as this user. Required with a token or key. */
  readonly user?: string;
  /**
   * The HS256 key slurmctld uses for auth/jwt (`AuthAltParameters=jwt_key=…`, 32+ random bytes).
   * The executor mints its own short-lived tokens (claims exp, iat, sun), refreshed at half-life.
   */
  readonly jwtKeyFile?: string;
  /** A token made with `scontrol token username=<user> lifespan=<s>`; used as is, never refreshed. */
  readonly token?: string;
  /** Lifespan of minted tokens. Default 3600 s. */
  readonly jwtLifespanSeconds?: number;
  /** The partition jobs go to and whose nodes `discover` reports. Default: all nodes, Slurm's default partition. */
  readonly partition?: string;
  /** The Slurm account jobs are charged to. Default: the user's default account. */
  readonly account?: string;
  /** How often watched jobs are polled (one `GET /jobs` per poll). Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Timeout of one REST request. Default 10000 ms. */
  readonly requestTimeoutMs?: number;
  /** After the final kill, how long `cancel` waits for Slurm to report the job ended. Default 15000 ms. */
  readonly killWaitMs?: number;
  /** Which GRES are accelerators and which platform type each is (mapping.ts). Default gpu/npu with `gpu:<t>` → `nvidia-<t>`. */
  readonly acceleratorMapping?: Partial<AcceleratorMapping>;
  /** First word of the comment tying a Slurm job to a platform attempt; use one per platform sharing a cluster. Default `suanli`. */
  readonly tag?: string;
  /** Base environment of every replica (Slurm jobs do not inherit the server's). Default `PATH` only. */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Rendezvous ports are `base + hash(job, attempt) % span` on rank 0's node. Default 29500 and 1000. */
  readonly rendezvousPortBase?: number;
  readonly rendezvousPortSpan?: number;
  /** Wall clock (epoch ms); a parameter for tests. */
  readonly now?: () => number;
}

export interface ResolvedSlurmOptions {
  readonly url: string;
  readonly auth: SlurmAuth;
  readonly partition: string | null;
  readonly account: string | null;
  readonly pollIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly killWaitMs: number;
  readonly acceleratorMapping: AcceleratorMapping;
  readonly tag: string;
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly rendezvousPortBase: number;
  readonly rendezvousPortSpan: number;
  readonly now: () => number;
}

export const DEFAULT_BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
};

export class SlurmOptionsError extends Error {
  override readonly name = 'SlurmOptionsError';
}

export function resolveSlurmOptions(o: SlurmExecutorOptions): ResolvedSlurmOptions {
  let auth: SlurmAuth;
  if (o.token !== undefined && o.jwtKeyFile !== undefined)
    throw new SlurmOptionsError('give either a Slurm token or a JWT key file, not both');
  if (o.token !== undefined || o.jwtKeyFile !== undefined) {
    if (o.user === undefined || o.user === '')
      throw new SlurmOptionsError('a Slurm user name is required with a token or a JWT key (--slurm-user)');
    auth =
      o.token !== undefined
        ? { kind: 'token', user: o.user, token: o.token }
        : {
            kind: 'jwt-key',
            user: o.user,
            keyFile: o.jwtKeyFile!,
            lifespanSeconds: o.jwtLifespanSeconds ?? 3600,
          };
  } else if (o.url.startsWith('unix:')) auth = { kind: 'local' };
  else
    throw new SlurmOptionsError(
      `slurmrestd at ${o.url} needs a JWT: give --slurm-jwt-key FILE or --slurm-token TOKEN (or use a unix: socket with rest_auth/local)`,
    );
  if (!/^(https?:\/\/|unix:\/)/.test(o.url))
    throw new SlurmOptionsError(
      `bad slurmrestd url "${o.url}": use http://host:port, https://host:port or unix:/path`,
    );
  return {
    url: o.url,
    auth,
    partition: o.partition ?? null,
    account: o.account ?? null,
    pollIntervalMs: o.pollIntervalMs ?? 1000,
    requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
    killWaitMs: o.killWaitMs ?? 15_000,
    acceleratorMapping: {
      gresNames: o.acceleratorMapping?.gresNames ?? DEFAULT_ACCELERATOR_MAPPING.gresNames,
      typeMap: o.acceleratorMapping?.typeMap ?? DEFAULT_ACCELERATOR_MAPPING.typeMap,
    },
    tag: o.tag ?? 'suanli',
    baseEnv: o.baseEnv ?? DEFAULT_BASE_ENV,
    rendezvousPortBase: o.rendezvousPortBase ?? 29500,
    rendezvousPortSpan: o.rendezvousPortSpan ?? 1000,
    now: o.now ?? Date.now,
  };
}

/** Flag (without `--`) → environment variable → option. */
const FLAGS = [
  ['slurm-url', 'SUANLI_SLURM_URL', 'url'],
  ['slurm-user', 'SUANLI_SLURM_USER', 'user'],
  ['slurm-jwt-key', 'SUANLI_SLURM_JWT_KEY', 'jwtKeyFile'],
  ['slurm-token', 'SUANLI_SLURM_TOKEN', 'token'],
  ['slurm-partition', 'SUANLI_SLURM_PARTITION', 'partition'],
  ['slurm-account', 'SUANLI_SLURM_ACCOUNT', 'account'],
  ['slurm-poll-interval-ms', 'SUANLI_SLURM_POLL_INTERVAL_MS', 'pollIntervalMs'],
  ['slurm-gres-types', 'SUANLI_SLURM_GRES_TYPES', 'typeMap'],
  ['slurm-tag', 'SUANLI_SLURM_TAG', 'tag'],
] as const;

export const SLURM_FLAGS: readonly string[] = FLAGS.map(([f]) => `--${f}`);

export type ParsedSlurmOptions =
  | { readonly ok: true; readonly value: SlurmExecutorOptions }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Reads the Slurm executor's options from flags (keys without `--`, e.g. `{ 'slurm-url': … }`),
 * falling back to environment variables (`SUANLI_SLURM_URL`, …). `--slurm-gres-types` maps GRES to
 * platform types: `gpu:h100=nvidia-h100,npu:910b=ascend-910b`.
 */
export function parseSlurmOptions(
  flags: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedSlurmOptions {
  const errors: string[] = [];
  const v: Record<string, string> = {};
  for (const [flag, envName, key] of FLAGS) {
    const x = flags[flag] ?? env[envName];
    if (x !== undefined && x !== '') v[key] = x;
  }
  if (v['url'] === undefined)
    errors.push(
      '--slurm-url is required (e.g. http://127.0.0.1:6820 or unix:/run/slurmrestd/slurmrestd.sock)',
    );
  let pollIntervalMs: number | undefined;
  if (v['pollIntervalMs'] !== undefined) {
    pollIntervalMs = Number(v['pollIntervalMs']);
    if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 100)
      errors.push('--slurm-poll-interval-ms must be a whole number of milliseconds, at least 100');
  }
  let typeMap: Record<string, string> | undefined;
  if (v['typeMap'] !== undefined) {
    typeMap = {};
    for (const pair of v['typeMap'].split(',')) {
      const m = /^\s*([A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?)=([a-z0-9][a-z0-9._-]*)\s*$/.exec(pair);
      if (!m || m[1] === undefined || m[2] === undefined)
        errors.push(
          `--slurm-gres-types: "${pair}" is not gres[:type]=platform-type (e.g. gpu:h100=nvidia-h100)`,
        );
      else typeMap[m[1]] = m[2];
    }
  }
  const value: SlurmExecutorOptions = {
    url: v['url'] ?? '',
    ...(v['user'] !== undefined ? { user: v['user'] } : {}),
    ...(v['jwtKeyFile'] !== undefined ? { jwtKeyFile: v['jwtKeyFile'] } : {}),
    ...(v['token'] !== undefined ? { token: v['token'] } : {}),
    ...(v['partition'] !== undefined ? { partition: v['partition'] } : {}),
    ...(v['account'] !== undefined ? { account: v['account'] } : {}),
    ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
    ...(typeMap !== undefined ? { acceleratorMapping: { typeMap } } : {}),
    ...(v['tag'] !== undefined ? { tag: v['tag'] } : {}),
  };
  if (errors.length === 0) {
    try {
      resolveSlurmOptions(value);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
