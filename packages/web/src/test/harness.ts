/**
 * Test and bench harness for the console: a real suanli server (SQLite in a temp dir, declared
 * accelerators, local executor) plus the built console served by registerConsole on a second
 * Fastify instance that forwards /api and /healthz to the server, and headless Chromium driven by
 * playwright-core with loopback-only networking.
 *
 * The console is registered on the API server itself (startServer's `plugins`, as the CLI does).
 * While the API's onRequest hook asks for a token on every path but /healthz, /metrics and the
 * OpenAPI document, that instance answers 401 for the console's pages; the harness then serves the
 * console from a second Fastify instance that forwards /api and /healthz to the server (same
 * registerConsole code, `proxyApiTo`). `mode` says which one a run used (see packages/web/README.md).
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { startServer, type RunningServer } from '@suanli/api';
import { SuanliClient } from '@suanli/client';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { defaultConsoleRoot, registerConsole } from '../serve.js';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // No DNS for anything but loopback: every other name resolves to "not found" locally.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

export interface ConsoleStack {
  readonly server: RunningServer;
  /** The second instance in `proxy` mode; null when the API server serves the console itself. */
  readonly consoleApp: FastifyInstance | null;
  readonly mode: 'in-server' | 'proxy';
  /** Where the browser goes: the console instance. */
  readonly url: string;
  readonly token: string;
  readonly client: SuanliClient;
  close(): Promise<void>;
}

export async function startConsoleStack(
  opts: { accelerators?: string; cycleIntervalMs?: number; rateLimitOff?: boolean } = {},
): Promise<ConsoleStack> {
  const root = defaultConsoleRoot();
  if (!existsSync(join(root, 'index.html')))
    throw new Error(`the console is not built (${root}): run npm run build -w packages/web`);
  const dataDir = await mkdtemp(join(tmpdir(), 'suanli-web-'));
  const token = 'sl_test_' + randomBytes(16).toString('hex');
  const before = process.env['SUANLI_ADMIN_TOKEN'];
  const beforeLimit = process.env['SUANLI_RATE_LIMIT'];
  process.env['SUANLI_ADMIN_TOKEN'] = token;
  // Seeding thousands of jobs with one token is not a person: the bench turns the per-token limit off.
  if (opts.rateLimitOff) process.env['SUANLI_RATE_LIMIT'] = 'off';
  let server: RunningServer;
  try {
    server = await startServer({
      dataDir,
      port: 0,
      accelerators: opts.accelerators ?? 'gpu:2',
      logLevel: false,
      print: () => undefined,
      cancelGraceMs: 1000,
      // the node health rounds run often enough for a page to show their verdict
      healthCheckIntervalMs: 500,
      plugins: [(app) => registerConsole(app)],
      ...(opts.cycleIntervalMs !== undefined ? { cycleIntervalMs: opts.cycleIntervalMs } : {}),
    });
  } finally {
    if (before === undefined) delete process.env['SUANLI_ADMIN_TOKEN'];
    else process.env['SUANLI_ADMIN_TOKEN'] = before;
    if (beforeLimit === undefined) delete process.env['SUANLI_RATE_LIMIT'];
    else process.env['SUANLI_RATE_LIMIT'] = beforeLimit;
  }
  const probe = await fetch(server.url + '/', { headers: { accept: 'text/html' } });
  await probe.text();
  let consoleApp: FastifyInstance | null = null;
  let url = server.url;
  if (probe.status !== 200) {
    consoleApp = Fastify({ logger: false });
    await registerConsole(consoleApp, { proxyApiTo: server.url });
    url = (await consoleApp.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', '127.0.0.1');
  }
  return {
    server,
    consoleApp,
    mode: consoleApp ? 'proxy' : 'in-server',
    url,
    token,
    client: new SuanliClient({ url: server.url, token }),
    async close() {
      await consoleApp?.close();
      await server.close({ endJobs: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(
  opts: { locale?: string; width?: number; height?: number } = {},
): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'suanli-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
      locale: opts.locale ?? 'zh-CN',
      viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** test-artifacts/console/ at the repository root (gitignored). */
export async function artifactsDir(): Promise<string> {
  const here = fileURLToPath(new URL('.', import.meta.url)); // packages/web/dist/test/
  const dir = resolve(here, '../../../../test-artifacts/console');
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Submits `count` jobs in-process (app.inject: no sockets), `parallel` at a time. With the
 * node drained first they all stay queued, which is what the list benchmark wants.
 */
export async function seedJobs(
  stack: ConsoleStack,
  count: number,
  spec: (i: number) => unknown,
  parallel = 16,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await stack.server.app.inject({
        method: 'POST',
        url: '/api/v1/jobs',
        headers: { authorization: `Bearer ${stack.token}` },
        payload: spec(i) as object,
      });
      if (res.statusCode !== 201) throw new Error(`seeding job ${i}: ${res.statusCode} ${res.body}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
