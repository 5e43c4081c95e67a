/**
 * Helpers over @suanli/client for the console. Additions the client does not have (yet) live here
 * as thin wrappers over the public API:
 * - fetchApiPaths: reads the server's OpenAPI document (GET /api/v1/openapi.json, no token needed)
 *   to learn which capabilities (bookings, usage, tenants) this server offers;
 * - usageReport, usageCsv, listBudgets: GET /api/v1/usage and GET /api/v1/budgets.
 */
import { ApiClientError } from '@suanli/client';
import type { BudgetList, UsageReport } from '@suanli/client';

export { loadJobs } from '../lib/job-list.js';

let pathsPromise: Promise<ReadonlySet<string>> | null = null;

export function fetchApiPaths(baseUrl: string): Promise<ReadonlySet<string>> {
  pathsPromise ??= fetch(`${baseUrl.replace(/\/+$/, '')}/api/v1/openapi.json`, {
    headers: { accept: 'application/json' },
  })
    .then(async (r) => {
      if (!r.ok)
        throw new ApiClientError(
          r.status,
          'HTTP_' + r.status,
          `GET /api/v1/openapi.json answered ${r.status}`,
        );
      const doc = (await r.json()) as { paths?: Record<string, unknown> };
      return new Set(Object.keys(doc.paths ?? {}));
    })
    .catch((err: unknown) => {
      pathsPromise = null;
      throw err;
    });
  return pathsPromise;
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiClientError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * GET a JSON document from the public API with the session's token, for endpoints the typed
 * client does not cover yet (GET /api/v1/usage, GET /api/v1/budgets). Errors are ApiClientError
 * with the server's code, as from the client. Move these to @suanli/client when it has them.
 */
export async function getJson<T>(
  baseUrl: string,
  token: string,
  path: string,
  fetchImpl: typeof fetch = fetch,
): Promise<T> {
  let res: Response;
  try {
    res = await fetchImpl(`${baseUrl.replace(/\/+$/, '')}${path}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new ApiClientError(
      0,
      'NETWORK',
      `cannot reach the suanli server at ${baseUrl}: ${(err as Error).message}`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const e = (
      body as
        | { error?: { code?: string; message?: string; details?: { path: string; message: string }[] } }
        | undefined
    )?.error;
    throw new ApiClientError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? (text || res.statusText),
      e?.details ?? [],
    );
  }
  return body as T;
}

/** GET /api/v1/usage: accelerator-seconds etc. per group over [from, to) (default: this UTC month). */
export function usageReport(
  baseUrl: string,
  token: string,
  q: { groupBy: string; from?: string; to?: string; tenant?: string },
  fetchImpl?: typeof fetch,
): Promise<UsageReport> {
  const p = new URLSearchParams({ groupBy: q.groupBy });
  if (q.from) p.set('from', q.from);
  if (q.to) p.set('to', q.to);
  if (q.tenant) p.set('tenant', q.tenant);
  return getJson(baseUrl, token, `/api/v1/usage?${p.toString()}`, fetchImpl);
}

/** GET /api/v1/usage?format=csv as text (for a download). */
export async function usageCsv(
  baseUrl: string,
  token: string,
  q: { groupBy: string; from?: string; to?: string },
  fetchImpl: typeof fetch = fetch,
): Promise<string> {
  const p = new URLSearchParams({ groupBy: q.groupBy, format: 'csv' });
  if (q.from) p.set('from', q.from);
  if (q.to) p.set('to', q.to);
  const res = await fetchImpl(`${baseUrl.replace(/\/+$/, '')}/api/v1/usage?${p.toString()}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new ApiClientError(res.status, `HTTP_${res.status}`, await res.text());
  return res.text();
}

/** GET /api/v1/budgets: monthly accelerator-hour budgets with used and reserved hours. */
export function listBudgets(baseUrl: string, token: string, fetchImpl?: typeof fetch): Promise<BudgetList> {
  return getJson(baseUrl, token, '/api/v1/budgets', fetchImpl);
}
