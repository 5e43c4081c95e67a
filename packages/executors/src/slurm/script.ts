/**
 * Turns a launch request into ONE Slurm batch job: the job description for `POST /job/submit` and
 * the batch script. Pure (no I/O), so the exact script is unit-tested.
 *
 * Shape of the job: `nodes` = the placement's distinct nodes, pinned with `nodelist`; `tasks` = the
 * replicas, `tasks_per_node` = replicas per node; `gres` = the accelerators of one node
 * (`gpu:h100:<replicas per node × accelerators per replica>`), so Slurm allocates the same count
 * the core placed. Slurm has one GRES count per node for a job, so a placement must put the same
 * number of replicas on every node (the uniform case a gang job has); anything else is refused with
 * `SlurmLaunchError` rather than over-allocated.
 *
 * The script runs the command with `srun`, one task per replica. Each task works out its replica
 * rank from (`SLURMD_NODENAME`, `SLURM_LOCALID`) through a table built from the placement, so rank r
 * always runs on the node the core chose for rank r, whatever order Slurm lists the nodes in. The
 * task then exports that rank's platform variables (`env.ts`, the same as the local executor sets)
 * and pins itself to its slice of the devices Slurm gave the node (`SLURM_STEP_GPUS` /
 * `CUDA_VISIBLE_DEVICES`: Slurm, not the platform, chooses indices within a node).
 *
 * Signals: `DELETE /job/{id}?signal=SIGTERM` reaches only the batch shell. The shell traps it and
 * forwards SIGTERM to the task step with `scancel --signal=TERM <job>.0`; srun runs in its own
 * session (`setsid`) because srun turns a SIGTERM of its own into "forcing job termination"
 * (SIGKILL to the tasks), which would rob programs of their grace period.
 */
import type { ClusterNode } from '@suanli/core';
import type { LaunchRequest } from '../executor.js';
import type { SlurmJobDescription } from './client.js';
import { buildReplicaEnv, launcherOnly, launchFiles, resolveReplicaDevices } from '../env.js';

export class SlurmLaunchError extends Error {
  override readonly name = 'SlurmLaunchError';
}

export interface ScriptOptions {
  readonly partition: string | null;
  readonly account: string | null;
  /** The comment tag prefix (`suanli`), see `jobComment`. */
  readonly tag: string;
  /** Base environment of every replica (Slurm jobs do not inherit the server's). */
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly rendezvousPortBase: number;
  readonly rendezvousPortSpan: number;
  /** GRES `name:type` (type may be null) per platform accelerator type; from discovery. */
  readonly gresFor: (node: string, acceleratorType: string) => { name: string; type: string | null } | null;
  /** Address of a node reachable from the other nodes (`NodeAddr`); from discovery. */
  readonly addressOf: (node: ClusterNode | undefined, name: string) => string;
}

/** `suanli job=<id> attempt=<n>`: how a Slurm job is tied to a platform attempt (found again by `recover`). */
export function jobComment(tag: string, jobId: string, attempt: number): string {
  return `${tag} job=${jobId} attempt=${attempt}`;
}

export function parseJobComment(
  tag: string,
  comment: string | undefined,
): { jobId: string; attempt: number } | null {
  const m = /^(\S+) job=(\S+) attempt=(\d+)$/.exec(comment ?? '');
  if (!m || m[1] !== tag || m[2] === undefined || m[3] === undefined) return null;
  return { jobId: m[2], attempt: Number(m[3]) };
}

/** Single-quotes a string for bash. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A stable rendezvous port for an attempt, so every replica (and a recovered platform) agrees on it. */
export function rendezvousPort(base: number, span: number, jobId: string, attempt: number): number {
  let h = 2166136261;
  for (const ch of `${jobId}#${attempt}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return base + (h % span);
}

/** Signals the batch shell and each task pass on to the job (a stop's first signal, `checkpoint.signal`). */
const FORWARDED = ['TERM', 'USR1', 'USR2', 'INT', 'HUP'] as const;

/** Variables the task computes itself from what Slurm allocated; never fixed in the job environment. */
const DEVICE_VARS = new Set(['CUDA_VISIBLE_DEVICES', 'ASCEND_RT_VISIBLE_DEVICES', 'SUANLI_ACCELERATOR_IDS']);

/**
 * File in the log directory where every replica records its exit code when it ends, in the order
 * they end. The job's code is the first non-zero one (the replica that failed first), or 0 once
 * all replicas recorded 0; srun's own status is used only when replicas were killed too hard to
 * record anything.
 */
export const EXIT_FILE = '.suanli-exit-codes';

/**
 * Beside it, `<replica rank> <exit code>` per replica in the order they end: the executor reads the
 * first non-zero line to name the replica whose failure ended the gang.
 */
export const REPLICA_EXIT_FILE = '.suanli-exit-replicas';

/** The rank of the first replica that ended with a non-zero code, from REPLICA_EXIT_FILE's text; null when none did. */
export function firstFailedReplica(text: string): number | null {
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line.trim());
    if (m && m[2] !== '0') return Number(m[1]);
  }
  return null;
}

export interface BuiltJob {
  readonly script: string;
  readonly job: SlurmJobDescription;
}

export function buildSlurmJob(req: LaunchRequest, o: ScriptOptions): BuiltJob {
  const R = req.placement.length;
  if (R === 0) throw new SlurmLaunchError(`job ${req.jobId}: empty placement`);
  // 1. Nodes in rank order of first appearance, and the replicas on each.
  const byNode = new Map<string, number[]>();
  req.placement.forEach((p, rank) => byNode.set(p.node, [...(byNode.get(p.node) ?? []), rank]));
  const nodes = [...byNode.keys()];
  const perNode = byNode.get(nodes[0]!)!.length;
  for (const [n, ranks] of byNode) {
    if (ranks.length !== perNode)
      throw new SlurmLaunchError(
        `job ${req.jobId}: placement puts ${ranks.length} replicas on ${n} but ${perNode} on ${nodes[0]}; ` +
          'a Slurm job has one GRES count per node, so every node must hold the same number of replicas',
      );
  }
  // 2. Devices: one count and one type per replica.
  const devs = req.placement.map((_, r) => resolveReplicaDevices(req, r));
  const perReplica = devs[0]!.length;
  if (devs.some((d) => d.length !== perReplica))
    throw new SlurmLaunchError(`job ${req.jobId}: replicas hold different numbers of accelerators`);
  const types = [...new Set(devs.flat().map((d) => d.type))];
  if (types.length > 1)
    throw new SlurmLaunchError(
      `job ${req.jobId}: one Slurm job cannot mix accelerator types (${types.join(', ')})`,
    );
  let gres: string | undefined;
  let typeName = '';
  if (perReplica > 0) {
    typeName = types[0]!;
    const g = o.gresFor(nodes[0]!, typeName);
    if (g === null)
      throw new SlurmLaunchError(
        `job ${req.jobId}: no GRES on ${nodes[0]} provides accelerator type ${typeName}`,
      );
    gres = `${g.name}${g.type === null ? '' : `:${g.type}`}:${perNode * perReplica}`;
  }
  // 3. Environment: what all ranks share goes into the job's environment; the rest per rank.
  const first = req.nodes.find((n) => n.name === req.placement[0]!.node);
  const nodeAddrs = Object.fromEntries(
    nodes.map((n) => [
      n,
      o.addressOf(
        req.nodes.find((x) => x.name === n),
        n,
      ),
    ]),
  );
  const rendezvous = {
    masterAddr: o.addressOf(first, req.placement[0]!.node),
    masterPort: rendezvousPort(o.rendezvousPortBase, o.rendezvousPortSpan, req.jobId, req.attempt),
    nodeAddrs,
    filesDir: req.logDir,
  };
  // The framework's launch files, written by the batch shell before any task starts (the log
  // directory is on storage every node sees, as the exit file already requires).
  const files = Object.entries(launchFiles(req, rendezvous)).map(
    ([name, content]) => `printf '%s' ${shq(content)} > ${shq(`${req.logDir}/${name}`)}`,
  );
  const envs = req.placement.map((_, r) => buildReplicaEnv(req, r, rendezvous, o.baseEnv));
  const common: Record<string, string> = {};
  for (const [k, v] of Object.entries(envs[0]!)) {
    if (!DEVICE_VARS.has(k) && envs.every((e) => e[k] === v)) common[k] = v;
  }
  const cases: string[] = [];
  for (const [n, ranks] of byNode) {
    ranks.forEach((rank, local) => {
      const e = envs[rank]!;
      const own = Object.entries(e)
        .filter(([k]) => !(k in common) && !DEVICE_VARS.has(k))
        .map(([k, v]) => `${k}=${shq(v)}`);
      cases.push(`  ${shq(`${n}:${local}`)}) ${own.length > 0 ? `export ${own.join(' ')}` : ':'} ;;`);
    });
  }
  const exitFile = `${req.logDir}/${EXIT_FILE}`;
  const replicaExitFile = `${req.logDir}/${REPLICA_EXIT_FILE}`;
  // 4. The task prologue: rank, then devices (this replica's slice of what Slurm gave the node).
  const task = [
    'case "$SLURMD_NODENAME:$SLURM_LOCALID" in',
    ...cases,
    '  *) echo "suanli: no replica for node $SLURMD_NODENAME task $SLURM_LOCALID" >&2; exit 112 ;;',
    'esac',
    `__a=${perReplica}; __lo=$((SLURM_LOCALID * __a))`,
    '__g=(${SLURM_STEP_GPUS:-${SLURM_JOB_GPUS:-}}); __g=(${__g[@]//,/ }); __c=(${CUDA_VISIBLE_DEVICES:-}); __c=(${__c[@]//,/ })',
    'if [ ${#__c[@]} -eq 0 ]; then __c=("${__g[@]}"); fi',
    'export CUDA_VISIBLE_DEVICES="$(IFS=,; echo "${__c[*]:__lo:__a}")"',
    '__ids=(); for __i in "${__g[@]:__lo:__a}"; do __ids+=("$SLURMD_NODENAME/' + typeName + '/$__i"); done',
    'export SUANLI_ACCELERATOR_IDS="$(IFS=,; echo "${__ids[*]}")"',
    ...(typeName.startsWith('ascend-')
      ? ['export ASCEND_RT_VISIBLE_DEVICES="$(IFS=,; echo "${__g[*]:__lo:__a}")"']
      : []),
    'unset __a __lo __g __c __i __ids',
    // Run the command as a child, forward SIGTERM to it, and record its code: srun itself only
    // reports 143 after --kill-on-bad-exit has terminated the other ranks. With proctrack/cgroup
    // Slurm delivers a signal other than SIGKILL only to the task's first process (this shell),
    // not to everything in the step, so the shell passes it on. (Background children of a
    // non-interactive shell ignore SIGINT and read /dev/null; a batch task's stdin is /dev/null.)
    '"$@" &',
    '__child=$!',
    ...FORWARDED.map((sig) => `trap 'kill -${sig} "$__child" 2>/dev/null' ${sig}`),
    'while kill -0 "$__child" 2>/dev/null; do wait "$__child"; done; wait "$__child"',
    '__rc=$?',
    `echo "$__rc" >> ${shq(exitFile)}`,
    `echo "$SUANLI_REPLICA_RANK $__rc" >> ${shq(replicaExitFile)}`,
    'exit "$__rc"',
  ].join('\n');
  const cpus = Math.max(1, Math.ceil(req.spec.perReplica.cpuMillis / 1000));
  const script = [
    '#!/bin/bash',
    `# suanli job ${req.jobId} attempt ${req.attempt}: ${R} replica(s) on ${nodes.join(',')}. Generated by the suanli Slurm executor.`,
    '# scancel --signal=TERM reaches only this shell: forward it to the task step (see script.ts).',
    ...FORWARDED.map(
      (sig) =>
        `trap 'scancel --signal=${sig} "$SLURM_JOB_ID.0" 2>/dev/null || kill -${sig} "$__srun" 2>/dev/null' ${sig}`,
    ),
    `rm -f ${shq(exitFile)} ${shq(replicaExitFile)}`,
    // A job array's task is its own Slurm batch job (the core placed it): Slurm's array variables are
    // set here so `sbatch --array` scripts run unchanged; the array job id is this batch job's id.
    ...(req.array
      ? [`export SLURM_ARRAY_TASK_ID=${req.array.index} SLURM_ARRAY_JOB_ID="$SLURM_JOB_ID"`]
      : []),
    ...files,
    ...(launcherOnly(req)
      ? [
          "# MPI: the command runs once, here, with replica 0's variables; mpirun starts its daemons on",
          "# every node of the allocation through Slurm's own launch (srun), one process per slot.",
          ...Object.entries(envs[0]!)
            .filter(([k]) => !(k in common) && !DEVICE_VARS.has(k))
            .map(([k, v]) => `export ${k}=${shq(v)}`),
          `setsid ${req.spec.command.map(shq).join(' ')} &`,
        ]
      : [
          '# One task per replica; when one fails, srun ends the others (--kill-on-bad-exit).',
          `setsid srun --quiet --ntasks=${R} --ntasks-per-node=${perNode} --cpus-per-task=${cpus} --kill-on-bad-exit=1 /bin/bash -c ${shq(task)} suanli-task ${req.spec.command.map(shq).join(' ')} &`,
        ]),
    '__srun=$!',
    'while kill -0 "$__srun" 2>/dev/null; do wait "$__srun"; done; wait "$__srun"; __rc=$?',
    '# The job ends with the code of the first replica that failed, as the local executor reports it.',
    `if [ -s ${shq(exitFile)} ]; then`,
    `  __first=$(grep -v -x 0 ${shq(exitFile)} | head -n 1)`,
    `  if [ -n "$__first" ]; then __rc=$__first; elif [ "$(wc -l < ${shq(exitFile)})" -ge ${R} ]; then __rc=0; fi`,
    'fi',
    'exit "$__rc"',
    '',
  ].join('\n');
  const job: SlurmJobDescription = {
    name: `${o.tag}-${req.jobName}`.slice(0, 128),
    comment: jobComment(o.tag, req.jobId, req.attempt),
    ...(o.partition !== null ? { partition: o.partition } : {}),
    ...(o.account !== null ? { account: o.account } : {}),
    nodelist: nodes.join(','),
    nodes: nodes.length,
    tasks: R,
    tasks_per_node: perNode,
    cpus_per_task: cpus,
    ...(req.spec.perReplica.memoryMiB > 0
      ? { memory_per_node: perNode * req.spec.perReplica.memoryMiB }
      : {}),
    ...(gres !== undefined ? { gres } : {}),
    ...(req.spec.timeLimitSeconds !== null ? { time_limit: Math.ceil(req.spec.timeLimitSeconds / 60) } : {}),
    // The platform decides about retries; a requeue by Slurm is reported as a node failure.
    requeue: false,
    current_working_directory: req.spec.workingDir ?? req.logDir,
    standard_output: `${req.logDir}/stdout.log`,
    standard_error: `${req.logDir}/stderr.log`,
    environment: common,
  };
  return { script, job };
}
