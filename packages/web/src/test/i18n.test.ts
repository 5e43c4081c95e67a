import { test } from 'node:test';
import assert from 'node:assert/strict';
import { en, zhCN, placeholders, translate, pickLang, MESSAGES, LANGS } from '../lib/i18n.js';

test('zh-CN and en have exactly the same keys', () => {
  assert.deepEqual(Object.keys(zhCN).sort(), Object.keys(en).sort());
});

test('every message uses the same {placeholders} in both languages', () => {
  const differ = (Object.keys(en) as (keyof typeof en)[]).filter(
    (k) => placeholders(en[k]).join() !== placeholders(zhCN[k]).join(),
  );
  assert.deepEqual(differ, []);
});

test('no message is empty and the Chinese side is not a copy of the English one', () => {
  for (const lang of LANGS)
    for (const [k, v] of Object.entries(MESSAGES[lang]))
      assert.ok(v.trim().length > 0, `${lang} ${k} is empty`);
  const copied = (Object.keys(en) as (keyof typeof en)[]).filter(
    (k) => en[k] === zhCN[k] && /[a-z]{4,}/i.test(en[k].replace(/\{[A-Za-z]+\}/g, '')),
  );
  // Only technical labels may stay identical (e.g. "CPU").
  assert.deepEqual(copied, []);
});

test('translate fills placeholders and leaves unknown ones visible', () => {
  assert.equal(translate('en', 'job.title', { id: 'j-1' }), 'Job j-1');
  assert.equal(translate('zh-CN', 'job.title', { id: 'j-1' }), '作业 j-1');
  assert.equal(translate('en', 'job.title'), 'Job {id}');
});

test('pickLang: remembered choice, then the browser, then Chinese', () => {
  assert.equal(pickLang('en', ['zh-CN']), 'en');
  assert.equal(pickLang(null, ['en-US', 'zh']), 'en');
  assert.equal(pickLang(null, ['zh-TW']), 'zh-CN');
  assert.equal(pickLang('fr', ['fr-FR']), 'zh-CN');
});

test('every API error code has a Chinese sentence, shown before the server message', async () => {
  const { ERRORS } = await import('@suanli/api');
  const { ERROR_SUMMARY_ZH, localizeError } = await import('../lib/error-text.js');
  assert.deepEqual(Object.keys(ERROR_SUMMARY_ZH).sort(), Object.keys(ERRORS).sort());
  assert.equal(
    localizeError('JOB_NOT_FOUND: no job j-0123456789abcdef', 'zh-CN'),
    '没有您可见的该编号作业。（JOB_NOT_FOUND: no job j-0123456789abcdef）',
  );
  assert.equal(localizeError('JOB_NOT_FOUND: no job j-1', 'en'), 'JOB_NOT_FOUND: no job j-1');
  assert.equal(localizeError('network down', 'zh-CN'), 'network down');
});
