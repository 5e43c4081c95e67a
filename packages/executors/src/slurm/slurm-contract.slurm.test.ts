/** The executor contract suite against the real Slurm cluster of scripts/slurm-ci.sh. */
import { before } from 'node:test';
import { defineExecutorContract } from '../contract.js';
import { createSlurmExecutor } from './executor.js';
import { TEST_SLURM, requireSlurmCluster } from './test-cluster.js';

before(requireSlurmCluster);

defineExecutorContract('slurm', () => createSlurmExecutor(TEST_SLURM), {
  // Slurm starts jobs on its next scheduling pass (0-3 s) and we poll every 500 ms.
  startTimeoutMs: 20_000,
  exitTimeoutMs: 20_000,
  cancelGraceMs: 2_000,
  // Log directories must be visible to the compute nodes: in CI they are all this machine.
  logRoot: '/tmp',
  // Another Slurm job id: an earlier job of the suite (another attempt's comment) or none at all.
  forgeRef: (ref) => String(Math.max(1, Number(ref) - 1)),
});
