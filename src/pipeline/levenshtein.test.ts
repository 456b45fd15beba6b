import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levenshtein, nearest } from './levenshtein.js';

test('distance counts inserts, deletes, substitutions and neighbour swaps as one edit each', () => {
  assert.equal(levenshtein('depend_on', 'depends_on'), 1);
  assert.equal(levenshtein('dealy', 'delay'), 1);
  assert.equal(levenshtein('kitten', 'sitting'), 3);
  assert.equal(levenshtein('', 'abc'), 3);
});

test('nearest suggests a plausible typo fix and nothing for an unrelated word', () => {
  const keys = ['depends_on', 'dependencies', 'trigger_rule', 'retry_backoff'];
  assert.equal(nearest('dependsOn', keys), 'depends_on');
  assert.equal(nearest('Trigger-Rule', keys), 'trigger_rule');
  assert.equal(nearest('colour', keys), undefined);
});
