import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mastersText } from './masters-text.js';

test('titan stats lists the epoch, then the leader, standbys and gone masters one a line', () => {
  const text = mastersText({
    epoch: 4,
    leader: 'a',
    masters: [
      { name: 'a', tcp: 'h:1', http: 'h:2', role: 'leader', epoch: 4, lastSeenMsAgo: 0 },
      { name: 'b', tcp: 'h:3', http: null, role: 'standby', epoch: null, lastSeenMsAgo: 1500 },
      { name: 'c', tcp: 'h:5', http: 'h:6', role: 'gone', epoch: 3, lastSeenMsAgo: 60_000 },
    ],
  });
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'masters: epoch 4, leader a');
  assert.match(lines[1]!, /^MASTER\s+ROLE\s+EPOCH\s+TCP\s+HTTP\s+LAST_SEEN$/);
  assert.match(lines[2]!, /^a\s+leader\s+4\s+h:1\s+h:2\s/);
  assert.match(lines[3]!, /^b\s+standby\s+-\s+h:3\s+-\s/);
  assert.match(lines[4]!, /^c\s+gone\s+3\s+h:5\s+h:6\s/);
});
