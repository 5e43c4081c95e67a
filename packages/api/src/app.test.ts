/**
 * The HTTP API in-process (`app.inject`) against a real SQLite store, the real engine and the real
 * local executor with declared devices.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './server.js';
import { waitFor } from './test-fixture.js';

const TOKEN = 'sl_test-admin-token-0123456789';

describe('API', () => {
  let server: RunningServer;
  let dir: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'suanli-api-'));
    process.env['SUANLI_ADMIN_TOKEN'] = TOKEN;
    server = await startServer({
      dataDir: dir,
      port: 0,
      accelerators: 'gpu:2',
      nodeName: 'testnode',
      logLevel: false,
      cycleIntervalMs: 100,
      cancelGraceMs: 500,
      print: () => {},
    });
    delete process.env['SUANLI_ADMIN_TOKEN'];
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const submit = (body: unknown, headers: Record<string, string> = {}) =>
    server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: { ...auth, ...headers },
      payload: body as object,
    });

  test('health and OpenAPI need no token', async () => {
    const h = await server.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(h.statusCode, 200);
    assert.equal(h.json().status, 'ok');
    assert.equal(h.json().store, 'sqlite');
    const o = await server.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(o.statusCode, 200);
    const doc = o.json();
    assert.equal(doc.openapi, '3.0.3');
    for (const p of [
      '/api/v1/jobs',
      '/api/v1/jobs/{id}',
      '/api/v1/jobs/{id}/cancel',
      '/api/v1/jobs/{id}/logs',
      '/api/v1/nodes',
    ])
      assert.ok(doc.paths[p], `OpenAPI document lists ${p}`);
  });

  test('requests without a valid token get 401 UNAUTHENTICATED', async () => {
    const none = await server.app.inject({ method: 'GET', url: '/api/v1/jobs' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'UNAUTHENTICATED');
    const wrong = await server.app.inject({
      method: 'GET',
      url: '/api/v1/jobs',
      headers: { authorization: 'Bearer sl_nope' },
    });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.json().error.message, /not valid/);
  });

  test('a malformed spec is rejected with every field named', async () => {
    const r = await submit({
      name: 'bad name!',
      command: 'python train.py',
      resources: { accelerators: -1, gpus: 2 },
      replica: 2,
    });
    assert.equal(r.statusCode, 400);
    const body = r.json();
    assert.equal(body.error.code, 'JOB_SPEC_INVALID');
    const paths = body.error.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ['command', 'name', 'replica', 'resources.accelerators', 'resources.gpus']);
    const acc = body.error.details.find((d: { path: string }) => d.path === 'resources.accelerators');
    assert.match(acc.message, /whole number from 0/);
  });

  test('missing required fields are named', async () => {
    const r = await submit({});
    assert.equal(r.statusCode, 400);
    assert.deepEqual(
      r
        .json()
        .error.details.map((d: { path: string }) => d.path)
        .sort(),
      ['command', 'name', 'resources'],
    );
  });

  test('bad JSON, wrong media type and oversized bodies get coded 4xx answers', async () => {
    const badJson = await server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    assert.equal(badJson.statusCode, 400);
    assert.equal(badJson.json().error.code, 'BODY_MALFORMED');
    const media = await server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: 'a,b',
    });
    assert.equal(media.statusCode, 415);
    assert.equal(media.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
    const big = await server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x', pad: 'y'.repeat(1_100_000) }),
    });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, 'PAYLOAD_TOO_LARGE');
    const badYaml = await server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: { ...auth, 'content-type': 'application/yaml' },
      payload: 'name: [unclosed',
    });
    assert.equal(badYaml.statusCode, 400);
    assert.equal(badYaml.json().error.code, 'BODY_MALFORMED');
  });

  test('YAML specs are accepted as written in files', async () => {
    const yaml = 'name: yaml-job\ncommand: ["true"]\nresources:\n  accelerators: 0\n';
    const r = await server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: { ...auth, 'content-type': 'application/yaml' },
      payload: yaml,
    });
    assert.equal(r.statusCode, 201);
    assert.match(r.json().id, /^j-[0-9a-f]{16}$/);
  });

  test('Idempotency-Key returns the same job for the same spec and 409 for another', async () => {
    const spec = { name: 'idem', command: ['sleep', '30'], resources: { accelerators: 0 } };
    const a = await submit(spec, { 'idempotency-key': 'k-1' });
    const b = await submit(spec, { 'idempotency-key': 'k-1' });
    assert.equal(a.statusCode, 201);
    assert.equal(b.statusCode, 200);
    assert.equal(a.json().id, b.json().id);
    const c = await submit({ ...spec, name: 'other' }, { 'idempotency-key': 'k-1' });
    assert.equal(c.statusCode, 409);
    assert.equal(c.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
    await server.app.inject({ method: 'POST', url: `/api/v1/jobs/${a.json().id}/cancel`, headers: auth });
  });

  test('unknown and malformed ids, unknown routes and nodes', async () => {
    const missing = await server.app.inject({
      method: 'GET',
      url: '/api/v1/jobs/j-0000000000000000',
      headers: auth,
    });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'JOB_NOT_FOUND');
    const malformed = await server.app.inject({
      method: 'GET',
      url: '/api/v1/jobs/..%2F..%2Fetc',
      headers: auth,
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error.code, 'REQUEST_INVALID');
    const route = await server.app.inject({ method: 'GET', url: '/api/v1/nope', headers: auth });
    assert.equal(route.statusCode, 404);
    assert.equal(route.json().error.code, 'ROUTE_NOT_FOUND');
    const node = await server.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/ghost/drain',
      headers: auth,
      payload: {},
    });
    assert.equal(node.statusCode, 404);
    assert.equal(node.json().error.code, 'NODE_NOT_FOUND');
    const badState = await server.app.inject({
      method: 'GET',
      url: '/api/v1/jobs?state=sleeping',
      headers: auth,
    });
    assert.equal(badState.statusCode, 400);
    assert.equal(badState.json().error.code, 'REQUEST_INVALID');
  });

  test('a job runs to completion with its transitions and logs recorded', async () => {
    const r = await submit({
      name: 'echo',
      command: ['sh', '-c', 'echo "devices=$CUDA_VISIBLE_DEVICES job=$SUANLI_JOB_ID"; echo oops >&2'],
      resources: { accelerators: 1 },
    });
    assert.equal(r.statusCode, 201);
    const id = r.json().id as string;
    const job = await waitFor(async () => {
      const j = (await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json();
      return j.state === 'succeeded' ? j : null;
    });
    assert.deepEqual(
      job.transitions.map((t: { to: string }) => t.to),
      ['queued', 'starting', 'running', 'succeeded'],
    );
    assert.equal(job.exitCode, 0);
    assert.equal(job.placement.length, 1);
    const logs = (
      await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}/logs`, headers: auth })
    ).json();
    assert.match(logs.data, new RegExp(`job=${id}`));
    assert.match(logs.data, /devices=\d/);
    assert.equal(logs.finished, true);
    const err = (
      await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}/logs?stream=stderr`, headers: auth })
    ).json();
    assert.equal(err.data, 'oops\n');
    // The job owns its log directory: a link it planted under a log's name is not followed.
    const dir = server.engine.logDir(id, 1);
    await writeFile(join(dir, '..', 'secret'), 'server-only');
    await rm(join(dir, 'stderr.log'));
    await symlink(join(dir, '..', 'secret'), join(dir, 'stderr.log'));
    const planted = await server.app.inject({
      method: 'GET',
      url: `/api/v1/jobs/${id}/logs?stream=stderr`,
      headers: auth,
    });
    assert.equal(planted.statusCode, 409);
    assert.equal(planted.json().error.code, 'LOG_UNSAFE');
    assert.doesNotMatch(planted.body, /server-only/);
    const again = await server.app.inject({
      method: 'POST',
      url: `/api/v1/jobs/${id}/cancel`,
      headers: auth,
    });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'JOB_ALREADY_FINISHED');
  });

  test('cancel stops a running job with SIGTERM and records why', async () => {
    const r = await submit({ name: 'sleeper', command: ['sleep', '60'], resources: { accelerators: 1 } });
    const id = r.json().id as string;
    await waitFor(async () =>
      (await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json().state ===
      'running'
        ? true
        : null,
    );
    const c = await server.app.inject({ method: 'POST', url: `/api/v1/jobs/${id}/cancel`, headers: auth });
    assert.equal(c.statusCode, 202);
    const done = await waitFor(async () => {
      const j = (await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json();
      return j.state === 'cancelled' ? j : null;
    });
    assert.match(done.transitions.at(-1).reason, /cancelled by request/);
  });

  test('the time limit ends a job as timed-out', async () => {
    const r = await submit({
      name: 'slow',
      command: ['sleep', '60'],
      resources: { accelerators: 0 },
      timeLimit: 1,
      retry: { maxAttempts: 1 },
    });
    const id = r.json().id as string;
    const done = await waitFor(async () => {
      const j = (await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json();
      return j.state === 'timed-out' ? j : null;
    });
    assert.match(done.transitions.at(-1).reason, /time limit of 1 s/);
  });

  test('a failing job is retried when its retry policy asks for it, then fails', async () => {
    const r = await submit({
      name: 'flaky',
      command: ['sh', '-c', 'exit 3'],
      resources: { accelerators: 0 },
      retry: { maxAttempts: 2, retryOn: ['failed'], backoff: 0 },
    });
    const id = r.json().id as string;
    const done = await waitFor(async () => {
      const j = (await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: auth })).json();
      return j.state === 'failed' ? j : null;
    });
    assert.equal(done.attempt, 2);
    assert.equal(done.exitCode, 3);
    assert.deepEqual(
      done.transitions.map((t: { to: string }) => t.to),
      ['queued', 'starting', 'running', 'requeued', 'queued', 'starting', 'running', 'failed'],
    );
  });

  test('the policy: defaults without a file, invalid documents refused, valid ones applied and used', async () => {
    const d = await server.app.inject({ method: 'GET', url: '/api/v1/policy', headers: auth });
    assert.equal(d.statusCode, 200);
    assert.match(d.json().document, /built-in defaults/);
    const yamlHeaders = { ...auth, 'content-type': 'application/yaml' };
    const bad = await server.app.inject({
      method: 'PUT',
      url: '/api/v1/policy',
      headers: yamlHeaders,
      payload: 'tenants:\n  lab-a: { weight: 0, colour: red }\n',
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'POLICY_INVALID');
    const paths = bad
      .json()
      .error.details.map((x: { path: string }) => x.path)
      .join(' ');
    assert.match(paths, /weight/);
    assert.match(paths, /colour/);
    const doc =
      '# our hall\npriorityClasses:\n  normal: { value: 0, default: true }\n  urgent: { value: 50, preemptible: false }\ntenants:\n  default: { weight: 1, quotas: { gpu: { guaranteed: 1 } } }\n';
    const ok = await server.app.inject({
      method: 'PUT',
      url: '/api/v1/policy',
      headers: yamlHeaders,
      payload: doc,
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().document, doc, 'the stored document keeps its comments');
    const tenants = (
      await server.app.inject({ method: 'GET', url: '/api/v1/tenants', headers: auth })
    ).json();
    assert.deepEqual(tenants.tenants[0].quotas.gpu, {
      guaranteed: 1,
      borrowingLimit: null,
      lendingLimit: null,
    });
    const urgent = await submit({
      name: 'urgent',
      command: ['true'],
      resources: { accelerators: 0 },
      priority: 'urgent',
    });
    assert.equal(urgent.statusCode, 201);
    assert.equal(urgent.json().priority, 50);
    const unknown = await submit({
      name: 'x',
      command: ['true'],
      resources: { accelerators: 0 },
      priority: 'high',
    });
    assert.equal(unknown.statusCode, 400);
    assert.match(
      unknown.json().error.details[0].message,
      /unknown priority class "high"; defined classes: urgent, normal/,
    );
  });

  test('Prometheus metrics count jobs by state and accelerators by status', async () => {
    const r = await server.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /text\/plain/);
    assert.match(r.body, /suanli_jobs\{state="queued"\} \d+/);
    assert.match(r.body, /suanli_accelerators\{type="gpu",status="(idle|busy)"\} \d+/);
    assert.match(r.body, /suanli_scheduler_cycles_total \d+/);
  });

  test('nodes list declared devices as declared; drain and undrain', async () => {
    const n = (await server.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: auth })).json();
    assert.equal(n.nodes.length, 1);
    assert.equal(n.nodes[0].name, 'testnode');
    assert.equal(n.nodes[0].accelerators.length, 2);
    assert.ok(n.nodes[0].accelerators.every((a: { declared: boolean }) => a.declared));
    const d = await server.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/testnode/drain',
      headers: auth,
      payload: { reason: 'maintenance' },
    });
    assert.equal(d.json().state, 'draining');
    assert.equal(d.json().adminReason, 'maintenance');
    const u = await server.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/testnode/undrain',
      headers: auth,
      payload: {},
    });
    assert.equal(u.json().state, 'ready');
  });
});
