import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY } from '@suanli/core';
import { compilePolicyText, DEFAULT_POLICY_DOCUMENT, PolicyError, PolicyManager } from './policy.js';

test('the default policy document compiles to exactly the built-in defaults', () => {
  assert.deepEqual(compilePolicyText(DEFAULT_POLICY_DOCUMENT, 'defaults'), DEFAULT_POLICY);
});

test('a missing file means the defaults; apply stores a valid document; invalid ones are refused and change nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-policy-'));
  try {
    const path = join(dir, 'policy.yaml');
    const m = await PolicyManager.open(path);
    assert.deepEqual(m.config, DEFAULT_POLICY);
    assert.equal(m.document, DEFAULT_POLICY_DOCUMENT);

    const good =
      'fairShare: { enabled: true, halfLife: 1d }\ntenants:\n  lab-a: { weight: 2, quotas: { gpu: { guaranteed: 1 } } }\n';
    await m.apply(good);
    assert.equal(await readFile(path, 'utf8'), good);
    assert.equal(m.config.fairShare.halfLifeMs, 24 * 3600 * 1000);
    assert.equal(m.config.tenants['lab-a']?.weight, 2);

    await assert.rejects(m.apply('tenants:\n  lab-a: { weight: -1, colour: blue }\n'), (e: unknown) => {
      assert.ok(e instanceof PolicyError);
      const paths = e.details.map((d) => d.path).sort();
      assert.ok(
        paths.some((p) => p.includes('weight')),
        paths.join(),
      );
      assert.ok(
        paths.some((p) => p.includes('colour')),
        paths.join(),
      );
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), good, 'the stored document is unchanged');
    assert.equal(m.config.tenants['lab-a']?.weight, 2, 'the running policy is unchanged');

    await writeFile(path, 'fairShare: { enabled: false }\n');
    await m.reload();
    assert.equal(m.config.fairShare.enabled, false);
    await assert.rejects(m.apply('tenants: [unclosed'), /not valid YAML/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the policy example in the README compiles', async () => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const m = /policy file looks like this[^\n]*\n\n```yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(m?.[1], 'README has the policy example');
  const config = compilePolicyText(m[1], 'README example');
  assert.deepEqual(Object.keys(config.tenants).sort(), ['lab-a', 'startup-b']);
});
