/**
 * The Store: every piece of durable state of the platform goes through this interface, so the
 * embedded SQLite default and PostgreSQL behave the same. One contract suite (`contract.ts`)
 * runs against both implementations.
 *
 * Contract highlights:
 * - Job state changes are compare-and-set: `transitionJob` names the state it expects the job to be
 *   in and fails (returns null) if another writer moved it first. This, plus storing the transition
 *   in the same transaction, is what guarantees that an acknowledged job is never lost or run twice.
 * - `createJob` with an idempotency key returns the existing job for a repeated key instead of
 *   creating a second one.
 * - All times are epoch milliseconds supplied by the caller (the store never reads the clock), so
 *   tests and the engine control time.
 */
import type {
  ClusterNode,
  JobSpec,
  JobState,
  NodeState,
  PendingVerdict,
  Placement,
  VerdictDetail,
} from '@suanli/core';

export interface JobRecord {
  readonly id: string;
  /** Monotonic submission sequence: a stable first-come order across restarts. */
  readonly seq: number;
  readonly tenant: string;
  readonly project: string;
  readonly name: string;
  readonly submittedBy: string;
  readonly spec: JobSpec;
  readonly state: JobState;
  /** Resolved numeric priority. */
  readonly priority: number;
  readonly submittedAt: number;
  /** When the job last entered `queued` (submission or requeue): queue order and wait metrics. */
  readonly queuedAt: number;
  /** Attempts started so far (0 until the first start). */
  readonly attempt: number;
  readonly placement: Placement | null;
  /** Executor-specific handle of the current attempt (e.g. `{"pid":123,"startTicks":…}` or a Slurm job id). */
  readonly executorRef: string | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly exitCode: number | null;
  /** Why the job is still pending, refreshed each scheduling cycle. */
  readonly pendingVerdict: PendingVerdict | null;
  readonly pendingReason: string | null;
  readonly estimatedStart: number | null;
  /** The verdict's times and names, structured for rendering in the reader's language. */
  readonly pendingDetail: VerdictDetail | null;
  /** A requeued job may not start before this time (retry backoff). */
  readonly notBefore: number | null;
  /** Set when a cancel was requested while the job held devices; the engine carries it out. */
  readonly cancelRequestedAt: number | null;
  readonly idempotencyKey: string | null;
  /** The array this job is a task of (`<arrayId>_<index>` is its id), or null. */
  readonly arrayId: string | null;
  readonly arrayIndex: number | null;
  /** The array's `%N`: at most this many of its tasks active at once; null: no cap (or no array). */
  readonly arrayThrottle: number | null;
}

/** A job array as submitted. Its tasks are ordinary jobs (`JobRecord.arrayId`). */
export interface JobArrayRecord {
  readonly id: string;
  readonly tenant: string;
  readonly project: string;
  readonly name: string;
  readonly submittedBy: string;
  readonly spec: JobSpec;
  /** Canonical index expression without the throttle (`0-999`, `1,3-5`). */
  readonly expression: string;
  readonly throttle: number | null;
  readonly size: number;
  /** seq of its first task: its place among jobs in a newest-first list. */
  readonly firstSeq: number;
  readonly submittedAt: number;
  readonly idempotencyKey: string | null;
}

export interface NewJobArray {
  readonly id: string;
  readonly tenant: string;
  readonly submittedBy: string;
  readonly spec: JobSpec;
  /** Ascending, distinct indices; task i gets id `<id>_<indices[i]>`. */
  readonly indices: readonly number[];
  readonly expression: string;
  readonly throttle: number | null;
  readonly priority: number;
  readonly submittedAt: number;
  readonly idempotencyKey: string | null;
}

/** One entry of a folded listing: a job outside any array, or an array. */
export type JobListEntry =
  | { readonly kind: 'job'; readonly seq: number; readonly job: JobRecord }
  | { readonly kind: 'array'; readonly seq: number; readonly array: JobArrayRecord };

export interface TransitionRecord {
  readonly jobId: string;
  readonly seq: number;
  readonly from: JobState | null;
  readonly to: JobState;
  readonly at: number;
  readonly reason: string;
  readonly attempt: number;
}

export interface NewJob {
  readonly id: string;
  readonly tenant: string;
  readonly submittedBy: string;
  readonly spec: JobSpec;
  readonly priority: number;
  readonly submittedAt: number;
  readonly idempotencyKey: string | null;
}

/** Jobs in one state, and the oldest `queuedAt` among them. */
export interface JobStateCount {
  readonly state: JobState;
  readonly count: number;
  readonly oldestQueuedAt: number;
}

/** Fields a transition may set alongside the state change. `undefined` leaves a field unchanged. */
export interface JobPatch {
  readonly attempt?: number;
  readonly placement?: Placement | null;
  readonly executorRef?: string | null;
  readonly startedAt?: number | null;
  readonly finishedAt?: number | null;
  readonly exitCode?: number | null;
  readonly queuedAt?: number;
  readonly notBefore?: number | null;
  readonly cancelRequestedAt?: number | null;
  readonly pendingVerdict?: PendingVerdict | null;
  readonly pendingReason?: string | null;
  readonly estimatedStart?: number | null;
  readonly pendingDetail?: VerdictDetail | null;
  /**
   * What the ending attempt used (peak memory, CPU time), stored on the usage-ledger row that this
   * transition writes. Only meaningful on a transition out of starting/running.
   */
  readonly attemptResources?: {
    readonly peakMemoryBytes: number | null;
    readonly cpuTimeMs: number | null;
  } | null;
}

export interface JobFilter {
  readonly states?: readonly JobState[];
  readonly tenant?: string;
  readonly project?: string;
  /** Jobs submitted by this subject. */
  readonly submittedBy?: string;
  /** Only the tasks of this array. */
  readonly arrayId?: string;
  /** Page by submission sequence: jobs with seq < beforeSeq (newest first). */
  readonly beforeSeq?: number;
  /** Oldest first instead (an array's tasks in index order), paged by seq > afterSeq. */
  readonly oldestFirst?: boolean;
  readonly afterSeq?: number;
  readonly limit?: number;
}

export interface PendingUpdate {
  readonly jobId: string;
  readonly verdict: PendingVerdict;
  readonly reason: string;
  readonly estimatedStart: number | null;
  /** Absent or null: the verdict has no structured detail. */
  readonly detail?: VerdictDetail | null;
}

export interface StoredNode {
  readonly node: ClusterNode;
  /** Operator override (drain); null when the node's own state applies. */
  readonly adminState: NodeState | null;
  readonly adminReason: string | null;
  readonly updatedAt: number;
}

/**
 * What a commit changed, as committed: the jobs a create, transition or patch wrote (their rows
 * after the write), or that the inventory changed (node rows or an operator's override).
 */
export type StoreChange =
  { readonly kind: 'jobs'; readonly jobs: readonly JobRecord[] } | { readonly kind: 'nodes' };

export interface Store extends AccountingStore {
  /** `sqlite` or `postgres`: for logs and capability tables, never for branching in callers. */
  readonly dialect: 'sqlite' | 'postgres';

  /**
   * Subscribes to this store instance's committed changes (the engine's working set is fed by
   * them). A listener is called after the commit, once per change, in the order the writers see
   * their own results; never for a write that failed or changed nothing (a compare-and-set that
   * lost, an idempotent create that found its job). Writes made through another store instance
   * or process are not seen. Listeners must not throw; returns the unsubscribe function.
   */
  onChange(listener: (change: StoreChange) => void): () => void;

  /** Applies pending migrations. Safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // --- small key/value settings (e.g. the admin token hash) ---
  getMeta(key: string): Promise<string | null>;
  /** Sets the key only if it is absent; returns the value now stored. */
  initMeta(key: string, value: string): Promise<string>;
  /** Sets the key whatever it held (rotating the admin token hash). */
  setMeta(key: string, value: string): Promise<void>;

  // --- jobs ---
  /** Creates a job in state `queued` with its first transition. Idempotent per (tenant, idempotencyKey). */
  createJob(job: NewJob): Promise<{ job: JobRecord; created: boolean }>;
  getJob(id: string): Promise<JobRecord | null>;
  listJobs(filter: JobFilter): Promise<JobRecord[]>;
  /**
   * The folded list: jobs outside arrays and arrays (each once, at its first task's seq), newest
   * first, paged by seq like `listJobs`. With `states`, an array is listed when at least one of its
   * tasks is in one of them. `arrayId` is not allowed here.
   */
  listJobEntries(filter: Omit<JobFilter, 'arrayId'>): Promise<JobListEntry[]>;
  /**
   * Creates an array and all its tasks (state `queued`, first transition each) in one transaction.
   * Idempotent per (tenant, idempotencyKey) among arrays: a repeated key returns the existing array.
   */
  createJobArray(a: NewJobArray): Promise<{ array: JobArrayRecord; created: boolean }>;
  getJobArray(id: string): Promise<JobArrayRecord | null>;
  /** Task counts of an array by state (states with no task absent). */
  countArrayTasks(arrayId: string): Promise<{ state: JobState; count: number }[]>;
  /** `countArrayTasks` for many arrays in one query (a page of folded arrays); arrays with no task absent. */
  countTasksOfArrays(arrayIds: readonly string[]): Promise<Map<string, { state: JobState; count: number }[]>>;
  /**
   * Cancels an array's unfinished tasks in one transaction: waiting ones (queued, requeued) end
   * `cancelled` at once, each with its transition; the others get `cancelRequestedAt` for the
   * engine to carry out. Returns how many of each.
   */
  cancelArrayTasks(
    arrayId: string,
    at: number,
    reason: string,
  ): Promise<{ cancelled: number; cancelRequested: number }>;
  /** Jobs in any of the given states, oldest submission first (the engine's working set). */
  jobsInStates(states: readonly JobState[]): Promise<JobRecord[]>;
  /**
   * Job counts by state (one GROUP BY, no job read), optionally for one tenant and some states,
   * with the oldest `queuedAt` of each state: what `/metrics` and the waiting-jobs limit need,
   * however long the queue is. States with no job are absent.
   */
  countJobsByState(filter?: {
    readonly tenant?: string;
    readonly states?: readonly JobState[];
  }): Promise<JobStateCount[]>;
  /**
   * Compare-and-set state change with its transition record, in one transaction.
   * Returns the updated job, or null if the job was not in state `from`.
   */
  transitionJob(
    id: string,
    from: JobState,
    to: JobState,
    at: number,
    reason: string,
    patch?: JobPatch,
  ): Promise<JobRecord | null>;
  /** Updates fields without a state change (compare-and-set on state as well). */
  patchJob(id: string, expectedState: JobState, patch: JobPatch): Promise<JobRecord | null>;
  /** Bulk update of pending verdicts from one scheduling cycle. */
  setPendingReasons(updates: readonly PendingUpdate[]): Promise<void>;
  listTransitions(jobId: string): Promise<TransitionRecord[]>;

  // --- inventory ---
  /** Replaces the discovered inventory of the given nodes, keeping operator overrides. */
  upsertNodes(nodes: readonly ClusterNode[], at: number): Promise<void>;
  listNodes(): Promise<StoredNode[]>;
  setNodeAdminState(
    name: string,
    state: NodeState | null,
    reason: string | null,
    at: number,
  ): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Identity, audit, usage (migration 2)
// ---------------------------------------------------------------------------------------------

/** The five roles. admin and operator are platform-wide; the others act within their tenant. */
export type Role = 'admin' | 'operator' | 'tenant-admin' | 'member' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'operator', 'tenant-admin', 'member', 'viewer'];

export interface TenantRecord {
  readonly name: string;
  readonly displayName: string;
  readonly createdAt: number;
}

export interface ProjectRecord {
  readonly tenant: string;
  readonly name: string;
  readonly createdAt: number;
}

export interface MembershipRecord {
  readonly tenant: string;
  readonly subject: string;
  readonly role: Role;
  readonly createdAt: number;
  /**
   * The existing Unix account this subject's jobs run as (the Slurm way: the user is the Unix
   * user); null: the tenant's own account. Set by an operator only (the API enforces who).
   *
   * In `setMembership`: undefined keeps the stored account (so a role change by a tenant admin
   * never drops an operator's mapping; a new membership starts with null), null clears it, a
   * name replaces it. Reads always return it, null when unset.
   */
  readonly unixUser?: string | null;
}

/** An API token as stored: only the salted hash of its secret, never the secret. */
export interface ApiTokenRecord {
  /** Public id, also the lookup key embedded in the token text (`sl_<id>.<secret>`). */
  readonly id: string;
  readonly hash: string;
  readonly subject: string;
  readonly tenant: string;
  readonly name: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** One audited request. Rows are only ever appended: the Store has no update or delete for them. */
export interface AuditEntry {
  readonly at: number;
  readonly subject: string | null;
  readonly tenant: string | null;
  readonly role: string | null;
  readonly method: string;
  /** The route pattern (`/api/v1/jobs/:id/cancel`), not the raw URL. */
  readonly route: string;
  /** The object acted on (a job id, a node name, a token id), when the route names one. */
  readonly target: string | null;
  readonly ip: string;
  readonly status: number;
  readonly errorCode: string | null;
  readonly requestId: string;
}
export interface AuditRecord extends AuditEntry {
  readonly seq: number;
}
export interface AuditFilter {
  readonly from?: number;
  readonly to?: number;
  readonly subject?: string;
  readonly tenant?: string;
  /** Entries with seq > afterSeq (oldest first). */
  readonly afterSeq?: number;
  readonly limit?: number;
}

/**
 * One interval of use: an attempt from its start (the `running` transition's time) to its end (the
 * time of the transition out of starting/running). Written by `transitionJob` itself, in the same
 * transaction as that transition, so it exists exactly once per attempt whatever crashes, retries
 * or preemptions happen around it. An attempt that never reached `running` has zero duration.
 */
export interface UsageRecord {
  readonly jobId: string;
  readonly attempt: number;
  readonly tenant: string;
  readonly project: string;
  /** The placed devices' type; several types of one gang are joined with `+`; `none` for CPU-only jobs. */
  readonly acceleratorType: string;
  readonly accelerators: number;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  /** The state the attempt ended in (succeeded, failed, lost, preempted, …). */
  readonly endState: string;
  /** Peak memory of the attempt in bytes (cgroup), null when the executor could not measure it. */
  readonly peakMemoryBytes?: number | null;
  /** CPU time of the attempt in ms (user + system), null when unknown. */
  readonly cpuTimeMs?: number | null;
}
export interface UsageFilter {
  /** Intervals overlapping [from, to). */
  readonly from: number;
  readonly to: number;
  readonly tenant?: string;
  readonly project?: string;
}

export interface BudgetRecord {
  readonly tenant: string;
  /** null for the tenant-wide budget. */
  readonly project: string | null;
  /** Accelerator-hours per calendar month (UTC). */
  readonly acceleratorHours: number;
  readonly updatedAt: number;
}

export interface PriceRecord {
  readonly acceleratorType: string;
  readonly perAcceleratorHour: number;
  readonly currency: string;
  readonly updatedAt: number;
}

/** The identity/audit/usage half of the Store (the `Store` interface extends it). */
export interface AccountingStore {
  /** false when the tenant exists already. */
  createTenant(t: TenantRecord): Promise<boolean>;
  getTenant(name: string): Promise<TenantRecord | null>;
  listTenants(): Promise<TenantRecord[]>;
  createProject(p: ProjectRecord): Promise<boolean>;
  getProject(tenant: string, name: string): Promise<ProjectRecord | null>;
  listProjects(tenant?: string): Promise<ProjectRecord[]>;
  /** Creates or changes the subject's role (and mapped Unix account, see `unixUser`) in the tenant. */
  setMembership(m: MembershipRecord): Promise<void>;
  getMembership(tenant: string, subject: string): Promise<MembershipRecord | null>;
  /** false when there was none. The subject's tokens in that tenant stop authenticating at once. */
  deleteMembership(tenant: string, subject: string): Promise<boolean>;
  listMemberships(tenant?: string): Promise<MembershipRecord[]>;

  createApiToken(t: ApiTokenRecord): Promise<void>;
  getApiToken(id: string): Promise<ApiTokenRecord | null>;
  listApiTokens(filter: { tenant?: string; subject?: string }): Promise<ApiTokenRecord[]>;
  /** Sets revokedAt once; false when unknown or already revoked. */
  revokeApiToken(id: string, at: number): Promise<boolean>;

  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(filter: AuditFilter): Promise<AuditRecord[]>;

  /** Ledger rows whose interval overlaps [from, to), oldest end first. */
  listUsage(filter: UsageFilter): Promise<UsageRecord[]>;
  /**
   * One job's ledger rows (its ended attempts, with what each used), attempt order. An attempt
   * still starting or running has no row yet.
   */
  listJobAttempts(jobId: string): Promise<UsageRecord[]>;

  setBudget(b: BudgetRecord): Promise<void>;
  deleteBudget(tenant: string, project: string | null): Promise<boolean>;
  listBudgets(tenant?: string): Promise<BudgetRecord[]>;
  setPrice(p: PriceRecord): Promise<void>;
  listPrices(): Promise<PriceRecord[]>;
}
