/**
 * Builds the executor `suanli server` runs with by default: the local executor, offering this
 * machine with devices discovered from nvidia-smi / npu-smi or declared by the operator.
 */
import { discoverLocalNode, LocalExecutor, type Executor } from '@suanli/executors';

export interface LocalExecutorSettings {
  readonly accelerators?: string;
  readonly acceleratorsFile?: string;
  readonly nodeName?: string;
}

export async function createLocalExecutor(
  opts: LocalExecutorSettings,
  onWarning: (msg: string) => void,
): Promise<Executor> {
  const discover = () =>
    discoverLocalNode({
      ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
      ...(opts.accelerators ? { accelerators: opts.accelerators } : {}),
      ...(opts.acceleratorsFile ? { configFile: opts.acceleratorsFile } : {}),
      onWarning,
    });
  const first = await discover(); // fails fast on a malformed --accelerators value or file
  // Re-discovery refreshes telemetry-derived health (e.g. ECC errors) without a restart.
  return new LocalExecutor({ inventory: async () => [await discover()], nodeName: first.name });
}
