/**
 * What the engine needs for long training runs, kept out of the control loop: where a job's
 * checkpoints live, how it is asked to stop (signal and grace), which retry classes an ended
 * attempt falls in, and what progress a job reported (the progress protocol, below).
 *
 * Progress protocol: a job appends lines to `$SUANLI_PROGRESS_FILE` (one file per attempt, in the
 * attempt's log directory). Each line is `step=<n>` (training reached step n) or `checkpoint=<n>`
 * (a checkpoint of step n is complete and durable); other lines are ignored, the last of each kind
 * counts. The engine looks at the files of running jobs every cycle (one `stat` each; read only when
 * they changed) and takes the time it first saw a new `checkpoint=` line as the job's last
 * checkpoint time, which the scheduling core weighs when it picks preemption victims. `suanli job`
 * shows, per attempt, the last step and checkpoint, and the steps lost (done after the last
 * checkpoint, so done again by the next attempt).
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobSpec, RetryableOutcome } from '@suanli/core';

/**
 * A job's checkpoint directory: one per job, for every attempt and replica. Under a configured
 * checkpoint root (`--checkpoint-root`: e.g. a parallel file system the nodes share), `<root>/<jobId>`;
 * otherwise `<logRoot>/<jobId>/checkpoints`, kept with the job's logs.
 */
export function checkpointDirOf(
  logRoot: string,
  jobId: string,
  checkpointRoot: string | null = null,
): string {
  return checkpointRoot === null ? join(logRoot, jobId, 'checkpoints') : join(checkpointRoot, jobId);
}

/** The progress file of an attempt (the `SUANLI_PROGRESS_FILE` env.ts sets). */
export function progressFileOf(logDir: string): string {
  return join(logDir, 'progress.log');
}

/** The signal a stop starts with (the spec's `checkpoint.signal`, else SIGTERM). */
export function stopSignalOf(spec: JobSpec): NodeJS.Signals {
  return (spec.checkpoint?.signal ?? 'SIGTERM') as NodeJS.Signals;
}

/** The grace between that signal and SIGKILL: the spec's `checkpoint.grace` where it sets one. */
export function stopGraceMsOf(spec: JobSpec, defaultMs: number): number {
  return spec.checkpoint ? spec.checkpoint.graceSeconds * 1000 : defaultMs;
}

/**
 * Whether `retryOn` covers an attempt that ended as `outcome`: `user` is `failed` (the job's own
 * error), `platform` is `lost` (the platform's: node lost or failing its health check, a device
 * fault, an end it could not record).
 */
export function retryCovers(
  retryOn: readonly RetryableOutcome[],
  outcome: 'lost' | 'failed' | 'timed-out',
): boolean {
  if (retryOn.includes(outcome)) return true;
  if (outcome === 'failed') return retryOn.includes('user');
  if (outcome === 'lost') return retryOn.includes('platform');
  return false;
}

/** `replica 1: ` when the executor named the replica whose end decided the attempt. */
export function replicaPrefix(replica: number | null | undefined): string {
  return replica === null || replica === undefined ? '' : `replica ${replica}: `;
}

export interface Progress {
  /** The last `step=` reported, or null. */
  readonly step: number | null;
  /** The last `checkpoint=` reported, or null. */
  readonly checkpoint: number | null;
}

/** Parses a progress file's text (see the header). */
export function parseProgress(text: string): Progress {
  let step: number | null = null;
  let checkpoint: number | null = null;
  for (const line of text.split('\n')) {
    const m = /^(step|checkpoint)=(\d{1,15})\s*$/.exec(line);
    if (!m) continue;
    const n = Number(m[2]);
    if (m[1] === 'step') step = n;
    else checkpoint = n;
  }
  return { step, checkpoint };
}

/** Steps done after the last checkpoint (so lost when the attempt ended); null when unknown. */
export function stepsLost(p: Progress): number | null {
  if (p.step === null) return null;
  return Math.max(0, p.step - (p.checkpoint ?? 0));
}

/** The last bytes of a progress file read (the lines that matter are the last ones). */
const PROGRESS_TAIL_BYTES = 64 * 1024;

/** Reads an attempt's progress; null when it has no progress file. Never follows a link the job planted. */
export async function readProgress(logDir: string): Promise<Progress | null> {
  const { constants } = await import('node:fs');
  let fh;
  try {
    fh = await open(progressFileOf(logDir), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return null;
    const len = Math.min(st.size, PROGRESS_TAIL_BYTES);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, st.size - len);
    return parseProgress(buf.toString('utf8'));
  } finally {
    await fh.close();
  }
}

/** Per running attempt: what the engine last saw of its progress file, and when its checkpoint moved. */
export class ProgressTracker {
  private readonly seen = new Map<
    string,
    { logDir: string; mtimeMs: number; checkpoint: number | null; at: number | null }
  >();

  /** Looks at the progress files of `attempts` (job id → log dir); forgets attempts not listed. */
  async poll(attempts: ReadonlyMap<string, string>, now: number): Promise<void> {
    for (const id of this.seen.keys()) if (!attempts.has(id)) this.seen.delete(id);
    await Promise.all(
      [...attempts].map(async ([id, logDir]) => {
        const st = await stat(progressFileOf(logDir)).catch(() => null);
        if (st === null) {
          if (this.seen.get(id)?.logDir !== logDir) this.seen.delete(id);
          return;
        }
        const last = this.seen.get(id);
        const prev = last?.logDir === logDir ? last : undefined; // a new attempt starts afresh
        if (prev && prev.mtimeMs === st.mtimeMs) return;
        const p = await readProgress(logDir);
        const checkpoint = p?.checkpoint ?? null;
        const moved = checkpoint !== null && checkpoint !== (prev?.checkpoint ?? null);
        this.seen.set(id, { logDir, mtimeMs: st.mtimeMs, checkpoint, at: moved ? now : (prev?.at ?? null) });
      }),
    );
  }

  /** Epoch ms when the job's latest checkpoint was first seen in this attempt, or null. */
  lastCheckpointTime(jobId: string): number | null {
    return this.seen.get(jobId)?.at ?? null;
  }
}
