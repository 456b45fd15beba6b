import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerBaseEnvironment } from './job-runner.js';

const worker = {
  PATH: '/usr/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  LC_ALL: 'C',
  TZ: 'UTC',
  AWS_SECRET_ACCESS_KEY: 'hunter2',
  NODE_OPTIONS: '--inspect',
  TITAN_TOKEN: 'worker-token',
};

test('a clean environment keeps only where programs are, who the user is, the locale and the time zone', () => {
  assert.deepEqual(workerBaseEnvironment(worker, true), { PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC' });
});

test("--inherit-env passes the worker's environment except its own TITAN_* settings", () => {
  const inherited = workerBaseEnvironment(worker, false);
  assert.equal(inherited.AWS_SECRET_ACCESS_KEY, 'hunter2');
  assert.equal(inherited.NODE_OPTIONS, '--inspect');
  assert.equal('TITAN_TOKEN' in inherited, false);
});
