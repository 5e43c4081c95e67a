/**
 * Prometheus metrics at `/metrics` (text exposition format), computed at scrape time from the
 * store and the engine, so they are always consistent with what the API answers.
 *
 * A scrape is anonymous, so it must not read the queue: job counts and the oldest wait come from
 * one GROUP BY over the jobs in those states (an index count: no row, no spec is read, and the
 * state index keeps finished jobs out of it); only jobs holding devices (bounded by the hall's
 * size) are read, for their placements.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import type { RouteContext } from './common.js';

export function registerMetricsRoutes(app: FastifyInstance, { store, engine, health }: RouteContext): void {
  const registry = new Registry();
  // Read from `health` at scrape time: counters kept where the events happen, exposed as counters.
  new Counter({
    name: 'suanli_log_lines_dropped_total',
    help: 'Server log lines that could not be written (full disk, closed pipe) and were dropped',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(health.logLinesDropped);
    },
  });
  new Counter({
    name: 'suanli_storage_full_errors_total',
    help: 'Requests refused with STORAGE_FULL because the store had no space left',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(health.storageFullErrors);
    },
  });
  new Gauge({
    name: 'suanli_storage_full',
    help: "1 while the store's disk is full (writes refused, or under 1 MiB free in the data directory), else 0",
    registers: [registry],
    collect() {
      this.set(health.storageIsFull() ? 1 : 0);
    },
  });
  const jobs = new Gauge({
    name: 'suanli_jobs',
    help: 'Jobs waiting or holding devices, by state',
    labelNames: ['state'],
    registers: [registry],
  });
  const accelerators = new Gauge({
    name: 'suanli_accelerators',
    help: 'Accelerators by type and status (busy, idle, draining, unhealthy)',
    labelNames: ['type', 'status'],
    registers: [registry],
  });
  const oldestWait = new Gauge({
    name: 'suanli_queue_oldest_wait_seconds',
    help: 'How long the oldest queued job has waited',
    registers: [registry],
  });
  const cycles = new Gauge({
    name: 'suanli_scheduler_cycles_total',
    help: 'Scheduling cycles run since start',
    registers: [registry],
  });
  const cycleSeconds = new Gauge({
    name: 'suanli_scheduler_last_cycle_seconds',
    help: 'Duration of the last scheduling cycle',
    registers: [registry],
  });
  const policySeconds = new Gauge({
    name: 'suanli_scheduler_last_policy_seconds',
    help: "The policy's part of the last cycle (on its worker thread when it runs in one)",
    registers: [registry],
  });
  const nodeHealth = new Gauge({
    name: 'suanli_node_health',
    help: 'Node health as the last checks saw it: 1 for the state the node is in (healthy, failing, unchecked), else 0',
    labelNames: ['node', 'state'],
    registers: [registry],
  });
  new Counter({
    name: 'suanli_node_health_drains_total',
    help: 'Times a node was drained by the platform because it failed a health check, since the server started',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of engine.health?.statuses() ?? []) this.inc({ node: s.node }, s.drains);
    },
  });
  const workingJobs = new Gauge({
    name: 'suanli_scheduler_working_jobs',
    help: "Jobs in the engine's in-memory working set (queued, starting, running)",
    registers: [registry],
  });

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text format)', hide: false } },
    async (_req, reply) => {
      const [counts, holding, nodes] = await Promise.all([
        store.countJobsByState({ states: ['queued', 'starting', 'running'] }),
        store.jobsInStates(['starting', 'running']),
        store.listNodes(),
      ]);
      jobs.reset();
      for (const s of ['queued', 'starting', 'running'] as const)
        jobs.set({ state: s }, counts.find((c) => c.state === s)?.count ?? 0);
      const queued = counts.find((c) => c.state === 'queued');
      const busy = new Set<string>();
      for (const j of holding)
        for (const r of j.placement ?? []) for (const id of r.acceleratorIds) busy.add(id);
      oldestWait.set(queued ? Math.max(0, (Date.now() - queued.oldestQueuedAt) / 1000) : 0);
      accelerators.reset();
      for (const s of nodes) {
        const nodeState = s.adminState ?? s.node.state;
        for (const a of s.node.accelerators) {
          const status =
            !a.healthy || nodeState === 'down' || nodeState === 'unhealthy'
              ? 'unhealthy'
              : busy.has(a.id)
                ? 'busy'
                : nodeState === 'draining'
                  ? 'draining'
                  : 'idle';
          accelerators.inc({ type: a.type, status });
        }
      }
      nodeHealth.reset();
      for (const s of nodes) {
        const state = engine.health?.statusOf(s.node.name)?.state ?? 'unchecked';
        for (const st of ['healthy', 'failing', 'unchecked'] as const)
          nodeHealth.set({ node: s.node.name, state: st }, st === state ? 1 : 0);
      }
      const st = engine.stats();
      cycles.set(st.cycles);
      cycleSeconds.set(st.lastCycleMs / 1000);
      policySeconds.set(st.lastPolicyMs / 1000);
      workingJobs.set(st.working);
      void reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
}
