/**
 * The job list's polling against a real server (SQLite in a temp dir, declared gpu:2, local
 * executor), with tiny page sizes so one sweep over the active jobs takes several polls.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '@suanli/api';
import { SuanliClient, type JobView } from '@suanli/client';
import { loadJobs, refreshJobList, statesFor, type JobListLimits, type ListState } from '../lib/job-list.js';

const TOKEN = 'sl_job_list_test_token_0123456789';
const TINY: JobListLimits = {
  loadedMax: 100,
  pageSize: 1,
  newestPage: 1,
  activePagesPerPoll: 1,
  staleRefreshMax: 10,
};
let dataDir: string;
let server: RunningServer;
let client: SuanliClient;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'suanli-joblist-'));
  const env = { token: process.env['SUANLI_ADMIN_TOKEN'], limit: process.env['SUANLI_RATE_LIMIT'] };
  process.env['SUANLI_ADMIN_TOKEN'] = TOKEN;
  process.env['SUANLI_RATE_LIMIT'] = 'off'; // this test polls in a tight loop on purpose
  server = await startServer({
    dataDir,
    port: 0,
    accelerators: 'gpu:2',
    logLevel: false,
    print: () => undefined,
    cancelGraceMs: 500,
  });
  if (env.token === undefined) delete process.env['SUANLI_ADMIN_TOKEN'];
  else process.env['SUANLI_ADMIN_TOKEN'] = env.token;
  if (env.limit === undefined) delete process.env['SUANLI_RATE_LIMIT'];
  else process.env['SUANLI_RATE_LIMIT'] = env.limit;
  client = new SuanliClient({ url: server.url, token: TOKEN });
});

after(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

const rows = (s: ListState): JobView[] =>
  s.order.map((id) => s.byId.get(id)).filter((j): j is JobView => j !== undefined);

async function pollUntil(
  prev: ListState,
  states: string[] | undefined,
  project: string,
  done: (s: ListState) => boolean,
  what: string,
): Promise<ListState> {
  let s = prev;
  for (let i = 0; i < 200; i++) {
    s = await refreshJobList(client, s, states, project, TINY);
    if (done(s)) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `never: ${what}; list: ${rows(s)
      .map((j) => `${j.name}=${j.state}`)
      .join(', ')}`,
  );
}

test('loadJobs pages to the end or stops at its bound', async () => {
  for (let i = 0; i < 3; i++)
    await client.submitJob({
      name: `page-${i}`,
      project: 'paging',
      command: ['true'],
      resources: { accelerators: 0 },
    });
  const all = await loadJobs(client, { project: 'paging' }, 100, 1);
  assert.deepEqual(
    all.jobs.map((j) => j.name),
    ['page-2', 'page-1', 'page-0'],
  );
  assert.equal(all.truncated, false);
  const cut = await loadJobs(client, { project: 'paging' }, 2, 1);
  assert.equal(cut.jobs.length, 2);
  assert.equal(cut.truncated, true);
});

test('polls pick up new jobs at the top, state changes, and jobs that ended, with one-job pages', async () => {
  const long = (name: string) =>
    client.submitJob({ name, project: 'live', command: ['sleep', '300'], resources: { accelerators: 1 } });
  const a = await long('a');
  const b = await long('b');
  const c = await long('c'); // waits: both accelerators are taken
  let s = await refreshJobList(client, null, undefined, 'live', TINY);
  assert.deepEqual(
    rows(s).map((j) => j.name),
    ['c', 'b', 'a'],
  );

  // A quiet poll changes nothing: same objects, so the view re-renders nothing.
  await pollUntil(
    s,
    undefined,
    'live',
    (x) => rows(x).filter((j) => j.state === 'running').length === 2,
    'a and b running',
  ).then((x) => (s = x));
  const quiet = await refreshJobList(client, s, undefined, 'live', TINY);
  assert.equal(quiet.byId, s.byId);
  assert.equal(quiet.order, s.order);

  // A job submitted since appears at the top.
  const d = await client.submitJob({
    name: 'd',
    project: 'live',
    command: ['true'],
    resources: { accelerators: 0 },
  });
  s = await pollUntil(s, undefined, 'live', (x) => x.order[0] === d.id, 'd at the top');

  // A cancelled job leaves the active states: found when a sweep completes, with its final state.
  await client.cancelJob(a.id);
  s = await pollUntil(s, undefined, 'live', (x) => x.byId.get(a.id)?.state === 'cancelled', 'a cancelled');
  // …and c, which waited, now runs.
  s = await pollUntil(s, undefined, 'live', (x) => x.byId.get(c.id)?.state === 'running', 'c running');
  assert.deepEqual(
    rows(s).map((j) => j.name),
    ['d', 'c', 'b', 'a'],
  );

  // With a state filter, a job that leaves that state leaves the list.
  let running = await refreshJobList(client, null, statesFor('running'), 'live', TINY);
  assert.deepEqual(
    rows(running)
      .map((j) => j.name)
      .sort(),
    ['b', 'c'],
  );
  await client.cancelJob(b.id);
  running = await pollUntil(
    running,
    statesFor('running'),
    'live',
    (x) => !x.byId.has(b.id),
    'b gone from the running list',
  );
  assert.deepEqual(
    rows(running).map((j) => j.name),
    ['c'],
  );
  // Leave nothing running: the server's close does not end its jobs (they are re-adopted at a restart).
  await client.cancelJob(c.id);
  await pollUntil(running, undefined, 'live', (x) => x.byId.get(c.id)?.state === 'cancelled', 'c cancelled');
});
