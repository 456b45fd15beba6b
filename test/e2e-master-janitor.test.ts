import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, TOKEN, until } from './harness.js';
import { connectPeer } from '../src/sdk/connect.js';
import { Opcode } from '../src/protocol/opcodes.js';

/**
 * The master's janitor seen from the wire: a scripted worker (a real connection, speaking the
 * worker protocol) that takes a job and then misbehaves: it never ends it past its timeout, and
 * later stops listing it in its heartbeats. The master kills, re-queues and records both.
 */
test("the master's janitor reaps a job its worker lets run past its timeout, and one its worker stopped reporting", async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster(['--janitor-grace', '300']);
  const { peer } = await connectPeer({ host: '127.0.0.1', port: cluster.port, token: TOKEN, role: 'worker' });
  t.after(() => peer.close());
  const dispatched: Array<{ jobId: string; attempt: number }> = [];
  const kills: Array<{ jobId: string; attempt: number; reason: string }> = [];
  peer.onRequest((msg, reply) => {
    const body = msg.body as { jobId: string; attempt: number; reason?: string };
    if (msg.opcode === Opcode.JOB_DISPATCH) {
      dispatched.push({ jobId: body.jobId, attempt: body.attempt });
      peer.notify(Opcode.JOB_STARTED, { jobId: body.jobId, attempt: body.attempt, pid: 4242 });
    } else if (msg.opcode === Opcode.JOB_KILL) {
      kills.push({ jobId: body.jobId, attempt: body.attempt, reason: body.reason ?? '' });
    }
    reply.ok({ ok: true });
  });
  await peer.request(Opcode.WORKER_REGISTER, {
    workerId: 'scripted',
    host: 'localhost',
    tags: [],
    slots: 1,
    resources: { cpus: 1, memoryMb: 512, gpus: 0 },
    holding: [],
    pid: 1,
    drivers: ['process'],
  });
  // Attempt 1 is listed in every heartbeat but never finished; attempt 2 is never listed; and the
  // worker claims to hold an attempt of a job the master never gave it.
  let listAttempt = 1;
  const ghost = { jobId: 'ghost-job', attempt: 7 };
  const beat = setInterval(() => {
    const jobs = [...dispatched.filter((d) => d.attempt === listAttempt).map((d) => ({ jobId: d.jobId, attempt: d.attempt })), ghost];
    peer.notify(Opcode.WORKER_HEARTBEAT, { running: jobs.length, jobs, dispatches: dispatched.length });
  }, 100);
  t.after(() => clearInterval(beat));

  const client = await cluster.client();
  const { jobId } = await client.submit({ command: 'sleep 300', timeoutSeconds: 1, retries: 1 });
  await until('the janitor to reap attempt 1 past its timeout', async () => kills.some((k) => k.attempt === 1), 10_000);
  assert.match(kills.find((k) => k.attempt === 1)?.reason ?? '', /^janitor: ran \d+ s, past its timeout of 1 s/);
  listAttempt = 0; // from now on the worker "forgets" what it runs
  await until('attempt 2 to be dispatched', async () => dispatched.some((d) => d.attempt === 2), 10_000);
  await until('the janitor to notice attempt 2 is unreported', async () => kills.some((k) => k.attempt === 2), 10_000);
  assert.match(kills.find((k) => k.attempt === 2)?.reason ?? '', /^janitor: worker scripted stopped reporting the job/);
  const history = await client.history(jobId);
  const details = history.events.map((e) => e.detail ?? '');
  assert.ok(
    details.some((d) => /^attempt 1 failed: janitor: ran \d+ s, past its timeout of 1 s/.test(d)),
    details.join('\n'),
  );
  assert.ok(
    details.some((d) => /^janitor: worker scripted stopped reporting the job/.test(d)),
    details.join('\n'),
  );
  assert.ok(
    kills.some((k) => k.jobId === ghost.jobId && k.attempt === ghost.attempt),
    'the attempt the master never placed is killed',
  );

  // The README's promise: each action is a log line with event "janitor" in the master's log.
  type LogLine = { event?: string; action?: string; jobId?: string; attempt?: number; workerId?: string; reason?: string; msg?: string };
  const janitorLines = (): LogLine[] =>
    cluster.masterLog
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.event === 'janitor');
  const lines = await until('the three janitor actions in the master log', () => {
    const found = janitorLines();
    return Promise.resolve(['reap-overdue', 'reap-unreported', 'kill-stale'].every((a) => found.some((l) => l.action === a)) && found);
  });
  const overdue = lines.find((l) => l.action === 'reap-overdue');
  assert.deepEqual({ jobId: overdue?.jobId, attempt: overdue?.attempt, workerId: overdue?.workerId }, { jobId, attempt: 1, workerId: 'scripted' });
  assert.match(overdue?.reason ?? '', /^janitor: ran \d+ s, past its timeout of 1 s/);
  const unreported = lines.find((l) => l.action === 'reap-unreported');
  assert.deepEqual({ jobId: unreported?.jobId, attempt: unreported?.attempt }, { jobId, attempt: 2 });
  const stale = lines.find((l) => l.action === 'kill-stale');
  assert.deepEqual({ jobId: stale?.jobId, attempt: stale?.attempt, workerId: stale?.workerId }, { jobId: 'ghost-job', attempt: 7, workerId: 'scripted' });
  for (const line of lines) assert.ok((line.msg ?? '').startsWith('janitor '), `a human message too: ${JSON.stringify(line)}`);
  await client.cancel(jobId).catch(() => undefined);
});
