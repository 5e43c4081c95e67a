/**
 * Helpers over @suanli/client for the console. Additions the client does not have (yet) live here
 * as thin wrappers over the public API:
 * - loadJobs: pages through GET /api/v1/jobs up to a bound;
 * - fetchApiPaths: reads the server's OpenAPI document (GET /api/v1/openapi.json, no token needed)
 *   to learn which capabilities (bookings, usage, tenants) this server offers.
 */
import { ApiClientError, type JobView, type ListJobsQuery, type SuanliClient } from '@suanli/client';

/** The most jobs one view loads; beyond it the view says so and asks for a filter. */
export const JOBS_LOADED_MAX = 20_000;
/** Page size for GET /api/v1/jobs (the server's maximum). */
export const JOBS_PAGE = 1000;

export async function loadJobs(client: SuanliClient, q: Omit<ListJobsQuery, 'limit' | 'before'>, max = JOBS_LOADED_MAX): Promise<{ jobs: JobView[]; truncated: boolean }> {
  const jobs: JobView[] = [];
  let before: number | undefined;
  for (let page = 0; page * JOBS_PAGE < max; page++) {
    const res = await client.listJobs({ ...q, limit: Math.min(JOBS_PAGE, max - jobs.length), ...(before ? { before } : {}) });
    jobs.push(...res.jobs);
    if (res.nextBefore === null) return { jobs, truncated: false };
    before = res.nextBefore;
  }
  return { jobs, truncated: true };
}

let pathsPromise: Promise<ReadonlySet<string>> | null = null;

export function fetchApiPaths(baseUrl: string): Promise<ReadonlySet<string>> {
  pathsPromise ??= fetch(`${baseUrl.replace(/\/+$/, '')}/api/v1/openapi.json`, { headers: { accept: 'application/json' } })
    .then(async (r) => {
      if (!r.ok) throw new ApiClientError(r.status, 'HTTP_' + r.status, `GET /api/v1/openapi.json answered ${r.status}`);
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
