/**
 * The typed HTTP client: the only way the CLI and the console reach the server. Wire types come
 * from @suanli/schemas (type-only import), the package the server validates with, so client and
 * server cannot drift apart silently, and the client loads nothing of the server at run time.
 * Uses the global `fetch`, so it runs in Node 20 and in browsers alike.
 */
import type {
  AuditList,
  BookingCreate,
  BookingList,
  BookingSettingsView,
  BookingUsageReport,
  BookingView,
  BudgetList,
  BudgetView,
  CapacityAnswerView,
  ErrorBody,
  Health,
  Invoice,
  JobArrayView,
  JobList,
  JobView,
  MemberList,
  MemberView,
  NodeList,
  NodeView,
  PriceList,
  PriceView,
  ProjectList,
  ProjectView,
  TenantList,
  TenantView,
  TokenCreated,
  TokenList,
  TokenView,
  UsageReport,
  WhoAmI,
} from '@suanli/schemas';

// Every wire type is part of the client's public surface.
export type * from '@suanli/schemas';

/** Time-window and scope of usage reports; times are ISO-8601 or epoch ms. */
export interface UsageQuery {
  from?: string;
  to?: string;
  tenant?: string;
  groupBy?: 'tenant' | 'project' | 'type' | 'job';
}

export interface AuditQuery {
  from?: string;
  to?: string;
  subject?: string;
  tenant?: string;
  after?: number;
  limit?: number;
}

function queryString(q: object): string {
  const parts = Object.entries(q)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8470 */
  readonly url: string;
  readonly token?: string;
  /** Per-request timeout. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** An error answered by the server (4xx/5xx with a coded body) or a transport failure (`code` NETWORK). */
export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiClientError';
  }
}

export interface TenantQuotaView {
  name: string;
  weight: number;
  cohort: string | null;
  quotas: Record<string, { guaranteed: number; borrowingLimit: number | null; lendingLimit: number | null }>;
  projects: Record<string, Record<string, number>>;
  running: Record<string, number>;
}

export interface LogChunk {
  data: string;
  offset: number;
  nextOffset: number;
  size: number;
  attempt: number;
  finished: boolean;
  /** The merged log of a gang (lines prefixed `[rank]`): pass back to go on. */
  cursor?: string;
}

export interface ListJobsQuery {
  state?: string[];
  project?: string;
  tenant?: string;
  submittedBy?: string;
  /** Only the tasks of this job array. */
  array?: string;
  /** Fold each job array into one entry (`entries`). */
  fold?: boolean;
  limit?: number;
  /** nextCursor of the previous page. */
  cursor?: string;
  /** Deprecated: use cursor. */
  before?: number;
}

export class SuanliClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private async request<T>(
    method: string,
    path: string,
    init: { body?: unknown; rawBody?: string; contentType?: string; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.opts.token) headers['authorization'] = `Bearer ${this.opts.token}`;
    let body: string | undefined;
    if (init.rawBody !== undefined) {
      body = init.rawBody;
      headers['content-type'] = init.contentType ?? 'application/json';
    } else if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new ApiClientError(
        0,
        'NETWORK',
        `cannot reach the suanli server at ${this.base}: ${(err as Error).message} (is it running? set SUANLI_URL)`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (e.g. a proxy's HTML error page): reported below with the raw text.
    }
    if (!res.ok) {
      const e = (parsed as ErrorBody | undefined)?.error;
      throw new ApiClientError(
        res.status,
        e?.code ?? 'HTTP_' + res.status,
        e?.message ?? (text || res.statusText),
        e?.details ?? [],
      );
    }
    return parsed as T;
  }

  health(): Promise<Health> {
    return this.request('GET', '/healthz');
  }

  whoami(): Promise<WhoAmI> {
    return this.request('GET', '/api/v1/whoami');
  }

  /**
   * Submits a spec given as an object (JSON) or as YAML text: a job, or a job array when the spec
   * has `array` or `opts.array` is given (which overrides it).
   */
  submit(
    spec: unknown,
    opts: { idempotencyKey?: string; yaml?: string; array?: string } = {},
  ): Promise<JobView | JobArrayView> {
    const headers: Record<string, string> = opts.idempotencyKey
      ? { 'idempotency-key': opts.idempotencyKey }
      : {};
    const path =
      '/api/v1/jobs' + (opts.array !== undefined ? `?array=${encodeURIComponent(opts.array)}` : '');
    if (opts.yaml !== undefined)
      return this.request('POST', path, {
        rawBody: opts.yaml,
        contentType: 'application/yaml',
        headers,
      });
    return this.request('POST', path, { body: spec, headers });
  }

  /** Submits one job (a spec without `array`; use `submit` for arrays). */
  async submitJob(spec: unknown, opts: { idempotencyKey?: string; yaml?: string } = {}): Promise<JobView> {
    const r = await this.submit(spec, opts);
    if ('kind' in r) throw new Error(`the spec made job array ${r.id}, not one job: submit it with submit()`);
    return r;
  }

  getArray(id: string, q: { state?: string[]; limit?: number; cursor?: string } = {}): Promise<JobArrayView> {
    const p = new URLSearchParams();
    for (const s of q.state ?? []) p.append('state', s);
    if (q.limit) p.set('limit', String(q.limit));
    if (q.cursor) p.set('cursor', q.cursor);
    const qs = p.toString();
    return this.request('GET', `/api/v1/job-arrays/${encodeURIComponent(id)}` + (qs ? `?${qs}` : ''));
  }

  cancelArray(id: string): Promise<JobArrayView> {
    return this.request('POST', `/api/v1/job-arrays/${encodeURIComponent(id)}/cancel`);
  }

  listJobs(q: ListJobsQuery = {}): Promise<JobList> {
    const p = new URLSearchParams();
    for (const s of q.state ?? []) p.append('state', s);
    if (q.project) p.set('project', q.project);
    if (q.tenant) p.set('tenant', q.tenant);
    if (q.submittedBy) p.set('submittedBy', q.submittedBy);
    if (q.array) p.set('array', q.array);
    if (q.fold) p.set('fold', 'true');
    if (q.limit) p.set('limit', String(q.limit));
    if (q.cursor) p.set('cursor', q.cursor);
    if (q.before) p.set('before', String(q.before));
    const qs = p.toString();
    return this.request('GET', '/api/v1/jobs' + (qs ? `?${qs}` : ''));
  }

  getJob(id: string): Promise<JobView> {
    return this.request('GET', `/api/v1/jobs/${encodeURIComponent(id)}`);
  }

  cancelJob(id: string): Promise<JobView> {
    return this.request('POST', `/api/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  readLogs(
    id: string,
    q: {
      stream?: 'stdout' | 'stderr';
      attempt?: number;
      replica?: number;
      cursor?: string;
      offset?: number;
      limit?: number;
    } = {},
  ): Promise<LogChunk> {
    const p = new URLSearchParams();
    if (q.stream) p.set('stream', q.stream);
    if (q.attempt) p.set('attempt', String(q.attempt));
    if (q.replica !== undefined) p.set('replica', String(q.replica));
    if (q.cursor) p.set('cursor', q.cursor);
    if (q.offset) p.set('offset', String(q.offset));
    if (q.limit) p.set('limit', String(q.limit));
    const qs = p.toString();
    return this.request('GET', `/api/v1/jobs/${encodeURIComponent(id)}/logs` + (qs ? `?${qs}` : ''));
  }

  /**
   * Follows a log until the attempt finishes, yielding chunks as they appear. Polls every
   * `intervalMs`; bounded by `maxPolls` so a caller can never spin forever by mistake.
   */
  async *followLogs(
    id: string,
    q: {
      stream?: 'stdout' | 'stderr';
      attempt?: number;
      replica?: number;
      intervalMs?: number;
      maxPolls?: number;
    } = {},
  ): AsyncGenerator<string> {
    let offset = 0;
    let cursor: string | undefined;
    const interval = q.intervalMs ?? 500;
    const maxPolls = q.maxPolls ?? 7 * 24 * 3600 * 2;
    for (let i = 0; i < maxPolls; i++) {
      let chunk: LogChunk;
      try {
        chunk = await this.readLogs(id, {
          ...(q.stream ? { stream: q.stream } : {}),
          ...(q.attempt ? { attempt: q.attempt } : {}),
          ...(q.replica !== undefined ? { replica: q.replica } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
          offset,
        });
      } catch (err) {
        if (err instanceof ApiClientError && err.code === 'LOG_NOT_FOUND') {
          await new Promise((r) => setTimeout(r, interval));
          continue;
        }
        throw err;
      }
      if (chunk.data) yield chunk.data;
      offset = chunk.nextOffset;
      cursor = chunk.cursor;
      if (chunk.finished && offset >= chunk.size) return;
      if (chunk.nextOffset >= chunk.size) await new Promise((r) => setTimeout(r, interval));
    }
  }

  listNodes(): Promise<NodeList> {
    return this.request('GET', '/api/v1/nodes');
  }

  /** The scheduling policy in force: the stored document (YAML) and the compiled form. */
  getPolicy(): Promise<{ document: string; policy: unknown }> {
    return this.request('GET', '/api/v1/policy');
  }

  /** Replaces the policy with a YAML (or JSON) document; refused with POLICY_INVALID if it has errors. */
  putPolicy(document: string): Promise<{ document: string; policy: unknown }> {
    return this.request('PUT', '/api/v1/policy', { rawBody: document, contentType: 'application/yaml' });
  }

  listTenants(): Promise<{ tenants: TenantQuotaView[] }> {
    return this.request('GET', '/api/v1/tenants');
  }

  drainNode(name: string, reason?: string): Promise<NodeView> {
    return this.request('POST', `/api/v1/nodes/${encodeURIComponent(name)}/drain`, {
      body: reason ? { reason } : {},
    });
  }

  undrainNode(name: string): Promise<NodeView> {
    return this.request('POST', `/api/v1/nodes/${encodeURIComponent(name)}/undrain`, { body: {} });
  }

  // --- identity: orgs (tenants), projects, members, API tokens ---

  listOrgs(): Promise<TenantList> {
    return this.request('GET', '/api/v1/orgs');
  }

  createOrg(name: string, displayName?: string): Promise<TenantView> {
    return this.request('POST', '/api/v1/orgs', { body: { name, ...(displayName ? { displayName } : {}) } });
  }

  listProjects(org: string): Promise<ProjectList> {
    return this.request('GET', `/api/v1/orgs/${encodeURIComponent(org)}/projects`);
  }

  createProject(org: string, name: string): Promise<ProjectView> {
    return this.request('POST', `/api/v1/orgs/${encodeURIComponent(org)}/projects`, { body: { name } });
  }

  listMembers(org: string): Promise<MemberList> {
    return this.request('GET', `/api/v1/orgs/${encodeURIComponent(org)}/members`);
  }

  /**
   * Adds a member or changes their role. `unixUser` (operators and admins): a name maps the
   * member's jobs to that Unix account, null returns them to the tenant's account, absent keeps
   * whatever is set.
   */
  setMember(
    org: string,
    subject: string,
    role: MemberView['role'],
    options: { unixUser?: string | null } = {},
  ): Promise<MemberView> {
    return this.request(
      'PUT',
      `/api/v1/orgs/${encodeURIComponent(org)}/members/${encodeURIComponent(subject)}`,
      {
        body: { role, ...(options.unixUser !== undefined ? { unixUser: options.unixUser } : {}) },
      },
    );
  }

  async removeMember(org: string, subject: string): Promise<void> {
    await this.request(
      'DELETE',
      `/api/v1/orgs/${encodeURIComponent(org)}/members/${encodeURIComponent(subject)}`,
    );
  }

  listTokens(tenant?: string): Promise<TokenList> {
    return this.request('GET', `/api/v1/tokens${queryString({ tenant })}`);
  }

  /** The answer holds the token's secret: the only time it is ever shown. */
  createToken(opts: {
    name: string;
    subject?: string;
    tenant?: string;
    expiresInSeconds?: number;
  }): Promise<TokenCreated> {
    return this.request('POST', '/api/v1/tokens', { body: opts });
  }

  revokeToken(id: string): Promise<TokenView> {
    return this.request('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
  }

  // --- audit, usage, budgets, prices ---

  listAudit(q: AuditQuery = {}): Promise<AuditList> {
    return this.request('GET', `/api/v1/audit${queryString(q)}`);
  }

  /** The audit log as JSON lines or CSV text. */
  exportAudit(q: AuditQuery, format: 'jsonl' | 'csv'): Promise<string> {
    return this.requestText(`/api/v1/audit${queryString({ ...q, format })}`);
  }

  usage(q: UsageQuery = {}): Promise<UsageReport> {
    return this.request('GET', `/api/v1/usage${queryString(q)}`);
  }

  usageCsv(q: UsageQuery = {}): Promise<string> {
    return this.requestText(`/api/v1/usage${queryString({ ...q, format: 'csv' })}`);
  }

  invoice(q: Omit<UsageQuery, 'groupBy'> = {}): Promise<Invoice> {
    return this.request('GET', `/api/v1/usage/invoice${queryString(q)}`);
  }

  invoiceCsv(q: Omit<UsageQuery, 'groupBy'> = {}): Promise<string> {
    return this.requestText(`/api/v1/usage/invoice${queryString({ ...q, format: 'csv' })}`);
  }

  listBudgets(tenant?: string): Promise<BudgetList> {
    return this.request('GET', `/api/v1/budgets${queryString({ tenant })}`);
  }

  setBudget(b: { tenant: string; project?: string; acceleratorHours: number }): Promise<BudgetView> {
    return this.request('PUT', '/api/v1/budgets', { body: b });
  }

  async deleteBudget(tenant: string, project?: string): Promise<void> {
    await this.request('DELETE', `/api/v1/budgets${queryString({ tenant, project })}`);
  }

  listPrices(): Promise<PriceList> {
    return this.request('GET', '/api/v1/prices');
  }

  setPrice(acceleratorType: string, perAcceleratorHour: number, currency: string): Promise<PriceView> {
    return this.request('PUT', `/api/v1/prices/${encodeURIComponent(acceleratorType)}`, {
      body: { perAcceleratorHour, currency },
    });
  }

  /** GET returning text (CSV, JSON lines); errors are parsed like every other answer. */
  private async requestText(path: string): Promise<string> {
    const headers: Record<string, string> = {};
    if (this.opts.token) headers['authorization'] = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        headers,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new ApiClientError(
        0,
        'NETWORK',
        `cannot reach the suanli server at ${this.base}: ${(err as Error).message}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let e: ErrorBody['error'] | undefined;
      try {
        e = (JSON.parse(text) as ErrorBody).error;
      } catch {
        // not JSON
      }
      throw new ApiClientError(
        res.status,
        e?.code ?? 'HTTP_' + res.status,
        e?.message ?? text,
        e?.details ?? [],
      );
    }
    return text;
  }

  // --- bookings (算力预约) ---

  /** Books accelerators ahead; 201 with the booking (approved, or requested when approval is required). */
  createBooking(b: BookingCreate): Promise<BookingView> {
    return this.request('POST', '/api/v1/bookings', { body: b });
  }

  /** Bookings not yet ended (`past`: also ended ones) of the caller's tenant, or of `tenant`. */
  listBookings(q: { tenant?: string; past?: boolean } = {}): Promise<BookingList> {
    return this.request('GET', `/api/v1/bookings${queryString(q)}`);
  }

  getBooking(id: string): Promise<BookingView> {
    return this.request('GET', `/api/v1/bookings/${encodeURIComponent(id)}`);
  }

  /** Cancels, approves (operators) or rejects (operators) a booking. */
  decideBooking(id: string, action: 'cancel' | 'approve' | 'reject', reason?: string): Promise<BookingView> {
    return this.request('POST', `/api/v1/bookings/${encodeURIComponent(id)}/${action}`, {
      body: reason === undefined ? {} : { reason },
    });
  }

  /** "When can I get N accelerators of a type for a duration?" */
  capacity(q: {
    type: string;
    accelerators: number;
    durationSeconds: number;
    notBefore?: string;
  }): Promise<CapacityAnswerView> {
    return this.request('GET', `/api/v1/capacity${queryString(q)}`);
  }

  /** Booked versus used per booking over [from, to), charged per `charge` (booked by default). */
  bookingUsage(
    q: { from?: string; to?: string; tenant?: string; charge?: 'booked' | 'used' } = {},
  ): Promise<BookingUsageReport> {
    return this.request('GET', `/api/v1/bookings/usage${queryString(q)}`);
  }

  setBookingSettings(
    tenant: string,
    s: {
      requireApproval: boolean;
      maxBookedAcceleratorHours?: number | null;
      maxAcceleratorsPerBooking?: number | null;
    },
  ): Promise<BookingSettingsView> {
    return this.request('PUT', `/api/v1/booking-settings/${encodeURIComponent(tenant)}`, { body: s });
  }
}
