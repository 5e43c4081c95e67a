/**
 * Request parameters typed from each route's TypeBox schemas: `req.params`, `req.query` and
 * `req.body` have the type of what validation has let through, so handlers need no casts. Replies
 * are left to the response schemas, which check them at run time.
 */
import type { FastifyInstance, FastifyTypeProvider } from 'fastify';
import type { Static, TSchema } from '@sinclair/typebox';

export interface TypeBoxRequests extends FastifyTypeProvider {
  readonly validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  readonly serializer: unknown;
}

/** The app with request types inferred from route schemas. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<TypeBoxRequests>();
}
