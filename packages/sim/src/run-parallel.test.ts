import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from './run.js';
import { job } from './testing.js';

test('runSim({ parallel }) gives the same runs and metrics as one policy after the other', () => {
  const jobs = Array.from({ length: 60 }, (_, i) =>
    job(`j${i}`, i * 30, 200 + ((i * 37) % 900), [1, 2, 4, 8][i % 4], `t${i % 3}`),
  );
  const options = {
    jobs,
    nodes: 2,
    acceleratorsPerNode: 8,
    policy: 'fifo,easy,sjf-oracle,srtf-oracle,tiresias',
  };
  const serial = runSim(options);
  const parallel = runSim({ ...options, parallel: 2 });
  const strip = (r: typeof serial): unknown => ({
    setup: r.setup,
    results: r.results.map(({ sim_seconds: _s, ...m }) => m),
    runs: r.runs.map(({ wallMs: _w, ...run }) => run),
  });
  assert.deepStrictEqual(strip(parallel), strip(serial));
});

test('runSim({ parallel }) reports an unknown policy as the serial run does', () => {
  assert.throws(
    () =>
      runSim({ jobs: [job('a', 0, 10)], nodes: 1, acceleratorsPerNode: 8, policy: 'fifo,nope', parallel: 2 }),
    /unknown policy "nope"/,
  );
});
