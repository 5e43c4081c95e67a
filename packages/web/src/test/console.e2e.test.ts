/**
 * The console end to end in headless Chromium, against a real suanli server (SQLite in a temp dir,
 * declared gpu:2, local executor): sign in, overview, submit (with field errors shown inline),
 * watch a job run and read its logs, cancel another, job list filters, drain/undrain a node,
 * bookings (book through the form and see it in the calendar, a refusal with the server's reason,
 * the capacity query, cancel), usage, language switch (remembered), tablet layout, sign out.
 * Screenshots go to test-artifacts/console/ (gitignored). Needs /usr/bin/chromium (CHROMIUM_BIN).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { formatLocalTime } from '@suanli/client';
import {
  artifactsDir,
  launchBrowser,
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

async function submitViaEditor(yaml: string): Promise<void> {
  await page.getByRole('link', { name: /提交作业|Submit job/ }).click();
  const editor = page.getByTestId('spec');
  await editor.fill(yaml);
  await page.getByTestId('submit').click();
}

describe('console in Chromium', { timeout: 180_000 }, () => {
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
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('signs in with an API token (a wrong one is refused), in Chinese by default', async (t) => {
    t.diagnostic(
      `console served ${stack.mode === 'in-server' ? 'by the API server itself (startServer plugins)' : 'by a second instance forwarding /api to the server (the API asks a token for every path)'}`,
    );
    await page.goto(stack.url + '/');
    await page.getByLabel('API 令牌').fill('sl_wrong');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByText('服务器不接受此令牌').waitFor();
    await shot('01-login-refused');
    await page.getByLabel('API 令牌').fill(stack.token);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByTestId('whoami').waitFor();
    assert.match(await page.getByTestId('whoami').innerText(), /admin/);
    assert.equal(await page.evaluate('document.documentElement.lang'), 'zh-CN');
    // The token is remembered across a reload.
    await page.reload();
    await page.getByTestId('whoami').waitFor();
  });

  test('overview shows the 2 declared accelerators, the queue and the charts', async () => {
    await page.getByTestId('kpi-idle').waitFor();
    assert.match(await page.getByTestId('kpi-utilisation').innerText(), /0 \/ 2/);
    assert.equal((await page.getByTestId('kpi-queue').innerText()).split('\n')[0], '0');
    await page.locator('[data-testid="heatmap"] canvas').first().waitFor();
    await page.locator('[data-testid="util-chart"] canvas').first().waitFor();
    assert.match(await page.getByTestId('sampling-note').innerText(), /每 5 秒采样/);
    // Nothing is booked yet (the server has the bookings API).
    assert.match(
      await page.getByTestId('overview-booked').innerText(),
      /当前已预约：0 个.*0 张加速卡.*维护窗口占 0 张/,
    );
    await shot('02-overview-zh');
  });

  test('submit shows the server field errors next to their lines', async () => {
    await submitViaEditor('name: bad\ncommand: ["true"]\nresources:\n  accelerators: -1\n  colour: blue\n');
    const errors = page.getByTestId('spec-errors');
    await errors.waitFor();
    assert.equal(
      await errors.locator('li[data-path="resources.accelerators"]').getAttribute('data-line'),
      '4',
    );
    assert.equal(await errors.locator('li[data-path="resources.colour"]').getAttribute('data-line'), '5');
    assert.equal(await page.locator('.gutter-line.has-error').count(), 2);
    // …and beside the lines themselves.
    assert.match(
      await page.locator('[data-inline-line="4"]').innerText(),
      /accelerators: must be a whole number/,
    );
    assert.match(await page.locator('[data-inline-line="5"]').innerText(), /colour/);
    assert.equal(await page.getByTestId('spec').getAttribute('aria-invalid'), 'true');
    await shot('03-submit-field-errors');
  });

  let runId = '';
  test('submits a job, watches it run and reads its logs', async () => {
    await submitViaEditor(
      'name: e2e-hello\nproject: vision\ncommand: ["sh", "-c", "echo first line; echo \\"devices=$CUDA_VISIBLE_DEVICES\\"; sleep 2; echo last line"]\nresources:\n  accelerators: 1\ntimeLimit: 5m\n',
    );
    await page.waitForURL(/\/jobs\/j-[0-9a-f]{16}$/);
    runId = page.url().split('/').pop() ?? '';
    await page.locator('[data-testid="job-state"] [data-state="running"]').waitFor();
    await page.getByTestId('log').filter({ hasText: 'first line' }).waitFor();
    await shot('04-job-running');
    await page.locator('[data-testid="job-state"] [data-state="succeeded"]').waitFor();
    await page.getByTestId('log').filter({ hasText: 'last line' }).waitFor();
    assert.match(await page.getByTestId('log').innerText(), /devices=\d/);
    const timeline = await page.getByTestId('timeline').innerText();
    for (const s of ['排队中', '运行中', '成功'])
      assert.ok(timeline.includes(s), `timeline has ${s}: ${timeline}`);
    await page.getByTestId('log-status').filter({ hasText: '日志结束' }).waitFor();
    // The ended attempt, from the ledger: peak memory and CPU time measured or marked so.
    const attempt = page.locator('[data-testid="attempts"] tr[data-attempt="1"]');
    await attempt.locator('[data-state="succeeded"]').waitFor();
    assert.match(await attempt.getByTestId('peak-memory').innerText(), /MiB|GiB|未测量/);
    assert.match(await attempt.getByTestId('cpu-time').innerText(), /ms|s|未测量/);
    await shot('05-job-succeeded');
  });

  let cancelId = '';
  test('cancels a running job from its page', async () => {
    const job = await stack.client.submitJob({
      name: 'e2e-long',
      project: 'nlp',
      command: ['sleep', '300'],
      resources: { accelerators: 2 },
    });
    cancelId = job.id;
    // While it holds both accelerators the overview shows them busy and ranks its project.
    await page.getByRole('link', { name: '总览' }).click();
    await page.getByTestId('kpi-busy').filter({ hasText: /^2/ }).waitFor();
    await page.getByRole('link', { name: 'default/nlp' }).waitFor();
    assert.match(await page.getByTestId('kpi-utilisation').innerText(), /100%/);
    await page.waitForTimeout(400); // let the heatmap redraw
    await shot('06a-overview-busy');
    // A job that needs one more accelerator waits, and its page says why.
    const waiting = await stack.client.submitJob({
      name: 'e2e-waits',
      project: 'nlp',
      command: ['sh', '-c', 'echo started after the cancel'],
      resources: { accelerators: 1 },
      timeLimit: '5m',
    });
    await page.goto(`${stack.url}/jobs/${waiting.id}`);
    const pending = page.getByTestId('pending');
    await pending.waitFor();
    assert.match(await pending.innerText(), /waits-for-capacity|waits-for-turn|waits-for-quota/);
    assert.match(await pending.innerText(), /预计开始/);
    await shot('06b-job-pending');
    await page.goto(`${stack.url}/jobs/${job.id}`);
    await page.locator('[data-testid="job-state"] [data-state="running"]').waitFor();
    await page.getByTestId('cancel').click();
    await page.getByTestId('cancel-confirm').click();
    await page.locator('[data-testid="job-state"] [data-state="cancelled"]').waitFor();
    assert.equal(await page.getByTestId('cancel').count(), 0);
    await shot('06-job-cancelled');
    // The freed accelerators go to the waiting job.
    await page.goto(`${stack.url}/jobs/${waiting.id}`);
    await page.locator('[data-testid="job-state"] [data-state="succeeded"]').waitFor();
    await page.getByTestId('log').filter({ hasText: 'started after the cancel' }).waitFor();
  });

  test('job list filters by state and project and follows live state', async () => {
    await page.getByRole('link', { name: '作业', exact: true }).click();
    await page.locator(`[data-job="${runId}"]`).waitFor();
    await page.locator(`[data-job="${cancelId}"]`).waitFor();
    await page.getByTestId('filter-state').selectOption('cancelled');
    await page.locator(`[data-job="${runId}"]`).waitFor({ state: 'detached' });
    // (the list may be empty for a moment while the filtered page loads: wait for the row)
    await page.locator(`[data-job="${cancelId}"]`).waitFor();
    assert.equal(await page.locator(`[data-job="${runId}"]`).count(), 0);
    await page.getByTestId('filter-state').selectOption('');
    await page.getByTestId('filter-project').fill('vision');
    await page.locator(`[data-job="${cancelId}"]`).waitFor({ state: 'detached' });
    await page.locator(`[data-job="${runId}"]`).waitFor();
    assert.match(page.url(), /project=vision/);
    // A job submitted elsewhere appears without a reload.
    await page.getByTestId('filter-project').fill('');
    await page.waitForURL((u) => !u.search.includes('project='));
    const late = await stack.client.submitJob({
      name: 'e2e-late',
      command: ['true'],
      resources: { accelerators: 0 },
    });
    await page.locator(`[data-job="${late.id}"]`).waitFor();
    await shot('07-jobs');
  });

  test('nodes: accelerators with model, memory, declared flag and holder; drain and undrain', async () => {
    await page.getByRole('link', { name: '节点' }).click();
    const node = page.locator('section.node').first();
    await node.waitFor();
    assert.equal(await node.locator('tbody tr').count(), 2);
    assert.match(await node.locator('tbody').innerText(), /是/); // declared: yes
    assert.match(await page.getByTestId('confinement').innerText(), /^作业(已隔离|未隔离)：.+/);
    // the executor's heartbeat check passes: the node's health says so
    await node.locator('[data-testid="node-health"][data-health="healthy"]').waitFor();
    assert.match(await node.getByTestId('node-health').innerText(), /检查通过/);
    await node.getByRole('textbox').fill('e2e maintenance');
    await node.getByTestId('drain').click();
    await node.getByTestId('undrain').waitFor();
    assert.match(await node.innerText(), /e2e maintenance/);
    await shot('08-node-drained');
    await page.getByRole('link', { name: '总览' }).click();
    await page.getByTestId('kpi-draining').filter({ hasText: '2' }).waitFor();
    await page.getByRole('link', { name: '节点' }).click();
    await page.getByTestId('undrain').click();
    await page.getByTestId('drain').waitFor();
  });

  let bookingId = '';
  let bookingType = '';
  /** Tomorrow (UTC) at `h`:00, as the form's wall clock in time zone UTC. */
  const tomorrowAt = (h: number) => {
    const d = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    return `${d}T${String(h).padStart(2, '0')}:00`;
  };
  const fillBooking = async (count: number) => {
    await page.getByTestId('book-type').fill(bookingType);
    await page.getByTestId('book-count').fill(String(count));
    await page.getByTestId('book-start').fill(tomorrowAt(10));
    await page.getByTestId('book-end').fill(tomorrowAt(14));
    await page.getByTestId('book-zone').fill('UTC');
  };

  test('bookings: books a window through the form and sees it in the calendar', async () => {
    bookingType = (await stack.client.listNodes()).nodes[0]?.accelerators[0]?.type ?? '';
    assert.ok(bookingType, 'the inventory has an accelerator type');
    await page.getByRole('link', { name: '预约' }).click();
    await page.getByTestId('book-form').waitFor();
    // The calendar shows the inventory's type with its 2 accelerators, nothing booked yet.
    const row = page.locator(`[data-testid="calendar"] [data-type="${bookingType}"]`);
    await row.waitFor();
    assert.match(await row.locator('h3').innerText(), /2/);
    assert.deepEqual([...new Set(await row.getByTestId('cal-unbooked').allInnerTexts())], ['2']);
    await fillBooking(2);
    await page.getByTestId('book-submit').click();
    const done = page.getByTestId('book-done');
    await page.locator('[data-testid="book-done"], [data-testid="book-error"]').first().waitFor();
    if ((await done.count()) === 0)
      assert.fail(`the booking was refused: ${await page.getByTestId('book-error').innerText()}`);
    bookingId = (await done.getAttribute('data-booking')) ?? '';
    assert.match(bookingId, /^bk-/);
    await row.locator(`[data-booking="${bookingId}"]`).waitFor();
    assert.ok((await row.getByTestId('cal-unbooked').allInnerTexts()).includes('0'), 'a day with 0 unbooked');
    const listed = page.locator(`[data-booking-row="${bookingId}"]`);
    await listed.locator('[data-state="approved"]').waitFor();
    assert.match(await listed.innerText(), new RegExp(`2 × ${bookingType}`));
    assert.ok(
      (await listed.innerText()).includes(
        `${tomorrowAt(10).replace('T', ' ')} – ${tomorrowAt(14).replace('T', ' ')} (UTC)`,
      ),
    );
    await shot('09a-booking-calendar');
  });

  test('bookings: a refused booking shows the server code and reason inline; the capacity query answers', async () => {
    await fillBooking(1);
    await page.getByTestId('book-submit').click();
    const err = page.getByTestId('book-error');
    await err.waitFor();
    assert.equal(await err.getAttribute('data-code'), 'BOOKING_NO_CAPACITY');
    assert.match(await err.innerText(), /该时段空闲容量不足/);
    // The reason on screen is the server's own.
    let serverReason = '';
    try {
      await stack.client.createBooking({
        acceleratorType: bookingType,
        accelerators: 1,
        start: tomorrowAt(10),
        end: tomorrowAt(14),
        timeZone: 'UTC',
      });
    } catch (e) {
      serverReason = (e as Error).message;
    }
    assert.ok(serverReason.length > 0, 'the API refuses the same booking');
    assert.equal(await page.getByTestId('book-error-reason').innerText(), serverReason);
    await shot('09b-booking-refused');
    await page.getByTestId('capacity-type').fill(bookingType);
    await page.getByTestId('capacity-count').fill('2');
    await page.getByTestId('capacity-hours').fill('2');
    await page.getByTestId('capacity-ask').click();
    const answer = page.getByTestId('capacity-answer');
    await answer.waitFor();
    assert.equal(await answer.getAttribute('data-available'), 'true');
    assert.match(await answer.innerText(), new RegExp(`2 张 ${bookingType}`));
  });

  test('bookings: cancels the booking and its window leaves the calendar', async () => {
    const listed = page.locator(`[data-booking-row="${bookingId}"]`);
    await listed.getByTestId('booking-cancel').click();
    await listed.getByTestId('booking-cancel-confirm').click();
    await listed.locator('[data-state="cancelled"]').waitFor();
    await page
      .locator(`[data-testid="calendar"] [data-booking="${bookingId}"]`)
      .waitFor({ state: 'detached' });
    assert.equal(await listed.getByTestId('booking-cancel').count(), 0);
    await shot('09c-booking-cancelled');
  });

  test('bookings: a daily recurrence shows one bar per window', async () => {
    const last = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    await page.getByTestId('book-type').fill(bookingType);
    await page.getByTestId('book-count').fill('1');
    await page.getByTestId('book-start').fill(tomorrowAt(1));
    await page.getByTestId('book-end').fill(tomorrowAt(2));
    await page.getByTestId('book-zone').fill('UTC');
    await page.getByTestId('book-repeat').selectOption('daily');
    await page.getByTestId('book-until').fill(last);
    await page.getByTestId('book-submit').click();
    const done = page.locator(`[data-testid="book-done"]:not([data-booking="${bookingId}"])`);
    await done.waitFor();
    const id = (await done.getAttribute('data-booking')) ?? '';
    const bars = page.locator(`[data-testid="calendar"] [data-booking="${id}"]`);
    await bars.nth(2).waitFor();
    assert.equal(await bars.count(), 3);
    assert.match(await page.locator(`[data-booking-row="${id}"]`).innerText(), /每天 → .*共 3 个时段/s);
    await stack.client.decideBooking(id, 'cancel');
  });

  test('usage shows the metered job', async () => {
    await page.getByRole('link', { name: '租户与用量' }).click();
    const paths = new Set(
      Object.keys(
        ((await (await fetch(stack.server.url + '/api/v1/openapi.json')).json()) as { paths: object }).paths,
      ),
    );
    if (paths.has('/api/v1/usage')) {
      // The job that ran for ~2 s on 1 accelerator is in the ledger of project default/vision.
      const row = page.getByTestId('usage-report').locator('tr[data-usage-row="default/vision"]');
      await row.waitFor();
      assert.match(await row.innerText(), /^default\/vision\s+1\s/);
      await page.getByTestId('usage-group').selectOption('job');
      await page.getByTestId('usage-report').getByRole('link', { name: runId }).waitFor();
    } else {
      await page.getByTestId('unavailable-usage').getByText('/api/v1/usage').waitFor();
    }
    await shot('09-usage');
  });

  test("why pending: the expected start in the reader's language and time zone, in Chinese and in English", async () => {
    // A 2-hour job holds both accelerators; the next job is expected to start when its limit ends.
    const holder = await stack.client.submitJob({
      name: 'e2e-holder',
      command: ['sleep', '300'],
      resources: { accelerators: 2 },
      timeLimit: '2h',
    });
    const next = await stack.client.submitJob({
      name: 'e2e-next',
      command: ['true'],
      resources: { accelerators: 1 },
      timeLimit: '5m',
    });
    try {
      let detail: { code: string; at: string | null; reserved?: boolean } | null = null;
      for (let i = 0; i < 100 && detail === null; i++) {
        const j = await stack.client.getJob(next.id);
        const d = j.pending?.detail;
        if (d?.code === 'needs-capacity' && d.at !== null) detail = d;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(detail, 'the waiting job has an expected start');
      const timeZone = (await page.evaluate('Intl.DateTimeFormat().resolvedOptions().timeZone')) as string;
      const at = Date.parse(detail.at ?? '');
      await page.goto(`${stack.url}/jobs/${next.id}`);
      const line = page.getByTestId('pending-detail');
      await line.waitFor();
      const zh = await line.innerText();
      const zhTime = formatLocalTime(at, { lang: 'zh-CN', timeZone, now: Date.now() });
      assert.match(zhTime, /^\d+月\d+日 \d\d:\d\d$/);
      assert.ok(zh.startsWith('等待资源：共需 1 个加速卡，当前空闲 0 个 '), zh);
      assert.ok(zh.includes(`；预计 ${zhTime} 开始（约 2 小时后`), zh);
      assert.doesNotMatch(await page.getByTestId('pending').innerText(), /t=\d{10,}/);
      await shot('06c-why-pending-zh');
      // The holder's history reads in Chinese; the English reason is kept as the title.
      await page.goto(`${stack.url}/jobs/${holder.id}`);
      const history = page.getByTestId('timeline');
      await history.getByText('已调度：资源充足，队列中排第一').waitFor();
      await history.getByText('已提交').waitFor();
      assert.equal(await page.getByTestId('transition-reason').first().getAttribute('title'), 'submitted');
      await page.goto(`${stack.url}/jobs/${next.id}`);
      await line.waitFor();
      await page.getByTestId('lang-switch').selectOption('en');
      await line.filter({ hasText: 'expected to start' }).waitFor();
      const en = await line.innerText();
      const enTime = formatLocalTime(at, { lang: 'en', timeZone, now: Date.now() });
      assert.match(enTime, /^[A-Z][a-z]{2} \d+ \d\d:\d\d$/);
      assert.ok(en.startsWith('waits for capacity: needs 1 device in all; 0 '), en);
      assert.ok(en.includes(`; expected to start ${enTime} (in ~2 h`), en);
      await shot('06d-why-pending-en');
      await page.getByTestId('lang-switch').selectOption('zh-CN');
      await line.filter({ hasText: '预计' }).waitFor();
    } finally {
      await stack.client.cancelJob(next.id).catch(() => undefined);
      await stack.client.cancelJob(holder.id).catch(() => undefined);
    }
  });

  test('switches to English, and remembers it', async () => {
    await page.getByTestId('lang-switch').selectOption('en');
    await page.getByRole('link', { name: 'Jobs', exact: true }).waitFor();
    assert.equal(await page.evaluate('document.documentElement.lang'), 'en');
    await page.reload();
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.getByText('Busy accelerators and waiting jobs over time').waitFor();
    await page.getByTestId('kpi-idle').waitFor();
    await shot('10-overview-en');
  });

  test('usable on a tablet (768×1024): no horizontal scrolling of the page', async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    for (const path of ['/', '/jobs', `/jobs/${runId}`, '/nodes', '/submit', '/bookings']) {
      await page.goto(stack.url + path);
      await page.locator('main h1').first().waitFor();
      await page.waitForTimeout(300);
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      assert.ok(overflow <= 0, `${path} overflows by ${overflow}px`);
    }
    await page.goto(stack.url + '/');
    await page.getByTestId('kpi-idle').waitFor();
    await shot('11-overview-tablet');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('every form control and button has an accessible name; images of charts have labels', async () => {
    const unnamed = `[...document.querySelectorAll('input, select, textarea, button, a[href], [role=img]')].filter((el) => {
      const aria = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      const labels = el.labels && el.labels.length > 0;
      const text = (el.textContent || '').trim() || el.getAttribute('title');
      return !(aria || labels || (el.tagName !== 'INPUT' && el.tagName !== 'SELECT' && el.tagName !== 'TEXTAREA' && text));
    }).map((el) => el.outerHTML.slice(0, 120))`;
    for (const path of ['/', '/jobs', `/jobs/${runId}`, '/submit', '/nodes', '/usage', '/bookings']) {
      await page.goto(stack.url + path);
      await page.locator('main h1').first().waitFor();
      await page.waitForTimeout(300);
      assert.deepEqual(await page.evaluate<string[]>(unnamed), [], path);
      assert.equal(await page.locator('main h1').count(), 1, `${path} has one h1`);
    }
  });

  test('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    assert.equal(await page.evaluate("localStorage.getItem('suanli.token')"), null);
    assert.deepEqual(
      // 409: the refused booking (BOOKING_NO_CAPACITY), shown inline on purpose
      consoleErrors.filter((e) => !/status of (400|401|409)/.test(e)),
      [],
    );
  });

  test('role-aware: a viewer gets no submit, cancel, drain or booking form; a member books and cancels but does not approve or drain; a revoked token ends the session; an operator approves a requested booking', async () => {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(stack.server.url + path, {
        method,
        headers: {
          authorization: `Bearer ${stack.token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const paths = Object.keys(
      ((await (await fetch(stack.server.url + '/api/v1/openapi.json')).json()) as { paths: object }).paths,
    );
    // The identity API is part of every server: its absence is a regression, not a reason to skip.
    assert.ok(paths.includes('/api/v1/tokens'), 'the server serves the identity API (/api/v1/tokens)');
    await api('POST', '/api/v1/orgs', { name: 'lab' });
    const tokens: Record<string, string> = {};
    const tokenIds: Record<string, string> = {};
    for (const [subject, role] of [
      ['vera', 'viewer'],
      ['mo', 'member'],
    ] as const) {
      await api('PUT', `/api/v1/orgs/lab/members/${subject}`, { role });
      const created = await api('POST', '/api/v1/tokens', { name: `e2e-${subject}`, subject, tenant: 'lab' });
      tokens[role] = String(created['token']);
      tokenIds[role] = (created['info'] as { id: string }).id;
    }
    // A running job of tenant "lab", submitted by its member.
    const labJobRes = await fetch(stack.server.url + '/api/v1/jobs', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['member'] ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lab-job', command: ['sleep', '30'], resources: { accelerators: 0 } }),
    });
    assert.equal(labJobRes.status, 201);
    const labJob = (await labJobRes.json()) as { id: string };
    // Tenant "lab" needs an operator's approval for bookings.
    await api('PUT', '/api/v1/booking-settings/lab', { requireApproval: true });
    // A booking of tenant "lab" (two days ahead, UTC), made by its member through the API: requested.
    const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const labBookingRes = await fetch(stack.server.url + '/api/v1/bookings', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['member'] ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        acceleratorType: bookingType,
        accelerators: 1,
        start: `${day}T08:00`,
        end: `${day}T09:00`,
        timeZone: 'UTC',
      }),
    });
    assert.equal(labBookingRes.status, 201, await labBookingRes.clone().text());
    const labBooking = (await labBookingRes.json()) as { id: string; state: string };
    assert.equal(labBooking.state, 'requested');
    const signIn = async (token: string) => {
      await page.goto(stack.url + '/');
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('whoami').waitFor();
    };
    const signOut = async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API token').waitFor();
    };

    await signIn(tokens['viewer'] ?? '');
    assert.match(await page.getByTestId('whoami').innerText(), /vera \(viewer, tenant lab\)/);
    assert.equal(await page.getByRole('link', { name: 'Submit job' }).count(), 0);
    await page.getByTestId('kpi-idle').waitFor(); // the inventory is readable
    await page.getByRole('link', { name: 'Nodes', exact: true }).click();
    await page.locator('section.node').first().waitFor();
    assert.equal((await page.getByTestId('drain').count()) + (await page.getByTestId('undrain').count()), 0);
    // The admin's job belongs to tenant "default": the viewer of "lab" does not see it.
    await page.goto(`${stack.url}/jobs`);
    await page.getByTestId('jobs-count').waitFor();
    assert.equal(await page.locator(`[data-job="${runId}"]`).count(), 0);
    await page.locator(`[data-job="${labJob.id}"]`).waitFor();
    await page.goto(`${stack.url}/jobs/${labJob.id}`);
    await page.getByTestId('job-state').waitFor();
    await page.getByTestId('log').waitFor();
    assert.equal(await page.getByTestId('cancel').count(), 0);
    // Bookings: the viewer sees the tenant's booking, but no form and no cancel.
    await page.getByRole('link', { name: 'Bookings', exact: true }).click();
    await page.locator(`[data-booking-row="${labBooking.id}"]`).waitFor();
    await page.locator(`[data-testid="calendar"] [data-booking="${labBooking.id}"]`).waitFor();
    assert.equal(await page.getByTestId('book-form').count(), 0);
    assert.equal(await page.getByTestId('booking-cancel').count(), 0);
    assert.equal(await page.getByTestId('booking-approve').count(), 0);
    await shot('12-viewer');
    await signOut();

    await signIn(tokens['member'] ?? '');
    await page.getByRole('link', { name: 'Submit job' }).waitFor();
    await submitViaEditor('name: lab-member-job\ncommand: ["sleep", "30"]\nresources:\n  accelerators: 0\n');
    await page.waitForURL(/\/jobs\/j-[0-9a-f]{16}$/);
    await page.getByTestId('cancel').waitFor();
    await page.getByRole('link', { name: 'Nodes', exact: true }).click();
    await page.locator('section.node').first().waitFor();
    assert.equal(await page.getByTestId('drain').count(), 0);
    // The member may book and cancel the tenant's booking; approval is for operators.
    await page.getByRole('link', { name: 'Bookings', exact: true }).click();
    await page.getByTestId('book-form').waitFor();
    await page.locator(`[data-booking-row="${labBooking.id}"]`).getByTestId('booking-cancel').waitFor();
    assert.equal(await page.getByTestId('booking-approve').count(), 0);
    // Revoking the token ends the session at the next poll, with a message on the sign-in page.
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.getByTestId('kpi-idle').waitFor();
    const revoked = await fetch(`${stack.server.url}/api/v1/tokens/${tokenIds['member'] ?? ''}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${stack.token}` },
    });
    assert.ok(revoked.ok, `revoke: ${revoked.status}`);
    await page.getByText('Your session ended').waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate("localStorage.getItem('suanli.token')"), null);

    // An operator (here the admin) approves the requested booking from the list.
    await signIn(stack.token);
    await page.getByRole('link', { name: 'Bookings', exact: true }).click();
    const requested = page.locator(`[data-booking-row="${labBooking.id}"]`);
    await requested.locator('[data-state="requested"]').waitFor();
    await requested.getByTestId('booking-reject').waitFor();
    await requested.getByTestId('booking-approve').click();
    await requested.locator('[data-state="approved"]').waitFor();
    assert.equal(await requested.getByTestId('booking-approve').count(), 0);
    await shot('13-booking-approved');
  });
});
