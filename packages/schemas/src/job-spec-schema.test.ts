import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { compileJobSpec, FRAMEWORKS, JOB_SPEC_LIMITS as L, type FieldError } from '@suanli/core';
import { JobSpecInputSchema } from './index.js';

/** Mostly valid values, sometimes invalid ones: whole specs are then often valid, often not. */
const mix = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: invalid, weight: 1 });
const pick = (...xs: unknown[]): fc.Arbitrary<unknown> => fc.constantFrom(...xs);
/** An object that now and then has a field no spec knows. */
const sometimesUnknown = <T extends object>(arb: fc.Arbitrary<T>, field: string) =>
  fc.tuple(arb, fc.integer({ min: 0, max: 9 })).map(([o, n]) => (n === 0 ? { ...o, [field]: 1 } : o));

const name = mix(
  pick('train', 'a', 'a.b_c-1', 'R2', 'x'.repeat(L.nameMaxChars)),
  pick('', '-bad', 'x'.repeat(L.nameMaxChars + 1), 'héllo', 'a b', 5, null),
);
const arg = mix(
  pick('python', 'train.py', '', '--lr=0.1', 'x'.repeat(L.argMaxChars)),
  pick('a\0b', 'x'.repeat(L.argMaxChars + 1), 3),
);
const command = mix(
  fc.array(arg, { minLength: 1, maxLength: 4 }),
  fc.oneof(
    pick(
      [],
      'python train.py',
      Array.from({ length: L.commandMaxArgs + 1 }, () => 'a'),
    ),
    fc.array(arg, { minLength: 1, maxLength: 4 }),
  ),
);
const workingDir = mix(
  pick('/home/alice', '/', '/' + 'x'.repeat(L.workingDirMaxChars - 1)),
  pick('rel/path', '/a\0', '/' + 'x'.repeat(L.workingDirMaxChars), 3),
);
const envName = mix(
  pick('A', '_x', 'PATH', 'CUDA_VISIBLE_DEVICES_2', 'SUANLI', 'X'.repeat(L.envNameMaxChars)),
  pick(
    '1A',
    'a-b',
    '',
    'SUANLI_X',
    'CUDA_VISIBLE_DEVICES',
    'ASCEND_RT_VISIBLE_DEVICES',
    'X'.repeat(L.envNameMaxChars + 1),
  ),
);
const envValue = mix(
  pick('v', '', 1, 0, 1.5, -3, true, false, 'x'.repeat(L.envValueMaxChars)),
  pick(null, {}, [], 'a\0', 'x'.repeat(L.envValueMaxChars + 1)),
);
const env = mix(
  fc.dictionary(envName as fc.Arbitrary<string>, envValue, { maxKeys: 4 }),
  pick('A=1', ['A'], Object.fromEntries(Array.from({ length: L.envMaxVars + 1 }, (_, i) => [`V${i}`, '1']))),
);
const acceleratorType = mix(
  pick(
    'nvidia-h200',
    'ascend-910b',
    ['nvidia-h200', 'nvidia-h100'],
    ['a'],
    Array.from({ length: L.acceleratorTypesMax }, (_, i) => `t${i}`),
  ),
  pick(
    'A100',
    [],
    'x'.repeat(L.nameMaxChars + 1),
    Array.from({ length: L.acceleratorTypesMax + 1 }, (_, i) => `t${i}`),
    5,
    [5],
  ),
);
const memory = mix(
  pick('16Gi', ' 512Mi ', '1.5G', '16 GB', '100', 0, 1024.5, L.memoryMiBMax),
  pick('16Q', '', -1, L.memoryMiBMax + 0.5, '99999999Ti', true),
);
const resources = mix(
  sometimesUnknown(
    fc.record(
      {
        accelerators: mix(
          pick(0, 1, 8, L.acceleratorsPerReplicaMax),
          pick(-1, 1.5, '1', L.acceleratorsPerReplicaMax + 1),
        ),
        acceleratorType,
        cpu: mix(pick(0.5, 1, 96, L.cpuCoresMax), pick(0, -1, '2', L.cpuCoresMax + 0.5)),
        memory,
      },
      { requiredKeys: [] },
    ),
    'gpu',
  ),
  pick(4, 'gpu', null),
);
const duration = pick('90s', ' 30m ', '2h', '1d12h', '10', 60);
const badDuration = pick('0s', '0', '', 'abc', '1.5h', 0, -5, 1.5, '2 h');
const spec = sometimesUnknown(
  fc.record(
    {
      name,
      project: name,
      command,
      workingDir,
      env,
      resources,
      replicas: mix(pick(1, 2, L.replicasMax), pick(0, L.replicasMax + 1, 2.5, '2')),
      timeLimit: mix(
        fc.oneof(duration, pick(L.timeLimitSecondsMax)),
        fc.oneof(badDuration, pick(L.timeLimitSecondsMax + 1, '366d')),
      ),
      priority: mix(
        pick('high', 'low', 0, L.priorityAbsMax, -L.priorityAbsMax),
        pick(L.priorityAbsMax + 1, 0.5, '-bad', true),
      ),
      retry: mix(
        sometimesUnknown(
          fc.record(
            {
              maxAttempts: mix(pick(1, 3, L.maxAttemptsMax), pick(0, L.maxAttemptsMax + 1, '3')),
              retryOn: mix(
                pick(['lost'], ['failed', 'user', 'lost'], [], ['lost', 'lost']),
                pick(['x'], 'lost'),
              ),
              backoff: mix(
                fc.oneof(duration, pick(0)),
                fc.oneof(
                  badDuration.filter((d) => d !== 0),
                  pick('0'),
                ),
              ),
            },
            { requiredKeys: [] },
          ),
          'delay',
        ),
        pick('3', null),
      ),
      preemptible: mix(pick(true, false), pick('yes', 1)),
      checkpointInterval: mix(duration, badDuration),
      framework: mix(pick(...FRAMEWORKS), pick('jax', 1)),
      checkpoint: mix(
        fc.record(
          {
            signal: mix(
              pick('SIGUSR1', 'usr1', 'SIGusr2', 'TERM', 'SIGHUP', 'int'),
              pick('sigterm', 'KILL', 'SIGKILL', 'SIG', 15),
            ),
            grace: mix(
              fc.oneof(duration, pick(0, L.checkpointGraceSecondsMax)),
              fc.oneof(
                badDuration.filter((d) => d !== 0),
                pick(L.checkpointGraceSecondsMax + 1, '2h'),
              ),
            ),
          },
          { requiredKeys: [] },
        ),
        pick('SIGUSR1', { signal: 'SIGUSR1', after: 1 }),
      ),
    },
    { requiredKeys: ['name', 'command', 'resources'] },
  ),
  'gpus',
);

/** What JSON Schema cannot say (see JobSpecInputSchema): totals, and strings bounded by their value. */
function explained(e: FieldError, s: Record<string, unknown>): boolean {
  if (e.path === '' && e.message.includes('compiled spec')) return true;
  if ((e.path === 'command' || e.path === 'env') && e.message.includes('in all')) return true;
  const byValue: Record<string, unknown> = {
    timeLimit: s['timeLimit'],
    'resources.memory': (s['resources'] as Record<string, unknown> | undefined)?.['memory'],
    'checkpoint.grace': (s['checkpoint'] as Record<string, unknown> | undefined)?.['grace'],
  };
  return e.path in byValue && typeof byValue[e.path] === 'string';
}

test('the job spec schema and compileJobSpec accept the same specs, but for the rules JSON Schema cannot say', (t) => {
  const seen = { bothAccept: 0, bothReject: 0, explained: 0 };
  fc.assert(
    fc.property(spec, (s: Record<string, unknown>) => {
      const bySchema = Value.Check(JobSpecInputSchema, s);
      const compiled = compileJobSpec(s);
      if (bySchema && compiled.ok) seen.bothAccept++;
      else if (!bySchema && !compiled.ok) seen.bothReject++;
      else if (bySchema) {
        const errors = compiled.ok ? [] : compiled.errors;
        const unexplained = errors.filter((e) => !explained(e, s));
        assert.deepEqual(unexplained, [], 'the schema accepts a spec compileJobSpec rejects');
        seen.explained++;
      } else {
        const first = [...Value.Errors(JobSpecInputSchema, s)][0];
        assert.fail(`compileJobSpec accepts a spec the schema rejects: ${first?.path} ${first?.message}`);
      }
    }),
    { numRuns: 3000, seed: 18 },
  );
  t.diagnostic(`outcomes over 3000 generated specs: ${JSON.stringify(seen)}`);
  // the runs cover all three outcomes, so the comparison is not vacuous
  assert.ok(seen.bothAccept > 100, JSON.stringify(seen));
  assert.ok(seen.bothReject > 100, JSON.stringify(seen));
  assert.ok(seen.explained > 10, JSON.stringify(seen));
});

test('the schema states the core’s limits: every maximum comes from JOB_SPEC_LIMITS', () => {
  const p = JobSpecInputSchema.properties;
  assert.equal(p.name.maxLength, L.nameMaxChars);
  assert.equal(p.command.maxItems, L.commandMaxArgs);
  assert.equal(p.command.items.maxLength, L.argMaxChars);
  assert.equal(p.env.maxProperties, L.envMaxVars);
  assert.equal(p.resources.properties.accelerators.maximum, L.acceleratorsPerReplicaMax);
  assert.equal(p.replicas.maximum, L.replicasMax);
  assert.equal(p.retry.properties.maxAttempts.maximum, L.maxAttemptsMax);
  // env values a YAML spec writes unquoted (PORT: 8080, DEBUG: true) are accepted by both
  const withEnv = {
    name: 'a',
    command: ['x'],
    resources: { accelerators: 0 },
    env: { PORT: 8080, DEBUG: true },
  };
  assert.ok(Value.Check(JobSpecInputSchema, withEnv));
  assert.ok(compileJobSpec(withEnv).ok);
});
