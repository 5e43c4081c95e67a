/**
 * Test fixture (not shipped API): a real server in-process on a temp data dir, and two tenants
 * (lab-a, lab-b) with one member of each role and an issued token each, created through the API
 * itself with the bootstrap admin token.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { Role } from '@suanli/store';
import { startServer, type RunningServer } from './server.js';

export const ADMIN_TOKEN = 'sl_test-admin-token-0123456789';
export const ROLES: readonly Role[] = ['admin', 'operator', 'tenant-admin', 'member', 'viewer'];
export const TENANTS = ['lab-a', 'lab-b'] as const;

export interface TestServer {
  readonly server: RunningServer;
  readonly dir: string;
  close(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-sec-'));
  const saved = { ...process.env };
  process.env['SUANLI_ADMIN_TOKEN'] = ADMIN_TOKEN;
  Object.assign(process.env, env);
  let server: RunningServer;
  try {
    server = await startServer({
      dataDir: dir,
      port: 0,
      accelerators: 'gpu:2',
      nodeName: 'testnode',
      logLevel: false,
      cycleIntervalMs: 100,
      cancelGraceMs: 300,
      print: () => {},
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true }); // a refused start leaves nothing behind
    throw e;
  } finally {
    for (const k of ['SUANLI_ADMIN_TOKEN', ...Object.keys(env)]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  return {
    server,
    dir,
    async close() {
      try {
        await server.close({ endJobs: true });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export type Call = (
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  token: string | null,
  body?: unknown,
) => Promise<{
  status: number;
  json: () => {
    error?: { code: string; message: string; details?: { path: string; message: string }[] };
  } & Record<string, unknown>;
  body: string;
  headers: Record<string, unknown>;
}>;

export function caller(server: RunningServer): Call {
  return async (method, url, token, body) => {
    const r = await server.app.inject({
      method,
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return {
      status: r.statusCode,
      json: () => r.json(),
      body: r.body,
      headers: r.headers as Record<string, unknown>,
    };
  };
}

/** `tokens[tenant][role]`; subjects are `<role>-<a|b>` (e.g. `member-a`). */
export type Tokens = Record<string, Record<Role, string>>;

export const subjectOf = (role: Role, tenant: string): string => `${role}-${tenant.slice(-1)}`;

export async function seedTenants(call: Call): Promise<Tokens> {
  const tokens: Tokens = {};
  for (const tenant of TENANTS) {
    const t = await call('POST', '/api/v1/orgs', ADMIN_TOKEN, {
      name: tenant,
      displayName: tenant.toUpperCase(),
    });
    assert.equal(t.status, 201, t.body);
    tokens[tenant] = {} as Record<Role, string>;
    for (const role of ROLES) {
      const subject = subjectOf(role, tenant);
      const m = await call('PUT', `/api/v1/orgs/${tenant}/members/${subject}`, ADMIN_TOKEN, { role });
      assert.equal(m.status, 200, m.body);
      const k = await call('POST', '/api/v1/tokens', ADMIN_TOKEN, {
        name: `${subject} token`,
        tenant,
        subject,
      });
      assert.equal(k.status, 201, k.body);
      tokens[tenant][role] = k.json()['token'] as string;
    }
  }
  return tokens;
}

/** A job that can never start on gpu:2 (it stays queued, so tests can act on it without processes). */
export const NEVER_FITS = {
  name: 'never-fits',
  command: ['sleep', '1'],
  resources: { accelerators: 64 },
  timeLimit: '1h',
};

/** Polls `probe` every 50 ms until it returns a value (not null); fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | null>,
  what = 'the condition',
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
