import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shownHealth } from './stats.js';

test('a live worker that missed two heartbeats is shown unresponsive, not healthy', () => {
  assert.equal(shownHealth('healthy', 1_500, 1_000), 'healthy');
  assert.equal(shownHealth('healthy', 2_000, 1_000), 'healthy');
  assert.equal(shownHealth('healthy', 2_001, 1_000), 'unresponsive');
  assert.equal(shownHealth('draining', 60_000, 1_000), 'draining');
});
