import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERRORS } from './errors.js';

// dist/errors.test.js → repository root
const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
const documented = new Map<string, number>();
for (const m of doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) documented.set(m[1] ?? '', Number(m[2]));

test('every error code in the registry is documented with its HTTP status', () => {
  for (const [code, def] of Object.entries(ERRORS)) {
    assert.equal(
      documented.get(code),
      def.status,
      `docs/errors.md must list ${code} with status ${def.status}`,
    );
  }
});

test('every documented error code exists in the registry', () => {
  for (const code of documented.keys())
    assert.ok(code in ERRORS, `docs/errors.md lists ${code}, which errors.ts does not define`);
});

test('user errors are 4xx and platform errors 5xx', () => {
  for (const [code, def] of Object.entries(ERRORS)) {
    const platform = code === 'INTERNAL' || code === 'STORE_UNAVAILABLE' || code === 'STORAGE_FULL';
    assert.equal(def.status >= 500, platform, `${code} has status ${def.status}`);
  }
});
