/**
 * Runs the policy host (`policy-host.ts`) for the engine: inline, or in a worker thread.
 *
 * In a worker, the policy's CPU time (tens of milliseconds per cycle at 100,000 waiting jobs)
 * never runs on the thread that answers the API: a submission or a listing is served while a cycle
 * is being decided. Only the changes cross the thread boundary (see `CycleInput`). The worker
 * builds the policy from its configuration (`createSuanliPolicy(config)`), so only the built-in
 * policy runs there; a policy given as an object (tests, the simulator's baselines) runs inline.
 *
 * `fresh` says the host holds no pending list (just made, restarted after a failure, or given a
 * new policy): the engine then sends a reset with every pending job.
 */
import { Worker } from 'node:worker_threads';
import type { PolicyConfig, SchedulingPolicy } from '@suanli/core';
import { PolicyHost, type CycleInput, type CycleOutput } from './policy-host.js';

export interface PolicyRunner {
  readonly where: 'inline' | 'worker';
  readonly fresh: boolean;
  cycle(input: CycleInput): Promise<CycleOutput>;
  close(): Promise<void>;
}

export class InlinePolicyRunner implements PolicyRunner {
  readonly where = 'inline';
  private readonly host: PolicyHost;
  fresh = true;

  constructor(policy: SchedulingPolicy) {
    this.host = new PolicyHost(policy, () => performance.now());
  }

  cycle(input: CycleInput): Promise<CycleOutput> {
    try {
      const out = this.host.cycle(input);
      this.fresh = false;
      return Promise.resolve(out);
    } catch (err) {
      this.fresh = true;
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Messages to the worker. */
export type ToWorker = { readonly id: number; readonly input: CycleInput };
/** Messages from the worker. */
export type FromWorker =
  { readonly id: number; readonly output: CycleOutput } | { readonly id: number; readonly error: string };

export class WorkerPolicyRunner implements PolicyRunner {
  readonly where = 'worker';
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (o: CycleOutput) => void; reject: (e: Error) => void }
  >();
  private closed = false;
  fresh = true;

  constructor(private readonly config: PolicyConfig) {}

  cycle(input: CycleInput): Promise<CycleOutput> {
    if (this.closed) return Promise.reject(new Error('the policy runner is closed'));
    const worker = this.worker ?? this.spawn();
    const id = this.nextId++;
    return new Promise<CycleOutput>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, input } satisfies ToWorker);
    }).then(
      (out) => {
        this.fresh = false;
        return out;
      },
      (err: unknown) => {
        // A failed cycle leaves the host's list in doubt: the next cycle starts it over.
        this.fresh = true;
        throw err;
      },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
    this.failAll(new Error('the policy runner closed during a cycle'));
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./policy-worker.js', import.meta.url), {
      workerData: { config: this.config },
    });
    worker.on('message', (m: FromWorker) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if ('error' in m) w.reject(new Error(`policy: ${m.error}`));
      else w.resolve(m.output);
    });
    const lost = (why: string) => {
      if (this.worker === worker) this.worker = null;
      this.fresh = true;
      this.failAll(new Error(`the policy worker ${why}`));
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    this.worker = worker;
    this.fresh = true;
    return worker;
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
