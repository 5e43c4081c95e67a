/** Nodes: inventory with allocations; drain and undrain for operators. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ApiError } from '../errors.js';
import type { Executor } from '@suanli/executors';
import { NodeListSchema, NodeViewSchema, type ConfinementView } from '@suanli/schemas';
import { toNodeView } from '../views.js';
import { authorizeRequest, errorResponses, type RouteContext } from './common.js';
import { typed } from './typed.js';

const NODE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$';

/** What the executor says about fencing jobs; one without `confinement()` does not fence them. */
export function confinementOf(executor: Pick<Executor, 'confinement'>): ConfinementView {
  const c = executor.confinement?.();
  return c
    ? { confined: c.confined, detail: c.detail }
    : { confined: false, detail: 'this executor does not confine jobs' };
}

export function registerNodeRoutes(fastify: FastifyInstance, { store, engine, clock }: RouteContext): void {
  const app = typed(fastify);
  async function allocations(): Promise<Map<string, string>> {
    const active = await store.jobsInStates(['starting', 'running']);
    const m = new Map<string, string>();
    for (const j of active)
      for (const r of j.placement ?? []) for (const a of r.acceleratorIds) m.set(a, j.id);
    return m;
  }

  app.get(
    '/api/v1/nodes',
    {
      schema: {
        summary: 'Nodes and their accelerators, and whether the executor confines jobs',
        response: { 200: NodeListSchema, ...errorResponses },
      },
    },
    async (req) => {
      authorizeRequest(req, 'node.read');
      const [nodes, alloc] = await Promise.all([store.listNodes(), allocations()]);
      return {
        nodes: nodes.map((n) => toNodeView(n, alloc, engine.health?.statusOf(n.node.name) ?? null)),
        confinement: confinementOf(engine.executor),
      };
    },
  );

  const nodeParams = Type.Object({ name: Type.String({ pattern: NODE_NAME_PATTERN }) });
  for (const action of ['drain', 'undrain'] as const) {
    app.post(
      `/api/v1/nodes/:name/${action}`,
      {
        schema: {
          summary:
            action === 'drain'
              ? 'Drain a node: running jobs continue, nothing new is placed'
              : 'Return a drained node to service',
          params: nodeParams,
          body: Type.Optional(
            Type.Object(
              { reason: Type.Optional(Type.String({ maxLength: 500 })) },
              { additionalProperties: false },
            ),
          ),
          response: { 200: NodeViewSchema, ...errorResponses },
        },
      },
      async (req) => {
        authorizeRequest(req, 'node.manage');
        const { name } = req.params;
        const reason = req.body?.reason ?? null;
        const ok = await store.setNodeAdminState(
          name,
          action === 'drain' ? 'draining' : null,
          action === 'drain' ? (reason ?? 'drained by operator') : null,
          clock(),
        );
        if (!ok) throw new ApiError('NODE_NOT_FOUND', `no node "${name}"; list nodes with GET /api/v1/nodes`);
        engine.nudge();
        const [nodes, alloc] = await Promise.all([store.listNodes(), allocations()]);
        const node = nodes.find((n) => n.node.name === name);
        if (!node) throw new ApiError('NODE_NOT_FOUND', `no node "${name}"`);
        return toNodeView(node, alloc, engine.health?.statusOf(name) ?? null);
      },
    );
  }
}
