/** Formatting helpers shared by every view. Pure: the current time is a parameter. */
import type { Lang } from './i18n.js';

/** "45s", "12m 5s", "3h 4m", "2d 5h". Negative durations are shown as 0s. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Memory given in bytes (a measured peak): "1.5 GiB", "300 MiB"; null: "—". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  const mib = bytes / (1024 * 1024);
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  return `${Math.round(mib)} MiB`;
}

/** CPU time in ms: "850 ms", "12.5 s", then formatDuration's form; null: "—". */
export function formatCpuTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(ms);
}

/** Memory given in MiB: "80 GiB", "512 MiB". */
export function formatMiB(mib: number | null | undefined): string {
  if (mib === null || mib === undefined || !Number.isFinite(mib)) return '—';
  if (mib >= 1024) {
    const g = mib / 1024;
    return `${Number.isInteger(g) ? g : g.toFixed(1)} GiB`;
  }
  return `${Math.round(mib)} MiB`;
}

const LOCALE: Record<Lang, string> = { en: 'en-GB', 'zh-CN': 'zh-CN' };

// One formatter per language: Date#toLocaleString builds a new one on every call, which is what
// made scrolling the job list stutter.
const formatters = new Map<Lang, Intl.DateTimeFormat>();

/** A timestamp in the viewer's time zone, to the second: "28/11/2026, 18:21:46", "2026/11/28 18:21:46". */
export function formatTime(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  let f = formatters.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(LOCALE[lang], {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
    });
    formatters.set(lang, f);
  }
  return f.format(d);
}

/** "5m 2s ago" / "in 3m 0s" relative to `nowMs`. */
export function formatRelative(iso: string | null | undefined, nowMs: number, lang: Lang): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const d = formatDuration(Math.abs(nowMs - t));
  if (lang === 'zh-CN') return t <= nowMs ? `${d}前` : `${d}后`;
  return t <= nowMs ? `${d} ago` : `in ${d}`;
}

/** Percentage with no decimals, or "—" when the total is 0. */
export function formatPercent(part: number, total: number): string {
  if (total <= 0) return '—';
  return `${Math.round((part / total) * 100)}%`;
}

/** Median of a list of numbers (null for an empty list). */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] ?? null) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Hours with precision that suits their size: "1234", "12.5", "0.042". */
export function formatHours(h: number): string {
  if (!Number.isFinite(h)) return '—';
  if (h >= 100) return Math.round(h).toLocaleString('en-US');
  if (h >= 1) return h.toFixed(1);
  if (h === 0) return '0';
  if (h < 0.001) return '<0.001';
  return h.toFixed(3);
}

/** The UTC month containing `nowMs`, as an <input type="month"> value: "2026-11". */
export function utcMonth(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 7);
}

/** [from, to) of a UTC month given as "YYYY-MM", in ISO-8601; null for anything else. */
export function monthWindow(ym: string): { from: string; to: string } | null {
  const m = /^(\d{4})-(\d{2})$/.exec(ym);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12) return null;
  return {
    from: new Date(Date.UTC(y, mo - 1, 1)).toISOString(),
    to: new Date(Date.UTC(y, mo, 1)).toISOString(),
  };
}
