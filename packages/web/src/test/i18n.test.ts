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
