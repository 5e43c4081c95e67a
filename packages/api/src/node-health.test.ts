/**
 * Node health end to end: a real server (SQLite, engine, local executor offering two nodes
 * declared in an inventory file) runs the operator's check program every 200 ms. When the program
 * starts failing for the node a job runs on, the node is drained with the program's reason, the
 * job is stopped and requeued as the platform's fault, and it runs on the other node; the API,
 * `/metrics` and the node's health say so. The node stays drained after it recovers (manual
 * return) until an operator undrains it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalExecutor, loadDeclaredConfig } from '@suanli/executors';
import { HEALTH_RECOVERED_PREFIX } from '@suanli/engine';
import { startServer, type RunningServer } from './server.js';
import { waitFor } from './test-fixture.js';

const TOKEN = 'sl_test-admin-token-0123456789';
const INTERVAL_MS = 200;

interface NodeJson {
  name: string;
  state: string;
  adminState: string | null;
  adminReason: string | null;
  health: { state: string; reason: string | null; drains: number };
}
interface JobJson {
  id: string;
  state: string;
  attempt: number;
  placement: { node: string }[] | null;
  transitions: { to: string; reason: string }[];
}

describe('node health', () => {
  let server: RunningServer;
  let dir: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'suanli-health-'));
    const inventory = join(dir, 'nodes.yaml');
    await writeFile(
      inventory,
      'nodes:\n  - name: node-a\n    accelerators: gpu:1\n  - name: node-b\n    accelerators: gpu:1\n',
    );
    const check = join(dir, 'check-node');
    // healthy unless the test has left a `fail-<node>` file
    await writeFile(
      check,
      `#!/bin/sh\nif [ -e '${dir}/fail-'"$1" ]; then echo "/scratch is read-only on $1"; exit 1; fi\nexit 0\n`,
    );
    await chmod(check, 0o755);
    const nodes = loadDeclaredConfig(inventory, { cpuMillis: 4000, memoryMiB: 4096 });
    process.env['SUANLI_ADMIN_TOKEN'] = TOKEN;
    server = await startServer({
      dataDir: join(dir, 'data'), // not beside the program: the server makes its data directory's files 0600
      port: 0,
      // both nodes are this machine: the executor runs every replica here, whatever node it names
      executorInstance: new LocalExecutor({ inventory: async () => nodes, gangGraceMs: 300 }),
      logLevel: false,
      cycleIntervalMs: 100,
      cancelGraceMs: 300,
      healthCheckProgram: check,
      healthCheckIntervalMs: INTERVAL_MS,
      healthCheckTimeoutMs: 5000,
      print: () => {},
    });
    delete process.env['SUANLI_ADMIN_TOKEN'];
  });
  after(async () => {
    await server.close({ endJobs: true });
    await rm(dir, { recursive: true, force: true });
  });

  const get = async <T>(url: string): Promise<T> =>
    (await server.app.inject({ method: 'GET', url, headers: auth })).json<T>();
  const nodeView = async (name: string): Promise<NodeJson> => {
    const { nodes } = await get<{ nodes: NodeJson[] }>('/api/v1/nodes');
    const n = nodes.find((x) => x.name === name);
    assert.ok(n, `node ${name} is listed`);
    return n;
  };

  test(
    'a node whose check program fails is drained with its reason; its job is requeued and runs on the other node',
    { timeout: 60_000 },
    async () => {
      await waitFor(
        async () => ((await nodeView('node-a')).health.state === 'healthy' ? true : null),
        'a first round',
      );
      const r = await server.app.inject({
        method: 'POST',
        url: '/api/v1/jobs',
        headers: auth,
        payload: { name: 'long-run', command: ['sleep', '600'], resources: { accelerators: 1 } },
      });
      assert.equal(r.statusCode, 201, r.body);
      const id = r.json<{ id: string }>().id;
      const first = await waitFor(async () => {
        const j = await get<JobJson>(`/api/v1/jobs/${id}`);
        return j.state === 'running' ? j : null;
      }, 'the job running');
      const bad = first.placement?.[0]?.node;
      assert.ok(bad === 'node-a' || bad === 'node-b');
      const good = bad === 'node-a' ? 'node-b' : 'node-a';

      const t0 = performance.now();
      await writeFile(join(dir, `fail-${bad}`), '');
      const moved = await waitFor(
        async () => {
          const j = await get<JobJson>(`/api/v1/jobs/${id}`);
          return j.state === 'running' && j.attempt === 2 ? j : null;
        },
        'the job running again',
        30_000,
      ).catch(async (err: unknown) => {
        const j = await get<JobJson>(`/api/v1/jobs/${id}`);
        throw new Error(
          `${(err as Error).message}: ${JSON.stringify({ job: j, node: await nodeView(bad) })}`,
        );
      });
      const ms = performance.now() - t0;
      process.stdout.write(
        `# node health: check failing → job running on the other node in ${Math.round(ms)} ms (check interval ${INTERVAL_MS} ms)\n`,
      );
      assert.equal(moved.placement?.[0]?.node, good);
      const reason = `health: program: /scratch is read-only on ${bad}`;
      const lost = moved.transitions.find((t) => t.to === 'lost');
      assert.ok(lost, JSON.stringify(moved.transitions));
      assert.match(
        lost.reason,
        new RegExp(
          `^lost: node ${bad} failed its health check \\(program: /scratch is read-only on ${bad}\\); replica 0: killed by SIGTERM`,
        ),
      );
      assert.ok(
        moved.transitions.some(
          (t) => t.to === 'requeued' && /requeued under the retry policy/.test(t.reason),
        ),
      );

      const drained = await nodeView(bad);
      assert.equal(drained.state, 'unhealthy');
      assert.equal(drained.adminState, 'unhealthy');
      assert.equal(drained.adminReason, reason);
      assert.deepEqual(
        { state: drained.health.state, reason: drained.health.reason, drains: drained.health.drains },
        { state: 'failing', reason: `program: /scratch is read-only on ${bad}`, drains: 1 },
      );
      assert.equal((await nodeView(good)).health.state, 'healthy');
      const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, new RegExp(`suanli_node_health\\{node="${bad}",state="failing"\\} 1`));
      assert.match(metrics, new RegExp(`suanli_node_health\\{node="${good}",state="healthy"\\} 1`));
      assert.match(metrics, new RegExp(`suanli_node_health_drains_total\\{node="${bad}"\\} 1`));

      // An operator who undrains a node that still fails sees it drained again at the next round.
      const early = await server.app.inject({
        method: 'POST',
        url: `/api/v1/nodes/${bad}/undrain`,
        headers: auth,
        payload: {},
      });
      assert.equal(early.statusCode, 200, early.body);
      await waitFor(
        async () => ((await nodeView(bad)).adminReason === reason ? true : null),
        'drained again',
      );

      // Recovered: the node stays drained (manual return) and says so, until an operator undrains it.
      await unlink(join(dir, `fail-${bad}`));
      const recovered = await waitFor(async () => {
        const n = await nodeView(bad);
        return n.health.state === 'healthy' ? n : null;
      }, 'the check passing again');
      await new Promise((res) => setTimeout(res, 2 * INTERVAL_MS));
      const still = await nodeView(bad);
      assert.equal(still.adminState, 'unhealthy');
      assert.equal(still.adminReason, `${HEALTH_RECOVERED_PREFIX}program: /scratch is read-only on ${bad})`);
      assert.equal(recovered.health.drains, 2);
      const undrain = await server.app.inject({
        method: 'POST',
        url: `/api/v1/nodes/${bad}/undrain`,
        headers: auth,
        payload: {},
      });
      assert.equal(undrain.statusCode, 200, undrain.body);
      await new Promise((res) => setTimeout(res, 2 * INTERVAL_MS));
      const back = await nodeView(bad);
      assert.deepEqual([back.state, back.adminReason, back.health.state], ['ready', null, 'healthy']);
    },
  );
});
