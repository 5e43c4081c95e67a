/** Unit tests of the pieces of hooks.ts and usage.ts that need no server: buckets, redaction, CSV. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { LOG_REDACT_PATHS, TokenBuckets, rateLimitFromEnv } from './hooks.js';
import { toCsv, parseTime } from './routes/usage.js';

test('token bucket: a burst, then the sustained rate; Retry-After rounds up to whole seconds', () => {
  let now = 0;
  const b = new TokenBuckets({ perSecond: 2, burst: 3 }, () => now);
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a')], [0, 0, 0]);
  assert.equal(b.take('a'), 1, 'empty: wait (1 - 0) / 2 s, rounded up to 1');
  assert.equal(b.take('b'), 0, 'callers have their own buckets');
  now = 500; // +1 token
  assert.equal(b.take('a'), 0);
  assert.equal(b.take('a'), 1);
  now = 60_000;
  assert.deepEqual(
    [b.take('a'), b.take('a'), b.take('a'), b.take('a')],
    [0, 0, 0, 1],
    'refills to the burst, not beyond',
  );
});

test('SUANLI_RATE_LIMIT: default, off, <perSecond>/<burst>, refused otherwise', () => {
  assert.deepEqual(rateLimitFromEnv(undefined), { perSecond: 50, burst: 200 });
  assert.equal(rateLimitFromEnv('off'), null);
  assert.deepEqual(rateLimitFromEnv('2.5/10'), { perSecond: 2.5, burst: 10 });
  assert.throws(() => rateLimitFromEnv('fast'), /perSecond/);
});

test('the logger redacts the Authorization header and token fields wherever they are logged', () => {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const log = pino({ redact: [...LOG_REDACT_PATHS] }, sink);
  const secret = 'sl_0123456789ab.' + 'S'.repeat(43);
  log.info({ req: { headers: { authorization: `Bearer ${secret}` } } }, 'request');
  log.info({ headers: { authorization: `Bearer ${secret}` } }, 'headers');
  log.info({ token: secret, body: { token: secret } }, 'created');
  assert.equal(out.split('\n').filter(Boolean).length, 3);
  assert.ok(!out.includes(secret), out);
  assert.match(out, /\[Redacted\]/);
});

test('CSV: quoted where needed, and cells a spreadsheet would run as formulas are defused', () => {
  const csv = toCsv(
    ['a', 'b', 'c'],
    [
      ['=HYPERLINK("x")', 'plain, with comma', null],
      ['+1', '-2', 3],
    ],
  );
  assert.equal(csv, 'a,b,c\r\n"\'=HYPERLINK(""x"")","plain, with comma",\r\n\'+1,\'-2,3\r\n');
});

test('report times: ISO-8601 or epoch ms, anything else refused', () => {
  assert.equal(parseTime('from', '2026-11-01T00:00:00Z'), Date.UTC(2026, 10, 1));
  assert.equal(parseTime('from', '1767225600000'), 1_767_225_600_000);
  for (const bad of ['yesterday', '1e3', '', '2026-13-45', '-5'])
    assert.throws(() => parseTime('from', bad), /ISO-8601/);
});
