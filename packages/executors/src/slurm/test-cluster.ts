/**
 * How the `*.slurm.test.ts` files reach the CI cluster of `scripts/slurm-ci.sh`, and the check that
 * makes them fail loudly (never pass silently) when it is not up.
 * Overrides: SUANLI_TEST_SLURM_URL, SUANLI_TEST_SLURM_JWT_KEY, SUANLI_TEST_SLURM_USER.
 */
import type { ExecutionEvent } from '../executor.js';
import { SlurmRestClient } from './client.js';
import { createSlurmExecutor, type SlurmExecutor } from './executor.js';
import type { SlurmExecutorOptions } from './options.js';

export const TEST_SLURM: SlurmExecutorOptions = {
  url: process.env['SUANLI_TEST_SLURM_URL'] ?? 'http://127.0.0.1:6820',
  jwtKeyFile: process.env['SUANLI_TEST_SLURM_JWT_KEY'] ?? '/etc/slurm/jwt_hs256.key',
  user: process.env['SUANLI_TEST_SLURM_USER'] ?? 'root',
  partition: 'main',
  pollIntervalMs: 500,
};

/** Throws with instructions when slurmrestd (and through it slurmctld) does not answer. */
export async function requireSlurmCluster(): Promise<void> {
  const c = new SlurmRestClient({
    url: TEST_SLURM.url,
    auth: { kind: 'jwt-key', user: TEST_SLURM.user!, keyFile: TEST_SLURM.jwtKeyFile!, lifespanSeconds: 600 },
    requestTimeoutMs: 5000,
  });
  try {
    await c.ping();
  } catch (e) {
    throw new Error(
      `the Slurm test cluster is not reachable at ${TEST_SLURM.url} (${(e as Error).message}). ` +
        'Start it with: bash scripts/slurm-ci.sh install && bash scripts/slurm-ci.sh up   (as root; stop it with: bash scripts/slurm-ci.sh down)',
      { cause: e },
    );
  } finally {
    c.close();
  }
}

/** Every event of `ex`, and a bounded wait for the first one matching `pred`. */
export function events(ex: SlurmExecutor): {
  log: ExecutionEvent[];
  wait: (pred: (e: ExecutionEvent) => boolean, ms: number, what: string) => Promise<ExecutionEvent>;
} {
  const log: ExecutionEvent[] = [];
  ex.onEvent((e) => log.push(e));
  return {
    log,
    async wait(pred, ms, what) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = log.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline)
          throw new Error(`timed out after ${ms} ms waiting for ${what}; events: ${JSON.stringify(log)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Runs `fn` with a fresh executor on the test cluster and its event log; closes it afterwards. */
export async function withSlurmExecutor<T>(
  fn: (ex: SlurmExecutor, ev: ReturnType<typeof events>) => Promise<T>,
): Promise<T> {
  const ex = createSlurmExecutor(TEST_SLURM);
  const ev = events(ex);
  try {
    return await fn(ex, ev);
  } finally {
    await ex.close();
  }
}
