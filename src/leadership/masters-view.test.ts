import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mastersView } from './masters-view.js';
import type { SeenMasterRow } from './pg-masters.js';

const row = (name: string, role: 'leader' | 'standby', epoch: number | null, seenMsAgo: number): SeenMasterRow => ({
  name,
  tcp: `${name}:1`,
  http: `${name}:2`,
  role,
  epoch,
  seenMsAgo,
});

test('the answering master is the leader at its epoch, even before its row says so', () => {
  const view = mastersView('a', 5, [row('b', 'standby', null, 100), row('a', 'standby', null, 900)], 10_000);
  assert.equal(view.epoch, 5);
  assert.equal(view.leader, 'a');
  assert.deepEqual(
    view.masters.map((m) => [m.name, m.role, m.epoch]),
    [
      ['a', 'leader', 5],
      ['b', 'standby', null],
    ],
  );
});

test('another row still saying leader, seen lately, is a standby; one not seen for a while is gone and listed last', () => {
  const view = mastersView('a', 7, [row('old', 'leader', 6, 30_000), row('a', 'leader', 7, 0), row('c', 'leader', 6, 500)], 10_000);
  assert.deepEqual(
    view.masters.map((m) => [m.name, m.role, m.epoch]),
    [
      ['a', 'leader', 7],
      ['c', 'standby', 6],
      ['old', 'gone', 6],
    ],
  );
  assert.equal(view.masters[2]!.lastSeenMsAgo, 30_000);
});
