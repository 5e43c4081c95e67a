/**
 * A pending verdict's detail (`pending.detail` of a job view) as a person reads it: in their
 * language (English or Simplified Chinese) and time zone, with the time both absolute and relative
 * ("expected to start Dec 14 19:45 (in ~7 days)" / "预计 12月14日 19:45 开始（约 7 天后）").
 * The CLI and the console share it. Pure: the current time and the time zone are parameters.
 */
import type { TransitionDetailView, VerdictDetailView } from '@suanli/schemas';

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

/** One formatter per time zone: building an Intl.DateTimeFormat costs far more than using one. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterIn(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      ...(timeZone ? { timeZone } : {}),
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(key, f);
  }
  return f;
}

function partsIn(
  ms: number,
  timeZone: string | undefined,
): { y: number; m: number; d: number; hh: string; mm: string } {
  const f = formatterIn(timeZone);
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

/** "3 nvidia-h200 free, 0 nvidia-a100 free" / "空闲 3 个 nvidia-h200、0 个 nvidia-a100". */
function freeText(free: readonly { type: string | null; free: number }[], zh: boolean): string {
  const typed = free.filter((x) => x.type !== null);
  if (typed.length === 0) return zh ? '仅需 CPU' : 'CPU-only';
  if (zh) return `当前空闲 ${typed.map((x) => `${x.free} 个 ${x.type}`).join('、')}`;
  return `${typed.map((x) => `${x.free} ${x.type} free`).join(', ')} now`;
}

/** The detail as one sentence in the reader's language. */
export function describeVerdictDetail(detail: VerdictDetailView, reader: Reader): string {
  const zh = reader.lang === 'zh-CN';
  /** "Dec 14 19:45 (in ~7 days" — the caller closes the parenthesis. */
  const time = (iso: string): { when: string; rel: string } => {
    const at = Date.parse(iso);
    return { when: formatLocalTime(at, reader), rel: formatFromNow(at, reader) };
  };
  switch (detail.code) {
    case 'expected-start': {
      const { when, rel } = time(detail.at);
      return zh
        ? `预计 ${when} 开始（${rel}${detail.reserved ? '，资源已为其预留' : ''}）`
        : `expected to start ${when} (${rel}${detail.reserved ? ', reserved' : ''})`;
    }
    case 'estimated-start': {
      const { when, rel } = time(detail.at);
      return zh ? `估计 ${when} 开始（${rel}）` : `estimated to start ${when} (${rel})`;
    }
    case 'booked-until': {
      const { when, rel } = time(detail.at);
      const who = detail.tenant ?? (zh ? '（维护）' : '(maintenance)');
      return zh
        ? `所需的 ${detail.acceleratorType} 已被租户 ${who} 的预约窗口 ${detail.window} 占用，至 ${when}（${rel}）`
        : `the ${detail.acceleratorType} it needs are booked by window ${detail.window} of tenant ${who} until ${when} (${rel})`;
    }
    case 'runs-in-booking': {
      const { when, rel } = time(detail.at);
      return zh
        ? `将于 ${when}（${rel}）起在租户 ${detail.tenant} 的预约窗口 ${detail.window} 内运行，届时不受配额限制`
        : `will run inside booking window ${detail.window} of tenant ${detail.tenant} from ${when} (${rel}), where quota does not apply`;
    }
    case 'needs-capacity': {
      const head = zh
        ? `等待资源：共需 ${detail.need} 个加速卡，${freeText(detail.free, true)}`
        : `waits for capacity: needs ${detail.need} device${detail.need === 1 ? '' : 's'} in all; ${freeText(detail.free, false)}`;
      if (detail.at === null)
        return zh ? `${head}；暂无预计开始时间` : `${head}; no start time estimated yet`;
      const { when, rel } = time(detail.at);
      return zh
        ? `${head}；预计 ${when} 开始（${rel}${detail.reserved ? '，资源已为其预留' : ''}）`
        : `${head}; expected to start ${when} (${rel}${detail.reserved ? ', reserved' : ''})`;
    }
    case 'preempting': {
      const { when, rel } = time(detail.at);
      return zh
        ? `正在为其抢占作业 ${detail.victims.join('、')}，待其停止后约于 ${when} 开始（${rel}）`
        : `preempting job${detail.victims.length === 1 ? '' : 's'} ${detail.victims.join(', ')} for it; starts when they stop, about ${when} (${rel})`;
    }
    case 'awaits-preempted': {
      const { when, rel } = time(detail.at);
      const who = detail.victims.length > 0 ? ` ${detail.victims.join(zh ? '、' : ', ')}` : '';
      return zh
        ? `等待被抢占的作业${who ? `${who} ` : ''}停止，资源已为其预留；预计 ${when} 开始（${rel}）`
        : `waiting for preempted job(s)${who} to stop; the capacity is reserved for it; expected to start ${when} (${rel})`;
    }
    case 'over-quota': {
      const t = detail.acceleratorType;
      if (detail.scope === 'project')
        return zh
          ? `超出配额：租户 ${detail.tenant} 的项目 ${detail.project} 最多使用 ${detail.limit} 个 ${t}，已用 ${detail.used} 个，本作业需要 ${detail.need} 个`
          : `over quota: project ${detail.project} of tenant ${detail.tenant} may use at most ${detail.limit} ${t}; it uses ${detail.used} and this job needs ${detail.need}`;
      if (detail.scope === 'tenant')
        return zh
          ? `超出配额：租户 ${detail.tenant} 最多使用 ${detail.limit} 个 ${t}（保障额度 + 借用上限），已用 ${detail.used} 个，本作业需要 ${detail.need} 个`
          : `over quota: tenant ${detail.tenant} may use at most ${detail.limit} ${t} (guarantee + borrowing limit); it uses ${detail.used} and this job needs ${detail.need}`;
      return zh
        ? `超出保障额度：租户 ${detail.tenant} 保障 ${detail.limit} 个 ${t}，已用 ${detail.used} 个；本作业还需 ${detail.need} 个，须向其他租户借用，但目前没有可借出的空闲 ${t}`
        : `beyond its guarantee: tenant ${detail.tenant} is guaranteed ${detail.limit} ${t} and uses ${detail.used}; this job needs ${detail.need} more, which must be borrowed, but no idle ${t} can be lent now`;
    }
    case 'booking-full':
      return zh
        ? `租户 ${detail.tenant} 的预约窗口 ${detail.window} 已用 ${detail.used}/${detail.entitlement} 个 ${detail.acceleratorType}；待其中的作业让出空间后即可在窗口内运行`
        : `fits inside booking window ${detail.window} of tenant ${detail.tenant} once its jobs there leave room (${detail.used} of ${detail.entitlement} ${detail.acceleratorType} in use)`;
    case 'no-node-fits':
      return zh
        ? `永远无法运行：即使全部空闲，集群中也没有${detail.replicas > 1 ? '一组节点' : '任何节点'}能容纳此请求（共 ${detail.need} 个加速卡）`
        : `can never run: no ${detail.replicas > 1 ? 'set of nodes' : 'node'} in the cluster can hold this request (${detail.need} devices in all), even when empty`;
    case 'beyond-quota': {
      const t = detail.acceleratorType;
      const whose =
        detail.scope === 'project'
          ? zh
            ? `租户 ${detail.tenant} 的项目 ${detail.project}`
            : `project ${detail.project} of tenant ${detail.tenant}`
          : zh
            ? `租户 ${detail.tenant}`
            : `tenant ${detail.tenant}`;
      const fix =
        detail.scope === 'project'
          ? zh
            ? '请提高项目上限或缩小作业'
            : 'raise the limit or shrink the job'
          : detail.scope === 'tenant'
            ? zh
              ? '请提高配额或缩小作业'
              : 'raise the quota or shrink the job'
            : zh
              ? '请提高其保障额度、让其他租户借出更多，或缩小作业'
              : 'raise its guarantee, let others lend more, or shrink the job';
      return zh
        ? `永远无法运行：需要 ${detail.need} 个 ${t}，超过${whose} 最多可得的 ${detail.limit} 个；${fix}`
        : `can never run: asks ${detail.need} ${t}, more than ${whose} could ever get (${detail.limit}): ${fix}`;
    }
    case 'behind-job':
      return detail.order === 'strict'
        ? zh
          ? `严格按顺序（未启用回填）：排在作业 ${detail.job} 之后`
          : `strict order (backfill off): waits behind job ${detail.job}`
        : zh
          ? `先来先服务：排在作业 ${detail.job} 之后`
          : `first-come-first-served: waits behind job ${detail.job}`;
    case 'not-considered':
      return detail.limit === 'budget'
        ? zh
          ? `本轮未检测：回填检测预算（backfill.maxJobsTested = ${detail.value}）已用于排在前面的作业`
          : `not tested this cycle: the backfill test budget (backfill.maxJobsTested = ${detail.value}) went to jobs ahead of it`
        : zh
          ? `本轮未检查：在队列中的位置超出 backfill.maxJobsExamined（${detail.value}）；前面的作业开始后会被考虑`
          : `not examined this cycle: further down the queue than backfill.maxJobsExamined (${detail.value}); it is considered as the jobs ahead of it start`;
    case 'behind-reservation':
      return zh
        ? `现在即可放下，但会推迟${detail.job === null ? '已预留资源的作业' : `作业 ${detail.job}（资源已为其预留）`}`
        : `fits now, but would delay ${detail.job === null ? 'a job' : `job ${detail.job}`}, which is promised that capacity`;
    case 'behind-booking': {
      const w = detail.window ?? '?';
      const head = zh
        ? `会占用预约窗口 ${w} 为其他租户预留的资源`
        : `it would use capacity booked by window ${w} for another tenant`;
      if (detail.at === null) return head;
      const { when, rel } = time(detail.at);
      return zh ? `${head}；估计 ${when} 开始（${rel}）` : `${head}; estimated to start ${when} (${rel})`;
    }
    case 'array-throttle':
      return zh
        ? `作业数组 ${detail.array} 最多同时运行 ${detail.limit} 个任务（%${detail.limit}）；其中一个结束后本任务才会开始`
        : `array ${detail.array} runs at most ${detail.limit} task${detail.limit === 1 ? '' : 's'} at once (%${detail.limit}); this task starts when one of them ends`;
  }
}

type AttemptEnd = NonNullable<Extract<TransitionDetailView, { code: 'failed' }>['end']>;

/** "replica 1: killed by SIGKILL" / "副本 1：被 SIGKILL 信号终止", with the memory limit first. */
function describeEnd(end: AttemptEnd, zh: boolean): string {
  const parts: string[] = [];
  const oom = end.outOfMemory;
  if (oom !== null) {
    const limit =
      oom.limitMiB === null
        ? zh
          ? '未设上限'
          : 'no limit set'
        : zh
          ? `上限 ${oom.limitMiB} MiB`
          : `limit ${oom.limitMiB} MiB`;
    const peak = oom.peakMiB === null ? '' : zh ? `，峰值 ${oom.peakMiB} MiB` : `, peak ${oom.peakMiB} MiB`;
    parts.push(zh ? `内存超限（${limit}${peak}）` : `out-of-memory (${limit}${peak})`);
  }
  const replica = end.replica === null ? '' : zh ? `副本 ${end.replica}：` : `replica ${end.replica}: `;
  const how =
    end.signal !== null
      ? zh
        ? `被 ${end.signal} 信号终止`
        : `killed by ${end.signal}`
      : end.exitCode === null
        ? zh
          ? '退出码未知'
          : 'exit code unknown'
        : zh
          ? `退出码 ${end.exitCode}`
          : `exit code ${end.exitCode}`;
  parts.push(replica + how);
  const text = parts.join(zh ? '；' : '; ');
  return end.note === null ? text : `${text} (${end.note})`;
}

/**
 * A state transition's detail (`transitions[].detail` of a job view) as one phrase in the reader's
 * language. Parts the platform cannot structure (a backend's message) stay as written (English).
 */
export function describeTransition(detail: TransitionDetailView, reader: Pick<Reader, 'lang'>): string {
  const zh = reader.lang === 'zh-CN';
  const retrying = (r: boolean): string =>
    r ? (zh ? '；将按重试策略重试' : '; retrying under the retry policy') : '';
  switch (detail.code) {
    case 'submitted':
      return zh ? '已提交' : 'submitted';
    case 'scheduled':
      switch (detail.how) {
        case 'first-in-order':
          return zh ? '已调度：资源充足，队列中排第一' : 'scheduled: fits now; first in queue order';
        case 'ahead-blocked':
          return zh
            ? `已调度：资源充足（排在前面的作业 ${detail.job ?? '?'} 所需资源尚未空出）`
            : `scheduled: fits now (job ${detail.job ?? '?'} ahead of it needs capacity that is not free)`;
        case 'backfilled':
          return zh
            ? `已调度（回填）：现在可以放下，且不推迟前面 ${detail.reserved ?? 0} 个已预留的作业`
            : `scheduled (backfilled): fits now and does not delay the ${detail.reserved ?? 0} reserved job(s) ahead of it`;
        case 'in-booking':
          return zh
            ? `已调度：在租户 ${detail.tenant ?? '?'} 的预约窗口 ${detail.window ?? '?'} 内运行（不受配额限制）`
            : `scheduled: inside booking window ${detail.window ?? '?'} of tenant ${detail.tenant ?? '?'} (quota does not apply)`;
      }
      break;
    case 'cancelled': {
      const who =
        detail.by === null ? (zh ? '应请求' : 'by request') : zh ? `由 ${detail.by} ` : `by ${detail.by}`;
      const what = detail.array
        ? zh
          ? `作业数组已${who}取消`
          : `array cancelled ${who}`
        : zh
          ? `已${who}取消`
          : `cancelled ${who}`;
      return detail.end === null ? what : `${what}${zh ? '；' : '; '}${describeEnd(detail.end, zh)}`;
    }
    case 'requeued':
      if (detail.after === 'preemption')
        return zh
          ? '被抢占后重新排队（不计入尝试次数）'
          : 'requeued after preemption (does not count as an attempt)';
      if (detail.after === 'restart')
        return zh
          ? '服务重启打断了重新排队，现已重新排队'
          : 'requeued after a restart interrupted the requeue';
      return zh
        ? `按重试策略重新排队，原因：${detail.text ?? ''}`
        : `requeued under the retry policy after: ${detail.text ?? ''}`;
    case 'not-retried':
      return zh
        ? `不再重试：${detail.text}（已用尝试 ${detail.used}/${detail.max}；retryOn：${detail.retryOn || '无'}）`
        : `not retried after: ${detail.text} (attempts used ${detail.used} of ${detail.max}; retryOn: ${detail.retryOn || 'none'})`;
    case 'preempted': {
      const end = detail.end === null ? '' : `${zh ? '；' : '; '}${describeEnd(detail.end, zh)}`;
      return zh ? `被抢占：${detail.text}${end}` : `preempted: ${detail.text}${end}`;
    }
    case 'lost':
      return zh ? `丢失：${detail.text}` : `lost: ${detail.text}`;
    case 'completed':
      return (
        (zh ? '已完成；退出码 0' : 'completed; exit code 0') +
        (detail.note === null ? '' : ` (${detail.note})`)
      );
    case 'failed':
      return `${zh ? '失败；' : 'failed; '}${describeEnd(detail.end, zh)}${retrying(detail.retrying)}`;
    case 'timed-out': {
      const end = detail.end === null ? '' : `${zh ? '；' : '; '}${describeEnd(detail.end, zh)}`;
      return zh
        ? `已达到 ${detail.limitSeconds} 秒的时间上限${end}${retrying(detail.retrying)}`
        : `time limit of ${detail.limitSeconds} s reached${end}${retrying(detail.retrying)}`;
    }
    case 'other':
      return detail.text;
  }
  return '';
}
