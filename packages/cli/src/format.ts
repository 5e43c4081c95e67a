import {
  describeVerdictDetail,
  formatFromNow,
  formatLocalTime,
  langFromEnv,
  type JobView,
  type Reader,
  type ReaderLang,
} from '@suanli/client';

/** Human output: aligned tables and relative times. Machine output is always `--json`. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function ago(iso: string | null, now: number = Date.now()): string {
  if (iso === null) return '-';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return `in ${duration(-s)}`;
  return `${duration(s)} ago`;
}

export function duration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400)
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

/** Bytes as people read memory: MiB below 1 GiB, GiB with one decimal above; '-' when unknown. */
export function memory(bytes: number | null): string {
  if (bytes === null) return '-';
  const MiB = 1024 * 1024;
  if (bytes < 1024 * MiB) return `${Math.round(bytes / MiB)} MiB`;
  return `${(bytes / (1024 * MiB)).toFixed(1)} GiB`;
}

/** CPU time in ms: milliseconds below a second, then the duration form (1m30s, 2h5m); '-' when unknown. */
export function cpuTime(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return duration(ms / 1000);
}

/**
 * Who reads the output: the language from `--lang` or the locale variables (LC_ALL, LC_MESSAGES,
 * LANG), the time zone from TZ (the runtime's own).
 */
export function cliReader(lang?: ReaderLang, now: number = Date.now()): Reader {
  return { lang: lang ?? langFromEnv(process.env), now };
}

/**
 * Why a job is pending, for the job list: the verdict and its detail rendered for the reader (the
 * English reason when the verdict has no detail).
 */
export function pendingSummary(p: NonNullable<JobView['pending']>, reader: Reader): string {
  return `${p.verdict}: ${p.detail ? describeVerdictDetail(p.detail, reader) : p.reason}`;
}

/** A time as the reader reads it: "Dec 14 19:45 (in ~7 days)" / "12月14日 19:45（约 7 天后）". */
export function readableTime(iso: string, reader: Reader): string {
  const ms = Date.parse(iso);
  const rel = formatFromNow(ms, reader);
  return reader.lang === 'zh-CN'
    ? `${formatLocalTime(ms, reader)}（${rel}）`
    : `${formatLocalTime(ms, reader)} (${rel})`;
}
