/**
 * Bookings (算力预约): book N accelerators of a type for a window ahead, once or repeated; list,
 * cancel; operators approve or reject requests, create maintenance windows and set per-tenant
 * booking settings (approval required, quota); everyone may ask when capacity is free.
 *
 * Admission is core's `admitBooking` (the scheduler's availability profile) run by the
 * BookingStore inside one locked write transaction, so two concurrent requests for the same
 * capacity can never both be accepted; and in the engine's queue (`engine.exclusive`), so no cycle
 * starts a job between admission reading the running jobs and committing the booking. Budgets: a booking's accelerator-hours in each UTC month,
 * together with the tenant's other bookings held that month, must fit every budget that applies
 * (tenant-wide, or the booking's project) — booked time is charged whether used or not.
 *
 * Authorisation reuses the actions of authz.ts: creating a booking is `job.submit` in the tenant,
 * reading `job.read`/`job.list`, cancelling `job.cancel`; approving, rejecting, maintenance windows
 * and settings are `node.manage` (platform roles). Other tenants' bookings answer 404.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  admitBooking,
  bookedAcceleratorMs,
  bookingUsage,
  bookingPhase,
  compileBooking,
  earliestCapacity,
  HOLDING_STATES,
  type BookingLike,
  type BookingQuota,
  type RunningHold,
} from '@suanli/core';
import { openBookingStore, type BookingRecord, type BookingSettings, type BudgetRecord } from '@suanli/store';
import { effectiveNode } from '@suanli/engine';
import { ApiError } from '../errors.js';
import { isPlatformRole } from '../authz.js';
import {
  BookingCreateSchema,
  BookingDecisionSchema,
  BookingListSchema,
  BookingSettingsSetSchema,
  BookingSettingsViewSchema,
  BookingUsageReportSchema,
  BookingViewSchema,
  CapacityAnswerSchema,
  NAME_PATTERN,
  type BookingView,
} from '@suanli/schemas';
import { authorizeRequest, errorResponses, principal, type RouteContext } from './common.js';
import { typed } from './typed.js';
import { parseTime } from './usage.js';

const HOUR_MS = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const round2 = (x: number): number => Math.round(x * 100) / 100;
/** Reports keep accelerator-hours to the accelerator-second or so (1e-6 h = 3.6 ms). */
const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export function toBookingView(b: BookingRecord, now: number): BookingView {
  const next = b.occurrences.find((o) => o.endTime > now) ?? null;
  return {
    id: b.id,
    tenant: b.tenant,
    project: b.project,
    kind: b.kind,
    state: bookingPhase(b, now),
    acceleratorType: b.acceleratorType,
    accelerators: b.accelerators,
    nodeCount: b.nodeCount,
    sameSwitch: b.sameSwitch,
    start: b.start,
    end: b.end,
    timeZone: b.timeZone,
    repeat: b.repeat,
    until: b.until,
    occurrences: b.occurrences.map((o) => ({ start: iso(o.startTime), end: iso(o.endTime) })),
    nextOccurrence: next ? { start: iso(next.startTime), end: iso(next.endTime) } : null,
    bookedAcceleratorHours: round2(bookedAcceleratorMs(b) / HOUR_MS),
    reason: b.reason,
    createdBy: b.createdBy,
    createdAt: iso(b.createdAt),
    decidedBy: b.decidedBy,
    decidedAt: b.decidedAt === null ? null : iso(b.decidedAt),
  };
}

/** Accelerator-ms per UTC month ('YYYY-MM') of the given bookings; occurrences are split at month starts. */
function msByMonth(bookings: readonly BookingLike[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of bookings) {
    for (const o of b.occurrences) {
      let t = o.startTime;
      // bounded: an occurrence lasts at most 31 days, so it touches at most 2 months
      for (let i = 0; i < 3 && t < o.endTime; i++) {
        const d = new Date(t);
        const monthEnd = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
        const key = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
        const upTo = Math.min(o.endTime, monthEnd);
        out.set(key, (out.get(key) ?? 0) + (upTo - t) * b.accelerators);
        t = upTo;
      }
    }
  }
  return out;
}

/** The first budget the booking (with the tenant's other holding bookings) exceeds in some month, as a message. */
function budgetProblem(
  candidate: BookingLike,
  live: readonly BookingLike[],
  budgets: readonly BudgetRecord[],
): string | null {
  for (const budget of budgets) {
    if (budget.project !== null && budget.project !== candidate.project) continue;
    const others = live.filter(
      (b) =>
        b.id !== candidate.id &&
        b.tenant === candidate.tenant &&
        b.kind === 'booking' &&
        HOLDING_STATES.includes(b.state) &&
        (budget.project === null || b.project === budget.project),
    );
    const mine = msByMonth([candidate]);
    const theirs = msByMonth(others);
    for (const [month, ms] of mine) {
      const total = (ms + (theirs.get(month) ?? 0)) / HOUR_MS;
      if (total > budget.acceleratorHours)
        return (
          `in ${month} the ${budget.project === null ? `tenant "${candidate.tenant}"` : `project "${candidate.tenant}/${budget.project}"`} ` +
          `would hold ${round2(total)} booked accelerator-hours (${round2(ms / HOUR_MS)} in this booking), over its budget of ${budget.acceleratorHours}`
        );
    }
  }
  return null;
}

export function registerBookingRoutes(fastify: FastifyInstance, ctx: RouteContext): void {
  const app = typed(fastify);
  const { store, engine, clock } = ctx;
  const bookings = openBookingStore(store);

  /** Nodes (with operator drains) and running jobs' holds until their time limits, for admission and the capacity query. */
  async function hall(): Promise<{ nodes: ReturnType<typeof effectiveNode>[]; running: RunningHold[] }> {
    const [stored, active] = await Promise.all([
      store.listNodes(),
      store.jobsInStates(['starting', 'running']),
    ]);
    const running: RunningHold[] = [];
    for (const j of active) {
      if (j.placement === null) continue;
      const startTime = j.startedAt ?? clock();
      const endTime =
        j.spec.timeLimitSeconds === null ? Infinity : startTime + j.spec.timeLimitSeconds * 1000;
      running.push({ jobId: j.id, placement: j.placement, startTime, endTime });
    }
    return { nodes: stored.map(effectiveNode), running };
  }

  /** The booking if the caller may see it (else 404 BOOKING_NOT_FOUND, as for a missing id). */
  async function visible(
    req: FastifyRequest,
    id: string,
    action: 'job.read' | 'job.cancel',
  ): Promise<BookingRecord> {
    const b = await bookings.get(id);
    if (b === null)
      throw new ApiError('BOOKING_NOT_FOUND', `no booking "${id}"; list yours with GET /api/v1/bookings`);
    // maintenance windows are the platform's: everyone sees them, only platform roles change them
    const tenant = b.kind === 'maintenance' ? null : b.tenant;
    authorizeRequest(
      req,
      b.kind === 'maintenance' && action === 'job.cancel' ? 'node.manage' : action,
      { tenant },
      'BOOKING_NOT_FOUND',
      `booking "${id}"`,
    );
    return b;
  }

  app.post(
    '/api/v1/bookings',
    {
      schema: {
        summary:
          'Book accelerators ahead (admitted only without overbooking); maintenance windows for operators',
        body: BookingCreateSchema,
        response: { 201: BookingViewSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const p = principal(req);
      const kind = body.kind ?? 'booking';
      if (kind === 'maintenance') authorizeRequest(req, 'node.manage');
      else authorizeRequest(req, 'job.submit', { tenant: p.tenant }, 'TENANT_NOT_FOUND');
      const compiled = compileBooking({
        tenant: p.tenant,
        project: body.project ?? 'default',
        kind,
        acceleratorType: body.acceleratorType,
        accelerators: body.accelerators,
        nodeCount: body.nodeCount ?? null,
        sameSwitch: body.sameSwitch ?? false,
        start: body.start,
        end: body.end,
        timeZone: body.timeZone ?? 'UTC',
        repeat: body.repeat ?? null,
        until: body.until ?? null,
      });
      if (!compiled.ok)
        throw new ApiError(
          'BOOKING_INVALID',
          `the booking has ${compiled.errors.length} error${compiled.errors.length === 1 ? '' : 's'}: ${compiled.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
          compiled.errors,
        );
      // the project to charge must exist, as for jobs (a tenant without projects charges "default")
      const project = compiled.value.project;
      const [projects, budgets] = await Promise.all([
        store.listProjects(p.tenant),
        kind === 'booking' ? store.listBudgets(p.tenant) : [],
      ]);
      if (
        kind === 'booking' &&
        projects.length > 0 &&
        project !== 'default' &&
        !projects.some((x) => x.name === project)
      )
        throw new ApiError(
          'PROJECT_NOT_FOUND',
          `tenant "${p.tenant}" has no project "${project}"; its projects: ${projects.map((x) => x.name).join(', ')}`,
          [{ path: 'project', message: `is not a project of tenant "${p.tenant}"` }],
        );
      const now = clock();
      const booking = {
        ...compiled.value,
        id: `bk-${randomUUID().slice(0, 13)}`,
        createdBy: p.subject,
        createdAt: now,
      };
      let failure: ApiError | null = null;
      // In the engine's queue: no cycle starts a job between reading what runs and committing.
      const result = await engine.exclusive(async () => {
        const { nodes, running } = await hall();
        return bookings.admit(booking, now, (live, settings) => {
          const quota: BookingQuota = {
            maxBookedAcceleratorHours: settings?.maxBookedAcceleratorHours ?? null,
            maxAcceleratorsPerBooking: settings?.maxAcceleratorsPerBooking ?? null,
          };
          const candidate = { ...booking, state: 'approved' as const };
          const d = admitBooking({ now, nodes, running, bookings: live, candidate, quota });
          if (!d.ok) {
            failure = new ApiError(
              d.kind === 'quota'
                ? 'BOOKING_QUOTA_EXCEEDED'
                : d.kind === 'capacity'
                  ? 'BOOKING_NO_CAPACITY'
                  : 'BOOKING_INVALID',
              d.reason,
              d.kind === 'never' || d.kind === 'past'
                ? [{ path: d.kind === 'past' ? 'end' : 'accelerators', message: d.reason }]
                : undefined,
            );
            return { admit: false, reason: d.reason };
          }
          const overBudget = budgetProblem(candidate, live, budgets);
          if (overBudget !== null) {
            failure = new ApiError('BUDGET_EXCEEDED', overBudget);
            return { admit: false, reason: overBudget };
          }
          const approval =
            kind === 'booking' && settings?.requireApproval === true && !isPlatformRole(p.role);
          return approval
            ? {
                admit: true,
                state: 'requested',
                reason: `tenant "${p.tenant}" needs an operator's approval for bookings; the capacity is held meanwhile`,
              }
            : { admit: true, state: 'approved', reason: null };
        });
      });
      if (result.booking === null)
        throw (
          failure ?? new ApiError('BOOKING_NO_CAPACITY', result.verdict.admit ? '' : result.verdict.reason)
        );
      engine.nudge();
      return reply.status(201).send(toBookingView(result.booking, now));
    },
  );

  app.get(
    '/api/v1/bookings',
    {
      schema: {
        summary:
          "Bookings not yet ended (the caller's tenant, or all for platform roles) and maintenance windows",
        querystring: Type.Object(
          {
            tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
            past: Type.Optional(Type.Boolean({ description: 'include bookings that have ended' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: BookingListSchema, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const p = principal(req);
      const tenant = q.tenant ?? (isPlatformRole(p.role) ? undefined : p.tenant);
      authorizeRequest(req, 'job.list', { tenant: tenant ?? null }, 'TENANT_NOT_FOUND', `tenant "${tenant}"`);
      const now = clock();
      const since = q.past === true ? {} : { endAfter: now };
      // a tenant's list: its own bookings and every maintenance window (they block its capacity too)
      const shown =
        tenant === undefined
          ? await bookings.list(since)
          : (
              await Promise.all([
                bookings.list({ ...since, tenant, kinds: ['booking'] }),
                bookings.list({ ...since, kinds: ['maintenance'] }),
              ])
            )
              .flat()
              .sort((a, b) => a.firstStart - b.firstStart || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { bookings: shown.map((b) => toBookingView(b, now)) };
    },
  );

  const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

  app.get(
    '/api/v1/bookings/:id',
    {
      schema: {
        summary: 'One booking',
        params: idParams,
        response: { 200: BookingViewSchema, ...errorResponses },
      },
    },
    async (req) => toBookingView(await visible(req, req.params.id, 'job.read'), clock()),
  );

  app.post(
    '/api/v1/bookings/:id/cancel',
    {
      schema: {
        summary:
          'Cancel a booking: its capacity is free at once (running jobs in it continue under their time limits)',
        params: idParams,
        body: Type.Optional(BookingDecisionSchema),
        response: { 200: BookingViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { id } = req.params;
      const b = await visible(req, id, 'job.cancel');
      const p = principal(req);
      const now = clock();
      const phase = bookingPhase(b, now);
      if (phase === 'completed') throw new ApiError('STATE_CONFLICT', `booking "${id}" has already ended`);
      const reason = req.body?.reason ?? `cancelled by ${p.subject}`;
      const r = await bookings.transition(id, ['requested', 'approved'], 'cancelled', {
        at: now,
        by: p.subject,
        reason,
        now,
      });
      if (r === null) throw new ApiError('BOOKING_NOT_FOUND', `no booking "${id}"`);
      if (!r.changed)
        throw new ApiError(
          'STATE_CONFLICT',
          `booking "${id}" is ${r.booking.state}; only requested or approved bookings can be cancelled`,
        );
      engine.nudge();
      return toBookingView(r.booking, now);
    },
  );

  for (const decision of ['approve', 'reject'] as const) {
    app.post(
      `/api/v1/bookings/:id/${decision}`,
      {
        schema: {
          summary:
            decision === 'approve'
              ? 'Approve a requested booking (operators); capacity is re-checked'
              : 'Reject a requested booking (operators)',
          params: idParams,
          body: Type.Optional(BookingDecisionSchema),
          response: { 200: BookingViewSchema, ...errorResponses },
        },
      },
      async (req) => {
        const { id } = req.params;
        await visible(req, id, 'job.read');
        const p = authorizeRequest(req, 'node.manage');
        const now = clock();
        const reason = req.body?.reason ?? null;
        const r = await engine.exclusive(async () => {
          const { nodes, running } = decision === 'approve' ? await hall() : { nodes: [], running: [] };
          return bookings.transition(
            id,
            ['requested'],
            decision === 'approve' ? 'approved' : 'rejected',
            {
              at: now,
              by: p.subject,
              reason: reason ?? (decision === 'approve' ? null : `rejected by ${p.subject}`),
              now,
            },
            decision === 'approve'
              ? (b, live) => {
                  const d = admitBooking({
                    now,
                    nodes,
                    running,
                    bookings: live,
                    candidate: { ...b, state: 'approved' },
                    quota: { maxBookedAcceleratorHours: null, maxAcceleratorsPerBooking: null },
                  });
                  return d.ok ? null : d.reason;
                }
              : undefined,
          );
        });
        if (r === null) throw new ApiError('BOOKING_NOT_FOUND', `no booking "${id}"`);
        if (r.refused !== null) throw new ApiError('BOOKING_NO_CAPACITY', r.refused);
        if (!r.changed)
          throw new ApiError(
            'STATE_CONFLICT',
            `booking "${id}" is ${r.booking.state}; only requested bookings can be decided`,
          );
        engine.nudge();
        return toBookingView(r.booking, now);
      },
    );
  }

  app.get(
    '/api/v1/bookings/usage',
    {
      schema: {
        summary:
          'Booked versus used per booking over [from, to) (default: this UTC month), charged per policy',
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ maxLength: 40 })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
            tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
            charge: Type.Optional(
              Type.Union([Type.Literal('booked'), Type.Literal('used')], {
                description: 'booked (default): windows are charged in full; used: only use inside them',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: BookingUsageReportSchema, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const p = principal(req);
      const tenant = q.tenant ?? (isPlatformRole(p.role) ? undefined : p.tenant);
      authorizeRequest(
        req,
        'usage.read',
        { tenant: tenant ?? null },
        'TENANT_NOT_FOUND',
        `tenant "${tenant}"`,
      );
      const now = new Date(clock());
      const from =
        q.from !== undefined
          ? parseTime('from', q.from)
          : Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      const to =
        q.to !== undefined ? parseTime('to', q.to) : Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
      if (to <= from)
        throw new ApiError('REQUEST_INVALID', 'to must be after from', [
          { path: 'querystring.to', message: 'must be after from' },
        ]);
      const charge = q.charge ?? 'booked';
      // Cancelled and rejected bookings are not charged; maintenance windows are nobody's.
      const all = await bookings.list({
        endAfter: from,
        states: ['approved'],
        kinds: ['booking'],
        ...(tenant !== undefined ? { tenant } : {}),
      });
      const mine = all.filter((b) => b.firstStart < to);
      const ledger =
        mine.length === 0
          ? []
          : await store.listUsage({ from, to, ...(tenant !== undefined ? { tenant } : {}) });
      return {
        from: iso(from),
        to: iso(to),
        charge,
        bookings: mine.map((b) => {
          const u = bookingUsage(b, ledger, from, to, charge);
          return {
            id: b.id,
            tenant: b.tenant,
            project: b.project,
            acceleratorType: b.acceleratorType,
            accelerators: b.accelerators,
            bookedAcceleratorHours: round6(u.bookedMs / HOUR_MS),
            usedAcceleratorHours: round6(u.usedMs / HOUR_MS),
            idleAcceleratorHours: round6((u.bookedMs - u.usedMs) / HOUR_MS),
            chargedAcceleratorHours: round6(u.chargedMs / HOUR_MS),
          };
        }),
      };
    },
  );

  app.get(
    '/api/v1/capacity',
    {
      schema: {
        summary: 'When can I get N accelerators of a type for a duration? (earliest admissible start)',
        querystring: Type.Object(
          {
            type: Type.String({ minLength: 1, maxLength: 100 }),
            accelerators: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
            durationSeconds: Type.Integer({ minimum: 1, maximum: 31 * 86_400 }),
            notBefore: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: CapacityAnswerSchema, ...errorResponses },
      },
    },
    async (req) => {
      authorizeRequest(req, 'node.read');
      const q = req.query;
      const now = clock();
      const { nodes, running } = await hall();
      const live = await bookings.list({ endAfter: now, states: HOLDING_STATES });
      const a = earliestCapacity({
        now,
        nodes,
        running,
        bookings: live,
        acceleratorType: q.type,
        accelerators: q.accelerators,
        durationMs: q.durationSeconds * 1000,
        ...(q.notBefore !== undefined ? { notBefore: Date.parse(q.notBefore) } : {}),
      });
      return {
        acceleratorType: q.type,
        accelerators: q.accelerators,
        durationSeconds: q.durationSeconds,
        available: a.ok,
        start: a.ok ? iso(a.startTime) : null,
        end: a.ok ? iso(a.endTime) : null,
        reason: a.ok ? null : a.reason,
      };
    },
  );

  app.put(
    '/api/v1/booking-settings/:tenant',
    {
      schema: {
        summary: "Set a tenant's booking settings (operators): approval required, booking quota",
        params: Type.Object({ tenant: Type.String({ pattern: NAME_PATTERN }) }),
        body: BookingSettingsSetSchema,
        response: { 200: BookingSettingsViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant } = req.params;
      authorizeRequest(req, 'job.read', { tenant }, 'TENANT_NOT_FOUND', `tenant "${tenant}"`);
      authorizeRequest(req, 'node.manage');
      const body = req.body;
      const s: BookingSettings = {
        tenant,
        requireApproval: body.requireApproval,
        maxBookedAcceleratorHours: body.maxBookedAcceleratorHours ?? null,
        maxAcceleratorsPerBooking: body.maxAcceleratorsPerBooking ?? null,
        updatedAt: clock(),
      };
      await bookings.putSettings(s);
      return { ...s, updatedAt: iso(s.updatedAt) };
    },
  );
}
