/**
 * Declared accelerators: devices the operator states exist, for machines whose devices no tool can
 * report (a laptop, CI, a simulator, an unsupported vendor). Declared devices are shown as such
 * everywhere (`source: 'declared'`) and get ids `<node>/<type>/<index>`.
 *
 * Two forms:
 * - the `--accelerators` flag: `TYPE:COUNT[,TYPE:COUNT…]`, e.g. `gpu:8` or `nvidia-h200:4,ascend-910b:8`;
 * - a config file (JSON or YAML) describing one or more nodes:
 *
 *       nodes:
 *         - name: gpu-01
 *           accelerators: nvidia-h200:8        # the flag's form, or a list of {type, count}
 *           cpu: 64                            # cores (optional: this machine's)
 *           memory: 512Gi                      # optional: this machine's
 *           topology: { switch: sw-1, rack: r-1, pod: p-1 }
 *           labels: { zone: a }
 *
 * Vendor from the type's prefix: `nvidia-…` → nvidia, `ascend-…` → ascend, anything else → other.
 * Indices are numbered per vendor runtime variable (CUDA_VISIBLE_DEVICES: nvidia and other;
 * ASCEND_RT_VISIBLE_DEVICES: ascend), in declaration order, so every device a job can be given has
 * a distinct number in the variable that pins it.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  parseMemoryMiB,
  type Accelerator,
  type AcceleratorVendor,
  type ClusterNode,
  type Topology,
} from '@suanli/core';

/** A malformed declaration; the message says what form is expected. */
export class DeclarationError extends Error {
  override readonly name = 'DeclarationError';
}

export interface DeclaredAccelerators {
  readonly type: string;
  readonly count: number;
}

const TYPE_RE = /^[a-z0-9][a-z0-9._-]*$/;
/** Upper bound on declared devices per type on one node; more is a typo, not a machine. */
export const DECLARED_COUNT_MAX = 1024;
const FLAG_FORM =
  'TYPE:COUNT[,TYPE:COUNT...] with a lower-case type and a whole count, e.g. "gpu:8" or "nvidia-h200:4,ascend-910b:8"';

export function vendorOfType(type: string): AcceleratorVendor {
  if (type.startsWith('nvidia-')) return 'nvidia';
  if (type.startsWith('ascend-')) return 'ascend';
  return 'other';
}

/** Parses the `--accelerators` flag value. Repeated types are added up. */
export function parseAcceleratorsFlag(value: string): DeclaredAccelerators[] {
  const trimmed = value.trim();
  if (trimmed === '') throw new DeclarationError(`--accelerators is empty: expected ${FLAG_FORM}`);
  const counts = new Map<string, number>();
  for (const part of trimmed.split(',')) {
    const m = /^\s*([^:\s]+)\s*:\s*(\d+)\s*$/.exec(part);
    const type = m?.[1];
    const count = Number(m?.[2]);
    if (!m || type === undefined || !TYPE_RE.test(type))
      throw new DeclarationError(
        `invalid accelerator declaration "${part.trim()}" in "${value}": expected ${FLAG_FORM}`,
      );
    if (!Number.isInteger(count) || count < 1 || count > DECLARED_COUNT_MAX)
      throw new DeclarationError(
        `invalid count in "${part.trim()}": expected a whole number from 1 to ${DECLARED_COUNT_MAX}`,
      );
    counts.set(type, (counts.get(type) ?? 0) + count);
  }
  return [...counts].map(([type, count]) => ({ type, count }));
}

/** The `Accelerator`s of a declaration on node `nodeName` (see the numbering rule above). */
export function declaredAccelerators(nodeName: string, decl: readonly DeclaredAccelerators[]): Accelerator[] {
  const nextIndex: Record<'cuda' | 'ascend', number> = { cuda: 0, ascend: 0 };
  const out: Accelerator[] = [];
  for (const { type, count } of decl) {
    const vendor = vendorOfType(type);
    const variable = vendor === 'ascend' ? 'ascend' : 'cuda';
    for (let i = 0; i < count; i++) {
      const index = nextIndex[variable]++;
      out.push({
        id: `${nodeName}/${type}/${index}`,
        index,
        type,
        vendor,
        source: 'declared',
        healthy: true,
      });
    }
  }
  return out;
}

export interface DeclaredDefaults {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const NODE_FIELDS = ['name', 'accelerators', 'cpu', 'memory', 'topology', 'labels'];
const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Parses a declared-nodes config (JSON or YAML text; JSON is YAML). Every problem is collected and
 * thrown together, each with its path (`nodes.1.accelerators`), so one edit fixes them all.
 */
export function parseDeclaredConfig(text: string, source: string, defaults: DeclaredDefaults): ClusterNode[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new DeclarationError(`${source}: not valid YAML or JSON: ${(e as Error).message}`);
  }
  const errors: string[] = [];
  const nodesIn = isRecord(doc) ? doc['nodes'] : undefined;
  if (!Array.isArray(nodesIn) || nodesIn.length === 0)
    throw new DeclarationError(
      `${source}: expected a mapping with a non-empty "nodes" list, e.g. nodes: [{ name: gpu-01, accelerators: "nvidia-h200:8" }]`,
    );
  const nodes: ClusterNode[] = [];
  const seen = new Set<string>();
  nodesIn.forEach((n: unknown, i) => {
    const at = `nodes.${i}`;
    if (!isRecord(n)) {
      errors.push(`${at}: must be a mapping with at least name and accelerators`);
      return;
    }
    for (const k of Object.keys(n))
      if (!NODE_FIELDS.includes(k))
        errors.push(`${at}.${k}: unknown field; allowed: ${NODE_FIELDS.join(', ')}`);
    const name = n['name'];
    if (typeof name !== 'string' || !NODE_NAME_RE.test(name))
      errors.push(`${at}.name: required, letters, digits, ".", "_" or "-"`);
    else if (seen.has(name)) errors.push(`${at}.name: "${name}" is declared twice`);
    else seen.add(name);

    let decl: DeclaredAccelerators[] = [];
    const acc = n['accelerators'];
    try {
      if (acc === undefined || acc === 0 || acc === '') decl = [];
      else if (typeof acc === 'string') decl = parseAcceleratorsFlag(acc);
      else if (Array.isArray(acc))
        decl = acc.map((a: unknown, j) => {
          if (!isRecord(a) || typeof a['type'] !== 'string' || typeof a['count'] !== 'number')
            throw new DeclarationError(
              `item ${j} must be { type: <lower-case type>, count: <whole number> }`,
            );
          return parseAcceleratorsFlag(`${a['type']}:${a['count']}`)[0] as DeclaredAccelerators;
        });
      else throw new DeclarationError(`expected "${'TYPE:COUNT,...'}" or a list of { type, count }`);
    } catch (e) {
      errors.push(`${at}.accelerators: ${(e as Error).message}`);
    }

    let cpuMillis = defaults.cpuMillis;
    const cpu = n['cpu'];
    if (cpu !== undefined) {
      if (typeof cpu !== 'number' || !(cpu > 0) || cpu > 100_000)
        errors.push(`${at}.cpu: must be a number of cores greater than 0`);
      else cpuMillis = Math.round(cpu * 1000);
    }
    let memoryMiB = defaults.memoryMiB;
    const mem = n['memory'];
    if (mem !== undefined) {
      const m = parseMemoryMiB(mem);
      if (m === null) errors.push(`${at}.memory: must be a size such as "512Gi" or a number of MiB`);
      else memoryMiB = m;
    }
    const topology: Record<string, string> = {};
    const topo = n['topology'];
    if (topo !== undefined) {
      if (!isRecord(topo)) errors.push(`${at}.topology: must be a mapping with switch, rack and/or pod`);
      else
        for (const [k, v] of Object.entries(topo)) {
          if (!['switch', 'rack', 'pod'].includes(k))
            errors.push(`${at}.topology.${k}: unknown level; allowed: switch, rack, pod`);
          else if (typeof v !== 'string' || v === '')
            errors.push(`${at}.topology.${k}: must be a non-empty string`);
          else topology[k] = v;
        }
    }
    const labels: Record<string, string> = {};
    const lab = n['labels'];
    if (lab !== undefined) {
      if (!isRecord(lab)) errors.push(`${at}.labels: must be a mapping of name: value`);
      else for (const [k, v] of Object.entries(lab)) labels[k] = String(v);
    }
    if (typeof name === 'string')
      nodes.push({
        name,
        state: 'ready',
        accelerators: declaredAccelerators(name, decl),
        cpuMillis,
        memoryMiB,
        topology: topology as Topology,
        labels,
      });
  });
  if (errors.length > 0)
    throw new DeclarationError(`${source}: ${errors.length} problem(s):\n  ${errors.join('\n  ')}`);
  return nodes;
}

export function loadDeclaredConfig(path: string, defaults: DeclaredDefaults): ClusterNode[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DeclarationError(`cannot read accelerator config ${path}: ${(e as Error).message}`);
  }
  return parseDeclaredConfig(text, path, defaults);
}
