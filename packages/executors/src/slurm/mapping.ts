/**
 * How Slurm's view of the cluster maps onto the platform's model. Pure functions, unit-tested.
 *
 * Accelerators: every GRES named in `gresNames` (default `gpu` and `npu`) becomes that many typed
 * accelerators on the node. The platform type is looked up in `typeMap` by `name:type` (`gpu:h100`),
 * then by `name` (`gpu`); if neither matches, the default rule applies: `gpu:<t>` → `nvidia-<t>`,
 * `npu:<t>` → `ascend-<t>`, untyped `gpu`/`npu` → `gpu`/`npu`. Device indices follow Slurm's
 * numbering: per GRES name, in the order the node's `gres` string lists the types (the order of
 * gres.conf), so `gpu:h100:4,gpu:a100:4` gives h100 0-3 and a100 4-7, as `IDX:` reports them.
 * Accelerator ids are `<node>/<type>/<index>`.
 *
 * Topology: node features `switch_X`, `rack_X`, `pod_X` (also `switch=X` / `switch:X` where the
 * site's feature names allow it) set the topology labels. Every feature is also a label with the
 * value `true`, and `slurm.address` / `slurm.partitions` record where the node is.
 *
 * Node state: base `down`/`error`/`future`/`unknown`, or flag `NOT_RESPONDING`/`POWERED_DOWN`/
 * `POWERING_DOWN` → `down`; flags `DRAIN`/`DRAINING`/`DRAINED`/`FAIL`/`MAINTENANCE`/
 * `REBOOT_REQUESTED`/`RESERVED` → `draining`; everything else (idle, mixed, allocated,
 * completing) → `ready`.
 */
import type {
  Accelerator,
  AcceleratorVendor,
  ClusterNode,
  NodeState,
  ReplicaPlacement,
  Topology,
} from '@suanli/core';
import type { LimitExceeded } from '../executor.js';
import type { SlurmJob, SlurmNode } from './client.js';
import { expandHostlist, parseGresEntry, parseGresList } from './hostlist.js';

export interface AcceleratorMapping {
  /** GRES names that are accelerators. Default `['gpu', 'npu']`. */
  readonly gresNames: readonly string[];
  /** `name:type` or `name` → platform accelerator type, e.g. `{ 'gpu:h100': 'nvidia-h100' }`. */
  readonly typeMap: Readonly<Record<string, string>>;
}

export const DEFAULT_ACCELERATOR_MAPPING: AcceleratorMapping = { gresNames: ['gpu', 'npu'], typeMap: {} };

export function acceleratorTypeOf(m: AcceleratorMapping, gresName: string, gresType: string | null): string {
  const t = (gresType !== null ? m.typeMap[`${gresName}:${gresType}`] : undefined) ?? m.typeMap[gresName];
  if (t !== undefined) return t;
  const lower = gresType?.toLowerCase() ?? null;
  if (gresName === 'gpu') return lower === null ? 'gpu' : `nvidia-${lower}`;
  if (gresName === 'npu') return lower === null ? 'npu' : `ascend-${lower}`;
  return lower === null ? gresName : `${gresName}-${lower}`;
}

export function vendorOf(type: string): AcceleratorVendor {
  if (type.startsWith('nvidia-') || type === 'gpu') return 'nvidia';
  if (type.startsWith('ascend-') || type === 'npu') return 'ascend';
  return 'other';
}

/** The reverse lookup used at launch: platform type → the `name:type` GRES that carries it on `node`. */
export function gresForType(
  m: AcceleratorMapping,
  node: SlurmNode | undefined,
  type: string,
): { name: string; type: string | null } | null {
  for (const e of parseGresList(node?.gres)) {
    if (m.gresNames.includes(e.name) && acceleratorTypeOf(m, e.name, e.type) === type)
      return { name: e.name, type: e.type };
  }
  return null;
}

export function nodeStateOf(n: SlurmNode): NodeState {
  const base = (n.state ?? 'unknown').toLowerCase();
  const flags = new Set((n.state_flags ?? []).map((f) => f.toUpperCase()));
  if (['down', 'error', 'future', 'unknown'].includes(base)) return 'down';
  if (flags.has('NOT_RESPONDING') || flags.has('POWERED_DOWN') || flags.has('POWERING_DOWN')) return 'down';
  if (
    ['DRAIN', 'DRAINING', 'DRAINED', 'FAIL', 'MAINTENANCE', 'REBOOT_REQUESTED', 'RESERVED'].some((f) =>
      flags.has(f),
    )
  )
    return 'draining';
  return 'ready';
}

export function topologyOf(features: readonly string[]): Topology {
  const t: { switch?: string; rack?: string; pod?: string } = {};
  for (const f of features) {
    const m = /^(switch|rack|pod)[_=:](.+)$/.exec(f);
    if (m && m[1] !== undefined && m[2] !== undefined) t[m[1] as keyof Topology] = m[2];
  }
  return t;
}

export function featuresOf(n: SlurmNode): string[] {
  return (n.active_features ?? n.features ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '(null)');
}

export function acceleratorsOf(m: AcceleratorMapping, n: SlurmNode): Accelerator[] {
  const next = new Map<string, number>();
  const out: Accelerator[] = [];
  for (const e of parseGresList(n.gres)) {
    if (!m.gresNames.includes(e.name)) continue;
    const type = acceleratorTypeOf(m, e.name, e.type);
    const vendor = vendorOf(type);
    const start = next.get(e.name) ?? 0;
    for (let i = 0; i < e.count; i++) {
      const index = start + i;
      out.push({
        id: `${n.name}/${type}/${index}`,
        index,
        type,
        vendor,
        source: 'slurm',
        healthy: true,
        model: e.type ?? e.name,
      });
    }
    next.set(e.name, start + e.count);
  }
  return out;
}

export function clusterNodeOf(m: AcceleratorMapping, n: SlurmNode): ClusterNode {
  const features = featuresOf(n);
  const labels: Record<string, string> = {};
  for (const f of features) labels[f] = 'true';
  labels['slurm.address'] = n.address ?? n.name;
  labels['slurm.partitions'] = (n.partitions ?? []).join(',');
  if (n.reason) labels['slurm.reason'] = n.reason;
  return {
    name: n.name,
    state: nodeStateOf(n),
    accelerators: acceleratorsOf(m, n),
    cpuMillis: (n.cpus ?? 0) * 1000,
    memoryMiB: n.real_memory ?? 0,
    topology: topologyOf(features),
    labels,
  };
}

/** Job states, grouped by what the platform does with them. */
export type JobPhase = 'pending' | 'running' | 'finished' | 'requeued' | 'unknown';

export function jobPhaseOf(j: SlurmJob): JobPhase {
  const s = (j.job_state ?? '').toUpperCase();
  if ((j.restart_cnt ?? 0) > 0 || s.startsWith('REQUEUE')) return 'requeued';
  switch (s) {
    case 'PENDING':
      return 'pending';
    case 'RUNNING':
    case 'SUSPENDED':
    case 'COMPLETING':
    case 'CONFIGURING':
    case 'RESIZING':
    case 'SIGNALING':
    case 'STAGE_OUT':
    case 'STOPPED':
      return 'running';
    case 'COMPLETED':
    case 'FAILED':
    case 'CANCELLED':
    case 'TIMEOUT':
    case 'NODE_FAIL':
    case 'PREEMPTED':
    case 'BOOT_FAIL':
    case 'DEADLINE':
    case 'OUT_OF_MEMORY':
      return 'finished';
    default:
      return 'unknown';
  }
}

const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  15: 'SIGTERM',
};

/** How a finished Slurm job ended, in the terms of the platform's `exited` event. */
export interface JobOutcome {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Set when Slurm itself ended the job; null for a normal exit (any code) or a cancel we asked for. */
  readonly backendReason: string | null;
  /** True for NODE_FAIL/BOOT_FAIL: the platform could not prove the job ran to an end. */
  readonly lost: boolean;
  /** A limit Slurm enforced that ended the job (its memory: the cgroup's OOM killer). */
  readonly limit: LimitExceeded | null;
}

/**
 * Slurm's "signal" for a step the cgroup OOM killer hit (`SIG_OOM` in slurm.h). slurmstepd reports
 * such a step with this code, and slurmctld folds it into the job's `derived_exit_code` (the
 * largest step code). The batch job itself then usually ends FAILED (srun exits 1, our script with
 * the task's 137), not OUT_OF_MEMORY: that state is only set when the batch step itself was hit.
 */
export const SLURM_SIG_OOM = 253;

/** Whether the cgroup OOM killer ended the job (or one of its steps). */
export function outOfMemory(j: SlurmJob): boolean {
  if ((j.job_state ?? '').toUpperCase() === 'OUT_OF_MEMORY') return true;
  return ((j.derived_exit_code ?? 0) & 0xff) === SLURM_SIG_OOM;
}

/**
 * `exit_code` in v0.0.38 is the batch script's wait status (`scontrol` prints it as `N:S`):
 * 768 = exit 3, 15 = killed by SIGTERM, 137 = `exit 137`.
 */
export function decodeWaitStatus(status: number | undefined): {
  exitCode: number | null;
  signal: string | null;
} {
  const s = status ?? 0;
  const sig = s & 0x7f;
  if (sig !== 0) return { exitCode: null, signal: SIGNAL_NAMES[sig] ?? `SIG${sig}` };
  return { exitCode: (s >> 8) & 0xff, signal: null };
}

/**
 * Maps a finished job. `backendReason` is set only when Slurm, not the job, ended the attempt
 * (the engine then treats it as lost and retries under the job's policy): a node failure, a Slurm
 * preemption, or a cancel nobody asked the platform for. `cancelledByUs`: the platform asked for
 * this cancel.
 */
export function jobOutcomeOf(j: SlurmJob, cancelledByUs: boolean): JobOutcome {
  const o = outcomeOfState(j, cancelledByUs);
  const oom = !o.lost && o.backendReason === null && outOfMemory(j);
  return { ...o, limit: oom ? 'out-of-memory' : null };
}

function outcomeOfState(j: SlurmJob, cancelledByUs: boolean): Omit<JobOutcome, 'limit'> {
  const s = (j.job_state ?? '').toUpperCase();
  const w = decodeWaitStatus(j.exit_code);
  switch (s) {
    case 'COMPLETED':
      return { exitCode: 0, signal: null, backendReason: null, lost: false };
    case 'FAILED':
      return { ...w, backendReason: null, lost: false };
    case 'CANCELLED':
      return {
        exitCode: w.exitCode === 0 && w.signal === null ? null : w.exitCode,
        signal: w.signal ?? 'SIGKILL',
        backendReason: cancelledByUs ? null : 'cancelled-in-slurm',
        lost: false,
      };
    // The job's own limits: an ordinary failure (killed), not a backend fault. The engine enforces
    // time limits itself and reports `timed-out` when it was the one to stop the job; memory is
    // reported as `limit: 'out-of-memory'` (jobOutcomeOf).
    case 'TIMEOUT':
    case 'DEADLINE':
    case 'OUT_OF_MEMORY':
      return { exitCode: null, signal: w.signal ?? 'SIGKILL', backendReason: null, lost: false };
    case 'PREEMPTED':
      return {
        exitCode: null,
        signal: w.signal ?? 'SIGKILL',
        backendReason: 'preempted-by-slurm',
        lost: false,
      };
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return { exitCode: null, signal: null, backendReason: 'node-failure', lost: true };
    default:
      return {
        exitCode: null,
        signal: null,
        backendReason: `slurm-state-${s.toLowerCase() || 'unknown'}`,
        lost: true,
      };
  }
}

/**
 * Where a running job holds capacity: one entry per node, with the devices from `gres_detail`
 * (index i of `gres_detail` belongs to the i-th node of `nodes`), CPUs from `job_resources` and
 * memory as allocated. Devices whose indices Slurm did not report are left out (not guessed).
 */
export function jobPlacementOf(m: AcceleratorMapping, j: SlurmJob): ReplicaPlacement[] {
  const nodes = expandHostlist(j.job_resources?.nodes ?? j.nodes ?? '');
  const alloc = new Map((j.job_resources?.allocated_nodes ?? []).map((a) => [a.nodename ?? '', a]));
  return nodes.map((node, i) => {
    const ids: string[] = [];
    const detail = j.gres_detail?.[i];
    if (detail !== undefined) {
      for (const e of parseGresList(detail)) {
        if (!m.gresNames.includes(e.name) || e.indices === null) continue;
        const type = acceleratorTypeOf(m, e.name, e.type);
        for (const idx of e.indices) ids.push(`${node}/${type}/${idx}`);
      }
    }
    const a = alloc.get(node);
    let cores = 0;
    for (const s of Object.values(a?.sockets ?? {})) cores += Object.keys(s.cores ?? {}).length;
    if (cores === 0 && nodes.length > 0) cores = Math.ceil((j.cpus ?? 0) / nodes.length);
    return { node, acceleratorIds: ids, cpuMillis: cores * 1000, memoryMiB: a?.memory_allocated ?? 0 };
  });
}

/** The devices Slurm gave a running job on each node (from `gres_detail`), as indices. */
export function jobDeviceIndices(j: SlurmJob): Map<string, number[]> {
  const nodes = expandHostlist(j.job_resources?.nodes ?? j.nodes ?? '');
  const out = new Map<string, number[]>();
  nodes.forEach((node, i) => {
    const d = j.gres_detail?.[i];
    out.set(node, d === undefined ? [] : parseGresList(d).flatMap((e) => [...(e.indices ?? [])]));
  });
  return out;
}

export { parseGresEntry };
