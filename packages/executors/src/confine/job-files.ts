/**
 * Reading files that live in a directory a job owns (its logs; on Slurm, its output on shared
 * storage). The job can replace them with anything between two reads: a symbolic link to the
 * admin token, a hard link to another tenant's file, a FIFO that blocks the reader forever, a
 * device. So every such open:
 * - does not follow a link in the last component (`O_NOFOLLOW`), and does not block (`O_NONBLOCK`);
 * - checks the opened file (fstat of the descriptor, not the path, so no swap in between) is a
 *   regular file with one link, owned by the directory's owner or by the server itself;
 * - and callers read within a bound they choose.
 * The directories above the job's own are the server's, so a link higher up cannot be planted.
 */
import { constants } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The file is there but is not one the server will read (a link, not a regular file, foreign owner). */
export class UnsafeJobFileError extends Error {
  override readonly name = 'UnsafeJobFileError';
  readonly code = 'EUNSAFE';
}

/**
 * Opens `path` for reading as described above. ENOENT passes through (callers decide whether a
 * missing file is normal); every refusal is an `UnsafeJobFileError` that says why.
 */
export async function openJobFile(path: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP')
      throw new UnsafeJobFileError(`${path} is a symbolic link; job files are never followed`);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UnsafeJobFileError(`${path} is not a regular file`);
    if (st.nlink !== 1)
      throw new UnsafeJobFileError(`${path} has ${st.nlink} hard links; a job file has one`);
    const dirOwner = (await lstat(dirname(path))).uid;
    const self = process.getuid?.() ?? st.uid;
    if (st.uid !== dirOwner && st.uid !== self)
      throw new UnsafeJobFileError(`${path} belongs to uid ${st.uid}, not to the job (uid ${dirOwner})`);
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Reads at most `maxBytes` of a job file (see `openJobFile`); null when it does not exist. */
export async function readJobFile(path: string, maxBytes: number): Promise<string | null> {
  let fh: FileHandle;
  try {
    fh = await openJobFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const buf = Buffer.alloc(maxBytes);
    const { bytesRead } = await fh.read(buf, 0, maxBytes, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}
