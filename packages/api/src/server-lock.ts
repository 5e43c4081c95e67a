/**
 * One server per data directory: `<data-dir>/server.lock`, created with O_EXCL, holds the owner's
 * PID, host and address. A second `suanli server` on the same directory is refused with a message
 * that names them; a lock whose PID no longer runs on this host is stale and taken over.
 *
 * The data directory holds what exactly one control plane may own on a machine (the SQLite
 * database, the job log and attempt-state directories the local executor adopts at start), so the
 * lock is taken whatever the store. Replicas of a control plane sharing one PostgreSQL database each
 * have their own data directory and do not contend for this lock.
 */
import {
  closeSync,
  constants as fsConstants,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const SERVER_LOCK_FILE = 'server.lock';

export interface ServerLockOwner {
  readonly pid: number;
  readonly host: string;
  /** Where it listens; null while it is still starting. */
  readonly address: string | null;
  readonly startedAt: string;
}

/** Another live server holds the data directory. The CLI prints the message and exits non-zero. */
export class ServerLockedError extends Error {
  constructor(
    message: string,
    readonly owner: ServerLockOwner | null,
  ) {
    super(message);
    this.name = 'ServerLockedError';
  }
}

export interface ServerLock {
  readonly path: string;
  /** Records the address the server listens on, for the message a second server prints. */
  setAddress(address: string): void;
  /** Removes the lock if it is still this process's. Idempotent. */
  release(): void;
}

function readOwner(path: string): ServerLockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServerLockOwner>;
    if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0) return null;
    return {
      pid: o.pid,
      host: typeof o.host === 'string' ? o.host : '',
      address: typeof o.address === 'string' ? o.address : null,
      startedAt: typeof o.startedAt === 'string' ? o.startedAt : '',
    };
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Bound: attempts to replace a stale lock another starting server may be replacing too. */
const LOCK_MAX_ATTEMPTS = 5;

/**
 * Takes the data directory's lock or throws `ServerLockedError`. A lock left by a process that no
 * longer runs on this host (a crash, SIGKILL) is removed and taken; one written on another host (a
 * data directory on shared storage) is never presumed stale.
 */
export function acquireServerLock(dataDir: string): ServerLock {
  const path = join(dataDir, SERVER_LOCK_FILE);
  const me: ServerLockOwner = {
    pid: process.pid,
    host: hostname(),
    address: null,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < LOCK_MAX_ATTEMPTS; attempt++) {
    let fd: number;
    try {
      fd = openSync(
        path,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
        0o600,
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(path);
      if (owner !== null && owner.pid === process.pid && owner.host === me.host)
        throw new ServerLockedError(`this process already runs a server on data directory ${dataDir}`, owner);
      if (owner !== null && (owner.host !== me.host || alive(owner.pid))) {
        throw new ServerLockedError(
          `another suanli server (PID ${owner.pid}${owner.host !== me.host ? ` on host ${owner.host}` : ''}, ` +
            `${owner.address ? `listening on ${owner.address}` : 'still starting'}, since ${owner.startedAt}) ` +
            `uses data directory ${dataDir}; stop it first, or give this one another --data-dir. ` +
            `If that process is not a suanli server, remove ${path}.`,
          owner,
        );
      }
      // Stale (its process is gone) or unreadable (a crash between create and write): replace it.
      try {
        unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } finally {
      closeSync(fd);
    }
    let current = me;
    let released = false;
    const mine = () => {
      const o = readOwner(path);
      return o !== null && o.pid === me.pid && o.host === me.host && o.startedAt === me.startedAt;
    };
    return {
      path,
      setAddress(address) {
        if (released || !mine()) return;
        current = { ...current, address };
        writeFileSync(path, JSON.stringify(current) + '\n', { mode: 0o600 });
      },
      release() {
        if (released) return;
        released = true;
        try {
          if (mine()) unlinkSync(path);
        } catch {
          /* already gone */
        }
      },
    };
  }
  throw new ServerLockedError(
    `could not take the lock ${path}: other servers kept replacing it`,
    readOwner(path),
  );
}
