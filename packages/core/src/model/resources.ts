/**
 * The resource model shared by the scheduler, the executors (local and Slurm), the store and the
 * simulator: nodes that carry typed accelerators, CPU and memory, with topology labels.
 *
 * All values here are plain, immutable data. Units are in the names: `cpuMillis` (1000 = one core),
 * `memoryMiB`.
 */

/**
 * An accelerator type, lower-case and vendor-qualified where known: `nvidia-h200`, `ascend-910b`.
 * Declared devices without a model use the generic type the operator declared (e.g. `gpu`, `npu`).
 */
export type AcceleratorType = string;

/** How the platform learned of a device. `declared` devices are shown as such everywhere. */
export type DeviceSource = 'nvidia-smi' | 'npu-smi' | 'declared' | 'slurm';

export type AcceleratorVendor = 'nvidia' | 'ascend' | 'other';

export interface Accelerator {
  /**
   * Stable, cluster-unique identity used in placements: the NVIDIA UUID (`GPU-…`) where known,
   * otherwise `<node>/<type>/<index>`.
   */
  readonly id: string;
  /** The device index on its node, as the vendor tool and the visible-devices variables number it. */
  readonly index: number;
  readonly type: AcceleratorType;
  readonly vendor: AcceleratorVendor;
  readonly source: DeviceSource;
  /** False when telemetry reports a fault (e.g. uncorrected ECC errors); unhealthy devices are never placed. */
  readonly healthy: boolean;
  /** Model name as the vendor tool reports it (`NVIDIA H200`), for display. */
  readonly model?: string;
  readonly memoryMiB?: number;
  /**
   * The minor number of the device node (`/dev/nvidia<minor>`, `/dev/davinci<minor>`), from
   * discovery (`nvidia-smi --query-gpu=minor_number`); absent: the index. Confinement exposes
   * exactly these nodes to the replica holding the device.
   */
  readonly deviceMinor?: number;
  /**
   * The device's own network address, where it has one (Ascend NPUs: `hccn_tool -i <n> -ip -g`),
   * for collective rank tables (HCCL's `device_ip`).
   */
  readonly deviceIp?: string;
}

/** Topology labels: node → switch/rack → pod. Absent labels mean "unknown", not "same". */
export interface Topology {
  readonly switch?: string;
  readonly rack?: string;
  readonly pod?: string;
}

/**
 * `ready`: schedulable. `draining`: running work continues, nothing new is placed.
 * `down` / `unhealthy`: nothing is placed; running work there is considered at risk.
 */
export type NodeState = 'ready' | 'draining' | 'down' | 'unhealthy';

export interface ClusterNode {
  readonly name: string;
  readonly state: NodeState;
  readonly accelerators: readonly Accelerator[];
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly topology: Topology;
  /** Free-form labels (e.g. Slurm node features). */
  readonly labels: Readonly<Record<string, string>>;
}

/** What one replica of a job asks for. */
export interface ReplicaRequest {
  readonly accelerators: number;
  /** Acceptable accelerator types, in order of preference; empty means any type. */
  readonly acceleratorTypes: readonly AcceleratorType[];
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/** Where one replica runs and which devices it holds. */
export interface ReplicaPlacement {
  readonly node: string;
  readonly acceleratorIds: readonly string[];
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/** A whole job's placement: one entry per replica, rank order. */
export type Placement = readonly ReplicaPlacement[];

export function isSchedulable(node: ClusterNode): boolean {
  return node.state === 'ready';
}
