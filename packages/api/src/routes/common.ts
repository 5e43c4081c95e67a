/** What every route module needs: the store, the engine, the clock and the permission checks. */
import type { FastifyRequest } from 'fastify';
import type { Store } from '@suanli/store';
import type { Engine, JobService } from '@suanli/engine';
import { ApiError, type ErrorCode } from '../errors.js';
import type { Principal } from '../auth.js';
import type { PlatformHealth } from '../health.js';
import { authorize, type Action, type Resource } from '../authz.js';
import { ErrorBodySchema } from '@suanli/schemas';

export interface RouteContext {
  readonly store: Store;
  readonly engine: Engine;
  readonly jobs: JobService;
  readonly clock: () => number;
  readonly health: PlatformHealth;
}

export const errorResponses = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  402: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  409: ErrorBodySchema,
  429: ErrorBodySchema,
};

export function principal(req: FastifyRequest): Principal {
  if (!req.principal)
    throw new ApiError('UNAUTHENTICATED', 'send an API token: Authorization: Bearer <token>');
  return req.principal;
}

/**
 * The route-side half of `authorize()`: returns the principal when allowed; otherwise throws
 * FORBIDDEN (403), or `notFound` (404) when the object must look absent to this caller.
 */
export function authorizeRequest(
  req: FastifyRequest,
  action: Action,
  resource: Resource = { tenant: null },
  notFound: ErrorCode = 'ROUTE_NOT_FOUND',
  what = 'the object',
): Principal {
  const p = principal(req);
  const d = authorize(p, action, resource);
  if (d.allow) return p;
  if (d.how === 'hidden') throw new ApiError(notFound, `${what} is not visible to you`);
  throw new ApiError('FORBIDDEN', d.reason);
}

/**
 * A role check by list. Kept for route modules written before `authorize()`; new routes name an
 * action with `authorizeRequest` so every decision stays in authz.ts.
 */
export function requireRole(req: FastifyRequest, roles: readonly Principal['role'][]): Principal {
  const p = principal(req);
  if (!roles.includes(p.role))
    throw new ApiError(
      'FORBIDDEN',
      `your role "${p.role}" may not do this; it needs one of: ${roles.join(', ')}`,
    );
  return p;
}
