/**
 * A worker thread of `runSim({ parallel })`: takes policies one at a time (a shared counter over
 * the order the main thread chose), simulates each exactly as the main thread would and posts the
 * run and its metrics back. Everything is posted, errors included, and a failure of the worker
 * itself is flagged in the shared state, so that the main thread, which waits synchronously,
 * always hears back.
 */
import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'node:worker_threads';
import type { PolicyRunInput } from './simulate-policy.js';

export interface WorkerInput extends PolicyRunInput {
  readonly names: readonly string[];
  /** Positions in `names`, in the order to take them. */
  readonly order: readonly number[];
  /** Int32 [next position in `order` to take, policies finished, a worker failed]. */
  readonly state: SharedArrayBuffer;
  readonly port: MessagePort;
}

/** The slots of `WorkerInput.state` (run.ts uses the same positions). */
const NEXT = 0;
const DONE = 1;
const FAILED = 2;

async function work(input: WorkerInput, state: Int32Array): Promise<void> {
  const { simulatePolicy } = await import('./simulate-policy.js');
  for (;;) {
    const k = Atomics.add(state, NEXT, 1);
    if (k >= input.order.length) break;
    const index = input.order[k]!;
    const name = input.names[index]!;
    try {
      input.port.postMessage({ index, ...simulatePolicy(name, input) });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      input.port.postMessage({ index, error: { name: err.name, message: err.message } });
    }
    Atomics.add(state, DONE, 1);
    Atomics.notify(state, DONE);
  }
}

const input = workerData as WorkerInput;
const state = new Int32Array(input.state);
work(input, state)
  .catch((e: unknown) => {
    input.port.postMessage({ index: -1, error: { name: 'Error', message: `worker: ${String(e)}` } });
    Atomics.store(state, FAILED, 1);
    Atomics.notify(state, DONE);
  })
  .finally(() => input.port.close());
