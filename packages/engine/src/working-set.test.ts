import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createSuanliPolicy,
  DEFAULT_POLICY,
  compileJobSpec,
  type ClusterNode,
  type JobSpec,
  type RunningSchedJob,
  type SchedJob,
} from '@suanli/core';
import type { JobRecord } from '@suanli/store';
import { PolicyHost, type PendingEntry } from './policy-host.js';
import { WorkerPolicyRunner } from './policy-runner.js';
import { toSchedJob } from './engine.js';
import { WorkingSet } from './working-set.js';

const SPEC = ((): JobSpec => {
  const c = compileJobSpec({ name: 'w', command: ['true'], resources: { accelerators: 1 } });
  if (!c.ok) throw new Error('spec');
  return c.value;
})();

function record(id: string, seq: number, over: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    seq,
    tenant: 't',
    project: 'default',
    name: 'w',
    submittedBy: 'u',
    spec: SPEC,
    state: 'queued',
    priority: 0,
    submittedAt: seq,
    queuedAt: seq,
    attempt: 0,
    placement: null,
    executorRef: null,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    pendingVerdict: null,
    pendingReason: null,
    estimatedStart: null,
    pendingDetail: null,
    arrayId: null,
    arrayIndex: null,
    arrayThrottle: null,
    notBefore: null,
    cancelRequestedAt: null,
    idempotencyKey: null,
    ...over,
  };
}

const entry = (j: JobRecord): PendingEntry => ({ seq: j.seq, job: toSchedJob(j) });
const ids = (es: readonly PendingEntry[]) => es.map((e) => e.job.id);

void describe('WorkingSet', () => {
  it('hands over new and changed pending jobs once, and those that stopped pending as removals', () => {
    const ws = new WorkingSet();
    ws.replaceAll([record('a', 1), record('b', 2), record('r', 3, { state: 'running', placement: [] })]);
    let d = ws.pendingDelta(10, entry);
    assert.equal(d.reset, true);
    assert.deepEqual(ids(d.upserts), ['a', 'b']);
    assert.deepEqual(ws.pendingDelta(10, entry), { reset: false, upserts: [], removals: [], held: [] });

    ws.apply(record('c', 4));
    ws.apply(record('a', 1, { state: 'starting', attempt: 1 }));
    ws.apply(record('b', 2, { state: 'cancelled' }));
    d = ws.pendingDelta(11, entry);
    assert.deepEqual(ids(d.upserts), ['c']);
    assert.deepEqual(d.removals.sort(), ['a', 'b']);
    assert.deepEqual(
      ws
        .holdingDevices()
        .map((j) => j.id)
        .sort(),
      ['a', 'r'],
    );
    assert.equal(ws.has('b'), false);
  });

  it('keeps a requeued job out until its backoff has passed, then hands it over', () => {
    const ws = new WorkingSet();
    ws.replaceAll([]);
    ws.pendingDelta(0, entry);
    ws.apply(record('a', 1, { notBefore: 100 }));
    assert.deepEqual(ids(ws.pendingDelta(50, entry).upserts), []);
    assert.deepEqual(ids(ws.pendingDelta(99, entry).upserts), []);
    assert.deepEqual(ids(ws.pendingDelta(100, entry).upserts), ['a']);
  });

  it('counts queued jobs per tenant as they come and go', () => {
    const ws = new WorkingSet();
    ws.replaceAll([record('a', 1), record('b', 2, { tenant: 'u' })]);
    ws.apply(record('c', 3));
    assert.equal(ws.queuedOf('t'), 2);
    ws.apply(record('a', 1, { state: 'starting' }));
    ws.apply(record('c', 3, { state: 'cancelled' }));
    ws.apply(record('c', 3, { state: 'cancelled' }));
    assert.equal(ws.queuedOf('t'), 0);
    assert.equal(ws.queuedOf('u'), 1);
  });

  it('holds back the tasks of a %2 array beyond its running ones, lowest first, and lets the next in as one ends', () => {
    const task = (i: number, over: Partial<JobRecord> = {}) =>
      record(`a_${i}`, 10 + i, { arrayId: 'a', arrayIndex: i, arrayThrottle: 2, ...over });
    const ws = new WorkingSet();
    ws.replaceAll([task(0), task(1), task(2), task(3), record('x', 1)]);
    let d = ws.pendingDelta(0, entry);
    assert.deepEqual(ids(d.upserts), ['x', 'a_0', 'a_1']);
    assert.deepEqual(
      d.held.map((h) => h.jobId),
      ['a_2', 'a_3'],
    );
    assert.match(d.held[0]?.reason ?? '', /at most 2 tasks at once/);
    // a_0 and a_1 start: still two active, nothing more shown
    ws.apply(task(0, { state: 'running' }));
    ws.apply(task(1, { state: 'running' }));
    d = ws.pendingDelta(1, entry);
    assert.deepEqual(ids(d.upserts), []);
    assert.deepEqual(d.removals.sort(), ['a_0', 'a_1']);
    assert.deepEqual(d.held, []);
    // a_0 ends: a_2 is shown, a_3 stays held (and is not reported again)
    ws.apply(task(0, { state: 'succeeded' }));
    d = ws.pendingDelta(2, entry);
    assert.deepEqual(ids(d.upserts), ['a_2']);
    assert.deepEqual(d.held, []);
  });

  it('touch and resendAll hand a job (or every job) over again', () => {
    const ws = new WorkingSet();
    ws.replaceAll([record('a', 1), record('b', 2)]);
    ws.pendingDelta(0, entry);
    ws.touch('b');
    ws.touch('gone');
    assert.deepEqual(ids(ws.pendingDelta(0, entry).upserts), ['b']);
    ws.resendAll();
    const d = ws.pendingDelta(0, entry);
    assert.equal(d.reset, true);
    assert.deepEqual(ids(d.upserts), ['a', 'b']);
  });
});

/** mulberry32: seeded, so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function node(name: string, devices: number): ClusterNode {
  return {
    name,
    state: 'ready',
    accelerators: Array.from({ length: devices }, (_, i) => ({
      id: `${name}/gpu/${i}`,
      index: i,
      type: 'nvidia-h200',
      vendor: 'nvidia' as const,
      source: 'declared' as const,
      healthy: true,
    })),
    cpuMillis: 64_000,
    memoryMiB: 512 * 1024,
    topology: {},
    labels: {},
  };
}

function schedJob(id: string, submitTime: number, r: () => number): SchedJob {
  return {
    id,
    tenant: ['a', 'b', 'c'][Math.floor(r() * 3)] ?? 'a',
    project: 'default',
    submitTime,
    priority: r() < 0.2 ? 100 : 0,
    replicas: 1,
    perReplica: { accelerators: 1 + Math.floor(r() * 4), acceleratorTypes: [], cpuMillis: 0, memoryMiB: 0 },
    timeLimitMs: r() < 0.5 ? null : 60_000 * (1 + Math.floor(r() * 60)),
    preemptible: true,
  };
}

void describe('PolicyHost', () => {
  it('decides over its kept list exactly as a fresh policy over the whole snapshot does', () => {
    const r = rng(7);
    const nodes = [node('n1', 8), node('n2', 8)];
    const host = new PolicyHost(createSuanliPolicy(DEFAULT_POLICY), () => 0);
    const pending = new Map<string, PendingEntry>();
    const reported = new Map<string, string>();
    let running: RunningSchedJob[] = [];
    let seq = 0;
    let started: string[] = [];
    for (let cycle = 0; cycle < 60; cycle++) {
      const now = 1_000_000 + cycle * 10_000;
      const upserts: PendingEntry[] = [];
      // the jobs started last cycle leave the list with this cycle's changes, as the engine sends them
      const removals: string[] = started;
      for (const id of [...pending.keys()])
        if (r() < 0.05) {
          pending.delete(id);
          removals.push(id);
        }
      for (let k = Math.floor(r() * 6); k > 0; k--) {
        const e = { seq: ++seq, job: schedJob(`j${seq}`, now, r) };
        pending.set(e.job.id, e);
        upserts.push(e);
      }
      // a job changed in place (its priority), as a policy reload or a claim does
      const some = [...pending.values()][Math.floor(r() * pending.size)];
      if (some && r() < 0.3) {
        const changed = { seq: some.seq, job: { ...some.job, priority: some.job.priority + 1 } };
        pending.set(changed.job.id, changed);
        upserts.push(changed);
      }
      running = running.filter(() => r() > 0.2);
      const input = {
        now,
        ...(cycle === 0 ? { nodes } : {}),
        running,
        usage: { a: cycle * 10, b: 0 },
        windows: [],
        upserts,
        removals,
      };
      const out = host.cycle(input);
      const fresh = createSuanliPolicy(DEFAULT_POLICY).schedule({
        now,
        nodes,
        pending: [...pending.values()].sort((x, y) => x.seq - y.seq).map((e) => e.job),
        running,
        usage: input.usage,
        windows: [],
      });
      assert.deepEqual(out.starts, fresh.starts, `cycle ${cycle}: starts`);
      assert.deepEqual(out.preemptions, fresh.preemptions, `cycle ${cycle}: preemptions`);
      // the reported changes, applied to what was reported before, are the fresh verdicts
      for (const v of out.verdicts) reported.set(v.jobId, `${v.verdict}|${v.reason}|${v.estimatedStart}`);
      for (const p of fresh.pending)
        assert.equal(
          reported.get(p.jobId),
          `${p.verdict}|${p.reason}|${p.estimatedStart}`,
          `cycle ${cycle}: ${p.jobId}`,
        );
      assert.equal(out.pendingCount, pending.size);
      // carry the starts out, as the engine does
      for (const s of out.starts) {
        const e = pending.get(s.jobId);
        if (!e) continue;
        pending.delete(s.jobId);
        running.push({ ...e.job, startTime: now, placement: s.placement, lastCheckpointTime: null });
      }
      started = out.starts.map((s) => s.jobId);
      for (const id of started) reported.delete(id);
    }
    assert.ok(seq > 100, 'the sequence exercised the host');
  });

  it('reports a verdict again when its job comes back to the queue', () => {
    const host = new PolicyHost(createSuanliPolicy(DEFAULT_POLICY), () => 0);
    const full = node('n1', 1);
    const holder: RunningSchedJob = {
      ...schedJob('holder', 0, () => 0),
      startTime: 0,
      placement: [{ node: 'n1', acceleratorIds: ['n1/gpu/0'], cpuMillis: 0, memoryMiB: 0 }],
      lastCheckpointTime: null,
    };
    const e = { seq: 1, job: { ...schedJob('w', 0, () => 0), timeLimitMs: null } };
    const base = { now: 10, nodes: [full], running: [holder], usage: {}, windows: [] };
    assert.equal(host.cycle({ ...base, upserts: [e], removals: [] }).verdicts.length, 1);
    assert.equal(host.cycle({ ...base, upserts: [], removals: [] }).verdicts.length, 0);
    host.cycle({ ...base, upserts: [], removals: ['w'] });
    assert.equal(host.cycle({ ...base, upserts: [e], removals: [] }).verdicts.length, 1);
  });
});

void describe('WorkerPolicyRunner', () => {
  it('runs the built-in policy in a worker thread and answers as the host does inline', async () => {
    const runner = new WorkerPolicyRunner(DEFAULT_POLICY);
    const inline = new PolicyHost(createSuanliPolicy(DEFAULT_POLICY), () => 0);
    try {
      assert.equal(runner.fresh, true);
      const r = rng(3);
      const upserts = Array.from({ length: 50 }, (_, i) => ({ seq: i + 1, job: schedJob(`j${i}`, 0, r) }));
      const input = {
        now: 5,
        nodes: [node('n1', 8)],
        running: [],
        usage: {},
        windows: [],
        upserts,
        removals: [],
      };
      const out = await runner.cycle(input);
      const want = inline.cycle(input);
      assert.equal(runner.fresh, false);
      assert.deepEqual(out.starts, want.starts);
      assert.deepEqual(out.verdicts, want.verdicts);
    } finally {
      await runner.close();
    }
    await assert.rejects(
      runner.cycle({ now: 0, running: [], usage: {}, windows: [], upserts: [], removals: [] }),
      /closed/,
    );
  });
});
