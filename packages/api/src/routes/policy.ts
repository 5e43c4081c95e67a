/**
 * The scheduling policy as data: tenants, quotas (guaranteed / borrowing / lending per accelerator
 * type, cohorts), fair-share weights and half-life, priority classes, preemption and backfill
 * settings. Read by everyone signed in; replaced by operators and admins. An invalid document is
 * refused with every field named and the running policy stays in force.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { PolicyError, type PolicyManager } from '@suanli/engine';
import { ApiError } from '../errors.js';
import { authorizeRequest, errorResponses, type RouteContext } from './common.js';
import { isPlatformRole } from '../authz.js';

const PolicyViewSchema = Type.Object({
  document: Type.String({ description: 'The policy file as stored (YAML)' }),
  policy: Type.Unknown({ description: 'The compiled policy in force (durations in ms)' }),
});

const TenantQuotaViewSchema = Type.Object({
  tenants: Type.Array(
    Type.Object({
      name: Type.String(),
      weight: Type.Number(),
      cohort: Type.Union([Type.String(), Type.Null()]),
      quotas: Type.Record(
        Type.String(),
        Type.Object({
          guaranteed: Type.Number(),
          borrowingLimit: Type.Union([Type.Number(), Type.Null()]),
          lendingLimit: Type.Union([Type.Number(), Type.Null()]),
        }),
      ),
      projects: Type.Record(Type.String(), Type.Record(Type.String(), Type.Number())),
      running: Type.Record(
        Type.String(),
        Type.Number({ description: 'Devices held now, per accelerator type' }),
      ),
    }),
  ),
});

export function registerPolicyRoutes(
  app: FastifyInstance,
  ctx: RouteContext & { policy: PolicyManager | null },
): void {
  const { policy, engine, store } = ctx;
  const requirePolicy = (): PolicyManager => {
    if (!policy)
      throw new ApiError('ROUTE_NOT_FOUND', 'this server runs a fixed policy without a policy file');
    return policy;
  };

  app.get(
    '/api/v1/policy',
    {
      schema: {
        summary: 'The scheduling policy in force',
        response: { 200: PolicyViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      authorizeRequest(req, 'policy.read');
      const p = requirePolicy();
      return { document: p.document, policy: p.config };
    },
  );

  // In this scope YAML bodies stay text, so the stored file keeps the operator's comments.
  void app.register(async (scope) => {
    scope.removeContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml']);
    scope.addContentTypeParser(
      ['application/yaml', 'application/x-yaml', 'text/yaml'],
      { parseAs: 'string' },
      (_req, body, done) => done(null, body),
    );
    scope.put(
      '/api/v1/policy',
      {
        schema: {
          summary: 'Replace the scheduling policy (YAML or JSON); takes effect at the next cycle',
          description:
            'Send the whole document with Content-Type application/yaml (or application/json). Invalid documents are refused with POLICY_INVALID and every field named.',
          response: { 200: PolicyViewSchema, ...errorResponses },
        },
      },
      async (req) => {
        authorizeRequest(req, 'policy.manage');
        const p = requirePolicy();
        const body = req.body;
        // YAML bodies arrive parsed by the content-type parser; keep the text form for the file.
        const text = typeof body === 'string' ? body : JSON.stringify(body ?? null, null, 2);
        try {
          engine.setPolicy(await p.apply(text));
        } catch (err) {
          if (err instanceof PolicyError) throw new ApiError('POLICY_INVALID', err.message, err.details);
          throw err;
        }
        return { document: p.document, policy: p.config };
      },
    );
  });

  app.get(
    '/api/v1/tenants',
    {
      schema: {
        summary: 'Tenants with their quotas, weights and the devices they hold now',
        response: { 200: TenantQuotaViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const who = authorizeRequest(req, 'tenant.list');
      const config = requirePolicy().config;
      const active = await store.jobsInStates(['starting', 'running']);
      const nodes = await store.listNodes();
      const typeOf = new Map<string, string>();
      for (const n of nodes) for (const a of n.node.accelerators) typeOf.set(a.id, a.type);
      const running = new Map<string, Record<string, number>>();
      for (const j of active)
        for (const r of j.placement ?? [])
          for (const id of r.acceleratorIds) {
            const t = typeOf.get(id) ?? 'unknown';
            const m = running.get(j.tenant) ?? {};
            m[t] = (m[t] ?? 0) + 1;
            running.set(j.tenant, m);
          }
      // Tenant-scoped roles see their own tenant only; platform roles see the whole hall.
      const names = new Set(
        [...Object.keys(config.tenants), ...running.keys()].filter(
          (t) => isPlatformRole(who.role) || t === who.tenant,
        ),
      );
      return {
        tenants: [...names].sort().map((name) => {
          const t = config.tenants[name];
          return {
            name,
            weight: t?.weight ?? config.defaultTenant.weight,
            cohort: t?.cohort ?? config.defaultTenant.cohort,
            quotas: { ...(t?.quotas ?? {}) },
            projects: Object.fromEntries(
              Object.entries(t?.projects ?? {}).map(([k, v]) => [k, { ...v.limits }]),
            ),
            running: running.get(name) ?? {},
          };
        }),
      };
    },
  );
}
