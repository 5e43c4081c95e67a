/**
 * The job list's pages against a real server (SQLite in a temp dir, declared gpu:2, local
 * executor): the cursor across more jobs than a page, arrays folded into one row with task counts,
 * server-side filters, and quiet polls that keep the rows the view already has.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '@suanli/api';
import { SuanliClient, type JobArrayView } from '@suanli/client';
import {
  ARRAY_PATH_RE,
  JOB_PATH_RE,
  PageTrail,
  arrayLabel,
  countEntries,
  listQueryString,
  loadJobPage,
  loadJobs,
  parseListQuery,
  reusePage,
  unfinished,
  type JobListQuery,
} from '../lib/job-list.js';

const TOKEN = 'sl_job_list_test_token_0123456789';
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

const query = (o: Partial<JobListQuery>): JobListQuery => ({
  ...parseListQuery(new URLSearchParams()),
  ...o,
});

test('loadJobs pages with the cursor to the end or stops at its bound', async () => {
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

test('the URL query: defaults left out, page sizes bounded, a cursor kept', () => {
  const q = parseListQuery(new URLSearchParams('state=queued&limit=25&tasks=1&cursor=abc&project=p'));
  assert.deepEqual(q, {
    state: 'queued',
    project: 'p',
    submittedBy: '',
    tenant: '',
    fold: false,
    limit: 25,
    cursor: 'abc',
  });
  assert.equal(listQueryString(q), '?state=queued&project=p&tasks=1&limit=25&cursor=abc');
  assert.equal(parseListQuery(new URLSearchParams('limit=100000')).limit, 50, 'not a page size offered');
  assert.equal(listQueryString(parseListQuery(new URLSearchParams())), '');
});

test('routes: a task id opens the job page, an array id its own page', () => {
  assert.equal(JOB_PATH_RE.exec('/jobs/j-0123456789abcdef_7')?.[1], 'j-0123456789abcdef_7');
  assert.equal(JOB_PATH_RE.exec('/jobs/j-0123456789abcdef')?.[1], 'j-0123456789abcdef');
  assert.equal(JOB_PATH_RE.exec('/jobs/j-0123456789abcdef_'), null);
  assert.equal(JOB_PATH_RE.exec('/jobs/j-0123456789abcdef_12345678'), null, 'indices have at most 7 digits');
  assert.equal(ARRAY_PATH_RE.exec('/job-arrays/j-0123456789abcdef')?.[1], 'j-0123456789abcdef');
  assert.equal(ARRAY_PATH_RE.exec('/job-arrays/j-0123456789abcdef_1'), null);
});

test('pages: the cursor across more jobs than a page, arrays folded with counts, filters on the server', async () => {
  // Nothing starts while the node is drained: every count below is "queued".
  const nodes = await client.listNodes();
  for (const n of nodes.nodes) await client.drainNode(n.name, 'job-list test');
  try {
    for (let i = 0; i < 5; i++)
      await client.submitJob({
        name: `folded-${i}`,
        project: 'folded',
        command: ['true'],
        resources: { accelerators: 1 },
      });
    const arr = (await client.submit(
      { name: 'sweep', project: 'folded', command: ['true'], resources: { accelerators: 1 } },
      { array: '0-5%2' },
    )) as JobArrayView;
    assert.equal(arr.kind, 'array');
    await client.submitJob({
      name: 'last',
      project: 'folded',
      command: ['true'],
      resources: { accelerators: 1 },
    });

    // Folded, 3 rows a page: last, the array (one row for 6 tasks), folded-4 | folded-3..1 | folded-0.
    const trail = new PageTrail();
    const seen: string[][] = [];
    let q = query({ project: 'folded', limit: 25 });
    const pages = [];
    for (let cursor = ''; ;) {
      const page = await loadJobPage(client, { ...q, cursor, limit: 3 }, true);
      pages.push({ cursor, page });
      seen.push(page.rows.map((r) => (r.kind === 'array' ? arrayLabel(r.array) : r.job.name)));
      if (page.nextCursor === null) break;
      assert.equal(trail.forward(cursor, page.nextCursor), pages.length + 1);
      cursor = page.nextCursor;
    }
    assert.deepEqual(seen, [
      ['last', `${arr.id}_[0-5%2]`, 'folded-4'],
      ['folded-3', 'folded-2', 'folded-1'],
      ['folded-0'],
    ]);
    const row = pages[0]?.page.rows[1];
    assert.ok(row?.kind === 'array');
    assert.deepEqual(row.array.counts, { queued: 6 });
    assert.deepEqual(countEntries(row.array.counts), [['queued', 6]]);
    assert.equal(unfinished(row.array.counts), 6);
    // The way back: page 3 → 2 → 1.
    const third = pages[2]?.cursor ?? '';
    assert.equal(trail.previous(third), pages[1]?.cursor);
    assert.equal(trail.previous(pages[1]?.cursor ?? ''), '');
    assert.equal(trail.known(third), 3);
    assert.equal(new PageTrail().known(third), null, 'a page opened from a link has no known number');

    // Unfolded: the tasks one by one (6 + 6 jobs); a state filter the server applies.
    q = query({ project: 'folded', fold: false, limit: 100 });
    const flat = await loadJobPage(client, q, true);
    assert.equal(flat.rows.length, 12);
    assert.equal(flat.rows.filter((r) => r.kind === 'job' && r.job.arrayId === arr.id).length, 6);
    assert.ok(flat.rows.some((r) => r.id === `${arr.id}_5`));
    const none = await loadJobPage(client, query({ project: 'folded', state: 'running' }), true);
    assert.deepEqual(none.rows, []);
    const mine = await loadJobPage(client, query({ project: 'folded', submittedBy: 'nobody-else' }), true);
    assert.deepEqual(mine.rows, []);

    // A quiet poll keeps the page object; a change replaces only the changed row.
    const first = await loadJobPage(client, query({ project: 'folded', limit: 25 }), true);
    const again = reusePage(first, await loadJobPage(client, query({ project: 'folded', limit: 25 }), true));
    assert.equal(again, first);
    const cancelled = await client.cancelArray(arr.id);
    assert.equal(cancelled.cancelled, 6);
    const later = reusePage(first, await loadJobPage(client, query({ project: 'folded', limit: 25 }), true));
    assert.notEqual(later, first);
    assert.equal(later.rows[0], first.rows[0], 'the unchanged job row is the same object');
    const arrRow = later.rows[1];
    assert.ok(arrRow?.kind === 'array');
    assert.deepEqual(arrRow.array.counts, { cancelled: 6 });
    assert.equal(unfinished(arrRow.array.counts), 0);
  } finally {
    for (const n of nodes.nodes) await client.undrainNode(n.name);
    const left = await loadJobs(client, { project: 'folded', state: ['queued'] }, 100);
    for (const j of left.jobs) await client.cancelJob(j.id);
  }
});
