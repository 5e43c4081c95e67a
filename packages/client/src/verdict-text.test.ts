import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeVerdictDetail,
  formatFromNow,
  formatLocalTime,
  langFromEnv,
  parseLang,
  type Reader,
} from './verdict-text.js';
import type { VerdictDetailView } from '@suanli/schemas';

type Of<C extends VerdictDetailView['code']> = Extract<VerdictDetailView, { code: C }>;

const AT = '2026-12-14T11:45:00.000Z'; // 19:45 in Shanghai, 06:45 in New York
const now = Date.parse(AT) - 7 * 24 * 3600_000;
const zh: Reader = { lang: 'zh-CN', timeZone: 'Asia/Shanghai', now };
const en: Reader = { lang: 'en', timeZone: 'Asia/Shanghai', now };

test('an expected start reads as local time and time from now, in either language', () => {
  const d = { code: 'expected-start', at: AT, reserved: false } as const;
  assert.equal(describeVerdictDetail(d, zh), '预计 12月14日 19:45 开始（约 7 天后）');
  assert.equal(describeVerdictDetail(d, en), 'expected to start Dec 14 19:45 (in ~7 days)');
  assert.equal(
    describeVerdictDetail({ ...d, reserved: true }, en),
    'expected to start Dec 14 19:45 (in ~7 days, reserved)',
  );
  assert.equal(
    describeVerdictDetail({ ...d, reserved: true }, zh),
    '预计 12月14日 19:45 开始（约 7 天后，资源已为其预留）',
  );
});

test("the reader's time zone decides the clock time", () => {
  const d = { code: 'estimated-start', at: AT } as const;
  assert.equal(
    describeVerdictDetail(d, { ...en, timeZone: 'America/New_York' }),
    'estimated to start Dec 14 06:45 (in ~7 days)',
  );
  assert.equal(describeVerdictDetail(d, { ...zh, timeZone: 'UTC' }), '估计 12月14日 11:45 开始（约 7 天后）');
});

test('booking details name the window and tenant in either language', () => {
  const booked = {
    code: 'booked-until',
    at: AT,
    window: 'bk-7',
    tenant: 'lab-b',
    acceleratorType: 'nvidia-h200',
  } as const;
  assert.equal(
    describeVerdictDetail(booked, en),
    'the nvidia-h200 it needs are booked by window bk-7 of tenant lab-b until Dec 14 19:45 (in ~7 days)',
  );
  assert.equal(
    describeVerdictDetail(booked, zh),
    '所需的 nvidia-h200 已被租户 lab-b 的预约窗口 bk-7 占用，至 12月14日 19:45（约 7 天后）',
  );
  const runs = { code: 'runs-in-booking', at: AT, window: 'bk-8', tenant: 'lab-a' } as const;
  assert.match(
    describeVerdictDetail(runs, zh),
    /^将于 12月14日 19:45（约 7 天后）起在租户 lab-a 的预约窗口 bk-8 内运行/,
  );
  assert.match(
    describeVerdictDetail(runs, en),
    /^will run inside booking window bk-8 of tenant lab-a from Dec 14 19:45 \(in ~7 days\)/,
  );
});

test('relative phrases round to the unit that reads best, past and future', () => {
  const at = (deltaMs: number) => now + deltaMs;
  assert.equal(formatFromNow(at(30_000), en), 'within a minute');
  assert.equal(formatFromNow(at(5 * 60_000), en), 'in ~5 min');
  assert.equal(formatFromNow(at(5 * 60_000), zh), '约 5 分钟后');
  assert.equal(formatFromNow(at(-5 * 60_000), en), '~5 min ago');
  assert.equal(formatFromNow(at(-5 * 60_000), zh), '约 5 分钟前');
  assert.equal(formatFromNow(at(3 * 3600_000), zh), '约 3 小时后');
  assert.equal(formatFromNow(at(26 * 3600_000), en), 'in ~26 h');
  assert.equal(formatFromNow(at(40 * 3600_000), en), 'in ~2 days');
  assert.equal(formatFromNow(at(36 * 3600_000 + 1), zh), '约 2 天后');
});

test('another year is written out', () => {
  const next = Date.parse('2027-01-02T01:00:00Z');
  assert.equal(formatLocalTime(next, en), 'Jan 2, 2027 09:00');
  assert.equal(formatLocalTime(next, zh), '2027年1月2日 09:00');
});

test('the language comes from LC_ALL, LC_MESSAGES, LANG in that order, or --lang', () => {
  assert.equal(langFromEnv({ LANG: 'zh_CN.UTF-8' }), 'zh-CN');
  assert.equal(langFromEnv({ LANG: 'zh_CN.UTF-8', LC_ALL: 'C' }), 'en');
  assert.equal(langFromEnv({ LANG: 'en_US.UTF-8', LC_MESSAGES: 'zh_TW.UTF-8' }), 'zh-CN');
  assert.equal(langFromEnv({}), 'en');
  assert.equal(parseLang('zh'), 'zh-CN');
  assert.equal(parseLang('en-GB'), 'en');
  assert.equal(parseLang('fr'), null);
});

test('a capacity wait names the devices needed, those free by type, and the expected start', () => {
  const d: Of<'needs-capacity'> = {
    code: 'needs-capacity',
    need: 16,
    free: [
      { type: 'nvidia-h200', free: 3 },
      { type: 'nvidia-a100', free: 0 },
    ],
    at: AT,
    reserved: true,
  };
  assert.equal(
    describeVerdictDetail(d, zh),
    '等待资源：共需 16 个加速卡，当前空闲 3 个 nvidia-h200、0 个 nvidia-a100；预计 12月14日 19:45 开始（约 7 天后，资源已为其预留）',
  );
  assert.equal(
    describeVerdictDetail(d, en),
    'waits for capacity: needs 16 devices in all; 3 nvidia-h200 free, 0 nvidia-a100 free now; expected to start Dec 14 19:45 (in ~7 days, reserved)',
  );
  assert.equal(
    describeVerdictDetail({ ...d, at: null, reserved: false, free: [{ type: 'nvidia-h200', free: 3 }] }, zh),
    '等待资源：共需 16 个加速卡，当前空闲 3 个 nvidia-h200；暂无预计开始时间',
  );
  assert.equal(
    describeVerdictDetail(
      { ...d, need: 1, at: null, reserved: false, free: [{ type: 'nvidia-h200', free: 0 }] },
      en,
    ),
    'waits for capacity: needs 1 device in all; 0 nvidia-h200 free now; no start time estimated yet',
  );
});

test('preemption verdicts name the jobs being stopped and when the job starts', () => {
  const p: Of<'preempting'> = { code: 'preempting', victims: ['j-1', 'j-2'], at: AT };
  assert.equal(
    describeVerdictDetail(p, zh),
    '正在为其抢占作业 j-1、j-2，待其停止后约于 12月14日 19:45 开始（约 7 天后）',
  );
  assert.equal(
    describeVerdictDetail(p, en),
    'preempting jobs j-1, j-2 for it; starts when they stop, about Dec 14 19:45 (in ~7 days)',
  );
  const a: Of<'awaits-preempted'> = { code: 'awaits-preempted', victims: ['j-1'], at: AT };
  assert.equal(
    describeVerdictDetail(a, zh),
    '等待被抢占的作业 j-1 停止，资源已为其预留；预计 12月14日 19:45 开始（约 7 天后）',
  );
  assert.match(
    describeVerdictDetail({ ...a, victims: [] }, en),
    /^waiting for preempted job\(s\) to stop; the capacity/,
  );
});

test('quota verdicts say which quota, its limit, the use and the need, in either language', () => {
  const base = {
    code: 'over-quota',
    tenant: 'lab-a',
    project: 'llm',
    acceleratorType: 'nvidia-h200',
  } as const;
  const project = { ...base, scope: 'project', limit: 8, used: 6, need: 4 } as const;
  assert.equal(
    describeVerdictDetail(project, zh),
    '超出配额：租户 lab-a 的项目 llm 最多使用 8 个 nvidia-h200，已用 6 个，本作业需要 4 个',
  );
  assert.equal(
    describeVerdictDetail(project, en),
    'over quota: project llm of tenant lab-a may use at most 8 nvidia-h200; it uses 6 and this job needs 4',
  );
  const tenant = { ...base, scope: 'tenant', limit: 12, used: 10, need: 4 } as const;
  assert.match(
    describeVerdictDetail(tenant, zh),
    /^超出配额：租户 lab-a 最多使用 12 个 nvidia-h200（保障额度 \+ 借用上限）/,
  );
  const borrow = { ...base, scope: 'borrowing', limit: 4, used: 4, need: 2 } as const;
  assert.match(
    describeVerdictDetail(borrow, zh),
    /^超出保障额度：租户 lab-a 保障 4 个 nvidia-h200，已用 4 个；本作业还需 2 个/,
  );
  assert.match(
    describeVerdictDetail(borrow, en),
    /^beyond its guarantee: tenant lab-a is guaranteed 4 nvidia-h200 and uses 4/,
  );
  const full = {
    code: 'booking-full',
    window: 'bk-1',
    tenant: 'lab-a',
    acceleratorType: 'nvidia-h200',
    used: 8,
    entitlement: 8,
  } as const;
  assert.equal(
    describeVerdictDetail(full, zh),
    '租户 lab-a 的预约窗口 bk-1 已用 8/8 个 nvidia-h200；待其中的作业让出空间后即可在窗口内运行',
  );
});

test('never-fit verdicts say why, and what to change', () => {
  assert.equal(
    describeVerdictDetail({ code: 'no-node-fits', replicas: 2, need: 32 }, zh),
    '永远无法运行：即使全部空闲，集群中也没有一组节点能容纳此请求（共 32 个加速卡）',
  );
  assert.equal(
    describeVerdictDetail({ code: 'no-node-fits', replicas: 1, need: 16 }, en),
    'can never run: no node in the cluster can hold this request (16 devices in all), even when empty',
  );
  const beyond = {
    code: 'beyond-quota',
    scope: 'cohort',
    tenant: 'lab-a',
    project: 'llm',
    acceleratorType: 'nvidia-h200',
    limit: 10,
    need: 16,
  } as const;
  assert.equal(
    describeVerdictDetail(beyond, zh),
    '永远无法运行：需要 16 个 nvidia-h200，超过租户 lab-a 最多可得的 10 个；请提高其保障额度、让其他租户借出更多，或缩小作业',
  );
  assert.equal(
    describeVerdictDetail({ ...beyond, scope: 'project' }, en),
    'can never run: asks 16 nvidia-h200, more than project llm of tenant lab-a could ever get (10): raise the limit or shrink the job',
  );
});

test('turn verdicts name the job ahead, the budget, the booking or the array throttle', () => {
  assert.equal(
    describeVerdictDetail({ code: 'behind-job', job: 'j-9', order: 'strict' }, zh),
    '严格按顺序（未启用回填）：排在作业 j-9 之后',
  );
  assert.equal(
    describeVerdictDetail({ code: 'behind-job', job: 'j-9', order: 'fcfs' }, en),
    'first-come-first-served: waits behind job j-9',
  );
  assert.equal(
    describeVerdictDetail({ code: 'not-considered', limit: 'budget', value: 500 }, zh),
    '本轮未检测：回填检测预算（backfill.maxJobsTested = 500）已用于排在前面的作业',
  );
  assert.match(
    describeVerdictDetail({ code: 'not-considered', limit: 'depth', value: 2000 }, en),
    /maxJobsExamined \(2000\)/,
  );
  assert.equal(
    describeVerdictDetail({ code: 'behind-reservation', job: 'j-3' }, zh),
    '现在即可放下，但会推迟作业 j-3（资源已为其预留）',
  );
  assert.equal(
    describeVerdictDetail({ code: 'behind-booking', window: 'bk-2', at: AT }, zh),
    '会占用预约窗口 bk-2 为其他租户预留的资源；估计 12月14日 19:45 开始（约 7 天后）',
  );
  assert.equal(
    describeVerdictDetail({ code: 'behind-booking', window: null, at: null }, en),
    'it would use capacity booked by window ? for another tenant',
  );
  assert.equal(
    describeVerdictDetail({ code: 'array-throttle', array: 'a-1', limit: 2 }, zh),
    '作业数组 a-1 最多同时运行 2 个任务（%2）；其中一个结束后本任务才会开始',
  );
  assert.equal(
    describeVerdictDetail({ code: 'array-throttle', array: 'a-1', limit: 1 }, en),
    'array a-1 runs at most 1 task at once (%1); this task starts when one of them ends',
  );
});
