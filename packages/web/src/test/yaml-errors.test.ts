import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locateErrors, yamlSyntaxError } from '../lib/yaml-errors.js';

const SPEC = `name: bad name!
command:
  - python
  - 3
resources:
  accelerators: -1
  colour: blue
`;

test('field errors land on the lines they name', () => {
  const got = locateErrors(SPEC, [
    { path: 'name', message: 'must be …' },
    { path: 'command.1', message: 'must be a string' },
    { path: 'resources.accelerators', message: 'must be a whole number' },
    { path: 'resources.colour', message: 'is not a known field' },
    { path: 'body.resources', message: 'x' },
    { path: 'project', message: 'missing' },
    { path: '', message: 'spec-level' },
  ]);
  assert.deepEqual(
    got.map((e) => e.line),
    [1, 4, 6, 7, 5, null, null],
  );
});

test('a YAML syntax error names its line', () => {
  assert.equal(yamlSyntaxError(SPEC), null);
  const e = yamlSyntaxError('name: a\ncommand: [x\nresources: {}\n');
  assert.ok(e);
  assert.ok(e.line >= 2, `line ${e.line}`);
});
