/**
 * The one check on a Unix account an operator maps a member to, beyond its spelling (the schema's
 * UNIX_USER_PATTERN): it must not be a superuser. `root` is refused by name (also where the API
 * server's host has no such account, e.g. when jobs run on Slurm nodes); any other name is looked
 * up in the server's user database (`getent passwd`, so NSS/LDAP accounts count too) and refused
 * when it resolves to uid 0 (`toor`-style aliases). An account the server cannot find is accepted:
 * the executor's nodes may know accounts the API host does not, and a launch as a missing account
 * fails that attempt with a clear reason.
 */
import { lookupAccount } from '@suanli/executors';

/** Resolves an account name to its uid; null when the host has no such account. */
export type UidLookup = (name: string) => Promise<number | null>;

/** `getent passwd NAME`, the executors' own look-up (NSS, so LDAP/sssd accounts count). */
export const systemUidLookup: UidLookup = async (name) => (await lookupAccount(name))?.uid ?? null;

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
