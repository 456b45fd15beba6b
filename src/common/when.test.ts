import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseInstant } from './when.js';

test('durations take a unit, a bare number being seconds', () => {
  assert.deepEqual(
    ['30', '30s', '1.5m', '2h', '1d', '250ms'].map((t) => parseDuration(t, '--delay')),
    [30_000, 30_000, 90_000, 7_200_000, 86_400_000, 250],
  );
  assert.throws(() => parseDuration('soon', '--delay'), /--delay must be a duration like 30s, 5m, 2h or 1d .*got "soon"/);
  assert.throws(() => parseDuration('-5s', '--delay'), /--delay must be a duration/);
});

test('instants are ISO 8601 with a zone; a zone-less time is refused with the fix', () => {
  assert.equal(parseInstant('2026-12-01T08:00:00Z', '--at'), Date.UTC(2026, 11, 1, 8));
  assert.equal(parseInstant('2026-12-01T09:00+01:00', '--at'), Date.UTC(2026, 11, 1, 8));
  assert.equal(parseInstant('2026-12-01 08:00:30.5z', '--at'), Date.UTC(2026, 11, 1, 8, 0, 30, 500));
  assert.throws(() => parseInstant('2026-12-01T08:00', '--at'), /add its zone: Z for UTC/);
  assert.throws(() => parseInstant('tomorrow', 'run_at'), /run_at must be an ISO 8601 time with a zone like 2026-12-01T08:00:00Z, got "tomorrow"/);
  assert.throws(() => parseInstant('2026-13-45T08:00Z', '--at'), /must be an ISO 8601 time/);
});
