/** Jobs: submit, list, read (with history and why pending), cancel, logs. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { openJobFile, UnsafeJobFileError } from '@suanli/executors';
import { ACTIVE_STATES } from '@suanli/core';
import { ApiError } from '../errors.js';
import {
  JobArrayViewSchema,
  JobListSchema,
  JobSpecInputSchema,
  JobViewSchema,
  JOB_STATE_VALUES,
  type JobListEntry,
} from '@suanli/schemas';
import { attemptProgress, toJobArrayView, toJobView } from '../views.js';
import { parseCursor, readMergedLogs } from '../replica-logs.js';
import type { JobArrayRecord, JobRecord, Store } from '@suanli/store';
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
/** A job id: `j-<16 hex>`, or a job array task's `<array id>_<index>` (Slurm's convention). */
const JOB_ID_PATTERN = '^j-[0-9a-f]{16}(_[0-9]{1,7})?$';
const ARRAY_ID_PATTERN = '^j-[0-9a-f]{16}$';

/**
 * List cursors are opaque to clients: base64url of `s<seq>` (the last entry's submission sequence).
 * A cursor from another server version or a hand-made one that does not decode is REQUEST_INVALID.
 */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}
export function decodeCursor(cursor: string): number {
  const m = /^s([1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m)
    throw new ApiError('REQUEST_INVALID', 'cursor is not one this server gave out; start again without it', [
      { path: 'querystring.cursor', message: 'is not a cursor from a previous page' },
    ]);
  return Number(m[1]);
}

/** Arrays with their task counts: one GROUP BY on (array_id, state) for the whole page. */
async function arrayViews(store: Store, arrays: readonly JobArrayRecord[]) {
  const counts = await store.countTasksOfArrays(arrays.map((a) => a.id));
  return arrays.map((a) => toJobArrayView(a, counts.get(a.id) ?? []));
}

const readableArray = (p: Principal) => (a: { tenant: string }) =>
  authorize(p, 'job.read', { tenant: a.tenant }).allow;

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
        querystring: Type.Object({
          array: Type.Optional(
            Type.String({
              maxLength: 4096,
              description:
                "Submit a job array (overrides the spec's `array`): `0-999`, `0-15:4`, `1,3,5-7`, with `%N` to run at most N at once",
            }),
          ),
        }),
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        }),
        response: {
          201: Type.Union([JobViewSchema, JobArrayViewSchema]),
          200: Type.Union([JobViewSchema, JobArrayViewSchema]),
          ...errorResponses,
        },
      },
      // The core's compileJobSpec (and for arrays parseArrayExpression) is the validator: it names every field and says what to fix.
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
      const override = (req.query as { array?: unknown }).array;
      if (override !== undefined && typeof override !== 'string')
        throw new ApiError('JOB_ARRAY_INVALID', 'give ?array= once, e.g. ?array=0-99%5', [
          { path: 'querystring.array', message: 'must be one array expression' },
        ]);
      const split = jobs.arrayOf(req.body, override);
      if (split !== null) {
        const { array, created } = await jobs.submitArray(
          split.spec,
          split.array,
          { subject: p.subject, tenant: p.tenant },
          key ?? null,
        );
        void reply.status(created ? 201 : 200);
        return toJobArrayView(array, await store.countArrayTasks(array.id));
      }
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
            submittedBy: Type.Optional(Type.String({ maxLength: 200, description: 'Jobs of this subject' })),
            array: Type.Optional(
              Type.String({ pattern: ARRAY_ID_PATTERN, description: 'Only the tasks of this job array' }),
            ),
            fold: Type.Optional(
              Type.Boolean({
                description:
                  'Fold each job array into one entry (in `entries`, with task counts per state); with `state`, an array is listed when any of its tasks is in one of the states',
              }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(
              Type.String({ maxLength: 64, description: 'nextCursor of the previous page (opaque)' }),
            ),
            before: Type.Optional(Type.Integer({ minimum: 1, description: 'Deprecated: use cursor' })),
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
      if (q.fold && q.array !== undefined)
        throw new ApiError(
          'REQUEST_INVALID',
          "fold and array do not go together: an array's tasks are not folded",
          [{ path: 'querystring.fold', message: "leave it out when listing one array's tasks" }],
        );
      const beforeSeq = q.cursor !== undefined ? decodeCursor(q.cursor) : q.before;
      const filter = {
        ...(tenant !== undefined ? { tenant } : {}),
        ...(q.state ? { states: q.state } : {}),
        ...(q.project ? { project: q.project } : {}),
        ...(q.submittedBy ? { submittedBy: q.submittedBy } : {}),
        ...(beforeSeq !== undefined ? { beforeSeq } : {}),
        limit,
      };
      if (q.fold) {
        const page = await store.listJobEntries(filter);
        const arrays = new Map(
          (
            await arrayViews(
              store,
              page.flatMap((e) => (e.kind === 'array' ? [e.array] : [])),
            )
          ).map((v) => [v.id, v]),
        );
        const entries: JobListEntry[] = page.map((e) =>
          e.kind === 'job' ? { job: toJobView(e.job) } : { array: arrays.get(e.array.id)! },
        );
        const last = page[page.length - 1];
        const more = page.length === limit && last !== undefined;
        return {
          jobs: entries.flatMap((e) => ('job' in e ? [e.job] : [])),
          entries,
          nextCursor: more ? encodeCursor(last.seq) : null,
          nextBefore: more ? last.seq : null,
        };
      }
      const list = await store.listJobs({
        ...filter,
        ...(q.array !== undefined ? { arrayId: q.array } : {}),
      });
      const last = list[list.length - 1];
      const more = list.length === limit && last !== undefined;
      return {
        jobs: list.map((j) => toJobView(j)),
        nextCursor: more ? encodeCursor(last.seq) : null,
        nextBefore: more ? last.seq : null,
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
      const [transitions, attempts, progress] = await Promise.all([
        store.listTransitions(job.id),
        store.listJobAttempts(job.id),
        attemptProgress(job.attempt, (a) => engine.logDir(job.id, a)),
      ]);
      return toJobView(job, transitions, attempts, progress);
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

  const arrayIdParams = Type.Object({
    id: Type.String({ pattern: ARRAY_ID_PATTERN, description: 'Job array id, e.g. j-0123456789abcdef' }),
  });

  app.get(
    '/api/v1/job-arrays/:id',
    {
      schema: {
        summary: 'A job array: its expression, task counts per state, and a page of its tasks in index order',
        params: arrayIdParams,
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Array(Type.Union(JOB_STATE_VALUES.map((st) => Type.Literal(st))))),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Type.String({ maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: JobArrayViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = principal(req);
      const { id } = req.params as { id: string };
      const q = req.query as { state?: (typeof JOB_STATE_VALUES)[number][]; limit?: number; cursor?: string };
      const array = await jobs.getArray(id, { subject: p.subject, tenant: p.tenant }, readableArray(p));
      const limit = q.limit ?? 100;
      const afterSeq = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
      const [counts, tasks] = await Promise.all([
        store.countArrayTasks(array.id),
        store.listJobs({
          arrayId: array.id,
          oldestFirst: true,
          ...(q.state ? { states: q.state } : {}),
          ...(afterSeq !== undefined ? { afterSeq } : {}),
          limit,
        }),
      ]);
      const last = tasks[tasks.length - 1];
      return {
        ...toJobArrayView(array, counts),
        tasks: tasks.map((t) => toJobView(t)),
        nextCursor: tasks.length === limit && last ? encodeCursor(last.seq) : null,
      };
    },
  );

  app.post(
    '/api/v1/job-arrays/:id/cancel',
    {
      schema: {
        summary:
          'Cancel every unfinished task of a job array (waiting ones at once, running ones with SIGTERM, grace period, SIGKILL)',
        params: arrayIdParams,
        response: { 202: JobArrayViewSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principal(req);
      const { id } = req.params as { id: string };
      const who = { subject: p.subject, tenant: p.tenant };
      const seen = await jobs.getArray(id, who, readableArray(p));
      authorizeRequest(req, 'job.cancel', { tenant: seen.tenant }, 'JOB_NOT_FOUND', `job array ${id}`);
      const { array, cancelled, cancelRequested } = await jobs.cancelArray(id, who, readableArray(p));
      void reply.status(202);
      return { ...toJobArrayView(array, await store.countArrayTasks(array.id)), cancelled, cancelRequested };
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
            replica: Type.Optional(
              Type.Integer({
                minimum: 0,
                description: "One replica's log; absent: every replica's, lines prefixed [rank]",
              }),
            ),
            cursor: Type.Optional(
              Type.String({
                maxLength: 16_384,
                description: 'Per-replica offsets `o0,o1,…` of the merged log (from the last chunk)',
              }),
            ),
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
            cursor: Type.Optional(
              Type.String({ description: 'Merged log of a gang: pass back as `cursor` to go on' }),
            ),
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
      const ex = engine.executor;
      const replicas = job.spec.replicas;
      if (q.replica !== undefined && q.replica >= replicas)
        throw new ApiError('LOG_NOT_FOUND', `job ${id} has replicas 0–${replicas - 1}`);
      const stream = q.stream ?? 'stdout';
      const pathsOf = (rank: number) =>
        ex.replicaLogPaths
          ? ex.replicaLogPaths(job.id, attempt, engine.logDir(job.id, attempt), rank)
          : ex.logPaths(job.id, attempt, engine.logDir(job.id, attempt));
      if (q.replica === undefined && replicas > 1 && ex.replicaLogPaths) {
        const offsets = parseCursor(q.cursor, replicas);
        if (offsets === null)
          throw new ApiError(
            'REQUEST_INVALID',
            `cursor must be ${replicas} byte offsets "o0,o1,…" as a previous chunk returned it`,
          );
        const ended = !(attempt === job.attempt && (ACTIVE_STATES.has(job.state) || job.state === 'queued'));
        try {
          const m = await readMergedLogs(
            Array.from({ length: replicas }, (_, r) => pathsOf(r)[stream]),
            offsets,
            q.limit ?? 256 * 1024,
            ended,
          );
          return { ...m, attempt, finished: ended };
        } catch (err) {
          if (err instanceof UnsafeJobFileError)
            throw new ApiError(
              'LOG_UNSAFE',
              `a ${stream} log of attempt ${attempt} of job ${id} cannot be served: ${err.message.replace(/^\S+ /, 'the file ')}`,
            );
          throw err;
        }
      }
      const file = pathsOf(q.replica ?? 0)[stream];
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
          throw new ApiError(
            'LOG_UNSAFE',
            `the ${q.stream ?? 'stdout'} log of attempt ${attempt} of job ${id} cannot be served: ${err.message.replace(/^\S+ /, 'the file ')}`,
          );
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
