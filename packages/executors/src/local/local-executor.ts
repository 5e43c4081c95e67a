/**
 * The local executor: runs every replica of an attempt as an OS process on THIS machine.
 *
 * Design, and why:
 * - Each replica is its own process group (`detached: true`), so a cancel or a gang kill reaches
 *   everything the job forked, and a Ctrl-C or crash of the server does not.
 * - stdout/stderr are files opened by us and handed to the child as file descriptors (O_APPEND;
 *   all replicas append to the same two files). No pipes: a pipe dies with the server and the next
 *   write would kill the job with SIGPIPE; a file keeps working after `kill -9` of the server.
 * - Each replica runs under a tiny POSIX `sh` shim (`SHIM_SCRIPT`) that waits for the command and
 *   records its end durably in `<logDir>/exit-status.<rank>` (tmp file + rename, so a reader never
 *   sees half a record). An attempt that ends while the server is down is still reported with its
 *   real exit code. `sh` rather than a Node shim: it costs ~1 MB instead of ~40 MB per replica and
 *   exists on every machine (and every Slurm node) we target.
 * - The `ref` the engine stores proves identity after a restart: per replica the pid, the process
 *   start time (/proc/<pid>/stat field 22) and the machine's boot id. A pid alone is reused by the
 *   kernel; with the start time and boot id it names exactly one process ever.
 *
 * Exit status recorded by the shim: `code <n>`, or `signal SIG<NAME>` when the shell saw status
 * 128+n (the shell convention: a program that itself exits with 130 is indistinguishable from one
 * killed by SIGINT). A replica SIGKILLed together with its shim leaves no record; the live watcher
 * then reports the signal Node observed, and recovery reports what it could not prove.
 *
 * Confinement (`LocalExecutorOptions.confine`, on whenever the server runs as root): each replica
 * runs as the job's Unix account (`Accounts`), in its own control group enforcing the spec's
 * memory, CPU and a pids limit (`Cgroups`), inside PID and mount namespaces with a private /dev
 * holding only its own accelerators' device nodes and a private /tmp (`sandbox.ts`). The shim and
 * the namespace's init stay root, so the job can neither signal them nor forge its exit record,
 * which lives in the attempt's state directory (`<logDir>.state`, the server's, mode 0700) and
 * not in the log directory the job owns. The attempt's peak memory and CPU time are read from
 * its control groups when it ends; a replica the kernel's OOM killer ended makes the attempt end
 * with `limit: 'out-of-memory'`. Without confinement (a server that is not root) replicas run as
 * the server's own account, and `confinement()` says so.
 *
 * Not here: time limits (the engine calls `cancel`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants as fsConstants,
  existsSync,
  fchownSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ClusterNode } from '@suanli/core';
import { replicaLogPaths } from '../executor.js';
import type {
  AttemptResources,
  Confinement,
  ExecutionEvent,
  Executor,
  LaunchRequest,
  LimitExceeded,
  LogPaths,
  RecoveryResult,
} from '../executor.js';
import { buildReplicaEnv, launcherOnly, launchFiles, resolveReplicaDevices } from '../env.js';
import { Accounts, type AccountsOptions, type UnixAccount } from '../confine/accounts.js';
import { detectCgroups, type Cgroups } from '../confine/cgroup.js';
import {
  charDeviceIds,
  deviceNodesFor,
  findSandboxTools,
  sandboxArgv,
  type SandboxTools,
} from '../confine/sandbox.js';
import { isEnded, liveProcessGroups, readBootId, readProcStat } from './procfs.js';

/**
 * The shim, run as `sh -c SHIM_SCRIPT suanli-shim <status-file> <command…>`. It traps TERM/INT/HUP/USR1/USR2
 * with a no-op so that a signal sent to the whole process group ends the JOB and not the shim,
 * which then lives long enough to record how the job ended. (A trapped signal is reset to its
 * default in the exec'ed command, unlike an ignored one, so the job still receives it normally.)
 */
export const SHIM_SCRIPT = [
  // `<status-file> <n> <cgroup.procs file>×n <command…>`: join the replica's control groups first
  // (everything forked later stays inside); a group that cannot be joined fails the replica with 125.
  'f=$1; n=$2; shift 2; s=',
  'while [ "$n" -gt 0 ]; do',
  '  if [ -z "$s" ] && ! echo $$ > "$1"; then echo "suanli: cannot join the control group $1" >&2; s=125; fi',
  '  shift; n=$((n - 1))',
  'done',
  'trap : TERM INT HUP USR1 USR2',
  'if [ -z "$s" ]; then "$@"; s=$?; fi',
  'if [ "$s" -gt 128 ] && [ "$s" -lt 193 ]; then r="signal SIG$(kill -l "$s")"; else r="code $s"; fi',
  'printf "%s\\n" "$r" > "$f.tmp" && mv -f "$f.tmp" "$f"',
  'exit "$s"',
].join('\n');

export interface LocalExecutorOptions {
  /** The node(s) this executor offers; usually `[await discoverLocalNode(...)]`. */
  readonly inventory: () => Promise<ClusterNode[]>;
  /** When set, launches whose placement names another node are refused. */
  readonly nodeName?: string;
  /** How often re-adopted (no longer our children) replicas are checked. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** When one replica of a gang fails: time between SIGTERM and SIGKILL of the others. Default 10 000 ms. */
  readonly gangGraceMs?: number;
  /** After SIGKILL, how long `cancel` waits for the process groups to disappear before failing. Default 5000 ms. */
  readonly killWaitMs?: number;
  /** Environment inherited by jobs (device variables removed). Default: the server's `process.env`. */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Rendezvous host given to replicas. Default 127.0.0.1 (all replicas share this machine). */
  readonly masterAddr?: string;
  /** Clock for event timestamps (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
  /** Fence every replica (see the header); null or absent: replicas run as the server's account. */
  readonly confine?: LocalConfinement | null;
}

/** What confining replicas needs; `detectLocalConfinement` builds it for this machine. */
export interface LocalConfinement {
  /** Who a replica runs as (`Accounts`; tests map every tenant to a throwaway account). */
  readonly accounts: Pick<Accounts, 'resolve'>;
  readonly cgroups: Cgroups;
  readonly tools: SandboxTools;
  /** Where the host's device nodes are. Default `/dev` (tests use a directory of `mknod`ed nodes). */
  readonly deviceDir?: string;
  /** Most processes and threads a replica may have at once. Default 4096. */
  readonly pidsLimit?: number;
}

export const DEFAULT_PIDS_LIMIT = 4096;

/** Variables a confined replica inherits from the server; the rest of its environment (tokens, passwords) stays behind. */
export const CONFINED_INHERITED_ENV = ['PATH', 'LANG', 'LANGUAGE', 'TZ', 'TERM'] as const;

/** One replica's identity in the ref. */
export interface LocalReplicaRef {
  readonly rank: number;
  /** Pid of the shim, which is also the process group id of the replica. */
  readonly pid: number;
  /** /proc/<pid>/stat field 22 (clock ticks after boot), as text. */
  readonly startTime: string;
  /** The replica's control group (`Cgroups` name) when confined. */
  readonly cgroup?: string;
}

/** The `ref` of a local attempt, stored by the engine as JSON. */
export interface LocalRef {
  readonly v: 1;
  readonly bootId: string;
  readonly replicas: readonly LocalReplicaRef[];
  /** The rank whose end is the attempt's, the others only holding devices (`launcherOnly`); absent: none. */
  readonly leader?: number;
}

/** What a replica that only holds its devices for the launcher runs (`launcherOnly`). */
export const HOLDER_COMMAND = ['/bin/sh', '-c', 'exec sleep 2147483647'] as const;

/** How one replica ended. `unknown`: it ended but left no exit record (killed with its shim). */
export type ReplicaOutcome =
  | { readonly kind: 'code'; readonly code: number }
  | { readonly kind: 'signal'; readonly signal: string }
  | { readonly kind: 'unknown' };

const STATUS_PREFIX = 'exit-status.';
const CANCEL_POLL_MS = 20;
const CGROUP_NAME_RE = /^[A-Za-z0-9._-]{1,200}$/;
const CGROUP_SWEEP_MS = 500;
const CGROUP_CLOSE_WAIT_MS = 5000;

/**
 * `<logDir>.state`: the executor's own files for the attempt (ref, exit records, sandbox staging),
 * mode 0700 and the server's, beside the log directory that the job owns and could tamper with.
 */
export function attemptStateDir(logDir: string): string {
  return `${logDir}.state`;
}

/** `<state>/ref.json`: the attempt's ref, for recovery when the engine never stored it. */
export function refFilePath(logDir: string): string {
  return join(attemptStateDir(logDir), 'ref.json');
}

function writeRefFile(logDir: string, ref: string): void {
  const path = refFilePath(logDir);
  writeFileSync(`${path}.tmp`, ref);
  renameSync(`${path}.tmp`, path);
}

function readRefFile(logDir: string): string | null {
  try {
    return readFileSync(refFilePath(logDir), 'utf8');
  } catch {
    return null;
  }
}

export function exitStatusPath(logDir: string, rank: number): string {
  return join(attemptStateDir(logDir), `${STATUS_PREFIX}${rank}`);
}

/** Parses an exit-status record written by the shim; null when absent or malformed. */
export function parseExitStatus(text: string): ReplicaOutcome | null {
  const m = /^(code|signal) (\S+)\s*$/.exec(text);
  if (!m || m[2] === undefined) return null;
  if (m[1] === 'code') return /^\d+$/.test(m[2]) ? { kind: 'code', code: Number(m[2]) } : null;
  return /^SIG[A-Z0-9]+$/.test(m[2]) ? { kind: 'signal', signal: m[2] } : null;
}

function readExitStatus(logDir: string, rank: number): { outcome: ReplicaOutcome; mtimeMs: number } | null {
  const p = exitStatusPath(logDir, rank);
  try {
    const outcome = parseExitStatus(readFileSync(p, 'utf8'));
    return outcome === null ? null : { outcome, mtimeMs: Math.floor(statSync(p).mtimeMs) };
  } catch {
    return null;
  }
}

/** Parses a ref; null when it is not one this executor wrote. */
export function parseLocalRef(ref: string): LocalRef | null {
  let v: unknown;
  try {
    v = JSON.parse(ref);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (
    o['v'] !== 1 ||
    typeof o['bootId'] !== 'string' ||
    !Array.isArray(o['replicas']) ||
    o['replicas'].length === 0
  )
    return null;
  const replicas: LocalReplicaRef[] = [];
  const leader = o['leader'];
  if (leader !== undefined && !Number.isInteger(leader)) return null;
  for (const r of o['replicas'] as unknown[]) {
    if (typeof r !== 'object' || r === null) return null;
    const { rank, pid, startTime, cgroup } = r as Record<string, unknown>;
    if (
      !Number.isInteger(rank) ||
      !Number.isInteger(pid) ||
      (pid as number) <= 1 ||
      typeof startTime !== 'string' ||
      (cgroup !== undefined && (typeof cgroup !== 'string' || !CGROUP_NAME_RE.test(cgroup)))
    )
      return null;
    replicas.push({
      rank: rank as number,
      pid: pid as number,
      startTime,
      ...(typeof cgroup === 'string' ? { cgroup } : {}),
    });
  }
  return { v: 1, bootId: o['bootId'], replicas, ...(typeof leader === 'number' ? { leader } : {}) };
}

/**
 * The attempt's result from its replicas' outcomes, in the order they were observed: the FIRST
 * replica to fail decides (the others were usually killed because of it, by gang semantics), so
 * its code or signal is the attempt's; when none failed, 0.
 */
export function aggregateOutcomes(
  observed: readonly ReplicaOutcome[],
  ranks: readonly number[] = [],
  leader: number | null = null,
): {
  exitCode: number | null;
  signal: string | null;
  backendReason: string | null;
  replica: number | null;
} {
  for (const [i, o] of observed.entries()) {
    const replica = ranks[i] ?? null;
    // The launcher ended before any holder failed: its end is the attempt's (the holders were stopped for it).
    if (leader !== null && replica === leader) return { ...aggregateOutcomes([o]), replica };
    if (o.kind === 'code' && o.code !== 0)
      return { exitCode: o.code, signal: null, backendReason: null, replica };
    if (o.kind === 'signal') return { exitCode: null, signal: o.signal, backendReason: null, replica };
    if (o.kind === 'unknown')
      return { exitCode: null, signal: null, backendReason: 'exit-status-unknown', replica };
  }
  return { exitCode: 0, signal: null, backendReason: null, replica: null };
}

function isFailure(o: ReplicaOutcome): boolean {
  return !(o.kind === 'code' && o.code === 0);
}

/** Sends `signal` to process group `pgid`; false when no such group exists any more. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/**
 * May we signal process group `r.pid`? Yes when the leader is provably ours (alive, same start
 * time) or gone/zombie (Linux never hands out a pid that still names a process group, so a group
 * with that id is still ours). No when the pid now belongs to another process.
 */
function groupIsOurs(r: LocalReplicaRef): boolean {
  const st = readProcStat(r.pid);
  return st === null || isEnded(st) || st.startTime === r.startTime;
}

interface ReplicaWatch {
  readonly ref: LocalReplicaRef;
  /** Our child while we launched it in this process; null for re-adopted replicas (polled). */
  readonly child: ChildProcess | null;
  outcome: ReplicaOutcome | null;
}

interface AttemptWatch {
  readonly jobId: string;
  readonly attempt: number;
  readonly logDir: string;
  readonly replicas: ReplicaWatch[];
  readonly observed: ReplicaOutcome[];
  /** The rank of each entry of `observed`. */
  readonly observedRanks: number[];
  /** See `LocalRef.leader`. */
  readonly leader: number | null;
  runningEmitted: boolean;
  gangKillStarted: boolean;
  gangKillTimer: NodeJS.Timeout | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A port free right now on `host`, for the rendezvous. Another process may take it before rank 0
 * binds it (the window is the job's start-up); frameworks then fail at init and the attempt is
 * retried, which is cheaper than a port allocator the platform would have to keep in step.
 */
async function freeLoopbackPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not pick a rendezvous port'))));
    });
  });
}

/**
 * Below this many free bytes on the file system of a job's log directory the job is not launched:
 * its output (and its exit record) would be lost, and the job would fail for the platform's fault.
 */
export const LOG_DIR_MIN_FREE_BYTES = 1024 * 1024;

/** The launch failure for a log directory the platform cannot write: `log directory not writable: ENOSPC …`. */
export class LogDirNotWritableError extends Error {
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(`log directory not writable: ${code} (${detail})`);
    this.name = 'LogDirNotWritableError';
  }
}

/** Runs a file operation in a job's log directory; a full, read-only or over-quota disk becomes `LogDirNotWritableError`. */
function logDirWritable<T>(logDir: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS')
      throw new LogDirNotWritableError(code, logDir);
    throw err;
  }
}

function assertLogDirSpace(logDir: string): void {
  let free: number;
  try {
    const st = statfsSync(logDir);
    free = st.bavail * st.bsize;
  } catch {
    return; // unknown: the writes themselves will tell
  }
  if (free < LOG_DIR_MIN_FREE_BYTES)
    throw new LogDirNotWritableError('ENOSPC', `${free} bytes free on the file system of ${logDir}`);
}

/**
 * Opens (creating) a log file for appending, handed to the replicas as their stdout/stderr. In a
 * directory the job owns, so never through a link; the file then belongs to the job's account.
 */
function openLogFile(path: string, account: UnixAccount | null): number {
  const fd = openSync(
    path,
    fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW,
    account ? 0o600 : 0o644,
  );
  if (account) fchownSync(fd, account.uid, account.gid);
  return fd;
}

/** A confined replica's inherited environment: the locale and PATH, and who and where it is. */
function confinedBaseEnv(
  base: Readonly<Record<string, string | undefined>>,
  account: UnixAccount,
  home: string,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(base))
    if ((CONFINED_INHERITED_ENV as readonly string[]).includes(k) || k.startsWith('LC_')) env[k] = base[k];
  return { ...env, HOME: home, USER: account.name, LOGNAME: account.name, SHELL: '/bin/sh' };
}

/** The attempt's peak memory (largest replica) and CPU time (all replicas), and whether OOM struck. */
function collectUsage(
  cgroups: Cgroups,
  names: readonly string[],
): { resources: AttemptResources | null; limit: LimitExceeded | null } {
  if (names.length === 0) return { resources: null, limit: null };
  let peak: number | null = null;
  let cpu: number | null = null;
  let oom = 0;
  for (const n of names) {
    const u = cgroups.usage(n);
    if (u === null) continue;
    if (u.peakMemoryBytes !== null) peak = Math.max(peak ?? 0, u.peakMemoryBytes);
    if (u.cpuTimeMs !== null) cpu = (cpu ?? 0) + u.cpuTimeMs;
    oom += u.oomKills;
  }
  return { resources: { peakMemoryBytes: peak, cpuTimeMs: cpu }, limit: oom > 0 ? 'out-of-memory' : null };
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  private readonly opts: LocalExecutorOptions;

  /** The node this executor runs jobs on, when it was told (`nodeName`): the machine it is on. */
  get nodeName(): string | undefined {
    return this.opts.nodeName;
  }

  private readonly pollIntervalMs: number;
  private readonly gangGraceMs: number;
  private readonly killWaitMs: number;
  private readonly now: () => number;
  private readonly listeners: ((e: ExecutionEvent) => void)[] = [];
  private readonly watches = new Map<string, AttemptWatch>();
  private pollTimer: NodeJS.Timeout | null = null;
  /** Control groups of ended replicas that still held a process when their attempt ended. */
  private readonly unremovedCgroups = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(opts: LocalExecutorOptions) {
    this.opts = opts;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.gangGraceMs = opts.gangGraceMs ?? 10_000;
    this.killWaitMs = opts.killWaitMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  discover(): Promise<ClusterNode[]> {
    return this.opts.inventory();
  }

  onEvent(listener: (e: ExecutionEvent) => void): void {
    this.listeners.push(listener);
  }

  logPaths(_jobId: string, _attempt: number, logDir: string): LogPaths {
    return { stdout: join(logDir, 'stdout.log'), stderr: join(logDir, 'stderr.log') };
  }

  /** Replica 0 writes `stdout.log`/`stderr.log` (a one-replica job's whole log); replica r, `stdout.<r>.log`. */
  replicaLogPaths(jobId: string, attempt: number, logDir: string, rank: number): LogPaths {
    return replicaLogPaths(this.logPaths(jobId, attempt, logDir), rank);
  }

  confinement(): Confinement {
    const c = this.opts.confine;
    if (!c)
      return {
        confined: false,
        detail: `jobs run as the server's own account (uid ${process.getuid?.() ?? '?'}); start the server as root to confine them`,
      };
    return {
      confined: true,
      detail: `each replica runs as its tenant's Unix account in ${String(c.cgroups)} (memory, CPU, pids ≤ ${c.pidsLimit ?? DEFAULT_PIDS_LIMIT}), with its own PID namespace, /tmp and a /dev holding only its devices`,
    };
  }

  async launch(req: LaunchRequest): Promise<{ ref: string }> {
    if (this.closed) throw new Error('local executor is closed');
    if (req.placement.length === 0) throw new Error(`job ${req.jobId}: placement is empty`);
    if (req.spec.command.length === 0) throw new Error(`job ${req.jobId}: command is empty`);
    const nodeName = this.opts.nodeName;
    if (nodeName !== undefined) {
      const foreign = req.placement.find((p) => p.node !== nodeName);
      if (foreign)
        throw new Error(
          `job ${req.jobId}: the local executor runs on node "${nodeName}" only, placement names "${foreign.node}"`,
        );
    }
    const confine = this.opts.confine ?? null;
    const account = confine ? await confine.accounts.resolve(req.tenant, req.unixUser) : null;
    const cwd = req.spec.workingDir ?? req.logDir;
    logDirWritable(req.logDir, () => mkdirSync(req.logDir, { recursive: true }));
    assertLogDirSpace(req.logDir);
    if (req.spec.workingDir !== null) {
      let isDir: boolean;
      try {
        isDir = statSync(cwd).isDirectory();
      } catch {
        isDir = false;
      }
      if (!isDir)
        throw new Error(`job ${req.jobId}: working directory "${cwd}" does not exist or is not a directory`);
    }
    const stateDir = attemptStateDir(req.logDir);
    // A reused state dir must not hand a stale exit record to this attempt.
    rmSync(stateDir, { recursive: true, force: true });
    logDirWritable(req.logDir, () => mkdirSync(stateDir, { mode: 0o700 }));
    if (account) {
      // The job's directory: its account's alone (the directories above it are the server's).
      chownSync(req.logDir, account.uid, account.gid);
      chmodSync(req.logDir, 0o700);
      // The checkpoint directory is the job's too, for every attempt (made by the engine).
      if (req.checkpointDir) {
        mkdirSync(req.checkpointDir, { recursive: true });
        chownSync(req.checkpointDir, account.uid, account.gid);
        chmodSync(req.checkpointDir, 0o700);
      }
    }

    const masterAddr = this.opts.masterAddr ?? '127.0.0.1';
    const rendezvous = { masterAddr, masterPort: await freeLoopbackPort(masterAddr), filesDir: req.logDir };
    // The framework's launch files, before any replica starts; the job's own, like its logs.
    for (const [name, content] of Object.entries(launchFiles(req, rendezvous))) {
      const fd = openSync(
        join(req.logDir, name),
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW,
        0o644,
      );
      try {
        writeFileSync(fd, content);
        if (account) fchownSync(fd, account.uid, account.gid);
      } finally {
        closeSync(fd);
      }
    }
    const leader = launcherOnly(req) && req.placement.length > 1 ? 0 : null;
    const baseEnv = account
      ? confinedBaseEnv(this.opts.baseEnv ?? process.env, account, req.logDir)
      : (this.opts.baseEnv ?? process.env);
    // Build every environment before starting anything: a bad placement fails the launch whole.
    const envs = req.placement.map((_, rank) => buildReplicaEnv(req, rank, rendezvous, baseEnv));
    // One pair of log files per replica, so that replicas' lines never interleave mid-line.
    const fds: number[] = [];
    const logFds = req.placement.map((_, rank) => {
      const paths = this.replicaLogPaths(req.jobId, req.attempt, req.logDir, rank);
      const out = logDirWritable(req.logDir, () => openLogFile(paths.stdout, account));
      fds.push(out);
      const err = logDirWritable(req.logDir, () => openLogFile(paths.stderr, account));
      fds.push(err);
      return { out, err };
    });
    const bootId = readBootId();
    const started: ReplicaWatch[] = [];
    const cgroups: string[] = [];
    try {
      for (const [rank, env] of envs.entries()) {
        let argv: string[] = leader !== null && rank !== leader ? [...HOLDER_COMMAND] : [...req.spec.command];
        let procs: string[] = [];
        let cgroup: string | undefined;
        if (confine && account) {
          cgroup = `${req.jobId}.${req.attempt}.${rank}`;
          const devices = deviceNodesFor(
            resolveReplicaDevices(req, rank),
            confine.deviceDir ?? '/dev',
            existsSync,
          );
          cgroups.push(cgroup);
          procs = confine.cgroups.create(cgroup, {
            memoryBytes: req.spec.perReplica.memoryMiB > 0 ? req.spec.perReplica.memoryMiB * 2 ** 20 : null,
            cpuMillis: req.spec.perReplica.cpuMillis > 0 ? req.spec.perReplica.cpuMillis : null,
            pids: confine.pidsLimit ?? DEFAULT_PIDS_LIMIT,
            allowedDevices: charDeviceIds(devices),
          });
          const stage = join(stateDir, `dev.${rank}`);
          mkdirSync(stage, { mode: 0o700 });
          argv = sandboxArgv(confine.tools, stage, devices, account, argv);
        }
        const child = spawn(
          '/bin/sh',
          [
            '-c',
            SHIM_SCRIPT,
            'suanli-shim',
            exitStatusPath(req.logDir, rank),
            String(procs.length),
            ...procs,
            ...argv,
          ],
          {
            cwd,
            env,
            detached: true,
            stdio: ['ignore', logFds[rank]!.out, logFds[rank]!.err],
          },
        );
        if (child.pid === undefined) {
          const err = await new Promise<Error>((resolve) => child.once('error', resolve));
          throw new Error(`job ${req.jobId}: could not start replica ${rank}: ${err.message}`);
        }
        const stat = readProcStat(child.pid);
        if (stat === null)
          throw new Error(
            `job ${req.jobId}: replica ${rank} (pid ${child.pid}) vanished before its start time could be read`,
          );
        started.push({
          ref: {
            rank,
            pid: child.pid,
            startTime: stat.startTime,
            ...(cgroup !== undefined ? { cgroup } : {}),
          },
          child,
          outcome: null,
        });
      }
    } catch (e) {
      for (const r of started) signalGroup(r.ref.pid, 'SIGKILL');
      for (const g of cgroups) {
        confine?.cgroups.kill(g);
        confine?.cgroups.remove(g);
      }
      throw e;
    } finally {
      for (const fd of fds) closeSync(fd);
    }

    const ref: LocalRef = {
      v: 1,
      bootId,
      replicas: started.map((r) => r.ref),
      ...(leader !== null ? { leader } : {}),
    };
    // Also kept beside the logs, written synchronously right after the spawns: if the server dies
    // before the engine stores the ref, recovery still finds and proves these processes instead of
    // declaring the attempt lost and running it a second time.
    writeRefFile(req.logDir, JSON.stringify(ref));
    const watch = this.addWatch(req.jobId, req.attempt, req.logDir, started, leader);
    for (const r of started) {
      r.child?.once('exit', (code, signal) => {
        const recorded = readExitStatus(req.logDir, r.ref.rank)?.outcome;
        const seen: ReplicaOutcome =
          code !== null
            ? { kind: 'code', code }
            : signal !== null
              ? { kind: 'signal', signal }
              : { kind: 'unknown' };
        this.replicaEnded(watch, r, recorded ?? seen, true);
      });
    }
    // After `launch` resolves, so the engine has the ref before it hears of the attempt.
    setImmediate(() => this.emitRunning(watch));
    return { ref: JSON.stringify(ref) };
  }

  async cancel(
    jobId: string,
    ref: string,
    graceMs: number,
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<void> {
    const parsed = parseLocalRef(ref);
    if (parsed === null) throw new Error(`job ${jobId}: not a local executor ref: ${ref.slice(0, 200)}`);
    if (parsed.bootId !== readBootId()) return; // the machine rebooted: nothing of it can still run
    const watch = [...this.watches.values()].find(
      (w) => w.jobId === jobId && w.replicas.some((r) => r.ref.pid === parsed.replicas[0]?.pid),
    );
    if (watch) watch.gangKillStarted = true; // the cancel owns termination now
    const groups = new Set(parsed.replicas.filter(groupIsOurs).map((r) => r.pid));
    for (const g of groups) signalGroup(g, signal);
    if (await this.waitGroupsGone(groups, graceMs)) return;
    for (const g of liveProcessGroups(groups)) signalGroup(g, 'SIGKILL');
    // Whatever left the process group (setsid) is still in the replica's control group.
    for (const r of parsed.replicas) if (r.cgroup !== undefined) this.opts.confine?.cgroups.kill(r.cgroup);
    if (await this.waitGroupsGone(groups, this.killWaitMs)) return;
    throw new Error(
      `job ${jobId}: processes still present ${this.killWaitMs} ms after SIGKILL (stuck in the kernel?): groups ${[...liveProcessGroups(groups)].join(', ')}`,
    );
  }

  async recover(
    attempts: readonly { jobId: string; attempt: number; ref: string; logDir: string }[],
  ): Promise<RecoveryResult[]> {
    const bootId = readBootId();
    const results: RecoveryResult[] = [];
    for (const a of attempts) {
      const ref = parseLocalRef(a.ref) ?? (a.ref === '' ? parseLocalRef(readRefFile(a.logDir) ?? '') : null);
      if (ref === null) {
        results.push({
          jobId: a.jobId,
          status: 'lost',
          reason: 'the stored ref is not a local executor ref (pid, start time, boot id)',
        });
        continue;
      }
      if (ref.bootId !== bootId) {
        results.push({
          jobId: a.jobId,
          status: 'lost',
          reason: `the machine rebooted since launch (boot id ${ref.bootId}, now ${bootId}): its processes are gone and no exit status was recorded for this boot`,
        });
        continue;
      }
      const key = `${a.jobId}#${a.attempt}`;
      if (this.watches.has(key)) {
        results.push({ jobId: a.jobId, status: 'running' });
        continue;
      }
      const problems: string[] = [];
      const alive: LocalReplicaRef[] = [];
      const ended: { r: LocalReplicaRef; outcome: ReplicaOutcome; mtimeMs: number }[] = [];
      for (const r of ref.replicas) {
        const st = readProcStat(r.pid);
        if (st !== null && !isEnded(st) && st.startTime === r.startTime) {
          alive.push(r);
          continue;
        }
        // Not alive as recorded. Its exit record proves how it ended, whoever holds the pid now.
        const rec = readExitStatus(a.logDir, r.rank);
        if (rec !== null) ended.push({ r, outcome: rec.outcome, mtimeMs: rec.mtimeMs });
        else if (st !== null && !isEnded(st))
          problems.push(
            `replica ${r.rank}: pid ${r.pid} now belongs to another process (start time ${st.startTime}, recorded ${r.startTime}) and no exit record exists in ${a.logDir}`,
          );
        else
          problems.push(
            `replica ${r.rank} (pid ${r.pid}) has ended without an exit record in ${a.logDir} (killed together with its shim?)`,
          );
      }
      if (problems.length > 0) {
        // What IS provably ours must not keep devices the engine will now give to someone else.
        for (const r of alive) signalGroup(r.pid, 'SIGKILL');
        this.releaseCgroups(ref.replicas);
        results.push({ jobId: a.jobId, status: 'lost', reason: problems.join('; ') });
        continue;
      }
      if (alive.length === 0) {
        const agg = aggregateOutcomes(
          ended.map((e) => e.outcome),
          ended.map((e) => e.r.rank),
          ref.leader ?? null,
        );
        results.push({
          jobId: a.jobId,
          status: 'exited',
          exitCode: agg.exitCode,
          signal: agg.signal,
          at: Math.max(...ended.map((e) => e.mtimeMs)),
          ...this.releaseCgroups(ref.replicas),
        });
        continue;
      }
      // Some (or all) replicas still run: re-adopt. Replicas that ended while we were down count
      // as observed first, so a failure among them ends the gang as it would have live.
      const replicas: ReplicaWatch[] = ref.replicas.map((r) => ({ ref: r, child: null, outcome: null }));
      const watch = this.addWatch(a.jobId, a.attempt, a.logDir, replicas, ref.leader ?? null);
      watch.runningEmitted = true; // the engine learns "running" from this result, not an event
      for (const e of ended) {
        const w = replicas.find((x) => x.ref.rank === e.r.rank);
        if (w) this.replicaEnded(watch, w, e.outcome, false);
      }
      this.ensurePolling();
      results.push({ jobId: a.jobId, status: 'running' });
    }
    return results;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    // Groups of ended attempts go with us, not later: give the kernel a bounded moment to free them.
    const deadline = Date.now() + CGROUP_CLOSE_WAIT_MS;
    while (!this.sweepCgroups() && Date.now() < deadline) await sleep(CGROUP_SWEEP_MS / 5);
    for (const w of this.watches.values()) {
      if (w.gangKillTimer) clearTimeout(w.gangKillTimer);
      for (const r of w.replicas) {
        r.child?.removeAllListeners('exit');
        r.child?.unref();
      }
    }
    this.watches.clear();
    this.listeners.length = 0;
  }

  // --- internals -------------------------------------------------------------------------------

  private addWatch(
    jobId: string,
    attempt: number,
    logDir: string,
    replicas: ReplicaWatch[],
    leader: number | null,
  ): AttemptWatch {
    const w: AttemptWatch = {
      jobId,
      attempt,
      logDir,
      replicas,
      observed: [],
      observedRanks: [],
      leader,
      runningEmitted: false,
      gangKillStarted: false,
      gangKillTimer: null,
    };
    this.watches.set(`${jobId}#${attempt}`, w);
    return w;
  }

  private emit(e: ExecutionEvent): void {
    if (this.closed) return;
    for (const l of this.listeners) l(e);
  }

  private emitRunning(w: AttemptWatch): void {
    if (w.runningEmitted) return;
    w.runningEmitted = true;
    this.emit({ kind: 'running', jobId: w.jobId, attempt: w.attempt, at: this.now() });
  }

  /** Records one replica's end; applies gang semantics; emits `exited` once all have ended. */
  private replicaEnded(
    w: AttemptWatch,
    r: ReplicaWatch,
    outcome: ReplicaOutcome,
    leaderReaped: boolean,
  ): void {
    if (r.outcome !== null || this.watches.get(`${w.jobId}#${w.attempt}`) !== w) return;
    r.outcome = outcome;
    w.observed.push(outcome);
    w.observedRanks.push(r.ref.rank);
    // Stragglers the job left in its group (daemons, dataloader workers) would keep its devices.
    // Safe: a pid that still names a process group is never reused; for a reaped leader with an
    // empty group the kill simply finds nothing.
    if (leaderReaped || groupIsOurs(r.ref)) signalGroup(r.ref.pid, 'SIGKILL');
    const running = w.replicas.filter((x) => x.outcome === null);
    if (running.length > 0 && (isFailure(outcome) || r.ref.rank === w.leader) && !w.gangKillStarted) {
      // Gang semantics: a gang with a dead member cannot make progress; end the others. The
      // launcher's end, whatever it is, ends the holders that only kept devices for it.
      w.gangKillStarted = true;
      for (const x of running) if (groupIsOurs(x.ref)) signalGroup(x.ref.pid, 'SIGTERM');
      w.gangKillTimer = setTimeout(() => {
        for (const x of w.replicas)
          if (x.outcome === null && groupIsOurs(x.ref)) signalGroup(x.ref.pid, 'SIGKILL');
      }, this.gangGraceMs);
    }
    if (running.length > 0) return;
    if (w.gangKillTimer) clearTimeout(w.gangKillTimer);
    this.watches.delete(`${w.jobId}#${w.attempt}`);
    this.emitRunning(w);
    const agg = aggregateOutcomes(w.observed, w.observedRanks, w.leader);
    const usage = this.releaseCgroups(w.replicas.map((x) => x.ref));
    this.emit({ kind: 'exited', jobId: w.jobId, attempt: w.attempt, at: this.now(), ...agg, ...usage });
    if (![...this.watches.values()].some((x) => x.replicas.some((y) => y.child === null)) && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    }
  }

  /**
   * Reads what the replicas' control groups used, then removes them (killing any process still in
   * one: the replica has ended, so it can only be a straggler that must not keep its devices). A
   * group still holds a process the kernel has not freed yet (a zombie the machine's init has
   * still to reap, after a SIGKILL took the sandbox down at once) is removed by `sweepCgroups`.
   */
  private releaseCgroups(replicas: readonly LocalReplicaRef[]): {
    resources: AttemptResources | null;
    limit: LimitExceeded | null;
  } {
    const cg = this.opts.confine?.cgroups;
    const names = replicas.flatMap((r) => (r.cgroup !== undefined ? [r.cgroup] : []));
    if (!cg || names.length === 0) return { resources: null, limit: null };
    const usage = collectUsage(cg, names);
    for (const n of names) {
      cg.kill(n);
      if (!cg.remove(n)) this.unremovedCgroups.add(n);
    }
    if (this.unremovedCgroups.size > 0 && this.sweepTimer === null) {
      this.sweepTimer = setInterval(() => this.sweepCgroups(), CGROUP_SWEEP_MS);
      this.sweepTimer.unref();
    }
    return usage;
  }

  /** Removes the groups `releaseCgroups` could not; true when none is left. */
  private sweepCgroups(): boolean {
    const cg = this.opts.confine?.cgroups;
    for (const n of this.unremovedCgroups) if (!cg || cg.remove(n)) this.unremovedCgroups.delete(n);
    if (this.unremovedCgroups.size > 0) return false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    return true;
  }

  private ensurePolling(): void {
    if (this.pollTimer !== null || this.closed) return;
    this.pollTimer = setInterval(() => this.pollAdopted(), this.pollIntervalMs);
  }

  /** Re-adopted replicas are not our children: no exit event, so look at /proc. */
  private pollAdopted(): void {
    for (const w of [...this.watches.values()]) {
      for (const r of w.replicas) {
        if (r.child !== null || r.outcome !== null) continue;
        const st = readProcStat(r.ref.pid);
        if (st !== null && !isEnded(st) && st.startTime === r.ref.startTime) continue;
        const rec = readExitStatus(w.logDir, r.ref.rank);
        this.replicaEnded(w, r, rec?.outcome ?? { kind: 'unknown' }, false);
      }
    }
  }

  private async waitGroupsGone(groups: ReadonlySet<number>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      if (liveProcessGroups(groups).size === 0) return true;
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(CANCEL_POLL_MS, Math.max(1, deadline - Date.now())));
    }
  }
}

export interface DetectConfinementOptions {
  readonly accounts?: AccountsOptions;
  readonly deviceDir?: string;
  readonly pidsLimit?: number;
  /** Default `/sys/fs/cgroup`. */
  readonly cgroupRoot?: string;
  /** Below each hierarchy's root; default `suanli`. */
  readonly cgroupParent?: string;
}

/**
 * Confinement for this machine: on when the server runs as root and the cgroup controllers and the
 * util-linux tools are there; otherwise null with the reason (shown at start-up and in `suanli nodes`).
 */
export function detectLocalConfinement(
  opts: DetectConfinementOptions = {},
): { confine: LocalConfinement; reason: null } | { confine: null; reason: string } {
  if (process.getuid?.() !== 0)
    return {
      confine: null,
      reason: `the server runs as uid ${process.getuid?.() ?? '?'}, not root: jobs run as its own account, unconfined`,
    };
  const cg = detectCgroups(opts.cgroupRoot, opts.cgroupParent);
  if (cg.cgroups === null) return { confine: null, reason: `${cg.reason}: jobs cannot be confined` };
  const t = findSandboxTools(existsSync);
  if (t.tools === null)
    return { confine: null, reason: `${t.missing.join(', ')} not found: jobs cannot be confined` };
  return {
    confine: {
      accounts: new Accounts(opts.accounts),
      cgroups: cg.cgroups,
      tools: t.tools,
      ...(opts.deviceDir !== undefined ? { deviceDir: opts.deviceDir } : {}),
      ...(opts.pidsLimit !== undefined ? { pidsLimit: opts.pidsLimit } : {}),
    },
    reason: null,
  };
}
