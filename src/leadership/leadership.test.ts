import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test, type TestContext } from 'node:test';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { Job } from '../core/job.js';
import { PostgresStore } from '../store/postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../store/postgres/pg-test-schema.js';
import { Leadership } from './leadership.js';
import { readLease } from './pg-lease.js';

const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
after(async () => {
  await schemas.dropAll();
  await admin.end();
});

// Long enough that a loaded CI machine does not miss a renewal; the waits below are bounded by PATIENCE_MS.
const TTL_MS = 3000;
const RETRY_MS = 50;
/** How long a test waits for something that must happen; bounds every wait, asserts no timing. */
const PATIENCE_MS = 20_000;

interface Master {
  readonly name: string;
  readonly leadership: Leadership;
  readonly store: PostgresStore;
  readonly elected: number[];
  readonly lost: string[];
}

async function master(t: TestContext, schema: string, name: string): Promise<Master> {
  const applicationName = `titan-${name}-${randomBytes(3).toString('hex')}`;
  const store = await PostgresStore.open(TEST_PG_URL, { schema, max: 2, applicationName });
  const elected: number[] = [];
  const lost: string[] = [];
  const leadership = new Leadership(
    TEST_PG_URL,
    { schema, ttlMs: TTL_MS, retryEveryMs: RETRY_MS, applicationName },
    {
      onElected: (epoch) => {
        store.fence(epoch);
        elected.push(epoch);
      },
      onLost: (reason) => lost.push(reason),
    },
  );
  t.after(async () => {
    await leadership.stop();
    await store.close();
  });
  return { name: applicationName, leadership, store, elected, lost };
}

async function waitFor(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + PATIENCE_MS;
  while (!(await ready())) {
    if (Date.now() > until) assert.fail(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

function submission(
  id: string,
  seq: number,
): { job: Job; event: { jobId: string; at: number; from: null; to: 'queued'; attempt: number; workerId: null; detail: null } } {
  const job: Job = {
    id,
    seq,
    state: 'queued',
    attempt: 0,
    workerId: null,
    submittedAt: 100,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    signal: null,
    reason: null,
    notBefore: null,
    pinnedWorker: null,
    crashes: 0,
    attemptBase: 0,
    serviceReady: false,
    spec: { name: id, run: { kind: 'command', command: 'true' }, args: [], env: {}, requirement: ['GENERAL'], priority: 0, retries: 0, timeoutSeconds: 0 },
  };
  return { job, event: { jobId: id, at: 100, from: null, to: 'queued', attempt: 0, workerId: null, detail: null } };
}

const fenced = (err: unknown): boolean => err instanceof TitanError && err.code === ErrorCode.FENCED;

void describe('leadership on a PostgreSQL lease', () => {
  void test('of two contenders exactly one leads, and keeps leading while it renews', async (t) => {
    const schema = await schemas.create('lease');
    const a = await master(t, schema, 'a');
    const b = await master(t, schema, 'b');
    a.leadership.start();
    b.leadership.start();
    await waitFor('a leader', () => a.elected.length + b.elected.length > 0);
    // Past the first lease's expiry: only renewals can have kept it, and the standby kept trying.
    await sleep(2 * TTL_MS);
    const leaders = [a, b].filter((m) => m.leadership.epoch !== null);
    assert.equal(leaders.length, 1, 'exactly one leads');
    const [leader] = leaders;
    assert.deepEqual([...a.elected, ...b.elected], [leader!.leadership.epoch], 'one election, no takeover');
    assert.deepEqual([...a.lost, ...b.lost], []);
    assert.deepEqual(await readLease(leader!.store.pool), { holder: leader!.leadership.holder, epoch: leader!.leadership.epoch, live: true });
    const standby = leader === a ? b : a;
    assert.deepEqual(standby.leadership.lease, leader!.leadership.lease, 'the standby knows who leads, to send clients there');
  });

  void test('a leader stopped with SIGSTOP past its lease is replaced with a higher epoch, and on SIGCONT its write is refused and it steps down', async (t) => {
    const schema = await schemas.create('sigstop');
    const child = spawn(process.execPath, [join(import.meta.dirname, 'lease-holder-child.js')], {
      env: { ...process.env, TITAN_LEASE_URL: TEST_PG_URL, TITAN_LEASE_SCHEMA: schema, TITAN_LEASE_TTL_MS: String(TTL_MS) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.after(() => stopChild(child));
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
    child.stderr.on('data', (chunk: Buffer) => lines.push(`stderr: ${chunk.toString()}`));
    await waitFor('the child to lead', () => lines.some((l) => l.startsWith('elected ')));
    const oldEpoch = Number(lines.find((l) => l.startsWith('elected '))!.split(' ')[1]);
    const standby = await master(t, schema, 'standby');
    standby.leadership.start();

    process.kill(child.pid!, 'SIGSTOP');
    await waitFor('the standby to take over', () => standby.elected.length > 0);
    const newEpoch = standby.elected[0]!;
    assert.ok(newEpoch > oldEpoch, `epoch ${newEpoch} is above the stopped leader's ${oldEpoch}`);
    await standby.store.commitTick({ writes: [submission('by-new-leader', 1)] });

    process.kill(child.pid!, 'SIGCONT');
    child.stdin.write('write by-old-leader 2\n');
    await waitFor("the old leader's write to be answered", () => lines.some((l) => l.startsWith('write ')));
    assert.deepEqual(
      lines.filter((l) => l.startsWith('write ')),
      [`write ${ErrorCode.FENCED}`],
      lines.join('\n'),
    );
    await waitFor('the old leader to step down', () => lines.some((l) => l.startsWith('lost ')));
    assert.equal(await standby.store.getJob('by-old-leader'), undefined, 'nothing of the deposed leader landed');
    assert.equal((await standby.store.getJob('by-new-leader'))?.id, 'by-new-leader');
    assert.equal(standby.leadership.epoch, newEpoch, 'the new leader still leads');
  });

  void test('a leader SIGKILLed is replaced as soon as the server ends its session, long before its lease would run out', async (t) => {
    const schema = await schemas.create('sigkill');
    const child = spawn(process.execPath, [join(import.meta.dirname, 'lease-holder-child.js')], {
      // An hour's lease: the test gives up long before it could expire.
      env: { ...process.env, TITAN_LEASE_URL: TEST_PG_URL, TITAN_LEASE_SCHEMA: schema, TITAN_LEASE_TTL_MS: '3600000' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.after(() => stopChild(child));
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
    await waitFor('the child to lead', () => lines.some((l) => l.startsWith('elected ')));
    const standby = await master(t, schema, 'standby');
    standby.leadership.start();
    await waitFor('the standby to name the leader', () => standby.leadership.lease.live);
    assert.deepEqual(standby.elected, [], 'a live holder is not replaced');

    child.kill('SIGKILL');
    await waitFor('the standby to take over', () => standby.elected.length > 0);
    assert.equal(standby.elected[0], 2, 'the next epoch');
  });

  void test("terminating the leader's database sessions makes it step down at once, and another leads", async (t) => {
    const schema = await schemas.create('terminate');
    const a = await master(t, schema, 'a');
    a.leadership.start();
    await waitFor('a to lead', () => a.elected.length > 0);
    const b = await master(t, schema, 'b');
    b.leadership.start();

    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [a.name]);
    assert.ok((killed.rowCount ?? 0) > 0, 'a had sessions to terminate');
    await waitFor('a to report the loss', () => a.lost.length > 0);
    assert.match(a.lost[0]!, /connection to PostgreSQL that holds the lease was lost|renewing the lease failed/);
    assert.equal(a.leadership.epoch, null, 'a no longer claims to lead');
    await waitFor('b to lead', () => b.elected.length > 0);
    assert.ok(b.elected[0]! > a.elected[0]!, 'b leads under a higher epoch');
    await assert.rejects(a.store.commitTick({ writes: [submission('by-a', 1)] }), fenced);
    assert.equal(await b.store.getJob('by-a'), undefined);
    await b.store.commitTick({ writes: [submission('by-b', 1)] });
  });

  void test('a leader that steps down ends its lease, so a standby takes over without waiting for it to expire', async (t) => {
    const schema = await schemas.create('stepdown');
    const a = await master(t, schema, 'a');
    a.leadership.start();
    await waitFor('a to lead', () => a.elected.length > 0);
    await a.leadership.stop();
    assert.equal(a.leadership.epoch, null);
    assert.deepEqual(await readLease(a.store.pool), { holder: a.leadership.holder, epoch: a.elected[0], live: false }, 'the lease ended with the step-down');
    const b = await master(t, schema, 'b');
    b.leadership.start();
    await waitFor('b to lead', () => b.elected.length > 0);
    assert.equal(b.elected[0], a.elected[0]! + 1);
  });
});

async function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  process.kill(child.pid!, 'SIGCONT');
  child.kill('SIGKILL');
  await once(child, 'exit');
}
