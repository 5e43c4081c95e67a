#!/usr/bin/env node
// Runs the compiled test files (packages/*/dist/**/*.test.js) with node's built-in test runner.
// Usage: node scripts/run-tests.mjs [--suite unit|slurm|e2e|all] [filter...]
// Suites: files named *.slurm.test.js need a running Slurm cluster (npm run test:slurm) and
// *.e2e.test.js need Chromium (npm run test:e2e); the default `npm test` runs everything else.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
let suite = 'unit';
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--suite') suite = args[++i] ?? 'unit';
  else filters.push(args[i]);
}

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (e === 'node_modules') continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync('packages')) walk(join('packages', pkg, 'dist'), files);
const kind = (f) => (f.endsWith('.slurm.test.js') ? 'slurm' : f.endsWith('.e2e.test.js') ? 'e2e' : 'unit');
const selected = files
  .filter((f) => suite === 'all' || kind(f) === suite)
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (selected.length === 0) {
  console.error(
    `no test files for suite "${suite}"${filters.length ? ` matching ${filters.join(', ')}` : ''}`,
  );
  process.exit(1);
}
// The PostgreSQL contract suites need a server. When none is configured and this machine can run
// one (root, Debian's postgresql-15 installed), the test setup starts a throwaway one and stops it
// afterwards; otherwise those suites skip with a message (and fail under CI).
let startedPg = false;
// Servers started by tests run jobs unconfined unless a test asks for confinement itself (the
// confinement suites do, and remove the Unix accounts they create): otherwise every test tenant
// would leave an sl-<tenant> account behind on the machine.
const env = { SUANLI_CONFINE: 'off', ...process.env, SUANLI_TEST: '1' };
if (
  !env.SUANLI_TEST_PG_URL &&
  !existsSync('/run/suanli-pg/url') &&
  process.getuid?.() === 0 &&
  existsSync('/usr/lib/postgresql/15/bin/pg_ctl')
) {
  const up = spawnSync('bash', ['scripts/pg-ci.sh', 'up'], { encoding: 'utf8' });
  if (up.status === 0) {
    startedPg = true;
    console.error('test setup: started a throwaway PostgreSQL (scripts/pg-ci.sh up)');
  } else console.error(`test setup: could not start PostgreSQL; its suites will skip:\n${up.stderr}`);
}
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', ...selected],
  { stdio: 'inherit', env },
);
if (startedPg) spawnSync('bash', ['scripts/pg-ci.sh', 'down'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
