/**
 * The HTTP API, built without listening (tests call `app.inject`). Every input is validated at the
 * boundary; every error has a stable code from `errors.ts`; every route is described in the
 * OpenAPI document served at `/api/v1/openapi.json`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import type { Store } from '@suanli/store';
import { maxWaitingJobsOf } from '@suanli/core';
import { JobsError, JobService, type Engine, type PolicyManager } from '@suanli/engine';
import { ApiError, type ErrorCode } from './errors.js';
import { isStorageFull, PlatformHealth, STORAGE_FULL_RETRY_AFTER_S } from './health.js';
import type { Authenticator, Principal } from './auth.js';
import { HealthSchema, WhoAmISchema, ErrorBodySchema } from '@suanli/schemas';
import { principal, type RouteContext } from './routes/common.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerNodeRoutes } from './routes/nodes.js';
import { registerPolicyRoutes } from './routes/policy.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerIdentityRoutes } from './routes/identity.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerUsageRoutes } from './routes/usage.js';
import { registerBookingRoutes } from './routes/bookings.js';
import { parseBoundedYaml } from './yaml-body.js';
import { LOG_REDACT_PATHS, registerSecurityHooks, trackRoutes, type RateLimit } from './hooks.js';

export const API_VERSION = '0.1.0';

export interface AppOptions {
  readonly store: Store;
  readonly engine: Engine;
  readonly auth: Authenticator;
  /** The policy file manager (policy routes, priority classes); absent: fixed policy, no policy routes. */
  readonly policy?: PolicyManager;
  readonly clock?: () => number;
  /** pino logger options or false (tests). */
  readonly logger?: boolean | object;
  /**
   * A logger to use instead (the server's, writing to its `LogSink`); it must redact
   * `LOG_REDACT_PATHS` itself. Takes precedence over `logger`.
   */
  readonly loggerInstance?: FastifyBaseLogger;
  /** Degraded-state tracking for `/healthz` and `/metrics`; default: a fresh one (no data directory). */
  readonly health?: PlatformHealth;
  readonly bodyLimitBytes?: number;
  /** Per-token rate limit; null: none. Default: from SUANLI_RATE_LIMIT (see hooks.ts). */
  readonly rateLimit?: RateLimit | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * Errors that mean the database is gone rather than a bug: the store closed under a request (during
 * shutdown), a refused or reset connection, or PostgreSQL's admin-shutdown / connection classes.
 */
function isStoreUnavailable(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'SQLITE_BUSY', '57P01', '57P03'].includes(code) ||
      code.startsWith('08'))
  )
    return true;
  return /store is closed|Connection terminated/.test(err.message);
}

function fromJobsError(err: JobsError): ApiError {
  return new ApiError(err.code satisfies ErrorCode, err.message, err.details);
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { store, engine, auth } = opts;
  const clock = opts.clock ?? Date.now;
  const policy = opts.policy ?? null;
  const jobs = new JobService(
    store,
    engine,
    clock,
    policy ? () => policy.priorityClasses() : undefined,
    policy ? (tenant) => maxWaitingJobsOf(policy.config, tenant) : undefined,
  );
  const health = opts.health ?? new PlatformHealth(null, clock);
  const ctx: RouteContext = { store, engine, jobs, clock, health };
  const app = Fastify({
    // Secrets never reach the log: the Authorization header and token fields are redacted.
    ...(opts.loggerInstance
      ? { loggerInstance: opts.loggerInstance }
      : {
          logger:
            typeof opts.logger === 'object'
              ? { ...opts.logger, redact: [...LOG_REDACT_PATHS] }
              : (opts.logger ?? false),
        }),
    bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    return503OnClosing: true,
    // Errors the router raises before any route runs (a malformed URL, a path parameter longer than
    // maxParamLength) get a coded body like every other error.
    frameworkErrors: (err, _req, reply) => {
      const e = new ApiError('REQUEST_INVALID', `the request URL is not acceptable: ${err.message}`);
      void (reply as unknown as FastifyReply).status(e.status).send(e.toBody());
    },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'suanli API',
        version: API_VERSION,
        description: 'The operating platform of an AI computing center.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.decorateRequest('principal', null);

  // YAML job specs are accepted as they are written in files, with aliases bounded (yaml-body.ts).
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml'],
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, parseBoundedYaml(body as string));
      } catch (err) {
        done(
          new ApiError('BODY_MALFORMED', `the YAML body does not parse: ${(err as Error).message}`),
          undefined,
        );
      }
    },
  );

  // Authentication, rate limits, the audit trail (hooks.ts); the route table for 405 answers.
  await registerSecurityHooks(app, {
    store,
    auth,
    clock,
    ...(opts.rateLimit !== undefined ? { rateLimit: opts.rateLimit } : {}),
  });
  const otherMethods = trackRoutes(app);

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allow = otherMethods(req.method, path);
    if (allow.length > 0) {
      const e = new ApiError(
        'METHOD_NOT_ALLOWED',
        `${req.method} is not allowed on ${path}; use ${allow.join(', ')}`,
      );
      void reply.status(e.status).header('allow', allow.join(', ')).send(e.toBody());
      return;
    }
    const e = new ApiError(
      'ROUTE_NOT_FOUND',
      `no route ${req.method} ${req.url.split('?')[0]}; see /api/v1/openapi.json`,
    );
    void reply.status(e.status).send(e.toBody());
  });

  app.setErrorHandler((thrown, req, reply) => {
    const err = thrown as Error;
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err instanceof JobsError) e = fromJobsError(err);
    else if ((err as { validation?: unknown }).validation) {
      const v = (
        err as unknown as {
          validation: {
            instancePath: string;
            message?: string;
            params?: { missingProperty?: string; additionalProperty?: string };
          }[];
          validationContext?: string;
        }
      ).validation;
      const ctx = (err as { validationContext?: string }).validationContext ?? 'body';
      const details = v.map((x) => {
        const extra = x.params?.additionalProperty ?? x.params?.missingProperty;
        const path = [ctx, ...x.instancePath.split('/').filter(Boolean), ...(extra ? [extra] : [])].join('.');
        return {
          path,
          message: x.params?.additionalProperty ? 'is not a known field' : (x.message ?? 'is invalid'),
        };
      });
      e = new ApiError(
        'REQUEST_INVALID',
        `the request is invalid: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`,
        details,
      );
    } else {
      const code = (err as { code?: string }).code;
      const status = (err as { statusCode?: number }).statusCode;
      if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
        e = new ApiError('PAYLOAD_TOO_LARGE', `the body is larger than ${req.routeOptions.bodyLimit} bytes`);
      else if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
        e = new ApiError(
          'UNSUPPORTED_MEDIA_TYPE',
          `content type "${req.headers['content-type'] ?? ''}" is not accepted; send application/json`,
        );
      else if (
        code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
        code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
        err instanceof SyntaxError
      )
        e = new ApiError('BODY_MALFORMED', `the body is not valid JSON: ${err.message}`);
      else if (status !== undefined && status >= 400 && status < 500)
        e = new ApiError('REQUEST_INVALID', err.message);
      else if (isStorageFull(err)) {
        health.noteStorageFull(`${req.method} ${req.routeOptions.url ?? req.url}: ${err.message}`);
        req.log.warn({ err }, 'storage full');
        e = new ApiError(
          'STORAGE_FULL',
          `the platform cannot store this now: its disk is full (request id ${req.id}). Nothing was stored; retry in ${STORAGE_FULL_RETRY_AFTER_S} s`,
        );
        void reply.header('retry-after', String(STORAGE_FULL_RETRY_AFTER_S));
      } else if (isStoreUnavailable(err)) {
        req.log.error({ err }, 'store unavailable');
        e = new ApiError(
          'STORE_UNAVAILABLE',
          `the database cannot be reached (request id ${req.id}); retry later`,
        );
      } else {
        req.log.error({ err }, 'unhandled error');
        e = new ApiError('INTERNAL', `internal error (request id ${req.id}); the server log has the details`);
      }
    }
    void reply.status(e.status).send(e.toBody());
  });

  // ---------------------------------------------------------------------------------------------
  // A write that got through means the store has room again.
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && reply.statusCode < 400) health.noteStoreWriteOk();
  });

  app.get('/healthz', { schema: { hide: false, response: { 200: HealthSchema } } }, async () => {
    const problems = health.problems();
    return {
      status: problems.length > 0 ? ('degraded' as const) : ('ok' as const),
      version: API_VERSION,
      store: store.dialect,
      executor: engine.executor.name,
      problems,
    };
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/api/v1/whoami',
    { schema: { response: { 200: WhoAmISchema, 401: ErrorBodySchema } } },
    async (req) => {
      const p = principal(req);
      return { subject: p.subject, role: p.role, tenant: p.tenant };
    },
  );

  registerJobRoutes(app, ctx);
  registerNodeRoutes(app, ctx);
  registerPolicyRoutes(app, { ...ctx, policy });
  registerMetricsRoutes(app, ctx);
  registerIdentityRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerUsageRoutes(app, ctx);
  registerBookingRoutes(app, ctx);
  return app;
}
