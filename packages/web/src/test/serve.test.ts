/**
 * registerConsole: static files, SPA fallback, API paths left alone, and the /api proxy against a
 * real suanli server (SQLite in a temp dir). No browser needed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { startServer, type RunningServer } from '@suanli/api';
import { CONSOLE_CSP, registerConsole } from '../serve.js';

let root: string;
let dataDir: string;
let server: RunningServer;
const TOKEN = 'sl_serve_test_token_0123456789abcdef';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'suanli-console-root-'));
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>console</title><div id="root"></div>');
  await writeFile(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  dataDir = await mkdtemp(join(tmpdir(), 'suanli-serve-'));
  process.env['SUANLI_ADMIN_TOKEN'] = TOKEN;
  server = await startServer({
    dataDir,
    port: 0,
    accelerators: 'gpu:2',
    logLevel: false,
    print: () => undefined,
  });
});

after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

test('serves index.html at / and for client routes, with a strict CSP', async () => {
  const app = Fastify();
  await registerConsole(app, { root });
  for (const url of ['/', '/jobs', '/jobs/j-0123456789abcdef', '/nodes?x=1']) {
    const res = await app.inject({ url, headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(res.statusCode, 200, url);
    assert.match(res.body, /<div id="root">/);
    assert.equal(res.headers['content-security-policy'], CONSOLE_CSP);
    assert.equal(res.headers['cache-control'], 'no-cache');
  }
  await app.close();
});

test('hashed assets are cached for a year; unknown assets and API paths are 404, not the page', async () => {
  const app = Fastify();
  await registerConsole(app, { root });
  const js = await app.inject({ url: '/assets/index-abc123.js' });
  assert.equal(js.statusCode, 200);
  assert.match(String(js.headers['cache-control']), /immutable/);
  assert.match(String(js.headers['content-type']), /javascript/);
  for (const url of ['/assets/missing.js', '/api/v1/nope', '/healthz']) {
    const res = await app.inject({ url, headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 404, url);
    assert.doesNotMatch(res.body, /<div id="root">/, url);
  }
  // A script asking for JSON at a client route gets a 404, not HTML.
  assert.equal((await app.inject({ url: '/jobs', headers: { accept: 'application/json' } })).statusCode, 404);
  await app.close();
});

test('refuses to start when the console is not built', async () => {
  const app = Fastify();
  await assert.rejects(registerConsole(app, { root: join(root, 'nope') }), /not built/);
  await app.close();
});

test('forwards /api and /healthz to a real server, bodies byte for byte', async () => {
  const app = Fastify();
  await registerConsole(app, { root, proxyApiTo: server.url });
  const health = await app.inject({ url: '/healthz' });
  assert.equal(health.statusCode, 200);
  assert.equal(health.json().status, 'ok');
  const anon = await app.inject({ url: '/api/v1/whoami' });
  assert.equal(anon.statusCode, 401);
  assert.equal(anon.json().error.code, 'UNAUTHENTICATED');
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await app.inject({ url: '/api/v1/whoami', headers: auth })).json().role, 'admin');
  const yaml = 'name: via-proxy\ncommand: ["true"]\nresources:\n  accelerators: 0\n';
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/jobs',
    headers: { ...auth, 'content-type': 'application/yaml' },
    payload: yaml,
  });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.json().name, 'via-proxy');
  const bad = await app.inject({
    method: 'POST',
    url: '/api/v1/jobs',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'x', command: ['true'], resources: { accelerators: -1 } }),
  });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(
    bad.json().error.details.map((d: { path: string }) => d.path),
    ['resources.accelerators'],
  );
  const list = await app.inject({ url: '/api/v1/jobs?state=queued&state=succeeded&limit=5', headers: auth });
  assert.equal(list.statusCode, 200);
  await app.close();
});

test('answers 502 with a coded body when the server is unreachable', async () => {
  const app = Fastify();
  await registerConsole(app, { root, proxyApiTo: 'http://127.0.0.1:9' });
  const res = await app.inject({ url: '/api/v1/whoami' });
  assert.equal(res.statusCode, 502);
  assert.equal(res.json().error.code, 'UPSTREAM_UNREACHABLE');
  await app.close();
});
