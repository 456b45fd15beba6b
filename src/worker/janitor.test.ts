import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { WorkerJanitor } from './janitor.js';
import { PidRegistry, processExists } from './pid-registry.js';
import type { RunningJob } from './executor.js';

async function waitGone(pid: number): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (processExists(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return !processExists(pid);
}

test('a process group in the registry whose attempt is no longer held is killed and forgotten; held ones are left alone', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'titan-janitor-'));
  const registry = new PidRegistry(path.join(dir, 'pids.json'));
  t.after(async () => {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });
  const orphan = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  const kept = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  t.after(() => {
    orphan.kill('SIGKILL');
    kept.kill('SIGKILL');
  });
  assert.ok(orphan.pid !== undefined && kept.pid !== undefined);
  await registry.add({ pid: orphan.pid, pgid: orphan.pid, jobId: 'gone', attempt: 1, startedAt: Date.now() });
  await registry.add({ pid: kept.pid, pgid: kept.pid, jobId: 'held', attempt: 2, startedAt: Date.now() });
  const janitor = new WorkerJanitor(() => [{ jobId: 'held', attempt: 2, process: null, deadline: null, running: true }], registry, pino({ level: 'silent' }));
  janitor.sweep(Date.now());
  assert.ok(await waitGone(orphan.pid), 'the orphan still runs');
  assert.ok(processExists(kept.pid));
  assert.deepEqual(
    registry.entries().map((e) => e.jobId),
    ['held'],
  );
});

test('an attempt past its deadline is killed with SIGKILL', () => {
  const signals: string[] = [];
  const job: RunningJob = {
    jobId: 'slow',
    attempt: 1,
    pid: 1234,
    spawned: Promise.resolve(null),
    done: new Promise(() => undefined),
    kill: (signal) => void signals.push(signal ?? 'SIGTERM'),
  };
  const registry = new PidRegistry(path.join(tmpdir(), `titan-janitor-none-${process.pid}.json`));
  const janitor = new WorkerJanitor(() => [{ jobId: 'slow', attempt: 1, process: job, deadline: 1000, running: true }], registry, pino({ level: 'silent' }));
  janitor.sweep(999);
  assert.deepEqual(signals, []);
  janitor.sweep(1001);
  assert.deepEqual(signals, ['SIGKILL']);
});
