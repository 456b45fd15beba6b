import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerSkew } from './timer-skew.js';

test('timer skew keeps the last firings in a ring and reports nearest-rank percentiles', () => {
  const skew = new TimerSkew(100);
  assert.deepEqual(skew.summary(), { fired: 0, lateMsP50: null, lateMsP99: null, lateMsMax: null });
  for (let i = 1; i <= 100; i++) skew.record(i);
  assert.deepEqual(skew.summary(), { fired: 100, lateMsP50: 50, lateMsP99: 99, lateMsMax: 100 });
  for (let i = 0; i < 100; i++) skew.record(0);
  assert.deepEqual(skew.summary(), { fired: 200, lateMsP50: 0, lateMsP99: 0, lateMsMax: 0 }, 'older firings left the ring');
});
