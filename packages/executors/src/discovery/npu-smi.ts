/**
 * Huawei Ascend NPUs from `npu-smi info` (the human-readable table; npu-smi has no CSV mode that
 * all driver versions share). Tested against real published output: fixtures/npu-smi-info-910b3-x8.txt
 * (8 × 910B3, npu-smi 24.1.rc1; source in the file header).
 *
 * Layout: after the version banner, a header of two lines, then TWO lines per chip:
 *
 *   | NPU   Name        | Health       | Power(W)  Temp(C)   Hugepages-Usage(page) |
 *   | Chip [Device]     | Bus-Id       | AICore(%) Memory-Usage(MB) [HBM-Usage(MB)] |
 *
 * 910B-class cards have one chip per NPU and report HBM; 310P cards report a `Device` (logical id)
 * column and DDR only. A second table (`Process id`) lists processes and is skipped. Unknown
 * readings show as `NA`.
 *
 * Mapping: index = the logical device id (`Device` column when present, else the NPU id), which is
 * what ASCEND_RT_VISIBLE_DEVICES takes; id = `<node>/ascend/<index>`; type = `ascend-` + the chip
 * family with the SKU digit dropped (`910B3` → `ascend-910b`, `310P3` → `ascend-310p`), as for
 * NVIDIA form factors: users ask for "a 910B"; memory = HBM total where reported, else memory total.
 * Health other than `OK` (Warning, Alarm, Critical, …) marks the device unhealthy: npu-smi raises
 * Warning for faults that already degrade training (e.g. HBM ECC), and a false "unhealthy" costs
 * one idle device, while a false "healthy" costs a failed multi-day job.
 */
import type { Accelerator } from '@suanli/core';
import type { AcceleratorTelemetry } from './telemetry.js';
import { runTool, type SmiOptions } from './nvidia-smi.js';

export const NPU_SMI_TIMEOUT_MS = 15_000;

export interface AscendChip {
  readonly npu: number;
  readonly chip: number;
  /** Logical device index (ASCEND_RT_VISIBLE_DEVICES numbering). */
  readonly index: number;
  /** Chip name as printed (`910B3`). */
  readonly name: string;
  readonly health: string;
  readonly powerW: number | null;
  readonly temperatureC: number | null;
  readonly busId: string | null;
  readonly aiCorePct: number | null;
  readonly memoryUsedMB: number | null;
  readonly memoryTotalMB: number | null;
  readonly hbmUsedMB: number | null;
  readonly hbmTotalMB: number | null;
}

export class NpuSmiParseError extends Error {
  override readonly name = 'NpuSmiParseError';
}

function num(v: string | undefined): number | null {
  if (v === undefined || !/^-?\d+(?:\.\d+)?$/.test(v)) return null; // "NA", "-", ""
  return Number(v);
}

/** `1197 / 13553` or `58626/ 65536` → [used, total] pairs, in order of appearance. */
function usagePairs(s: string): [number, number][] {
  return [...s.matchAll(/(\d+)\s*\/\s*(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

const BUS_ID_RE = /^[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]$/;

/** Parses `npu-smi info`. Throws when a chip's second line is missing or the table is not recognised. */
export function parseNpuSmiInfo(text: string): AscendChip[] {
  const chips: AscendChip[] = [];
  let inDevices = false;
  let pending: {
    npu: number;
    name: string;
    health: string;
    powerW: number | null;
    temperatureC: number | null;
  } | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith('|')) continue; // separators (+---+, +===+) and anything outside the table
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length < 3) continue;
    const [c1 = '', c2 = '', c3 = ''] = cells;
    if (/^NPU\s+Name/.test(c1) && c2 === 'Health') {
      inDevices = true;
      continue;
    }
    if (/Process id/i.test(c2) || /^NPU\s+Chip$/.test(c1)) {
      inDevices = false; // the process table follows; its rows are not devices
      continue;
    }
    if (!inDevices || /^Chip\b/.test(c1)) continue;
    const w1 = c1.split(/\s+/);
    const w3 = c3.split(/\s+/);
    if (!BUS_ID_RE.test(c2)) {
      // First line of a chip: NPU id, name | health | power temp hugepages
      const npu = num(w1[0]);
      if (npu === null || w1[1] === undefined)
        throw new NpuSmiParseError(`unrecognised npu-smi device line: ${raw}`);
      pending = { npu, name: w1[1], health: c2, powerW: num(w3[0]), temperatureC: num(w3[1]) };
      continue;
    }
    // Second line: chip [device] | bus id | aicore memory [hbm]
    if (pending === null) throw new NpuSmiParseError(`npu-smi chip line without its device line: ${raw}`);
    const chip = num(w1[0]) ?? 0;
    const device = num(w1[1]);
    const pairs = usagePairs(w3.slice(1).join(' '));
    const [mem, hbm] = [pairs[0], pairs[1]];
    chips.push({
      npu: pending.npu,
      chip,
      index: device ?? pending.npu,
      name: pending.name,
      health: pending.health,
      powerW: pending.powerW,
      temperatureC: pending.temperatureC,
      busId: c2,
      aiCorePct: num(w3[0]),
      memoryUsedMB: mem?.[0] ?? null,
      memoryTotalMB: mem?.[1] ?? null,
      hbmUsedMB: hbm?.[0] ?? null,
      hbmTotalMB: hbm?.[1] ?? null,
    });
    pending = null;
  }
  if (pending !== null)
    throw new NpuSmiParseError(
      `npu-smi output ends after the device line of NPU ${pending.npu} without its chip line`,
    );
  return chips;
}

/** `910B3` → `ascend-910b`, `310P3` → `ascend-310p`, `910` → `ascend-910`, `Ascend910B4` → `ascend-910b`. */
export function ascendTypeFromName(name: string): string {
  const n = name.toLowerCase().replace(/^ascend[\s-]*/, '');
  const m = /^(\d{3}[a-z]?)/.exec(n);
  return `ascend-${m?.[1] ?? (n.replace(/[^a-z0-9.-]/g, '') || 'npu')}`;
}

function totalMiB(c: AscendChip): number | null {
  const mb = c.hbmTotalMB !== null && c.hbmTotalMB > 0 ? c.hbmTotalMB : c.memoryTotalMB;
  return mb !== null && mb > 0 ? mb : null; // npu-smi's "MB" are MiB (65536 for a 64 GB card)
}

function usedMiB(c: AscendChip): number | null {
  return c.hbmTotalMB !== null && c.hbmTotalMB > 0 ? c.hbmUsedMB : c.memoryUsedMB;
}

export function ascendAccelerators(nodeName: string, chips: readonly AscendChip[]): Accelerator[] {
  return chips.map((c) => {
    const acc: Accelerator = {
      id: `${nodeName}/ascend/${c.index}`,
      index: c.index,
      type: ascendTypeFromName(c.name),
      vendor: 'ascend',
      source: 'npu-smi',
      healthy: c.health === 'OK',
      model: `Ascend ${c.name}`,
    };
    const mem = totalMiB(c);
    return mem === null ? acc : { ...acc, memoryMiB: mem };
  });
}

export function ascendTelemetry(
  nodeName: string,
  chips: readonly AscendChip[],
  at: number,
): AcceleratorTelemetry[] {
  return chips.map((c) => ({
    id: `${nodeName}/ascend/${c.index}`,
    index: c.index,
    utilizationPct: c.aiCorePct,
    memoryUsedMiB: usedMiB(c),
    memoryTotalMiB: totalMiB(c),
    temperatureC: c.temperatureC,
    powerW: c.powerW,
    eccUncorrected: null, // not in `npu-smi info`; `npu-smi info -t ecc` has it (not read yet)
    at,
  }));
}

/** The NPUs of this machine, or null when npu-smi is not installed. */
export async function readAscendChips(opts: SmiOptions = {}): Promise<AscendChip[] | null> {
  const out = await runTool(opts.command ?? 'npu-smi', ['info'], opts.timeoutMs ?? NPU_SMI_TIMEOUT_MS);
  return out === null ? null : parseNpuSmiInfo(out);
}

/** Live readings of this machine's NPUs; empty when npu-smi is not installed. */
export async function readAscendTelemetry(
  nodeName: string,
  opts: SmiOptions & { readonly now?: () => number } = {},
): Promise<AcceleratorTelemetry[]> {
  const chips = await readAscendChips(opts);
  return chips === null ? [] : ascendTelemetry(nodeName, chips, (opts.now ?? Date.now)());
}
