/**
 * Metering: usage reports from the ledger (accelerator-seconds, CPU-millicore-seconds,
 * memory-MiB-seconds per tenant, project, accelerator type or job), invoice-ready summaries with
 * operator-set prices, monthly accelerator-hour budgets and the prices themselves.
 *
 * A report over [from, to) clips each ledger interval to the window, so reports of consecutive
 * windows add up to the report of their union, and a month's report is exact to the millisecond.
 * The ledger holds ended attempts only: an attempt still running appears once it ends.
 *
 * Rows also carry what the attempts measurably used where the executor measured it (a confining
 * executor reads the cgroup): `cpuTimeSeconds` (clipped like the rest) and `peakMemoryBytes` (the
 * largest peak); the invoice lines carry `cpuTimeHours` for information. Charges stay on the
 * reservation (accelerator-hours).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { BudgetRecord, PriceRecord, UsageRecord } from '@suanli/store';
import { clippedAcceleratorMs, monthOf, reservationMs } from '@suanli/engine';
import { ApiError } from '../errors.js';
import { isPlatformRole } from '../authz.js';
import {
  BudgetListSchema,
  BudgetSetSchema,
  BudgetViewSchema,
  InvoiceSchema,
  NAME_PATTERN,
  PriceListSchema,
  PriceSetSchema,
  PriceViewSchema,
  USAGE_GROUP_VALUES,
  UsageReportSchema,
  type BudgetView,
  type Invoice,
  type PriceView,
  type UsageRow,
} from '@suanli/schemas';
import { authorizeRequest, errorResponses, principal, type RouteContext } from './common.js';
import { typed } from './typed.js';

/** ISO-8601 or epoch ms → epoch ms; anything else is REQUEST_INVALID naming the field. */
export function parseTime(field: string, v: string): number {
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isSafeInteger(ms))
    throw new ApiError('REQUEST_INVALID', `${field} must be an ISO-8601 time or epoch milliseconds`, [
      { path: `querystring.${field}`, message: 'must be an ISO-8601 time or epoch milliseconds' },
    ]);
  return ms;
}

/**
 * RFC 4180 CSV. Cells that a spreadsheet would run as a formula (leading = + - @ tab CR) get a
 * leading apostrophe: a tenant-chosen name must not become code in the operator's spreadsheet.
 */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cell = (v: unknown): string => {
    let s = v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v as number);
    if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

type GroupBy = (typeof USAGE_GROUP_VALUES)[number];

function emptyRow(u: UsageRecord | null, by: GroupBy | 'total'): UsageRow {
  return {
    tenant: u && by !== 'total' && by !== 'type' ? u.tenant : null,
    project: u && (by === 'project' || by === 'job') ? u.project : null,
    acceleratorType: u && (by === 'type' || by === 'job') ? u.acceleratorType : null,
    jobId: u && by === 'job' ? u.jobId : null,
    attempts: 0,
    acceleratorSeconds: 0,
    acceleratorHours: 0,
    cpuMilliSeconds: 0,
    memoryMiBSeconds: 0,
    cpuTimeSeconds: 0,
    peakMemoryBytes: null,
  };
}

/**
 * The attempt's measured CPU time that falls in [from, to): spread evenly over the attempt, so
 * consecutive windows still add up; a zero-length attempt counts whole; unmeasured adds nothing.
 */
export function clippedCpuTimeMs(u: UsageRecord, from: number, to: number): number {
  if (u.cpuTimeMs === null || u.cpuTimeMs === undefined) return 0;
  const length = u.finishedAt - u.startedAt;
  if (length <= 0) return u.cpuTimeMs;
  const inside = Math.max(0, Math.min(u.finishedAt, to) - Math.max(u.startedAt, from));
  return (u.cpuTimeMs * inside) / length;
}

/** Adds a clipped ledger interval to a row; sums are kept in ms and converted once at the end. */
function add(row: UsageRow, u: UsageRecord, from: number, to: number): void {
  const ms = Math.max(0, Math.min(u.finishedAt, to) - Math.max(u.startedAt, from));
  row.attempts += 1;
  row.acceleratorSeconds += clippedAcceleratorMs(u, from, to);
  row.cpuMilliSeconds += u.cpuMillis * ms;
  row.memoryMiBSeconds += u.memoryMiB * ms;
  row.cpuTimeSeconds += clippedCpuTimeMs(u, from, to);
  if (u.peakMemoryBytes !== null && u.peakMemoryBytes !== undefined)
    row.peakMemoryBytes = Math.max(row.peakMemoryBytes ?? 0, u.peakMemoryBytes);
}
function finish(row: UsageRow): UsageRow {
  const accMs = row.acceleratorSeconds;
  return {
    ...row,
    acceleratorSeconds: accMs / 1000,
    acceleratorHours: accMs / 3_600_000,
    cpuMilliSeconds: row.cpuMilliSeconds / 1000,
    memoryMiBSeconds: row.memoryMiBSeconds / 1000,
    cpuTimeSeconds: row.cpuTimeSeconds / 1000,
  };
}

export function usageReport(
  ledger: readonly UsageRecord[],
  from: number,
  to: number,
  by: GroupBy,
): { rows: UsageRow[]; total: UsageRow } {
  const groups = new Map<string, UsageRow>();
  const total = emptyRow(null, 'total');
  for (const u of ledger) {
    const key =
      by === 'tenant'
        ? u.tenant
        : by === 'project'
          ? `${u.tenant}\u0000${u.project}`
          : by === 'type'
            ? u.acceleratorType
            : `${u.jobId}`;
    let row = groups.get(key);
    if (!row) groups.set(key, (row = emptyRow(u, by)));
    add(row, u, from, to);
    add(total, u, from, to);
  }
  const rows = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => finish(r));
  return { rows, total: finish(total) };
}

const USAGE_COLUMNS = [
  'tenant',
  'project',
  'acceleratorType',
  'jobId',
  'attempts',
  'acceleratorSeconds',
  'acceleratorHours',
  'cpuMilliSeconds',
  'memoryMiBSeconds',
  'cpuTimeSeconds',
  'peakMemoryBytes',
] as const;

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export function registerUsageRoutes(fastify: FastifyInstance, { store, engine, clock }: RouteContext): void {
  const app = typed(fastify);
  const windowQuery = {
    from: Type.Optional(
      Type.String({ maxLength: 40, description: 'ISO-8601 or epoch ms; default: start of this UTC month' }),
    ),
    to: Type.Optional(
      Type.String({ maxLength: 40, description: 'Exclusive; default: start of next UTC month' }),
    ),
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
  };

  /** The window and the tenant scope the caller may see (tenant roles: their own tenant only). */
  function scope(req: Parameters<typeof principal>[0], q: { from?: string; to?: string; tenant?: string }) {
    const p = principal(req);
    const month = monthOf(clock());
    const from = q.from !== undefined ? parseTime('from', q.from) : month.from;
    const to = q.to !== undefined ? parseTime('to', q.to) : month.to;
    if (to <= from)
      throw new ApiError('REQUEST_INVALID', '`to` must be after `from`', [
        { path: 'querystring.to', message: 'must be after from' },
      ]);
    const tenant = q.tenant ?? (isPlatformRole(p.role) ? undefined : p.tenant);
    authorizeRequest(req, 'usage.read', { tenant: tenant ?? null }, 'TENANT_NOT_FOUND', `tenant "${tenant}"`);
    return { from, to, tenant };
  }

  app.get(
    '/api/v1/usage',
    {
      schema: {
        summary: 'Usage report from the ledger (format=csv for a spreadsheet)',
        querystring: Type.Object(
          {
            ...windowQuery,
            groupBy: Type.Optional(
              Type.Union(
                USAGE_GROUP_VALUES.map((v) => Type.Literal(v)),
                { default: 'tenant' },
              ),
            ),
            format: Type.Optional(
              Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: UsageReportSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const { from, to, tenant } = scope(req, q);
      const by = q.groupBy ?? 'tenant';
      const ledger = await store.listUsage({ from, to, ...(tenant !== undefined ? { tenant } : {}) });
      const { rows, total } = usageReport(ledger, from, to, by);
      if (q.format === 'csv') {
        void reply.type('text/csv; charset=utf-8');
        return reply.send(
          toCsv(
            USAGE_COLUMNS,
            rows.map((r) => USAGE_COLUMNS.map((c) => r[c])),
          ),
        );
      }
      return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), groupBy: by, rows, total };
    },
  );

  app.get(
    '/api/v1/usage/invoice',
    {
      schema: {
        summary: 'Invoice-ready summary: accelerator-hours per tenant and type at the operator-set prices',
        querystring: Type.Object(
          {
            ...windowQuery,
            format: Type.Optional(
              Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: InvoiceSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const { from, to, tenant } = scope(req, q);
      const [ledger, prices] = await Promise.all([
        store.listUsage({ from, to, ...(tenant !== undefined ? { tenant } : {}) }),
        store.listPrices(),
      ]);
      const priceOf = new Map(prices.map((p) => [p.acceleratorType, p]));
      const ms = new Map<string, { tenant: string; type: string; accMs: number; cpuMs: number }>();
      for (const u of ledger) {
        const k = `${u.tenant}\u0000${u.acceleratorType}`;
        const e = ms.get(k) ?? { tenant: u.tenant, type: u.acceleratorType, accMs: 0, cpuMs: 0 };
        e.accMs += clippedAcceleratorMs(u, from, to);
        e.cpuMs += clippedCpuTimeMs(u, from, to);
        ms.set(k, e);
      }
      const lines: Invoice['lines'] = [...ms.values()]
        .filter((e) => e.type !== 'none')
        .sort((a, b) => (a.tenant + a.type < b.tenant + b.type ? -1 : 1))
        .map((e) => {
          const price = priceOf.get(e.type);
          const hours = e.accMs / 3_600_000;
          return {
            tenant: e.tenant,
            acceleratorType: e.type,
            acceleratorHours: round6(hours),
            perAcceleratorHour: price?.perAcceleratorHour ?? null,
            currency: price?.currency ?? null,
            amount: price ? Math.round(hours * price.perAcceleratorHour * 100) / 100 : 0,
            cpuTimeHours: round6(e.cpuMs / 3_600_000),
          };
        });
      const totals = new Map<string, { tenant: string; currency: string | null; amount: number }>();
      for (const l of lines) {
        const k = `${l.tenant}\u0000${l.currency ?? ''}`;
        const t = totals.get(k) ?? { tenant: l.tenant, currency: l.currency, amount: 0 };
        t.amount = Math.round((t.amount + l.amount) * 100) / 100;
        totals.set(k, t);
      }
      const unpricedTypes = [
        ...new Set(lines.filter((l) => l.perAcceleratorHour === null).map((l) => l.acceleratorType)),
      ].sort();
      if (q.format === 'csv') {
        void reply.type('text/csv; charset=utf-8');
        const cols = [
          'tenant',
          'acceleratorType',
          'acceleratorHours',
          'perAcceleratorHour',
          'currency',
          'amount',
          'cpuTimeHours',
        ] as const;
        return reply.send(
          toCsv(
            cols,
            lines.map((l) => cols.map((c) => l[c])),
          ),
        );
      }
      return {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        lines,
        totals: [...totals.values()],
        unpricedTypes,
      };
    },
  );

  async function budgetView(b: BudgetRecord): Promise<BudgetView> {
    const now = clock();
    const { from, to } = monthOf(now);
    const inScope = (t: string, p: string) => t === b.tenant && (b.project === null || p === b.project);
    const ledger = await store.listUsage({ from, to, tenant: b.tenant });
    const open = engine.workingJobsOf(b.tenant);
    const used = ledger
      .filter((u) => inScope(u.tenant, u.project))
      .reduce((n, u) => n + clippedAcceleratorMs(u, from, to), 0);
    const reserved = open
      .filter((j) => inScope(j.tenant, j.project))
      .reduce((n, j) => n + reservationMs(j, now), 0);
    return {
      tenant: b.tenant,
      project: b.project,
      acceleratorHours: b.acceleratorHours,
      usedHours: round6(used / 3_600_000),
      reservedHours: round6(reserved / 3_600_000),
      updatedAt: new Date(b.updatedAt).toISOString(),
    };
  }

  app.get(
    '/api/v1/budgets',
    {
      schema: {
        summary: 'Monthly accelerator-hour budgets with what is used and reserved this month',
        querystring: Type.Object(
          { tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN })) },
          { additionalProperties: false },
        ),
        response: { 200: BudgetListSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = principal(req);
      const q = req.query;
      const tenant = q.tenant ?? (isPlatformRole(p.role) ? undefined : p.tenant);
      authorizeRequest(
        req,
        'budget.read',
        { tenant: tenant ?? null },
        'TENANT_NOT_FOUND',
        `tenant "${tenant}"`,
      );
      const budgets = await store.listBudgets(tenant);
      return { budgets: await Promise.all(budgets.map(budgetView)) };
    },
  );

  app.put(
    '/api/v1/budgets',
    {
      schema: {
        summary: 'Set a tenant budget, or a project budget with `project` (operators, admins)',
        body: BudgetSetSchema,
        response: { 200: BudgetViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const b = req.body;
      authorizeRequest(req, 'budget.manage', { tenant: b.tenant }, 'TENANT_NOT_FOUND');
      if (!(await store.getTenant(b.tenant)))
        throw new ApiError('TENANT_NOT_FOUND', `no tenant "${b.tenant}"`);
      const rec = {
        tenant: b.tenant,
        project: b.project ?? null,
        acceleratorHours: b.acceleratorHours,
        updatedAt: clock(),
      };
      await store.setBudget(rec);
      return budgetView(rec);
    },
  );

  app.delete(
    '/api/v1/budgets',
    {
      schema: {
        summary: 'Remove a budget (operators, admins)',
        querystring: Type.Object(
          {
            tenant: Type.String({ pattern: NAME_PATTERN }),
            project: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
          },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const q = req.query;
      authorizeRequest(req, 'budget.manage', { tenant: q.tenant }, 'TENANT_NOT_FOUND');
      if (!(await store.deleteBudget(q.tenant, q.project ?? null)))
        throw new ApiError(
          'BUDGET_NOT_FOUND',
          `no budget for ${q.project ? `project "${q.tenant}/${q.project}"` : `tenant "${q.tenant}"`}`,
        );
      void reply.status(204);
      return null;
    },
  );

  const priceView = (p: PriceRecord): PriceView => ({ ...p, updatedAt: new Date(p.updatedAt).toISOString() });

  app.get(
    '/api/v1/prices',
    {
      schema: {
        summary: 'Prices per accelerator-hour by accelerator type',
        response: { 200: PriceListSchema, ...errorResponses },
      },
    },
    async (req) => {
      authorizeRequest(req, 'price.read');
      return { prices: (await store.listPrices()).map(priceView) };
    },
  );

  app.put(
    '/api/v1/prices/:type',
    {
      schema: {
        summary: 'Set the price of an accelerator type (operators, admins)',
        params: Type.Object({ type: Type.String({ pattern: NAME_PATTERN }) }),
        body: PriceSetSchema,
        response: { 200: PriceViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      authorizeRequest(req, 'price.manage');
      const { type } = req.params;
      const b = req.body;
      const rec = {
        acceleratorType: type,
        perAcceleratorHour: b.perAcceleratorHour,
        currency: b.currency,
        updatedAt: clock(),
      };
      await store.setPrice(rec);
      return priceView(rec);
    },
  );
}
