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
 *      The PyTorch conveniences (`MASTER_ADDR` … `LOCAL_RANK`) are the exception: a spec that sets
 *      them keeps its values, because some launchers (torchrun inside one replica) need their own.
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
 * | `SUANLI_ARRAY_ID`            | a job array's task only: the array's id (`j-…`)                  |
 * | `SUANLI_ARRAY_INDEX`         | a job array's task only: its index (`--array 0-999` → 0 … 999)   |
 * | `MASTER_ADDR`, `MASTER_PORT` | = the SUANLI_ values, unless the spec set them                   |
 * | `RANK`, `WORLD_SIZE`         | = replica rank and N, unless the spec set them                   |
 * | `LOCAL_RANK`                 | rank among the job's replicas on the same node, unless spec set  |
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
import type { Accelerator, ClusterNode } from '@suanli/core';
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
  const localRank = req.placement.slice(0, rank).filter((p) => p.node === replica.node).length;

  // Spec-settable conveniences first, so the platform block below can never be overridden.
  const pytorch: Record<(typeof PYTORCH_ENV_VARS)[number], string> = {
    MASTER_ADDR: rendezvous.masterAddr,
    MASTER_PORT: String(rendezvous.masterPort),
    RANK: String(rank),
    WORLD_SIZE: String(req.placement.length),
    LOCAL_RANK: String(localRank),
  };
  for (const [k, v] of Object.entries(pytorch)) if (specEnv[k] === undefined) env[k] = v;

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
  });
  if (req.array) {
    env['SUANLI_ARRAY_ID'] = req.array.id;
    env['SUANLI_ARRAY_INDEX'] = String(req.array.index);
  }
  return env;
}
