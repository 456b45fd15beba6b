import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoopLag } from './loop-lag.js';

test('a gap in the ticks past the threshold counts as a stall, from the time asked about', () => {
  let now = 0;
  const lag = new LoopLag(100, 1_000, () => now);
  for (let i = 0; i < 10; i++) {
    now += 100;
    lag.tick();
  }
  assert.equal(lag.stalledSince(0), 0, 'on-time ticks are no stall');
  now += 500;
  lag.tick();
  assert.equal(lag.stalledSince(0), 0, 'a gap under the threshold is no stall');
  now += 40_100; // the loop did not run for 40 s
  lag.tick();
  assert.equal(lag.stalledSince(0), 40_000);
  assert.equal(lag.stalledSince(now - 10_000), 10_000, 'only the part after `since` counts');
  assert.equal(lag.stalledSince(now), 0, 'a stall that ended before `since` does not count');
  assert.equal(lag.worstMs, 40_000);
});

test('a stall still in progress (the ticker has not run yet) counts too', () => {
  let now = 0;
  const lag = new LoopLag(100, 1_000, () => now);
  lag.start();
  try {
    now = 30_100;
    assert.equal(lag.stalledSince(0), 30_000);
  } finally {
    lag.stop();
  }
});
