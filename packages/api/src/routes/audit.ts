/**
 * The audit log: every mutating request (who, what, target, when, from where, outcome), written by
 * the hook in `hooks.ts` and never changed afterwards (the Store has no update or delete for it).
 * Operators and admins query it here and export it as JSON lines or CSV.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { AuditRecord } from '@suanli/store';
import { ApiError } from '../errors.js';
import { AuditListSchema, NAME_PATTERN, SUBJECT_PATTERN, type AuditEntryView } from '@suanli/schemas';
import { authorizeRequest, errorResponses, type RouteContext } from './common.js';
import { typed } from './typed.js';
import { parseTime, toCsv } from './usage.js';

const AUDIT_PAGE_MAX = 10_000;

const auditView = (a: AuditRecord): AuditEntryView => ({ ...a, at: new Date(a.at).toISOString() });

export function registerAuditRoutes(fastify: FastifyInstance, { store }: RouteContext): void {
  const app = typed(fastify);
  app.get(
    '/api/v1/audit',
    {
      schema: {
        summary: 'The audit log, oldest first (operators, admins); format=jsonl|csv to export',
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601 time or epoch ms' })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
            subject: Type.Optional(Type.String({ pattern: SUBJECT_PATTERN })),
            tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
            after: Type.Optional(Type.Integer({ minimum: 0 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: 1000 })),
            format: Type.Optional(
              Type.Union([Type.Literal('json'), Type.Literal('jsonl'), Type.Literal('csv')], {
                default: 'json',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: AuditListSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      authorizeRequest(req, 'audit.read');
      const q = req.query;
      const from = q.from !== undefined ? parseTime('from', q.from) : undefined;
      const to = q.to !== undefined ? parseTime('to', q.to) : undefined;
      if (from !== undefined && to !== undefined && to < from)
        throw new ApiError('REQUEST_INVALID', '`to` is before `from`', [
          { path: 'querystring.to', message: 'is before from' },
        ]);
      const limit = q.limit ?? 1000;
      const rows = await store.listAudit({
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(q.subject !== undefined ? { subject: q.subject } : {}),
        ...(q.tenant !== undefined ? { tenant: q.tenant } : {}),
        ...(q.after !== undefined ? { afterSeq: q.after } : {}),
        limit,
      });
      const entries = rows.map(auditView);
      const last = rows[rows.length - 1];
      const nextAfter = rows.length === limit && last ? last.seq : null;
      if (nextAfter !== null) void reply.header('x-next-after', String(nextAfter));
      if (q.format === 'jsonl') {
        void reply.type('application/x-ndjson; charset=utf-8');
        return reply.send(entries.map((e) => JSON.stringify(e) + '\n').join(''));
      }
      if (q.format === 'csv') {
        void reply.type('text/csv; charset=utf-8');
        const cols = [
          'seq',
          'at',
          'subject',
          'tenant',
          'role',
          'method',
          'route',
          'target',
          'ip',
          'status',
          'errorCode',
          'requestId',
        ] as const;
        return reply.send(
          toCsv(
            cols,
            entries.map((e) => cols.map((c) => e[c])),
          ),
        );
      }
      return { entries, nextAfter };
    },
  );
}
