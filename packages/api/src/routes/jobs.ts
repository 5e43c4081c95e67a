/** Jobs: submit, list, read (with history and why pending), cancel, logs. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { openJobFile, UnsafeJobFileError } from '@suanli/executors';
import { ACTIVE_STATES } from '@suanli/core';
import { ApiError } from '../errors.js';
import { JobListSchema, JobSpecInputSchema, JobViewSchema, JOB_STATE_VALUES } from '../schemas/index.js';
import { toJobView } from '../views.js';
import type { JobRecord } from '@suanli/store';
import { authorize, isPlatformRole } from '../authz.js';
import type { Principal } from '../auth.js';
import { authorizeRequest, errorResponses, principal, type RouteContext } from './common.js';
import { typed } from './typed.js';

/** The job is visible to `p` when authorize() allows reading it (else it answers JOB_NOT_FOUND). */
const readable = (p: Principal) => (j: JobRecord) => authorize(p, 'job.read', { tenant: j.tenant }).allow;

const LOG_CHUNK_MAX_BYTES = 1024 * 1024;
/**
 * A job spec body: the compiled spec is bounded at JOB_SPEC_LIMITS.specMaxJsonChars (64 Ki
 * characters); the body may be larger (YAML comments, indentation), but not without end.
 */
export const JOB_BODY_MAX_BYTES = 256 * 1024;
const JOB_ID_PATTERN = '^j-[0-9a-f]{16}$';

export function registerJobRoutes(fastify: FastifyInstance, { store, engine, jobs }: RouteContext): void {
  const app = typed(fastify);
  app.post(
    '/api/v1/jobs',
    {
      bodyLimit: JOB_BODY_MAX_BYTES,
      schema: {
        summary: 'Submit a job',
        description:
          'Body: a job spec as JSON (or YAML with Content-Type application/yaml). Send Idempotency-Key to make retries safe.',
        body: JobSpecInputSchema,
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        }),
        response: { 201: JobViewSchema, 200: JobViewSchema, ...errorResponses },
      },
      // The core's compileJobSpec is the validator: it names every field and says what to fix.
      validatorCompiler: ({ httpPart }) =>
        httpPart === 'body' ? () => true : (v: unknown) => ({ value: v }),
    },
    async (req, reply) => {
      const who = principal(req);
      const p = authorizeRequest(req, 'job.submit', { tenant: who.tenant });
      const key = req.headers['idempotency-key'];
      if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 200))
        throw new ApiError('REQUEST_INVALID', 'Idempotency-Key must be 1–200 characters', [
          { path: 'headers.idempotency-key', message: 'must be 1–200 characters' },
        ]);
      const { job, created } = await jobs.submit(
        req.body,
        { subject: p.subject, tenant: p.tenant },
        key ?? null,
      );
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
            tenant: Type.Optional(
              Type.String({ maxLength: 63, description: 'Operators and admins: one tenant (default: all)' }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            before: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: JobListSchema, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const who = principal(req);
      // Platform roles list every tenant unless they name one; tenant roles only their own.
      const tenant = q.tenant ?? (isPlatformRole(who.role) ? undefined : who.tenant);
      authorizeRequest(req, 'job.list', { tenant: tenant ?? null }, 'TENANT_NOT_FOUND', `tenant "${tenant}"`);
      const limit = q.limit ?? 100;
      const list = await store.listJobs({
        ...(tenant !== undefined ? { tenant } : {}),
        ...(q.state ? { states: q.state } : {}),
        ...(q.project ? { project: q.project } : {}),
        ...(q.before ? { beforeSeq: q.before } : {}),
        limit,
      });
      const last = list[list.length - 1];
      return {
        jobs: list.map((j) => toJobView(j)),
        nextBefore: list.length === limit && last ? last.seq : null,
      };
    },
  );

  const jobIdParams = Type.Object({
    id: Type.String({ pattern: JOB_ID_PATTERN, description: 'Job id, e.g. j-0123456789abcdef' }),
  });

  app.get(
    '/api/v1/jobs/:id',
    {
      schema: {
        summary:
          'A job with its state history, its attempts (with measured peak memory and CPU time) and pending reason',
        params: jobIdParams,
        response: { 200: JobViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = principal(req);
      const { id } = req.params;
      const job = await jobs.get(id, { subject: p.subject, tenant: p.tenant }, readable(p));
      const [transitions, attempts] = await Promise.all([
        store.listTransitions(job.id),
        store.listJobAttempts(job.id),
      ]);
      return toJobView(job, transitions, attempts);
    },
  );

  app.post(
    '/api/v1/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a job (SIGTERM, grace period, SIGKILL)',
        params: jobIdParams,
        response: { 202: JobViewSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principal(req);
      const { id } = req.params;
      const who = { subject: p.subject, tenant: p.tenant };
      const seen = await jobs.get(id, who, readable(p));
      authorizeRequest(req, 'job.cancel', { tenant: seen.tenant }, 'JOB_NOT_FOUND', `job ${id}`);
      const job = await jobs.cancel(id, who, readable(p));
      void reply.status(202);
      return toJobView(job);
    },
  );

  app.get(
    '/api/v1/jobs/:id/logs',
    {
      schema: {
        summary: 'Read a chunk of a job log from a byte offset (poll with the returned offset to follow)',
        params: jobIdParams,
        querystring: Type.Object(
          {
            stream: Type.Optional(
              Type.Union([Type.Literal('stdout'), Type.Literal('stderr')], { default: 'stdout' }),
            ),
            attempt: Type.Optional(Type.Integer({ minimum: 1 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
            limit: Type.Optional(
              Type.Integer({ minimum: 1, maximum: LOG_CHUNK_MAX_BYTES, default: 256 * 1024 }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.String(),
            offset: Type.Integer(),
            nextOffset: Type.Integer(),
            size: Type.Integer(),
            attempt: Type.Integer(),
            finished: Type.Boolean(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principal(req);
      const { id } = req.params;
      const q = req.query;
      const job = await jobs.get(id, { subject: p.subject, tenant: p.tenant }, readable(p));
      const attempt = q.attempt ?? job.attempt;
      if (attempt < 1 || attempt > job.attempt)
        throw new ApiError(
          'LOG_NOT_FOUND',
          job.attempt === 0
            ? `job ${id} has not started yet, so it has no logs`
            : `job ${id} has attempts 1–${job.attempt}`,
        );
      // The path is built from the stored job id and a validated integer only: no user text reaches the filesystem.
      const paths = engine.executor.logPaths(job.id, attempt, engine.logDir(job.id, attempt));
      const file = (q.stream ?? 'stdout') === 'stdout' ? paths.stdout : paths.stderr;
      const offset = q.offset ?? 0;
      const limit = q.limit ?? 256 * 1024;
      let size = 0;
      let data = '';
      let nextOffset = offset;
      try {
        // The log directory is the job's own: never follow what it planted there (openJobFile).
        const fh = await openJobFile(file);
        try {
          size = (await fh.stat()).size;
          if (offset < size) {
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
          }
        } finally {
          await fh.close();
        }
      } catch (err) {
        if (err instanceof UnsafeJobFileError)
          throw new ApiError('LOG_UNSAFE', `the ${q.stream ?? 'stdout'} log of attempt ${attempt} of job ${id} cannot be served: ${err.message.replace(/^\S+ /, 'the file ')}`);
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!(attempt === job.attempt && ACTIVE_STATES.has(job.state)))
          throw new ApiError(
            'LOG_NOT_FOUND',
            `no ${q.stream ?? 'stdout'} log for attempt ${attempt} of job ${id}`,
          );
      }
      const finished = !(attempt === job.attempt && (ACTIVE_STATES.has(job.state) || job.state === 'queued'));
      return { data, offset, nextOffset, size, attempt, finished };
    },
  );
}
