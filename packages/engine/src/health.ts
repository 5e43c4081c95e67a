/**
 * Node health: periodic checks per node, and what follows from them.
 *
 * Checks (each gives, per node, healthy or failing with a one-line reason):
 *   - `heartbeat`: the executor's own view. A node that its latest inventory reports `down` or
 *     `unhealthy` (Slurm: slurmd stopped answering, or Slurm drained it for a fault), or that has
 *     left the inventory, fails. An executor that does not answer at all gives no verdict: the
 *     platform cannot tell a broken control path from broken nodes, and draining every node then
 *     would end every job for nothing.
 *   - `devices`: device faults read from the vendor tools on the machine of the local executor
 *     (`readDeviceHealth`: uncorrectable ECC, pending or failed row remapping, a recovery action
 *     the driver asks for after an XID, NPU health other than OK).
 *   - `program`: the operator's check program (as Slurm's HealthCheckProgram), run once per node
 *     and round as `PROGRAM <node>` with `SUANLI_NODE=<node>`: exit 0 means healthy; any other end
 *     means failing, and the first line of its output (stdout, else stderr) is the reason. A
 *     program that runs past its timeout is killed and fails the node. One that cannot be started
 *     at all (missing, not executable) gives no verdict and is logged, as an unreachable executor.
 *
 * Verdicts (`evaluateHealth`, pure): a node failing any check is drained by the platform —
 * `adminState: unhealthy`, reason `health: <check>: <reason>` — unless an operator drained it
 * (their reason stays); either way the jobs holding its devices are stopped and requeued as the
 * platform's fault (`lost`, retried under `retryOn: platform`/`lost`). A node the platform drained
 * that passes every check again returns to service by itself under the `auto` return policy; under
 * `manual` (the default, as Slurm) it stays drained, its reason saying it recovered, until an
 * operator undrains it. An operator who undrains a node that still fails sees it drained again at
 * the next round.
 */
import { spawn } from 'node:child_process';
import type { ClusterNode } from '@suanli/core';
import type { Store, StoredNode } from '@suanli/store';

/** Every reason the platform writes starts with this; an operator's drain reason does not. */
export const HEALTH_REASON_PREFIX = 'health: ';
/** The reason of a platform-drained node that passes its checks again, under the manual policy. */
export const HEALTH_RECOVERED_PREFIX = `${HEALTH_REASON_PREFIX}checks pass again; undrain to return to service (was: `;

export type HealthCheckName = 'heartbeat' | 'devices' | 'program';
export type HealthReturnPolicy = 'manual' | 'auto';
export const HEALTH_RETURN_POLICIES: readonly HealthReturnPolicy[] = ['manual', 'auto'];

export interface CheckResult {
  readonly node: string;
  readonly check: HealthCheckName;
  /** null: healthy; else why the node fails this check (one line). */
  readonly failure: string | null;
}

/** Whether a drain reason is the platform's (from a health check) rather than an operator's. */
export function isHealthReason(reason: string | null): boolean {
  return reason !== null && reason.startsWith(HEALTH_REASON_PREFIX);
}

export type HealthAction =
  /** Drain (or re-word the drain of) a failing node; `fresh` when it was not drained by health before. */
  | { readonly kind: 'drain'; readonly node: string; readonly reason: string; readonly fresh: boolean }
  /** A platform-drained node passes again: return it to service (auto policy). */
  | { readonly kind: 'return'; readonly node: string }
  /** A platform-drained node passes again: say so, and wait for an operator (manual policy). */
  | { readonly kind: 'recovered'; readonly node: string; readonly reason: string };

export interface HealthEvaluation {
  /** Per checked node: null when healthy, else the joined failures (`program: disk full; devices: …`). */
  readonly verdicts: ReadonlyMap<string, string | null>;
  /** Nodes failing a check: the jobs on them are to be stopped and requeued. */
  readonly failing: ReadonlyMap<string, string>;
  /** Writes to the store's node overrides. */
  readonly actions: readonly HealthAction[];
}

/** Longest reason stored (the store's drain reasons are one line of at most this many characters). */
export const HEALTH_REASON_MAX = 500;

function oneLine(s: string, max = HEALTH_REASON_MAX): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * From this round's check results and the stored nodes, the verdict per node and the changes to
 * make. Pure: the same inputs give the same answer. Nodes without a result this round keep
 * whatever state they have.
 */
export function evaluateHealth(
  nodes: readonly StoredNode[],
  results: readonly CheckResult[],
  policy: HealthReturnPolicy,
): HealthEvaluation {
  const failures = new Map<string, string[]>();
  for (const r of results) {
    const list = failures.get(r.node) ?? [];
    if (r.failure !== null) list.push(`${r.check}: ${oneLine(r.failure)}`);
    failures.set(r.node, list);
  }
  const verdicts = new Map<string, string | null>();
  const failing = new Map<string, string>();
  const actions: HealthAction[] = [];
  const stored = new Map(nodes.map((n) => [n.node.name, n]));
  for (const [node, list] of failures) {
    const verdict = list.length === 0 ? null : list.join('; ');
    verdicts.set(node, verdict);
    const s = stored.get(node);
    if (s === undefined) continue; // not in the inventory: nothing to drain
    const byHealth = isHealthReason(s.adminReason);
    if (verdict !== null) {
      failing.set(node, verdict);
      const reason = oneLine(`${HEALTH_REASON_PREFIX}${verdict}`);
      if (s.adminState === null || (byHealth && (s.adminReason !== reason || s.adminState !== 'unhealthy')))
        actions.push({ kind: 'drain', node, reason, fresh: s.adminState === null });
      continue;
    }
    if (!byHealth || s.adminState === null) continue;
    if (policy === 'auto') actions.push({ kind: 'return', node });
    else if (!(s.adminReason ?? '').startsWith(HEALTH_RECOVERED_PREFIX)) {
      const was = (s.adminReason ?? '').slice(HEALTH_REASON_PREFIX.length);
      actions.push({ kind: 'recovered', node, reason: oneLine(`${HEALTH_RECOVERED_PREFIX}${was})`) });
    }
  }
  return { verdicts, failing, actions };
}

/** The heartbeat check: per node known to the store, what the executor's latest inventory says. */
export function heartbeatResults(
  stored: readonly StoredNode[],
  inventory: { readonly nodes: readonly ClusterNode[]; readonly at: number } | null,
): CheckResult[] {
  if (inventory === null) return []; // the executor has not answered yet: no verdict
  const seen = new Map(inventory.nodes.map((n) => [n.name, n]));
  return stored.map((s) => {
    const n = seen.get(s.node.name);
    const failure =
      n === undefined
        ? `not in the executor's inventory since ${new Date(inventory.at).toISOString()}`
        : n.state === 'down' || n.state === 'unhealthy'
          ? `the executor reports the node ${n.state}`
          : null;
    return { node: s.node.name, check: 'heartbeat' as const, failure };
  });
}

export interface ProgramOutcome {
  /** null: healthy; a string: failing with this reason; undefined: the program could not be run. */
  readonly failure: string | null | undefined;
  readonly error?: string;
}

/** Most output kept from one run of the check program. */
const PROGRAM_OUTPUT_MAX = 64 * 1024;

/** Runs the operator's check program for one node (see the header for the contract). */
export function runCheckProgram(program: string, node: string, timeoutMs: number): Promise<ProgramOutcome> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let timedOut = false;
    const child = spawn(program, [node], {
      env: { ...process.env, SUANLI_NODE: node },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: a timeout kills what it forked too
    });
    const keep = (acc: string, chunk: Buffer): string =>
      acc.length < PROGRAM_OUTPUT_MAX ? acc + chunk.toString('utf8') : acc;
    child.stdout.on('data', (c: Buffer) => (out = keep(out, c)));
    child.stderr.on('data', (c: Buffer) => (err = keep(err, c)));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ failure: undefined, error: `cannot run the health check program ${program}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut)
        return resolve({ failure: `the check program did not finish within ${timeoutMs / 1000} s` });
      if (code === 0) return resolve({ failure: null });
      const first = (s: string) =>
        s
          .split('\n')
          .find((l) => l.trim() !== '')
          ?.trim() ?? '';
      const said = first(out) || first(err);
      const how = signal !== null ? `killed by ${signal}` : `exit code ${code ?? 'unknown'}`;
      resolve({ failure: said !== '' ? said : `the check program ended with ${how}` });
    });
  });
}

/** Device faults of the machine `node` runs on (`readDeviceHealth` from @suanli/executors). */
export interface DeviceCheck {
  readonly node: string;
  readonly read: () => Promise<{ readonly sources: readonly string[]; readonly faults: readonly string[] }>;
}

export interface NodeHealthOptions {
  /** Time between rounds of checks. */
  readonly intervalMs: number;
  readonly returnPolicy?: HealthReturnPolicy;
  /** The operator's check program (absolute path), run once per node and round. */
  readonly program?: string | null;
  /** Longest a run of the program may take before it is killed and the node fails. Default 60 s. */
  readonly programTimeoutMs?: number;
  /** Most program runs at once (one per node). Default 8. */
  readonly programConcurrency?: number;
  readonly devices?: DeviceCheck | null;
}

export interface NodeHealthStatus {
  readonly node: string;
  /** `unchecked` until a check gave a verdict on the node. */
  readonly state: 'healthy' | 'failing' | 'unchecked';
  readonly reason: string | null;
  /** When the node entered this state (epoch ms); null while unchecked. */
  readonly since: number | null;
  readonly checkedAt: number | null;
  /** How many times the platform drained the node for failing a check since the server started. */
  readonly drains: number;
}

export interface NodeHealthHost {
  readonly store: Store;
  readonly clock: () => number;
  /** Stops the jobs holding devices on `node` and requeues them as the platform's fault. */
  stopJobsOnNode(node: string, reason: string): void;
  readonly log: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/** Runs the checks every `intervalMs` and carries out `evaluateHealth`'s verdicts. */
export class NodeHealth {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private inventory: { nodes: readonly ClusterNode[]; at: number } | null = null;
  private readonly status = new Map<string, NodeHealthStatus>();
  readonly policy: HealthReturnPolicy;

  constructor(
    private readonly host: NodeHealthHost,
    private readonly opts: NodeHealthOptions,
  ) {
    this.policy = opts.returnPolicy ?? 'manual';
  }

  /** The executor answered with its inventory (the heartbeat check reads the latest). */
  noteInventory(nodes: readonly ClusterNode[], at: number): void {
    this.inventory = { nodes, at };
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.round(), this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round of checks and their consequences; a round still running is not overlapped. */
  round(): Promise<void> {
    this.running ??= this.runRound()
      .catch((err: unknown) => this.host.log.error({ err }, 'node health round failed'))
      .finally(() => (this.running = null));
    return this.running;
  }

  /** Per node, its health as the last rounds saw it. */
  statuses(): NodeHealthStatus[] {
    return [...this.status.values()].sort((a, b) => a.node.localeCompare(b.node));
  }

  statusOf(node: string): NodeHealthStatus | null {
    return this.status.get(node) ?? null;
  }

  private async runRound(): Promise<void> {
    const stored = await this.host.store.listNodes();
    const results: CheckResult[] = heartbeatResults(stored, this.inventory);
    const names = stored.map((s) => s.node.name);
    if (this.opts.devices) {
      const d = this.opts.devices;
      if (names.includes(d.node)) {
        const report = await d.read();
        if (report.sources.length > 0)
          results.push({
            node: d.node,
            check: 'devices',
            failure: report.faults.length > 0 ? report.faults.join('; ') : null,
          });
      }
    }
    if (this.opts.program) results.push(...(await this.runProgram(this.opts.program, names)));
    const now = this.host.clock();
    const evaluation = evaluateHealth(stored, results, this.policy);
    for (const a of evaluation.actions) {
      if (a.kind === 'drain') {
        await this.host.store.setNodeAdminState(a.node, 'unhealthy', a.reason, now);
        if (a.fresh)
          this.host.log.warn({ node: a.node, reason: a.reason }, 'node drained: it failed its health check');
      } else if (a.kind === 'return') {
        await this.host.store.setNodeAdminState(a.node, null, null, now);
        this.host.log.warn({ node: a.node }, 'node returned to service: its health checks pass again');
      } else await this.host.store.setNodeAdminState(a.node, 'unhealthy', a.reason, now);
    }
    for (const [node, reason] of evaluation.failing) this.host.stopJobsOnNode(node, reason);
    for (const [node, verdict] of evaluation.verdicts) {
      const prev = this.status.get(node);
      const state = verdict === null ? 'healthy' : 'failing';
      const fresh = evaluation.actions.some((a) => a.kind === 'drain' && a.node === node && a.fresh);
      this.status.set(node, {
        node,
        state,
        reason: verdict,
        since: prev?.state === state ? prev.since : now,
        checkedAt: now,
        drains: (prev?.drains ?? 0) + (fresh ? 1 : 0),
      });
    }
  }

  private async runProgram(program: string, nodes: readonly string[]): Promise<CheckResult[]> {
    const out: CheckResult[] = [];
    const queue = [...nodes];
    const timeoutMs = this.opts.programTimeoutMs ?? 60_000;
    const worker = async () => {
      for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
        const r = await runCheckProgram(program, node, timeoutMs);
        if (r.failure === undefined)
          this.host.log.error({ node, err: r.error }, 'health check program could not run');
        else out.push({ node, check: 'program', failure: r.failure });
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.opts.programConcurrency ?? 8, nodes.length) }, worker),
    );
    return out;
  }
}
