import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatGenericTrace,
  parseGenericTrace,
  parsePhillyTrace,
  parseWindowBound,
  PHILLY_ORIGIN_S,
  TraceError,
  windowJobs,
} from './trace.js';

test('generic trace: parse and format round-trip, optional columns kept', () => {
  const text =
    'id,submit_s,duration_s,accelerators,tenant,time_limit_s,accelerator_type\na,0,10,1,lab1,,\nb,5.5,20,16,lab2,40,nvidia-h200\n';
  const jobs = parseGenericTrace(text);
  assert.deepEqual(jobs, [
    { id: 'a', submitS: 0, durationS: 10, accelerators: 1, tenant: 'lab1' },
    {
      id: 'b',
      submitS: 5.5,
      durationS: 20,
      accelerators: 16,
      tenant: 'lab2',
      timeLimitS: 40,
      acceleratorType: 'nvidia-h200',
    },
  ]);
  assert.deepEqual(parseGenericTrace(formatGenericTrace(jobs)), jobs);
});

test('generic trace: columns in any order; minimal header writes minimal header', () => {
  const jobs = parseGenericTrace('tenant,accelerators,duration_s,submit_s,id\nx,2,30,7,j1\n');
  assert.deepEqual(jobs, [{ id: 'j1', submitS: 7, durationS: 30, accelerators: 2, tenant: 'x' }]);
  assert.equal(formatGenericTrace(jobs), 'id,submit_s,duration_s,accelerators,tenant\nj1,7,30,2,x\n');
});

test('generic trace: errors name the line, the column and the problem', () => {
  assert.throws(() => parseGenericTrace('id,submit_s,duration_s,tenant\n'), {
    name: 'TraceError',
    message: /missing column accelerators/,
  });
  assert.throws(() => parseGenericTrace('id,submit_s,duration_s,accelerators,tenant\na,0,10,1.5,t\n'), {
    message: 'generic trace line 2: accelerators must be an integer, got "1.5"',
  });
  assert.throws(() => parseGenericTrace('id,submit_s,duration_s,accelerators,tenant\na,0,0,1,t\n'), {
    message: 'generic trace line 2: duration_s must be > 0, got 0',
  });
  assert.throws(
    () => parseGenericTrace('id,submit_s,duration_s,accelerators,tenant\na,0,1,1,t\na,1,1,1,t\n'),
    { message: 'generic trace line 3: id "a" appears twice' },
  );
  assert.throws(
    () => parseGenericTrace('id,submit_s,duration_s,accelerators,tenant\na,x,1,1,t\n'),
    TraceError,
  );
});

test('philly: both copies of the table give the same jobs', () => {
  const raw =
    'timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,66.0,1,66.0,11cb48\n2017-09-04 10:30:41,2240194,8,17921552,7f04ca\n';
  const a = parsePhillyTrace(raw);
  assert.equal(a[1]!.submitS, PHILLY_ORIGIN_S);
  assert.deepEqual(a[0], {
    id: '0',
    submitS: Date.UTC(2017, 9, 9, 7, 1, 55) / 1000,
    durationS: 66,
    accelerators: 1,
    tenant: '11cb48',
  });
  const sorted =
    'job_id,submit_time,submit_s,duration_s,num_gpus,gpu_time_s,vc\n1,2017-09-04 10:30:41,0,2240194,8,17921552,7f04ca\n';
  assert.deepEqual(parsePhillyTrace(sorted)[0], { ...a[1]!, id: '1' });
});

test('window: dates are UTC, numbers are trace seconds, result sorted by submission', () => {
  assert.equal(parseWindowBound('2017-10-01'), Date.UTC(2017, 9, 1) / 1000);
  assert.equal(parseWindowBound('3600'), 3600);
  assert.throws(() => parseWindowBound('Oct 1'), TraceError);
  const jobs = [
    { id: 'c', submitS: 30, durationS: 1, accelerators: 1, tenant: 't' },
    { id: 'a', submitS: 10, durationS: 1, accelerators: 1, tenant: 't' },
    { id: 'b', submitS: 20, durationS: 1, accelerators: 1, tenant: 't' },
  ];
  assert.deepEqual(
    windowJobs(jobs, 10, 30).map((j) => j.id),
    ['a', 'b'],
  );
});
