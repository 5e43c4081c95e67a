/**
 * The Unix account a Slurm job runs as, and its log directory. Every replica runs as the operator's
 * mapping of the submitting subject (`unixUser`) or the tenant's own account (`sl-<tenant>`), never
 * as root: the platform submits the job AS that user (client.ts, `X-SLURM-USER-NAME`), so slurmd
 * starts it under that uid, in the job's cgroups.
 *
 * The account must exist on slurmctld's host and on every compute node (the site's directory:
 * LDAP/sssd, or the same /etc/passwd entry everywhere). The server looks it up too (through NSS,
 * `getent`), to refuse uid 0 and, when it runs as root, to give the account its log directory.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { lookupAccount, UNIX_USER_RE, tenantAccountName } from '../confine/accounts.js';
import type { LaunchRequest } from '../executor.js';
import { SlurmLaunchError } from './script.js';

export interface JobAccount {
  readonly name: string;
  /** From this machine's NSS; null when the server cannot see the account (it then cannot check its uid). */
  readonly uid: number | null;
  readonly gid: number | null;
}

/**
 * The account `req` runs as; throws `SlurmLaunchError` for root (by name or uid 0), a malformed
 * name, or, when the server runs as root (and so must hand the account its log directory), an
 * account this machine does not know.
 */
export async function resolveJobAccount(
  req: Pick<LaunchRequest, 'jobId' | 'tenant' | 'unixUser'>,
  lookup: (name: string) => Promise<{ uid: number; gid: number } | null> = lookupAccount,
  serverIsRoot: boolean = process.getuid?.() === 0,
): Promise<JobAccount> {
  const name = req.unixUser ?? tenantAccountName(req.tenant);
  const source = req.unixUser !== null ? 'the mapped --unix-user' : `tenant ${req.tenant}'s account`;
  if (!UNIX_USER_RE.test(name))
    throw new SlurmLaunchError(`job ${req.jobId}: "${name}" (${source}) is not a valid Unix account name`);
  if (name === 'root')
    throw new SlurmLaunchError(`job ${req.jobId}: refusing to run a job as root (${source} is "root")`);
  const found = await lookup(name);
  if (found !== null && found.uid === 0)
    throw new SlurmLaunchError(
      `job ${req.jobId}: refusing to run a job as uid 0 (${source} "${name}" has uid 0)`,
    );
  if (found === null && serverIsRoot)
    throw new SlurmLaunchError(
      `job ${req.jobId}: Unix account "${name}" (${source}) does not exist on this machine; ` +
        'create it here and on every Slurm node (LDAP/sssd, or useradd) before its jobs can run',
    );
  return { name, uid: found?.uid ?? null, gid: found?.gid ?? null };
}

/**
 * Creates a directory of the job's on storage the nodes share with the server: the attempt's log
 * directory, or the job's checkpoint directory. Run as root, the server makes the directory itself
 * the account's, mode 0700: the job writes there and no other tenant's job can read or write it.
 * The parents stay the server's. A directory that is already there must be a real directory (not
 * a link a job planted).
 */
export function prepareJobDir(logDir: string, account: JobAccount | null, serverIsRoot: boolean): void {
  mkdirSync(dirname(logDir), { recursive: true });
  try {
    mkdirSync(logDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(logDir);
  if (!st.isDirectory()) throw new SlurmLaunchError(`log directory ${logDir} is not a directory`);
  if (serverIsRoot && account !== null && account.uid !== null && account.gid !== null) {
    chownSync(logDir, account.uid, account.gid);
    chmodSync(logDir, 0o700);
  }
}
