/**
 * The job lifecycle as an explicit state machine. Every state change in the platform goes through
 * `assertTransition`, and every transition is stored with its time and reason.
 *
 *   queued ──► starting ──► running ──► succeeded | failed | timed-out | cancelled
 *     ▲  │         │           │
 *     │  └─► cancelled         ├──► preempted ──► requeued ──► queued
 *     │            │           └──► lost ───────► requeued
 *     └────────────┴─── (start failure / lost before running) ─► requeued | failed
 *
 * An attempt that fails or times out while its retry policy allows another goes running →
 * requeued directly (the reason names the failure), so `failed` and `timed-out` stay terminal.
 *
 * `requeued` is a transient state recording that an attempt ended and another will follow;
 * the job moves on to `queued` in the same transaction. `lost` marks an attempt the platform can no
 * longer prove is running (e.g. after a crash); the retry policy decides between `requeued`
 * and `failed`.
 */
export const JOB_STATES = [
  'queued',
  'starting',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed-out',
  'preempted',
  'lost',
  'requeued',
] as const;

export type JobState = (typeof JOB_STATES)[number];

const ALLOWED: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['starting', 'cancelled'],
  starting: ['running', 'failed', 'cancelled', 'lost', 'requeued', 'preempted', 'succeeded', 'timed-out'],
  running: ['succeeded', 'failed', 'cancelled', 'timed-out', 'preempted', 'lost', 'requeued'],
  preempted: ['requeued', 'cancelled'],
  lost: ['requeued', 'failed', 'cancelled'],
  requeued: ['queued', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
  'timed-out': [],
};

/**
 * The classes of states, the one source the API, the console and the CLI use:
 *  - terminal: no transition leaves them (derived from the state machine above): the job is
 *    finished; `preempted` and `lost` are not terminal (the job is requeued, failed or cancelled next);
 *  - unfinished: every other state (what the console calls "active");
 *  - waiting: the job waits to be placed;
 *  - active: the job holds devices.
 */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(
  JOB_STATES.filter((s) => ALLOWED[s].length === 0),
);

/** Every state but the terminal ones, in `JOB_STATES` order. */
export const UNFINISHED_STATES: readonly JobState[] = JOB_STATES.filter((s) => !TERMINAL_STATES.has(s));

/** States in which the job waits to be placed. */
export const WAITING_STATES: readonly JobState[] = ['queued', 'requeued'];

/** States in which the job holds devices. */
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set(['starting', 'running']);

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state);
}

export function canTransition(from: JobState, to: JobState): boolean {
  return ALLOWED[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobState,
    readonly to: JobState,
  ) {
    super(`illegal job state transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function assertTransition(from: JobState, to: JobState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}
