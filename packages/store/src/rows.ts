/**
 * Rows ↔ records. The only place that knows how a JobRecord is laid out in columns: JSON text for
 * the spec, the placement and node data; epoch-ms integers for times (`Number()` guards against a
 * driver that hands back int8 as a string).
 */
import type { Selectable, Updateable } from 'kysely';
import type {
  ClusterNode,
  JobSpec,
  JobState,
  NodeState,
  PendingVerdict,
  Placement,
  VerdictDetail,
} from '@suanli/core';
import type {
  ApiTokensTable,
  AuditLogTable,
  JobArraysTable,
  JobsTable,
  JobTransitionsTable,
  MembershipsTable,
  NodesTable,
  ProjectsTable,
  TenantsTable,
  UsageLedgerTable,
} from './schema.js';
import type {
  ApiTokenRecord,
  AuditRecord,
  JobArrayRecord,
  JobPatch,
  JobRecord,
  MembershipRecord,
  ProjectRecord,
  Role,
  StoredNode,
  TenantRecord,
  TransitionRecord,
  UsageRecord,
} from './store.js';

function numOrNull(v: number | string | null): number | null {
  return v === null ? null : Number(v);
}

/**
 * Parsed specs by job id. A spec never changes after submission, and the engine reads every
 * waiting job each cycle, so parsing the JSON each time would cost O(queue × spec size) per cycle;
 * the text is compared (a memcmp, far cheaper than JSON.parse) so a reused id can never return a
 * stale spec. Bounded by the characters of spec text held (`maxChars`), least recently used first.
 */
export class SpecCache {
  readonly #byId = new Map<string, { text: string; spec: JobSpec }>();
  #chars = 0;
  constructor(readonly maxChars: number = 64 * 1024 * 1024) {}

  parse(id: string, text: string): JobSpec {
    const hit = this.#byId.get(id);
    if (hit !== undefined && hit.text === text) {
      this.#byId.delete(id);
      this.#byId.set(id, hit);
      return hit.spec;
    }
    const spec = Object.freeze(JSON.parse(text) as JobSpec);
    if (hit !== undefined) {
      this.#byId.delete(id);
      this.#chars -= hit.text.length;
    }
    if (text.length <= this.maxChars / 16) {
      this.#byId.set(id, { text, spec });
      this.#chars += text.length;
      for (const [k, v] of this.#byId) {
        if (this.#chars <= this.maxChars) break;
        this.#byId.delete(k);
        this.#chars -= v.text.length;
      }
    }
    return spec;
  }

  get size(): number {
    return this.#byId.size;
  }
}

export function toJobRecord(row: Selectable<JobsTable>, specs?: SpecCache): JobRecord {
  return {
    id: row.id,
    seq: Number(row.seq),
    tenant: row.tenant,
    project: row.project,
    name: row.name,
    submittedBy: row.submitted_by,
    spec: specs ? specs.parse(row.id, row.spec) : (JSON.parse(row.spec) as JobSpec),
    state: row.state as JobState,
    priority: Number(row.priority),
    submittedAt: Number(row.submitted_at),
    queuedAt: Number(row.queued_at),
    attempt: Number(row.attempt),
    placement: row.placement === null ? null : (JSON.parse(row.placement) as Placement),
    executorRef: row.executor_ref,
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    exitCode: numOrNull(row.exit_code),
    pendingVerdict: row.pending_verdict as PendingVerdict | null,
    pendingReason: row.pending_reason,
    pendingDetail: row.pending_detail ? (JSON.parse(row.pending_detail) as VerdictDetail) : null,
    estimatedStart: numOrNull(row.estimated_start),
    notBefore: numOrNull(row.not_before),
    cancelRequestedAt: numOrNull(row.cancel_requested_at),
    idempotencyKey: row.idempotency_key,
    arrayId: row.array_id ?? null,
    arrayIndex: numOrNull(row.array_index ?? null),
    arrayThrottle: numOrNull(row.array_throttle ?? null),
  };
}

export function toJobArrayRecord(row: Selectable<JobArraysTable>): JobArrayRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    project: row.project,
    name: row.name,
    submittedBy: row.submitted_by,
    spec: JSON.parse(row.spec) as JobSpec,
    expression: row.expression,
    throttle: numOrNull(row.throttle),
    size: Number(row.size),
    firstSeq: Number(row.first_seq),
    submittedAt: Number(row.submitted_at),
    idempotencyKey: row.idempotency_key,
  };
}

export function toTransitionRecord(row: Selectable<JobTransitionsTable>): TransitionRecord {
  return {
    jobId: row.job_id,
    seq: Number(row.seq),
    from: row.from_state as JobState | null,
    to: row.to_state as JobState,
    at: Number(row.at),
    reason: row.reason,
    attempt: Number(row.attempt),
  };
}

export function toStoredNode(row: Selectable<NodesTable>): StoredNode {
  return {
    node: JSON.parse(row.node) as ClusterNode,
    adminState: row.admin_state as NodeState | null,
    adminReason: row.admin_reason,
    updatedAt: Number(row.updated_at),
  };
}

/** The columns a patch sets; fields left `undefined` in the patch are absent here (unchanged). */
export function patchColumns(patch: JobPatch): Updateable<JobsTable> {
  const c: Updateable<JobsTable> = {};
  if (patch.attempt !== undefined) c.attempt = patch.attempt;
  if (patch.placement !== undefined)
    c.placement = patch.placement === null ? null : JSON.stringify(patch.placement);
  if (patch.executorRef !== undefined) c.executor_ref = patch.executorRef;
  if (patch.startedAt !== undefined) c.started_at = patch.startedAt;
  if (patch.finishedAt !== undefined) c.finished_at = patch.finishedAt;
  if (patch.exitCode !== undefined) c.exit_code = patch.exitCode;
  if (patch.queuedAt !== undefined) c.queued_at = patch.queuedAt;
  if (patch.notBefore !== undefined) c.not_before = patch.notBefore;
  if (patch.cancelRequestedAt !== undefined) c.cancel_requested_at = patch.cancelRequestedAt;
  if (patch.pendingVerdict !== undefined) c.pending_verdict = patch.pendingVerdict;
  // A verdict set without its detail has none: a stale detail must not outlive its verdict.
  if (patch.pendingDetail !== undefined)
    c.pending_detail = patch.pendingDetail === null ? null : JSON.stringify(patch.pendingDetail);
  else if (patch.pendingVerdict !== undefined) c.pending_detail = null;
  if (patch.pendingReason !== undefined) c.pending_reason = patch.pendingReason;
  if (patch.estimatedStart !== undefined) c.estimated_start = patch.estimatedStart;
  return c;
}

export function toTenant(r: Selectable<TenantsTable>): TenantRecord {
  return { name: r.name, displayName: r.display_name, createdAt: Number(r.created_at) };
}
export function toProject(r: Selectable<ProjectsTable>): ProjectRecord {
  return { tenant: r.tenant, name: r.name, createdAt: Number(r.created_at) };
}
export function toMembership(r: Selectable<MembershipsTable>): MembershipRecord {
  return {
    tenant: r.tenant,
    subject: r.subject,
    role: r.role as Role,
    createdAt: Number(r.created_at),
    unixUser: r.unix_user,
  };
}
export function toApiToken(r: Selectable<ApiTokensTable>): ApiTokenRecord {
  return {
    id: r.id,
    hash: r.hash,
    subject: r.subject,
    tenant: r.tenant,
    name: r.name,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    expiresAt: numOrNull(r.expires_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}
export function toAudit(r: Selectable<AuditLogTable>): AuditRecord {
  return {
    seq: Number(r.seq),
    at: Number(r.at),
    subject: r.subject,
    tenant: r.tenant,
    role: r.role,
    method: r.method,
    route: r.route,
    target: r.target,
    ip: r.ip,
    status: Number(r.status),
    errorCode: r.error_code,
    requestId: r.request_id,
  };
}
export function toUsage(r: Selectable<UsageLedgerTable>): UsageRecord {
  return {
    jobId: r.job_id,
    attempt: Number(r.attempt),
    tenant: r.tenant,
    project: r.project,
    acceleratorType: r.accelerator_type,
    accelerators: Number(r.accelerators),
    cpuMillis: Number(r.cpu_millis),
    memoryMiB: Number(r.memory_mib),
    startedAt: Number(r.started_at),
    finishedAt: Number(r.finished_at),
    endState: r.end_state,
    peakMemoryBytes: numOrNull(r.peak_memory_bytes),
    cpuTimeMs: numOrNull(r.cpu_time_ms),
  };
}
