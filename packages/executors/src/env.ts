/**
 * The environment every replica of every job sees: a USER-FACING CONTRACT shared by all executors
 * (local, Slurm, later Kubernetes). Programs and launch scripts are written against these names, so
 * an executor that sets a different set (or different values for the same placement) breaks jobs
 * that moved between backends. `buildReplicaEnv` is the one implementation; executors call it
 * instead of assembling variables themselves.
 *
 * Order of precedence (later wins):
 *   1. the base environment (the server's, minus the reserved device variables below),
 *   2. the job spec's `env`,
 *   3. the platform variables, which ALWAYS win (a spec cannot unpin its devices or fake its rank).
 *      The framework's variables (`MASTER_ADDR`, `PET_*`, `TF_CONFIG`, … below) are the exception:
 *      a spec that sets one keeps its value, because some launchers need their own.
 *
 * Platform variables:
 *
 * | Variable                     | Value                                                            |
 * |------------------------------|------------------------------------------------------------------|
 * | `SUANLI_JOB_ID`              | the job id                                                       |
 * | `SUANLI_JOB_NAME`            | the spec's name                                                  |
 * | `SUANLI_ATTEMPT`             | attempt number (1 for the first run, +1 per retry)               |
 * | `SUANLI_TENANT`              | tenant name                                                      |
 * | `SUANLI_PROJECT`             | project name                                                     |
 * | `SUANLI_REPLICA_RANK`        | this replica's rank, 0 … N-1 (placement order)                   |
 * | `SUANLI_NUM_REPLICAS`        | N                                                                |
 * | `SUANLI_NODE_NAME`           | the node this replica runs on                                    |
 * | `SUANLI_NODE_LIST`           | distinct nodes of the job, comma-separated, in rank order        |
 * | `SUANLI_ACCELERATOR_IDS`     | platform ids of this replica's devices, comma-separated          |
 * | `SUANLI_ACCELERATOR_TYPE`    | their type(s), comma-separated if mixed; empty when none         |
 * | `SUANLI_NUM_ACCELERATORS`    | how many devices this replica holds                              |
 * | `SUANLI_MASTER_ADDR`         | rendezvous host: rank 0's address                                |
 * | `SUANLI_MASTER_PORT`         | rendezvous port, the same for every replica of the attempt       |
 * | `CUDA_VISIBLE_DEVICES`       | see device pinning; ALWAYS set, `""` when the replica holds no   |
 * |                              | CUDA-visible device so it cannot grab a GPU                      |
 * | `ASCEND_RT_VISIBLE_DEVICES`  | see device pinning; set only when the replica holds Ascend NPUs  |
 * | `SUANLI_FRAMEWORK`           | the spec's `framework` (`pytorch` when it names none)            |
 * | `SUANLI_CHECKPOINT_DIR`      | per job: the same directory for every replica and attempt, kept  |
 * |                              | after the job ends until retention removes it (when the executor |
 * |                              | was given one)                                                   |
 * | `SUANLI_PROGRESS_FILE`       | where the job appends progress lines (`step=<n>`,                |
 * |                              | `checkpoint=<n>`), one file per attempt in its log directory     |
 * | `SUANLI_ARRAY_ID`            | a job array's task only: the array's id (`j-…`)                  |
 * | `SUANLI_ARRAY_INDEX`         | a job array's task only: its index (`--array 0-999` → 0 … 999)   |
 *
 * Framework launch contracts (`framework:` in the spec), set unless the spec set the same name:
 *
 * | framework    | variables and files                                                               |
 * |--------------|-----------------------------------------------------------------------------------|
 * | `pytorch`    | `MASTER_ADDR`, `MASTER_PORT`, `RANK` (= replica rank), `WORLD_SIZE` (= N),        |
 * | (default)    | `LOCAL_RANK` for scripts that launch themselves; torchrun's own `PET_NNODES` (= N),|
 * |              | `PET_NODE_RANK` (= replica rank), `PET_NPROC_PER_NODE` (= the replica's devices, |
 * |              | at least 1), `PET_MASTER_ADDR`, `PET_MASTER_PORT`: plain `torchrun train.py`     |
 * |              | builds the whole world of N × devices processes.                                  |
 * | `mpi`        | `SUANLI_MPI_HOSTFILE`: a hostfile with one `<host> slots=<n>` line per node (n = |
 * |              | the devices of its replicas, at least 1 per replica); `OMPI_MCA_orte_default_   |
 * |              | hostfile` and `PRTE_MCA_prte_default_hostfile` name it, so plain `mpirun prog`   |
 * |              | starts every slot of the gang; `SUANLI_MPI_NP` = the slots together. The command |
 * |              | runs on replica 0 only (the launcher, as Kubeflow's MPIJob); the other replicas |
 * |              | hold their devices until it ends, and its end is the attempt's. On Slurm, the    |
 * |              | command runs once in the allocation and mpirun starts its daemons through srun.  |
 * | `mindspore`  | `RANK_TABLE_FILE`: an HCCL rank table (hccl.json, version 1.0: `server_list` of  |
 * |              | nodes, each with its devices' `device_id`, `device_ip`, `rank_id`), `RANK_SIZE` (=|
 * |              | all devices of the gang), `RANK_ID` (the replica's first rank), `DEVICE_ID` (its |
 * |              | first device); msrun's dynamic cluster: `MS_SCHED_HOST`, `MS_SCHED_PORT`,        |
 * |              | `MS_WORKER_NUM` (= RANK_SIZE), `MS_LOCAL_WORKER_NUM` (the replica's devices),    |
 * |              | `MS_NODE_RANK` (= replica rank), `MS_ROLE=MS_WORKER`.                             |
 * | `tensorflow` | `TF_CONFIG` = `{"cluster":{"worker":["host:port",…]},"task":{"type":"worker",     |
 * |              | "index":rank}}` for MultiWorkerMirroredStrategy; worker r listens on the          |
 * |              | rendezvous port + r.                                                              |
 * | `none`       | nothing beyond the SUANLI_* variables and device pinning.                         |
 *
 * Device pinning (what the vendor runtimes read):
 * - `nvidia` devices discovered by nvidia-smi (or Slurm): `CUDA_VISIBLE_DEVICES` = their UUIDs
 *   (`GPU-…`). UUIDs, not indices, because indices change when a GPU falls off the bus or the
 *   driver enumerates in another order; a UUID always names the device the scheduler chose.
 * - `ascend` devices: `ASCEND_RT_VISIBLE_DEVICES` = their logical indices (CANN accepts no UUIDs).
 * - `declared` devices (no real hardware behind them, vendor `nvidia` or `other`): their indices in
 *   `CUDA_VISIBLE_DEVICES`, so that programs (and tests) still see DISTINCT devices per replica and
 *   two jobs never see the same number. Declared `ascend` devices use `ASCEND_RT_VISIBLE_DEVICES`.
 * - `NVIDIA_VISIBLE_DEVICES` and `ASCEND_VISIBLE_DEVICES` (container runtimes) are removed from the
 *   inherited environment and not set: no container runtime is involved in these executors.
 */
import { join } from 'node:path';
import type { Accelerator, ClusterNode, Framework } from '@suanli/core';
import type { LaunchRequest } from './executor.js';

/** Every platform variable name, for documentation, tests and the Slurm executor's `--export`. */
export const PLATFORM_ENV_VARS = [
  'SUANLI_JOB_ID',
  'SUANLI_JOB_NAME',
  'SUANLI_ATTEMPT',
  'SUANLI_TENANT',
  'SUANLI_PROJECT',
  'SUANLI_REPLICA_RANK',
  'SUANLI_NUM_REPLICAS',
  'SUANLI_NODE_NAME',
  'SUANLI_NODE_LIST',
  'SUANLI_ACCELERATOR_IDS',
  'SUANLI_ACCELERATOR_TYPE',
  'SUANLI_NUM_ACCELERATORS',
  'SUANLI_MASTER_ADDR',
  'SUANLI_MASTER_PORT',
  'SUANLI_FRAMEWORK',
  'CUDA_VISIBLE_DEVICES',
] as const;

/** Set only for the tasks of a job array (`LaunchRequest.array`), in addition to the above. */
export const ARRAY_ENV_VARS = ['SUANLI_ARRAY_ID', 'SUANLI_ARRAY_INDEX'] as const;

/**
 * The Slurm executor also sets Slurm's own names for a task, so `sbatch --array` scripts run
 * unchanged: `SLURM_ARRAY_TASK_ID` = the index, `SLURM_ARRAY_JOB_ID` = the Slurm job id of the
 * task's batch job (each task is its own Slurm job, see docs/slurm.md). Not set by the local executor.
 */
export const SLURM_ARRAY_ENV_VARS = ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_JOB_ID'] as const;

/** PyTorch's `env://` rendezvous variables; set by the platform unless the spec set them. */
export const PYTORCH_ENV_VARS = ['MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK'] as const;

/** torchrun's own options as environment variables (`PET_<OPTION>`), read when no flag is given. */
export const TORCHRUN_ENV_VARS = [
  'PET_NNODES',
  'PET_NODE_RANK',
  'PET_NPROC_PER_NODE',
  'PET_MASTER_ADDR',
  'PET_MASTER_PORT',
] as const;

/** The launch files of an attempt, by framework; written by the executor into `Rendezvous.filesDir`. */
export const MPI_HOSTFILE = 'hostfile';
export const RANK_TABLE_FILE = 'rank_table.json';

/** The progress file's name in the attempt's log directory (the engine's training.ts reads it). */
export const PROGRESS_FILE = 'progress.log';

/** Device variables removed from the inherited (server) environment before anything else. */
const INHERITED_DEVICE_VARS = [
  'CUDA_VISIBLE_DEVICES',
  'NVIDIA_VISIBLE_DEVICES',
  'ASCEND_RT_VISIBLE_DEVICES',
  'ASCEND_VISIBLE_DEVICES',
];

export interface Rendezvous {
  /** Host name or address of rank 0, reachable from every replica (loopback for the local executor). */
  readonly masterAddr: string;
  readonly masterPort: number;
  /**
   * Address of each node of the placement as the others reach it (hostfile, TF_CONFIG, the rank
   * table's `server_id`); a node missing here is reached at `masterAddr` (one machine).
   */
  readonly nodeAddrs?: Readonly<Record<string, string>>;
  /** Directory, seen by every replica, where the executor writes `launchFiles` (default: the log directory). */
  readonly filesDir?: string;
}

/** The spec's framework; specs stored before the field existed are `pytorch`. */
export function frameworkOf(req: Pick<LaunchRequest, 'spec'>): Framework {
  return req.spec.framework ?? 'pytorch';
}

/**
 * Whether only replica 0 runs the command, the others holding their devices until it ends (MPI:
 * mpirun on the launcher starts the processes of every slot).
 */
export function launcherOnly(req: Pick<LaunchRequest, 'spec'>): boolean {
  return frameworkOf(req) === 'mpi';
}

function nodeAddr(rendezvous: Rendezvous, node: string): string {
  return rendezvous.nodeAddrs?.[node] ?? rendezvous.masterAddr;
}

/** Processes a replica's framework launcher starts: one per device, at least one. */
function slotsOf(req: LaunchRequest, rank: number): number {
  return Math.max(1, req.placement[rank]?.acceleratorIds.length ?? 0);
}

/** The nodes of the placement in rank order of first appearance, each with its replicas' ranks. */
function nodesInRankOrder(req: LaunchRequest): [string, number[]][] {
  const byNode = new Map<string, number[]>();
  req.placement.forEach((p, rank) => byNode.set(p.node, [...(byNode.get(p.node) ?? []), rank]));
  return [...byNode.entries()];
}

/** One device of an HCCL rank table (hccl.json version 1.0); every value is a string. */
export interface RankTableDevice {
  readonly device_id: string;
  readonly device_ip?: string;
  readonly rank_id: string;
}
export interface RankTable {
  readonly version: '1.0';
  readonly server_count: string;
  readonly server_list: readonly {
    readonly server_id: string;
    readonly device: readonly RankTableDevice[];
    readonly host_nic_ip: 'reserve';
  }[];
  readonly status: 'completed';
}

/**
 * The HCCL rank table of the gang (the hccl.json of Huawei's documentation, version 1.0): one
 * server per node in rank order, its devices in rank order with global `rank_id`s 0 … n-1;
 * `device_id` is the device index (the logical id that ASCEND_RT_VISIBLE_DEVICES takes), and
 * `device_ip` the address discovery read with hccn_tool (omitted where unknown). A replica without
 * devices counts as one rank with device `0`, so the table always has RANK_SIZE entries.
 */
export function buildRankTable(
  req: LaunchRequest,
  rendezvous: Rendezvous,
): { table: RankTable; firstRank: number[] } {
  let next = 0;
  const firstRank: number[] = [];
  const servers = nodesInRankOrder(req).map(([node, ranks]) => {
    const device: RankTableDevice[] = [];
    for (const rank of ranks) {
      firstRank[rank] = next;
      const devs = resolveReplicaDevices(req, rank);
      if (devs.length === 0) device.push({ device_id: '0', rank_id: String(next++) });
      for (const d of devs)
        device.push({
          device_id: String(d.index),
          ...(d.deviceIp !== undefined ? { device_ip: d.deviceIp } : {}),
          rank_id: String(next++),
        });
    }
    return { server_id: nodeAddr(rendezvous, node), device, host_nic_ip: 'reserve' as const };
  });
  return {
    table: {
      version: '1.0',
      server_count: String(servers.length),
      server_list: servers,
      status: 'completed',
    },
    firstRank,
  };
}

/** The MPI hostfile: `<host> slots=<n>` per node, n = the slots of its replicas. */
export function buildMpiHostfile(req: LaunchRequest, rendezvous: Rendezvous): string {
  return nodesInRankOrder(req)
    .map(
      ([node, ranks]) =>
        `${nodeAddr(rendezvous, node)} slots=${ranks.reduce((n, r) => n + slotsOf(req, r), 0)}\n`,
    )
    .join('');
}

/** TF_CONFIG for MultiWorkerMirroredStrategy: one worker per replica, at the rendezvous port + rank. */
export function buildTfConfig(req: LaunchRequest, rendezvous: Rendezvous, rank: number): string {
  const worker = req.placement.map((p, r) => `${nodeAddr(rendezvous, p.node)}:${rendezvous.masterPort + r}`);
  return JSON.stringify({ cluster: { worker }, task: { type: 'worker', index: rank } });
}

/**
 * The files the attempt's framework reads, the same for every replica: the executor writes them
 * (name → content) into `rendezvous.filesDir` before it starts any replica.
 */
export function launchFiles(req: LaunchRequest, rendezvous: Rendezvous): Record<string, string> {
  switch (frameworkOf(req)) {
    case 'mpi':
      return { [MPI_HOSTFILE]: buildMpiHostfile(req, rendezvous) };
    case 'mindspore':
      return { [RANK_TABLE_FILE]: `${JSON.stringify(buildRankTable(req, rendezvous).table, null, 2)}\n` };
    case 'pytorch':
    case 'tensorflow':
    case 'none':
      return {};
  }
}

/** The framework's own variables for replica `rank` (see the table above). */
export function frameworkEnv(
  req: LaunchRequest,
  rank: number,
  rendezvous: Rendezvous,
): Record<string, string> {
  const replica = req.placement[rank];
  if (replica === undefined)
    throw new PlacementResolutionError(`job ${req.jobId}: placement has no replica of rank ${rank}`);
  const filesDir = rendezvous.filesDir ?? req.logDir;
  const n = req.placement.length;
  const totalSlots = req.placement.reduce((s, _, r) => s + slotsOf(req, r), 0);
  switch (frameworkOf(req)) {
    case 'pytorch': {
      const localRank = req.placement.slice(0, rank).filter((p) => p.node === replica.node).length;
      return {
        MASTER_ADDR: rendezvous.masterAddr,
        MASTER_PORT: String(rendezvous.masterPort),
        RANK: String(rank),
        WORLD_SIZE: String(n),
        LOCAL_RANK: String(localRank),
        PET_NNODES: String(n),
        PET_NODE_RANK: String(rank),
        PET_NPROC_PER_NODE: String(slotsOf(req, rank)),
        PET_MASTER_ADDR: rendezvous.masterAddr,
        PET_MASTER_PORT: String(rendezvous.masterPort),
      };
    }
    case 'mpi': {
      const hostfile = join(filesDir, MPI_HOSTFILE);
      return {
        SUANLI_MPI_HOSTFILE: hostfile,
        SUANLI_MPI_NP: String(totalSlots),
        OMPI_MCA_orte_default_hostfile: hostfile,
        PRTE_MCA_prte_default_hostfile: hostfile,
      };
    }
    case 'mindspore': {
      const { firstRank } = buildRankTable(req, rendezvous);
      const devices = resolveReplicaDevices(req, rank);
      return {
        RANK_TABLE_FILE: join(filesDir, RANK_TABLE_FILE),
        RANK_SIZE: String(totalSlots),
        RANK_ID: String(firstRank[rank] ?? 0),
        DEVICE_ID: String(devices[0]?.index ?? 0),
        MS_SCHED_HOST: rendezvous.masterAddr,
        MS_SCHED_PORT: String(rendezvous.masterPort),
        MS_WORKER_NUM: String(totalSlots),
        MS_LOCAL_WORKER_NUM: String(slotsOf(req, rank)),
        MS_NODE_RANK: String(rank),
        MS_ROLE: 'MS_WORKER',
      };
    }
    case 'tensorflow':
      return { TF_CONFIG: buildTfConfig(req, rendezvous, rank) };
    case 'none':
      return {};
  }
}

/** Thrown when a placement names a device or node that `req.nodes` does not describe. */
export class PlacementResolutionError extends Error {
  override readonly name = 'PlacementResolutionError';
}

/** Resolves a replica's accelerator ids into the devices, in placement order. */
export function resolveReplicaDevices(
  req: Pick<LaunchRequest, 'placement' | 'nodes' | 'jobId'>,
  rank: number,
): Accelerator[] {
  const replica = req.placement[rank];
  if (replica === undefined)
    throw new PlacementResolutionError(`job ${req.jobId}: placement has no replica of rank ${rank}`);
  const node: ClusterNode | undefined = req.nodes.find((n) => n.name === replica.node);
  if (node === undefined)
    throw new PlacementResolutionError(
      `job ${req.jobId}: placement names node "${replica.node}" but the request does not describe it`,
    );
  return replica.acceleratorIds.map((id) => {
    const dev = node.accelerators.find((a) => a.id === id);
    if (dev === undefined)
      throw new PlacementResolutionError(`job ${req.jobId}: device "${id}" is not on node "${node.name}"`);
    return dev;
  });
}

/** The vendor runtime variables that pin a replica to exactly `devices` (see the table above). */
export function deviceVisibilityEnv(devices: readonly Accelerator[]): Record<string, string> {
  const cuda: string[] = [];
  const ascend: string[] = [];
  for (const d of devices) {
    if (d.vendor === 'ascend') ascend.push(String(d.index));
    // By UUID only when the id IS one (discovered by nvidia-smi); Slurm and declared ids are
    // `<node>/<type>/<index>`, so those devices are pinned by index.
    else if (d.vendor === 'nvidia' && /^(GPU|MIG)-/.test(d.id)) cuda.push(d.id);
    else cuda.push(String(d.index));
  }
  const env: Record<string, string> = { CUDA_VISIBLE_DEVICES: cuda.join(',') };
  if (ascend.length > 0) env['ASCEND_RT_VISIBLE_DEVICES'] = ascend.join(',');
  return env;
}

/**
 * The complete environment of replica `rank` of `req`: base (minus device variables), then the
 * spec's env, then the platform variables. Pure: the caller supplies the base and the rendezvous.
 */
export function buildReplicaEnv(
  req: LaunchRequest,
  rank: number,
  rendezvous: Rendezvous,
  baseEnv: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv))
    if (v !== undefined && !INHERITED_DEVICE_VARS.includes(k)) env[k] = v;
  const specEnv = req.spec.env;
  for (const [k, v] of Object.entries(specEnv)) env[k] = v;

  const replica = req.placement[rank];
  if (replica === undefined)
    throw new PlacementResolutionError(`job ${req.jobId}: placement has no replica of rank ${rank}`);
  const devices = resolveReplicaDevices(req, rank);
  const nodeList = [...new Set(req.placement.map((p) => p.node))];

  // The framework's variables first (the spec may set its own), so the platform block below can never be overridden.
  const fw = frameworkEnv(req, rank, rendezvous);
  for (const [k, v] of Object.entries(fw)) if (specEnv[k] === undefined) env[k] = v;

  // Any SUANLI_* the base or spec carried is dropped: only the platform speaks in that namespace.
  for (const k of Object.keys(env)) if (k.startsWith('SUANLI_')) delete env[k];
  Object.assign(env, deviceVisibilityEnv(devices), {
    SUANLI_JOB_ID: req.jobId,
    SUANLI_JOB_NAME: req.jobName,
    SUANLI_ATTEMPT: String(req.attempt),
    SUANLI_TENANT: req.tenant,
    SUANLI_PROJECT: req.project,
    SUANLI_REPLICA_RANK: String(rank),
    SUANLI_NUM_REPLICAS: String(req.placement.length),
    SUANLI_NODE_NAME: replica.node,
    SUANLI_NODE_LIST: nodeList.join(','),
    SUANLI_ACCELERATOR_IDS: devices.map((d) => d.id).join(','),
    SUANLI_ACCELERATOR_TYPE: [...new Set(devices.map((d) => d.type))].join(','),
    SUANLI_NUM_ACCELERATORS: String(devices.length),
    SUANLI_MASTER_ADDR: rendezvous.masterAddr,
    SUANLI_MASTER_PORT: String(rendezvous.masterPort),
    SUANLI_FRAMEWORK: frameworkOf(req),
  });
  for (const [k, v] of Object.entries(fw)) if (k.startsWith('SUANLI_')) env[k] = v;
  env['SUANLI_PROGRESS_FILE'] = join(req.logDir, PROGRESS_FILE);
  if (req.checkpointDir) env['SUANLI_CHECKPOINT_DIR'] = req.checkpointDir;
  if (req.array) {
    env['SUANLI_ARRAY_ID'] = req.array.id;
    env['SUANLI_ARRAY_INDEX'] = String(req.array.index);
  }
  return env;
}
