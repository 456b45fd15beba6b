import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceDirectory } from './service-directory.js';

test('a restart is when the uptime starts again; ready again on the same worker keeps it; a move forgets it', () => {
  const services = new ServiceDirectory();
  services.ready('s1', { workerId: 'w1', host: '10.0.0.1', port: 8000, pid: 11, readyAt: 1_000 });
  assert.equal(services.get('s1')?.restartedAt, null);
  services.restarted('s1', 1, 12, 5_000);
  assert.deepEqual([services.get('s1')?.restarts, services.get('s1')?.pid, services.get('s1')?.restartedAt], [1, 12, 5_000]);
  services.ready('s1', { workerId: 'w1', host: '10.0.0.1', port: 8000, pid: 12, readyAt: 5_100 });
  assert.equal(services.get('s1')?.restartedAt, 5_000);
  services.ready('s1', { workerId: 'w2', host: '10.0.0.2', port: 8000, pid: 40, readyAt: 9_000 });
  assert.deepEqual([services.get('s1')?.restarts, services.get('s1')?.restartedAt], [0, null]);
});
