/**
 * A registry code that no code path can return is a lie in the documentation: every code must be
 * raised somewhere outside the registry (API routes and hooks, or the engine's JobService, whose
 * codes the API passes through).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERRORS } from './errors.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (e.endsWith('.js') && !e.endsWith('.test.js') && e !== 'errors.js' && e !== 'test-fixture.js')
      out.push(readFileSync(p, 'utf8'));
  }
  return out;
}

test('every error code in the registry is returned by some code path', () => {
  const here = fileURLToPath(new URL('.', import.meta.url)); // packages/api/dist
  const text = [...sources(here), ...sources(join(here, '../../engine/dist'))].join('\n');
  const unused = Object.keys(ERRORS).filter((code) => !text.includes(`'${code}'`));
  assert.deepEqual(
    unused,
    [],
    'remove these codes from errors.ts and docs/errors.md, or make them returnable',
  );
});
