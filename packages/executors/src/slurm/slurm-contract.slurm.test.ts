/** The executor contract suite against the real Slurm cluster of scripts/slurm-ci.sh. */
import { before } from 'node:test';
import { defineExecutorContract } from '../contract.js';
import assert from 'node:assert/strict';
import { createSlurmExecutor, parseSlurmRef } from './executor.js';
import { TEST_SLURM, requireSlurmCluster } from './test-cluster.js';

before(requireSlurmCluster);

defineExecutorContract('slurm', () => createSlurmExecutor(TEST_SLURM), {
  // Slurm starts jobs on its next scheduling pass (0-3 s) and we poll every 500 ms.
  startTimeoutMs: 20_000,
  exitTimeoutMs: 20_000,
  cancelGraceMs: 2_000,
  // Log directories must be visible to the compute nodes: in CI they are all this machine.
  logRoot: '/tmp',
  // Jobs run as the tenant's account (sl-tenant-c) and write their files there.
  rootMode: 0o1777,
  // Another Slurm job: an earlier job of the suite (submitted at another time, or in the same
  // second: then its comment names another attempt) or none at all.
  forgeRef: (ref) => {
    const r = parseSlurmRef(ref);
    assert.ok(r !== null, ref);
    return String(Math.max(1, r.slurmId - 1));
  },
});
