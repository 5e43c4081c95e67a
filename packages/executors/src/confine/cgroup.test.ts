/**
 * Both cgroup drivers on a fake cgroupfs (a temp directory laid out like the kernel's): what they
 * write for each limit, what they read back, and detection. cgroup v1 also runs for real in
 * confinement.test.ts (this machine's layout); v2 only here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASIC_CHAR_DEVICES, detectCgroups, readKeyed } from './cgroup.js';

function fakeRoot(): string {
  return mkdtempSync(join(tmpdir(), 'suanli-fakecg-'));
}

const LIMITS = {
  memoryBytes: 128 * 2 ** 20,
  cpuMillis: 1500,
  pids: 64,
  allowedDevices: ['195:2', '195:255'],
};

void test('v2: limits written as memory.max, memory.swap.max 0, pids.max, cpu.max; controllers enabled on both levels', () => {
  const root = fakeRoot();
  try {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), 'memory\n');
    const d = detectCgroups(root, 'suanli');
    assert.ok(d.cgroups, d.reason ?? '');
    assert.equal(d.cgroups.version, 2);
    // The kernel creates the interface files in a new group; the fake needs swap.max to exist.
    mkdirSync(join(root, 'suanli', 'j-1.1.0'), { recursive: true });
    writeFileSync(join(root, 'suanli', 'j-1.1.0', 'memory.swap.max'), 'max\n');
    const procs = d.cgroups.create('j-1.1.0', LIMITS);
    const g = join(root, 'suanli', 'j-1.1.0');
    assert.deepEqual(procs, [join(g, 'cgroup.procs')]);
    assert.equal(readFileSync(join(g, 'memory.max'), 'utf8'), String(128 * 2 ** 20));
    assert.equal(readFileSync(join(g, 'memory.swap.max'), 'utf8'), '0');
    assert.equal(readFileSync(join(g, 'pids.max'), 'utf8'), '64');
    assert.equal(readFileSync(join(g, 'cpu.max'), 'utf8'), '150000 100000');
    // The root had memory already: only the missing controllers are added there.
    assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+pids +cpu');
    assert.equal(readFileSync(join(root, 'suanli', 'cgroup.subtree_control'), 'utf8'), '+memory +pids +cpu');

    writeFileSync(join(g, 'memory.peak'), '134213632\n');
    writeFileSync(join(g, 'cpu.stat'), 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
    writeFileSync(join(g, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n');
    assert.deepEqual(d.cgroups.usage('j-1.1.0'), {
      peakMemoryBytes: 134213632,
      cpuTimeMs: 2500,
      oomKills: 1,
    });
    assert.equal(d.cgroups.usage('j-none'), null);
    writeFileSync(join(g, 'cgroup.kill'), '');
    d.cgroups.kill('j-1.1.0');
    assert.equal(readFileSync(join(g, 'cgroup.kill'), 'utf8'), '1');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('v2 without the memory or pids controller is refused with the reason', () => {
  const root = fakeRoot();
  try {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu io\n');
    const d = detectCgroups(root);
    assert.equal(d.cgroups, null);
    assert.match(d.reason ?? '', /lacks the memory, pids controller/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('v1: one group per hierarchy (cpu,cpuacct combined too), memsw equal to the limit, the devices allow-list', () => {
  const root = fakeRoot();
  try {
    for (const h of ['memory', 'pids', 'cpu,cpuacct', 'devices']) {
      mkdirSync(join(root, h));
      writeFileSync(join(root, h, 'cgroup.procs'), '');
    }
    const d = detectCgroups(root, 'suanli');
    assert.ok(d.cgroups, d.reason ?? '');
    assert.equal(d.cgroups.version, 1);
    const mem = join(root, 'memory', 'suanli', 'j-2.1.0');
    mkdirSync(mem, { recursive: true });
    writeFileSync(join(mem, 'memory.memsw.limit_in_bytes'), '9223372036854771712');
    // devices.allow is written once per rule; the fake keeps the last, so record them as appended.
    const procs = d.cgroups.create('j-2.1.0', LIMITS);
    assert.deepEqual(
      procs.sort(),
      [
        join(root, 'cpu,cpuacct', 'suanli', 'j-2.1.0', 'cgroup.procs'),
        join(root, 'devices', 'suanli', 'j-2.1.0', 'cgroup.procs'),
        join(mem, 'cgroup.procs'),
        join(root, 'pids', 'suanli', 'j-2.1.0', 'cgroup.procs'),
      ].sort(),
    );
    assert.equal(readFileSync(join(mem, 'memory.limit_in_bytes'), 'utf8'), String(128 * 2 ** 20));
    assert.equal(readFileSync(join(mem, 'memory.memsw.limit_in_bytes'), 'utf8'), String(128 * 2 ** 20));
    assert.equal(readFileSync(join(root, 'pids', 'suanli', 'j-2.1.0', 'pids.max'), 'utf8'), '64');
    assert.equal(
      readFileSync(join(root, 'cpu,cpuacct', 'suanli', 'j-2.1.0', 'cpu.cfs_quota_us'), 'utf8'),
      '150000',
    );
    const dev = join(root, 'devices', 'suanli', 'j-2.1.0');
    assert.equal(readFileSync(join(dev, 'devices.deny'), 'utf8'), 'a');
    assert.equal(readFileSync(join(dev, 'devices.allow'), 'utf8'), 'c 195:255 rwm', 'the last rule written');
    assert.ok(BASIC_CHAR_DEVICES.includes('1:3'));

    writeFileSync(join(mem, 'memory.max_usage_in_bytes'), '134217728\n');
    writeFileSync(join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    writeFileSync(join(root, 'cpu,cpuacct', 'suanli', 'j-2.1.0', 'cpuacct.usage'), '1234567890\n');
    assert.deepEqual(d.cgroups.usage('j-2.1.0'), {
      peakMemoryBytes: 134217728,
      cpuTimeMs: 1235,
      oomKills: 2,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('v1 without a pids hierarchy is refused; a keyed file is read by key', () => {
  const root = fakeRoot();
  try {
    mkdirSync(join(root, 'memory'));
    writeFileSync(join(root, 'memory', 'cgroup.procs'), '');
    assert.match(detectCgroups(root).reason ?? '', /lacks the pids hierarchy/);
    assert.equal(readKeyed('a 1\noom_kill 3\n', 'oom_kill'), 3);
    assert.equal(readKeyed('a 1\n', 'oom_kill'), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
