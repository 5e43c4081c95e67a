/**
 * Diffing one cycle's snapshot array against the last one's, for the policies that keep state per
 * job between cycles (the `suanli` scheduler and the baselines).
 */

/** Bound: how far the identity diff looks ahead in the previous array to skip removed elements. */
const DIFF_LOOKAHEAD = 64;

/**
 * Diff of two arrays by object identity: each element of `prev` is either matched or in `removed`,
 * each element of `next` either matched or in `added`. Linear when `next` is `prev` with elements
 * removed, replaced or appended (what the engine and the simulator produce); still correct
 * otherwise (an element moved is reported removed and added: callers apply removals first).
 */
export function diffByIdentity<T>(
  prev: readonly T[],
  next: readonly T[],
  same: (a: T, b: T) => boolean = (a, b) => a === b,
): { removed: T[]; added: T[] } {
  const removed: T[] = [];
  const added: T[] = [];
  let i = 0;
  const match = (a: T | undefined, b: T): boolean => a !== undefined && (a === b || same(a, b));
  const np = prev.length;
  const nn = next.length;
  for (let xi = 0; xi < nn; xi++) {
    const x = next[xi] as T;
    if (i < np) {
      // the common case first: the same object at the same place (no call)
      const p = prev[i];
      if (p === x && p !== undefined) {
        i++;
        continue;
      }
      if (match(p, x)) {
        i++;
        continue;
      }
    }
    let k = i + 1;
    const stop = Math.min(prev.length, i + 1 + DIFF_LOOKAHEAD);
    while (k < stop && !match(prev[k], x)) k++;
    if (k < stop) {
      for (let r = i; r < k; r++) removed.push(prev[r] as T);
      i = k + 1;
    } else added.push(x);
  }
  for (let r = i; r < prev.length; r++) removed.push(prev[r] as T);
  return { removed, added };
}
