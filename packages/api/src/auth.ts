/**
 * API tokens. Tokens are random 32-byte secrets shown once; only a salted SHA-256 hash is stored,
 * and comparison is constant-time. The admin token is created when a data directory is first
 * initialised: from `SUANLI_ADMIN_TOKEN` if set, otherwise generated and written to
 * `<dataDir>/admin-token` with mode 0600 (readable by its owner only).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '@suanli/store';

export const TOKEN_PREFIX = 'sl_';
export const ADMIN_TOKEN_META_KEY = 'admin_token_hash';
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface Principal {
  readonly subject: string;
  readonly role: 'admin' | 'operator' | 'tenant-admin' | 'member' | 'viewer';
  readonly tenant: string;
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** `salt$hash`, both hex. */
export function hashToken(token: string, salt: string = randomBytes(16).toString('hex')): string {
  return `${salt}$${createHash('sha256').update(salt).update(token).digest('hex')}`;
}

export function verifyToken(token: string, stored: string): boolean {
  const [salt, hash] = stored.split('$');
  if (!salt || !hash) return false;
  const actual = Buffer.from(hashToken(token, salt).split('$')[1] ?? '', 'hex');
  const expected = Buffer.from(hash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Ensures the data directory has an admin token. Returns the plaintext token when this call created
 * it (so the server can print where it is), or null when one existed already.
 */
export async function initAdminToken(
  store: Store,
  dataDir: string,
  fromEnv: string | undefined,
): Promise<{ created: boolean; file: string | null }> {
  const existing = await store.getMeta(ADMIN_TOKEN_META_KEY);
  if (existing !== null) return { created: false, file: fromEnv ? null : join(dataDir, ADMIN_TOKEN_FILE) };
  const token = fromEnv && fromEnv.length > 0 ? fromEnv : generateToken();
  const stored = await store.initMeta(ADMIN_TOKEN_META_KEY, hashToken(token));
  if (!verifyToken(token, stored)) return { created: false, file: null }; // another process won the race
  if (fromEnv) return { created: true, file: null };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  await writeFile(file, token + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return { created: true, file };
}

export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
}

/** The admin token only; identity with users, tenants and roles builds on this interface. */
export function adminAuthenticator(store: Store): Authenticator {
  let cached: string | null = null;
  return {
    async authenticate(token) {
      cached ??= await store.getMeta(ADMIN_TOKEN_META_KEY);
      if (cached !== null && verifyToken(token, cached))
        return { subject: 'admin', role: 'admin', tenant: 'default' };
      return null;
    },
  };
}
