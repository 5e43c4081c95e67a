/**
 * The simulated cluster: `--nodes N --accelerators-per-node K [--accelerator-type T]`, or a cluster
 * file (JSON) with groups of nodes that may differ in type and switch:
 *
 *   { "groups": [ { "count": 40, "acceleratorsPerNode": 8, "type": "nvidia-v100", "switch": "sw1" },
 *                 { "count": 30, "acceleratorsPerNode": 8, "type": "nvidia-a100", "switch": "sw2" } ] }
 *
 * Optional per group: `namePrefix` (default "node"), `cpuMillis`, `memoryMiB` (default: enough for
 * any trace job; the traces here ask for devices only), `nodesPerSwitch` (split the group into
 * switches of that many nodes, named `<switch>-<n>`). The file may be JSON or YAML (.yaml/.yml).
 */
import type { Accelerator, ClusterNode } from '@suanli/core';

export interface NodeGroup {
  readonly count: number;
  readonly acceleratorsPerNode: number;
  readonly type?: string;
  readonly switch?: string;
  readonly nodesPerSwitch?: number;
  readonly namePrefix?: string;
  readonly cpuMillis?: number;
  readonly memoryMiB?: number;
}

export interface ClusterSpec {
  readonly groups: readonly NodeGroup[];
}

export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

/** Plenty: the traces carry no CPU or memory requests, so these never bind. */
const DEFAULT_CPU_MILLIS = 1_000_000;
const DEFAULT_MEMORY_MIB = 1 << 30;

export function uniformCluster(
  nodes: number,
  acceleratorsPerNode: number,
  type = 'gpu',
  nodesPerSwitch = 0,
): ClusterSpec {
  return {
    groups: [
      {
        count: nodes,
        acceleratorsPerNode,
        type,
        ...(nodesPerSwitch > 0 ? { switch: 'sw', nodesPerSwitch } : {}),
      },
    ],
  };
}

/** Validates a parsed cluster file. */
export function compileClusterSpec(input: unknown): ClusterSpec {
  const fail = (m: string): never => {
    throw new ClusterError(`cluster file: ${m}`);
  };
  if (typeof input !== 'object' || input === null || !Array.isArray((input as { groups?: unknown }).groups))
    fail('expected { "groups": [ ... ] }');
  const groups = (input as { groups: unknown[] }).groups;
  if (groups.length === 0) fail('groups is empty');
  return {
    groups: groups.map((g, i) => {
      if (typeof g !== 'object' || g === null) return fail(`groups[${i}] must be an object`);
      const o = g as Record<string, unknown>;
      const allowed = [
        'count',
        'acceleratorsPerNode',
        'type',
        'switch',
        'nodesPerSwitch',
        'namePrefix',
        'cpuMillis',
        'memoryMiB',
      ];
      for (const k of Object.keys(o))
        if (!allowed.includes(k))
          fail(`groups[${i}].${k} is not a known field (known: ${allowed.join(', ')})`);
      const int = (k: string, min: number, required: boolean): number | undefined => {
        const v = o[k];
        if (v === undefined) return required ? fail(`groups[${i}].${k} is required`) : undefined;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
          return fail(`groups[${i}].${k} must be an integer ≥ ${min}`);
        return v;
      };
      const str = (k: string): string | undefined => {
        const v = o[k];
        if (v === undefined) return undefined;
        if (typeof v !== 'string' || v === '') return fail(`groups[${i}].${k} must be a non-empty string`);
        return v;
      };
      const group: { -readonly [K in keyof NodeGroup]: NodeGroup[K] } = {
        count: int('count', 1, true)!,
        acceleratorsPerNode: int('acceleratorsPerNode', 0, true)!,
      };
      const type = str('type');
      if (type !== undefined) group.type = type;
      const sw = str('switch');
      if (sw !== undefined) group.switch = sw;
      const nps = int('nodesPerSwitch', 1, false);
      if (nps !== undefined) group.nodesPerSwitch = nps;
      const prefix = str('namePrefix');
      if (prefix !== undefined) group.namePrefix = prefix;
      const cpu = int('cpuMillis', 0, false);
      if (cpu !== undefined) group.cpuMillis = cpu;
      const mem = int('memoryMiB', 0, false);
      if (mem !== undefined) group.memoryMiB = mem;
      return group;
    }),
  };
}

/** Builds the core's nodes. Names are zero-padded so name order is creation order. */
export function buildNodes(spec: ClusterSpec): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  const total = spec.groups.reduce((s, g) => s + g.count, 0);
  const width = String(total).length;
  let n = 0;
  spec.groups.forEach((g, gi) => {
    const type = g.type ?? 'gpu';
    for (let i = 0; i < g.count; i++, n++) {
      const name = `${g.namePrefix ?? (spec.groups.length > 1 ? `g${gi}-node` : 'node')}${String(n).padStart(width, '0')}`;
      const accelerators: Accelerator[] = [];
      for (let d = 0; d < g.acceleratorsPerNode; d++) {
        accelerators.push({
          id: `${name}/${type}/${d}`,
          index: d,
          type,
          vendor: type.startsWith('nvidia') ? 'nvidia' : type.startsWith('ascend') ? 'ascend' : 'other',
          source: 'declared',
          healthy: true,
        });
      }
      const sw =
        g.switch === undefined
          ? undefined
          : g.nodesPerSwitch === undefined
            ? g.switch
            : `${g.switch}-${Math.floor(i / g.nodesPerSwitch)}`;
      nodes.push({
        name,
        state: 'ready',
        accelerators,
        cpuMillis: g.cpuMillis ?? DEFAULT_CPU_MILLIS,
        memoryMiB: g.memoryMiB ?? DEFAULT_MEMORY_MIB,
        topology: sw === undefined ? {} : { switch: sw },
        labels: {},
      });
    }
  });
  return nodes;
}

export function clusterAccelerators(nodes: readonly ClusterNode[]): number {
  return nodes.reduce((s, n) => s + n.accelerators.length, 0);
}
