/**
 * Slurm hostlist expressions (`node[1-3,5]`, `gpu-a[01-02]-r[1-2]`, `n1,n2`) and the GRES strings
 * that slurmrestd reports (`gpu:h100:8`, `gpu:h100:8(S:0-1)`, `gpu:h100:2(IDX:0-1)`).
 * Pure functions; every malformed input throws `SlurmParseError` naming the input.
 */

export class SlurmParseError extends Error {
  override readonly name = 'SlurmParseError';
}

/** Upper bound on the hosts one expression may expand to, so a typo (`n[1-99999999]`) cannot exhaust memory. */
export const HOSTLIST_MAX_HOSTS = 100_000;

/** Splits on commas that are not inside brackets or parentheses. */
export function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (depth !== 0) throw new SlurmParseError(`unbalanced brackets in "${s}"`);
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

/** Expands a range list `1-3,5,07-09` (zero padding kept) into strings. */
function expandRanges(ranges: string, whole: string): string[] {
  const out: string[] = [];
  for (const part of ranges.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || m[1] === undefined) throw new SlurmParseError(`bad range "${part}" in hostlist "${whole}"`);
    const lo = m[1];
    const hi = m[2] ?? lo;
    const a = Number(lo);
    const b = Number(hi);
    if (b < a) throw new SlurmParseError(`descending range "${part}" in hostlist "${whole}"`);
    if (b - a + 1 > HOSTLIST_MAX_HOSTS)
      throw new SlurmParseError(`hostlist "${whole}" expands to more than ${HOSTLIST_MAX_HOSTS} hosts`);
    const width = lo.length;
    for (let i = a; i <= b; i++) out.push(String(i).padStart(width, '0'));
  }
  return out;
}

function expandOne(host: string, whole: string): string[] {
  const open = host.indexOf('[');
  if (open < 0) {
    if (host.includes(']')) throw new SlurmParseError(`unbalanced brackets in hostlist "${whole}"`);
    return [host];
  }
  const close = host.indexOf(']', open);
  if (close < 0) throw new SlurmParseError(`unbalanced brackets in hostlist "${whole}"`);
  const prefix = host.slice(0, open);
  const rest = expandOne(host.slice(close + 1), whole);
  const out: string[] = [];
  for (const mid of expandRanges(host.slice(open + 1, close), whole)) {
    for (const r of rest) {
      out.push(prefix + mid + r);
      if (out.length > HOSTLIST_MAX_HOSTS)
        throw new SlurmParseError(`hostlist "${whole}" expands to more than ${HOSTLIST_MAX_HOSTS} hosts`);
    }
  }
  return out;
}

/**
 * Expands a Slurm hostlist into host names, in Slurm's order (which is also the order of
 * `gres_detail` and of the job's node indices). `""` and `"(null)"` give `[]`.
 */
export function expandHostlist(expr: string): string[] {
  const s = expr.trim();
  if (s === '' || s === '(null)' || s === 'None') return [];
  return splitTopLevel(s).flatMap((h) => expandOne(h, s));
}

/** One GRES entry: `gpu:h100:8(S:0-1)` → { name: 'gpu', type: 'h100', count: 8, indices: null }. */
export interface GresEntry {
  readonly name: string;
  /** The GRES type (`h100`), or null when the entry has none (`gpu:8`). */
  readonly type: string | null;
  readonly count: number;
  /** Device indices from `(IDX:0-1,4)`; null when not reported (`(S:0-1)`, `(IDX:N/A)` or nothing). */
  readonly indices: readonly number[] | null;
}

/**
 * Parses one GRES entry as slurmrestd prints it in `gres`, `gres_used` and `gres_detail`:
 * `gpu`, `gpu:8`, `gpu:h100:8`, `gpu:h100:8(S:0-1)`, `gpu:h100:2(IDX:0-1,4)`, `gpu:h100:0(IDX:N/A)`,
 * and the `gres/gpu:h100=2` spelling of TRES strings.
 */
export function parseGresEntry(entry: string): GresEntry {
  let s = entry
    .trim()
    .replace(/^gres\//, '')
    .replace('=', ':');
  let indices: number[] | null = null;
  const paren = s.indexOf('(');
  if (paren >= 0) {
    if (!s.endsWith(')')) throw new SlurmParseError(`bad GRES "${entry}"`);
    const inner = s.slice(paren + 1, -1);
    s = s.slice(0, paren);
    const m = /^IDX:(.*)$/.exec(inner);
    if (m && m[1] !== undefined && m[1] !== 'N/A' && m[1] !== '')
      indices = expandRanges(m[1], entry).map(Number);
  }
  const parts = s.split(':');
  const name = parts[0] ?? '';
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new SlurmParseError(`bad GRES name in "${entry}"`);
  let type: string | null = null;
  let count = 1;
  if (parts.length === 2) {
    const p = parts[1] ?? '';
    if (/^\d+$/.test(p)) count = Number(p);
    else type = p;
  } else if (parts.length === 3) {
    type = parts[1] ?? null;
    const c = parts[2] ?? '';
    if (!/^\d+$/.test(c)) throw new SlurmParseError(`bad GRES count in "${entry}"`);
    count = Number(c);
  } else if (parts.length > 3) throw new SlurmParseError(`bad GRES "${entry}"`);
  if (type !== null && !/^[A-Za-z0-9_.-]+$/.test(type))
    throw new SlurmParseError(`bad GRES type in "${entry}"`);
  return { name, type, count, indices };
}

/** Parses a comma-separated GRES list (`gpu:h100:4(S:0),gpu:a100:4(S:1)`); `""`, `(null)`, `N/A` give `[]`. */
export function parseGresList(list: string | null | undefined): GresEntry[] {
  const s = (list ?? '').trim();
  if (s === '' || s === '(null)' || s === 'N/A') return [];
  return splitTopLevel(s).map(parseGresEntry);
}
