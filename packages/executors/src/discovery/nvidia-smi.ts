/**
 * NVIDIA GPUs from `nvidia-smi --query-gpu=… --format=csv`: the devices (`Accelerator`, id = the
 * GPU UUID) and their live readings (`AcceleratorTelemetry`).
 *
 * The parser follows real output (fixtures/nvidia-smi-h200-*.csv, captured on an H200 with driver
 * 580.159.04): a header naming each field with its unit in brackets (`memory.total [MiB]`), then
 * one row per GPU, values separated by ", " and carrying their unit (`143771 MiB`, `687.04 W`,
 * `100 %`). Fields a GPU cannot report read `[N/A]` or `[Not Supported]`; those become null.
 * Columns are found by NAME in the header, not by position, so a driver that adds or reorders
 * fields does not shift values into the wrong place.
 */
import { execFile } from 'node:child_process';
import type { Accelerator } from '@suanli/core';
import type { AcceleratorTelemetry } from './telemetry.js';

export const NVIDIA_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.total',
  'memory.used',
  'memory.free',
  'utilization.gpu',
  'utilization.memory',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'pci.bus_id',
  'driver_version',
  'clocks.current.sm',
  'clocks.max.sm',
  'ecc.errors.uncorrected.volatile.total',
  'minor_number',
] as const;

export const NVIDIA_SMI_ARGS = [`--query-gpu=${NVIDIA_QUERY_FIELDS.join(',')}`, '--format=csv'] as const;

/** Longest we wait for nvidia-smi; a GPU stuck in reset can make it hang for minutes. */
export const NVIDIA_SMI_TIMEOUT_MS = 15_000;

export interface NvidiaGpu {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly memoryTotalMiB: number | null;
  readonly memoryUsedMiB: number | null;
  readonly memoryFreeMiB: number | null;
  readonly utilizationGpuPct: number | null;
  readonly utilizationMemoryPct: number | null;
  readonly temperatureC: number | null;
  readonly powerDrawW: number | null;
  readonly powerLimitW: number | null;
  readonly pciBusId: string | null;
  readonly driverVersion: string | null;
  readonly smClockMHz: number | null;
  readonly smClockMaxMHz: number | null;
  readonly eccUncorrected: number | null;
  /** Minor number of `/dev/nvidia<minor>`; null when the output lacks the column (older captures). */
  readonly minorNumber: number | null;
}

export class NvidiaSmiParseError extends Error {
  override readonly name = 'NvidiaSmiParseError';
}

/** `[N/A]`, `N/A`, `[Not Supported]`, `[Unknown Error]`, … : the tool's ways of saying "no value". */
function isMissing(v: string | undefined): boolean {
  return v === undefined || v === '' || /^\[.*\]$/.test(v) || v === 'N/A';
}

/** A number with an optional unit suffix (`143771 MiB`, `80.18 W`, `0 %`, `1980 MHz`), or null. */
export function parseNvidiaNumber(v: string | undefined): number | null {
  if (isMissing(v)) return null;
  const m = /^(-?\d+(?:\.\d+)?)\s*(?:MiB|W|%|MHz|C)?$/.exec((v as string).trim());
  return m ? Number(m[1]) : null;
}

/** Parses `--format=csv` output of `--query-gpu`. Throws when the header lacks index, uuid or name. */
export function parseNvidiaSmiCsv(text: string): NvidiaGpu[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines.shift();
  if (header === undefined) return [];
  // "memory.total [MiB]" → "memory.total"
  const cols = header.split(',').map((h) => h.trim().replace(/\s*\[[^\]]*\]$/, ''));
  const at = (name: string): number => cols.indexOf(name);
  for (const required of ['index', 'uuid', 'name']) {
    if (at(required) < 0)
      throw new NvidiaSmiParseError(`nvidia-smi output has no "${required}" column; header was: ${header}`);
  }
  return lines.map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    const get = (name: string): string | undefined => {
      const j = at(name);
      return j < 0 ? undefined : cells[j];
    };
    const str = (name: string): string | null => {
      const v = get(name);
      return isMissing(v) ? null : (v as string);
    };
    const index = parseNvidiaNumber(get('index'));
    const uuid = str('uuid');
    const name = str('name');
    if (index === null || !Number.isInteger(index) || uuid === null || name === null)
      throw new NvidiaSmiParseError(`nvidia-smi row ${i + 1} lacks an index, uuid or name: ${line}`);
    return {
      index,
      uuid,
      name,
      memoryTotalMiB: parseNvidiaNumber(get('memory.total')),
      memoryUsedMiB: parseNvidiaNumber(get('memory.used')),
      memoryFreeMiB: parseNvidiaNumber(get('memory.free')),
      utilizationGpuPct: parseNvidiaNumber(get('utilization.gpu')),
      utilizationMemoryPct: parseNvidiaNumber(get('utilization.memory')),
      temperatureC: parseNvidiaNumber(get('temperature.gpu')),
      powerDrawW: parseNvidiaNumber(get('power.draw')),
      powerLimitW: parseNvidiaNumber(get('power.limit')),
      pciBusId: str('pci.bus_id'),
      driverVersion: str('driver_version'),
      smClockMHz: parseNvidiaNumber(get('clocks.current.sm')),
      smClockMaxMHz: parseNvidiaNumber(get('clocks.max.sm')),
      eccUncorrected: parseNvidiaNumber(get('ecc.errors.uncorrected.volatile.total')),
      minorNumber: parseNvidiaNumber(get('minor_number')),
    };
  });
}

/**
 * The platform type of an NVIDIA model name. Normalisation: lower-case; drop the brand words
 * (`nvidia`, `tesla`, `geforce`, `quadro`); keep the model, dropping form factor and memory size
 * (`-SXM4-80GB`, ` PCIe`, ` 80GB HBM3`, ` NVL`), because users ask for "an A100", and memory is
 * a separate property of the device. Consumer lines keep their series: `rtx-4090`, `rtx-a6000`.
 *
 *   NVIDIA H200 → nvidia-h200            NVIDIA A100-SXM4-80GB → nvidia-a100
 *   NVIDIA H100 80GB HBM3 → nvidia-h100  Tesla V100-SXM2-32GB → nvidia-v100
 *   NVIDIA GeForce RTX 4090 → nvidia-rtx-4090   NVIDIA RTX A6000 → nvidia-rtx-a6000
 *   NVIDIA L40S → nvidia-l40s            NVIDIA GH200 480GB → nvidia-gh200
 */
export function nvidiaTypeFromName(name: string): string {
  const words = name
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '' && !['nvidia', 'tesla', 'geforce', 'quadro'].includes(w));
  const first = words[0] ?? 'gpu';
  const series =
    ['rtx', 'gtx', 'titan'].includes(first) && words[1] !== undefined ? `${first}-${words[1]}` : first;
  const model = series.split(/-(?:sxm|pcie|\d+gb)/)[0] ?? series;
  const clean = model.replace(/[^a-z0-9.-]/g, '');
  return `nvidia-${clean === '' ? 'gpu' : clean}`;
}

export function nvidiaAccelerators(gpus: readonly NvidiaGpu[]): Accelerator[] {
  return gpus.map((g) => {
    const acc: Accelerator = {
      id: g.uuid,
      index: g.index,
      type: nvidiaTypeFromName(g.name),
      vendor: 'nvidia',
      source: 'nvidia-smi',
      // Uncorrected ECC errors mean corrupted results; such a GPU must not be placed on.
      healthy: !(g.eccUncorrected !== null && g.eccUncorrected > 0),
      model: g.name,
    };
    return {
      ...acc,
      ...(g.memoryTotalMiB !== null ? { memoryMiB: g.memoryTotalMiB } : {}),
      ...(g.minorNumber !== null ? { deviceMinor: g.minorNumber } : {}),
    };
  });
}

export function nvidiaTelemetry(gpus: readonly NvidiaGpu[], at: number): AcceleratorTelemetry[] {
  return gpus.map((g) => ({
    id: g.uuid,
    index: g.index,
    utilizationPct: g.utilizationGpuPct,
    memoryUsedMiB: g.memoryUsedMiB,
    memoryTotalMiB: g.memoryTotalMiB,
    temperatureC: g.temperatureC,
    powerW: g.powerDrawW,
    eccUncorrected: g.eccUncorrected,
    at,
  }));
}

export interface SmiOptions {
  /** The program to run. Default `nvidia-smi` (looked up on PATH). */
  readonly command?: string;
  readonly timeoutMs?: number;
}

/**
 * Runs a vendor tool; resolves to its stdout, or null when the tool is not installed (ENOENT).
 * Rejects when it is installed but fails (driver not loaded, GPU lost): that is worth a warning,
 * not silence.
 */
export function runTool(command: string, args: readonly string[], timeoutMs: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(null);
      const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
      const how = e.killed
        ? `did not answer within ${timeoutMs} ms`
        : typeof e.code === 'number'
          ? `exited with code ${e.code}`
          : `failed (${e.signal ?? e.code ?? e.message})`;
      const detail = stderr.trim().split('\n').slice(0, 5).join(' ');
      reject(new Error(`${command} ${how}${detail !== '' ? `: ${detail}` : ''}`));
    });
  });
}

/** The GPUs of this machine, or null when nvidia-smi is not installed. */
export async function readNvidiaGpus(opts: SmiOptions = {}): Promise<NvidiaGpu[] | null> {
  const out = await runTool(
    opts.command ?? 'nvidia-smi',
    NVIDIA_SMI_ARGS,
    opts.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS,
  );
  return out === null ? null : parseNvidiaSmiCsv(out);
}

/** Live readings of this machine's GPUs; empty when nvidia-smi is not installed. */
export async function readNvidiaTelemetry(
  opts: SmiOptions & { readonly now?: () => number } = {},
): Promise<AcceleratorTelemetry[]> {
  const gpus = await readNvidiaGpus(opts);
  return gpus === null ? [] : nvidiaTelemetry(gpus, (opts.now ?? Date.now)());
}
