/**
 * Fuzzing every route of the OpenAPI document with malformed and hostile requests: wrong types,
 * huge strings, unicode, path traversal, prototype-pollution keys (`__proto__`, `constructor`),
 * deep nesting, bad content types and random bytes, with no token, a garbage token or a real token
 * of any role. Generated from the document itself, so new routes are fuzzed without a change here.
 *
 * Checked for every answer: no 5xx; an error answer carries a code from the registry with that
 * code's status; the server stays up. Mutating routes always get at least one defect (a bad path
 * parameter, an unparseable or unknown-field body, an unknown query key, or no valid token), so
 * every one of them must fail, and a snapshot of the store before and after must be identical.
 *
 * Seeded (fast-check) so a failure reproduces: SUANLI_FUZZ_SEED=<seed> SUANLI_FUZZ_RUNS=<per route>
 * (default 120 per route: about 5,000 requests in ~10 s; e.g. 1000 locally).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERRORS } from './errors.js';
import {
  ADMIN_TOKEN,
  NEVER_FITS,
  ROLES,
  caller,
  seedTenants,
  startTestServer,
  type TestServer,
  type Tokens,
} from './test-fixture.js';

const RUNS_PER_ROUTE = Number(process.env['SUANLI_FUZZ_RUNS'] ?? 120);
const SEED = Number(process.env['SUANLI_FUZZ_SEED'] ?? 20261128);
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly params: readonly string[];
  readonly query: readonly string[];
  readonly hasBody: boolean;
  readonly hasQuerySchema: boolean;
}

// ---- hostile value generators ----

const HOSTILE_STRINGS = [
  '../../../../etc/passwd',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fadmin-token',
  '....//....//admin-token',
  '/etc/shadow',
  'C:\\Windows\\system32',
  '__proto__',
  'constructor',
  'prototype',
  "' OR 1=1 --",
  '"; DROP TABLE jobs; --',
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '\u0000',
  'nul\u0000byte',
  '\uFEFF\u202Ertl',
  '算力🚀',
  '\uD800',
  ' ',
  '',
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
  '9'.repeat(400),
  '=cmd|calc!A1',
];

/** Path values that match no route's pattern (a valid-looking value could really create something). */
const PATH_DEFECTS = HOSTILE_STRINGS.filter((v) => !/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,62}$/.test(v));

const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => 'x'.repeat(n)),
);

/** Nested arrays/objects up to `depth` levels (built iteratively: no recursion in the generator). */
const deepNesting = fc.tuple(fc.integer({ min: 50, max: 400 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
});

const pollutionKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString');

const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 5 }),
  fc.dictionary(fc.oneof(hostileString, pollutionKey), hostileString, { maxKeys: 5 }),
  deepNesting,
);

/** A body object that always has at least one field no schema knows (`additionalProperties: false`). */
const objectWithUnknownField = fc
  .tuple(
    fc.dictionary(
      fc.constantFrom(
        'name',
        'command',
        'resources',
        'role',
        'tenant',
        'subject',
        'project',
        'acceleratorHours',
        'perAcceleratorHour',
        'currency',
        'reason',
        'displayName',
        'expiresInSeconds',
        'env',
        'tenants',
      ),
      jsonValue,
      { maxKeys: 6 },
    ),
    fc.oneof(pollutionKey, fc.constantFrom('zzUnknown', 'évil', '$where')),
    jsonValue,
  )
  .map(([o, k, v]) => {
    // JSON text, so __proto__ arrives as an own key (as an attacker would send it).
    const text = JSON.stringify(o);
    const extra = `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`;
    return text === '{}' ? `{${extra}}` : `${text.slice(0, -1)},${extra}}`;
  });

type BodyKind = { contentType: string | null; payload: string | Buffer };

const unparseableBody: fc.Arbitrary<BodyKind> = fc.oneof(
  fc
    .uint8Array({ minLength: 1, maxLength: 2000 })
    // A leading NUL: random bytes must never be valid JSON by luck (a "1" or "[]" would parse).
    .map((b) => ({
      contentType: 'application/json',
      payload: Buffer.concat([Buffer.from([0]), Buffer.from(b)]),
    })),
  fc.constantFrom('{', '{"a":', '[1,2', 'nul', '{"a":1}}', '\u0000', '{"__proto__":').map((p) => ({
    contentType: 'application/json',
    payload: p,
  })),
  fc.constantFrom('name: [unclosed', '*x', '{a: 1', 'a: b: c', '"unterminated').map((p) => ({
    contentType: 'application/yaml',
    payload: p,
  })),
  fc
    .tuple(
      fc.constantFrom(
        'text/csv',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
        'image/png',
        'application/json; charset=utf-16',
      ),
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
    )
    .map(([contentType, b]) => ({ contentType, payload: Buffer.from(b) })),
  fc.integer({ min: 1_100_000, max: 1_300_000 }).map((n) => ({
    contentType: 'application/json',
    payload: `{"name":"${'y'.repeat(n)}"}`,
  })),
);

/** Nesting far deeper than any generator could stringify: built as text (10k–50k levels). */
const deepText: fc.Arbitrary<BodyKind> = fc
  .tuple(fc.integer({ min: 10_000, max: 50_000 }), fc.boolean())
  .map(([d, arrays]) => ({
    contentType: 'application/json',
    payload: arrays ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d),
  }));

/** YAML that parses into something hostile: self-referencing aliases, alias bombs, unknown tags. */
const hostileYaml: fc.Arbitrary<BodyKind> = fc
  .constantFrom(
    '&a [*a, *a]',
    'name: &n x\ncommand: &c [*c]\nresources: {accelerators: 1}',
    'a: &a ["lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'a: !!js/function "x"',
    '__proto__: {polluted: true}\nname: x',
  )
  .map((payload) => ({ contentType: 'application/yaml', payload }));

/** Under the body limit but huge for a field: every string field gets 300 KB. */
const hugeFields: fc.Arbitrary<BodyKind> = fc
  .constantFrom('name', 'project', 'displayName', 'reason', 'role', 'currency', 'tenant')
  .map((k) => ({ contentType: 'application/json', payload: JSON.stringify({ [k]: 'z'.repeat(300_000) }) }));

const anyBody: fc.Arbitrary<BodyKind | null> = fc.oneof(
  fc.constant(null),
  deepText,
  hugeFields,
  hostileYaml,
  unparseableBody,
  objectWithUnknownField.map((p) => ({ contentType: 'application/json', payload: p })),
  jsonValue.map((v) => ({ contentType: 'application/json', payload: JSON.stringify(v) ?? 'null' })),
);

type Defect = 'path' | 'body' | 'query' | 'auth';

/** encodeURIComponent throws on lone surrogates: a client library would have replaced them. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  }
}

let ts: TestServer;
let tokens: Tokens;
let realIds: { jobA: string; jobB: string; token: string };

before(async () => {
  ts = await startTestServer({ SUANLI_RATE_LIMIT: 'off' });
  const call = caller(ts.server);
  tokens = await seedTenants(call);
  const a = await call('POST', '/api/v1/jobs', tokens['lab-a']!['member'], NEVER_FITS);
  const b = await call('POST', '/api/v1/jobs', tokens['lab-b']!['member'], NEVER_FITS);
  const t = await call('GET', '/api/v1/tokens?tenant=lab-a', ADMIN_TOKEN);
  realIds = {
    jobA: a.json()['id'] as string,
    jobB: b.json()['id'] as string,
    token: (t.json()['tokens'] as { id: string }[])[0]!.id,
  };
});
after(async () => {
  await ts.close();
});

/** Everything a failed request must leave unchanged (the audit log is meant to grow). */
async function snapshot(): Promise<string> {
  const s = ts.server.store;
  const jobs = await s.listJobs({ limit: 1000 });
  const policy = await ts.server.app.inject({
    method: 'GET',
    url: '/api/v1/policy',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return JSON.stringify({
    jobs: jobs.map((j) => [j.id, j.state, j.cancelRequestedAt, j.spec]),
    tenants: await s.listTenants(),
    projects: await s.listProjects(),
    members: await s.listMemberships(),
    tokens: await s.listApiTokens({}),
    budgets: await s.listBudgets(),
    prices: await s.listPrices(),
    nodes: (await s.listNodes()).map((n) => [n.node.name, n.adminState, n.adminReason]),
    policy: policy.body,
  });
}

test(
  `fuzz: every OpenAPI route × ${RUNS_PER_ROUTE} hostile requests (seed ${SEED}): no 5xx, registry codes, no state change`,
  { timeout: 600_000 },
  async () => {
    const doc = (await ts.server.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<string, { parameters?: { in: string; name: string }[]; requestBody?: unknown }>
      >;
    };
    const ops: Operation[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([m, op]) => ({
        method: m.toUpperCase(),
        path,
        params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        hasBody: op.requestBody !== undefined,
        hasQuerySchema: (op.parameters ?? []).some((p) => p.in === 'query'),
      })),
    );
    assert.ok(ops.length >= 25, `the document lists ${ops.length} operations`);
    const before = await snapshot();
    const knownGood = [
      realIds.jobA,
      realIds.jobB,
      realIds.token,
      'lab-a',
      'lab-b',
      'testnode',
      'member-a',
      'gpu',
    ];
    const authTokens = [...ROLES.flatMap((r) => [tokens['lab-a']![r], tokens['lab-b']![r]]), ADMIN_TOKEN];
    let total = 0;
    let server5xx = 0;
    const mutatingSuccesses: string[] = [];

    for (const [i, op] of ops.entries()) {
      const mutating = MUTATING.has(op.method);
      // Defects a mutating request can carry given what the route reads.
      const defects: Defect[] = ['auth'];
      if (op.params.length > 0) defects.push('path');
      if (op.hasBody) defects.push('body');
      if (op.hasQuerySchema) defects.push('query');
      if (!op.hasBody && mutating) defects.push('body'); // an unparseable body fails before the handler
      const arb = fc.record({
        defect: fc.constantFrom(...defects),
        params: fc.array(fc.oneof(hostileString, fc.constantFrom(...knownGood)), {
          minLength: op.params.length,
          maxLength: op.params.length,
        }),
        badParam: fc.nat(),
        query: fc.dictionary(
          fc.oneof(fc.constantFrom(...op.query, 'zzUnknown'), pollutionKey),
          fc.oneof(hostileString, fc.array(hostileString, { maxLength: 3 })),
          { maxKeys: 4 },
        ),
        body: anyBody,
        // Routes without a body schema ignore a well-formed body, so their defect must not parse.
        badBody: op.hasBody
          ? fc.oneof(
              unparseableBody,
              objectWithUnknownField.map(
                (p) => ({ contentType: 'application/json', payload: p }) as BodyKind,
              ),
            )
          : unparseableBody,
        token: fc.oneof(
          fc.constant(null),
          fc.constantFrom(...authTokens),
          hostileString.map((s) => `sl_${s}`),
        ),
        headerNoise: fc.constantFrom(
          'Basic YWRtaW46YWRtaW4=',
          'Bearer',
          'Bearer ',
          `Bearer ${ADMIN_TOKEN} extra`,
        ),
      });
      await fc.assert(
        fc.asyncProperty(arb, async (c) => {
          const defect: Defect | null = mutating ? c.defect : null;
          // Path: encode each param so the router sees it as one segment; a 'path' defect makes one hostile.
          const values = op.params.map((_, k) => c.params[k] ?? 'x');
          if (defect === 'path' && values.length > 0) {
            const k = c.badParam % values.length;
            values[k] = PATH_DEFECTS[c.badParam % PATH_DEFECTS.length]!;
          }
          let path = op.path;
          op.params.forEach((name, k) => {
            path = path.replace(`{${name}}`, enc(values[k] ?? 'x'));
          });
          const query = { ...c.query };
          if (defect === 'query') query['zzUnknown'] = 'x';
          const qs = Object.entries(query)
            .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${enc(k)}=${enc(String(x))}`))
            .join('&');
          const body = defect === 'body' ? c.badBody : c.body;
          const headers: Record<string, string> = {};
          if (defect === 'auth') {
            if (c.token !== null && !c.token.startsWith('sl_')) headers['authorization'] = c.headerNoise;
            else if (c.token !== null && !authTokens.includes(c.token))
              headers['authorization'] = `Bearer ${c.token}`;
            // else: no authorization header at all
          } else if (c.token !== null) headers['authorization'] = `Bearer ${c.token}`;
          if (body?.contentType) headers['content-type'] = body.contentType;
          const url = qs ? `${path}?${qs}` : path;
          const r = await ts.server.app.inject({
            method: op.method as 'GET',
            url,
            headers,
            ...(body ? { payload: body.payload } : {}),
          });
          total++;
          const where = `${op.method} ${url.slice(0, 200)} [${defect ?? 'random'}]`;
          if (r.statusCode >= 500) server5xx++;
          assert.ok(r.statusCode < 500, `${where}: ${r.statusCode} ${r.body.slice(0, 300)}`);
          if (r.statusCode >= 400) {
            const code = (JSON.parse(r.body) as { error?: { code?: string } }).error?.code;
            assert.ok(
              code !== undefined && code in ERRORS,
              `${where}: error without a registry code: ${r.body.slice(0, 200)}`,
            );
            assert.equal(
              ERRORS[code as keyof typeof ERRORS].status,
              r.statusCode,
              `${where}: ${code} with the wrong status`,
            );
          } else if (mutating) {
            mutatingSuccesses.push(
              `${where} → ${r.statusCode} (body ${body?.contentType ?? 'none'}: ${String(body?.payload ?? '').slice(0, 80)})`,
            );
          }
        }),
        { seed: SEED + i, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      );
    }
    const health = await ts.server.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200, 'the server is still up');
    assert.deepEqual(mutatingSuccesses, [], 'a request with a defect must not succeed');
    assert.equal(await snapshot(), before, 'no state changed');
    assert.equal(server5xx, 0);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype was polluted');
    process.stdout.write(
      `# fuzz: ${total} requests over ${ops.length} operations (seed ${SEED}), 0 answers 5xx, state unchanged\n`,
    );
  },
);
