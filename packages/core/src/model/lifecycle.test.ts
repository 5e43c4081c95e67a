import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIVE_STATES,
  canTransition,
  JOB_STATES,
  TERMINAL_STATES,
  UNFINISHED_STATES,
  WAITING_STATES,
} from './lifecycle.js';

test('terminal states are exactly those no transition leaves; preempted and lost are not terminal', () => {
  for (const s of JOB_STATES) {
    const leaves = JOB_STATES.some((t) => canTransition(s, t));
    assert.equal(TERMINAL_STATES.has(s), !leaves, s);
  }
  assert.deepEqual([...TERMINAL_STATES].sort(), ['cancelled', 'failed', 'succeeded', 'timed-out']);
  assert.ok(!TERMINAL_STATES.has('preempted') && !TERMINAL_STATES.has('lost'));
});

test('the classes partition the states: unfinished is everything not terminal, waiting and active are unfinished', () => {
  assert.deepEqual([...UNFINISHED_STATES, ...TERMINAL_STATES].sort(), [...JOB_STATES].sort());
  for (const s of [...WAITING_STATES, ...ACTIVE_STATES]) assert.ok(UNFINISHED_STATES.includes(s), s);
  assert.ok(WAITING_STATES.every((s) => !ACTIVE_STATES.has(s)));
});
