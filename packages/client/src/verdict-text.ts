/**
 * A pending verdict's detail (`pending.detail` of a job view) as a person reads it: in their
 * language (English or Simplified Chinese) and time zone, with the time both absolute and relative
 * ("expected to start Dec 14 19:45 (in ~7 days)" / "预计 12月14日 19:45 开始（约 7 天后）").
 * The CLI and the console share it. Pure: the current time and the time zone are parameters.
 */
import type { VerdictDetailView } from '@suanli/schemas';

export type ReaderLang = 'en' | 'zh-CN';

export interface Reader {
  readonly lang: ReaderLang;
  /** IANA time zone (`Asia/Shanghai`); absent: the runtime's own (TZ, the browser's). */
  readonly timeZone?: string;
  /** Epoch ms: "now" for relative phrases. */
  readonly now: number;
}

/**
 * The reader's language from the POSIX locale variables, in their order of precedence (LC_ALL,
 * LC_MESSAGES, LANG): Chinese for any `zh…` locale, else English.
 */
export function langFromEnv(env: Readonly<Record<string, string | undefined>>): ReaderLang {
  const locale = env['LC_ALL'] || env['LC_MESSAGES'] || env['LANG'] || '';
  return /^zh([_.-]|$)/i.test(locale) ? 'zh-CN' : 'en';
}

/** `--lang` values the CLI accepts: `en`, `zh`, `zh-CN`, `zh_CN.UTF-8`… */
export function parseLang(value: string): ReaderLang | null {
  if (/^en([_.-]|$)/i.test(value)) return 'en';
  if (/^zh([_.-]|$)/i.test(value)) return 'zh-CN';
  return null;
}

const MONTHS_EN = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function partsIn(
  ms: number,
  timeZone: string | undefined,
): { y: number; m: number; d: number; hh: string; mm: string } {
  const f = new Intl.DateTimeFormat('en-US', {
    ...(timeZone ? { timeZone } : {}),
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(new Date(ms))) p[x.type] = x.value;
  return {
    y: Number(p['year']),
    m: Number(p['month']),
    d: Number(p['day']),
    hh: p['hour'] ?? '00',
    mm: p['minute'] ?? '00',
  };
}

/** "Dec 14 19:45" / "12月14日 19:45" in the reader's time zone; the year only when not this year's. */
export function formatLocalTime(ms: number, reader: Reader): string {
  const t = partsIn(ms, reader.timeZone);
  const sameYear = partsIn(reader.now, reader.timeZone).y === t.y;
  if (reader.lang === 'zh-CN') return `${sameYear ? '' : `${t.y}年`}${t.m}月${t.d}日 ${t.hh}:${t.mm}`;
  return `${MONTHS_EN[t.m - 1] ?? t.m} ${t.d}${sameYear ? '' : `, ${t.y}`} ${t.hh}:${t.mm}`;
}

/** "in ~7 days" / "约 7 天后", "~5 min ago" / "约 5 分钟前": rounded to the unit that reads best. */
export function formatFromNow(ms: number, reader: Reader): string {
  const diff = ms - reader.now;
  const abs = Math.abs(diff);
  const zh = reader.lang === 'zh-CN';
  const MIN = 60_000;
  const HOUR = 60 * MIN;
  const DAY = 24 * HOUR;
  if (abs < MIN) return zh ? (diff >= 0 ? '1 分钟内' : '刚才') : diff >= 0 ? 'within a minute' : 'just now';
  let n: number;
  let en: string;
  let cn: string;
  if (abs < 90 * MIN) [n, en, cn] = [Math.round(abs / MIN), 'min', '分钟'];
  else if (abs < 36 * HOUR) [n, en, cn] = [Math.round(abs / HOUR), 'h', '小时'];
  else {
    n = Math.round(abs / DAY);
    [en, cn] = [n === 1 ? 'day' : 'days', '天'];
  }
  if (zh) return `约 ${n} ${cn}${diff >= 0 ? '后' : '前'}`;
  return diff >= 0 ? `in ~${n} ${en}` : `~${n} ${en} ago`;
}

/** The detail as one sentence in the reader's language. */
export function describeVerdictDetail(detail: VerdictDetailView, reader: Reader): string {
  const at = Date.parse(detail.at);
  const when = formatLocalTime(at, reader);
  const rel = formatFromNow(at, reader);
  const zh = reader.lang === 'zh-CN';
  switch (detail.code) {
    case 'expected-start':
      return zh
        ? `预计 ${when} 开始（${rel}${detail.reserved ? '，资源已为其预留' : ''}）`
        : `expected to start ${when} (${rel}${detail.reserved ? ', reserved' : ''})`;
    case 'estimated-start':
      return zh ? `估计 ${when} 开始（${rel}）` : `estimated to start ${when} (${rel})`;
    case 'booked-until': {
      const who = detail.tenant ?? (zh ? '（维护）' : '(maintenance)');
      return zh
        ? `所需的 ${detail.acceleratorType} 已被租户 ${who} 的预约窗口 ${detail.window} 占用，至 ${when}（${rel}）`
        : `the ${detail.acceleratorType} it needs are booked by window ${detail.window} of tenant ${who} until ${when} (${rel})`;
    }
    case 'runs-in-booking':
      return zh
        ? `将于 ${when}（${rel}）起在租户 ${detail.tenant} 的预约窗口 ${detail.window} 内运行，届时不受配额限制`
        : `will run inside booking window ${detail.window} of tenant ${detail.tenant} from ${when} (${rel}), where quota does not apply`;
  }
}
