/** What every route module needs: the store, the engine, the clock and the permission checks. */
import type { FastifyRequest } from 'fastify';
import type { Store } from '@suanli/store';
import type { Engine, JobService } from '@suanli/engine';
import { ApiError } from '../errors.js';
import type { Principal } from '../auth.js';
import { ErrorBodySchema } from '../schemas/index.js';

export interface RouteContext {
  readonly store: Store;
  readonly engine: Engine;
  readonly jobs: JobService;
  readonly clock: () => number;
}

export const errorResponses = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  409: ErrorBodySchema,
};

export function principal(req: FastifyRequest): Principal {
  if (!req.principal)
    throw new ApiError('UNAUTHENTICATED', 'send an API token: Authorization: Bearer <token>');
  return req.principal;
}

/** The one place a role is checked against what a route needs. */
export function requireRole(req: FastifyRequest, roles: readonly Principal['role'][]): Principal {
  const p = principal(req);
  if (!roles.includes(p.role))
    throw new ApiError(
      'FORBIDDEN',
      `your role "${p.role}" may not do this; it needs one of: ${roles.join(', ')}`,
    );
  return p;
}
