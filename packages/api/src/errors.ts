/**
 * The one registry of coded errors. Every error the API returns has a stable `code` from this
 * table, an HTTP status, and a message that says what to fix. User errors (4xx) are kept apart
 * from platform errors (5xx). `docs/errors.md` documents every code; a test keeps the two in step.
 *
 * Wire form: `{ "error": { "code": "JOB_SPEC_INVALID", "message": "…", "details": [{ "path", "message" }] } }`
 */
export const ERRORS = {
  // 400: the request itself is malformed
  REQUEST_INVALID: {
    status: 400,
    summary: 'The request does not match the API schema (path, query, headers or body).',
  },
  BODY_MALFORMED: { status: 400, summary: 'The body is not valid JSON (or YAML where accepted).' },
  JOB_SPEC_INVALID: {
    status: 400,
    summary: 'The job spec has errors; `details` lists each field and what to fix.',
  },
  JOB_ARRAY_INVALID: {
    status: 400,
    summary: 'The array expression (`array:` or `--array`) is malformed or names too many tasks.',
  },
  POLICY_INVALID: {
    status: 400,
    summary: 'The policy document has errors; `details` lists each field and what to fix.',
  },
  BUDGET_NEEDS_TIME_LIMIT: {
    status: 400,
    summary: 'A budget applies to this tenant or project, so the job must set a time limit.',
  },
  BOOKING_INVALID: {
    status: 400,
    summary: 'The booking has errors (window, time zone, recurrence); `details` lists each field.',
  },
  UNIX_USER_FORBIDDEN: {
    status: 400,
    summary: 'Jobs may not run as this Unix account: it is root or has uid 0 (a superuser).',
  },
  // 401/402/403: identity, budget and permission
  UNAUTHENTICATED: {
    status: 401,
    summary: 'No valid API token was presented (Authorization: Bearer <token>).',
  },
  BUDGET_EXCEEDED: {
    status: 402,
    summary: 'The job would take the tenant or project over its monthly accelerator-hour budget.',
  },
  FORBIDDEN: { status: 403, summary: 'The token is valid but its role may not perform this action.' },
  UNIX_USER_OPERATOR_ONLY: {
    status: 403,
    summary: 'Only an operator or admin may choose the Unix account a member’s jobs run as.',
  },
  // 404: not found (also used for other tenants' objects, so ids do not leak)
  ROUTE_NOT_FOUND: { status: 404, summary: 'No such API route.' },
  BOOKING_NOT_FOUND: { status: 404, summary: 'No booking with this id is visible to you.' },
  JOB_NOT_FOUND: { status: 404, summary: 'No job with this id is visible to you.' },
  NODE_NOT_FOUND: { status: 404, summary: 'No node with this name.' },
  TENANT_NOT_FOUND: { status: 404, summary: 'No tenant with this name is visible to you.' },
  PROJECT_NOT_FOUND: { status: 404, summary: 'The tenant has no project with this name.' },
  MEMBER_NOT_FOUND: { status: 404, summary: 'The subject is not a member of this tenant.' },
  TOKEN_NOT_FOUND: { status: 404, summary: 'No API token with this id is visible to you.' },
  BUDGET_NOT_FOUND: { status: 404, summary: 'No budget is set for this tenant or project.' },
  LOG_NOT_FOUND: { status: 404, summary: 'The job has no log for this attempt and stream yet.' },
  // 409: conflicts with the current state
  JOB_ALREADY_FINISHED: { status: 409, summary: 'The job has already finished; it cannot be cancelled.' },
  LOG_UNSAFE: {
    status: 409,
    summary:
      'The log file was replaced by something the server will not read (a link, not a regular file, another owner).',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 409,
    summary: 'This Idempotency-Key was used before with a different job spec.',
  },
  BOOKING_NO_CAPACITY: {
    status: 409,
    summary:
      'The accelerators are not free for the whole window (bookings, maintenance or running jobs hold them).',
  },
  BOOKING_QUOTA_EXCEEDED: {
    status: 409,
    summary:
      "The booking would exceed the tenant's booking quota (accelerator-hours held ahead, or accelerators per booking).",
  },
  ALREADY_EXISTS: { status: 409, summary: 'An object with this name exists already.' },
  STATE_CONFLICT: { status: 409, summary: 'The object changed concurrently; retry the request.' },
  // 405/413/415/429
  METHOD_NOT_ALLOWED: { status: 405, summary: 'The route exists but not with this HTTP method.' },
  PAYLOAD_TOO_LARGE: { status: 413, summary: 'The body exceeds the size limit.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    summary: 'Send application/json (or application/yaml for job specs).',
  },
  RATE_LIMITED: {
    status: 429,
    summary:
      'Too many requests from this subject (or its tenant, or this address); retry after the time in Retry-After.',
  },
  TOO_MANY_WAITING_JOBS: {
    status: 429,
    summary:
      "The tenant has as many jobs waiting as it may (the policy's maxWaitingJobs, default 10,000); wait, cancel some, or ask an operator to raise it.",
  },
  TOO_MANY_TOKENS: {
    status: 409,
    summary:
      'The subject has as many live API tokens as it may (default 20); revoke unused ones (suanli token revoke) first.',
  },
  // 5xx: the platform's fault, never the user's
  INTERNAL: {
    status: 500,
    summary: 'An unexpected platform error; the server log has the details under the request id.',
  },
  STORE_UNAVAILABLE: { status: 503, summary: 'The database cannot be reached; retry later.' },
  STORAGE_FULL: {
    status: 507,
    summary:
      'The platform cannot store the request now: the disk of its database (or data directory) is full. Nothing was stored; retry after the time in Retry-After.',
  },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: readonly ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERRORS[code].status;
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: readonly ErrorDetail[] } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}
