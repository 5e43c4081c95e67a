/**
 * The structured part of a state transition's English reason (`transitions[].detail` of a job
 * view): a stable `code` and the facts, derived at the API boundary from the reason the engine
 * wrote, so that clients render it in the reader's language. Reasons of a shape not known here get
 * `other`; a part the parser cannot structure (a backend's message, a note) stays English in `text`.
 * Pure.
 */
import type { TransitionDetailView } from '@suanli/schemas';

type End = NonNullable<Extract<TransitionDetailView, { code: 'failed' }>['end']>;

/** "replica 1: out-of-memory (limit 128 MiB, peak 128 MiB); killed by SIGKILL (note)" and the like. */
function parseEnd(s: string): End | null {
  const m =
    /^(?:out-of-memory \((?:limit (\d+) MiB|no limit set)(?:, peak (\d+) MiB)?\); )?(?:replica (\d+): )?(?:killed by (\S+?)|exit code (\d+|unknown))(?: \((.*)\))?$/.exec(
      s,
    );
  if (m === null) return null;
  const oom = s.startsWith('out-of-memory (');
  return {
    replica: m[3] === undefined ? null : Number(m[3]),
    signal: m[4] ?? null,
    exitCode: m[5] === undefined || m[5] === 'unknown' ? null : Number(m[5]),
    outOfMemory: oom
      ? {
          limitMiB: m[1] === undefined ? null : Number(m[1]),
          peakMiB: m[2] === undefined ? null : Number(m[2]),
        }
      : null,
    note: m[6] ?? null,
  };
}

/** The start reasons of the policies (`scheduled: …`). */
function parseStart(s: string): TransitionDetailView {
  const none = { job: null, reserved: null, window: null, tenant: null };
  if (s === 'fits now; first in queue order') return { code: 'scheduled', how: 'first-in-order', ...none };
  let m = /^fits now \(job (\S+) ahead of it needs capacity that is not free\)$/.exec(s);
  if (m) return { code: 'scheduled', how: 'ahead-blocked', ...none, job: m[1] ?? null };
  m = /^backfilled: fits now and does not delay the (\d+) reserved job\(s\) ahead of it$/.exec(s);
  if (m) return { code: 'scheduled', how: 'backfilled', ...none, reserved: Number(m[1]) };
  m = /^inside booking window (\S+) of tenant (\S+):/.exec(s);
  if (m) return { code: 'scheduled', how: 'in-booking', ...none, window: m[1] ?? null, tenant: m[2] ?? null };
  return { code: 'other', text: `scheduled: ${s}` };
}

export function transitionDetail(reason: string): TransitionDetailView {
  if (reason === 'submitted') return { code: 'submitted' };
  if (reason.startsWith('scheduled: ')) return parseStart(reason.slice('scheduled: '.length));
  let m = /^(array )?cancelled by (.+?)( while waiting)?$/.exec(reason);
  if (m && !reason.startsWith('cancelled by request'))
    return { code: 'cancelled', by: m[2] ?? null, array: m[1] !== undefined, end: null };
  m = /^cancelled by request; (.*)$/.exec(reason);
  if (m) return { code: 'cancelled', by: null, array: false, end: parseEnd(m[1] ?? '') };
  if (reason === 'requeued after preemption (does not count as an attempt)')
    return { code: 'requeued', after: 'preemption', text: null };
  if (reason === 'requeued after a restart interrupted the requeue')
    return { code: 'requeued', after: 'restart', text: null };
  m = /^requeued under the retry policy after: (.*)$/.exec(reason);
  if (m) return { code: 'requeued', after: 'retry', text: m[1] ?? null };
  m = /^not retried after: (.*) \(attempts used (\d+) of (\d+); retryOn: (.*)\)$/.exec(reason);
  if (m)
    return {
      code: 'not-retried',
      text: m[1] ?? '',
      used: Number(m[2]),
      max: Number(m[3]),
      retryOn: m[4] ?? '',
    };
  m = /^preempted: (.*); ([^;]*)$/.exec(reason);
  if (m) return { code: 'preempted', text: m[1] ?? '', end: parseEnd(m[2] ?? '') };
  m = /^lost: (.*)$/.exec(reason);
  if (m) return { code: 'lost', text: m[1] ?? '' };
  m = /^completed; exit code 0(?: \((.*)\))?$/.exec(reason);
  if (m) return { code: 'completed', note: m[1] ?? null };
  const retrying = reason.endsWith('; retrying under the retry policy');
  const body = retrying ? reason.slice(0, -'; retrying under the retry policy'.length) : reason;
  m = /^failed; (.*)$/.exec(body);
  if (m) {
    const end = parseEnd(m[1] ?? '');
    if (end !== null) return { code: 'failed', end, retrying };
  }
  m = /^time limit of (\d+) s reached; (.*)$/.exec(body);
  if (m) return { code: 'timed-out', limitSeconds: Number(m[1]), end: parseEnd(m[2] ?? ''), retrying };
  return { code: 'other', text: reason };
}
