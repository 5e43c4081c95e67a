/**
 * A real `suanli server` child process for the CLI's end-to-end tests: gpu:2 on one node named
 * `box`, a 1 s grace period, an ephemeral port. Resolves once it listens and has printed how to
 * authenticate; rejects (with its output) if it exits first or takes over 20 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/suanli.js', import.meta.url));

export interface ServerProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  /** Everything it wrote so far, stdout and stderr. */
  readonly output: () => string;
}

export async function startServerProcess(
  dataDir: string,
  options: {
    logLevel?: string;
    env?: Record<string, string>;
    sink?: string[];
    args?: readonly string[];
  } = {},
): Promise<ServerProcess> {
  const proc = spawn(
    process.execPath,
    [
      BIN,
      'server',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--accelerators',
      'gpu:2',
      '--node-name',
      'box',
      '--grace',
      '1',
      '--log-level',
      options.logLevel ?? 'warn',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let out = '';
  const collect = (d: Buffer): void => {
    out += d.toString();
    options.sink?.push(d.toString());
  };
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    proc.stdout!.on('data', () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m && out.includes('authenticate:')) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${c}: ${out}`));
    });
  });
  return { proc, url, output: () => out };
}
