/**
 * Test fixtures live in the SOURCE tree (src/discovery/fixtures/, committed); compiled tests run
 * from dist/discovery/, so they are read through a path relative to the compiled file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../src/discovery/fixtures/${name}`, import.meta.url));
}

/** The fixture's text without its `#` header lines (the provenance notes). */
export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}
