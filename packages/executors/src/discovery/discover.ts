/**
 * What this machine offers, as one `ClusterNode`. Sources, first that answers wins:
 *
 *   1. declared devices, when the operator gave any (`--accelerators` or a config file): an
 *      explicit statement overrides what tools report (e.g. to hold devices back, or in CI);
 *   2. `nvidia-smi`, when on PATH;
 *   3. `npu-smi`, when on PATH;
 *   4. no accelerators (CPU-only jobs still run).
 *
 * CPU = `os.availableParallelism()` cores (as cpuMillis), memory = `os.totalmem()`, node name =
 * the option or `os.hostname()`. A tool that is installed but fails (driver not loaded) is reported
 * through `onWarning` and discovery falls through to the next source, so a broken driver shows as
 * "no GPUs, with a warning" instead of a server that will not start.
 */
import { availableParallelism, hostname, totalmem } from 'node:os';
import type { ClusterNode } from '@suanli/core';
import {
  DeclarationError,
  declaredAccelerators,
  loadDeclaredConfig,
  parseAcceleratorsFlag,
} from './declared.js';
import { nvidiaAccelerators, readNvidiaGpus } from './nvidia-smi.js';
import { ascendAccelerators, readAscendChips } from './npu-smi.js';

export interface DiscoverLocalNodeOptions {
  /** Default `os.hostname()`. */
  readonly nodeName?: string;
  /** The `--accelerators` flag value (`gpu:8`, `nvidia-h200:4,ascend-910b:8`). */
  readonly accelerators?: string;
  /** A declared-nodes config file (JSON or YAML). The node named `nodeName` is used, or the only node. */
  readonly configFile?: string;
  /** Program names/paths; default `nvidia-smi` and `npu-smi` on PATH. */
  readonly nvidiaSmi?: string;
  readonly npuSmi?: string;
  readonly onWarning?: (message: string) => void;
}

export async function discoverLocalNode(options: DiscoverLocalNodeOptions = {}): Promise<ClusterNode> {
  const name = options.nodeName ?? hostname();
  const cpuMillis = availableParallelism() * 1000;
  const memoryMiB = Math.floor(totalmem() / (1024 * 1024));
  const base: ClusterNode = {
    name,
    state: 'ready',
    accelerators: [],
    cpuMillis,
    memoryMiB,
    topology: {},
    labels: {},
  };
  const warn = options.onWarning ?? (() => undefined);

  if (options.configFile !== undefined) {
    const nodes = loadDeclaredConfig(options.configFile, { cpuMillis, memoryMiB });
    const node =
      options.nodeName !== undefined
        ? nodes.find((n) => n.name === options.nodeName)
        : nodes.length === 1
          ? nodes[0]
          : undefined;
    if (node === undefined)
      throw new DeclarationError(
        `${options.configFile} declares ${nodes.map((n) => `"${n.name}"`).join(', ')}; ${options.nodeName !== undefined ? `none is named "${options.nodeName}"` : 'give the node name to use'}`,
      );
    const extra =
      options.accelerators !== undefined
        ? declaredAccelerators(node.name, parseAcceleratorsFlag(options.accelerators))
        : null;
    return extra === null ? node : { ...node, accelerators: extra };
  }
  if (options.accelerators !== undefined) {
    return { ...base, accelerators: declaredAccelerators(name, parseAcceleratorsFlag(options.accelerators)) };
  }
  try {
    const gpus = await readNvidiaGpus(options.nvidiaSmi !== undefined ? { command: options.nvidiaSmi } : {});
    if (gpus !== null && gpus.length > 0) return { ...base, accelerators: nvidiaAccelerators(gpus) };
  } catch (e) {
    warn(`nvidia-smi is installed but failed, no NVIDIA GPUs discovered: ${(e as Error).message}`);
  }
  try {
    const chips = await readAscendChips(options.npuSmi !== undefined ? { command: options.npuSmi } : {});
    if (chips !== null && chips.length > 0) return { ...base, accelerators: ascendAccelerators(name, chips) };
  } catch (e) {
    warn(`npu-smi is installed but failed, no Ascend NPUs discovered: ${(e as Error).message}`);
  }
  return base;
}
