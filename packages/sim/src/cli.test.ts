import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli.js';
import { decodePng } from './testing-png.js';

const SLICE = fileURLToPath(new URL('../fixtures/philly-2017-10-03.csv', import.meta.url));

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(
    args,
    (s) => (out += s),
    (s) => (err += s),
  );
  return { code, out, err };
}

test('--json prints one document with a result per policy', () => {
  const r = cli([
    '--trace',
    SLICE,
    '--nodes',
    '4',
    '--accelerators-per-node',
    '8',
    '--policy',
    'fifo,easy',
    '--json',
  ]);
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.out) as {
    results: {
      policy: string;
      mean_jct_s: number;
      p99_queue_s: number;
      utilization: number;
      makespan_s: number;
    }[];
    setup: { jobs: number };
  };
  assert.deepEqual(
    doc.results.map((x) => x.policy),
    ['fifo', 'easy'],
  );
  assert.equal(doc.setup.jobs, 339);
  for (const x of doc.results)
    for (const k of ['mean_jct_s', 'p99_jct_s', 'mean_queue_s', 'p99_queue_s', 'utilization', 'makespan_s'])
      assert.equal(typeof (x as Record<string, unknown>)[k], 'number', k);
});

test('--parallel 2 runs the policies in worker threads with the same results', () => {
  const args = [
    '--trace',
    SLICE,
    '--nodes',
    '4',
    '--accelerators-per-node',
    '8',
    '--policy',
    'fifo,easy',
    '--json',
  ];
  const strip = (out: string): unknown => {
    const doc = JSON.parse(out) as { results: Record<string, unknown>[] };
    return doc.results.map(({ sim_seconds: _s, ...rest }) => rest);
  };
  const serial = cli(args);
  const parallel = cli([...args, '--parallel', '2']);
  assert.equal(parallel.code, 0, parallel.err);
  assert.deepEqual(strip(parallel.out), strip(serial.out));
  assert.match(cli([...args, '--parallel', '1.5']).err, /--parallel must be a whole number ≥ 1/);
});

test('markdown by default; --plots writes three SVGs and three PNGs; --bench reports time per policy on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-plots-'));
  const r = cli([
    '--trace',
    SLICE,
    '--nodes',
    '4',
    '--accelerators-per-node',
    '8',
    '--policy',
    'fifo',
    '--plots',
    dir,
    '--bench',
  ]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^Trace .* 339 jobs/);
  assert.match(r.out, /\| fifo \| /);
  assert.match(r.err, /bench fifo: \d+\.\d+ s/);
  assert.deepEqual(readdirSync(dir).sort(), [
    'jct-cdf.png',
    'jct-cdf.svg',
    'tenant-wait.png',
    'tenant-wait.svg',
    'utilization.png',
    'utilization.svg',
  ]);
  assert.match(readFileSync(join(dir, 'jct-cdf.svg'), 'utf8'), /^<svg [^>]*>.*<polyline/s);
  for (const name of ['jct-cdf.png', 'tenant-wait.png', 'utilization.png']) {
    const png = decodePng(readFileSync(join(dir, name))); // signature, CRCs, chunks, inflate
    assert.deepEqual([png.width, png.height], [1640, 840], name);
  }
});

test('cluster file: groups of nodes; bad fields are named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cluster-'));
  const good = join(dir, 'c.json');
  writeFileSync(
    good,
    JSON.stringify({
      groups: [
        { count: 2, acceleratorsPerNode: 8, type: 'nvidia-v100', switch: 'a' },
        { count: 2, acceleratorsPerNode: 8, type: 'nvidia-v100' },
      ],
    }),
  );
  const r = cli(['--trace', SLICE, '--cluster', good, '--policy', 'easy', '--json']);
  assert.equal(r.code, 0);
  assert.equal((JSON.parse(r.out) as { setup: { accelerators: number } }).setup.accelerators, 32);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ groups: [{ count: 2, gpus: 8 }] }));
  const b = cli(['--trace', SLICE, '--cluster', bad]);
  assert.equal(b.code, 2);
  assert.match(b.err, /cluster file: groups\[0\]\.gpus is not a known field/);
});

test('usage errors exit 2 with a message', () => {
  assert.match(cli(['--nodes', 'x', '--trace', SLICE]).err, /--nodes must be a number ≥ 1, got "x"/);
  assert.equal(cli(['--frobnicate']).code, 2);
  const missing = cli(['--trace', '/nonexistent.csv', '--nodes', '1', '--accelerators-per-node', '8']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /ENOENT/);
});

test("policy file in YAML (the server's format) drives suanli; a bad one is refused with the field named", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-policy-'));
  const good = join(dir, 'p.yaml');
  writeFileSync(
    good,
    'fairShare: { enabled: true }\npreemption: { reclaim: false }\ntenants:\n  6214e9: { weight: 2, quotas: { gpu: { guaranteed: 8 } } }\n',
  );
  const r = cli([
    '--trace',
    SLICE,
    '--nodes',
    '4',
    '--accelerators-per-node',
    '8',
    '--policy',
    'suanli',
    '--policy-file',
    good,
    '--json',
  ]);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as { results: { policy: string; jobs: number; preemptions: number }[] };
  assert.equal(doc.results[0]!.jobs, 339);
  assert.equal(doc.results[0]!.preemptions, 0, 'reclaim off: no preemption');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'tenants:\n  a: { wieght: 1 }\n');
  const b = cli([
    '--trace',
    SLICE,
    '--nodes',
    '4',
    '--accelerators-per-node',
    '8',
    '--policy',
    'suanli',
    '--policy-file',
    bad,
  ]);
  assert.equal(b.code, 2);
  assert.match(b.err, /policy file: tenants\.a\.wieght: unknown field/);
});
