import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RESTART_TIMING, RestartWindow, restartDelayMs, wantsRestart } from './restart-policy.js';

test('always restarts on any exit, on-failure only on a non-zero or signalled exit, never does not', () => {
  assert.equal(wantsRestart('always', 0), true);
  assert.equal(wantsRestart('always', 1), true);
  assert.equal(wantsRestart('on-failure', 0), false);
  assert.equal(wantsRestart('on-failure', 3), true);
  assert.equal(wantsRestart('on-failure', null), true);
  assert.equal(wantsRestart('never', 1), false);
});

test('the first restart of a streak is immediate, later ones double from 50 ms up to 10 s', () => {
  const delays = [1, 2, 3, 4, 5, 20].map((streak) => restartDelayMs(streak, DEFAULT_RESTART_TIMING));
  assert.deepEqual(delays, [0, 50, 100, 200, 400, 10_000]);
});

test('more than maxRestarts restarts within the window is refused; older ones slide out of it', () => {
  const window = new RestartWindow(2, 1000);
  assert.equal(window.admit(0), true);
  assert.equal(window.admit(100), true);
  assert.equal(window.admit(200), false);
  assert.equal(window.count, 2);
  assert.equal(window.admit(1000), true, 'the restart at 0 left the window');
});

test('a window allowing no restarts refuses the first', () => {
  assert.equal(new RestartWindow(0, 60_000).admit(5), false);
});
