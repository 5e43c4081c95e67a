/**
 * `suanli server`: API server, scheduling loop and executor in one process, storing everything in
 * a data directory (default `./.suanli`). Prints where it listens and how to authenticate.
 */
import {
  accessSync,
  chmodSync,
  constants as fsConstants,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import pino from 'pino';
import type { SchedulingPolicy } from '@suanli/core';
import { openStore, redactDatabaseUrl, type Store } from '@suanli/store';
import {
  CGROUP_PARENT_RE,
  createSlurmExecutor,
  parseSlurmOptions,
  readDeviceHealth,
  type Executor,
} from '@suanli/executors';
import {
  Engine,
  HEALTH_RETURN_POLICIES,
  PolicyManager,
  type HealthReturnPolicy,
  type NodeHealthOptions,
} from '@suanli/engine';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { ADMIN_TENANT, initAdminToken, platformAuthenticator, type AdminTokenInit } from './auth.js';
import { createLocalExecutor } from './executor-factory.js';
import { LocalExecutor } from '@suanli/executors';
import { acquireServerLock, type ServerLock } from './server-lock.js';
import { PlatformHealth } from './health.js';
import { LOG_REDACT_PATHS } from './hooks.js';
import { LogSink } from './log-sink.js';

export interface ServerOptions {
  /** Data directory; created with mode 0700. Default `./.suanli`. */
  readonly dataDir?: string;
  /**
   * `postgres://…` to use PostgreSQL; default: `SUANLI_DATABASE_URL`, else SQLite in the data
   * directory. The password may be left out of the URL: PGPASSWORD or a passfile (PGPASSFILE,
   * `~/.pgpass`) supply it, so it need not appear on a command line.
   */
  readonly database?: string;
  /** Replace the stored admin token hash with SUANLI_ADMIN_TOKEN's (or a generated token's). */
  readonly rotateAdminToken?: boolean;
  /** Revoke the bootstrap admin token: no SUANLI_ADMIN_TOKEN works until a rotation. */
  readonly revokeAdminToken?: boolean;
  readonly host?: string;
  readonly port?: number;
  /** `local` (default) or `slurm`. */
  readonly executor?: 'local' | 'slurm';
  /** Slurm settings as flags without `--` (`slurm-url`, `slurm-jwt-key`, …); `SUANLI_SLURM_*` fill the gaps. */
  readonly slurm?: Readonly<Record<string, string | undefined>>;
  /** Declared accelerators for machines without discoverable devices: `gpu:8`, `nvidia-h200:4,ascend-910b:8`. */
  readonly accelerators?: string;
  /** A node inventory file (YAML/JSON) declaring nodes and devices. */
  readonly acceleratorsFile?: string;
  readonly nodeName?: string;
  /** Job confinement for the local executor (see `LocalExecutorSettings`). */
  readonly confine?: 'auto' | 'off';
  readonly jobUidRange?: readonly [number, number];
  readonly pidsLimit?: number;
  readonly cgroupParent?: string;
  /** Executor built by the caller (tests, Slurm). Overrides `executor`. */
  readonly executorInstance?: Executor;
  /** A fixed policy (tests, benchmarks). Default: the `suanli` policy from the policy file. */
  readonly policy?: SchedulingPolicy;
  /** The policy file (YAML). Default `<data-dir>/policy.yaml`; missing means the built-in defaults. */
  readonly policyFile?: string;
  /** Root of jobs' checkpoint directories (`SUANLI_CHECKPOINT_DIR`); default `<data-dir>/logs/<job>/checkpoints`. */
  readonly checkpointRoot?: string;
  readonly cycleIntervalMs?: number;
  readonly cancelGraceMs?: number;
  /**
   * Node health checks (`@suanli/engine`'s health.ts): the operator's check program (run as
   * `PROGRAM <node>`, exit 0 = healthy, else the first output line is the reason), the time
   * between rounds (default 60 s; 0 turns the checks off), the program's timeout (default 60 s),
   * and whether a node the platform drained returns to service by itself once its checks pass
   * (`auto`) or waits for an operator's undrain (`manual`, the default).
   */
  readonly healthCheckProgram?: string;
  readonly healthCheckIntervalMs?: number;
  readonly healthCheckTimeoutMs?: number;
  readonly healthReturn?: HealthReturnPolicy;
  /**
   * Extra Fastify plugins registered before the server listens (the web console's static files,
   * registered by the CLI so the API package never depends on the console).
   */
  readonly plugins?: readonly ((app: FastifyInstance) => Promise<void>)[];
  /** Log level (pino) or false to be quiet. */
  readonly logLevel?: string | false;
  /**
   * Append the server's log (requests and scheduling) to this file instead of standard output
   * (requests) and standard error (scheduling). A log that cannot be written is dropped and counted
   * (`LogSink`), never fatal.
   */
  readonly logFile?: string;
  /** Told of every line lost on the log or on `print`'s target (the CLI counts banner lines here). */
  readonly onLogSinks?: (sinks: { readonly out: LogSink; readonly err: LogSink }) => void;
  /** Where to print the banner (default stdout). */
  readonly print?: (line: string) => void;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly engine: Engine;
  readonly store: Store;
  readonly url: string;
  readonly dataDir: string;
  readonly policy: PolicyManager | null;
  /** Re-reads the policy file (SIGHUP); throws PolicyError and keeps the old policy if invalid. */
  reloadPolicy(): Promise<void>;
  /**
   * Stops serving and scheduling. Running jobs keep running (they are re-adopted at the next start)
   * unless `endJobs` is set: then each is ended first (SIGTERM, `graceMs`, SIGKILL), for an
   * embedding that must leave nothing behind (tests).
   */
  close(opts?: { readonly endJobs?: boolean; readonly graceMs?: number }): Promise<void>;
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const dataDir = resolve(opts.dataDir ?? '.suanli');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // One server per data directory (server-lock.ts); released on close, on a failed start, at exit.
  const lock = acquireServerLock(dataDir);
  const releaseAtExit = () => lock.release();
  process.once('exit', releaseAtExit);
  const release = () => {
    lock.release();
    process.removeListener('exit', releaseAtExit);
  };
  try {
    return await startLocked(opts, dataDir, lock, release);
  } catch (err) {
    release();
    throw err;
  }
}

async function startLocked(
  opts: ServerOptions,
  dataDir: string,
  lock: ServerLock,
  release: () => void,
): Promise<RunningServer> {
  const database = opts.database ?? process.env['SUANLI_DATABASE_URL'] ?? '';
  const warnEarly = (msg: string) => print(`warning: ${msg}`);
  const health = new PlatformHealth(database ? null : dataDir);
  let logFile: LogSink | null = null;
  try {
    logFile = opts.logFile ? LogSink.ofFile(resolve(opts.logFile)) : null;
  } catch (err) {
    throw new ServerConfigError(`cannot open --log-file ${opts.logFile}: ${(err as Error).message}`);
  }
  const sinks = { out: logFile ?? LogSink.ofFd(1), err: logFile ?? LogSink.ofFd(2) };
  health.addLogSink(sinks.out);
  if (sinks.err !== sinks.out) health.addLogSink(sinks.err);
  opts.onLogSinks?.(sinks);
  const print =
    opts.print ??
    ((l: string) => {
      try {
        process.stdout.write(l + '\n');
      } catch (err) {
        sinks.out.noteDropped((err as NodeJS.ErrnoException).code ?? 'EIO');
      }
    });
  const level = opts.logLevel || 'info';
  const logger =
    opts.logLevel === false ? undefined : pino({ level, redact: [...LOG_REDACT_PATHS] }, sinks.err);
  const requestLogger =
    opts.logLevel === false ? undefined : pino({ level, redact: [...LOG_REDACT_PATHS] }, sinks.out);

  const store = await openStore({ dataDir, ...(database ? { database } : {}) });
  let token: AdminTokenInit;
  try {
    await store.migrate();
    token = await initAdminToken(store, dataDir, process.env['SUANLI_ADMIN_TOKEN'], {
      rotate: opts.rotateAdminToken ?? false,
      revoke: opts.revokeAdminToken ?? false,
    });
    const change = opts.revokeAdminToken ? 'revoked' : opts.rotateAdminToken ? 'rotated' : null;
    if (change !== null)
      await store.appendAudit({
        at: Date.now(),
        subject: 'admin',
        tenant: ADMIN_TENANT,
        role: 'admin',
        method: 'SERVER',
        route: change === 'revoked' ? '--revoke-admin-token' : '--rotate-admin-token',
        target: 'admin-token',
        ip: 'local',
        status: 200,
        errorCode: null,
        requestId: `start-${process.pid}`,
      });
  } catch (err) {
    await store.close();
    throw err;
  }

  const policyManager = opts.policy
    ? null
    : await PolicyManager.open(resolve(opts.policyFile ?? join(dataDir, 'policy.yaml')));
  const healthChecks = healthOptions(opts);
  const executor =
    opts.executorInstance ??
    (await buildExecutor(opts, (msg) => (logger ? logger.warn(msg) : print(`warning: ${msg}`))));
  // Device faults are read on this machine: the node of the local executor the server built.
  // (Known from the discovery the executor was built with: no second nvidia-smi run at start.)
  const localNode =
    opts.executorInstance === undefined && executor instanceof LocalExecutor
      ? (executor.nodeName ?? null)
      : null;
  const engine = new Engine({
    store,
    executor,
    policy: opts.policy ?? policyManager!.policy,
    logRoot: join(dataDir, 'logs'),
    ...(opts.checkpointRoot ? { checkpointRoot: resolve(opts.checkpointRoot) } : {}),
    ...(logger ? { logger } : {}),
    ...(opts.cycleIntervalMs !== undefined ? { cycleIntervalMs: opts.cycleIntervalMs } : {}),
    ...(opts.cancelGraceMs !== undefined ? { cancelGraceMs: opts.cancelGraceMs } : {}),
    ...(healthChecks
      ? {
          health: {
            ...healthChecks,
            devices: localNode !== null ? { node: localNode, read: () => readDeviceHealth() } : null,
          },
        }
      : {}),
  });
  // Every start: the data directory is the server's alone (jobs' accounts may only pass through
  // it to their own log directories), whatever modes an earlier version or an operator left.
  const confinement = executor.confinement?.() ?? {
    confined: false,
    detail: 'this executor does not confine jobs',
  };
  for (const fixed of secureDataDir(dataDir, confinement.confined)) warnEarly(fixed);
  await engine.start();
  const app = await buildApp({
    store,
    engine,
    auth: platformAuthenticator(store),
    ...(policyManager ? { policy: policyManager } : {}),
    ...(requestLogger ? { loggerInstance: requestLogger } : { logger: false }),
    health,
  });
  for (const plugin of opts.plugins ?? []) await plugin(app);
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8470 });
  const url = address.replace('[::1]', '127.0.0.1');
  lock.setAddress(url);

  const nodes = await store.listNodes();
  const devices = nodes.reduce((n, s) => n + s.node.accelerators.length, 0);
  print(`suanli server listening on ${url}`);
  if (app.hasRoute({ method: 'GET', url: '/index.html' }))
    print(`  console: ${url}/ (sign in with the token below)`);
  print(
    `  store: ${store.dialect} (${database ? redactDatabaseUrl(database) : join(dataDir, 'suanli.db')}); executor: ${executor.name}; policy: ${engine.policyName}`,
  );
  print(
    `  inventory: ${nodes.length} node(s), ${devices} accelerator(s)` +
      (nodes.some((s) => s.node.accelerators.some((a) => a.source === 'declared')) ? ' (declared)' : ''),
  );
  print(`  jobs: ${confinement.confined ? 'confined' : 'NOT confined'} (${confinement.detail})`);
  if (opts.revokeAdminToken)
    print('  admin token: REVOKED (admins sign in with issued tokens; --rotate-admin-token sets a new one)');
  else if (opts.rotateAdminToken)
    print(
      `  admin token: ROTATED; the previous one no longer works${token.file ? '' : ' (now SUANLI_ADMIN_TOKEN)'}`,
    );
  if (token.warning) {
    print(`  warning: ${token.warning}`);
    logger?.warn(token.warning);
  }
  // After a revocation there is no bootstrap token to authenticate with.
  if (opts.revokeAdminToken) {
    /* no authenticate line */
  } else if (token.file) print(`  authenticate: export SUANLI_URL=${url} SUANLI_TOKEN=$(cat ${token.file})`);
  else
    print(
      `  authenticate: export SUANLI_URL=${url} SUANLI_TOKEN=<the SUANLI_ADMIN_TOKEN this data directory was initialised with>`,
    );

  return {
    app,
    engine,
    store,
    url,
    dataDir,
    policy: policyManager,
    async reloadPolicy() {
      if (!policyManager) return;
      engine.setPolicy(await policyManager.reload());
    },
    async close(closeOpts) {
      await app.close();
      await engine.stop();
      if (closeOpts?.endJobs)
        for (const j of await store.jobsInStates(['starting', 'running']))
          if (j.executorRef !== null) await executor.cancel(j.id, j.executorRef, closeOpts.graceMs ?? 0);
      try {
        await store.close();
      } finally {
        logFile?.close();
        release();
      }
    },
  };
}

/**
 * Sets the modes the data directory must have and returns a line per mode it had to tighten: the
 * directory and `logs/` 0700 (0711 when jobs are confined: their accounts traverse them, without
 * listing, to reach their own 0700 directories), and every file directly in it (database, WAL and
 * shared-memory files, admin token, policy) 0600.
 */
export function secureDataDir(dataDir: string, confined: boolean): string[] {
  const fixed: string[] = [];
  const enforce = (path: string, mode: number) => {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o777) !== mode) {
      chmodSync(path, mode);
      fixed.push(`${path} had mode 0${(st.mode & 0o777).toString(8)}; set to 0${mode.toString(8)}`);
    }
  };
  const dirMode = confined ? 0o711 : 0o700;
  enforce(dataDir, dirMode);
  const logs = join(dataDir, 'logs');
  if (!existsSync(logs)) mkdirSync(logs, { mode: dirMode });
  enforce(logs, dirMode);
  for (const f of readdirSync(dataDir)) {
    const p = join(dataDir, f);
    if (lstatSync(p).isFile()) enforce(p, 0o600);
  }
  return fixed;
}

export async function readTextFile(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** The configuration error a user can fix (bad flags): the CLI prints it without a stack. */
export class ServerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerConfigError';
  }
}

/** The health check settings, checked: a program that is not an executable file is refused at start. */
function healthOptions(opts: ServerOptions): NodeHealthOptions | null {
  const intervalMs = opts.healthCheckIntervalMs ?? 60_000;
  if (!Number.isFinite(intervalMs) || intervalMs < 0)
    throw new ServerConfigError(
      `--health-check-interval must be a number of seconds (0: no checks), not "${intervalMs / 1000}"`,
    );
  const timeoutMs = opts.healthCheckTimeoutMs ?? 60_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new ServerConfigError(
      `--health-check-timeout must be a positive number of seconds, not "${timeoutMs / 1000}"`,
    );
  const policy = opts.healthReturn ?? 'manual';
  if (!HEALTH_RETURN_POLICIES.includes(policy))
    throw new ServerConfigError(`--health-return must be manual or auto, not "${String(policy)}"`);
  let program: string | null = null;
  if (opts.healthCheckProgram !== undefined) {
    program = resolve(opts.healthCheckProgram);
    try {
      if (!statSync(program).isFile()) throw new Error('not a regular file');
      accessSync(program, fsConstants.X_OK);
    } catch (err) {
      throw new ServerConfigError(
        `--health-check-program ${program} cannot be run (${(err as Error).message}): give an executable file`,
      );
    }
  }
  if (intervalMs === 0) {
    if (program !== null)
      throw new ServerConfigError('--health-check-program needs a --health-check-interval above 0');
    return null;
  }
  return { intervalMs, returnPolicy: policy, program, programTimeoutMs: timeoutMs };
}

async function buildExecutor(opts: ServerOptions, warn: (msg: string) => void): Promise<Executor> {
  const kind = opts.executor ?? 'local';
  if (kind === 'local') {
    if (opts.cgroupParent !== undefined && !CGROUP_PARENT_RE.test(opts.cgroupParent))
      throw new ServerConfigError(
        `--cgroup-parent must be a relative cgroup path such as suanli or system.slice/suanli, not "${opts.cgroupParent}"`,
      );
    return createLocalExecutor(opts, warn);
  }
  if (kind === 'slurm') {
    const parsed = parseSlurmOptions(opts.slurm ?? {}, process.env);
    if (!parsed.ok)
      throw new ServerConfigError(`cannot use the Slurm executor:\n  ${parsed.errors.join('\n  ')}`);
    return createSlurmExecutor(parsed.value);
  }
  throw new ServerConfigError(`--executor must be "local" or "slurm", not "${String(kind)}"`);
}
