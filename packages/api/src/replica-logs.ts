/**
 * The merged log of a gang: every replica's own log file, read from its own offset, whole lines
 * only, each line prefixed `[<rank>] `. A line is never split between replicas' output: a replica's
 * unfinished last line waits for its newline (or for the attempt's end). The position is a cursor
 * of per-replica byte offsets (`o0,o1,…`), which the client passes back to follow the log.
 */
import { openJobFile } from '@suanli/executors';

export interface MergedChunk {
  readonly data: string;
  /** Sum of the replicas' offsets before and after this chunk, and of their sizes (for progress). */
  readonly offset: number;
  readonly nextOffset: number;
  readonly size: number;
  readonly cursor: string;
}

const CURSOR_RE = /^\d{1,15}(,\d{1,15}){0,1023}$/;

/** Parses a cursor for `replicas` replicas; null when malformed or for another number of replicas. */
export function parseCursor(cursor: string | undefined, replicas: number): number[] | null {
  if (cursor === undefined || cursor === '') return Array.from({ length: replicas }, () => 0);
  if (!CURSOR_RE.test(cursor)) return null;
  const o = cursor.split(',').map(Number);
  return o.length === replicas ? o : null;
}

/** Bytes of `buf[0, end)` that end on a whole UTF-8 character. */
function utf8Boundary(buf: Buffer, end: number): number {
  let k = end - 1;
  while (k >= 0 && k > end - 4 && ((buf[k] ?? 0) & 0xc0) === 0x80) k--;
  if (k >= 0 && ((buf[k] ?? 0) & 0x80) !== 0) {
    const lead = buf[k] ?? 0;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (end - k < need) return k;
  }
  return end;
}

/**
 * Reads the next chunk of every replica's log (`paths[r]`) from `offsets[r]`, at most `limit`
 * bytes in all. `finished`: the attempt has ended, so a last line without a newline is complete.
 * A file not written yet counts as empty; unsafe files are refused (`openJobFile`).
 */
export async function readMergedLogs(
  paths: readonly string[],
  offsets: readonly number[],
  limit: number,
  finished: boolean,
): Promise<MergedChunk> {
  const perReplica = Math.max(1024, Math.floor(limit / Math.max(1, paths.length)));
  const parts: string[] = [];
  const next: number[] = [];
  let size = 0;
  for (const [rank, path] of paths.entries()) {
    const from = offsets[rank] ?? 0;
    let to = from;
    let fh;
    try {
      fh = await openJobFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      next.push(from);
      continue;
    }
    try {
      const fileSize = (await fh.stat()).size;
      size += fileSize;
      if (from < fileSize) {
        const buf = Buffer.alloc(Math.min(perReplica, fileSize - from));
        const { bytesRead } = await fh.read(buf, 0, buf.length, from);
        const atEnd = from + bytesRead >= fileSize;
        let end = buf.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
        // A line longer than the chunk goes out in pieces (each prefixed); a finished replica's last line as it is.
        if (end === 0 && (bytesRead === perReplica || (finished && atEnd)))
          end = utf8Boundary(buf, bytesRead);
        if (finished && atEnd && end < bytesRead) end = bytesRead;
        if (end > 0) {
          const text = buf.subarray(0, end).toString('utf8');
          const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
          parts.push(lines.map((l) => `[${rank}] ${l}\n`).join(''));
          to = from + end;
        }
      }
    } finally {
      await fh.close();
    }
    next.push(to);
  }
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  return { data: parts.join(''), offset: sum(offsets), nextOffset: sum(next), size, cursor: next.join(',') };
}
