/**
 * Builds the executor `suanli server` runs with by default: the local executor, offering this
 * machine with devices discovered from nvidia-smi / npu-smi or declared by the operator, and
 * confining jobs whenever the server runs as root (`confine: 'auto'`).
 */
import {
  detectLocalConfinement,
  discoverLocalNode,
  LocalExecutor,
  type Executor,
  type LocalConfinement,
} from '@suanli/executors';

export interface LocalExecutorSettings {
  readonly accelerators?: string;
  readonly acceleratorsFile?: string;
  readonly nodeName?: string;
  /**
   * `auto` (default): confine jobs when the server runs as root and the machine allows it;
   * `off`: never (jobs run as the server's account). Default: `SUANLI_CONFINE`, else `auto`.
   */
  readonly confine?: 'auto' | 'off';
  /** Inclusive uid range of the tenants' accounts, `70000-79999` by default. */
  readonly jobUidRange?: readonly [number, number];
  /** Most processes a replica may have. Default 4096. */
  readonly pidsLimit?: number;
  /** Where the replicas' control groups are made. Default `suanli`. */
  readonly cgroupParent?: string;
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
  const mode = opts.confine ?? (process.env['SUANLI_CONFINE'] === 'off' ? 'off' : 'auto');
  let confine: LocalConfinement | null = null;
  if (mode === 'auto') {
    const d = detectLocalConfinement({
      ...(opts.jobUidRange ? { accounts: { uidRange: opts.jobUidRange } } : {}),
      ...(opts.pidsLimit !== undefined ? { pidsLimit: opts.pidsLimit } : {}),
      ...(opts.cgroupParent !== undefined ? { cgroupParent: opts.cgroupParent } : {}),
    });
    confine = d.confine;
    if (d.reason !== null) onWarning(`jobs are NOT confined: ${d.reason}`);
  } else onWarning('jobs are NOT confined: confinement is off (--confine off)');
  // Re-discovery refreshes telemetry-derived health (e.g. ECC errors) without a restart.
  return new LocalExecutor({ inventory: async () => [await discover()], nodeName: first.name, confine });
}
