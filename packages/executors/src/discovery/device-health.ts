/**
 * Device faults that make a node unfit for work, read from the vendor tools on this machine.
 *
 * NVIDIA: `nvidia-smi -q -x` (the full query as XML; parser written against
 * fixtures/nvidia-smi-h200-q.xml, an H200 with driver 580.159.04). Per GPU, a fault is:
 *   - uncorrectable ECC errors since the driver loaded (`ecc_errors/volatile`: `dram_uncorrectable`,
 *     `sram_uncorrectable_parity`, `sram_uncorrectable_secded`; on older drivers
 *     `volatile/double_bit/total`): results computed on it may be corrupt;
 *   - the SRAM error threshold exceeded, memory the GPU cannot repair, a channel or TPC repair
 *     pending (`sram_threshold_exceeded`, `unrepairable_memory`, `channel_repair_pending`,
 *     `tpc_repair_pending`);
 *   - a page retirement or row remapping pending (needs a GPU reset) or a row remapping failure
 *     (the GPU needs replacing): `retired_pages/pending_retirement` (`pending_blacklist` on older
 *     drivers), `remapped_rows/remapped_row_pending`, `remapped_row_failure`;
 *   - a recovery action the driver asks for (`gpu_recovery_action`: `GPU Reset`, `Node Reboot`,
 *     `Drain P2P`, `Drain and Reset`). The driver sets it after the XID errors that need one (XID 79
 *     "fallen off the bus", 94/95 contained/uncontained ECC, 119/120 GSP errors, …), so it is how
 *     nvidia-smi reports an XID that leaves the GPU unusable;
 *   - an NVLink fabric whose health summary is `Unhealthy`.
 * A reading the GPU does not support (`N/A`) is no fault.
 *
 * Ascend: `npu-smi info` (parsed by npu-smi.ts): a chip whose Health is not `OK` (Warning, Alarm,
 * Critical) is a fault, as discovery already treats it.
 */
import { NVIDIA_SMI_TIMEOUT_MS, runTool, type SmiOptions } from './nvidia-smi.js';
import { readAscendChips, type AscendChip } from './npu-smi.js';

export interface NvidiaGpuHealth {
  readonly uuid: string;
  readonly minorNumber: number | null;
  readonly name: string;
  /** One line per fault found, e.g. `2 uncorrectable ECC errors (dram_uncorrectable)`. Empty: healthy. */
  readonly faults: readonly string[];
}

/** The text of the first `<name>` element in `xml` (nested elements included), or null. */
function element(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? (m[1] ?? '') : null;
}

/** The trimmed text at a path of element names, or null when any step is missing. */
function at(xml: string, ...path: string[]): string | null {
  let cur: string | null = xml;
  for (const p of path) {
    if (cur === null) return null;
    cur = element(cur, p);
  }
  return cur === null ? null : cur.trim();
}

function count(v: string | null): number {
  if (v === null || !/^\d+$/.test(v)) return 0; // N/A, "Not Supported"
  return Number(v);
}

const yes = (v: string | null): boolean => v !== null && /^yes$/i.test(v);

/** Parses `nvidia-smi -q -x`; one entry per `<gpu>`. Throws when a GPU has no uuid. */
export function parseNvidiaSmiQueryXml(xml: string): NvidiaGpuHealth[] {
  const out: NvidiaGpuHealth[] = [];
  for (const m of xml.matchAll(/<gpu\s+id="([^"]*)">([\s\S]*?)<\/gpu>/g)) {
    const gpu = m[2] ?? '';
    const uuid = at(gpu, 'uuid');
    if (uuid === null || uuid === '') throw new Error(`nvidia-smi -q -x: GPU ${m[1] ?? '?'} has no uuid`);
    const minor = at(gpu, 'minor_number');
    const faults: string[] = [];
    const ecc = element(gpu, 'ecc_errors') ?? '';
    const volatile = element(ecc, 'volatile') ?? '';
    const uncorrectable: [string, number][] = [
      ['dram_uncorrectable', count(at(volatile, 'dram_uncorrectable'))],
      ['sram_uncorrectable_parity', count(at(volatile, 'sram_uncorrectable_parity'))],
      ['sram_uncorrectable_secded', count(at(volatile, 'sram_uncorrectable_secded'))],
      ['double_bit', count(at(volatile, 'double_bit', 'total'))],
    ];
    for (const [field, n] of uncorrectable)
      if (n > 0) faults.push(`${n} uncorrectable ECC error${n === 1 ? '' : 's'} (${field})`);
    if (yes(at(ecc, 'aggregate', 'sram_threshold_exceeded')))
      faults.push('SRAM ECC error threshold exceeded');
    if (yes(at(ecc, 'unrepairable_memory'))) faults.push('unrepairable memory');
    if (yes(at(ecc, 'channel_repair_pending'))) faults.push('memory channel repair pending');
    if (yes(at(ecc, 'tpc_repair_pending'))) faults.push('TPC repair pending');
    const retired = element(gpu, 'retired_pages') ?? '';
    if (yes(at(retired, 'pending_retirement')) || yes(at(retired, 'pending_blacklist')))
      faults.push('page retirement pending (reset the GPU)');
    const remapped = element(gpu, 'remapped_rows') ?? '';
    if (yes(at(remapped, 'remapped_row_pending'))) faults.push('row remapping pending (reset the GPU)');
    if (yes(at(remapped, 'remapped_row_failure'))) faults.push('row remapping failed (replace the GPU)');
    const recovery = at(gpu, 'gpu_recovery_action');
    if (recovery !== null && !/^(none|n\/a)$/i.test(recovery))
      faults.push(`driver asks for recovery: ${recovery}`);
    const fabric = at(gpu, 'fabric', 'health', 'summary');
    if (fabric !== null && /^unhealthy$/i.test(fabric)) faults.push('NVLink fabric unhealthy');
    out.push({
      uuid,
      minorNumber: minor !== null && /^\d+$/.test(minor) ? Number(minor) : null,
      name: at(gpu, 'product_name') ?? 'GPU',
      faults,
    });
  }
  return out;
}

/** The faults of Ascend chips (`Health` other than `OK`). */
export function ascendFaults(chips: readonly AscendChip[]): { index: number; fault: string }[] {
  return chips.filter((c) => c.health !== 'OK').map((c) => ({ index: c.index, fault: `health ${c.health}` }));
}

/** The device faults of this machine, one line each, naming the device. */
export interface DeviceHealthReport {
  /** Which tools answered (`nvidia-smi`, `npu-smi`); empty when neither is installed. */
  readonly sources: readonly string[];
  readonly faults: readonly string[];
}

/** One line per faulty device: `GPU 3 (GPU-…): 2 uncorrectable ECC errors (dram_uncorrectable); …`. */
export function nvidiaFaultLines(gpus: readonly NvidiaGpuHealth[]): string[] {
  return gpus
    .filter((g) => g.faults.length > 0)
    .map((g) => `GPU ${g.minorNumber ?? '?'} (${g.uuid}): ${g.faults.join('; ')}`);
}

/**
 * Runs `nvidia-smi -q -x` and `npu-smi info` (those installed) and reports the faults found. A tool
 * that is installed but fails is itself a fault: a GPU that fell off the bus makes nvidia-smi fail.
 */
export async function readDeviceHealth(
  opts: { readonly nvidiaSmi?: string; readonly npuSmi?: string } & Pick<SmiOptions, 'timeoutMs'> = {},
): Promise<DeviceHealthReport> {
  const sources: string[] = [];
  const faults: string[] = [];
  const timeoutMs = opts.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS;
  try {
    const xml = await runTool(opts.nvidiaSmi ?? 'nvidia-smi', ['-q', '-x'], timeoutMs);
    if (xml !== null) {
      sources.push('nvidia-smi');
      faults.push(...nvidiaFaultLines(parseNvidiaSmiQueryXml(xml)));
    }
  } catch (e) {
    sources.push('nvidia-smi');
    faults.push((e as Error).message);
  }
  try {
    const chips = await readAscendChips({
      ...(opts.npuSmi !== undefined ? { command: opts.npuSmi } : {}),
      timeoutMs,
    });
    if (chips !== null) {
      sources.push('npu-smi');
      faults.push(...ascendFaults(chips).map((f) => `NPU ${f.index}: ${f.fault}`));
    }
  } catch (e) {
    sources.push('npu-smi');
    faults.push((e as Error).message);
  }
  return { sources, faults };
}
