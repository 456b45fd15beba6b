import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, TOKEN, until } from './harness.js';
import { deadAddress, startDeposedLeader, startSlammer, startStandby } from './standby-fixtures.js';
import { OP, v1 } from './v1-client.js';
import { TitanClient } from '../src/sdk/client.js';
import { TitanError } from '../src/common/errors.js';
import { Opcode } from '../src/protocol/opcodes.js';
import { StandbyHttp } from '../src/master/standby/standby-http.js';
import type { LeaderView } from '../src/master/standby/leader-view.js';

describe('finding the leader: a standby responder in front of a real master', () => {
  const cluster = new Cluster();
  let standby: Awaited<ReturnType<typeof startStandby>>;
  const leader = (): string => `127.0.0.1:${cluster.port}`;
  const clients: TitanClient[] = [];
  const clientOf = (masters: readonly string[], failoverTimeoutMs?: number): TitanClient => {
    const client = new TitanClient({ masters, token: TOKEN, ...(failoverTimeoutMs !== undefined ? { failoverTimeoutMs } : {}) });
    clients.push(client);
    return client;
  };

  before(async () => {
    await cluster.startMaster();
    standby = await startStandby(() => ({ tcp: leader(), http: null, epoch: 7 }));
    // The only worker: every job of this suite runs on it, so each one shows it found the leader.
    await cluster.startWorker('follower', { args: ['--master', `${standby.address},${leader()}`] });
  });
  after(async () => {
    for (const client of clients) client.close();
    await standby.close();
    await cluster.close();
  });

  test('a worker given --master <standby>,<leader> registers with the leader and runs jobs, which get the list as TITAN_MASTER', async () => {
    const client = await cluster.client();
    const { jobId } = await client.submit({ command: "sh -c 'echo $TITAN_MASTER'" });
    const done = await client.wait(jobId, { timeout: 30_000 });
    assert.equal(done.state, 'succeeded');
    assert.equal(done.workerId, 'follower');
    // Its jobs get the whole list, so an SDK inside a job follows the leader too.
    assert.deepEqual(
      (await client.logs(jobId)).map((l) => l.line),
      [`${standby.address},${leader()}`],
    );
  });

  test('a worker whose registration, or later its heartbeat, a deposed leader refuses registers with the leader it names', async () => {
    for (const [id, accepts] of [
      ['refused-at-register', []],
      ['refused-at-heartbeat', [Opcode.WORKER_REGISTER]],
    ] as const) {
      const deposed = await startDeposedLeader(leader(), accepts);
      try {
        await cluster.startWorker(id, { args: ['--master', deposed.address] });
        if (accepts.length > 0) assert.ok(deposed.refusedHeartbeats() >= 1, 'it was registered with the deposed leader first');
      } finally {
        await cluster.killWorker(id);
        await deposed.close();
      }
    }
  });

  test('the CLI with --master <standby>,<leader>, and with the standby alone, submits a job and gets its result', async () => {
    for (const masters of [`${standby.address},${leader()}`, standby.address]) {
      const result = await cluster.cli(['run', '--wait', '--master', masters, '--', 'echo', 'found the leader']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^found the leader$/m);
    }
  });

  test('the TypeScript SDK given [standby, leader] submits, waits and reads the output', async () => {
    const client = clientOf([standby.address, leader()]);
    const { jobId } = await client.submit({ command: 'echo from the sdk' });
    assert.equal((await client.wait(jobId, { timeout: 30_000 })).state, 'succeeded');
    assert.deepEqual(
      (await client.logs(jobId)).map((l) => l.line),
      ['from the sdk'],
    );
    const viaStandbyOnly = await TitanClient.connect({ masters: standby.address, token: TOKEN });
    clients.push(viaStandbyOnly);
    assert.equal((await viaStandbyOnly.status(jobId)).state, 'succeeded');
  });

  test('a first address that closes every connection at once is passed over', async () => {
    const slammer = await startSlammer();
    try {
      const client = clientOf([slammer.address, leader()]);
      const { jobId } = await client.submit({ command: 'true' });
      assert.equal((await client.wait(jobId, { timeout: 30_000 })).state, 'succeeded');
      assert.ok(slammer.connections() >= 1);
    } finally {
      await slammer.close();
    }
  });

  test('when every address is dead the error names each one, after the failover time', async () => {
    const dead = [await deadAddress(), await deadAddress()];
    const client = clientOf(dead, 600);
    const started = Date.now();
    const err = await client.stats().then(
      () => assert.fail('stats() succeeded with no master'),
      (e: unknown) => e as TitanError,
    );
    assert.equal(err.code, 'E_CONNECTION_CLOSED');
    for (const address of dead) assert.ok(err.message.includes(address), err.message);
    assert.ok(Date.now() - started >= 500, 'it tried again for the failover time before giving up');
    // One address is tried once, as before master lists: the CLI fails at once, exit 3.
    const single = await cluster.cli(['jobs', '--master', dead[0]!]);
    assert.equal(single.code, 3);
    assert.match(single.stderr, new RegExp(dead[0]!));
  });

  test('a submit refused with E_NOT_LEADER after AUTH is followed to the named leader and runs exactly once', async () => {
    const deposed = await startDeposedLeader(leader());
    try {
      const client = clientOf([deposed.address, leader()]);
      const name = `exactly-once-${Date.now()}`;
      const { jobId } = await client.submit({ command: 'echo once', name });
      assert.equal((await client.wait(jobId, { timeout: 30_000 })).state, 'succeeded');
      assert.equal(deposed.refusedSubmits(), 1);
      const observer = await cluster.client();
      assert.deepEqual(
        (await observer.list({ limit: 1000 })).filter((j) => j.name === name).map((j) => j.id),
        [jobId],
      );
    } finally {
      await deposed.close();
    }
  });

  test('a protocol v1 client at a standby gets v1 ERROR naming the leader', async () => {
    const port = Number(standby.address.split(':')[1]);
    const reply = await v1(port, OP.STATS, '');
    assert.equal(reply.opcode, OP.ERROR);
    assert.match(reply.text, new RegExp(`standby.*the leader is ${leader()}`));
  });
});

describe("a standby's HTTP port", () => {
  let view: LeaderView = { tcp: '10.0.0.2:9090', http: '10.0.0.2:8080', epoch: 3 };
  const http = new StandbyHttp(() => view);
  let base = '';
  before(async () => {
    base = `http://127.0.0.1:${await http.listen('127.0.0.1', 0)}`;
  });
  after(() => http.close());

  test('GET /healthz says standby, who leads and the epoch', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { role: 'standby', leader: { tcp: '10.0.0.2:9090', http: '10.0.0.2:8080' }, epoch: 3 });
  });

  test("every other request is redirected (307) to the same path on the leader's HTTP address", async () => {
    const res = await fetch(`${base}/api/v1/jobs?limit=5`, { method: 'POST', body: '{}', redirect: 'manual' });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get('location'), 'http://10.0.0.2:8080/api/v1/jobs?limit=5');
    view = { ...view, http: 'https://leader.example:8443/' };
    const secure = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(secure.headers.get('location'), 'https://leader.example:8443/');
  });

  test('without a leader HTTP address it answers 503 saying where the leader is, or that none is known', async () => {
    view = { tcp: '10.0.0.2:9090', http: null, epoch: 4 };
    const known = await fetch(`${base}/api/v1/jobs`);
    assert.equal(known.status, 503);
    const body = (await known.json()) as { code: string; error: string; leader: unknown };
    assert.equal(body.code, 'E_NOT_LEADER');
    assert.match(body.error, /the leader is 10\.0\.0\.2:9090/);
    view = { tcp: null, http: null, epoch: 4 };
    const unknown = (await (await fetch(`${base}/api/v1/jobs`)).json()) as { error: string };
    assert.match(unknown.error, /no leader is known/);
  });
});

describe('waiting clients across a master restart', () => {
  const cluster = new Cluster();
  let current: string | null = null;
  let standby: Awaited<ReturnType<typeof startStandby>>;
  before(async () => {
    await cluster.startMaster();
    current = `127.0.0.1:${cluster.port}`;
    standby = await startStandby(() => ({ tcp: current, http: null, epoch: 1 }));
    await cluster.startWorker('survivor', { args: ['--master', `${standby.address},${current}`] });
  });
  after(async () => {
    await standby.close();
    await cluster.close();
  });

  /** Kills the master and starts it again on the same data dir and a new port; the standby names the new one. */
  async function restartMaster(): Promise<void> {
    const old = current;
    current = null; // between the two leaders the standby knows none
    await cluster.killMaster();
    cluster.port = 0;
    cluster.httpPort = 0;
    await cluster.startMaster();
    current = `127.0.0.1:${cluster.port}`;
    assert.notEqual(current, old);
  }

  /** The job is under way once its first line is stored: the master is killed mid-run. */
  async function untilPrinted(client: TitanClient, jobId: string): Promise<void> {
    await until('the job to print', async () => (await client.logs(jobId)).length > 0);
  }

  test('wait() whose master is killed and started again on a new port still gets the result, through the standby', async () => {
    const client = new TitanClient({ masters: [current!, standby.address], token: TOKEN });
    try {
      const { jobId } = await client.submit({ command: "sh -c 'echo before the restart; sleep 2'" });
      await untilPrinted(client, jobId);
      const waiting = client.wait(jobId, { timeout: 60_000 });
      await restartMaster();
      const done = await waiting;
      assert.equal(done.state, 'succeeded');
      assert.equal(done.attempt, 1, 'the worker kept the job running and reported it to the new master');
      assert.deepEqual(
        (await client.logs(jobId)).map((l) => l.line),
        ['before the restart'],
      );
    } finally {
      client.close();
    }
  });

  test('`titan run --wait` goes on following the output after a restart, each line once, and exits with the job', async () => {
    const masters = `${current!},${standby.address}`;
    const run = cluster.cli(['run', '--wait', '--master', masters, '--name', 'across', '--', 'sh', '-c', 'echo one; sleep 6; echo two; exit 3']);
    const observer = new TitanClient({ masters, token: TOKEN });
    try {
      const job = await until('the job to start', async () => (await observer.list()).find((j) => j.name === 'across'));
      await untilPrinted(observer, job.id);
      await restartMaster();
      const result = await run;
      assert.equal(result.code, 1, result.stderr);
      assert.deepEqual(result.stdout.trim().split('\n'), ['one', 'two']);
      assert.match(result.stderr, /exit 3/);
    } finally {
      observer.close();
    }
  });
});
