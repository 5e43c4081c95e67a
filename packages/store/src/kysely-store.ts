/**
 * The Store, written once over Kysely for both backends. What differs between SQLite and PostgreSQL
 * is confined to the small `Backend` each of `sqlite/` and `postgres/` supplies (how a write
 * transaction runs, the bulk pending-reason update, whether one statement may write two tables);
 * every other query here is the same Kysely expression on both, so the two behave alike by
 * construction, and the contract suite (`contract.ts`) checks it.
 */
import { CompiledQuery, sql, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import { assertTransition, type ClusterNode, type JobState, type NodeState } from '@suanli/core';
import { MIGRATIONS, runMigrations, type MigrationResult, type SqlDialect } from './migrations/index.js';
import {
  patchColumns,
  SpecCache,
  toApiToken,
  toAudit,
  toJobArrayRecord,
  toJobRecord,
  toMembership,
  toProject,
  toStoredNode,
  toTenant,
  toTransitionRecord,
  toUsage,
} from './rows.js';
import type { Database, JobsTable } from './schema.js';
import { ROLES } from './store.js';
import type {
  ApiTokenRecord,
  AuditEntry,
  AuditFilter,
  AuditRecord,
  BudgetRecord,
  MembershipRecord,
  PriceRecord,
  ProjectRecord,
  TenantRecord,
  UsageFilter,
  UsageRecord,
  JobArrayRecord,
  JobFilter,
  JobListEntry,
  NewJobArray,
  JobPatch,
  JobRecord,
  JobStateCount,
  NewJob,
  PendingUpdate,
  Store,
  StoreChange,
  StoredNode,
  TransitionRecord,
} from './store.js';

/** `listJobs` page size when the filter names none, and the most it returns whatever the filter says. */
export const LIST_JOBS_DEFAULT_LIMIT = 100;
export const LIST_JOBS_MAX_LIMIT = 1000;
/** The most audit entries one `listAudit` call returns (exports page with afterSeq). */
export const AUDIT_MAX_LIMIT = 10_000;

function clampLimit(requested: number | undefined): number {
  const r = requested ?? LIST_JOBS_DEFAULT_LIMIT;
  return Math.min(
    Math.max(Math.trunc(Number.isFinite(r) ? r : LIST_JOBS_DEFAULT_LIMIT), 1),
    LIST_JOBS_MAX_LIMIT,
  );
}

/**
 * Runs `page` once per key (each a newest-first scan of at most `limit` rows) and merges the
 * results newest first, keeping `limit`: the page a single ordered scan over their union would give.
 */
async function mergeNewestFirst<K, R extends { seq: number | string }>(
  keys: readonly K[],
  page: (key: K) => Promise<R[]>,
  limit: number,
): Promise<R[]> {
  const parts = await Promise.all(keys.map(page));
  if (parts.length === 1) return parts[0]!;
  return parts
    .flat()
    .sort((a, b) => Number(b.seq) - Number(a.seq))
    .slice(0, limit);
}

/**
 * The equality columns of the index a listing reads (migration 0052), which the query also orders
 * by, before seq. They are constant within the result, so the order is unchanged; but the ORDER BY
 * then names the index, and PostgreSQL's planner no longer prefers a backward scan of the primary
 * key filtered by state, which reads the whole history when a page deep in it holds no match
 * (measured: 250 ms instead of 0.2 ms at 1,000,000 jobs).
 */
function indexPrefix(
  filter: JobFilter,
  state: JobState | undefined,
): ('tenant' | 'project' | 'submitted_by' | 'array_id' | 'state')[] {
  const s = state !== undefined ? (['state'] as const) : [];
  if (filter.arrayId !== undefined) return ['array_id', ...s];
  if (filter.tenant !== undefined) {
    if (filter.project !== undefined) return ['tenant', 'project'];
    if (filter.submittedBy !== undefined) return ['tenant', 'submitted_by'];
    return ['tenant', ...s];
  }
  return [...s];
}

/** A task of a new job array as committed (what its insert wrote), for the change feed. */
function arrayTaskRecord(a: NewJobArray, index: number, seq: number): JobRecord {
  return {
    id: `${a.id}_${index}`,
    seq,
    tenant: a.tenant,
    project: a.spec.project,
    name: a.spec.name,
    submittedBy: a.submittedBy,
    spec: a.spec,
    state: 'queued',
    priority: a.priority,
    submittedAt: a.submittedAt,
    queuedAt: a.submittedAt,
    attempt: 0,
    placement: null,
    executorRef: null,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    pendingVerdict: null,
    pendingReason: null,
    pendingDetail: null,
    estimatedStart: null,
    notBefore: null,
    cancelRequestedAt: null,
    idempotencyKey: null,
    arrayId: a.id,
    arrayIndex: index,
    arrayThrottle: a.throttle,
  };
}

/** The equality filters of a listing, column by column. */
function equalityFilters(
  filter: JobFilter,
  state: JobState | undefined,
): ['tenant' | 'project' | 'submitted_by' | 'array_id' | 'state', string][] {
  const out: ['tenant' | 'project' | 'submitted_by' | 'array_id' | 'state', string][] = [];
  if (state !== undefined) out.push(['state', state]);
  if (filter.tenant !== undefined) out.push(['tenant', filter.tenant]);
  if (filter.project !== undefined) out.push(['project', filter.project]);
  if (filter.submittedBy !== undefined) out.push(['submitted_by', filter.submittedBy]);
  if (filter.arrayId !== undefined) out.push(['array_id', filter.arrayId]);
  return out;
}

/** What a backend supplies; everything else is shared. */
export interface Backend {
  readonly dialect: SqlDialect;
  readonly db: Kysely<Database>;
  /**
   * Runs `fn` in one write transaction and commits, or rolls back and rethrows. SQLite takes the
   * write lock up front (BEGIN IMMEDIATE); PostgreSQL uses READ COMMITTED, where a compare-and-set
   * UPDATE that waited on a concurrent writer re-checks its WHERE against the committed row.
   */
  write<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Applies the updates (deduplicated, last wins) to jobs still `queued`, in one transaction. */
  setPendingReasons(updates: readonly PendingUpdate[]): Promise<void>;
  /**
   * Can one statement insert into two tables (a data-modifying WITH)? PostgreSQL can, so createJob
   * is one atomic statement and one round trip there instead of BEGIN, two INSERTs and COMMIT.
   * SQLite cannot; there the two inserts share a (group-committed) transaction.
   */
  readonly dataModifyingCte: boolean;
}

/** Times are epoch-ms integers (bigint columns): reject anything else identically on both backends. */
function assertEpochMs(field: string, v: number | null | undefined): void {
  if (v === null || v === undefined) return;
  if (!Number.isSafeInteger(v))
    throw new TypeError(`${field} must be an integer number of epoch milliseconds, got ${String(v)}`);
}

/**
 * PostgreSQL text cannot hold U+0000 while SQLite can: reject it on both, so a reason that carries
 * a stray NUL (e.g. from a process's output) fails the same way in development and in production.
 */
function assertText(field: string, v: string | null | undefined): void {
  if (typeof v === 'string' && v.includes('\u0000')) {
    throw new TypeError(`${field} contains a NUL character (U+0000), which the store does not accept`);
  }
}

function assertPatchValues(patch: JobPatch): void {
  assertText('executorRef', patch.executorRef);
  assertText('pendingReason', patch.pendingReason);
  assertEpochMs('startedAt', patch.startedAt);
  assertEpochMs('finishedAt', patch.finishedAt);
  assertEpochMs('queuedAt', patch.queuedAt);
  assertEpochMs('notBefore', patch.notBefore);
  assertEpochMs('cancelRequestedAt', patch.cancelRequestedAt);
  assertEpochMs('estimatedStart', patch.estimatedStart);
  const r = patch.attemptResources;
  if (r !== undefined && r !== null) {
    assertCount('attemptResources.peakMemoryBytes', r.peakMemoryBytes);
    assertCount('attemptResources.cpuTimeMs', r.cpuTimeMs);
  }
}

/** Measured amounts (bytes, ms) are non-negative safe integers or null, identically on both backends. */
function assertCount(field: string, v: number | null): void {
  if (v === null) return;
  if (!Number.isSafeInteger(v) || v < 0)
    throw new TypeError(`${field} must be a non-negative integer or null, got ${String(v)}`);
}

/** Last update per job wins, as if applied one by one. */
export function dedupePendingUpdates(updates: readonly PendingUpdate[]): PendingUpdate[] {
  const byJob = new Map<string, PendingUpdate>();
  for (const u of updates) {
    byJob.delete(u.jobId);
    byJob.set(u.jobId, u);
  }
  return [...byJob.values()];
}

/** The columns createJob inserts, in parameter order. */
const JOB_INSERT_COLUMNS = [
  'id',
  'tenant',
  'project',
  'name',
  'submitted_by',
  'spec',
  'state',
  'priority',
  'submitted_at',
  'queued_at',
  'attempt',
  'placement',
  'executor_ref',
  'started_at',
  'finished_at',
  'exit_code',
  'pending_verdict',
  'pending_reason',
  'estimated_start',
  'not_before',
  'cancel_requested_at',
  'idempotency_key',
] as const;
type JobInsertRow = { [K in (typeof JOB_INSERT_COLUMNS)[number]]: JobsTable[K] };

/**
 * createJob's two statements, compiled once per store instead of built and compiled by Kysely on
 * every call (that was about a third of a SQLite create). They are still Kysely's own SQL for the
 * dialect; each is compiled from a template whose values are distinct sentinels, and the
 * constructor checks that the compiled parameters come out in exactly the template's order, so a
 * Kysely change in parameter order fails loudly instead of writing columns into each other.
 */
interface PreparedCreate {
  readonly insertJob: string;
  readonly insertFirstTransition: string;
  /** insertJob and the first transition as one statement, where the backend supports it; same parameters as insertJob. */
  readonly insertJobWithTransition: string | null;
}

function prepareCreate(db: Kysely<Database>, dataModifyingCte: boolean): PreparedCreate {
  const template = Object.fromEntries(
    JOB_INSERT_COLUMNS.map((c) => [c, `$sentinel:${c}`]),
  ) as unknown as JobInsertRow;
  const insertJob = db
    .insertInto('jobs')
    .values(template)
    .onConflict((oc) => oc.columns(['tenant', 'idempotency_key']).doNothing())
    .returningAll()
    .compile();
  const expected = JOB_INSERT_COLUMNS.map((c) => `$sentinel:${c}`);
  if (JSON.stringify(insertJob.parameters) !== JSON.stringify(expected)) {
    throw new Error(
      `createJob: compiled parameter order ${JSON.stringify(insertJob.parameters)} differs from ${JSON.stringify(expected)}`,
    );
  }
  const insertFirstTransition = db
    .insertInto('job_transitions')
    .values({
      job_id: '$sentinel:job_id',
      seq: 1,
      from_state: null,
      to_state: 'queued',
      at: -1,
      reason: 'submitted',
      attempt: 0,
    })
    .compile();
  if (
    JSON.stringify(insertFirstTransition.parameters) !==
    JSON.stringify(['$sentinel:job_id', 1, null, 'queued', -1, 'submitted', 0])
  ) {
    throw new Error(
      `createJob: unexpected transition parameters ${JSON.stringify(insertFirstTransition.parameters)}`,
    );
  }
  const insertJobWithTransition = dataModifyingCte
    ? `with ins as (${insertJob.sql}), tr as (` +
      'insert into "job_transitions" ("job_id", "seq", "from_state", "to_state", "at", "reason", "attempt") ' +
      `select "id", 1, null, "state", "submitted_at", 'submitted', "attempt" from ins) select * from ins`
    : null;
  return {
    insertJob: insertJob.sql,
    insertFirstTransition: insertFirstTransition.sql,
    insertJobWithTransition,
  };
}

export class KyselyStore implements Store {
  readonly dialect: SqlDialect;
  readonly #backend: Backend;
  readonly #db: Kysely<Database>;
  readonly #prepared: PreparedCreate;
  /** False once close() began: new operations are refused. */
  #open = true;
  /** Operations started and not yet settled: close() waits for them. */
  readonly #inflight = new Set<Promise<unknown>>();
  /** Parsed job specs, so a cycle over the queue does not parse every spec again (rows.ts). */
  readonly #specs = new SpecCache();
  readonly #toJob = (row: Selectable<JobsTable>): JobRecord => toJobRecord(row, this.#specs);
  readonly #listeners = new Set<(change: StoreChange) => void>();

  constructor(backend: Backend) {
    this.#backend = backend;
    this.#db = backend.db;
    this.dialect = backend.dialect;
    this.#prepared = prepareCreate(backend.db, backend.dataModifyingCte);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells the listeners what a commit changed (called after the commit, never inside it). */
  #changed(change: StoreChange): void {
    for (const l of this.#listeners) l(change);
  }

  #jobChanged(job: JobRecord | null): JobRecord | null {
    if (job !== null) this.#changed({ kind: 'jobs', jobs: [job] });
    return job;
  }

  /**
   * The database and its write path, for feature stores on the same database (bookings.ts): they
   * share the connection pool, the SQLite group commit and the migrations.
   */
  get backend(): Backend {
    return this.#backend;
  }

  async migrate(): Promise<void> {
    await this.migrateWithResult();
  }

  /** `migrate()` that also says what it did (for logs and tests). */
  migrateWithResult(): Promise<MigrationResult> {
    return this.#track(() => runMigrations(this.#db, this.dialect, MIGRATIONS));
  }

  /**
   * Waits for the operations already started on this store, then closes it; operations started
   * after close() reject with "store is closed". A graceful shutdown therefore never cuts a
   * submission that was accepted by the API before the shutdown began.
   */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await Promise.allSettled([...this.#inflight]);
    await this.#db.destroy();
  }

  #track<T>(run: () => Promise<T>): Promise<T> {
    if (!this.#open) return Promise.reject(new Error(`the ${this.dialect} store is closed`));
    const p = run();
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  // --- meta ---

  getMeta(key: string): Promise<string | null> {
    return this.#track(async () => {
      const row = await this.#db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value ?? null;
    });
  }

  initMeta(key: string, value: string): Promise<string> {
    return this.#track(async () => {
      assertText('meta key', key);
      assertText('meta value', value);
      // The primary key decides a race: exactly one insert lands, every caller then reads that value.
      await this.#db
        .insertInto('meta')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const row = await this.#db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
      const stored = row?.value ?? null;
      if (stored === null) throw new Error(`meta key "${key}" vanished right after it was initialised`);
      return stored;
    });
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.#track(async () => {
      assertText('meta key', key);
      assertText('meta value', value);
      await this.#db
        .insertInto('meta')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    });
  }

  // --- jobs ---

  createJob(job: NewJob): Promise<{ job: JobRecord; created: boolean }> {
    return this.#track(async () => {
      assertEpochMs('submittedAt', job.submittedAt);
      assertText('id', job.id);
      assertText('tenant', job.tenant);
      assertText('submittedBy', job.submittedBy);
      assertText('idempotencyKey', job.idempotencyKey);
      assertText('spec.project', job.spec.project);
      assertText('spec.name', job.spec.name);
      // ON CONFLICT on the (tenant, idempotency_key) unique index: under concurrent creates with the
      // same key the index admits one row; the others get no row back and read the winner's job.
      const row: JobInsertRow = {
        id: job.id,
        tenant: job.tenant,
        project: job.spec.project,
        name: job.spec.name,
        submitted_by: job.submittedBy,
        spec: JSON.stringify(job.spec),
        state: 'queued',
        priority: job.priority,
        submitted_at: job.submittedAt,
        queued_at: job.submittedAt,
        attempt: 0,
        placement: null,
        executor_ref: null,
        started_at: null,
        finished_at: null,
        exit_code: null,
        pending_verdict: null,
        pending_reason: null,
        estimated_start: null,
        not_before: null,
        cancel_requested_at: null,
        idempotency_key: job.idempotencyKey,
      };
      const params = JOB_INSERT_COLUMNS.map((c) => row[c]);
      const oneStatement = this.#prepared.insertJobWithTransition;
      const inserted =
        oneStatement !== null
          ? (await this.#db.executeQuery<Selectable<JobsTable>>(CompiledQuery.raw(oneStatement, params)))
              .rows[0]
          : await this.#backend.write(async (trx) => {
              const result = await trx.executeQuery<Selectable<JobsTable>>(
                CompiledQuery.raw(this.#prepared.insertJob, params),
              );
              const first = result.rows[0];
              if (first !== undefined) {
                await trx.executeQuery(
                  CompiledQuery.raw(this.#prepared.insertFirstTransition, [
                    job.id,
                    1,
                    null,
                    'queued',
                    job.submittedAt,
                    'submitted',
                    0,
                  ]),
                );
              }
              return first;
            });
      if (inserted !== undefined) {
        const created = this.#toJob(inserted);
        this.#jobChanged(created);
        return { job: created, created: true };
      }
      if (job.idempotencyKey === null) {
        throw new Error(`job ${job.id}: insert without an idempotency key returned no row`);
      }
      // The conflicting row is committed (ON CONFLICT waits for the other writer to finish), so a
      // fresh read sees it.
      const existing = await this.#db
        .selectFrom('jobs')
        .selectAll()
        .where('tenant', '=', job.tenant)
        .where('idempotency_key', '=', job.idempotencyKey)
        .executeTakeFirstOrThrow();
      return { job: this.#toJob(existing), created: false };
    });
  }

  getJob(id: string): Promise<JobRecord | null> {
    return this.#track(async () => {
      const row = await this.#db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : this.#toJob(row);
    });
  }

  /**
   * Newest first by seq. `limit` defaults to LIST_JOBS_DEFAULT_LIMIT and is clamped to
   * [1, LIST_JOBS_MAX_LIMIT]; an empty `states` list matches no job.
   *
   * Every filter combination is an index range scan read in seq order and stopped at `limit`: with
   * several states, one such scan per state (on (state, seq) or (tenant, state, seq)), merged here,
   * because a single `state IN (…) ORDER BY seq` cannot be read in order from one index and would
   * sort every matching row (100,000 waiting jobs) for one page. The indexes are listed in
   * migration 0052.
   */
  listJobs(filter: JobFilter): Promise<JobRecord[]> {
    return this.#track(async () => {
      if (filter.states !== undefined && filter.states.length === 0) return [];
      const limit = clampLimit(filter.limit);
      // Keys first, then rows: the page's seqs come from the listing's index alone (an index-only
      // scan where it covers the filter), then the rows by primary key. Asked for whole rows at once,
      // PostgreSQL's planner prefers a backward primary-key scan that filters by state, which reads
      // the entire history when a page deep in it holds no match (measured 170–600 ms at 1,000,000
      // jobs, against under 1 ms this way).
      const one = (state: JobState | undefined) =>
        this.#db
          .selectFrom('jobs')
          .selectAll()
          .where('seq', 'in', this.#listQuery(filter, state, limit))
          .orderBy('seq', filter.oldestFirst ? 'asc' : 'desc')
          .execute();
      const states = filter.states ? [...new Set(filter.states)] : [undefined];
      const rows = filter.oldestFirst
        ? (await Promise.all(states.map(one)))
            .flat()
            .sort((a, b) => Number(a.seq) - Number(b.seq))
            .slice(0, limit)
        : await mergeNewestFirst(states, one, limit);
      return rows.map(this.#toJob);
    });
  }

  /**
   * A listing's equality filters. On PostgreSQL the index's last equality column is written as a
   * closed range: an equality makes the planner drop that column from the ORDER BY, and a backward
   * scan of the primary key filtering rows then looks as cheap as the listing's own index. It is not
   * when the page lies in a stretch of history with no match (a deep cursor, the last page): 340 ms
   * at 1,000,000 jobs, against 0.1 ms on the index, which the ORDER BY now requires.
   */
  #whereListing<Q extends SelectQueryBuilder<Database, 'jobs', { seq: number }>>(
    q: Q,
    filter: JobFilter,
    state: JobState | undefined,
  ): Q {
    const prefix = indexPrefix(filter, state);
    const pinned = this.dialect === 'postgres' ? prefix[prefix.length - 1] : undefined;
    let out = q;
    for (const [column, value] of equalityFilters(filter, state))
      out = (
        column === pinned
          ? out.where(column, '>=', value).where(column, '<=', value)
          : out.where(column, '=', value)
      ) as Q;
    return out;
  }

  /** One index range scan of `listJobs`: the seqs of the jobs matching `filter` in one state (or any), in order. */
  #listQuery(filter: JobFilter, state: JobState | undefined, limit: number) {
    let q = this.#whereListing(this.#db.selectFrom('jobs').select('seq'), filter, state);
    if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
    if (filter.afterSeq !== undefined) q = q.where('seq', '>', filter.afterSeq);
    const dir = filter.oldestFirst ? 'asc' : 'desc';
    for (const c of indexPrefix(filter, state)) q = q.orderBy(c, dir);
    return q.orderBy('seq', dir).limit(limit);
  }

  /**
   * The query plans of `listJobs(filter)`'s key scans (one per state; the rows are then read by
   * primary key, at most `limit` of them), as the database explains them:
   * for operators checking an index is used, and for the tests that assert none of the listings
   * the API serves scans or sorts the table. PostgreSQL plans with sequential scans and sorts
   * disabled, so a plan that still has one has no index to use.
   */
  explainListJobs(filter: JobFilter): Promise<string[]> {
    return this.#track(async () => {
      const states = filter.states ? [...new Set(filter.states)] : [undefined];
      const plans: string[] = [];
      for (const state of states) {
        const compiled = this.#listQuery(filter, state, clampLimit(filter.limit)).compile();
        if (this.dialect === 'sqlite') {
          const r = await this.#db.executeQuery<{ detail: string }>(
            CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
          );
          plans.push(r.rows.map((x) => x.detail).join('\n'));
        } else {
          plans.push(
            await this.#db.transaction().execute(async (trx) => {
              await trx.executeQuery(CompiledQuery.raw('set local enable_seqscan = off'));
              await trx.executeQuery(CompiledQuery.raw('set local enable_sort = off'));
              const r = await trx.executeQuery<{ 'QUERY PLAN': string }>(
                CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]),
              );
              return r.rows.map((x) => x['QUERY PLAN']).join('\n');
            }),
          );
        }
      }
      return plans;
    });
  }

  listJobEntries(filter: Omit<JobFilter, 'arrayId'>): Promise<JobListEntry[]> {
    return this.#track(async () => {
      if (filter.states !== undefined && filter.states.length === 0) return [];
      const limit = clampLimit(filter.limit);
      const states = filter.states ? [...new Set(filter.states)] : undefined;
      // Jobs outside arrays: the partial indexes WHERE array_id IS NULL (migration 0052).
      const plain = async (state: JobState | undefined) => {
        let q = this.#whereListing(
          this.#db.selectFrom('jobs').select('seq').where('array_id', 'is', null),
          filter,
          state,
        );
        if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
        for (const c of indexPrefix(filter, state)) q = q.orderBy(c, 'desc');
        // keys first, then rows, as in listJobs
        const keys = q.orderBy('seq', 'desc').limit(limit);
        return this.#db
          .selectFrom('jobs')
          .selectAll()
          .where('seq', 'in', keys)
          .orderBy('seq', 'desc')
          .execute();
      };
      const jobs = await mergeNewestFirst(states ?? [undefined], plain, limit);
      let aq = this.#db.selectFrom('job_arrays').selectAll();
      if (filter.tenant !== undefined) aq = aq.where('tenant', '=', filter.tenant);
      if (filter.project !== undefined) aq = aq.where('project', '=', filter.project);
      if (filter.submittedBy !== undefined) aq = aq.where('submitted_by', '=', filter.submittedBy);
      if (filter.beforeSeq !== undefined) aq = aq.where('first_seq', '<', filter.beforeSeq);
      if (states !== undefined)
        aq = aq.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('jobs')
              .select('jobs.seq')
              .whereRef('jobs.array_id', '=', 'job_arrays.id')
              .where('jobs.state', 'in', states),
          ),
        );
      const arrays = await aq.orderBy('first_seq', 'desc').limit(limit).execute();
      const entries: JobListEntry[] = [
        ...jobs.map((r) => ({ kind: 'job' as const, seq: Number(r.seq), job: this.#toJob(r) })),
        ...arrays.map((r) => ({
          kind: 'array' as const,
          seq: Number(r.first_seq),
          array: toJobArrayRecord(r),
        })),
      ];
      return entries.sort((a, b) => b.seq - a.seq).slice(0, limit);
    });
  }

  /** Rows per multi-row INSERT of tasks: 25 parameters each, under SQLite's 32766 and PostgreSQL's 65535. */
  static readonly ARRAY_INSERT_BATCH_ROWS = 1000;

  createJobArray(a: NewJobArray): Promise<{ array: JobArrayRecord; created: boolean }> {
    return this.#track(async () => {
      assertEpochMs('submittedAt', a.submittedAt);
      for (const [f, v] of [
        ['id', a.id],
        ['tenant', a.tenant],
        ['submittedBy', a.submittedBy],
        ['idempotencyKey', a.idempotencyKey],
        ['spec.project', a.spec.project],
        ['spec.name', a.spec.name],
        ['expression', a.expression],
      ] as const)
        assertText(f, v);
      if (a.indices.length === 0) throw new TypeError('a job array needs at least one index');
      for (let i = 0; i < a.indices.length; i++) {
        const x = a.indices[i]!;
        if (!Number.isSafeInteger(x) || x < 0 || (i > 0 && x <= a.indices[i - 1]!))
          throw new TypeError('array indices must be ascending, distinct, non-negative integers');
      }
      const spec = JSON.stringify(a.spec);
      const tasks: JobRecord[] = [];
      const created = await this.#backend.write(async (trx) => {
        tasks.length = 0; // a retried transaction starts over
        const head = await trx
          .insertInto('job_arrays')
          .values({
            id: a.id,
            tenant: a.tenant,
            project: a.spec.project,
            name: a.spec.name,
            submitted_by: a.submittedBy,
            spec,
            expression: a.expression,
            throttle: a.throttle,
            size: a.indices.length,
            first_seq: 0,
            submitted_at: a.submittedAt,
            idempotency_key: a.idempotencyKey,
          })
          .onConflict((oc) => oc.columns(['tenant', 'idempotency_key']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (head === undefined) return null;
        const inserted = this.#backend.dataModifyingCte
          ? await this.#insertArrayTasksInOneStatement(trx, a, spec)
          : await this.#insertArrayTasksInBatches(trx, a, spec);
        let firstSeq: number | null = null;
        for (const r of inserted) {
          const seq = Number(r.seq);
          if (firstSeq === null || seq < firstSeq) firstSeq = seq;
          tasks.push(arrayTaskRecord(a, r.index, seq));
        }
        const row = await trx
          .updateTable('job_arrays')
          .set({ first_seq: firstSeq ?? 0 })
          .where('id', '=', a.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return toJobArrayRecord(row);
      });
      if (created !== null) {
        this.#changed({ kind: 'jobs', jobs: tasks });
        return { array: created, created: true };
      }
      if (a.idempotencyKey === null)
        throw new Error(`job array ${a.id}: insert without an idempotency key returned no row`);
      const existing = await this.#db
        .selectFrom('job_arrays')
        .selectAll()
        .where('tenant', '=', a.tenant)
        .where('idempotency_key', '=', a.idempotencyKey)
        .executeTakeFirstOrThrow();
      return { array: toJobArrayRecord(existing), created: false };
    });
  }

  /**
   * PostgreSQL: every task and its first transition in one statement, the rows generated by the
   * server from the index list, so the spec and the other shared values cross the wire once, not
   * once per task (10,000 tasks: one statement instead of 20 of 1,000 rows each).
   */
  async #insertArrayTasksInOneStatement(
    trx: Kysely<Database>,
    a: NewJobArray,
    spec: string,
  ): Promise<{ index: number; seq: number | string }[]> {
    const r = await sql<{ index: number; seq: number | string }>`
      with ins as (
        insert into jobs (id, tenant, project, name, submitted_by, spec, state, priority, submitted_at,
                          queued_at, attempt, array_id, array_index, array_throttle)
        select ${a.id}::text || '_' || i, ${a.tenant}::text, ${a.spec.project}::text, ${a.spec.name}::text,
               ${a.submittedBy}::text, ${spec}::text, 'queued', ${a.priority}::integer,
               ${a.submittedAt}::bigint, ${a.submittedAt}::bigint, 0, ${a.id}::text, i, ${a.throttle}::integer
        from unnest(${a.indices}::integer[]) as t(i)
        returning seq, array_index, submitted_at, id
      ), tr as (
        insert into job_transitions (job_id, seq, from_state, to_state, at, reason, attempt)
        select id, 1, null, 'queued', submitted_at, 'submitted', 0 from ins
      )
      select array_index as index, seq from ins`.execute(trx);
    return r.rows.map((x) => ({ index: Number(x.index), seq: x.seq }));
  }

  /** SQLite: the tasks and their first transitions in batches of rows (in-process: no wire to save). */
  async #insertArrayTasksInBatches(
    trx: Kysely<Database>,
    a: NewJobArray,
    spec: string,
  ): Promise<{ index: number; seq: number | string }[]> {
    const out: { index: number; seq: number | string }[] = [];
    const batch = KyselyStore.ARRAY_INSERT_BATCH_ROWS;
    for (let from = 0; from < a.indices.length; from += batch) {
      const rows = a.indices.slice(from, from + batch).map((index) => ({
        id: `${a.id}_${index}`,
        tenant: a.tenant,
        project: a.spec.project,
        name: a.spec.name,
        submitted_by: a.submittedBy,
        spec,
        state: 'queued',
        priority: a.priority,
        submitted_at: a.submittedAt,
        queued_at: a.submittedAt,
        attempt: 0,
        array_id: a.id,
        array_index: index,
        array_throttle: a.throttle,
      }));
      const inserted = await trx.insertInto('jobs').values(rows).returning(['seq', 'array_index']).execute();
      for (const r of inserted) out.push({ index: Number(r.array_index), seq: r.seq });
      await trx
        .insertInto('job_transitions')
        .values(
          rows.map((r) => ({
            job_id: r.id,
            seq: 1,
            from_state: null,
            to_state: 'queued',
            at: a.submittedAt,
            reason: 'submitted',
            attempt: 0,
          })),
        )
        .execute();
    }
    return out;
  }

  getJobArray(id: string): Promise<JobArrayRecord | null> {
    return this.#track(async () => {
      const row = await this.#db.selectFrom('job_arrays').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : toJobArrayRecord(row);
    });
  }

  async countArrayTasks(arrayId: string): Promise<{ state: JobState; count: number }[]> {
    return (await this.countTasksOfArrays([arrayId])).get(arrayId) ?? [];
  }

  countTasksOfArrays(
    arrayIds: readonly string[],
  ): Promise<Map<string, { state: JobState; count: number }[]>> {
    return this.#track(async () => {
      const out = new Map<string, { state: JobState; count: number }[]>();
      if (arrayIds.length === 0) return out;
      const rows = await this.#db
        .selectFrom('jobs')
        .select((eb) => ['array_id', 'state', eb.fn.countAll<number | string>().as('n')])
        .where('array_id', 'in', [...new Set(arrayIds)])
        .groupBy(['array_id', 'state'])
        .execute();
      for (const r of rows) {
        const id = r.array_id as string;
        let counts = out.get(id);
        if (counts === undefined) out.set(id, (counts = []));
        counts.push({ state: r.state as JobState, count: Number(r.n) });
      }
      for (const counts of out.values()) counts.sort((x, y) => x.state.localeCompare(y.state));
      return out;
    });
  }

  cancelArrayTasks(
    arrayId: string,
    at: number,
    reason: string,
  ): Promise<{ cancelled: number; cancelRequested: number }> {
    return this.#track(async () => {
      assertEpochMs('at', at);
      assertText('reason', reason);
      const changed: JobRecord[] = [];
      const counts = await this.#backend.write(async (trx) => {
        changed.length = 0; // a retried transaction starts over
        let cancelled = 0;
        for (const from of ['queued', 'requeued'] as const) {
          assertTransition(from, 'cancelled');
          const ended = await trx
            .updateTable('jobs')
            .set({ state: 'cancelled', finished_at: at })
            .where('array_id', '=', arrayId)
            .where('state', '=', from)
            .returningAll()
            .execute();
          for (const r of ended) changed.push(this.#toJob(r));
          cancelled += ended.length;
          const batch = KyselyStore.ARRAY_INSERT_BATCH_ROWS;
          for (let i = 0; i < ended.length; i += batch) {
            const chunk = ended.slice(i, i + batch);
            const last = await trx
              .selectFrom('job_transitions')
              .select((eb) => ['job_id', eb.fn.max('seq').as('seq')])
              .where(
                'job_id',
                'in',
                chunk.map((r) => r.id),
              )
              .groupBy('job_id')
              .execute();
            const lastSeq = new Map(last.map((r) => [r.job_id, Number(r.seq)]));
            await trx
              .insertInto('job_transitions')
              .values(
                chunk.map((r) => ({
                  job_id: r.id,
                  seq: (lastSeq.get(r.id) ?? 0) + 1,
                  from_state: from,
                  to_state: 'cancelled',
                  at,
                  reason,
                  attempt: Number(r.attempt),
                })),
              )
              .execute();
          }
        }
        const requested = await trx
          .updateTable('jobs')
          .set({ cancel_requested_at: at })
          .where('array_id', '=', arrayId)
          .where('state', 'in', ['starting', 'running', 'preempted', 'lost'])
          .where('cancel_requested_at', 'is', null)
          .returningAll()
          .execute();
        for (const r of requested) changed.push(this.#toJob(r));
        return { cancelled, cancelRequested: requested.length };
      });
      this.#changed({ kind: 'jobs', jobs: changed });
      return counts;
    });
  }

  countJobsByState(
    filter: { readonly tenant?: string; readonly states?: readonly JobState[] } = {},
  ): Promise<JobStateCount[]> {
    return this.#track(async () => {
      if (filter.states !== undefined && filter.states.length === 0) return [];
      let q = this.#db
        .selectFrom('jobs')
        .select((eb) => [
          'state',
          eb.fn.countAll<number | string>().as('n'),
          eb.fn.min<number | string>('queued_at').as('oldest'),
        ]);
      if (filter.tenant !== undefined) q = q.where('tenant', '=', filter.tenant);
      // With states named, the (state, seq) index keeps the count to those rows, not the history.
      if (filter.states !== undefined) q = q.where('state', 'in', [...filter.states]);
      const rows = await q.groupBy('state').execute();
      return rows
        .map((r) => ({ state: r.state as JobState, count: Number(r.n), oldestQueuedAt: Number(r.oldest) }))
        .sort((a, b) => a.state.localeCompare(b.state));
    });
  }

  jobsInStates(states: readonly JobState[]): Promise<JobRecord[]> {
    return this.#track(async () => {
      if (states.length === 0) return [];
      const rows = await this.#db
        .selectFrom('jobs')
        .selectAll()
        .where('state', 'in', [...states])
        .orderBy('seq', 'asc')
        .execute();
      return rows.map(this.#toJob);
    });
  }

  transitionJob(
    id: string,
    from: JobState,
    to: JobState,
    at: number,
    reason: string,
    patch: JobPatch = {},
  ): Promise<JobRecord | null> {
    return this.#track(async () => {
      // An illegal pair is a programming error whatever the job's current state: throw before any I/O.
      assertTransition(from, to);
      assertEpochMs('at', at);
      assertText('reason', reason);
      assertPatchValues(patch);
      const changed = await this.#backend.write(async (trx) => {
        const row = await trx
          .updateTable('jobs')
          .set({ ...patchColumns(patch), state: to })
          .where('id', '=', id)
          .where('state', '=', from)
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) return null;
        // The CAS update above holds the job's row lock (PostgreSQL) or the database write lock
        // (SQLite) until commit, so no other transition of this job can compute the same next seq.
        await trx
          .insertInto('job_transitions')
          .columns(['job_id', 'seq', 'from_state', 'to_state', 'at', 'reason', 'attempt'])
          .expression((eb) =>
            eb
              .selectFrom('job_transitions')
              .select([
                eb.val(id).as('job_id'),
                eb(eb.fn.coalesce(eb.fn.max('seq'), eb.lit(0)), '+', eb.lit(1)).as('seq'),
                eb.val(from).as('from_state'),
                eb.val(to).as('to_state'),
                // Casts: PostgreSQL types untyped parameters in a SELECT list as text.
                eb.cast<number>(eb.val(at), 'bigint').as('at'),
                eb.val(reason).as('reason'),
                eb.cast<number>(eb.val(Number(row.attempt)), 'integer').as('attempt'),
              ])
              .where('job_id', '=', id),
          )
          .execute();
        const job = this.#toJob(row);
        if ((from === 'starting' || from === 'running') && to !== 'starting' && to !== 'running')
          await this.#writeUsage(trx, job, to, at, patch.attemptResources);
        return job;
      });
      return this.#jobChanged(changed);
    });
  }

  /**
   * The ledger row of the attempt that just ended, in the transition's transaction. The interval is
   * the job's recorded startedAt (set at the `running` transition) to its finishedAt (or the
   * transition time): times written by the engine with the transitions, never a clock read here,
   * so a clock change between the two cannot inflate it. The key (job_id, attempt) with DO NOTHING
   * makes a second write impossible even if the same attempt were somehow ended twice.
   */
  async #writeUsage(
    trx: Kysely<Database>,
    job: JobRecord,
    to: JobState,
    at: number,
    resources: JobPatch['attemptResources'],
  ): Promise<void> {
    const end = job.finishedAt ?? at;
    const start = Math.min(job.startedAt ?? end, end);
    const placement = job.placement ?? [];
    const ids = placement.flatMap((r) => [...r.acceleratorIds]);
    const types = new Set<string>();
    if (ids.length > 0) {
      const nodeNames = [...new Set(placement.map((r) => r.node))];
      const rows = await trx.selectFrom('nodes').select('node').where('name', 'in', nodeNames).execute();
      const typeOf = new Map<string, string>();
      for (const r of rows)
        for (const a of (JSON.parse(r.node) as ClusterNode).accelerators) typeOf.set(a.id, a.type);
      for (const id of ids) types.add(typeOf.get(id) ?? 'unknown');
    }
    await trx
      .insertInto('usage_ledger')
      .values({
        job_id: job.id,
        attempt: job.attempt,
        tenant: job.tenant,
        project: job.project,
        accelerator_type: types.size === 0 ? 'none' : [...types].sort().join('+'),
        accelerators: ids.length,
        cpu_millis: placement.reduce((n, r) => n + r.cpuMillis, 0),
        memory_mib: placement.reduce((n, r) => n + r.memoryMiB, 0),
        started_at: start,
        finished_at: end,
        end_state: to,
        peak_memory_bytes: resources?.peakMemoryBytes ?? null,
        cpu_time_ms: resources?.cpuTimeMs ?? null,
      })
      .onConflict((oc) => oc.columns(['job_id', 'attempt']).doNothing())
      .execute();
  }

  patchJob(id: string, expectedState: JobState, patch: JobPatch): Promise<JobRecord | null> {
    return this.#track(async () => {
      assertPatchValues(patch);
      const columns = patchColumns(patch);
      if (Object.keys(columns).length === 0) {
        const row = await this.#db
          .selectFrom('jobs')
          .selectAll()
          .where('id', '=', id)
          .where('state', '=', expectedState)
          .executeTakeFirst();
        return row === undefined ? null : this.#toJob(row);
      }
      // One statement: the WHERE on state makes it a compare-and-set without an explicit transaction.
      const row = await this.#db
        .updateTable('jobs')
        .set(columns)
        .where('id', '=', id)
        .where('state', '=', expectedState)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? null : this.#jobChanged(this.#toJob(row));
    });
  }

  setPendingReasons(updates: readonly PendingUpdate[]): Promise<void> {
    return this.#track(async () => {
      if (updates.length === 0) return;
      for (const u of updates) {
        assertEpochMs('estimatedStart', u.estimatedStart);
        assertText('reason', u.reason);
      }
      await this.#backend.setPendingReasons(dedupePendingUpdates(updates));
    });
  }

  listTransitions(jobId: string): Promise<TransitionRecord[]> {
    return this.#track(async () => {
      const rows = await this.#db
        .selectFrom('job_transitions')
        .selectAll()
        .where('job_id', '=', jobId)
        .orderBy('seq', 'asc')
        .execute();
      return rows.map(toTransitionRecord);
    });
  }

  // --- inventory ---

  /** Rows per INSERT: 3 parameters each, well under SQLite's 32766-parameter limit. */
  static readonly UPSERT_NODES_BATCH_ROWS = 500;

  upsertNodes(nodes: readonly ClusterNode[], at: number): Promise<void> {
    return this.#track(async () => {
      assertEpochMs('at', at);
      if (nodes.length === 0) return;
      // Last entry per name wins; a name twice in one INSERT … ON CONFLICT is an error in PostgreSQL.
      const byName = new Map<string, ClusterNode>();
      for (const n of nodes) {
        assertText('node name', n.name);
        byName.set(n.name, n);
      }
      const rows = [...byName.values()].map((n) => ({
        name: n.name,
        node: JSON.stringify(n),
        updated_at: at,
      }));
      await this.#backend.write(async (trx) => {
        for (let i = 0; i < rows.length; i += KyselyStore.UPSERT_NODES_BATCH_ROWS) {
          await trx
            .insertInto('nodes')
            .values(rows.slice(i, i + KyselyStore.UPSERT_NODES_BATCH_ROWS))
            // admin_state / admin_reason are not in the SET list: the operator's override survives.
            .onConflict((oc) =>
              oc.column('name').doUpdateSet((eb) => ({
                node: eb.ref('excluded.node'),
                updated_at: eb.ref('excluded.updated_at'),
              })),
            )
            .execute();
        }
      });
      this.#changed({ kind: 'nodes' });
    });
  }

  listNodes(): Promise<StoredNode[]> {
    return this.#track(async () => {
      const rows = await this.#db.selectFrom('nodes').selectAll().orderBy('name').execute();
      return rows.map(toStoredNode);
    });
  }

  setNodeAdminState(
    name: string,
    state: NodeState | null,
    reason: string | null,
    at: number,
  ): Promise<boolean> {
    return this.#track(async () => {
      assertEpochMs('at', at);
      assertText('reason', reason);
      const result = await this.#db
        .updateTable('nodes')
        .set({ admin_state: state, admin_reason: reason, updated_at: at })
        .where('name', '=', name)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return false;
      this.#changed({ kind: 'nodes' });
      return true;
    });
  }

  // --- tenants, projects, memberships ---

  createTenant(t: TenantRecord): Promise<boolean> {
    return this.#track(async () => {
      assertText('tenant', t.name);
      assertText('displayName', t.displayName);
      assertEpochMs('createdAt', t.createdAt);
      const row = await this.#db
        .insertInto('tenants')
        .values({ name: t.name, display_name: t.displayName, created_at: t.createdAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('name')
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  getTenant(name: string): Promise<TenantRecord | null> {
    return this.#track(async () => {
      const r = await this.#db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();
      return r === undefined ? null : toTenant(r);
    });
  }

  listTenants(): Promise<TenantRecord[]> {
    return this.#track(async () =>
      (await this.#db.selectFrom('tenants').selectAll().orderBy('name').execute()).map(toTenant),
    );
  }

  createProject(p: ProjectRecord): Promise<boolean> {
    return this.#track(async () => {
      assertText('project', p.name);
      assertEpochMs('createdAt', p.createdAt);
      const row = await this.#db
        .insertInto('projects')
        .values({ tenant: p.tenant, name: p.name, created_at: p.createdAt })
        .onConflict((oc) => oc.columns(['tenant', 'name']).doNothing())
        .returning('name')
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  getProject(tenant: string, name: string): Promise<ProjectRecord | null> {
    return this.#track(async () => {
      const r = await this.#db
        .selectFrom('projects')
        .selectAll()
        .where('tenant', '=', tenant)
        .where('name', '=', name)
        .executeTakeFirst();
      return r === undefined ? null : toProject(r);
    });
  }

  listProjects(tenant?: string): Promise<ProjectRecord[]> {
    return this.#track(async () => {
      let q = this.#db.selectFrom('projects').selectAll();
      if (tenant !== undefined) q = q.where('tenant', '=', tenant);
      return (await q.orderBy('tenant').orderBy('name').execute()).map(toProject);
    });
  }

  setMembership(m: MembershipRecord): Promise<void> {
    return this.#track(async () => {
      assertText('subject', m.subject);
      assertEpochMs('createdAt', m.createdAt);
      if (!ROLES.includes(m.role)) throw new TypeError(`unknown role ${String(m.role)}`);
      assertText('unixUser', m.unixUser);
      if (m.unixUser === '') throw new TypeError('unixUser must be a name or null, not empty');
      // undefined keeps the stored account on an update (see MembershipRecord.unixUser).
      await this.#db
        .insertInto('memberships')
        .values({
          tenant: m.tenant,
          subject: m.subject,
          role: m.role,
          created_at: m.createdAt,
          unix_user: m.unixUser ?? null,
        })
        .onConflict((oc) =>
          oc
            .columns(['tenant', 'subject'])
            .doUpdateSet(
              m.unixUser === undefined ? { role: m.role } : { role: m.role, unix_user: m.unixUser },
            ),
        )
        .execute();
    });
  }

  getMembership(tenant: string, subject: string): Promise<MembershipRecord | null> {
    return this.#track(async () => {
      const r = await this.#db
        .selectFrom('memberships')
        .selectAll()
        .where('tenant', '=', tenant)
        .where('subject', '=', subject)
        .executeTakeFirst();
      return r === undefined ? null : toMembership(r);
    });
  }

  deleteMembership(tenant: string, subject: string): Promise<boolean> {
    return this.#track(async () => {
      const r = await this.#db
        .deleteFrom('memberships')
        .where('tenant', '=', tenant)
        .where('subject', '=', subject)
        .executeTakeFirst();
      return r.numDeletedRows > 0n;
    });
  }

  listMemberships(tenant?: string): Promise<MembershipRecord[]> {
    return this.#track(async () => {
      let q = this.#db.selectFrom('memberships').selectAll();
      if (tenant !== undefined) q = q.where('tenant', '=', tenant);
      return (await q.orderBy('tenant').orderBy('subject').execute()).map(toMembership);
    });
  }

  // --- API tokens ---

  createApiToken(t: ApiTokenRecord): Promise<void> {
    return this.#track(async () => {
      assertText('token name', t.name);
      assertEpochMs('createdAt', t.createdAt);
      assertEpochMs('expiresAt', t.expiresAt);
      await this.#db
        .insertInto('api_tokens')
        .values({
          id: t.id,
          hash: t.hash,
          subject: t.subject,
          tenant: t.tenant,
          name: t.name,
          created_by: t.createdBy,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          revoked_at: t.revokedAt,
        })
        .execute();
    });
  }

  getApiToken(id: string): Promise<ApiTokenRecord | null> {
    return this.#track(async () => {
      const r = await this.#db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return r === undefined ? null : toApiToken(r);
    });
  }

  listApiTokens(filter: { tenant?: string; subject?: string }): Promise<ApiTokenRecord[]> {
    return this.#track(async () => {
      let q = this.#db.selectFrom('api_tokens').selectAll();
      if (filter.tenant !== undefined) q = q.where('tenant', '=', filter.tenant);
      if (filter.subject !== undefined) q = q.where('subject', '=', filter.subject);
      return (await q.orderBy('created_at').orderBy('id').execute()).map(toApiToken);
    });
  }

  revokeApiToken(id: string, at: number): Promise<boolean> {
    return this.#track(async () => {
      assertEpochMs('at', at);
      const r = await this.#db
        .updateTable('api_tokens')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  // --- audit (append-only: there is deliberately no update or delete) ---

  appendAudit(e: AuditEntry): Promise<void> {
    return this.#track(async () => {
      assertEpochMs('at', e.at);
      const clean = (v: string | null) => (v === null ? null : v.replaceAll('\u0000', '\uFFFD'));
      await this.#db
        .insertInto('audit_log')
        .values({
          at: e.at,
          subject: clean(e.subject),
          tenant: clean(e.tenant),
          role: e.role,
          method: e.method,
          route: clean(e.route) ?? '',
          target: clean(e.target),
          ip: e.ip,
          status: e.status,
          error_code: e.errorCode,
          request_id: e.requestId,
        })
        .execute();
    });
  }

  listAudit(filter: AuditFilter): Promise<AuditRecord[]> {
    return this.#track(async () => {
      let q = this.#db.selectFrom('audit_log').selectAll();
      if (filter.from !== undefined) q = q.where('at', '>=', filter.from);
      if (filter.to !== undefined) q = q.where('at', '<', filter.to);
      if (filter.subject !== undefined) q = q.where('subject', '=', filter.subject);
      if (filter.tenant !== undefined) q = q.where('tenant', '=', filter.tenant);
      if (filter.afterSeq !== undefined) q = q.where('seq', '>', filter.afterSeq);
      const limit = Math.min(Math.max(filter.limit ?? 1000, 1), AUDIT_MAX_LIMIT);
      return (await q.orderBy('seq', 'asc').limit(limit).execute()).map(toAudit);
    });
  }

  // --- usage, budgets, prices ---

  listUsage(filter: UsageFilter): Promise<UsageRecord[]> {
    return this.#track(async () => {
      assertEpochMs('from', filter.from);
      assertEpochMs('to', filter.to);
      // Overlap with [from, to): zero-length intervals at `from` count (they cost nothing).
      let q = this.#db
        .selectFrom('usage_ledger')
        .selectAll()
        .where('finished_at', '>=', filter.from)
        .where('started_at', '<', filter.to);
      if (filter.tenant !== undefined) q = q.where('tenant', '=', filter.tenant);
      if (filter.project !== undefined) q = q.where('project', '=', filter.project);
      return (await q.orderBy('finished_at').orderBy('job_id').orderBy('attempt').execute()).map(toUsage);
    });
  }

  listJobAttempts(jobId: string): Promise<UsageRecord[]> {
    return this.#track(async () =>
      (
        await this.#db
          .selectFrom('usage_ledger')
          .selectAll()
          .where('job_id', '=', jobId)
          .orderBy('attempt')
          .execute()
      ).map(toUsage),
    );
  }

  setBudget(b: BudgetRecord): Promise<void> {
    return this.#track(async () => {
      assertEpochMs('updatedAt', b.updatedAt);
      if (!Number.isFinite(b.acceleratorHours) || b.acceleratorHours < 0)
        throw new TypeError('acceleratorHours must be a finite number ≥ 0');
      await this.#db
        .insertInto('budgets')
        .values({
          tenant: b.tenant,
          project: b.project ?? '',
          accelerator_hours: b.acceleratorHours,
          updated_at: b.updatedAt,
        })
        .onConflict((oc) =>
          oc
            .columns(['tenant', 'project'])
            .doUpdateSet({ accelerator_hours: b.acceleratorHours, updated_at: b.updatedAt }),
        )
        .execute();
    });
  }

  deleteBudget(tenant: string, project: string | null): Promise<boolean> {
    return this.#track(async () => {
      const r = await this.#db
        .deleteFrom('budgets')
        .where('tenant', '=', tenant)
        .where('project', '=', project ?? '')
        .executeTakeFirst();
      return r.numDeletedRows > 0n;
    });
  }

  listBudgets(tenant?: string): Promise<BudgetRecord[]> {
    return this.#track(async () => {
      let q = this.#db.selectFrom('budgets').selectAll();
      if (tenant !== undefined) q = q.where('tenant', '=', tenant);
      return (await q.orderBy('tenant').orderBy('project').execute()).map((r) => ({
        tenant: r.tenant,
        project: r.project === '' ? null : r.project,
        acceleratorHours: Number(r.accelerator_hours),
        updatedAt: Number(r.updated_at),
      }));
    });
  }

  setPrice(p: PriceRecord): Promise<void> {
    return this.#track(async () => {
      assertEpochMs('updatedAt', p.updatedAt);
      if (!Number.isFinite(p.perAcceleratorHour) || p.perAcceleratorHour < 0)
        throw new TypeError('perAcceleratorHour must be a finite number ≥ 0');
      await this.#db
        .insertInto('prices')
        .values({
          accelerator_type: p.acceleratorType,
          per_accelerator_hour: p.perAcceleratorHour,
          currency: p.currency,
          updated_at: p.updatedAt,
        })
        .onConflict((oc) =>
          oc.column('accelerator_type').doUpdateSet({
            per_accelerator_hour: p.perAcceleratorHour,
            currency: p.currency,
            updated_at: p.updatedAt,
          }),
        )
        .execute();
    });
  }

  listPrices(): Promise<PriceRecord[]> {
    return this.#track(async () =>
      (await this.#db.selectFrom('prices').selectAll().orderBy('accelerator_type').execute()).map((r) => ({
        acceleratorType: r.accelerator_type,
        perAcceleratorHour: Number(r.per_accelerator_hour),
        currency: r.currency,
        updatedAt: Number(r.updated_at),
      })),
    );
  }
}
