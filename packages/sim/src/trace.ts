/**
 * Traces: the simulator's input. Every loader produces `TraceJob`s; the generic CSV format is
 * the documented exchange format (the server's job history exports to it).
 *
 * Generic format (`--format generic`), one job per line, header required, columns in any order:
 *
 *   id,submit_s,duration_s,accelerators,tenant[,time_limit_s][,accelerator_type]
 *
 *   id               unique job id (text)
 *   submit_s         submission time, seconds (any origin; integers or decimals)
 *   duration_s       run time on its accelerators once started, seconds (> 0), warm-up excluded
 *   accelerators     devices the job needs (integer ≥ 1); > accelerators-per-node means a
 *                    multi-node gang of whole nodes' worth
 *   tenant           who submitted it (a virtual cluster, a lab): quotas and fairness are per tenant
 *   time_limit_s     optional: the limit the user asked for (EASY backfill plans with it);
 *                    empty = duration × the sim's --time-limit-factor
 *   accelerator_type optional: the only device type the job accepts; empty = any
 *
 * Loaders for the public traces in ../shared/traces: `philly` (philly.csv or
 * philly_jobs_sorted.csv), `openb` (openb_pod_list_*.csv; fractional GPUs rounded UP to whole
 * devices for the JCT simulation — the packing experiment keeps them fractional) and `pollux`
 * (a workload CSV; see `parsePolluxWorkload` for where its durations come from).
 */
import { csvField, parseCsv } from './csv.js';
import type { CsvTable } from './csv.js';

export interface TraceJob {
  readonly id: string;
  /** Seconds since the trace's origin (epoch seconds for Philly). */
  readonly submitS: number;
  readonly durationS: number;
  readonly accelerators: number;
  readonly tenant: string;
  readonly timeLimitS?: number;
  readonly acceleratorType?: string;
}

export type TraceFormat = 'generic' | 'philly' | 'openb' | 'pollux';
export const TRACE_FORMATS: readonly TraceFormat[] = ['generic', 'philly', 'openb', 'pollux'];

/** A bad trace line: says which line, which column and what is wrong. */
export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

function columns(table: CsvTable, required: readonly string[], what: string): Map<string, number> {
  const idx = new Map(table.header.map((h, i) => [h, i]));
  const missing = required.filter((c) => !idx.has(c));
  if (missing.length > 0) {
    throw new TraceError(
      `${what}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header is: ${table.header.join(',')})`,
    );
  }
  return idx;
}

function num(
  fields: readonly string[],
  idx: Map<string, number>,
  col: string,
  line: number,
  what: string,
  opts: { min?: number; integer?: boolean } = {},
): number {
  const raw = (fields[idx.get(col)!] ?? '').trim();
  const v = Number(raw);
  if (raw === '' || !Number.isFinite(v))
    throw new TraceError(`${what} line ${line}: ${col} must be a number, got "${raw}"`);
  if (opts.integer === true && !Number.isInteger(v))
    throw new TraceError(`${what} line ${line}: ${col} must be an integer, got "${raw}"`);
  if (opts.min !== undefined && v < opts.min)
    throw new TraceError(`${what} line ${line}: ${col} must be ≥ ${opts.min}, got ${v}`);
  return v;
}

export function parseGenericTrace(text: string): TraceJob[] {
  const what = 'generic trace';
  const t = parseCsv(text);
  const idx = columns(t, ['id', 'submit_s', 'duration_s', 'accelerators', 'tenant'], what);
  const seen = new Set<string>();
  const jobs: TraceJob[] = [];
  for (const { line, fields } of t.rows) {
    const id = (fields[idx.get('id')!] ?? '').trim();
    if (id === '') throw new TraceError(`${what} line ${line}: id is empty`);
    if (seen.has(id)) throw new TraceError(`${what} line ${line}: id "${id}" appears twice`);
    seen.add(id);
    const tenant = (fields[idx.get('tenant')!] ?? '').trim();
    if (tenant === '') throw new TraceError(`${what} line ${line}: tenant is empty`);
    const job: { -readonly [K in keyof TraceJob]: TraceJob[K] } = {
      id,
      submitS: num(fields, idx, 'submit_s', line, what),
      durationS: num(fields, idx, 'duration_s', line, what, { min: 0 }),
      accelerators: num(fields, idx, 'accelerators', line, what, { min: 1, integer: true }),
      tenant,
    };
    if (job.durationS <= 0)
      throw new TraceError(`${what} line ${line}: duration_s must be > 0, got ${job.durationS}`);
    const tl = idx.has('time_limit_s') ? (fields[idx.get('time_limit_s')!] ?? '').trim() : '';
    if (tl !== '') job.timeLimitS = num(fields, idx, 'time_limit_s', line, what, { min: 0 });
    const ty = idx.has('accelerator_type') ? (fields[idx.get('accelerator_type')!] ?? '').trim() : '';
    if (ty !== '') job.acceleratorType = ty;
    jobs.push(job);
  }
  return jobs;
}

/** Writes jobs in the generic format (the inverse of `parseGenericTrace`). */
export function formatGenericTrace(rows: readonly TraceJob[]): string {
  const hasLimit = rows.some((r) => r.timeLimitS !== undefined);
  const hasType = rows.some((r) => r.acceleratorType !== undefined);
  const header = [
    'id',
    'submit_s',
    'duration_s',
    'accelerators',
    'tenant',
    ...(hasLimit ? ['time_limit_s'] : []),
    ...(hasType ? ['accelerator_type'] : []),
  ];
  const lines = [header.join(',')];
  for (const r of rows) {
    const f: (string | number)[] = [r.id, r.submitS, r.durationS, r.accelerators, r.tenant];
    if (hasLimit) f.push(r.timeLimitS ?? '');
    if (hasType) f.push(r.acceleratorType ?? '');
    lines.push(f.map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

/** `YYYY-MM-DD HH:MM:SS` (no zone; read as UTC) → epoch seconds. */
export function parseTimestampS(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s.trim());
  if (m === null) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)) / 1000;
}

/** Philly's first submission (2017-09-04 10:30:41), the origin of philly_jobs_sorted.csv's submit_s. */
export const PHILLY_ORIGIN_S = parseTimestampS('2017-09-04 10:30:41');

/**
 * Philly (Jeon et al., ATC'19; the Pollux/Sia copy). Accepts `philly.csv`
 * (timestamp,duration,num_gpus,gpu_time,cluster) or `philly_jobs_sorted.csv`
 * (job_id,submit_time,submit_s,duration_s,num_gpus,gpu_time_s,vc). Submit times are epoch seconds
 * (timestamps read as UTC); tenants are the virtual clusters; ids are the row index in philly.csv.
 * Jobs of duration 0 are dropped (none in the copy we ship against).
 */
export function parsePhillyTrace(text: string): TraceJob[] {
  const what = 'philly trace';
  const t = parseCsv(text);
  const sorted = t.header.includes('submit_s');
  const idx = sorted
    ? columns(t, ['job_id', 'submit_s', 'duration_s', 'num_gpus', 'vc'], what)
    : columns(t, ['timestamp', 'duration', 'num_gpus', 'cluster'], what);
  const jobs: TraceJob[] = [];
  t.rows.forEach(({ line, fields }, i) => {
    const submitS = sorted
      ? PHILLY_ORIGIN_S + num(fields, idx, 'submit_s', line, what)
      : parseTimestampS(fields[idx.get('timestamp')!] ?? '');
    if (!Number.isFinite(submitS))
      throw new TraceError(`${what} line ${line}: bad timestamp "${fields[idx.get('timestamp')!] ?? ''}"`);
    const durationS = num(fields, idx, sorted ? 'duration_s' : 'duration', line, what, { min: 0 });
    if (durationS <= 0) return;
    jobs.push({
      id: sorted ? (fields[idx.get('job_id')!] ?? String(i)).trim() : String(i),
      submitS,
      durationS,
      accelerators: num(fields, idx, 'num_gpus', line, what, { min: 1, integer: true }),
      tenant: (fields[idx.get(sorted ? 'vc' : 'cluster')!] ?? '').trim(),
    });
  });
  return jobs;
}

/**
 * Alibaba openb pods as JCT-simulation jobs: submit = creation_time, duration = deletion_time −
 * creation_time, accelerators = num_gpu with a fractional share rounded UP to one whole device,
 * tenant = qos class (the trace has no users). CPU-only pods (num_gpu 0) are dropped here; the
 * packing experiment (`openb-packing.ts`) reads the pods itself and keeps them all.
 */
export function parseOpenbTrace(text: string): TraceJob[] {
  const what = 'openb trace';
  const t = parseCsv(text);
  const idx = columns(t, ['name', 'num_gpu', 'gpu_spec', 'qos', 'creation_time', 'deletion_time'], what);
  const jobs: TraceJob[] = [];
  for (const { line, fields } of t.rows) {
    const gpus = num(fields, idx, 'num_gpu', line, what, { min: 0, integer: true });
    if (gpus === 0) continue;
    const created = num(fields, idx, 'creation_time', line, what);
    const deleted = num(fields, idx, 'deletion_time', line, what);
    if (deleted <= created) continue;
    const spec = (fields[idx.get('gpu_spec')!] ?? '').trim();
    const job: { -readonly [K in keyof TraceJob]: TraceJob[K] } = {
      id: (fields[idx.get('name')!] ?? '').trim(),
      submitS: created,
      durationS: deleted - created,
      accelerators: gpus,
      tenant: (fields[idx.get('qos')!] ?? '').trim() || 'none',
    };
    // Only a single allowed type maps onto the generic model; a list of types is left unconstrained.
    if (spec !== '' && !spec.includes('|')) job.acceleratorType = spec;
    jobs.push(job);
  }
  return jobs;
}

/**
 * A Pollux workload (`name,time,application,num_replicas,batch_size`). The workload states no
 * duration (a job runs a number of epochs); `durationsS` must supply one per job name. The
 * simulator's loader takes it from the published results next to the workloads (the shortest
 * completion time any published policy achieved for that job: an estimate of its run time on its
 * requested GPUs, not a measured duration). Tenant = application.
 */
export function parsePolluxWorkload(text: string, durationsS: ReadonlyMap<string, number>): TraceJob[] {
  const what = 'pollux workload';
  const t = parseCsv(text);
  const idx = columns(t, ['name', 'time', 'application', 'num_replicas'], what);
  const jobs: TraceJob[] = [];
  for (const { line, fields } of t.rows) {
    const name = (fields[idx.get('name')!] ?? '').trim();
    const d = durationsS.get(name);
    if (d === undefined) throw new TraceError(`${what} line ${line}: no duration known for job "${name}"`);
    jobs.push({
      id: name,
      submitS: num(fields, idx, 'time', line, what),
      durationS: Math.max(1, d),
      accelerators: num(fields, idx, 'num_replicas', line, what, { min: 1, integer: true }),
      tenant: (fields[idx.get('application')!] ?? '').trim(),
    });
  }
  return jobs;
}

/**
 * Parses `--from` / `--to`: a date or date-time (`2017-10-01`, `2017-10-01 12:00`, read as UTC)
 * or a number of seconds on the trace's own clock.
 */
export function parseWindowBound(s: string): number {
  if (/^-?\d+(\.\d+)?$/.test(s.trim())) return Number(s);
  const v = parseTimestampS(s);
  if (!Number.isFinite(v))
    throw new TraceError(`bad time "${s}": use YYYY-MM-DD[ HH:MM[:SS]] (UTC) or seconds`);
  return v;
}

/** Jobs submitted in [fromS, toS), sorted by submission (ties: input order). */
export function windowJobs(jobs: readonly TraceJob[], fromS: number | null, toS: number | null): TraceJob[] {
  const out = jobs.filter((j) => (fromS === null || j.submitS >= fromS) && (toS === null || j.submitS < toS));
  return out
    .map((j, i) => ({ j, i }))
    .sort((a, b) => a.j.submitS - b.j.submitS || a.i - b.i)
    .map((x) => x.j);
}
