import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  gypfile?: boolean;
  scripts?: Record<string, string>;
}

/** Finds an installed package the way Node does: node_modules/NAME in this directory or above. */
function locate(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed above ${from}`);
  }
}

/** The packages a package needs at run time: its `dependencies`, transitively. */
function runtimeClosure(root: string): Map<string, { dir: string; manifest: Manifest }> {
  const seen = new Map<string, { dir: string; manifest: Manifest }>();
  const visit = (dir: string) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    if (seen.has(manifest.name)) return;
    seen.set(manifest.name, { dir, manifest });
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(locate(dep, dir));
  };
  visit(root);
  return seen;
}

const clientDir = join(dirname(fileURLToPath(import.meta.url)), '..');

test("the client's run-time dependencies hold nothing of the server: no engine, store, executors or native module", () => {
  const closure = runtimeClosure(clientDir);
  const names = [...closure.keys()].sort();
  for (const server of [
    '@suanli/api',
    '@suanli/engine',
    '@suanli/store',
    '@suanli/executors',
    'fastify',
    'better-sqlite3',
    'pg',
  ]) {
    assert.ok(
      !closure.has(server),
      `@suanli/client depends at run time on ${server} (closure: ${names.join(', ')})`,
    );
  }
  for (const [name, { dir, manifest }] of closure) {
    const native =
      manifest.gypfile === true ||
      existsSync(join(dir, 'binding.gyp')) ||
      manifest.scripts?.['install'] !== undefined;
    assert.ok(!native, `${name} builds a native module`);
  }
  // the wire schemas come from their own package, which needs only TypeBox and the pure core
  assert.deepEqual(names, ['@sinclair/typebox', '@suanli/client', '@suanli/core', '@suanli/schemas']);
});
