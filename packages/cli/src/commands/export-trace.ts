/**
 * `suanli export-trace`: the server's own job history in the simulator's generic trace format
 * (`id,submit_s,duration_s,accelerators,tenant[,time_limit_s,accelerator_type]`), so an operator
 * can replay last month under another policy with `suanli sim --trace FILE --format generic`.
 */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { formatGenericTrace, type TraceJob } from '@suanli/sim';
import type { JobView, SuanliClient } from '@suanli/client';

/** Finished jobs that ran (they have a start and an end); times relative to epoch seconds. */
export function jobsToTrace(jobs: readonly JobView[]): TraceJob[] {
  const rows: TraceJob[] = [];
  for (const j of jobs) {
    if (j.startedAt === null || j.finishedAt === null) continue;
    const durationS = (Date.parse(j.finishedAt) - Date.parse(j.startedAt)) / 1000;
    if (durationS <= 0) continue;
    rows.push({
      id: j.id,
      submitS: Date.parse(j.submittedAt) / 1000,
      durationS,
      accelerators: j.replicas * j.acceleratorsPerReplica,
      tenant: j.tenant,
      ...(j.timeLimitSeconds !== null ? { timeLimitS: j.timeLimitSeconds } : {}),
      ...(j.acceleratorTypes[0] !== undefined ? { acceleratorType: j.acceleratorTypes[0] } : {}),
    });
  }
  return rows.sort((a, b) => a.submitS - b.submitS);
}

/** Pages through every finished job (newest first from the API), bounded by `maxJobs`. */
export async function fetchFinishedJobs(client: SuanliClient, maxJobs: number): Promise<JobView[]> {
  const out: JobView[] = [];
  let before: number | undefined;
  const pageSize = 1000;
  for (let page = 0; page < Math.ceil(maxJobs / pageSize) + 1 && out.length < maxJobs; page++) {
    const list = await client.listJobs({
      state: ['succeeded', 'failed', 'timed-out', 'cancelled'],
      limit: pageSize,
      ...(before ? { before } : {}),
    });
    out.push(...list.jobs);
    if (list.nextBefore === null) break;
    before = list.nextBefore;
  }
  return out.slice(0, maxJobs);
}

export function registerExportTraceCommand(program: Command, client: () => SuanliClient): void {
  program
    .command('export-trace')
    .description('write the job history as a generic trace CSV for "suanli sim --format generic"')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option('--max-jobs <n>', 'at most this many of the newest finished jobs', '1000000')
    .action(async (opts: { output?: string; maxJobs: string }) => {
      const csv = formatGenericTrace(jobsToTrace(await fetchFinishedJobs(client(), Number(opts.maxJobs))));
      if (opts.output) await writeFile(opts.output, csv);
      else process.stdout.write(csv);
    });
}
