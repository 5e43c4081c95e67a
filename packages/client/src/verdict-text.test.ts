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
