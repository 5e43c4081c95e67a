/**
 * The Unix accounts jobs run as. By default every tenant has one account, `sl-<tenant>` (its
 * primary group has the same name, which is how a user shares a dataset directory with their
 * tenant's jobs: `chgrp -R sl-lab /data/imagenet && chmod -R g+rX /data/imagenet`). An operator can
 * instead map a subject to an existing account (`suanli member set … --unix-user NAME`), the Slurm
 * way, where the user is the Unix user.
 */
import { createHash } from 'node:crypto';

/** The longest account name we generate (useradd and most NSS backends accept 32). */
export const MAX_ACCOUNT_NAME = 32;
/** What an account name given by an operator must look like (Debian's default NAME_REGEX, plus upper case). */
export const UNIX_USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * The tenant's account name: `sl-` + the tenant name when it is already a valid lower-case account
 * name, else `sl-` + a readable prefix + 8 hex digits of its SHA-256, so that two tenant names
 * ("Lab" and "lab", "a.b" and "a_b") never map to one account. Pure and stable across versions:
 * changing it would move every tenant's files to a new owner.
 */
export function tenantAccountName(tenant: string): string {
  const plain = `sl-${tenant}`;
  if (/^[a-z0-9][a-z0-9_-]*$/.test(tenant) && plain.length <= MAX_ACCOUNT_NAME) return plain;
  const readable = tenant
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, MAX_ACCOUNT_NAME - 3 - 9);
  const hash = createHash('sha256').update(tenant).digest('hex').slice(0, 8);
  return `sl-${readable}-${hash}`;
}
