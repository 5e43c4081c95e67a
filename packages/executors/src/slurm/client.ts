/**
 * A small client for slurmrestd's REST API, pinned to OpenAPI version `v0.0.38`.
 *
 * Why v0.0.38: Slurm 22.05 serves v0.0.36, v0.0.37 and v0.0.38 of the `slurm` API; v0.0.38 is the
 * newest it has, the one whose job records carry `gres_detail` (which device indices Slurm chose)
 * and `comment`. The `dbv0.0.38` (accounting) API needs slurmdbd, which many small clusters do not
 * run, so nothing here uses it. Newer Slurm releases (23.02+) still serve v0.0.38 for a while; a
 * different version would need its own field mapping, hence the pin instead of "latest".
 *
 * Only what the executor needs is typed, and every field is optional because slurmrestd omits or
 * nulls fields freely. Slurm errors arrive as HTTP 500 (sometimes 400) with an `errors[]` body,
 * and a bad token at slurmctld is a 500 too: `request` always parses the body and throws
 * `SlurmApiError` carrying Slurm's own error numbers and messages.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';

export const SLURM_API_VERSION = 'v0.0.38';

/** Slurm error numbers the executor reacts to (slurm/slurm_errno.h). */
export const SLURM_ERRNO = {
  /** ESLURM_INVALID_JOB_ID: the job is unknown (never existed, or purged after MinJobAge). */
  invalidJobId: 2017,
  /** ESLURM_TRANSITION_STATE_NO_UPDATE: the job is changing state (e.g. held, completing); retry. */
  transitionState: 2020,
  /** ESLURM_ALREADY_DONE: the job already finished. */
  alreadyDone: 2021,
} as const;

export interface SlurmError {
  readonly error?: string;
  readonly error_number?: number;
  readonly error_code?: number;
  /** Some handlers (e.g. GET /nodes with a token slurmctld rejects) report `errno` instead. */
  readonly errno?: number;
  readonly description?: string;
  readonly source?: string;
}

function errorNumber(e: SlurmError): number | undefined {
  return e.error_number ?? e.error_code ?? e.errno;
}

export class SlurmApiError extends Error {
  override readonly name = 'SlurmApiError';
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly errors: readonly SlurmError[],
    /** The parsed response body, when there was one. */
    readonly body: unknown = null,
  ) {
    super(message);
  }
  /** Slurm's error numbers (`error_number` or `error_code`) in this response. */
  get codes(): number[] {
    return this.errors.map((e) => errorNumber(e) ?? -1);
  }
  has(code: number): boolean {
    return this.codes.includes(code);
  }
}

/** `GET /nodes` entry (fields used here). */
export interface SlurmNode {
  readonly name: string;
  readonly address?: string;
  readonly hostname?: string;
  /** Base state, lower-case: idle, mixed, allocated, down, error, future, unknown. */
  readonly state?: string;
  /** Upper-case flags: DRAIN, DRAINING, DRAINED, NOT_RESPONDING, FAIL, MAINTENANCE, POWERED_DOWN, ... */
  readonly state_flags?: readonly string[];
  readonly reason?: string;
  readonly gres?: string;
  readonly gres_used?: string;
  readonly features?: string;
  readonly active_features?: string;
  readonly partitions?: readonly string[];
  readonly cpus?: number;
  readonly real_memory?: number;
}

export interface SlurmAllocatedNode {
  readonly nodename?: string;
  readonly memory_allocated?: number;
  readonly sockets?: Record<string, { cores?: Record<string, string> }>;
}

/** `GET /jobs` entry (fields used here). Times are epoch seconds, 0 when unset. */
export interface SlurmJob {
  readonly job_id: number;
  readonly name?: string;
  readonly comment?: string;
  /** PENDING, RUNNING, SUSPENDED, COMPLETING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, OUT_OF_MEMORY, REQUEUED, ... */
  readonly job_state?: string;
  readonly state_reason?: string;
  /** The wait status of the batch script: exit code << 8 | signal. */
  readonly exit_code?: number;
  /** The largest wait status of the job's steps; a step the cgroup OOM killer hit shows 253 (SIG_OOM). */
  readonly derived_exit_code?: number;
  /** Owner of the job (the user it runs as); the job's owner cannot change it, unlike comment and name. */
  readonly user_id?: number;
  readonly nodes?: string;
  readonly batch_host?: string;
  readonly gres_detail?: readonly string[];
  readonly job_resources?: {
    readonly nodes?: string;
    readonly allocated_nodes?: readonly SlurmAllocatedNode[];
  };
  readonly start_time?: number;
  readonly end_time?: number;
  readonly submit_time?: number;
  /** Minutes; a huge number or null when unlimited. */
  readonly time_limit?: number | null;
  readonly restart_cnt?: number;
  readonly user_name?: string;
  readonly partition?: string;
  readonly standard_output?: string;
  readonly standard_error?: string;
  readonly cpus?: number;
  readonly memory_per_node?: number | null;
  readonly memory_per_cpu?: number | null;
}

/** The job description accepted by `POST /job/submit` (the fields this executor sets). */
export interface SlurmJobDescription {
  name: string;
  comment?: string;
  partition?: string;
  account?: string;
  /**
   * Node names the job must run on, comma-separated. Not in the published v0.0.38 schema (where
   * `required_nodes` is a "disabled key"), but 22.05's parser accepts `nodelist` and sets the
   * job's ReqNodeList: verified against 22.05.8.
   */
  nodelist?: string;
  /** An integer or "min-max" string; the array form of the schema silently gives a 1-node job. */
  nodes?: number | string;
  tasks?: number;
  tasks_per_node?: number;
  cpus_per_task?: number;
  memory_per_node?: number;
  memory_per_cpu?: number;
  gres?: string;
  time_limit?: number;
  requeue?: boolean;
  hold?: boolean;
  current_working_directory: string;
  standard_output?: string;
  standard_error?: string;
  /** Mandatory in v0.0.38 (HTTP 400 "environment must be set" otherwise). */
  environment: Record<string, string>;
}

export type SlurmAuth =
  | {
      readonly kind: 'jwt-key';
      readonly user: string;
      readonly keyFile: string;
      readonly lifespanSeconds: number;
    }
  | { readonly kind: 'token'; readonly user: string; readonly token: string }
  /** slurmrestd on a UNIX socket with rest_auth/local: no token, the caller's uid is trusted. */
  | { readonly kind: 'local' };

export interface SlurmClientOptions {
  /** `http://host:6820`, `https://…`, or `unix:/path/to/slurmrestd.sock`. */
  readonly url: string;
  readonly auth: SlurmAuth;
  /** Per-request timeout. */
  readonly requestTimeoutMs: number;
  /** Clock for token minting (epoch ms); a parameter so tests can pin it. */
  readonly now?: () => number;
}

/** Mints an HS256 JWT as `scontrol token` does: claims `exp`, `iat`, `sun` (the Slurm user name). */
export function mintSlurmJwt(key: Buffer, user: string, lifespanSeconds: number, nowMs: number): string {
  const b64u = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(nowMs / 1000);
  const head = b64u({ alg: 'HS256', typ: 'JWT' });
  const body = b64u({ exp: iat + lifespanSeconds, iat, sun: user });
  const sig = createHmac('sha256', key).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

export class SlurmRestClient {
  private readonly base: URL | null;
  private readonly socketPath: string | null;
  private readonly agent: http.Agent;
  private token: { value: string; refreshAtMs: number } | null = null;
  private key: Buffer | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: SlurmClientOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.url.startsWith('unix:')) {
      this.socketPath = opts.url.slice('unix:'.length);
      this.base = null;
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    } else {
      this.base = new URL(opts.url);
      this.socketPath = null;
      this.agent =
        this.base.protocol === 'https:'
          ? new https.Agent({ keepAlive: true, maxSockets: 8 })
          : new http.Agent({ keepAlive: true, maxSockets: 8 });
    }
  }

  /**
   * `asUser`: act as this Slurm user (`X-SLURM-USER-NAME`) with the platform's own token. Slurm
   * 22.05's auth/jwt accepts that only when the token belongs to root or SlurmUser (slurmctld logs
   * "attempt to authenticate as alternate user" and fails the request otherwise).
   */
  private authHeaders(asUser?: string): Record<string, string> {
    const a = this.opts.auth;
    if (a.kind === 'local') return {};
    if (a.kind === 'token') return { 'X-SLURM-USER-NAME': asUser ?? a.user, 'X-SLURM-USER-TOKEN': a.token };
    const now = this.now();
    if (this.token === null || now >= this.token.refreshAtMs) {
      this.key ??= readFileSync(a.keyFile);
      // Refresh at half the lifespan so a token never expires in flight.
      this.token = {
        value: mintSlurmJwt(this.key, a.user, a.lifespanSeconds, now),
        refreshAtMs: now + (a.lifespanSeconds * 1000) / 2,
      };
    }
    return { 'X-SLURM-USER-NAME': asUser ?? a.user, 'X-SLURM-USER-TOKEN': this.token.value };
  }

  /** Whether requests can name another user (JWT auth); rest_auth/local runs everything as slurmrestd's user. */
  get canActAsUser(): boolean {
    return this.opts.auth.kind !== 'local';
  }

  /** One request to `/slurm/v0.0.38<path>`; returns the parsed body or throws `SlurmApiError`. */
  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    asUser?: string,
  ): Promise<T> {
    const fullPath = `/slurm/${SLURM_API_VERSION}${path}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: 'application/json', ...this.authHeaders(asUser) };
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const reqOpts: http.RequestOptions =
      this.socketPath !== null
        ? { socketPath: this.socketPath, path: fullPath, method, headers, agent: this.agent }
        : {
            protocol: this.base!.protocol,
            hostname: this.base!.hostname,
            port: this.base!.port,
            path: this.base!.pathname.replace(/\/$/, '') + fullPath,
            method,
            headers,
            agent: this.agent,
          };
    const mod = this.base?.protocol === 'https:' ? https : http;
    // A kept-alive socket that slurmrestd closed while idle fails the next request on it with
    // ECONNRESET before the request was read: that request is sent once more on a new socket (as
    // Node's http documentation advises; nothing reached slurmrestd, so nothing is done twice).
    const send = (retried: boolean): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = mod.request(reqOpts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        });
        req.setTimeout(this.opts.requestTimeoutMs, () =>
          req.destroy(
            new Error(
              `slurmrestd did not answer ${method} ${fullPath} within ${this.opts.requestTimeoutMs} ms`,
            ),
          ),
        );
        req.on('error', (e: NodeJS.ErrnoException) => {
          if (!retried && req.reusedSocket && e.code === 'ECONNRESET') resolve(send(true));
          else reject(new SlurmApiError(`cannot reach slurmrestd at ${this.opts.url}: ${e.message}`, 0, []));
        });
        if (payload !== undefined) req.write(payload);
        req.end();
      });
    const { status, text } = await send(false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // e.g. 401 "Authentication failure", "Unable to parse query."
      throw new SlurmApiError(
        `slurmrestd ${method} ${fullPath}: HTTP ${status}: ${text.trim().slice(0, 200)}`,
        status,
        [],
      );
    }
    const errors = ((parsed as { errors?: SlurmError[] }).errors ?? []).filter(
      (e) => e && (errorNumber(e) ?? 0) !== 0,
    );
    if (status >= 400 || errors.length > 0) {
      let msg =
        errors.map((e) => `${e.description ?? e.error ?? 'error'} (${errorNumber(e) ?? '?'})`).join('; ') ||
        `HTTP ${status}`;
      // slurmctld rejecting a token surfaces as a bare 500: "Unspecified error" (-1), or
      // "slurmctld config is unable to load" on job submission.
      if (status === 500 && errors.every((e) => errorNumber(e) === -1))
        msg +=
          ' (if every request fails like this, slurmctld is probably rejecting the token: check the JWT key, the user name and the clock)';
      throw new SlurmApiError(`slurmrestd ${method} ${fullPath}: ${msg}`, status, errors, parsed);
    }
    return parsed as T;
  }

  async ping(): Promise<void> {
    await this.request('GET', '/ping');
  }
  async nodes(): Promise<SlurmNode[]> {
    return (await this.request<{ nodes?: SlurmNode[] }>('GET', '/nodes')).nodes ?? [];
  }
  async jobs(): Promise<SlurmJob[]> {
    return (await this.request<{ jobs?: SlurmJob[] }>('GET', '/jobs')).jobs ?? [];
  }
  /** One job, or null when Slurm does not know the id (any more). */
  async job(id: number): Promise<SlurmJob | null> {
    try {
      return (await this.request<{ jobs?: SlurmJob[] }>('GET', `/job/${id}`)).jobs?.[0] ?? null;
    } catch (e) {
      if (e instanceof SlurmApiError && e.has(SLURM_ERRNO.invalidJobId)) return null;
      throw e;
    }
  }
  /** Submits a batch job; `asUser`: the job's owner, the user it runs as (JWT auth only, see authHeaders). */
  async submit(script: string, job: SlurmJobDescription, asUser?: string): Promise<number> {
    let r: { job_id?: number };
    try {
      r = await this.request<{ job_id?: number }>('POST', '/job/submit', { script, job }, asUser);
    } catch (e) {
      // A held job is accepted with error 2042 "Job is in held state, pending scheduler release"
      // next to its job_id: an accepted submission, not a failure.
      const id =
        e instanceof SlurmApiError && e.httpStatus === 200
          ? (e.body as { job_id?: unknown } | null)?.job_id
          : undefined;
      if (typeof id === 'number' && id > 0) return id;
      throw e;
    }
    if (typeof r.job_id !== 'number')
      throw new SlurmApiError('slurmrestd accepted the job but returned no job_id', 200, []);
    return r.job_id;
  }
  /**
   * Signals a job (`scancel --signal`). Without a signal Slurm kills the whole job (SIGKILL to
   * every step, state CANCELLED). With a signal, v0.0.38 delivers it to the batch step only; the
   * executor's batch script forwards SIGTERM to the task step (see script.ts).
   */
  async signal(id: number, signal?: NodeJS.Signals): Promise<void> {
    await this.request('DELETE', signal === undefined ? `/job/${id}` : `/job/${id}?signal=${signal}`);
  }
  close(): void {
    this.agent.destroy();
  }
}
