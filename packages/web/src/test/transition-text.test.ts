// The API derives a transition's code from its reason and the client renders it: the pair is
// tested here, where both are at hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transitionDetail } from '@suanli/api';
import { describeTransition } from '@suanli/client';

const zh = { lang: 'zh-CN' } as const;
const en = { lang: 'en' } as const;

/** Reasons as the store and the engine write them, with how a zh and an en reader see them. */
const CASES: readonly (readonly [reason: string, code: string, zh: string])[] = [
  ['submitted', 'submitted', '已提交'],
  ['scheduled: fits now; first in queue order', 'scheduled', '已调度：资源充足，队列中排第一'],
  [
    'scheduled: backfilled: fits now and does not delay the 2 reserved job(s) ahead of it',
    'scheduled',
    '已调度（回填）：现在可以放下，且不推迟前面 2 个已预留的作业',
  ],
  [
    'scheduled: inside booking window bk-1 of tenant lab-a: the booked nvidia-h200 are its own for the window (quota does not apply)',
    'scheduled',
    '已调度：在租户 lab-a 的预约窗口 bk-1 内运行（不受配额限制）',
  ],
  ['cancelled by alice while waiting', 'cancelled', '已由 alice 取消'],
  ['array cancelled by alice', 'cancelled', '作业数组已由 alice 取消'],
  ['cancelled by request; killed by SIGTERM', 'cancelled', '已应请求取消；被 SIGTERM 信号终止'],
  [
    'requeued after preemption (does not count as an attempt)',
    'requeued',
    '被抢占后重新排队（不计入尝试次数）',
  ],
  ['failed; replica 1: killed by SIGKILL', 'failed', '失败；副本 1：被 SIGKILL 信号终止'],
  [
    'failed; out-of-memory (limit 128 MiB, peak 128 MiB); replica 0: killed by SIGKILL; retrying under the retry policy',
    'failed',
    '失败；内存超限（上限 128 MiB，峰值 128 MiB）；副本 0：被 SIGKILL 信号终止；将按重试策略重试',
  ],
  ['failed; exit code 3', 'failed', '失败；退出码 3'],
  [
    'time limit of 60 s reached; killed by SIGTERM',
    'timed-out',
    '已达到 60 秒的时间上限；被 SIGTERM 信号终止',
  ],
  ['completed; exit code 0', 'completed', '已完成；退出码 0'],
  ['lost: the Slurm job vanished', 'lost', '丢失：the Slurm job vanished'],
  [
    'requeued under the retry policy after: attempt lost (node gone)',
    'requeued',
    '按重试策略重新排队，原因：attempt lost (node gone)',
  ],
  [
    'not retried after: lost (attempts used 3 of 3; retryOn: lost)',
    'not-retried',
    '不再重试：lost（已用尝试 3/3；retryOn：lost）',
  ],
  [
    'preempted: reclaims its guarantee; killed by SIGTERM',
    'preempted',
    '被抢占：reclaims its guarantee；被 SIGTERM 信号终止',
  ],
  ['something a newer engine wrote', 'other', 'something a newer engine wrote'],
];

test('transition reasons get a stable code and read in Chinese', () => {
  for (const [reason, code, text] of CASES) {
    const d = transitionDetail(reason);
    assert.equal(d.code, code, reason);
    assert.equal(describeTransition(d, zh), text, reason);
  }
});

test('read in English, a structured transition says what its reason says', () => {
  for (const [reason] of CASES) {
    const d = transitionDetail(reason);
    if (d.code === 'cancelled' && d.by !== null && reason.endsWith(' while waiting')) continue;
    if (d.code === 'scheduled' && d.how === 'in-booking') continue;
    assert.equal(
      describeTransition(d, en),
      reason.replace(/^scheduled: backfilled:/, 'scheduled (backfilled):'),
      reason,
    );
  }
  assert.equal(
    describeTransition(transitionDetail('cancelled by alice while waiting'), en),
    'cancelled by alice',
  );
});

test('how an attempt ended is parsed into its parts', () => {
  assert.deepEqual(transitionDetail('failed; replica 1: killed by SIGKILL (executor restarted)'), {
    code: 'failed',
    retrying: false,
    end: { replica: 1, signal: 'SIGKILL', exitCode: null, outOfMemory: null, note: 'executor restarted' },
  });
  assert.deepEqual(transitionDetail('failed; out-of-memory (no limit set); exit code 137'), {
    code: 'failed',
    retrying: false,
    end: {
      replica: null,
      signal: null,
      exitCode: 137,
      outOfMemory: { limitMiB: null, peakMiB: null },
      note: null,
    },
  });
});
