/**
 * The few facts about processes the local executor needs, read from Linux's /proc. Identity of a
 * process across a server restart is (boot id, pid, start time): a pid alone is reused by the
 * kernel, and a start time alone repeats across reboots (it counts clock ticks since boot).
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  /** One-letter state: R, S, D, Z (zombie: ended, not yet reaped), X, T, … */
  readonly state: string;
  readonly pgrp: number;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks after boot. Kept as a string (exact). */
  readonly startTime: string;
}

/** Parses /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses, so split after the LAST ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // Fields from 3 (state) on; field n is rest[n - 3].
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = rest[0];
  const pgrp = Number(rest[5 - 3]);
  const startTime = rest[22 - 3];
  if (
    !Number.isInteger(pid) ||
    state === undefined ||
    !Number.isInteger(pgrp) ||
    startTime === undefined ||
    !/^\d+$/.test(startTime)
  )
    return null;
  return { pid, state, pgrp, startTime };
}

export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null; // gone (ENOENT/ESRCH) or unreadable: either way not provably ours
  }
}

let cachedBootId: string | null = null;
/** This boot's random id; changes on every reboot. */
export function readBootId(): string {
  cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return cachedBootId;
}

/** True when `stat` describes a process that has ended (zombie or dead) rather than one that runs. */
export function isEnded(stat: ProcStat | null): boolean {
  return stat === null || stat.state === 'Z' || stat.state === 'X' || stat.state === 'x';
}

/**
 * Which of `pgids` still hold a LIVE (non-zombie) process? `kill(-pgid, 0)` is not enough: it
 * succeeds while an unreaped zombie remains, and orphans are reaped late by some inits (PID 1 in
 * containers). One scan of /proc, bounded by the number of processes on the machine.
 */
export function liveProcessGroups(pgids: ReadonlySet<number>): Set<number> {
  const live = new Set<number>();
  if (pgids.size === 0) return live;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return live;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = readProcStat(Number(e));
    if (st !== null && pgids.has(st.pgrp) && !isEnded(st)) live.add(st.pgrp);
  }
  return live;
}
