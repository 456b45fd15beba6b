import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRateLimit, RateLimiter } from './rate-limiter.js';

void test('a key gets its requests per window, then a retry-after that reaches the oldest request leaving the window', () => {
  const limiter = new RateLimiter({ requests: 3, windowMs: 1000 });
  assert.ok(limiter.take('a', 0).allowed);
  assert.ok(limiter.take('a', 100).allowed);
  assert.ok(limiter.take('a', 200).allowed);
  assert.deepEqual(limiter.take('a', 300), { allowed: false, retryAfterMs: 700 });
  assert.ok(limiter.take('b', 300).allowed, 'another key is unaffected');
  assert.ok(limiter.take('a', 1000).allowed, 'the first request left the window');
  assert.equal(limiter.take('a', 1001).allowed, false);
});

void test('the window slides: no burst of twice the limit at a window edge', () => {
  const limiter = new RateLimiter({ requests: 10, windowMs: 1000 });
  let granted = 0;
  for (let t = 0; t < 2000; t += 10) if (limiter.take('k', t).allowed) granted++;
  assert.equal(granted, 20);
});

void test('parseRateLimit reads n/window and off, and names the format when wrong', () => {
  assert.deepEqual(parseRateLimit('150/10s'), { requests: 150, windowMs: 10_000 });
  assert.deepEqual(parseRateLimit('60/m'), { requests: 60, windowMs: 60_000 });
  assert.deepEqual(parseRateLimit('5/500ms'), { requests: 5, windowMs: 500 });
  assert.equal(parseRateLimit('off'), null);
  assert.throws(() => parseRateLimit('fast'), /not <requests>\/<window> \(examples: 150\/10s/);
});
