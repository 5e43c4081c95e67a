/**
 * Why pending, as the CLI prints it: the expected start in the reader's language (LANG, or
 * --lang) and time zone (TZ), never an epoch in milliseconds. A real server process and the real
 * `suanli` binary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatLocalTime, SuanliClient } from '@suanli/client';
import { BIN, startServerProcess } from './testing/server-process.js';

const execFileP = promisify(execFile);
const TOKEN = 'sl_verdict-cli-test-token-0123456789';

test(
  'suanli jobs and suanli job show the expected start in Chinese or English, in the local time zone',
  { timeout: 90_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-verdict-'));
    const server = await startServerProcess(join(dir, 'data'), {
      env: { SUANLI_ADMIN_TOKEN: TOKEN },
      args: ['--confine', 'off'],
    });
    const client = new SuanliClient({ url: server.url, token: TOKEN });
    const ids: string[] = [];
    try {
      // Two hours of both accelerators, then a job that must wait for them.
      ids.push(
        (
          await client.submitJob({
            name: 'holder',
            command: ['sleep', '300'],
            resources: { accelerators: 2 },
            timeLimit: '2h',
          })
        ).id,
      );
      const next = await client.submitJob({
        name: 'next',
        command: ['true'],
        resources: { accelerators: 1 },
        timeLimit: '5m',
      });
      ids.push(next.id);
      const huge = await client.submitJob({
        name: 'huge',
        command: ['true'],
        resources: { accelerators: 64 },
      });
      ids.push(huge.id);
      let at = NaN;
      for (let i = 0; i < 200 && Number.isNaN(at); i++) {
        const j = await client.getJob(next.id);
        const d = j.pending?.detail;
        if (d?.code === 'needs-capacity' && d.at !== null) at = Date.parse(d.at);
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(Number.isFinite(at), 'the waiting job has an expected start');

      const cli = async (env: Record<string, string>, ...args: string[]) => {
        const base = { ...process.env };
        for (const k of ['LANG', 'LC_ALL', 'LC_MESSAGES', 'TZ']) delete base[k];
        const { stdout } = await execFileP(process.execPath, [BIN, ...args], {
          env: { ...base, SUANLI_URL: server.url, SUANLI_TOKEN: TOKEN, ...env },
        });
        return stdout;
      };
      const now = Date.now();
      const zhTime = formatLocalTime(at, { lang: 'zh-CN', timeZone: 'Asia/Shanghai', now });
      const zhList = await cli({ LANG: 'zh_CN.UTF-8', TZ: 'Asia/Shanghai' }, 'jobs');
      assert.match(
        zhList,
        new RegExp(
          `waits-for-capacity: 等待资源：共需 1 个加速卡，当前空闲 0 个 [^；]+；预计 ${zhTime} 开始（约 2 小时后`,
        ),
      );
      assert.match(
        zhList,
        /can-never-fit: 永远无法运行：即使全部空闲，集群中也没有任何节点能容纳此请求（共 64 个加速卡）/,
      );
      assert.doesNotMatch(zhList, /t=\d{10,}/);

      const enTime = formatLocalTime(at, { lang: 'en', timeZone: 'America/New_York', now });
      const enJob = await cli(
        { LANG: 'zh_CN.UTF-8', TZ: 'America/New_York' },
        'job',
        next.id,
        '--lang',
        'en',
      );
      assert.match(enJob, new RegExp(`expected to start ${enTime} \\(in ~2 h`));
      assert.match(enJob, new RegExp(`est\\. start: {2}${enTime} \\(in ~2 h\\)`));
      assert.doesNotMatch(enJob, /t=\d{10,}/);
      // The English reason stays, for logs and scripts, with its time in ISO 8601.
      assert.match(enJob, /expected to start \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);

      // The history reads in Chinese too; in English it is the reason as written.
      const zhHolder = await cli({ LANG: 'zh_CN.UTF-8', TZ: 'Asia/Shanghai' }, 'job', ids[0] ?? '');
      assert.match(zhHolder, /已提交/);
      assert.match(zhHolder, /已调度：资源充足，队列中排第一/);
      const enHolder = await cli({ LANG: 'en_US.UTF-8' }, 'job', ids[0] ?? '');
      assert.match(enHolder, /scheduled: fits now; first in queue order/);
      assert.doesNotMatch(enHolder, /已调度/);

      const bad = await cli({}, 'jobs', '--lang', 'fr').then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(bad?.code, 2);
      assert.match(bad?.stderr ?? '', /--lang must be en or zh/);
    } finally {
      for (const id of ids) await client.cancelJob(id).catch(() => undefined);
      const exited = new Promise((r) => server.proc.once('exit', r));
      server.proc.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  },
);
