import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { KeyedSerial } from './keyed-serial.js';

test('tasks of one key run one after another, in order, even when an earlier one fails', async () => {
  const serial = new KeyedSerial();
  const seen: string[] = [];
  const task =
    (name: string, fail = false) =>
    async (): Promise<string> => {
      seen.push(`${name} start`);
      await nextTurn();
      seen.push(`${name} end`);
      if (fail) throw new Error(name);
      return name;
    };
  const results = await Promise.allSettled([serial.run('k', task('a')), serial.run('k', task('b', true)), serial.run('k', task('c'))]);
  assert.deepEqual(seen, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  await nextTurn();
  assert.equal(serial.busyKeys, 0);
});

test('tasks of different keys run side by side', async () => {
  const serial = new KeyedSerial();
  const seen: string[] = [];
  const task = (name: string) => async (): Promise<void> => {
    seen.push(`${name} start`);
    await nextTurn();
    seen.push(`${name} end`);
  };
  await Promise.all([serial.run('x', task('x')), serial.run('y', task('y'))]);
  assert.deepEqual(seen, ['x start', 'y start', 'x end', 'y end']);
});
