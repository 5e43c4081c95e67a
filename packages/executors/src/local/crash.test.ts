import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionEvent } from '../executor.js';
import { shQuote } from '../contract.js';
import { LocalExecutor, attemptStateDir, parseLocalRef } from './local-executor.js';
import { isEnded, readProcStat } from './procfs.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const inventory = async () => [];

/** Starts the "server" child, returns its ref line and the child. */
async function launchInChild(logDir: string, script: string) {
  const child = spawn(process.execPath, [CHILD, logDir, script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ref = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`child gave no ref within 10 s; stderr: ${err}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        clearTimeout(t);
        resolve((JSON.parse(line) as { ref: string }).ref);
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code}); stderr: ${err}`)));
  });
  return { child, ref };
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void test(
  'crash: after kill -9 of the server process, the job keeps running, is recovered, and its exit code reported',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-crash-'));
    const gate = join(dir, 'gate');
    const ex = new LocalExecutor({ inventory, pollIntervalMs: 50 });
    try {
      const script = `echo before; i=0; while [ ! -e ${shQuote(gate)} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo after-crash; exit 5`;
      const { child, ref } = await launchInChild(dir, script);
      const exitedChild = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_c, s) => resolve(s)),
      );
      child.kill('SIGKILL');
      assert.equal(await exitedChild, 'SIGKILL', 'the server died the hard way');

      const parsed = parseLocalRef(ref);
      const shim = parsed?.replicas[0];
      assert.ok(shim);
      const st = readProcStat(shim.pid);
      assert.ok(
        st !== null && !isEnded(st) && st.startTime === shim.startTime,
        'the job outlived its server',
      );

      const events: ExecutionEvent[] = [];
      ex.onEvent((e) => events.push(e));
      const [r] = await ex.recover([{ jobId: 'crash-1', attempt: 1, ref, logDir: dir }]);
      assert.deepEqual(r, { jobId: 'crash-1', status: 'running' });

      writeFileSync(gate, '');
      await waitUntil(() => events.some((e) => e.kind === 'exited'), 10_000, 'the exited event');
      const exited = events.find((e) => e.kind === 'exited');
      assert.ok(exited?.kind === 'exited');
      assert.equal(exited.exitCode, 5);
      assert.equal(exited.signal, null);
      assert.equal(
        readFileSync(join(dir, 'stdout.log'), 'utf8'),
        'before\nafter-crash\n',
        'output written after the crash still reached the log file',
      );
    } finally {
      await ex.close();
      for (const d of [dir, attemptStateDir(dir)]) rmSync(d, { recursive: true, force: true }); // the state dir is its sibling
    }
  },
);

void test(
  'crash: a job killed together with its shim while the server is down is lost, with the reason',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-crash-'));
    const ex = new LocalExecutor({ inventory });
    try {
      const { child, ref } = await launchInChild(dir, 'exec sleep 60');
      child.kill('SIGKILL');
      const shim = parseLocalRef(ref)?.replicas[0];
      assert.ok(shim);
      process.kill(-shim.pid, 'SIGKILL'); // e.g. the OOM killer or an operator's kill -9 of the group
      await waitUntil(() => isEnded(readProcStat(shim.pid)), 5000, 'the shim to die');
      const [r] = await ex.recover([{ jobId: 'crash-2', attempt: 1, ref, logDir: dir }]);
      assert.equal(r?.status, 'lost');
      assert.match(
        r?.status === 'lost' ? r.reason : '',
        /replica 0 \(pid \d+\) has ended without an exit record/,
      );
    } finally {
      await ex.close();
      for (const d of [dir, attemptStateDir(dir)]) rmSync(d, { recursive: true, force: true }); // the state dir is its sibling
    }
  },
);

void test("crash: a boot id that is not this boot's is lost without looking at pids", async () => {
  const ex = new LocalExecutor({ inventory });
  try {
    const ref = JSON.stringify({
      v: 1,
      bootId: '00000000-0000-0000-0000-000000000000',
      replicas: [{ rank: 0, pid: process.pid, startTime: readProcStat(process.pid)?.startTime }],
    });
    const [r] = await ex.recover([{ jobId: 'old', attempt: 1, ref, logDir: tmpdir() }]);
    assert.equal(r?.status, 'lost');
    assert.match(r?.status === 'lost' ? r.reason : '', /rebooted since launch/);
  } finally {
    await ex.close();
  }
});
