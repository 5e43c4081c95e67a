/**
 * Test helper, run as a separate Node process by crash.test.ts: it plays the server, launches one
 * attempt with a LocalExecutor, prints the ref as one JSON line, and then waits to be `kill -9`ed.
 * Usage: node crash-child.js <logDir> <script>
 */
import { LocalExecutor } from './local-executor.js';

const [logDir, script] = process.argv.slice(2);
if (logDir === undefined || script === undefined) {
  process.stderr.write('usage: crash-child.js <logDir> <script>\n');
  process.exit(2);
}
const node = {
  name: 'crash-node',
  state: 'ready' as const,
  accelerators: [],
  cpuMillis: 1000,
  memoryMiB: 1024,
  topology: {},
  labels: {},
};
const ex = new LocalExecutor({ inventory: async () => [node], nodeName: node.name });
const { ref } = await ex.launch({
  jobId: 'crash-1',
  jobName: 'crash',
  tenant: 't',
  project: 'p',
  attempt: 1,
  spec: {
    name: 'crash',
    project: 'p',
    command: ['/bin/sh', '-c', script],
    workingDir: null,
    env: {},
    replicas: 1,
    perReplica: { accelerators: 0, acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
    timeLimitSeconds: null,
    priorityClass: null,
    priority: null,
    retry: { maxAttempts: 1, retryOn: [], backoffSeconds: 0 },
    preemptible: true,
    checkpointIntervalSeconds: null,
  },
  placement: [{ node: node.name, acceleratorIds: [], cpuMillis: 0, memoryMiB: 0 }],
  nodes: [node],
  logDir,
  unixUser: null,
});
process.stdout.write(`${JSON.stringify({ ref })}\n`);
// Stay alive (bounded: 60 s) until the test kills us.
setTimeout(() => process.exit(3), 60_000);
