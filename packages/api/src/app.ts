/**
 * The HTTP API, built without listening (tests call `app.inject`). Every input is validated at the
 * boundary; every error has a stable code from `errors.ts`; every route is described in the
 * OpenAPI document served at `/api/v1/openapi.json`.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { open, stat } from 'node:fs/promises';
import type { Store } from '@suanli/store';
import { JobsError, JobService, type Engine } from '@suanli/engine';
import { ApiError, type ErrorCode } from './errors.js';
import type { Authenticator, Principal } from './auth.js';
import {
  ErrorBodySchema,
  HealthSchema,
  JobListSchema,
  JobSpecInputSchema,
  JobViewSchema,
  NodeListSchema,
  NodeViewSchema,
  WhoAmISchema,
  JOB_STATE_VALUES,
} from './schemas/index.js';
import { toJobView, toNodeView } from './views.js';
import { ACTIVE_STATES } from '@suanli/core';

export const API_VERSION = '0.1.0';

export interface AppOptions {
  readonly store: Store;
  readonly engine: Engine;
  readonly auth: Authenticator;
  readonly clock?: () => number;
  /** pino logger options or false (tests). */
  readonly logger?: boolean | object;
  readonly bodyLimitBytes?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const LOG_CHUNK_MAX_BYTES = 1024 * 1024;
const JOB_ID_PATTERN = '^j-[0-9a-f]{16}$';
const NODE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$';

const errorResponses = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  409: ErrorBodySchema,
};

function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError('UNAUTHENTICATED', 'send an API token: Authorization: Bearer <token>');
  return req.principal;
}

function requireRole(req: FastifyRequest, roles: readonly Principal['role'][]): Principal {
  const p = principal(req);
  if (!roles.includes(p.role)) throw new ApiError('FORBIDDEN', `your role "${p.role}" may not do this; it needs one of: ${roles.join(', ')}`);
  return p;
}

function fromJobsError(err: JobsError): ApiError {
  return new ApiError(err.code satisfies ErrorCode, err.message, err.details);
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { store, engine, auth } = opts;
  const clock = opts.clock ?? Date.now;
  const jobs = new JobService(store, engine, clock);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    return503OnClosing: true,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'suanli API', version: API_VERSION, description: 'The operating platform of an AI computing center.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.decorateRequest('principal', null);

  // YAML job specs are accepted as they are written in files.
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseYaml(body as string, { maxAliasCount: 100 }));
    } catch (err) {
      done(new ApiError('BODY_MALFORMED', `the YAML body does not parse: ${(err as Error).message}`), undefined);
    }
  });

  app.addHook('onRequest', async (req) => {
    const h = req.headers.authorization;
    if (typeof h === 'string' && h.startsWith('Bearer ')) req.principal = await auth.authenticate(h.slice(7).trim());
    const open = req.url === '/healthz' || req.url.startsWith('/api/v1/openapi.json') || req.url === '/metrics';
    if (!open && req.principal === null) {
      throw new ApiError('UNAUTHENTICATED', h ? 'the API token is not valid (revoked, expired or mistyped)' : 'send an API token: Authorization: Bearer <token>');
    }
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; see /api/v1/openapi.json`);
    void reply.status(e.status).send(e.toBody());
  });

  app.setErrorHandler((thrown, req, reply) => {
    const err = thrown as Error;
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err instanceof JobsError) e = fromJobsError(err);
    else if ((err as { validation?: unknown }).validation) {
      const v = (err as unknown as { validation: { instancePath: string; message?: string; params?: { missingProperty?: string; additionalProperty?: string } }[]; validationContext?: string }).validation;
      const ctx = (err as { validationContext?: string }).validationContext ?? 'body';
      const details = v.map((x) => {
        const extra = x.params?.additionalProperty ?? x.params?.missingProperty;
        const path = [ctx, ...x.instancePath.split('/').filter(Boolean), ...(extra ? [extra] : [])].join('.');
        return { path, message: x.params?.additionalProperty ? 'is not a known field' : (x.message ?? 'is invalid') };
      });
      e = new ApiError('REQUEST_INVALID', `the request is invalid: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
    } else {
      const code = (err as { code?: string }).code;
      const status = (err as { statusCode?: number }).statusCode;
      if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new ApiError('PAYLOAD_TOO_LARGE', `the body is larger than ${app.initialConfig.bodyLimit} bytes`);
      else if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') e = new ApiError('UNSUPPORTED_MEDIA_TYPE', `content type "${req.headers['content-type'] ?? ''}" is not accepted; send application/json`);
      else if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) e = new ApiError('BODY_MALFORMED', `the body is not valid JSON: ${err.message}`);
      else if (status !== undefined && status >= 400 && status < 500) e = new ApiError('REQUEST_INVALID', err.message);
      else {
        req.log.error({ err }, 'unhandled error');
        e = new ApiError('INTERNAL', `internal error (request id ${req.id}); the server log has the details`);
      }
    }
    void reply.status(e.status).send(e.toBody());
  });

  // ---------------------------------------------------------------------------------------------
  app.get('/healthz', { schema: { hide: false, response: { 200: HealthSchema } } }, async () => ({
    status: 'ok' as const,
    version: API_VERSION,
    store: store.dialect,
    executor: engine.executor.name,
  }));

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/api/v1/whoami', { schema: { response: { 200: WhoAmISchema, 401: ErrorBodySchema } } }, async (req) => {
    const p = principal(req);
    return { subject: p.subject, role: p.role, tenant: p.tenant };
  });

  // --- jobs ----------------------------------------------------------------------------------------
  app.post(
    '/api/v1/jobs',
    {
      schema: {
        summary: 'Submit a job',
        description: 'Body: a job spec as JSON (or YAML with Content-Type application/yaml). Send Idempotency-Key to make retries safe.',
        body: JobSpecInputSchema,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        response: { 201: JobViewSchema, 200: JobViewSchema, ...errorResponses },
      },
      // The core's compileJobSpec is the validator: it names every field and says what to fix.
      validatorCompiler: ({ httpPart }) => (httpPart === 'body' ? () => true : (v: unknown) => ({ value: v })),
    },
    async (req, reply) => {
      const p = requireRole(req, ['admin', 'operator', 'tenant-admin', 'member']);
      const key = req.headers['idempotency-key'];
      if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 200))
        throw new ApiError('REQUEST_INVALID', 'Idempotency-Key must be 1–200 characters', [{ path: 'headers.idempotency-key', message: 'must be 1–200 characters' }]);
      const { job, created } = await jobs.submit(req.body, { subject: p.subject, tenant: p.tenant }, key ?? null);
      void reply.status(created ? 201 : 200);
      return toJobView(job);
    },
  );

  app.get(
    '/api/v1/jobs',
    {
      schema: {
        summary: 'List jobs, newest first',
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Array(Type.Union(JOB_STATE_VALUES.map((s) => Type.Literal(s))))),
            project: Type.Optional(Type.String({ maxLength: 63 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            before: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: JobListSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = principal(req);
      const q = req.query as { state?: (typeof JOB_STATE_VALUES)[number][]; project?: string; limit?: number; before?: number };
      const limit = q.limit ?? 100;
      const list = await store.listJobs({
        tenant: p.tenant,
        ...(q.state ? { states: q.state } : {}),
        ...(q.project ? { project: q.project } : {}),
        ...(q.before ? { beforeSeq: q.before } : {}),
        limit,
      });
      const last = list[list.length - 1];
      return { jobs: list.map((j) => toJobView(j)), nextBefore: list.length === limit && last ? last.seq : null };
    },
  );

  const jobIdParams = Type.Object({ id: Type.String({ pattern: JOB_ID_PATTERN, description: 'Job id, e.g. j-0123456789abcdef' }) });

  app.get('/api/v1/jobs/:id', { schema: { summary: 'A job with its state history and pending reason', params: jobIdParams, response: { 200: JobViewSchema, ...errorResponses } } }, async (req) => {
    const p = principal(req);
    const { id } = req.params as { id: string };
    const job = await jobs.get(id, { subject: p.subject, tenant: p.tenant });
    return toJobView(job, await store.listTransitions(job.id));
  });

  app.post('/api/v1/jobs/:id/cancel', { schema: { summary: 'Cancel a job (SIGTERM, grace period, SIGKILL)', params: jobIdParams, response: { 202: JobViewSchema, ...errorResponses } } }, async (req, reply) => {
    const p = requireRole(req, ['admin', 'operator', 'tenant-admin', 'member']);
    const { id } = req.params as { id: string };
    const job = await jobs.cancel(id, { subject: p.subject, tenant: p.tenant });
    void reply.status(202);
    return toJobView(job);
  });

  app.get(
    '/api/v1/jobs/:id/logs',
    {
      schema: {
        summary: 'Read a chunk of a job log from a byte offset (poll with the returned offset to follow)',
        params: jobIdParams,
        querystring: Type.Object(
          {
            stream: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')], { default: 'stdout' })),
            attempt: Type.Optional(Type.Integer({ minimum: 1 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LOG_CHUNK_MAX_BYTES, default: 256 * 1024 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.String(), offset: Type.Integer(), nextOffset: Type.Integer(), size: Type.Integer(), attempt: Type.Integer(), finished: Type.Boolean() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principal(req);
      const { id } = req.params as { id: string };
      const q = req.query as { stream?: 'stdout' | 'stderr'; attempt?: number; offset?: number; limit?: number };
      const job = await jobs.get(id, { subject: p.subject, tenant: p.tenant });
      const attempt = q.attempt ?? job.attempt;
      if (attempt < 1 || attempt > job.attempt) throw new ApiError('LOG_NOT_FOUND', job.attempt === 0 ? `job ${id} has not started yet, so it has no logs` : `job ${id} has attempts 1–${job.attempt}`);
      // The path is built from the stored job id and a validated integer only: no user text reaches the filesystem.
      const paths = engine.executor.logPaths(job.id, attempt, engine.logDir(job.id, attempt));
      const file = (q.stream ?? 'stdout') === 'stdout' ? paths.stdout : paths.stderr;
      const offset = q.offset ?? 0;
      const limit = q.limit ?? 256 * 1024;
      let size = 0;
      let data = '';
      let nextOffset = offset;
      try {
        size = (await stat(file)).size;
        if (offset < size) {
          const fh = await open(file, 'r');
          try {
            const buf = Buffer.alloc(Math.min(limit, size - offset));
            const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
            // Do not split a UTF-8 character: stop before an incomplete trailing sequence.
            let end = bytesRead;
            if (offset + bytesRead < size) {
              let k = end - 1;
              while (k >= 0 && k > end - 4 && ((buf[k] ?? 0) & 0xc0) === 0x80) k--;
              if (k >= 0 && ((buf[k] ?? 0) & 0x80) !== 0) {
                const lead = buf[k] ?? 0;
                const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
                if (end - k < need) end = k;
              }
            }
            data = buf.subarray(0, end).toString('utf8');
            nextOffset = offset + end;
          } finally {
            await fh.close();
          }
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!(attempt === job.attempt && ACTIVE_STATES.has(job.state)))
          throw new ApiError('LOG_NOT_FOUND', `no ${q.stream ?? 'stdout'} log for attempt ${attempt} of job ${id}`);
      }
      const finished = !(attempt === job.attempt && (ACTIVE_STATES.has(job.state) || job.state === 'queued'));
      return { data, offset, nextOffset, size, attempt, finished };
    },
  );

  // --- nodes ---------------------------------------------------------------------------------------
  async function allocations(): Promise<Map<string, string>> {
    const active = await store.jobsInStates(['starting', 'running']);
    const m = new Map<string, string>();
    for (const j of active) for (const r of j.placement ?? []) for (const a of r.acceleratorIds) m.set(a, j.id);
    return m;
  }

  app.get('/api/v1/nodes', { schema: { summary: 'Nodes and their accelerators', response: { 200: NodeListSchema, ...errorResponses } } }, async (req) => {
    principal(req);
    const [nodes, alloc] = await Promise.all([store.listNodes(), allocations()]);
    return { nodes: nodes.map((n) => toNodeView(n, alloc)) };
  });

  const nodeParams = Type.Object({ name: Type.String({ pattern: NODE_NAME_PATTERN }) });
  for (const action of ['drain', 'undrain'] as const) {
    app.post(
      `/api/v1/nodes/:name/${action}`,
      {
        schema: {
          summary: action === 'drain' ? 'Drain a node: running jobs continue, nothing new is placed' : 'Return a drained node to service',
          params: nodeParams,
          body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false })),
          response: { 200: NodeViewSchema, ...errorResponses },
        },
      },
      async (req) => {
        requireRole(req, ['admin', 'operator']);
        const { name } = req.params as { name: string };
        const reason = (req.body as { reason?: string } | undefined)?.reason ?? null;
        const ok = await store.setNodeAdminState(name, action === 'drain' ? 'draining' : null, action === 'drain' ? (reason ?? 'drained by operator') : null, clock());
        if (!ok) throw new ApiError('NODE_NOT_FOUND', `no node "${name}"; list nodes with GET /api/v1/nodes`);
        engine.nudge();
        const [nodes, alloc] = await Promise.all([store.listNodes(), allocations()]);
        const node = nodes.find((n) => n.node.name === name);
        if (!node) throw new ApiError('NODE_NOT_FOUND', `no node "${name}"`);
        return toNodeView(node, alloc);
      },
    );
  }

  return app;
}
