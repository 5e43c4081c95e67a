/** Store records → wire views. Times go out as ISO-8601 strings. */
import type { JobState, VerdictDetail } from '@suanli/core';
import type { JobArrayRecord, JobRecord, StoredNode, TransitionRecord, UsageRecord } from '@suanli/store';
import { readProgress, stepsLost, type NodeHealthStatus, type Progress } from '@suanli/engine';
import { transitionDetail } from './transition-detail.js';
import type {
  AttemptView,
  JobArrayView,
  JobView,
  NodeView,
  TransitionView,
  VerdictDetailView,
} from '@suanli/schemas';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toTransitionView(t: TransitionRecord): TransitionView {
  return {
    from: t.from,
    to: t.to,
    at: new Date(t.at).toISOString(),
    reason: t.reason,
    attempt: t.attempt,
    detail: transitionDetail(t.reason),
  };
}

/**
 * A job's attempts: the ended ones from its ledger rows, then the current one when it is starting or
 * running (no ledger row yet: it has no end and nothing measured).
 */
export function toAttemptViews(
  j: JobRecord,
  ledger: readonly UsageRecord[],
  progress: ReadonlyMap<number, Progress> = new Map(),
): AttemptView[] {
  const out: AttemptView[] = ledger.map((u) => ({
    attempt: u.attempt,
    startedAt: new Date(u.startedAt).toISOString(),
    finishedAt: new Date(u.finishedAt).toISOString(),
    endState: u.endState,
    acceleratorType: u.acceleratorType,
    accelerators: u.accelerators,
    peakMemoryBytes: u.peakMemoryBytes ?? null,
    cpuTimeMs: u.cpuTimeMs ?? null,
  }));
  const ended = new Set(ledger.map((u) => u.attempt));
  if ((j.state === 'starting' || j.state === 'running') && j.attempt > 0 && !ended.has(j.attempt))
    out.push({
      attempt: j.attempt,
      startedAt: iso(j.startedAt),
      finishedAt: null,
      endState: null,
      acceleratorType: null,
      accelerators: (j.placement ?? []).reduce((n, r) => n + r.acceleratorIds.length, 0),
      peakMemoryBytes: null,
      cpuTimeMs: null,
    });
  return out.map((a) => {
    const p = progress.get(a.attempt);
    return p ? { ...a, step: p.step, checkpoint: p.checkpoint, stepsLost: stepsLost(p) } : a;
  });
}

export function toJobView(
  j: JobRecord,
  transitions?: readonly TransitionRecord[],
  attempts?: readonly UsageRecord[],
  progress?: ReadonlyMap<number, Progress>,
): JobView {
  return {
    id: j.id,
    name: j.name,
    tenant: j.tenant,
    project: j.project,
    submittedBy: j.submittedBy,
    state: j.state,
    priority: j.priority,
    replicas: j.spec.replicas,
    acceleratorsPerReplica: j.spec.perReplica.accelerators,
    acceleratorTypes: [...j.spec.perReplica.acceleratorTypes],
    command: [...j.spec.command],
    timeLimitSeconds: j.spec.timeLimitSeconds,
    attempt: j.attempt,
    maxAttempts: j.spec.retry.maxAttempts,
    submittedAt: new Date(j.submittedAt).toISOString(),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    exitCode: j.exitCode,
    placement:
      j.placement === null ? null : j.placement.map((r) => ({ ...r, acceleratorIds: [...r.acceleratorIds] })),
    pending:
      j.state === 'queued' && j.pendingVerdict !== null
        ? {
            verdict: j.pendingVerdict,
            reason: j.pendingReason ?? '',
            estimatedStart: iso(j.estimatedStart),
            detail: j.pendingDetail === null ? null : toVerdictDetailView(j.pendingDetail),
          }
        : null,
    cancelRequested: j.cancelRequestedAt !== null,
    ...(transitions ? { transitions: transitions.map(toTransitionView) } : {}),
    ...(attempts ? { attempts: toAttemptViews(j, attempts, progress) } : {}),
    ...(j.arrayId !== null ? { arrayId: j.arrayId, arrayIndex: j.arrayIndex ?? 0 } : {}),
  };
}

export function toNodeView(
  s: StoredNode,
  allocations: ReadonlyMap<string, string>,
  health: NodeHealthStatus | null = null,
): NodeView {
  const n = s.node;
  const topology: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.topology)) if (typeof v === 'string') topology[k] = v;
  return {
    name: n.name,
    state: s.adminState ?? n.state,
    adminState: s.adminState,
    adminReason: s.adminReason,
    cpuMillis: n.cpuMillis,
    memoryMiB: n.memoryMiB,
    topology,
    accelerators: n.accelerators.map((a) => ({
      id: a.id,
      index: a.index,
      type: a.type,
      vendor: a.vendor,
      source: a.source,
      declared: a.source === 'declared',
      model: a.model ?? null,
      memoryMiB: a.memoryMiB ?? null,
      healthy: a.healthy,
      allocatedTo: allocations.get(a.id) ?? null,
    })),
    updatedAt: new Date(s.updatedAt).toISOString(),
    health: {
      state: health?.state ?? 'unchecked',
      reason: health?.reason ?? null,
      since: iso(health?.since ?? null),
      checkedAt: iso(health?.checkedAt ?? null),
      drains: health?.drains ?? 0,
    },
  };
}

/** A verdict's detail with its time as ISO 8601, as every time in the API is. */
export function toVerdictDetailView(d: VerdictDetail): VerdictDetailView {
  if (!('at' in d)) return d;
  return { ...d, at: d.at === null ? null : new Date(d.at).toISOString() } as VerdictDetailView;
}

/** What each attempt of a job reported in its progress file (the engine's progress protocol). */
export async function attemptProgress(
  attempts: number,
  logDirOf: (attempt: number) => string,
): Promise<Map<number, Progress>> {
  const out = new Map<number, Progress>();
  // The latest 20 attempts at most: a job retried 100 times does not cost 100 reads per view.
  const first = Math.max(1, attempts - 19);
  await Promise.all(
    Array.from({ length: Math.max(0, attempts - first + 1) }, async (_, i) => {
      const p = await readProgress(logDirOf(first + i));
      if (p !== null) out.set(first + i, p);
    }),
  );
  return out;
}

export function toJobArrayView(
  a: JobArrayRecord,
  counts: readonly { state: JobState; count: number }[],
): JobArrayView {
  // The canonical expression is ascending: its first and last numbers are the first and last index.
  const firstIndex = /^\d+/.exec(a.expression)?.[0] ?? '0';
  const lastIndex = /\d+$/.exec(a.expression)?.[0] ?? firstIndex;
  return {
    kind: 'array',
    id: a.id,
    name: a.name,
    tenant: a.tenant,
    project: a.project,
    submittedBy: a.submittedBy,
    submittedAt: new Date(a.submittedAt).toISOString(),
    array: a.expression + (a.throttle === null ? '' : `%${a.throttle}`),
    throttle: a.throttle,
    size: a.size,
    firstTaskId: `${a.id}_${firstIndex}`,
    lastTaskId: `${a.id}_${lastIndex}`,
    counts: Object.fromEntries(counts.map((c) => [c.state, c.count])),
    command: [...a.spec.command],
    replicas: a.spec.replicas,
    acceleratorsPerReplica: a.spec.perReplica.accelerators,
  };
}
