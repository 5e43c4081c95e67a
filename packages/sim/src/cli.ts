/**
 * Argument parsing and dispatch for `bin/sim.ts` (and for the CLI's `suanli sim`, which can call
 * `main` with its own argv slice). Returns the exit code: 0 ok, 2 bad usage or input.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRACE_FORMATS, TraceError } from './trace.js';
import type { TraceFormat } from './trace.js';
import type { GuaranteeMode, SimOptions } from './run.js';
import { runSim, SimOptionsError } from './run.js';
import { reportJson, reportMarkdown } from './report.js';
import { ClusterError } from './cluster.js';
import { PolicyError } from './policies.js';
import { writePlots } from './plots.js';
import { formatPackingMarkdown, runOpenbPacking } from './openb-packing.js';

const VALUE_FLAGS = [
  'trace',
  'format',
  'from',
  'to',
  'nodes',
  'accelerators-per-node',
  'accelerator-type',
  'cluster',
  'policy',
  'policy-file',
  'guarantees',
  'restart-cost',
  'restart-cost-large',
  'time-limit-factor',
  'plots',
  'packing',
  'node-list',
  'seeds',
  'arrived-pct',
  'parallel',
] as const;
const BOOL_FLAGS = ['json', 'bench', 'help'] as const;

export const USAGE = `usage: sim --trace FILE --format generic|philly|openb|pollux [--from DATE|S] [--to DATE|S]
           (--nodes N --accelerators-per-node K [--accelerator-type T] | --cluster FILE.json|yaml)
           [--policy all|NAME[,NAME...]] [--policy-file FILE.json|yaml] [--guarantees proportional|equal|none]
           [--restart-cost S] [--restart-cost-large S] [--time-limit-factor F] [--json] [--plots DIR] [--bench]
           [--parallel N]   (simulate N policies at once in worker threads; same results)
       sim --packing openb --trace openb_pod_list_X.csv --node-list openb_node_list_all_node.csv [--seeds 42-51] [--json]
policies: suanli (the core's), fifo, easy, sjf-oracle, srtf-oracle, tiresias, fcfs; all = every one available
--plots DIR: writes jct-cdf, utilization and tenant-wait plots into DIR, each as SVG and PNG
`;

export function parseArgs(args: readonly string[]): { values: Map<string, string>; flags: Set<string> } {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new SimOptionsError(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if ((BOOL_FLAGS as readonly string[]).includes(name)) {
      flags.add(name);
      continue;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(name))
      throw new SimOptionsError(`unknown flag --${name}`);
    const v = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (v === undefined) throw new SimOptionsError(`--${name} needs a value`);
    values.set(name, v);
  }
  return { values, flags };
}

function number(values: Map<string, string>, name: string, min: number): number | undefined {
  const v = values.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min)
    throw new SimOptionsError(`--${name} must be a number ≥ ${min}, got "${v}"`);
  return n;
}

export function optionsFromArgs(values: Map<string, string>): SimOptions {
  const format = (values.get('format') ?? 'generic') as TraceFormat;
  if (!TRACE_FORMATS.includes(format))
    throw new SimOptionsError(`--format must be one of ${TRACE_FORMATS.join(', ')}`);
  const guarantees = (values.get('guarantees') ?? 'proportional') as GuaranteeMode;
  if (!['proportional', 'equal', 'none'].includes(guarantees))
    throw new SimOptionsError('--guarantees must be proportional, equal or none');
  const model: { -readonly [K in keyof NonNullable<SimOptions['model']>]?: number } = {};
  const rc = number(values, 'restart-cost', 0);
  if (rc !== undefined) model.restartCostSmallS = rc;
  const rcl = number(values, 'restart-cost-large', 0);
  if (rcl !== undefined) model.restartCostLargeS = rcl;
  const tlf = number(values, 'time-limit-factor', 1);
  if (tlf !== undefined) model.timeLimitFactor = tlf;
  const opt: { -readonly [K in keyof SimOptions]: SimOptions[K] } = {
    format,
    guarantees,
    model,
    policy: values.get('policy') ?? 'all',
  };
  const set = <K extends keyof SimOptions>(k: K, v: SimOptions[K] | undefined): void => {
    if (v !== undefined) opt[k] = v;
  };
  set('trace', values.get('trace'));
  set('from', values.get('from'));
  set('to', values.get('to'));
  set('nodes', number(values, 'nodes', 1));
  set('acceleratorsPerNode', number(values, 'accelerators-per-node', 1));
  set('acceleratorType', values.get('accelerator-type'));
  set('clusterFile', values.get('cluster'));
  set('policyFile', values.get('policy-file'));
  const parallel = number(values, 'parallel', 1);
  if (parallel !== undefined && !Number.isInteger(parallel))
    throw new SimOptionsError(`--parallel must be a whole number ≥ 1, got "${values.get('parallel') ?? ''}"`);
  set('parallel', parallel);
  return opt;
}

function parseSeeds(s: string | undefined): number[] {
  if (s === undefined) return [42, 43, 44, 45, 46, 47, 48, 49, 50, 51];
  const m = /^(\d+)-(\d+)$/.exec(s);
  if (m !== null) {
    const out: number[] = [];
    for (let x = Number(m[1]); x <= Number(m[2]); x++) out.push(x);
    return out;
  }
  return s.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new SimOptionsError(`--seeds: bad seed "${x}"`);
    return n;
  });
}

export function main(args: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  try {
    const { values, flags } = parseArgs(args);
    if (flags.has('help')) {
      out(USAGE);
      return 0;
    }
    if (values.has('packing')) {
      if (values.get('packing') !== 'openb') throw new SimOptionsError('--packing supports only "openb"');
      const trace = values.get('trace');
      const nodeList = values.get('node-list');
      if (trace === undefined || nodeList === undefined)
        throw new SimOptionsError('--packing openb needs --trace POD_LIST.csv and --node-list NODE_LIST.csv');
      const res = runOpenbPacking({
        podList: trace,
        nodeList,
        seeds: parseSeeds(values.get('seeds')),
        policies: (values.get('policy') ?? 'best-fit,random-fit').split(','),
      });
      out(flags.has('json') ? JSON.stringify(res, null, 2) + '\n' : formatPackingMarkdown(res));
      return 0;
    }
    const report = runSim(optionsFromArgs(values));
    if (values.has('plots')) {
      const dir = values.get('plots')!;
      mkdirSync(dir, { recursive: true });
      for (const [name, content] of writePlots(report)) writeFileSync(join(dir, name), content);
    }
    if (flags.has('json')) out(reportJson(report) + '\n');
    else out(reportMarkdown(report));
    if (flags.has('bench')) {
      const total = report.results.reduce((s, r) => s + r.sim_seconds, 0);
      err(
        report.results
          .map((r) => `bench ${r.policy}: ${r.sim_seconds.toFixed(2)} s, ${r.policy_calls} policy calls`)
          .join('\n') + `\nbench total: ${total.toFixed(2)} s\n`,
      );
    }
    return 0;
  } catch (e) {
    if (
      e instanceof SimOptionsError ||
      e instanceof TraceError ||
      e instanceof ClusterError ||
      e instanceof PolicyError
    ) {
      err(`sim: ${e.message}\n`);
      if (e instanceof SimOptionsError) err(USAGE);
      return 2;
    }
    if (e instanceof Error && 'code' in e && (e as NodeJS.ErrnoException).code === 'ENOENT') {
      err(`sim: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
