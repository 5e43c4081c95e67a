/**
 * The booking commands for real: the `suanli` CLI as child processes against a real server
 * (started in-process, listening on loopback, gpu:2). book → id and exit 0; a second booking of the
 * same capacity → exit 1 with the reason and code; bookings (table, --json, calendar); capacity;
 * booking cancel; repeated bookings across a DST change; usage errors exit 2.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from '@suanli/api';

const BIN = fileURLToPath(new URL('../bin/suanli.js', import.meta.url));
const execFileP = promisify(execFile);
const TOKEN = 'sl_test-bookings-cli-admin-0123456789';

let dir: string;
let server: RunningServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'suanli-bookings-cli-'));
  const saved = process.env['SUANLI_ADMIN_TOKEN'];
  process.env['SUANLI_ADMIN_TOKEN'] = TOKEN;
  try {
    server = await startServer({
      dataDir: dir,
      port: 0,
      accelerators: 'gpu:2',
      nodeName: 'box',
      logLevel: false,
      cycleIntervalMs: 200,
      print: () => {},
    });
  } finally {
    if (saved === undefined) delete process.env['SUANLI_ADMIN_TOKEN'];
    else process.env['SUANLI_ADMIN_TOKEN'] = saved;
  }
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], {
      env: { ...process.env, SUANLI_URL: server.url, SUANLI_TOKEN: TOKEN, HOME: dir },
      cwd: dir,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('suanli book / bookings / calendar / capacity / booking cancel', async () => {
  const ok = await cli(
    'book',
    '--type',
    'gpu',
    '--accelerators',
    '2',
    '--start',
    '2031-03-03T09:00',
    '--end',
    '2031-03-03T21:00',
    '--tz',
    'Asia/Shanghai',
  );
  assert.equal(ok.code, 0, ok.stderr);
  const id = ok.stdout.split('\n')[0] ?? '';
  assert.match(id, /^bk-/);
  assert.match(ok.stdout, /approved/);
  assert.match(ok.stdout, /2× gpu .* 2031-03-03T09:00:00 – 2031-03-03T21:00:00 Asia\/Shanghai, once/);

  const refused = await cli(
    'book',
    '--type',
    'gpu',
    '--accelerators',
    '1',
    '--start',
    '2031-03-03T12:00:00Z',
    '--end',
    '2031-03-03T13:00:00Z',
  );
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`booking ${id} holds capacity then \\[BOOKING_NO_CAPACITY\\]`));

  const list = await cli('bookings');
  assert.equal(list.code, 0, list.stderr);
  assert.match(
    list.stdout,
    new RegExp(`${id}\\s+default\\s+approved\\s+2× gpu\\s+2031-03-03 09:00 – 21:00\\s+Asia/Shanghai\\s+once`),
  );
  const asJson = JSON.parse((await cli('bookings', '--json')).stdout) as { bookings: { id: string }[] };
  assert.ok(asJson.bookings.some((b) => b.id === id));

  const cal = await cli(
    'bookings',
    'calendar',
    '--from',
    '2031-03-02',
    '--days',
    '3',
    '--tz',
    'Asia/Shanghai',
  );
  assert.equal(cal.code, 0, cal.stderr);
  assert.match(
    cal.stdout,
    new RegExp(`2031-03-03.*  \\.{9}#{12}\\.{3}  2× gpu  default  ${id} \\(approved\\)`),
  );
  assert.match(cal.stdout, /2031-03-02.*\(nothing booked\)/);

  const cap = await cli(
    'capacity',
    '--type',
    'gpu',
    '--accelerators',
    '2',
    '--duration',
    '14h',
    '--not-before',
    '2031-03-03T00:00:00Z',
  );
  assert.equal(cap.code, 0, cap.stderr);
  assert.equal(cap.stdout.trim(), '2× gpu for 14h: earliest 2031-03-03 13:00 – 2031-03-04 03:00 UTC');
  const never = await cli('capacity', '--type', 'gpu', '--accelerators', '3', '--duration', '1h', '--json');
  assert.equal((JSON.parse(never.stdout) as { available: boolean }).available, false);

  const cancel = await cli('booking', 'cancel', id);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.equal(cancel.stdout.trim(), `booking ${id}: cancelled`);
  const now = await cli(
    'book',
    '--type',
    'gpu',
    '--accelerators',
    '1',
    '--start',
    '2031-03-03T12:00:00Z',
    '--end',
    '2031-03-03T13:00:00Z',
    '--json',
  );
  assert.equal(now.code, 0, now.stderr);
  assert.equal((JSON.parse(now.stdout) as { state: string }).state, 'approved');
  const nowId = (JSON.parse(now.stdout) as { id: string }).id;
  const usage = await cli(
    'bookings',
    'usage',
    '--from',
    '2031-03-01T00:00:00Z',
    '--to',
    '2031-04-01T00:00:00Z',
  );
  assert.equal(usage.code, 0, usage.stderr);
  assert.match(usage.stdout, /^2031-03-01T00:00:00.000Z – 2031-04-01T00:00:00.000Z, charged: booked/);
  assert.match(
    usage.stdout,
    new RegExp(`${nowId}\\s+default\\s+default\\s+1× gpu\\s+1\\.00\\s+0\\.00\\s+1\\.00\\s+1\\.00`),
  );
  assert.doesNotMatch(usage.stdout, new RegExp(id), 'cancelled bookings are not charged');
});

test('suanli book --repeat across the New York DST change keeps the wall-clock time', async () => {
  const r = await cli(
    'book',
    '--type',
    'gpu',
    '--accelerators',
    '1',
    '--start',
    '2031-03-07T09:00',
    '--end',
    '2031-03-07T17:00',
    '--tz',
    'America/New_York',
    '--repeat',
    'daily',
    '--until',
    '2031-03-10',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const b = JSON.parse(r.stdout) as { occurrences: { start: string }[] };
  // DST starts Sunday 2031-03-09 in New York
  assert.deepEqual(
    b.occurrences.map((o) => o.start),
    [
      '2031-03-07T14:00:00.000Z',
      '2031-03-08T14:00:00.000Z',
      '2031-03-09T13:00:00.000Z',
      '2031-03-10T13:00:00.000Z',
    ],
  );
});

test('usage errors exit 2 and name the flag; server-side field errors exit 1 with the field', async () => {
  const bad = await cli('book', '--type', 'gpu', '--accelerators', 'many', '--start', 'x', '--end', 'y');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--accelerators must be a whole number ≥ 1, got "many"/);
  const repeat = await cli(
    'book',
    '--type',
    'gpu',
    '--accelerators',
    '1',
    '--start',
    '2031-04-01T09:00',
    '--end',
    '2031-04-01T10:00',
    '--repeat',
    'hourly',
  );
  assert.equal(repeat.code, 2);
  const tz = await cli(
    'book',
    '--type',
    'gpu',
    '--accelerators',
    '1',
    '--start',
    '2031-04-01T09:00',
    '--end',
    '2031-04-01T10:00',
    '--tz',
    'Mars/Olympus',
  );
  assert.equal(tz.code, 1);
  assert.match(tz.stderr, /\[BOOKING_INVALID\]\n {2}- timeZone: unknown time zone "Mars\/Olympus"/);
});
