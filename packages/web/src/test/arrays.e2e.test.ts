/**
 * The console's job list, job arrays and a gang's logs end to end in headless Chromium, against a
 * real suanli server (SQLite in a temp dir, declared gpu:2, local executor): a job array submitted
 * through the API is one folded row with its task counts, its page lists its tasks and cancels it;
 * the list pages with the server's cursor across more jobs than a page; a 2-replica job's log is
 * shown merged (`[rank]` prefixes) or one replica's. Text is checked in Chinese and in English.
 * Screenshots go to test-artifacts/console/ (gitignored). Needs /usr/bin/chromium (CHROMIUM_BIN).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { JobArrayView } from '@suanli/client';
import {
  artifactsDir,
  launchBrowser,
  seedJobs,
  startConsoleStack,
  type Browser,
  type ConsoleStack,
} from './harness.js';

const UI_TIMEOUT_MS = 20_000;

let stack: ConsoleStack;
let browser: Browser;
let page: Page;
let shots: string;
const consoleErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function setLang(lang: 'en' | 'zh-CN'): Promise<void> {
  await page.getByTestId('lang-switch').selectOption(lang);
  await page.waitForFunction(`document.documentElement.lang === ${JSON.stringify(lang)}`);
}

describe('console: job arrays, cursor paging, replica logs', { timeout: 180_000 }, () => {
  let nodes: string[] = [];
  before(async () => {
    shots = await artifactsDir();
    stack = await startConsoleStack({ accelerators: 'gpu:2' });
    browser = await launchBrowser({ locale: 'zh-CN' });
    page = browser.page;
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(stack.url + '/');
    await page.getByLabel('API 令牌').fill(stack.token);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByTestId('whoami').waitFor();
    // Nothing starts while the node is drained: the array's tasks all wait, so counts are known.
    nodes = (await stack.client.listNodes()).nodes.map((n) => n.name);
    for (const n of nodes) await stack.client.drainNode(n, 'e2e: keep the array waiting');
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  let arr: JobArrayView;
  test('an array submitted through the API is one folded row with its task counts (zh, en)', async () => {
    const plain = await stack.client.submitJob({
      name: 'e2e-plain',
      project: 'arrays',
      command: ['true'],
      resources: { accelerators: 1 },
    });
    arr = (await stack.client.submit(
      {
        name: 'e2e-sweep',
        project: 'arrays',
        command: ['sh', '-c', 'echo task $SUANLI_ARRAY_INDEX'],
        resources: { accelerators: 1 },
      },
      { array: '0-3' },
    )) as JobArrayView;
    assert.equal(arr.kind, 'array');
    await page.goto(`${stack.url}/jobs?project=arrays`);
    const row = page.locator(`[data-array="${arr.id}"]`);
    await row.waitFor();
    // One row for the array (its tasks are not listed one by one), beside the plain job.
    await page.locator(`[data-job="${plain.id}"]`).waitFor();
    assert.equal(await page.locator(`[data-job^="${arr.id}_"]`).count(), 0);
    assert.equal(await row.locator('[data-count="queued"]').innerText(), '4');
    assert.match(await row.innerText(), new RegExp(`${arr.id}_\\[0-3\\]`));
    assert.match(await row.innerText(), /4 个任务/);
    assert.equal(
      await row.locator('[role="cell"].counts').getAttribute('aria-label'),
      '各状态任务数: 排队中 4',
    );
    assert.match(await page.getByTestId('jobs-count').innerText(), /第 1 页：2 行/);
    await shot('20-jobs-array-folded-zh');
    await setLang('en');
    await row.getByText('4 tasks').waitFor();
    assert.equal(
      await row.locator('[role="cell"].counts').getAttribute('aria-label'),
      'Tasks per state: queued 4',
    );
    assert.match(await page.getByTestId('jobs-count').innerText(), /Page 1: 2 rows/);
    // Unfolded, the tasks are rows of their own.
    await page.getByTestId('fold-arrays').uncheck();
    await page.locator(`[data-job="${arr.id}_3"]`).waitFor();
    assert.equal(await page.locator(`[data-array="${arr.id}"]`).count(), 0);
    assert.match(page.url(), /tasks=1/);
    await page.getByTestId('fold-arrays').check();
    await row.waitFor();
    await setLang('zh-CN');
  });

  test('the array page lists its tasks, opens a task, and cancels the whole array (zh, en)', async () => {
    await page.locator(`[data-array="${arr.id}"] a`).click();
    await page.waitForURL(new RegExp(`/job-arrays/${arr.id}$`));
    const tasks = page.getByTestId('array-tasks');
    await tasks.waitFor();
    for (let i = 0; i < 4; i++) await tasks.locator(`tr[data-task="${arr.id}_${i}"]`).waitFor();
    assert.equal(await page.getByTestId('array-expression').innerText(), '0-3');
    assert.equal(await page.getByTestId('array-size').innerText(), '4');
    assert.match(await page.getByTestId('array-counts').innerText(), /排队中\s*4/);
    assert.match(await page.locator('h1').innerText(), new RegExp(`作业数组 ${arr.id}_\\[0-3\\]`));
    await shot('21-array-page-zh');

    // A task id opens the job page, which links back to its array.
    await tasks.locator(`tr[data-task="${arr.id}_2"] a`).click();
    await page.waitForURL(new RegExp(`/jobs/${arr.id}_2$`));
    await page.locator('[data-testid="job-state"] [data-state="queued"]').waitFor();
    assert.equal(await page.getByTestId('array-task-of').innerText(), `作业数组 ${arr.id} 的任务 2`);
    await page.getByTestId('array-task-of').locator('a').click();
    await page.waitForURL(new RegExp(`/job-arrays/${arr.id}$`));
    // An array's id opened as a job's lands on the array page.
    await page.goto(`${stack.url}/jobs/${arr.id}`);
    await page.waitForURL(new RegExp(`/job-arrays/${arr.id}$`));

    await setLang('en');
    await page.getByText('Cancel the whole array').waitFor();
    await page.getByTestId('cancel-array').click();
    await page.getByTestId('cancel-array-confirm').click();
    assert.equal(
      await page.getByTestId('array-cancelled').innerText(),
      '4 waiting tasks cancelled; 0 running tasks asked to stop.',
    );
    await page.locator('[data-testid="array-counts"] [data-count="cancelled"]').waitFor();
    assert.match(await page.getByTestId('array-counts').innerText(), /cancelled\s*4/);
    assert.equal(await tasks.locator('[data-state="cancelled"]').count(), 4);
    // Nothing is left to cancel.
    assert.equal(await page.getByTestId('cancel-array').count(), 0);
    await shot('22-array-cancelled-en');
    await setLang('zh-CN');
    assert.match(await page.getByTestId('array-counts').innerText(), /已取消\s*4/);
    const api = await stack.client.getArray(arr.id);
    assert.deepEqual(api.counts, { cancelled: 4 });

    // The list's folded row follows.
    await page.getByRole('link', { name: '作业', exact: true }).click();
    await page.getByTestId('filter-project').fill('arrays');
    await page.locator(`[data-array="${arr.id}"] [data-count="cancelled"]`).waitFor();
    assert.equal(await page.locator(`[data-array="${arr.id}"] [data-count="queued"]`).count(), 0);
  });

  test('the list pages with the cursor across more jobs than a page, never loading the rest (zh, en)', async () => {
    await seedJobs(
      stack,
      30,
      (i) => ({
        name: `page-${String(i).padStart(2, '0')}`,
        project: 'paging',
        command: ['true'],
        resources: { accelerators: 1 },
      }),
      1,
    );
    const asked: string[] = [];
    const onRequest = (r: { url(): string }) => {
      if (r.url().includes('/api/v1/jobs?')) asked.push(r.url());
    };
    page.on('request', onRequest);
    try {
      await page.goto(`${stack.url}/jobs?project=paging&limit=25`);
      const count = page.getByTestId('jobs-count');
      await page.locator('[data-testid="jobs-count"][data-page="1"][data-rows="25"]').waitFor();
      assert.match(await count.innerText(), /第 1 页：25 行/);
      assert.equal(await page.getByTestId('jobs-table').getAttribute('aria-rowcount'), '26');
      const firstRow = page.locator('[data-testid="jobs-table"] [data-job]').first();
      assert.equal(await firstRow.locator('[role="cell"]').nth(1).innerText(), 'page-29');
      assert.equal(await page.getByTestId('page-prev').isDisabled(), true);
      // Every request asked for one page (limit=25) with the server's filter; the rest was never loaded.
      for (const u of asked) {
        const q = new URL(u).searchParams;
        assert.equal(q.get('limit'), '25', u);
        assert.equal(q.get('project'), 'paging', u);
        assert.equal(q.get('fold'), 'true', u);
      }

      await page.getByTestId('page-next').click();
      await page.waitForURL(/cursor=/);
      await page.locator('[data-testid="jobs-count"][data-page="2"][data-rows="5"]').waitFor();
      const second = await page
        .locator('[data-testid="jobs-table"] [data-job]')
        .evaluateAll((els) => els.map((e) => e.querySelectorAll('[role="cell"]')[1]?.textContent ?? ''));
      assert.deepEqual(second, ['page-04', 'page-03', 'page-02', 'page-01', 'page-00']);
      assert.equal(await page.getByTestId('page-next').isDisabled(), true);
      assert.ok(
        asked.some((u) => new URL(u).searchParams.has('cursor')),
        'the next page came with the cursor',
      );
      await shot('23-jobs-page-2-zh');
      await setLang('en');
      assert.match(await count.innerText(), /Page 2: 5 rows/);
      await page.getByRole('button', { name: '← Newer' }).click();
      await page.locator('[data-testid="jobs-count"][data-page="1"][data-rows="25"]').waitFor();
      assert.equal(await firstRow.locator('[role="cell"]').nth(1).innerText(), 'page-29');
      assert.ok(!page.url().includes('cursor='));
      // The browser's back button returns to page 2 (each page is a history entry).
      await page.goBack();
      await page.locator('[data-testid="jobs-count"][data-page="2"][data-rows="5"]').waitFor();
      // A state filter the server applies starts again at the newest page.
      await page.getByTestId('filter-state').selectOption('running');
      await page.getByText('No jobs match.').waitFor();
      assert.ok(!page.url().includes('cursor='));
      await setLang('zh-CN');
    } finally {
      page.off('request', onRequest);
    }
    // Leave the node free for the gang below: the waiting jobs are cancelled.
    for (const j of (await stack.client.listJobs({ project: 'paging', limit: 100 })).jobs)
      await stack.client.cancelJob(j.id);
    for (const j of (await stack.client.listJobs({ project: 'arrays', state: ['queued'], limit: 100 })).jobs)
      await stack.client.cancelJob(j.id);
  });

  test("a 2-replica job's logs: every replica's lines with [rank], or one replica's (zh, en)", async () => {
    for (const n of nodes) await stack.client.undrainNode(n);
    const gang = await stack.client.submitJob({
      name: 'e2e-gang',
      project: 'logs',
      command: [
        'sh',
        '-c',
        'echo "hello from $SUANLI_REPLICA_RANK"; sleep 1; echo "bye from $SUANLI_REPLICA_RANK"',
      ],
      replicas: 2,
      resources: { accelerators: 1 },
      timeLimit: '5m',
    });
    await page.goto(`${stack.url}/jobs/${gang.id}`);
    await page.locator('[data-testid="job-state"] [data-state="succeeded"]').waitFor();
    const log = page.getByTestId('log');
    await log.filter({ hasText: '[1] bye from 1' }).waitFor();
    await log.filter({ hasText: '[0] bye from 0' }).waitFor();
    const merged = (await log.innerText()).split('\n').filter(Boolean).sort();
    assert.deepEqual(merged, ['[0] bye from 0', '[0] hello from 0', '[1] bye from 1', '[1] hello from 1']);
    assert.equal(
      await page.getByTestId('log-replica').locator('option:checked').innerText(),
      '全部（2 个，行首标 [rank]）',
    );
    await page.getByTestId('log-status').filter({ hasText: '日志结束' }).waitFor();
    await shot('24-gang-logs-merged-zh');

    await page.getByTestId('log-replica').selectOption('1');
    await log.filter({ hasText: 'bye from 1' }).waitFor();
    assert.equal((await log.innerText()).trim(), 'hello from 1\nbye from 1');
    await page.getByTestId('log-replica').selectOption('0');
    await log.filter({ hasText: 'bye from 0' }).waitFor();
    assert.equal((await log.innerText()).trim(), 'hello from 0\nbye from 0');
    await setLang('en');
    assert.equal(await log.getAttribute('aria-label'), 'Logs (stdout, Replica 0)');
    await page.getByTestId('log-replica').selectOption('all');
    await log.filter({ hasText: '[1] hello from 1' }).waitFor();
    assert.equal(await log.getAttribute('aria-label'), 'Logs (stdout, All (2, lines prefixed [rank]))');
    await page.getByTestId('log-status').filter({ hasText: 'End of log.' }).waitFor();
    await shot('25-gang-logs-en');
    await setLang('zh-CN');
  });

  test('no unexpected errors in the browser console', () => {
    assert.deepEqual(
      consoleErrors.filter((e) => !/status of (400|401|404|409)/.test(e)),
      [],
    );
  });
});
