/**
 * The Unix accounts jobs run as. By default every tenant has one account, `sl-<tenant>` (its
 * primary group has the same name, which is how a user shares a dataset directory with their
 * tenant's jobs: `chgrp -R sl-lab /data/imagenet && chmod -R g+rX /data/imagenet`). An operator can
 * instead map a subject to an existing account (`suanli member set … --unix-user NAME`), the Slurm
 * way, where the user is the Unix user.
 */
import { execFile } from 'node:child_process';
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

/** A Unix account as the name service knows it. */
export interface UnixAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The account a job would run as cannot be used (missing, root, malformed): the launch fails with this. */
export class AccountError extends Error {
  override readonly name = 'AccountError';
}

function run(
  cmd: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `getent passwd KEY` (a name or a uid), through NSS so LDAP/sssd accounts count; null when unknown. */
export async function lookupAccount(key: string | number): Promise<UnixAccount | null> {
  const r = await run('getent', ['passwd', String(key)]);
  if (r.code !== 0) return null;
  const [name, , uid, gid] = r.stdout.split('\n')[0]?.split(':') ?? [];
  if (name === undefined || uid === undefined || gid === undefined) return null;
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return null;
  return { name, uid: Number(uid), gid: Number(gid) };
}

async function groupExists(key: string | number): Promise<boolean> {
  return (await run('getent', ['group', String(key)])).code === 0;
}

export interface AccountsOptions {
  /** Inclusive uid range for the tenants' accounts the server creates. Default 70000–79999. */
  readonly uidRange?: readonly [number, number];
  /** Create missing tenant accounts (`useradd`; the server must be root). Default true. */
  readonly create?: boolean;
}

export const DEFAULT_UID_RANGE: readonly [number, number] = [70_000, 79_999];

/**
 * The preferred uid of account `name` in `range`: a hash of the name, so that the same tenant gets
 * the same uid on every machine where the server creates it (files on shared storage keep their
 * owner); on a clash the next free one.
 */
export function preferredUid(name: string, range: readonly [number, number]): number {
  const size = range[1] - range[0] + 1;
  const h = createHash('sha256').update(name).digest().readUInt32BE(0);
  return range[0] + (h % size);
}

/**
 * Resolves the account a job runs as: the operator's mapping for the submitting subject, else the
 * tenant's `sl-<tenant>` account, created on first use. Never root. Answers are cached for a minute
 * (one `getent` per launch would cost more than the launch's own work).
 */
export class Accounts {
  private readonly range: readonly [number, number];
  private readonly create: boolean;
  private readonly cache = new Map<string, { account: UnixAccount; at: number }>();
  private readonly creating = new Map<string, Promise<UnixAccount>>();

  constructor(opts: AccountsOptions = {}) {
    this.range = opts.uidRange ?? DEFAULT_UID_RANGE;
    this.create = opts.create ?? true;
    if (!(
      Number.isInteger(this.range[0]) &&
      Number.isInteger(this.range[1]) &&
      this.range[0] >= 1000 &&
      this.range[1] >= this.range[0]
    ))
      throw new AccountError(
        `the uid range ${this.range.join('-')} must be whole numbers, 1000 or above, low to high`,
      );
  }

  async resolve(tenant: string, unixUser: string | null): Promise<UnixAccount> {
    const name = unixUser ?? tenantAccountName(tenant);
    const hit = this.cache.get(name);
    if (hit !== undefined && Date.now() - hit.at < 60_000) return hit.account;
    let account = await lookupAccount(name);
    if (account === null) {
      if (unixUser !== null)
        throw new AccountError(
          `the Unix account "${unixUser}" that this subject is mapped to does not exist on this machine`,
        );
      if (!this.create)
        throw new AccountError(
          `the tenant's Unix account "${name}" does not exist and creating accounts is off`,
        );
      account = await this.createOnce(name, tenant);
    }
    if (account.uid === 0 || account.gid === 0)
      throw new AccountError(
        `jobs never run as root: the account "${name}" has uid ${account.uid}, gid ${account.gid}`,
      );
    this.cache.set(name, { account, at: Date.now() });
    return account;
  }

  private createOnce(name: string, tenant: string): Promise<UnixAccount> {
    let p = this.creating.get(name);
    if (p === undefined) {
      p = this.createAccount(name, tenant).finally(() => this.creating.delete(name));
      this.creating.set(name, p);
    }
    return p;
  }

  private async createAccount(name: string, tenant: string): Promise<UnixAccount> {
    const size = this.range[1] - this.range[0] + 1;
    const first = preferredUid(name, this.range);
    for (let i = 0; i < Math.min(size, 1000); i++) {
      const id = this.range[0] + ((first - this.range[0] + i) % size);
      if ((await lookupAccount(id)) !== null || (await groupExists(id))) continue;
      const g = await run('groupadd', ['-g', String(id), name]);
      if (g.code !== 0 && !(await groupExists(name)))
        throw new AccountError(`could not create the group "${name}": ${g.stderr.trim()}`);
      const u = await run('useradd', [
        '-u',
        String(id),
        '-g',
        name,
        '-M',
        '-d',
        '/nonexistent',
        '-s',
        '/usr/sbin/nologin',
        '-c',
        `suanli tenant ${tenant}`,
        name,
      ]);
      const made = await lookupAccount(name);
      if (made !== null) return made;
      throw new AccountError(`could not create the account "${name}": ${u.stderr.trim()}`);
    }
    throw new AccountError(`no free uid for "${name}" in ${this.range.join('-')}`);
  }
}

/** Removes an account and its group (tests; an operator retiring a tenant). */
export async function removeAccount(name: string): Promise<void> {
  await run('pkill', ['-KILL', '-u', name]); // userdel refuses while the account has processes
  for (let i = 0; i < 50 && (await run('pgrep', ['-u', name])).code === 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  await run('userdel', [name]);
  await run('groupdel', [name]);
}
