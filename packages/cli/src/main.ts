/**
 * The `suanli` command line: thin commands that parse arguments, call the typed client, and print
 * a readable table or, with `--json`, one JSON document on stdout. Exit codes: 0 success, 1 an
 * error the server or the network reported, 2 a usage error.
 */
import { Command, CommanderError } from 'commander';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import {
  ApiClientError,
  describeTransition,
  describeVerdictDetail,
  parseLang,
  SuanliClient,
  type JobArrayView,
  type JobListEntry,
  type JobView,
  type ReaderLang,
} from '@suanli/client';
import { TERMINAL_STATES } from '@suanli/core/lifecycle';
import { resolveConnection } from './config.js';
import { ago, cliReader, cpuTime, duration, memory, pendingSummary, readableTime, table } from './format.js';
import type { ServerOptions } from '@suanli/api';
import { registerExportTraceCommand } from './commands/export-trace.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerIdentityCommands } from './commands/identity.js';
import { registerBookingCommands } from './commands/bookings.js';

function client(): SuanliClient {
  const { url, token } = resolveConnection();
  return new SuanliClient({ url, ...(token ? { token } : {}) });
}

/** `--lang` when given (checked in a preAction hook); else the locale variables decide. */
let langOption: ReaderLang | undefined;

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

function json(v: unknown): void {
  out(JSON.stringify(v, null, 2));
}

function describeAccelerators(j: JobView): string {
  const type = j.acceleratorTypes.length ? j.acceleratorTypes.join('|') : '';
  const per = `${j.acceleratorsPerReplica}${type ? ` ${type}` : ''}`;
  return j.replicas > 1 ? `${j.replicas}×${per}` : per;
}

function jobRows(jobs: readonly JobView[]): string[][] {
  return jobs.map((j) => [
    j.id,
    j.name,
    j.state + (j.cancelRequested && (j.state === 'running' || j.state === 'starting') ? ' (cancelling)' : ''),
    describeAccelerators(j),
    j.project,
    ago(j.submittedAt),
    j.state === 'queued'
      ? j.pending
        ? pendingSummary(j.pending, cliReader(langOption))
        : 'waiting for the next cycle'
      : j.placement
        ? j.placement.map((r) => r.node).join(',')
        : '',
  ]);
}

/** Task counts of an array as `3 running, 47 queued, 950 succeeded` (most interesting states first). */
export function arrayCounts(a: Pick<JobArrayView, 'counts'>): string {
  const order = [
    'running',
    'starting',
    'queued',
    'requeued',
    'preempted',
    'lost',
    'succeeded',
    'failed',
    'timed-out',
    'cancelled',
  ];
  return Object.entries(a.counts)
    .sort(([x], [y]) => order.indexOf(x) - order.indexOf(y))
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
}

/** An array as one line of `suanli jobs`: id as Slurm shows it (`<id>_[0-999%50]`), counts per state. */
function arrayRow(a: JobArrayView): string[] {
  const accel = `${a.replicas > 1 ? `${a.replicas}×` : ''}${a.acceleratorsPerReplica}`;
  return [
    `${a.id}_[${a.array}]`,
    a.name,
    `array of ${a.size}`,
    accel,
    a.project,
    ago(a.submittedAt),
    arrayCounts(a),
  ];
}

function printArray(a: JobArrayView): void {
  const lines = [
    `Job array ${a.id}  ${a.name}`,
    `  tasks:       ${a.size} (${a.array}${a.throttle === null ? '' : `: at most ${a.throttle} at once`}), ids ${a.firstTaskId} … ${a.lastTaskId}`,
    `  states:      ${arrayCounts(a) || 'none'}`,
    `  tenant:      ${a.tenant} / project ${a.project} (submitted by ${a.submittedBy})`,
    `  command:     ${a.command.map((c) => (/\s/.test(c) ? JSON.stringify(c) : c)).join(' ')}`,
    `  submitted:   ${a.submittedAt} (${ago(a.submittedAt)})`,
  ];
  if (a.tasks?.length) {
    lines.push('  tasks:');
    lines.push(
      table(
        ['    ID', 'NAME', 'STATE', 'ACCEL', 'PROJECT', 'SUBMITTED', 'NODES / WHY PENDING'],
        jobRows(a.tasks).map((r) => ['    ' + r[0], ...r.slice(1)]),
      ),
    );
    if (a.nextCursor) lines.push(`  … more tasks: suanli job ${a.id} --all, or --json with the cursor`);
  }
  out(lines.join('\n'));
}

/** Runs `job` for a job id; an id that is no job but an array's runs `array` instead. */
async function jobOrArray<T>(id: string, job: () => Promise<T>, array: () => Promise<T>): Promise<T> {
  try {
    return await job();
  } catch (err) {
    if (err instanceof ApiClientError && err.code === 'JOB_NOT_FOUND' && /^j-[0-9a-f]{16}$/.test(id)) {
      try {
        return await array();
      } catch (e2) {
        if (e2 instanceof ApiClientError && e2.code === 'JOB_NOT_FOUND') throw err;
        throw e2;
      }
    }
    throw err;
  }
}

function printJob(j: JobView): void {
  const lines = [
    `Job ${j.id}  ${j.name}`,
    `  state:       ${j.state}${j.cancelRequested && !['cancelled', 'succeeded', 'failed', 'timed-out'].includes(j.state) ? ' (cancel requested)' : ''}`,
    `  tenant:      ${j.tenant} / project ${j.project} (submitted by ${j.submittedBy})`,
    `  command:     ${j.command.map((c) => (/\s/.test(c) ? JSON.stringify(c) : c)).join(' ')}`,
    `  resources:   ${j.replicas} replica(s) × ${j.acceleratorsPerReplica} accelerator(s)${j.acceleratorTypes.length ? ` of ${j.acceleratorTypes.join(' or ')}` : ''}`,
    `  priority:    ${j.priority}   time limit: ${j.timeLimitSeconds === null ? 'none' : duration(j.timeLimitSeconds)}   attempt: ${j.attempt}/${j.maxAttempts}`,
    `  submitted:   ${j.submittedAt} (${ago(j.submittedAt)})`,
  ];
  if (j.startedAt) lines.push(`  started:     ${j.startedAt} (${ago(j.startedAt)})`);
  if (j.finishedAt)
    lines.push(`  finished:    ${j.finishedAt} (${ago(j.finishedAt)})  exit code: ${j.exitCode ?? '-'}`);
  if (j.placement)
    for (const [rank, r] of j.placement.entries())
      lines.push(`  replica ${rank}:   ${r.node} devices ${r.acceleratorIds.join(', ') || '(none)'}`);
  if (j.state === 'queued') {
    if (j.pending) {
      const reader = cliReader(langOption);
      lines.push(`  why pending: ${j.pending.verdict}`);
      if (j.pending.detail) lines.push(`               ${describeVerdictDetail(j.pending.detail, reader)}`);
      lines.push(`               ${j.pending.reason}`);
      if (j.pending.estimatedStart)
        lines.push(`  est. start:  ${readableTime(j.pending.estimatedStart, reader)}`);
    } else lines.push('  why pending: not yet considered by the scheduler (next cycle within a second)');
  }
  if (j.attempts?.length) {
    lines.push('  attempts:');
    lines.push(
      table(
        ['    #', 'STARTED', 'ENDED', 'END STATE', 'DEVICES', 'PEAK MEM', 'CPU TIME', 'STEP', 'CKPT', 'LOST'],
        j.attempts.map((a) => [
          `    ${a.attempt}`,
          a.startedAt ?? '-',
          a.finishedAt ?? '-',
          a.endState ?? '(running)',
          a.accelerators === 0
            ? 'none'
            : `${a.accelerators}${a.acceleratorType ? ` ${a.acceleratorType}` : ''}`,
          memory(a.peakMemoryBytes),
          cpuTime(a.cpuTimeMs),
          a.step == null ? '-' : String(a.step),
          a.checkpoint == null ? '-' : String(a.checkpoint),
          a.stepsLost == null ? '-' : `${a.stepsLost} steps`,
        ]),
      ),
    );
  }
  if (j.transitions?.length) {
    const reader = cliReader(langOption);
    lines.push('  history:');
    lines.push(
      table(
        ['    AT', 'FROM', 'TO', 'ATTEMPT', 'REASON'],
        j.transitions.map((t) => [
          '    ' + t.at,
          t.from ?? '-',
          t.to,
          String(t.attempt),
          // English readers get the reason as written (scripts read it); others get it translated
          t.detail && reader.lang !== 'en' ? describeTransition(t.detail, reader) : t.reason,
        ]),
      ),
    );
  }
  out(lines.join('\n'));
}

/** Serves the web console from the same server; a server without a built console still runs. */
const serveConsole: NonNullable<ServerOptions['plugins']>[number] = async (app) => {
  const { registerConsole } = await import('@suanli/web');
  try {
    await registerConsole(app);
  } catch (err) {
    process.stderr.write(`warning: no web console: ${(err as Error).message}\n`);
  }
};

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** `--confine`, `--job-uid-range`, `--pids-limit`, `--cgroup-parent`, checked: a typo is an error, not a silent default. */
function confinementOptions(opts: Record<string, string | boolean | undefined>): {
  confine?: 'auto' | 'off';
  jobUidRange?: readonly [number, number];
  pidsLimit?: number;
  cgroupParent?: string;
} {
  const out: ReturnType<typeof confinementOptions> = {};
  const confine = opts['confine'];
  if (confine !== undefined) {
    if (confine !== 'auto' && confine !== 'off')
      throw new UsageError(`--confine must be "auto" or "off", not "${String(confine)}"`);
    out.confine = confine;
  }
  const range = opts['jobUidRange'];
  if (typeof range === 'string') {
    const m = /^(\d+)-(\d+)$/.exec(range);
    if (!m || Number(m[1]) < 1000 || Number(m[2]) < Number(m[1]))
      throw new UsageError(`--job-uid-range must be FROM-TO with 1000 <= FROM <= TO, not "${range}"`);
    out.jobUidRange = [Number(m[1]), Number(m[2])];
  }
  // Checked by the server (ServerConfigError), which knows what a cgroup path may be.
  if (typeof opts['cgroupParent'] === 'string') out.cgroupParent = opts['cgroupParent'];
  const pids = opts['pidsLimit'];
  if (typeof pids === 'string') {
    if (!/^\d+$/.test(pids) || Number(pids) < 16)
      throw new UsageError(`--pids-limit must be a whole number of at least 16, not "${pids}"`);
    out.pidsLimit = Number(pids);
  }
  return out;
}

async function runServer(opts: Record<string, string | boolean | undefined>): Promise<void> {
  const { startServer } = await import('@suanli/api');
  const server = await startServer({
    ...(typeof opts['dataDir'] === 'string' ? { dataDir: opts['dataDir'] } : {}),
    ...(typeof opts['database'] === 'string' ? { database: opts['database'] } : {}),
    ...(opts['rotateAdminToken'] === true ? { rotateAdminToken: true } : {}),
    ...(opts['revokeAdminToken'] === true ? { revokeAdminToken: true } : {}),
    ...(typeof opts['host'] === 'string' ? { host: opts['host'] } : {}),
    ...(typeof opts['port'] === 'string' ? { port: Number(opts['port']) } : {}),
    ...(typeof opts['accelerators'] === 'string' ? { accelerators: opts['accelerators'] } : {}),
    ...(typeof opts['acceleratorsFile'] === 'string' ? { acceleratorsFile: opts['acceleratorsFile'] } : {}),
    ...(typeof opts['nodeName'] === 'string' ? { nodeName: opts['nodeName'] } : {}),
    ...(typeof opts['logLevel'] === 'string' ? { logLevel: opts['logLevel'] } : {}),
    ...(typeof opts['logFile'] === 'string' ? { logFile: opts['logFile'] } : {}),
    // Standard output or error on a full disk or a closed pipe: the line is lost and counted, and
    // the server goes on (an unhandled 'error' event would end the process).
    onLogSinks: (sinks) => {
      process.stdout.on('error', (err: NodeJS.ErrnoException) => sinks.out.noteDropped(err.code ?? 'EIO'));
      process.stderr.on('error', (err: NodeJS.ErrnoException) => sinks.err.noteDropped(err.code ?? 'EIO'));
    },
    ...(typeof opts['grace'] === 'string' ? { cancelGraceMs: Number(opts['grace']) * 1000 } : {}),
    ...(typeof opts['healthCheckProgram'] === 'string'
      ? { healthCheckProgram: opts['healthCheckProgram'] }
      : {}),
    ...(typeof opts['checkpointRoot'] === 'string' ? { checkpointRoot: opts['checkpointRoot'] } : {}),
    ...(typeof opts['healthCheckInterval'] === 'string'
      ? { healthCheckIntervalMs: Number(opts['healthCheckInterval']) * 1000 }
      : {}),
    ...(typeof opts['healthCheckTimeout'] === 'string'
      ? { healthCheckTimeoutMs: Number(opts['healthCheckTimeout']) * 1000 }
      : {}),
    ...(typeof opts['healthReturn'] === 'string'
      ? { healthReturn: opts['healthReturn'] as 'manual' | 'auto' }
      : {}),
    ...(typeof opts['policy'] === 'string' ? { policyFile: opts['policy'] } : {}),
    ...confinementOptions(opts),
    plugins: [serveConsole],
    ...(opts['executor'] === 'slurm' || opts['executor'] === 'local' ? { executor: opts['executor'] } : {}),
    slurm: {
      'slurm-url': str(opts['slurmUrl']),
      'slurm-user': str(opts['slurmUser']),
      'slurm-jwt-key': str(opts['slurmJwtKey']),
      'slurm-token': str(opts['slurmToken']),
      'slurm-partition': str(opts['slurmPartition']),
      'slurm-account': str(opts['slurmAccount']),
      'slurm-gres-types': str(opts['slurmGresTypes']),
      'slurm-poll-interval-ms': str(opts['slurmPollIntervalMs']),
      'slurm-tag': str(opts['slurmTag']),
    },
  });
  process.on('SIGHUP', () => {
    server.reloadPolicy().then(
      () => process.stderr.write('SIGHUP: policy reloaded\n'),
      (err: unknown) =>
        process.stderr.write(
          `SIGHUP: policy NOT reloaded, the previous one stays in force: ${(err as Error).message}\n`,
        ),
    );
  });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(
      `\n${signal}: stopping (running jobs keep running and are re-adopted at the next start)\n`,
    );
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('suanli')
    .description(
      'suanli (算力): run training jobs on a shared accelerator hall.\nServer and credentials: SUANLI_URL, SUANLI_TOKEN.',
    )
    .showHelpAfterError()
    .exitOverride()
    .option(
      '--lang <lang>',
      'language of times and pending reasons: en or zh (default: from LC_ALL, LC_MESSAGES, LANG); times are in TZ',
    )
    .hook('preAction', () => {
      const v = program.opts<{ lang?: string }>().lang;
      if (v === undefined) return;
      const lang = parseLang(v);
      if (lang === null) throw new UsageError(`--lang must be en or zh, not "${v}"`);
      langOption = lang;
    });

  program
    .command('server')
    .description('run the API server, the scheduling loop and the local executor in one process')
    .option('--data-dir <dir>', 'data directory (SQLite database, logs, admin token)', '.suanli')
    .option(
      '--database <url>',
      'postgres://user@host:port/db to use PostgreSQL instead of SQLite (or SUANLI_DATABASE_URL); leave the password out: PGPASSWORD or PGPASSFILE/~/.pgpass supply it',
    )
    .option(
      '--rotate-admin-token',
      "replace the stored admin token with SUANLI_ADMIN_TOKEN's (or a new one written to <data-dir>/admin-token); the old one stops working",
    )
    .option(
      '--revoke-admin-token',
      'revoke the bootstrap admin token (admins keep their issued tokens); --rotate-admin-token sets a new one',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8470')
    .option(
      '--accelerators <spec>',
      'declare devices on a machine without nvidia-smi/npu-smi: gpu:8 or nvidia-h200:4,ascend-910b:8',
    )
    .option('--accelerators-file <file>', 'declare nodes and devices in a YAML/JSON file')
    .option('--node-name <name>', 'name of this machine in the inventory (default: hostname)')
    .option(
      '--executor <kind>',
      'local (jobs as processes on this machine) or slurm (jobs on a Slurm cluster via slurmrestd)',
      'local',
    )
    .option('--slurm-url <url>', 'slurmrestd address, e.g. http://127.0.0.1:6820 (or SUANLI_SLURM_URL)')
    .option('--slurm-user <user>', 'Slurm user the platform acts as (or SUANLI_SLURM_USER)')
    .option(
      '--slurm-jwt-key <file>',
      'HS256 key of auth/jwt; the platform mints short-lived tokens (or SUANLI_SLURM_JWT_KEY)',
    )
    .option('--slurm-token <token>', 'a token from scontrol token, used as is (or SUANLI_SLURM_TOKEN)')
    .option('--slurm-partition <name>', 'partition for jobs and inventory (or SUANLI_SLURM_PARTITION)')
    .option('--slurm-account <name>', 'account jobs are charged to (or SUANLI_SLURM_ACCOUNT)')
    .option(
      '--slurm-poll-interval-ms <ms>',
      'how often Slurm jobs are polled (or SUANLI_SLURM_POLL_INTERVAL_MS)',
    )
    .option(
      '--slurm-tag <word>',
      'tag in job comments; one per platform sharing a cluster (or SUANLI_SLURM_TAG)',
    )
    .option(
      '--slurm-gres-types <map>',
      'GRES to platform types, e.g. gpu:h100=nvidia-h100 (or SUANLI_SLURM_GRES_TYPES)',
    )
    .option(
      '--policy <file>',
      'the scheduling policy file (YAML); default <data-dir>/policy.yaml; reloaded on SIGHUP',
    )
    .option(
      '--confine <mode>',
      'auto: confine jobs (own account, cgroup, namespaces, private /dev) when run as root; off: never (or SUANLI_CONFINE)',
    )
    .option(
      '--job-uid-range <from-to>',
      "uid range of the tenants' Unix accounts the server creates",
      '70000-79999',
    )
    .option('--pids-limit <n>', 'most processes and threads one replica may have', '4096')
    .option(
      '--cgroup-parent <path>',
      "where the replicas' control groups are made, below each cgroup root",
      'suanli',
    )
    .option('--grace <seconds>', 'SIGTERM → SIGKILL grace period for cancels and time limits', '10')
    .option(
      '--health-check-program <file>',
      "run FILE <node> every health check interval: exit 0 = healthy, else the node is drained with its first output line as the reason (as Slurm's HealthCheckProgram)",
    )
    .option(
      '--checkpoint-root <dir>',
      "where jobs' checkpoint directories are made (SUANLI_CHECKPOINT_DIR = <dir>/<job id>); on Slurm a file system the nodes share (default: beside each job's logs)",
    )
    .option('--health-check-interval <seconds>', 'time between node health checks (0: none)', '60')
    .option(
      '--health-check-timeout <seconds>',
      'a check program still running after this fails the node',
      '60',
    )
    .option(
      '--health-return <policy>',
      'a node drained by a failed check: manual (stays drained until an operator undrains it) or auto (returns once its checks pass)',
      'manual',
    )
    .option('--log-level <level>', 'pino log level (info, debug, warn)', 'info')
    .option(
      '--log-file <file>',
      'append the server log to this file (default: requests to stdout, scheduling to stderr); lines it cannot write are dropped and counted, never fatal',
    )
    .action(async (opts: Record<string, string | undefined>) => runServer(opts));

  program
    .command('submit <file>')
    .description('submit a job from a YAML (or JSON) spec file; "-" reads standard input')
    .option('--json', 'print the new job as JSON (includes its id)')
    .option('--idempotency-key <key>', 'make retries of this submission safe')
    .option(
      '--wait [until]',
      'wait until the job ends and exit with its status (0 succeeded, its exit code when it failed, 124 timed out, 143 cancelled), showing progress; --wait=running: until it starts',
    )
    .option(
      '--array <expr>',
      "submit a job array (sbatch --array): 0-999, 0-15:4, 1,3,5-7; %N runs at most N at once; overrides the spec's array",
    )
    .action(
      async (
        file: string,
        opts: { json?: boolean; idempotencyKey?: string; wait?: boolean | string; array?: string },
      ) => {
        if (opts.wait !== undefined && opts.wait !== true && opts.wait !== 'end' && opts.wait !== 'running')
          throw new UsageError(`--wait takes "end" (the default) or "running", not "${String(opts.wait)}"`);
        const text =
          file === '-'
            ? await readStdin()
            : await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
                throw new UsageError(
                  `cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`,
                );
              });
        const doc = parseDocument(text);
        if (doc.errors.length > 0)
          throw new UsageError(
            `${file} is not valid YAML:\n` + doc.errors.map((e) => `  ${e.message}`).join('\n'),
          );
        const submitted = await client().submit(undefined, {
          yaml: text,
          ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
          ...(opts.array !== undefined ? { array: opts.array } : {}),
        });
        if ('kind' in submitted) {
          if (opts.wait)
            throw new UsageError('--wait waits for one job; follow an array with suanli job <array id>');
          if (opts.json) return json(submitted);
          return out(
            `submitted job array ${submitted.id} (${submitted.name}): ${submitted.size} tasks ${submitted.firstTaskId} … ${submitted.lastTaskId}${submitted.throttle === null ? '' : `, at most ${submitted.throttle} at once`}`,
          );
        }
        let job = submitted;
        if (opts.wait === 'running') job = await waitForStart(job);
        else if (opts.wait) {
          job = await waitForEnd(job);
          process.exitCode = waitExitCode(job);
        }
        if (opts.json) json(job);
        else out(`submitted job ${job.id} (${job.name}): ${job.state}`);
      },
    );

  program
    .command('jobs')
    .description('list jobs, newest first; a job array is one line with its task counts per state')
    .option('--state <state...>', 'only jobs in these states')
    .option('--project <project>', 'only jobs of this project')
    .option('--limit <n>', 'how many', '50')
    .option('--tasks', 'list the tasks of job arrays one by one instead of one line per array')
    .option('--array <id>', 'only the tasks of this job array')
    .option('--json', 'one JSON document')
    .action(
      async (opts: {
        state?: string[];
        project?: string;
        limit: string;
        json?: boolean;
        tasks?: boolean;
        array?: string;
      }) => {
        const fold = !opts.tasks && opts.array === undefined;
        const list = await client().listJobs({
          ...(opts.state ? { state: opts.state } : {}),
          ...(opts.project ? { project: opts.project } : {}),
          ...(opts.array !== undefined ? { array: opts.array } : {}),
          ...(fold ? { fold: true } : {}),
          limit: Number(opts.limit),
        });
        if (opts.json) return json(list);
        const entries: JobListEntry[] = list.entries ?? list.jobs.map((job) => ({ job }));
        if (entries.length === 0) return out('no jobs');
        out(
          table(
            ['ID', 'NAME', 'STATE', 'ACCEL', 'PROJECT', 'SUBMITTED', 'NODES / WHY PENDING'],
            entries.flatMap((e) => (e.array ? [arrayRow(e.array)] : e.job ? jobRows([e.job]) : [])),
          ),
        );
      },
    );

  program
    .command('job <id>')
    .description('a job: state, placement, history, and why it is pending; for a job array, its tasks')
    .option('--json', 'one JSON document')
    .option('--all', 'a job array: list all its tasks, not only the first page')
    .action(async (id: string, opts: { json?: boolean; all?: boolean }) => {
      const c = client();
      const shown = await jobOrArray<JobView | JobArrayView>(
        id,
        () => c.getJob(id),
        async () => {
          const first = await c.getArray(id, { limit: 1000 });
          if (!opts.all) return first;
          const tasks = [...(first.tasks ?? [])];
          let cursor = first.nextCursor ?? null;
          while (cursor !== null) {
            const next = await c.getArray(id, { limit: 1000, cursor });
            tasks.push(...(next.tasks ?? []));
            cursor = next.nextCursor ?? null;
          }
          return { ...first, tasks, nextCursor: null };
        },
      );
      if (opts.json) json(shown);
      else if ('kind' in shown) printArray(shown);
      else printJob(shown);
    });

  program
    .command('logs <id>')
    .description("print a job's output")
    .option('-f, --follow', 'keep printing as the job writes, until it ends')
    .option('--stderr', 'the standard error stream instead of standard output')
    .option('--attempt <n>', 'an earlier attempt (default: the latest)')
    .option('--replica <n>', "one replica's output (default: every replica's, each line prefixed [rank])")
    .action(
      async (
        id: string,
        opts: { follow?: boolean; stderr?: boolean; attempt?: string; replica?: string },
      ) => {
        const c = client();
        if (opts.replica !== undefined && !/^\d+$/.test(opts.replica))
          throw new UsageError(`--replica takes a replica rank (0, 1, …), not "${opts.replica}"`);
        const q = {
          stream: opts.stderr ? ('stderr' as const) : ('stdout' as const),
          ...(opts.attempt ? { attempt: Number(opts.attempt) } : {}),
          ...(opts.replica !== undefined ? { replica: Number(opts.replica) } : {}),
        };
        if (opts.follow) {
          for await (const chunk of c.followLogs(id, q)) process.stdout.write(chunk);
          return;
        }
        let offset = 0;
        let cursor: string | undefined;
        for (let i = 0; i < 100_000; i++) {
          const chunk = await c.readLogs(id, { ...q, offset, ...(cursor !== undefined ? { cursor } : {}) });
          process.stdout.write(chunk.data);
          if (chunk.nextOffset >= chunk.size || chunk.nextOffset === offset) break;
          offset = chunk.nextOffset;
          cursor = chunk.cursor;
        }
      },
    );

  program
    .command('cancel <id>')
    .description(
      'cancel a job, a job array (all its unfinished tasks) or one task <array id>_<index> (SIGTERM, then SIGKILL after the grace period)',
    )
    .option('--json', 'print the job as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const c = client();
      const done = await jobOrArray<JobView | JobArrayView>(
        id,
        () => c.cancelJob(id),
        () => c.cancelArray(id),
      );
      if (opts.json) return json(done);
      if ('kind' in done)
        return out(
          `job array ${id}: ${done.cancelled ?? 0} waiting task(s) cancelled, ${done.cancelRequested ?? 0} running task(s) asked to stop; now ${arrayCounts(done)}`,
        );
      const job = done;
      if (opts.json) json(job);
      else
        out(
          job.state === 'cancelled'
            ? `job ${id} cancelled`
            : `cancel requested for job ${id} (${job.state}); it will be stopped within the grace period`,
        );
    });

  program
    .command('nodes')
    .description('nodes and accelerators')
    .option('--json', 'one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const { nodes, confinement } = await client().listNodes();
      if (opts.json) return json({ nodes, confinement });
      const fence = `jobs: ${confinement.confined ? 'confined' : 'NOT confined'} (${confinement.detail})`;
      if (nodes.length === 0) return out(`no nodes\n${fence}`);
      const rows: string[][] = [];
      for (const n of nodes) {
        const busy = n.accelerators.filter((a) => a.allocatedTo).length;
        rows.push([
          n.name,
          n.state +
            (n.adminReason ? ` (${n.adminReason})` : '') +
            // failing while an operator's drain holds it: the check's reason is not in adminReason
            (n.health.state === 'failing' && !(n.adminReason ?? '').startsWith('health: ')
              ? ` [health: ${n.health.reason ?? 'failing'}]`
              : ''),
          `${busy}/${n.accelerators.length}`,
          `${n.cpuMillis / 1000}`,
          `${Math.round(n.memoryMiB / 1024)}Gi`,
          '',
          '',
        ]);
        for (const a of n.accelerators)
          rows.push([
            `  ${a.index}`,
            a.healthy ? 'healthy' : 'UNHEALTHY',
            a.allocatedTo ?? 'idle',
            '',
            '',
            `${a.type}${a.declared ? ' (declared)' : ''}`,
            a.id,
          ]);
      }
      out(table(['NODE', 'STATE', 'BUSY', 'CPU', 'MEM', 'TYPE', 'DEVICE'], rows) + '\n' + fence);
    });

  for (const action of ['drain', 'undrain'] as const) {
    program
      .command(`${action} <node>`)
      .description(
        action === 'drain'
          ? 'stop placing new jobs on a node (operators)'
          : 'return a drained node to service (operators)',
      )
      .option('--reason <text>', 'why (shown to users)')
      .option('--json', 'print the node as JSON')
      .action(async (name: string, opts: { reason?: string; json?: boolean }) => {
        const node =
          action === 'drain' ? await client().drainNode(name, opts.reason) : await client().undrainNode(name);
        if (opts.json) json(node);
        else out(`node ${node.name}: ${node.state}`);
      });
  }

  registerExportTraceCommand(program, client);
  registerPolicyCommands(program, client, out);

  program
    .command('sim')
    .description(
      'replay a cluster trace through the scheduling core under several policies ("suanli sim --help")',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      // Dispatched in main() before commander parses: the simulator owns its flags.
    });

  registerIdentityCommands(program, client, out);
  registerBookingCommands(program, client, out);
  return program;
}

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `submit --wait`'s exit status, as `sbatch --wait` gives the job's: 0 when it succeeded, its exit
 * code when it failed with one (1 when it had none: killed by a signal, lost), 124 when its time
 * limit ended it, 143 (128 + SIGTERM) when it was cancelled.
 */
export function waitExitCode(job: Pick<JobView, 'state' | 'exitCode'>): number {
  if (job.state === 'succeeded') return 0;
  if (job.state === 'timed-out') return 124;
  if (job.state === 'cancelled') return 143;
  return job.exitCode !== null && job.exitCode > 0 && job.exitCode < 256 ? job.exitCode : 1;
}

/** Waits until the job reaches a terminal state (through every retry), showing each change. */
async function waitForEnd(job: JobView): Promise<JobView> {
  const c = client();
  let last = '';
  for (;;) {
    const line =
      job.state === 'queued' && job.pending
        ? `${job.state}: ${job.pending.verdict} — ${job.pending.reason}`
        : `${job.state}${job.attempt > 1 ? ` (attempt ${job.attempt})` : ''}`;
    if (line !== last) process.stderr.write(`  ${job.id}: ${line}\n`);
    last = line;
    if (TERMINAL_STATES.has(job.state)) return job;
    await new Promise((r) => setTimeout(r, 500));
    job = await c.getJob(job.id);
  }
}

async function waitForStart(job: JobView): Promise<JobView> {
  const c = client();
  let last = '';
  for (let i = 0; i < 24 * 3600 * 2; i++) {
    if (job.state === 'running' || TERMINAL_STATES.has(job.state)) break;
    const line =
      job.state === 'queued' && job.pending
        ? `${job.state}: ${job.pending.verdict} — ${job.pending.detail ? describeVerdictDetail(job.pending.detail, cliReader(langOption)) : job.pending.reason}`
        : job.state;
    if (line !== last) process.stderr.write(`  ${job.id}: ${line}\n`);
    last = line;
    await new Promise((r) => setTimeout(r, 500));
    job = await c.getJob(job.id);
  }
  process.stderr.write(`  ${job.id}: ${job.state}\n`);
  return job;
}

export async function main(argv: readonly string[]): Promise<void> {
  if (argv[2] === 'sim') {
    const { main: simMain } = await import('@suanli/sim');
    process.exitCode = simMain(
      argv.slice(3),
      (s) => process.stdout.write(s),
      (s) => process.stderr.write(s),
    );
    return;
  }
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (
      err instanceof UsageError ||
      (err instanceof Error &&
        (err.name === 'ServerConfigError' ||
          err.name === 'AdminTokenError' ||
          err.name === 'ServerLockedError'))
    ) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof ApiClientError) {
      // With field details, the summary before the first ':' plus one line per field reads best.
      const message = err.details.length > 0 ? err.message.split(':')[0] : err.message;
      process.stderr.write(`error: ${message}${err.code !== 'NETWORK' ? ` [${err.code}]` : ''}\n`);
      for (const d of err.details) process.stderr.write(`  - ${d.path || '(spec)'}: ${d.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
