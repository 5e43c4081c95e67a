/**
 * API tokens. Tokens are random 32-byte secrets shown once; only a salted SHA-256 hash is stored,
 * and comparison is constant-time. The admin token is created when a data directory is first
 * initialised: from `SUANLI_ADMIN_TOKEN` if set, otherwise generated and written to
 * `<dataDir>/admin-token` with mode 0600 (readable by its owner only).
 *
 * Issued tokens read `sl_<id>.<secret>`: the public id (12 hex digits, shown in listings and the
 * audit log) finds the one stored row, the secret is checked against its salted hash. A token
 * carries a subject and a tenant; its ROLE is read from the subject's membership at every request,
 * so removing or demoting a member takes effect at once, and a token outlives neither.
 *
 * OIDC later: an `Authenticator` that verifies a bearer JWT against the issuer's JWKS (issuer,
 * audience, expiry), takes `sub` as the subject and a tenant claim (or the one membership the
 * subject has) as the tenant, and reads the role from the same memberships table. Routes and
 * `authorize()` see only the resulting `Principal`, so nothing else changes; `chainAuthenticators`
 * tries the admin token, API tokens and the OIDC verifier in turn.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Role, Store } from '@suanli/store';

export const TOKEN_PREFIX = 'sl_';
export const ADMIN_TOKEN_META_KEY = 'admin_token_hash';
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface Principal {
  readonly subject: string;
  readonly role: Role;
  readonly tenant: string;
  /** The API token's public id (null for the bootstrap admin token): rate limits and the audit log key on it. */
  readonly tokenId?: string | null;
}

/** The home tenant of the bootstrap admin (and of jobs submitted with the admin token). */
export const ADMIN_TENANT = 'default';

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
        return { subject: 'admin', role: 'admin', tenant: ADMIN_TENANT, tokenId: null };
      return null;
    },
  };
}

const ISSUED_TOKEN = /^sl_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

/** A new issued token: the text to show once, and its id and hash to store. */
export function issueToken(): { token: string; id: string; hash: string } {
  const id = randomBytes(6).toString('hex');
  const token = `${TOKEN_PREFIX}${id}.${randomBytes(32).toString('base64url')}`;
  return { token, id, hash: hashToken(token) };
}

/** The public id of an issued token, or null for any other text (never throws: input is hostile). */
export function tokenIdOf(token: string): string | null {
  return ISSUED_TOKEN.exec(token)?.[1] ?? null;
}

/**
 * Issued tokens: found by id, checked against the stored hash, refused when revoked or expired
 * (expiry compared with the injected clock), and given the role of the subject's membership now.
 */
export function tokenAuthenticator(store: Store, clock: () => number = Date.now): Authenticator {
  return {
    async authenticate(token) {
      const id = tokenIdOf(token);
      if (id === null) return null;
      const row = await store.getApiToken(id);
      if (!row || !verifyToken(token, row.hash)) return null;
      if (row.revokedAt !== null) return null;
      if (row.expiresAt !== null && clock() >= row.expiresAt) return null;
      const m = await store.getMembership(row.tenant, row.subject);
      if (!m) return null;
      return { subject: row.subject, role: m.role, tenant: row.tenant, tokenId: row.id };
    },
  };
}

/** The first authenticator that knows the token wins. */
export function chainAuthenticators(...chain: readonly Authenticator[]): Authenticator {
  return {
    async authenticate(token) {
      for (const a of chain) {
        const p = await a.authenticate(token);
        if (p) return p;
      }
      return null;
    },
  };
}

/** What `suanli server` uses: the bootstrap admin token, then issued API tokens. */
export function platformAuthenticator(store: Store, clock: () => number = Date.now): Authenticator {
  return chainAuthenticators(adminAuthenticator(store), tokenAuthenticator(store, clock));
}
