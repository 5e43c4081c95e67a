/**
 * One control group per replica of an attempt: the spec's memory and CPU become limits, a pids
 * limit stops fork bombs, and what the replica used (peak memory, CPU time, whether the kernel's
 * OOM killer struck) is read back when it ends, like `sacct`'s MaxRSS and TotalCPU.
 *
 * Contract (both versions):
 * - `create(name, limits)` makes `<parent>/<name>` with the limits written, and returns the
 *   `cgroup.procs` files a process writes its own pid into to join (one per v1 hierarchy, one on
 *   v2). Everything it forks afterwards stays inside: an unprivileged process cannot leave.
 * - `usage(name)` reads what the group used so far; it stays readable after every process ended,
 *   until `remove(name)`. Null when the group does not exist.
 * - `kill(name)` SIGKILLs every process in the group (v2: `cgroup.kill`; v1: its `cgroup.procs`).
 * - `remove(name)` deletes the group; false while processes remain.
 * - `removeParent()` deletes the (empty) parent the groups were made in; false while any remains.
 *
 * cgroup v1 (the hybrid layout of these machines: `memory`, `pids`, `cpu`, `cpuacct`, `devices`
 * mounted side by side under /sys/fs/cgroup) and v2 (production hosts: one tree, controllers
 * enabled through `cgroup.subtree_control`) differ only in file names, which this module hides.
 * The root is a parameter so that unit tests run both drivers on a fake cgroupfs in a temp dir.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupLimits {
  /** Bytes of memory (RAM; swap is not allowed on top). null: no limit. */
  readonly memoryBytes: number | null;
  /** CPU quota in thousandths of a core (1000 = one core). null: no limit. */
  readonly cpuMillis: number | null;
  /** Most processes and threads at once. null: no limit. */
  readonly pids: number | null;
  /**
   * Character devices the group may open, as `major:minor` (v1 devices controller; a second fence
   * behind the private /dev). null: leave the devices controller alone (v2 has none without eBPF).
   */
  readonly allowedDevices: readonly string[] | null;
}

export interface CgroupUsage {
  readonly peakMemoryBytes: number | null;
  readonly cpuTimeMs: number | null;
  /** Processes the kernel's OOM killer ended inside the group. */
  readonly oomKills: number;
}

export interface Cgroups {
  readonly version: 1 | 2;
  create(name: string, limits: CgroupLimits): string[];
  usage(name: string): CgroupUsage | null;
  kill(name: string): void;
  remove(name: string): boolean;
  removeParent(): boolean;
}

/** Devices every job may open: null, zero, full, random, urandom, tty, ptmx and pseudo-terminals. */
export const BASIC_CHAR_DEVICES = ['1:3', '1:5', '1:7', '1:8', '1:9', '5:0', '5:2', '136:*'] as const;

/** CFS period used for CPU quotas (µs). */
const CPU_PERIOD_US = 100_000;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readInt(path: string): number | null {
  const t = readText(path)?.trim();
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : null;
}

/** `key value` lines (memory.events, cpu.stat, memory.oom_control) → the value of `key`. */
export function readKeyed(text: string | null, key: string): number | null {
  if (text === null) return null;
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key && v !== undefined && /^\d+$/.test(v)) return Number(v);
  }
  return null;
}

function pidsOf(procsFile: string): number[] {
  return (readText(procsFile) ?? '')
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

function killAll(procsFile: string): void {
  for (const pid of pidsOf(procsFile)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

const cpuQuota = (millis: number): number => Math.max(1000, Math.round((millis * CPU_PERIOD_US) / 1000));

/** cgroup v1: one hierarchy per controller, each with a `<parent>/<name>` directory. */
class CgroupsV1 implements Cgroups {
  readonly version = 1 as const;
  constructor(
    private readonly root: string,
    private readonly parent: string,
    /** Controller → the directory of its hierarchy (`memory` → `/sys/fs/cgroup/memory`). */
    private readonly mounts: ReadonlyMap<string, string>,
  ) {}

  private dir(ctrl: string, name: string): string | null {
    const m = this.mounts.get(ctrl);
    return m === undefined ? null : join(m, this.parent, name);
  }

  /** Distinct hierarchy directories of the group (cpu and cpuacct may share one). */
  private dirs(name: string): string[] {
    return [...new Set([...this.mounts.values()])].map((m) => join(m, this.parent, name));
  }

  create(name: string, limits: CgroupLimits): string[] {
    const dirs = this.dirs(name);
    for (const d of dirs) mkdirSync(d, { recursive: true });
    const mem = this.dir('memory', name);
    if (mem !== null && limits.memoryBytes !== null) {
      writeFileSync(join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // Without this a job could spill past its limit into swap (when swap accounting is on).
      const memsw = join(mem, 'memory.memsw.limit_in_bytes');
      if (existsSync(memsw)) writeFileSync(memsw, String(limits.memoryBytes));
    }
    const pids = this.dir('pids', name);
    if (pids !== null && limits.pids !== null) writeFileSync(join(pids, 'pids.max'), String(limits.pids));
    const cpu = this.dir('cpu', name);
    if (cpu !== null && limits.cpuMillis !== null) {
      writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      writeFileSync(join(cpu, 'cpu.cfs_quota_us'), String(cpuQuota(limits.cpuMillis)));
    }
    const dev = this.dir('devices', name);
    if (dev !== null && limits.allowedDevices !== null) {
      writeFileSync(join(dev, 'devices.deny'), 'a');
      for (const d of [...BASIC_CHAR_DEVICES, ...limits.allowedDevices])
        writeFileSync(join(dev, 'devices.allow'), `c ${d} rwm`);
    }
    return dirs.map((d) => join(d, 'cgroup.procs'));
  }

  usage(name: string): CgroupUsage | null {
    const mem = this.dir('memory', name);
    const acct = this.dir('cpuacct', name);
    if (mem === null || !existsSync(mem)) return null;
    const oom = readText(join(mem, 'memory.oom_control'));
    // Kernels before 4.13 have no oom_kill counter: a limit hit (failcnt) is the best evidence then.
    const oomKills = readKeyed(oom, 'oom_kill') ?? ((readInt(join(mem, 'memory.failcnt')) ?? 0) > 0 ? 1 : 0);
    const ns = acct === null ? null : readInt(join(acct, 'cpuacct.usage'));
    return {
      peakMemoryBytes: readInt(join(mem, 'memory.max_usage_in_bytes')),
      cpuTimeMs: ns === null ? null : Math.round(ns / 1e6),
      oomKills,
    };
  }

  kill(name: string): void {
    for (const d of this.dirs(name)) killAll(join(d, 'cgroup.procs'));
  }

  remove(name: string): boolean {
    let ok = true;
    for (const d of this.dirs(name)) ok = tryRmdir(d) && ok;
    return ok;
  }

  removeParent(): boolean {
    return this.remove('');
  }

  toString(): string {
    return `cgroup v1 under ${this.root}`;
  }
}

/** cgroup v2: one tree; the controllers are enabled for the parent's children. */
class CgroupsV2 implements Cgroups {
  readonly version = 2 as const;
  constructor(
    private readonly root: string,
    private readonly parent: string,
  ) {}

  private dir(name: string): string {
    return join(this.root, this.parent, name);
  }

  create(name: string, limits: CgroupLimits): string[] {
    const parentDir = join(this.root, this.parent);
    if (!existsSync(parentDir)) mkdirSync(parentDir, { recursive: true });
    // Controllers must be enabled on every level above the group (root, then our parent).
    for (const level of [this.root, parentDir]) {
      const enabled = (readText(join(level, 'cgroup.subtree_control')) ?? '').split(/\s+/);
      const missing = ['memory', 'pids', 'cpu'].filter((c) => !enabled.includes(c));
      if (missing.length > 0)
        writeFileSync(join(level, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
    }
    const d = this.dir(name);
    mkdirSync(d, { recursive: true });
    if (limits.memoryBytes !== null) {
      writeFileSync(join(d, 'memory.max'), String(limits.memoryBytes));
      const swap = join(d, 'memory.swap.max');
      if (existsSync(swap)) writeFileSync(swap, '0');
    }
    if (limits.pids !== null) writeFileSync(join(d, 'pids.max'), String(limits.pids));
    if (limits.cpuMillis !== null)
      writeFileSync(join(d, 'cpu.max'), `${cpuQuota(limits.cpuMillis)} ${CPU_PERIOD_US}`);
    return [join(d, 'cgroup.procs')];
  }

  usage(name: string): CgroupUsage | null {
    const d = this.dir(name);
    if (!existsSync(d)) return null;
    const usec = readKeyed(readText(join(d, 'cpu.stat')), 'usage_usec');
    return {
      // memory.peak exists from Linux 5.19.
      peakMemoryBytes: readInt(join(d, 'memory.peak')),
      cpuTimeMs: usec === null ? null : Math.round(usec / 1000),
      oomKills: readKeyed(readText(join(d, 'memory.events')), 'oom_kill') ?? 0,
    };
  }

  kill(name: string): void {
    const d = this.dir(name);
    const k = join(d, 'cgroup.kill'); // Linux 5.14+
    if (existsSync(k)) writeFileSync(k, '1');
    else killAll(join(d, 'cgroup.procs'));
  }

  remove(name: string): boolean {
    return tryRmdir(this.dir(name));
  }

  removeParent(): boolean {
    return tryRmdir(join(this.root, this.parent));
  }

  toString(): string {
    return `cgroup v2 at ${this.root}`;
  }
}

/** Where the groups are made, below each hierarchy's root (`--cgroup-parent`). */
export const DEFAULT_CGROUP_PARENT = 'suanli';
/** A parent: one or more path segments of safe characters (`suanli`, `system.slice/suanli`). */
export const CGROUP_PARENT_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'devices'] as const;

/**
 * The cgroup driver for the mounts under `root`, or null (with the reason) when neither a v2 tree
 * with the memory and pids controllers nor v1 memory and pids hierarchies are there.
 */
export function detectCgroups(
  root = '/sys/fs/cgroup',
  parent = DEFAULT_CGROUP_PARENT,
): { cgroups: Cgroups; reason: null } | { cgroups: null; reason: string } {
  const controllers = readText(join(root, 'cgroup.controllers'));
  if (controllers !== null) {
    const have = controllers.trim().split(/\s+/);
    const lacking = ['memory', 'pids', 'cpu'].filter((c) => !have.includes(c));
    if (lacking.length === 0) return { cgroups: new CgroupsV2(root, parent), reason: null };
    return { cgroups: null, reason: `cgroup v2 at ${root} lacks the ${lacking.join(', ')} controller(s)` };
  }
  const mounts = new Map<string, string>();
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return { cgroups: null, reason: `no cgroup filesystem at ${root}` };
  }
  for (const ctrl of V1_CONTROLLERS) {
    // `cpu,cpuacct` style combined mounts, or one directory per controller.
    const m = entries.find((e) => e.split(',').includes(ctrl) && existsSync(join(root, e, 'cgroup.procs')));
    if (m !== undefined) mounts.set(ctrl, join(root, m));
  }
  const lacking = ['memory', 'pids'].filter((c) => !mounts.has(c));
  if (lacking.length > 0)
    return { cgroups: null, reason: `cgroup v1 under ${root} lacks the ${lacking.join(', ')} hierarchy` };
  return { cgroups: new CgroupsV1(root, parent, mounts), reason: null };
}
