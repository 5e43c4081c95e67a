/**
 * The request hooks that make the API safe to share, in the order a request meets them:
 *   1. onRequest: authenticate the bearer token (→ `req.principal`), then charge the caller's
 *      subject's and tenant's token buckets (429 RATE_LIMITED with Retry-After when either is
 *      empty; anonymous callers: their address's), then refuse anonymous requests
 *      to anything but the open routes (401).
 *   2. onSend: append one audit entry for every mutating request (POST/PUT/PATCH/DELETE), whatever
 *      its outcome, BEFORE the answer leaves: a client that saw an answer can find its entry.
 * Plus the route table used to answer 405 METHOD_NOT_ALLOWED instead of 404 for a known path.
 *
 * Secrets never reach the logs: `LOG_REDACT_PATHS` is applied to the pino logger, and no hook logs
 * a header or a body.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '@suanli/store';
import { ApiError } from './errors.js';
import { ADMIN_TENANT, type Authenticator } from './auth.js';

/** pino redaction: the Authorization header wherever a serializer might put it, and token fields. */
export const LOG_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
];

/**
 * Routes that answer without a token: health, the OpenAPI document, metrics, and everything outside
 * `/api/` (the web console's static files, which hold no data: every API call it makes carries the
 * user's token).
 */
export function isOpenRoute(url: string): boolean {
  if (url === '/api' || url.startsWith('/api/') || url.startsWith('/api?'))
    return url.startsWith('/api/v1/openapi.json');
  return true;
}

export interface RateLimit {
  /** Sustained requests per second per caller. */
  readonly perSecond: number;
  /** Bucket size: requests a caller may send at once after being idle. */
  readonly burst: number;
}

/** 50 requests/s sustained, bursts of 200: far above a person or a polling CLI, below a runaway loop. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 50, burst: 200 };

/**
 * `SUANLI_RATE_LIMIT`: `<perSecond>/<burst>` (e.g. `50/200`), or `off` (benchmarks, tests that
 * hammer the API on purpose). Unset: the default.
 */
export function rateLimitFromEnv(v: string | undefined = process.env['SUANLI_RATE_LIMIT']): RateLimit | null {
  if (v === undefined || v === '') return DEFAULT_RATE_LIMIT;
  if (v === 'off') return null;
  const m = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(v);
  if (!m) throw new Error(`SUANLI_RATE_LIMIT must be <perSecond>/<burst> (e.g. 50/200) or off, got "${v}"`);
  return { perSecond: Number(m[1]), burst: Number(m[2]) };
}

/**
 * A tenant's budget is this many times a subject's: several people of one tenant work at once, but
 * a tenant cannot multiply its share of the server by adding subjects either.
 */
export const TENANT_RATE_MULTIPLIER = 4;

/** Callers tracked at once (see `TokenBuckets`): a bound on the limiter's memory. */
export const RATE_LIMIT_MAX_KEYS = 50_000;
/** Oldest entries looked at per insertion when the table is full, so an insertion stays O(1). */
const EVICT_SCAN_MAX = 64;

export function tenantRateLimit(l: RateLimit): RateLimit {
  return { perSecond: l.perSecond * TENANT_RATE_MULTIPLIER, burst: l.burst * TENANT_RATE_MULTIPLIER };
}

/**
 * An in-process token bucket per caller key. Time comes from `now` (ms, monotonic by default),
 * so tests drive it. One process serves the API, so in-process state is the whole truth.
 *
 * Memory is bounded (`maxKeys`) without forgetting who is over the limit: the table is kept in
 * least-recently-seen order, and a new key, when it is full, evicts the least recently seen key
 * that could send a request now (forgetting it only hands it back what it could spend anyway, up
 * to the burst). Keys found limited are kept (moved to the back). If every key looked at is
 * limited, the new caller is refused for a second rather than anyone being forgotten: the table
 * is never cleared.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number; limit: RateLimit }>();
  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
    readonly maxKeys: number = RATE_LIMIT_MAX_KEYS,
  ) {}

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token; returns 0 when allowed, else the seconds to wait. */
  take(key: string, limit: RateLimit = this.limit): number {
    return this.takeAll([[key, limit]]);
  }

  /**
   * Takes one token from every bucket named, or from none: returns 0 when all allow, else the
   * longest wait in seconds (a request refused by its tenant's bucket costs its subject nothing).
   */
  takeAll(keys: readonly (readonly [string, RateLimit])[]): number {
    const t = this.now();
    const buckets: { tokens: number; at: number; limit: RateLimit }[] = [];
    for (const [key, limit] of keys) {
      let b = this.#buckets.get(key);
      if (b) {
        this.#buckets.delete(key); // least recently seen first: re-insert at the back
      } else {
        if (this.#buckets.size >= this.maxKeys && !this.#evictOne(t)) return 1;
        b = { tokens: limit.burst, at: t, limit };
      }
      this.#buckets.set(key, b);
      b.tokens = Math.min(b.limit.burst, b.tokens + ((t - b.at) / 1000) * b.limit.perSecond);
      b.at = t;
      buckets.push(b);
    }
    let wait = 0;
    for (const b of buckets)
      if (b.tokens < 1) wait = Math.max(wait, Math.max(1, Math.ceil((1 - b.tokens) / b.limit.perSecond)));
    if (wait > 0) return wait;
    for (const b of buckets) b.tokens -= 1;
    return 0;
  }

  /** Forgets the least recently seen key that is not limited; false when none was found. */
  #evictOne(t: number): boolean {
    let scanned = 0;
    const limited: [string, { tokens: number; at: number; limit: RateLimit }][] = [];
    let evicted = false;
    for (const [k, b] of this.#buckets) {
      if (scanned++ >= EVICT_SCAN_MAX) break;
      if (b.tokens + ((t - b.at) / 1000) * b.limit.perSecond >= 1) {
        this.#buckets.delete(k);
        evicted = true;
        break;
      }
      limited.push([k, b]);
    }
    // Limited keys are kept, moved to the back so the next scan looks at others.
    for (const [k, b] of limited) {
      this.#buckets.delete(k);
      this.#buckets.set(k, b);
    }
    return evicted;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const AUDIT_TEXT_MAX = 200;

/** The route pattern (or, for an unknown route, the path without the query), bounded and printable. */
function auditRoute(req: FastifyRequest): string {
  const pattern = req.routeOptions.url;
  const raw = pattern ?? req.url.split('?')[0] ?? '';
  // eslint-disable-next-line no-control-regex
  return raw.slice(0, AUDIT_TEXT_MAX).replace(/[\u0000-\u001f\u007f]/g, '?');
}

function auditTarget(req: FastifyRequest, status: number, payload: unknown): string | null {
  const params = (req.params ?? {}) as Record<string, unknown>;
  const named = ['id', 'name', 'subject', 'type'].map((k) => params[k]).find((v) => typeof v === 'string');
  const tenantParam = typeof params['tenant'] === 'string' ? params['tenant'] : null;
  if (typeof named === 'string')
    return (tenantParam ? `${tenantParam}/${named}` : named).slice(0, AUDIT_TEXT_MAX);
  if (tenantParam) return tenantParam.slice(0, AUDIT_TEXT_MAX);
  // A created object's id (a submitted job, a token's public id, a tenant's name) from the answer.
  if (status < 300 && typeof payload === 'string' && payload.startsWith('{')) {
    try {
      const body = JSON.parse(payload) as { id?: unknown; name?: unknown; info?: { id?: unknown } };
      const v = body.id ?? body.info?.id ?? body.name;
      if (typeof v === 'string') return v.slice(0, AUDIT_TEXT_MAX);
    } catch {
      // not JSON: no target
    }
  }
  return null;
}

function errorCodeOf(status: number, payload: unknown): string | null {
  if (status < 400 || typeof payload !== 'string') return null;
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}

export interface SecurityOptions {
  readonly store: Store;
  readonly auth: Authenticator;
  readonly clock: () => number;
  /** null: no rate limit. Default: from SUANLI_RATE_LIMIT. */
  readonly rateLimit?: RateLimit | null;
}

export async function registerSecurityHooks(app: FastifyInstance, opts: SecurityOptions): Promise<void> {
  const { store, auth, clock } = opts;
  const limit = opts.rateLimit === undefined ? rateLimitFromEnv() : opts.rateLimit;
  const buckets = limit ? new TokenBuckets(limit) : null;
  const perTenant = limit ? tenantRateLimit(limit) : null;

  // The bootstrap admin's home tenant exists, so the admin can add members and issue tokens there.
  await store.createTenant({ name: ADMIN_TENANT, displayName: 'Default tenant', createdAt: clock() });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const h = req.headers.authorization;
    if (typeof h === 'string' && h.startsWith('Bearer ') && h.length <= 4096)
      req.principal = await auth.authenticate(h.slice(7).trim());
    if (buckets && limit && perTenant) {
      // Authenticated callers are limited per subject AND per tenant (a larger budget), so minting
      // more tokens or adding subjects does not raise either; anonymous callers per address.
      const p = req.principal;
      const wait = p
        ? buckets.takeAll([
            [`s:${p.subject}`, limit],
            [`t:${p.tenant}`, perTenant],
          ])
        : buckets.take(`ip:${req.ip}`);
      if (wait > 0) {
        void reply.header('retry-after', String(wait));
        throw new ApiError('RATE_LIMITED', `too many requests; retry in ${wait} s`);
      }
    }
    // Both the raw URL and the route it matched must be open: the router decodes percent-escapes
    // (`/%61pi/v1/jobs` reaches `/api/v1/jobs`), so the raw URL alone could be talked past.
    const pattern = req.routeOptions.url;
    const open = isOpenRoute(req.url) && (pattern === undefined || isOpenRoute(pattern));
    if (!open && req.principal === null) {
      throw new ApiError(
        'UNAUTHENTICATED',
        h
          ? 'the API token is not valid (revoked, expired or mistyped)'
          : 'send an API token: Authorization: Bearer <token>',
      );
    }
  });

  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!MUTATING.has(req.method)) return payload;
    const p = req.principal;
    const status = reply.statusCode;
    try {
      await store.appendAudit({
        at: clock(),
        subject: p?.subject ?? null,
        tenant: p?.tenant ?? null,
        role: p?.role ?? null,
        method: req.method,
        route: auditRoute(req),
        target: auditTarget(req, status, payload),
        ip: req.ip,
        status,
        errorCode: errorCodeOf(status, payload),
        requestId: String(req.id),
      });
    } catch (err) {
      req.log.error({ err }, 'audit entry could not be written');
    }
    return payload;
  });
}

/**
 * Records every route's method per path pattern, so the not-found handler can tell "no such path"
 * (404 ROUTE_NOT_FOUND) from "path exists, other method" (405 METHOD_NOT_ALLOWED with Allow).
 * Call before any route is registered.
 */
export function trackRoutes(app: FastifyInstance): (method: string, path: string) => string[] {
  const routes: { re: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (r) => {
    const source =
      '^' +
      r.url
        .split('/')
        .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/') +
      '/?$';
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).map(String);
    const existing = routes.find((x) => x.re.source === source);
    if (existing) for (const m of methods) existing.methods.add(m);
    else routes.push({ re: new RegExp(source), methods: new Set(methods) });
  });
  return (method, path) => {
    const allowed = new Set<string>();
    for (const r of routes) if (r.re.test(path)) for (const m of r.methods) allowed.add(m);
    return allowed.has(method) ? [] : [...allowed].sort();
  };
}
