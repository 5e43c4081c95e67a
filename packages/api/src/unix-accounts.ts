/**
 * The one check on a Unix account an operator maps a member to, beyond its spelling (the schema's
 * UNIX_USER_PATTERN): it must not be a superuser. `root` is refused by name (also where the API
 * server's host has no such account, e.g. when jobs run on Slurm nodes); any other name is looked
 * up in the server's user database (`getent passwd`, so NSS/LDAP accounts count too) and refused
 * when it resolves to uid 0 (`toor`-style aliases). An account the server cannot find is accepted:
 * the executor's nodes may know accounts the API host does not, and a launch as a missing account
 * fails that attempt with a clear reason.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Resolves an account name to its uid; null when the host has no such account. */
export type UidLookup = (name: string) => Promise<number | null>;

/** How long the lookup may take before the request fails (an unreachable LDAP must not hang it). */
const GETENT_TIMEOUT_MS = 5_000;

function uidFromPasswdLine(line: string, name: string): number | null {
  const f = line.split(':');
  if (f[0] !== name || f[2] === undefined || !/^\d+$/.test(f[2])) return null;
  return Number(f[2]);
}

/** `getent passwd NAME` (exit 2: no such account); /etc/passwd where getent is missing. */
export const systemUidLookup: UidLookup = (name) =>
  new Promise((resolve, reject) => {
    // No shell: the name goes to getent as one argument (and it matched UNIX_USER_PATTERN already).
    execFile('getent', ['passwd', name], { timeout: GETENT_TIMEOUT_MS }, (err, stdout) => {
      if (err === null) {
        resolve(uidFromPasswdLine(stdout.split('\n')[0] ?? '', name));
        return;
      }
      // A non-zero exit puts the exit status in `code` (a number); a spawn failure its errno name.
      const code = (err as { code?: unknown }).code;
      if (code === 2) resolve(null);
      else if (code === 'ENOENT')
        readFile('/etc/passwd', 'utf8').then(
          (text) => {
            for (const line of text.split('\n')) {
              const uid = uidFromPasswdLine(line, name);
              if (uid !== null) return resolve(uid);
            }
            resolve(null);
          },
          () => resolve(null),
        );
      else reject(new Error(`looking up Unix account "${name}" failed: ${err.message}`));
    });
  });

/** Why the account may not run jobs (a superuser), or null when it may. */
export async function superuserReason(
  name: string,
  lookup: UidLookup = systemUidLookup,
): Promise<string | null> {
  if (name === 'root') return 'jobs never run as root';
  const uid = await lookup(name);
  if (uid === 0) return `"${name}" has uid 0 (a superuser) on this host; jobs never run as a superuser`;
  return null;
}
