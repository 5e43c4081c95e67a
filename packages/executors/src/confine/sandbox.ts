/**
 * The sandbox a confined replica runs in, built from util-linux alone (`unshare`, `mount`,
 * `setpriv`: on every Debian and RHEL machine and every Slurm node), so nothing is installed:
 *
 * - a PID namespace (`unshare --pid --fork --mount-proc`): the job sees and signals only its own
 *   processes, and /proc shows nothing of other jobs (their environment, command lines, files);
 *   when the replica's command ends, the kernel ends everything it left behind;
 * - a mount namespace with a private /dev (a tmpfs holding the basic character devices, a fresh
 *   devpts, a private /dev/shm and ONLY the replica's own accelerator device nodes) and a private
 *   /tmp: a job that unsets CUDA_VISIBLE_DEVICES still finds no other GPU to open;
 * - the job's Unix account (`setpriv --reuid --regid --clear-groups`): supplementary groups
 *   dropped, no capabilities, `no_new_privs` (setuid programs such as sudo gain nothing).
 *
 * The namespace's init is a root `sh` that ignores TERM/INT/HUP and waits for the command: the
 * signals the platform sends to the replica's process group reach the command itself (an init
 * process would ignore a SIGTERM it has no handler for), and SIGKILL of the group ends the whole
 * namespace. The root processes (shim, unshare, init) cannot be signalled by the job's account.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Accelerator } from '@suanli/core';
import type { UnixAccount } from './accounts.js';

/** Absolute paths of the programs the sandbox needs. */
export interface SandboxTools {
  readonly unshare: string;
  readonly mount: string;
  readonly setpriv: string;
}

/** Finds the tools in the usual system directories; the names of the missing ones otherwise. */
export function findSandboxTools(
  exists: (p: string) => boolean,
): { tools: SandboxTools; missing: null } | { tools: null; missing: string[] } {
  const dirs = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  const find = (name: string) => dirs.map((d) => join(d, name)).find(exists);
  const unshare = find('unshare');
  const mount = find('mount');
  const setpriv = find('setpriv');
  if (unshare && mount && setpriv) return { tools: { unshare, mount, setpriv }, missing: null };
  return {
    tools: null,
    missing: [
      ['unshare', unshare],
      ['mount', mount],
      ['setpriv', setpriv],
    ].flatMap(([n, p]) => (p ? [] : [n as string])),
  };
}

/**
 * Run as `sh -c SANDBOX_SCRIPT suanli-sandbox <mount> <stage> <dev>… -- <command…>` inside fresh
 * PID and mount namespaces, as root. `<stage>` is an empty directory the server owns; each `<dev>`
 * is a host device node that appears as `/dev/<its name>`. Any setup failure ends the replica with
 * status 125 before the command runs (fail closed), with the reason on stderr.
 */
export const SANDBOX_SCRIPT = [
  'm=$1; st=$2; shift 2',
  'fail() { echo "suanli sandbox: $*" >&2; exit 125; }',
  // The job's PATH is its own; the setup names every program it runs outright or through sbin.
  'jp=${PATH-}; PATH=/usr/sbin:/usr/bin:/sbin:/bin',
  '"$m" -t tmpfs -o mode=755,nosuid,noexec,size=1m suanli-dev "$st" || fail "cannot mount /dev"',
  'for n in null zero full random urandom tty; do : > "$st/$n" && "$m" --bind "/dev/$n" "$st/$n" || fail "cannot bind /dev/$n"; done',
  'while [ "$1" != -- ]; do : > "$st/${1##*/}" && "$m" --bind "$1" "$st/${1##*/}" || fail "cannot bind $1"; shift; done; shift',
  'mkdir "$st/pts" "$st/shm" && "$m" -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$st/pts" || fail "cannot mount /dev/pts"',
  'ln -s pts/ptmx "$st/ptmx"; ln -s /proc/self/fd "$st/fd"; ln -s fd/0 "$st/stdin"; ln -s fd/1 "$st/stdout"; ln -s fd/2 "$st/stderr"',
  '"$m" -t tmpfs -o mode=1777,nosuid,nodev suanli-shm "$st/shm" || fail "cannot mount /dev/shm"',
  '"$m" --move "$st" /dev || fail "cannot move the private /dev into place"',
  '"$m" -t tmpfs -o mode=1777,nosuid,nodev suanli-tmp /tmp || fail "cannot mount a private /tmp"',
  'if [ -n "$jp" ]; then PATH=$jp; else unset PATH; fi',
  'trap : TERM INT HUP',
  '"$@"',
].join('\n');

/**
 * The device nodes a replica holding `devices` may open, as host paths under `deviceDir`:
 * NVIDIA: `nvidia<minor>` per GPU + `nvidiactl`, `nvidia-uvm`, `nvidia-uvm-tools`, `nvidia-modeset`;
 * Ascend: `davinci<index>` per NPU + `davinci_manager`, `devmm_svm`, `hisi_hdc`. Only nodes that
 * exist are returned (a machine without UVM loaded has no `nvidia-uvm`). Declared devices (no
 * hardware behind them) have no nodes.
 */
export function deviceNodesFor(
  devices: readonly Accelerator[],
  deviceDir: string,
  exists: (p: string) => boolean,
): string[] {
  const names: string[] = [];
  const nvidia = devices.filter((d) => d.vendor === 'nvidia' && d.source !== 'declared');
  const ascend = devices.filter((d) => d.vendor === 'ascend' && d.source !== 'declared');
  for (const d of nvidia) names.push(`nvidia${d.deviceMinor ?? d.index}`);
  if (nvidia.length > 0) names.push('nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset');
  for (const d of ascend) names.push(`davinci${d.deviceMinor ?? d.index}`);
  if (ascend.length > 0) names.push('davinci_manager', 'devmm_svm', 'hisi_hdc');
  return names.map((n) => join(deviceDir, n)).filter(exists);
}

/** `major:minor` of character device nodes (for the v1 devices controller); others are skipped. */
export function charDeviceIds(paths: readonly string[]): string[] {
  const ids: string[] = [];
  for (const p of paths) {
    const st = statSync(p, { bigint: true });
    if (!st.isCharacterDevice()) continue;
    const rdev = st.rdev;
    // glibc's gnu_dev_major / gnu_dev_minor.
    const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
    const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
    ids.push(`${major}:${minor}`);
  }
  return ids;
}

/** argv (after the shim) that runs `command` confined as `account`, with the `devices` nodes visible. */
export function sandboxArgv(
  tools: SandboxTools,
  stageDir: string,
  devicePaths: readonly string[],
  account: UnixAccount,
  command: readonly string[],
): string[] {
  return [
    tools.unshare,
    '--pid',
    '--fork',
    '--mount',
    '--mount-proc',
    '--propagation',
    'private',
    '/bin/sh',
    '-c',
    SANDBOX_SCRIPT,
    'suanli-sandbox',
    tools.mount,
    stageDir,
    ...devicePaths,
    '--',
    tools.setpriv,
    `--reuid=${account.uid}`,
    `--regid=${account.gid}`,
    '--clear-groups',
    '--no-new-privs',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
    ...command,
  ];
}
