/**
 * API tokens. Tokens are random 32-byte secrets shown once; only a salted SHA-256 hash is stored,
 * and comparison is constant-time. The admin token is created when a data directory is first
 * initialised: from `SUANLI_ADMIN_TOKEN` if set (refused when weak: `adminTokenWeakness`),
 * otherwise generated and written to `<dataDir>/admin-token` with mode 0600 (readable by its owner
 * only). It is rotated by `suanli server --rotate-admin-token` and revoked by
 * `suanli server --revoke-admin-token` (admins with an issued token keep their access); both are
 * written to the audit log.
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
import { writeFile, chmod, rm } from 'node:fs/promises';
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

/** Shortest bootstrap admin token accepted: 24 characters of at least two kinds. */
export const ADMIN_TOKEN_MIN_CHARS = 24;
const ADMIN_TOKEN_MIN_DISTINCT_CHARS = 10;
/** The stored value of a revoked bootstrap token: no token hashes to it (it has no `salt$hash`). */
export const ADMIN_TOKEN_REVOKED = 'revoked';

/** The configuration error a user can fix at start-up (a weak SUANLI_ADMIN_TOKEN, bad flags). */
export class AdminTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminTokenError';
  }
}

/**
 * Why `token` is too weak to be the bootstrap admin token, or null when it is acceptable: at least
 * ADMIN_TOKEN_MIN_CHARS characters, of at least two kinds (lower case, upper case, digits,
 * others), with at least ten different characters. Generated tokens (`sl_` + 43 base64url) pass.
 */
export function adminTokenWeakness(token: string): string | null {
  if (token.length < ADMIN_TOKEN_MIN_CHARS)
    return `it has ${token.length} characters; use at least ${ADMIN_TOKEN_MIN_CHARS}`;
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(token)).length;
  if (kinds < 2) return 'it uses one kind of character only; mix letters, digits or symbols';
  if (new Set(token).size < ADMIN_TOKEN_MIN_DISTINCT_CHARS)
    return `it has fewer than ${ADMIN_TOKEN_MIN_DISTINCT_CHARS} different characters`;
  return null;
}

function checkAdminToken(token: string): void {
  const weak = adminTokenWeakness(token);
  if (weak !== null)
    throw new AdminTokenError(
      `SUANLI_ADMIN_TOKEN is too weak: ${weak}. Generate one, e.g. with: openssl rand -base64 32`,
    );
}

export interface AdminTokenInit {
  /** This call stored the token (a new data directory, or a rotation). */
  readonly created: boolean;
  /** Where the token was written (a generated one), else null. */
  readonly file: string | null;
  /** A warning for the start-up banner: the environment's token is not the one in force. */
  readonly warning: string | null;
}

/**
 * Ensures the data directory has an admin token. A new directory stores the hash of
 * SUANLI_ADMIN_TOKEN (refused when weak) or of a generated token written to `<dataDir>/admin-token`
 * (mode 0600). An existing one keeps its token: a different SUANLI_ADMIN_TOKEN is NOT taken (it
 * would let whoever sets the environment take over), but is reported in `warning`. With `rotate`
 * (the server's --rotate-admin-token) the stored hash is replaced by the environment's token, or
 * by a newly generated one written to the file; the old token stops working at once. With
 * `revoke` (--revoke-admin-token) no bootstrap token works any more (admins keep their issued
 * tokens) until a later --rotate-admin-token.
 */
export async function initAdminToken(
  store: Store,
  dataDir: string,
  fromEnv: string | undefined,
  opts: { readonly rotate?: boolean; readonly revoke?: boolean } = {},
): Promise<AdminTokenInit> {
  const env = fromEnv !== undefined && fromEnv.length > 0 ? fromEnv : null;
  if (opts.revoke) {
    if (opts.rotate)
      throw new AdminTokenError('--rotate-admin-token and --revoke-admin-token exclude each other');
    await store.setMeta(ADMIN_TOKEN_META_KEY, ADMIN_TOKEN_REVOKED);
    await rm(join(dataDir, ADMIN_TOKEN_FILE), { force: true });
    return { created: false, file: null, warning: null };
  }
  if (env !== null) checkAdminToken(env);
  const existing = await store.getMeta(ADMIN_TOKEN_META_KEY);
  if (opts.rotate) {
    const token = env ?? generateToken();
    await store.setMeta(ADMIN_TOKEN_META_KEY, hashToken(token));
    return { created: true, file: env ? null : await writeTokenFile(dataDir, token), warning: null };
  }
  if (existing !== null) {
    let warning: string | null = null;
    if (existing === ADMIN_TOKEN_REVOKED)
      warning =
        'the bootstrap admin token of this data directory is revoked; start once with --rotate-admin-token to set a new one';
    else if (env !== null && !verifyToken(env, existing))
      warning =
        'SUANLI_ADMIN_TOKEN differs from the admin token stored in this data directory, which stays in force; start once with --rotate-admin-token to replace it';
    return { created: false, file: env ? null : join(dataDir, ADMIN_TOKEN_FILE), warning };
  }
  const token = env ?? generateToken();
  const stored = await store.initMeta(ADMIN_TOKEN_META_KEY, hashToken(token));
  if (!verifyToken(token, stored)) return { created: false, file: null, warning: null }; // another process won the race
  if (env) return { created: true, file: null, warning: null };
  return { created: true, file: await writeTokenFile(dataDir, token), warning: null };
}

async function writeTokenFile(dataDir: string, token: string): Promise<string> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  await writeFile(file, token + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
  /** Forget anything cached (the admin token hash after a rotation or revocation). */
  invalidate?(): void;
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
    invalidate() {
      cached = null;
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
    invalidate() {
      for (const a of chain) a.invalidate?.();
    },
  };
}

/** What `suanli server` uses: the bootstrap admin token, then issued API tokens. */
export function platformAuthenticator(store: Store, clock: () => number = Date.now): Authenticator {
  return chainAuthenticators(adminAuthenticator(store), tokenAuthenticator(store, clock));
}
