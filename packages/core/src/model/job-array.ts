/**
 * Job arrays, Slurm's convention: one submission makes many tasks of the same spec, each with its
 * own index. An array expression is what `sbatch --array` accepts:
 *
 *   `0-999`        indices 0 … 999
 *   `0-15:4`       0, 4, 8, 12 (a step)
 *   `1,3,5-7`      a comma list of single indices and ranges
 *   `0-999%50`     any of the above, with at most 50 tasks running at once (the throttle)
 *
 * Indices are whole numbers 0 … `ARRAY_LIMITS.maxIndex`; a list may not name an index twice; the
 * tasks of one array are at most `ARRAY_LIMITS.maxTasks` (a submission may be bounded lower by the
 * tenant's waiting-jobs limit, see the engine's JobService). Pure: the API, the CLI and the engine
 * all parse with this one function.
 */
import type { FieldError } from './job-spec.js';

export const ARRAY_LIMITS = {
  /** The most tasks one array may have (Slurm's MaxArraySize is 1001 by default; a center raises both). */
  maxTasks: 10_000,
  /** The largest index (Slurm: MaxArraySize - 1; here independent of maxTasks so sparse lists are possible). */
  maxIndex: 9_999_999,
  /** The most characters of an expression. */
  maxChars: 4096,
} as const;

export interface ArrayExpression {
  /** The indices, ascending, each once. */
  readonly indices: readonly number[];
  /** At most this many tasks of the array active at once; null: no cap. */
  readonly throttle: number | null;
  /** The canonical text (`0-999%50`, `1,3,5-7`), what is stored and shown. */
  readonly text: string;
}

const PART_RE = /^(\d{1,8})(?:-(\d{1,8})(?::(\d{1,8}))?)?$/;

/**
 * Parses an array expression. `path` names the field in error messages (`array`). Never throws:
 * returns every problem found, each saying what to fix.
 */
export function parseArrayExpression(
  input: unknown,
  path = 'array',
  maxTasks: number = ARRAY_LIMITS.maxTasks,
): { ok: true; value: ArrayExpression } | { ok: false; errors: FieldError[] } {
  const example = 'e.g. "0-999", "0-15:4", "1,3,5-7" or "0-999%50"';
  if (typeof input === 'number' && Number.isInteger(input)) input = String(input);
  if (typeof input !== 'string' || input.trim() === '')
    return { ok: false, errors: [{ path, message: `must be an array expression, ${example}` }] };
  const s = input.trim();
  if (s.length > ARRAY_LIMITS.maxChars)
    return { ok: false, errors: [{ path, message: `must be at most ${ARRAY_LIMITS.maxChars} characters` }] };
  const errors: FieldError[] = [];
  const [list = '', throttleText, ...rest] = s.split('%');
  let throttle: number | null = null;
  if (rest.length > 0) errors.push({ path, message: `may contain "%" once (the throttle), ${example}` });
  else if (throttleText !== undefined) {
    if (!/^\d{1,8}$/.test(throttleText) || Number(throttleText) < 1)
      errors.push({
        path,
        message: `the throttle after "%" must be a whole number of at least 1, ${example}`,
      });
    else throttle = Number(throttleText);
  }
  const indices: number[] = [];
  for (const part of list.split(',')) {
    const m = PART_RE.exec(part.trim());
    if (!m) {
      errors.push({ path, message: `"${part}" is not an index or a range, ${example}` });
      continue;
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (hi > ARRAY_LIMITS.maxIndex || lo > ARRAY_LIMITS.maxIndex) {
      errors.push({ path, message: `"${part}": indices go from 0 to ${ARRAY_LIMITS.maxIndex}` });
      continue;
    }
    if (hi < lo) {
      errors.push({ path, message: `"${part}": a range goes from low to high, e.g. "${hi}-${lo}"` });
      continue;
    }
    if (step < 1) {
      errors.push({ path, message: `"${part}": the step after ":" must be at least 1` });
      continue;
    }
    if ((hi - lo) / step + 1 + indices.length > maxTasks) {
      errors.push({
        path,
        message: `names more than ${maxTasks} tasks, the most one array may have; split it into several arrays`,
      });
      return { ok: false, errors };
    }
    for (let i = lo; i <= hi; i += step) indices.push(i);
  }
  if (errors.length > 0) return { ok: false, errors };
  indices.sort((a, b) => a - b);
  for (let i = 1; i < indices.length; i++)
    if (indices[i] === indices[i - 1])
      return { ok: false, errors: [{ path, message: `names index ${indices[i]} more than once` }] };
  return { ok: true, value: { indices, throttle, text: formatArrayExpression(indices, throttle) } };
}

/** The canonical text of an index set: ascending runs as `a-b`, singles as `a`, then `%throttle`. */
export function formatArrayExpression(indices: readonly number[], throttle: number | null = null): string {
  const parts: string[] = [];
  let i = 0;
  while (i < indices.length) {
    const start = indices[i]!;
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    parts.push(j > i ? `${start}-${indices[j]}` : `${start}`);
    i = j + 1;
  }
  return parts.join(',') + (throttle === null ? '' : `%${throttle}`);
}

/** The id of task `index` of array `arrayId`: Slurm's `<array job id>_<index>`. */
export function arrayTaskId(arrayId: string, index: number): string {
  return `${arrayId}_${index}`;
}
