#!/usr/bin/env node
// Runs the compiled test files (packages/*/dist/**/*.test.js) with node's built-in test runner.
// Usage: node scripts/run-tests.mjs [--suite unit|slurm|e2e|all] [filter...]
// Suites: files named *.slurm.test.js need a running Slurm cluster (npm run test:slurm) and
// *.e2e.test.js need Chromium (npm run test:e2e); the default `npm test` runs everything else.
import { readdirSync, statSync } from 'node:fs';
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
  console.error(`no test files for suite "${suite}"${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...selected], {
  stdio: 'inherit',
  env: { ...process.env, SUANLI_TEST: '1' },
});
process.exit(r.status ?? 1);
