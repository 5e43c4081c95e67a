/**
 * The worker thread of `WorkerPolicyRunner`: one policy host running the built-in policy, built
 * from the configuration it was started with. It answers each cycle message with the host's output
 * or the error that stopped it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createSuanliPolicy, type PolicyConfig } from '@suanli/core';
import { PolicyHost } from './policy-host.js';
import type { FromWorker, ToWorker } from './policy-runner.js';

const port = parentPort;
if (port === null) throw new Error('policy-worker.js runs as a worker thread only');
const { config } = workerData as { config: PolicyConfig };
const host = new PolicyHost(createSuanliPolicy(config), () => performance.now());

port.on('message', (m: ToWorker) => {
  let reply: FromWorker;
  try {
    reply = { id: m.id, output: host.cycle(m.input) };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
});
