import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, retryLine, workerTags } from './format.js';

test('every worker shows the GENERAL tag placement gives it, once and first', () => {
  assert.equal(workerTags([]), 'GENERAL');
  assert.equal(workerTags(['GPU']), 'GENERAL,GPU');
  assert.equal(workerTags(['GPU', 'GENERAL']), 'GENERAL,GPU');
});

test('titan retry names the attempt that runs, whether the master dispatched it already or not', () => {
  assert.equal(retryLine({ id: 'j1', state: 'queued', attempt: 2 }), 'job j1 queued again: attempt 3 runs next');
  assert.equal(retryLine({ id: 'j1', state: 'assigned', attempt: 3 }), 'job j1 assigned again: attempt 3');
  assert.equal(retryLine({ id: 'j1', state: 'running', attempt: 3 }), 'job j1 running again: attempt 3');
});

test('byte counts read in binary units, exact below one KiB', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(1023), '1023 B');
  assert.equal(bytes(1536), '1.5 KiB');
  assert.equal(bytes(12 * 1024 * 1024), '12.0 MiB');
});
