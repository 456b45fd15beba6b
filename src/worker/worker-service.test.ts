/** The worker's side of services, against a fake master speaking TITAN_PROTO over loopback TCP. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '../common/log.js';
import type { JobDispatch, ServicePolicy } from '../protocol/messages.js';
import { Opcode } from '../protocol/opcodes.js';
import { Peer } from '../protocol/peer.js';
import { within } from '../protocol/test-helpers.js';
import { tcpTransport } from '../protocol/transport.js';
import { Worker } from './worker.js';

const SERVER = `
import http from 'node:http';
http.createServer((req, res) => {
  if (req.url === '/crash') { res.end('bye', () => process.exit(1)); return; }
  res.end(String(process.pid));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface Received {
  readonly opcode: number;
  readonly body: Record<string, unknown>;
}

/** Answers what a master answers and records every message a worker sends. */
class FakeMaster {
  readonly received: Received[] = [];
  readonly peers: Peer[] = [];
  readonly #waiters = new Set<{ match: (m: Received) => boolean; resolve: (m: Received) => void }>();
  readonly #server = net.createServer((socket) => {
    const peer = new Peer(tcpTransport(socket));
    this.peers.push(peer);
    peer.onRequest((msg, reply) => {
      this.#record({ opcode: msg.opcode, body: msg.body as Record<string, unknown> });
      reply.ok({ ok: true, heartbeatIntervalMs: 60_000 });
    });
  });
  port = 0;

  async start(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  next(opcode: number, match: (body: Record<string, unknown>) => boolean = () => true, ms = 10_000): Promise<Record<string, unknown>> {
    const matches = (m: Received): boolean => m.opcode === opcode && match(m.body);
    const seen = this.received.find(matches);
    if (seen !== undefined) return Promise.resolve(seen.body);
    const waiting = new Promise<Received>((resolve) => this.#waiters.add({ match: matches, resolve }));
    return within(waiting, ms, `opcode ${opcode}`).then((m) => m.body);
  }

  count(opcode: number): number {
    return this.received.filter((m) => m.opcode === opcode).length;
  }

  /** Sends to the worker's current connection. */
  request(opcode: number, body: unknown): Promise<unknown> {
    const peer = this.peers.at(-1);
    if (peer === undefined) throw new Error('no worker connected');
    return peer.request(opcode, body);
  }

  /** Drops every connection, as a master that restarts does. */
  drop(): void {
    for (const peer of this.peers.splice(0)) peer.close();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #record(m: Received): void {
    this.received.push(m);
    for (const waiter of this.#waiters) {
      if (!waiter.match(m)) continue;
      this.#waiters.delete(waiter);
      waiter.resolve(m);
    }
  }
}

let root = '';
let script = '';
const master = new FakeMaster();
let worker: Worker;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'titan-worker-service-'));
  await chmod(root, 0o711); // a root worker's jobs (titan-job) pass through and read the script
  script = path.join(root, 'server.mjs');
  await writeFile(script, SERVER);
  await master.start();
  worker = new Worker(
    {
      masterHost: '127.0.0.1',
      masterPort: master.port,
      token: 't',
      workDir: path.join(root, 'work'),
      tags: ['GENERAL'],
      slots: 4,
      workerId: 'w1',
      drainGraceMs: 5_000,
      killGraceMs: 2_000,
      reconnectMinMs: 10,
      reconnectMaxMs: 50,
    },
    silentLogger(),
  );
  await worker.start();
  await master.next(Opcode.WORKER_REGISTER);
});
after(async () => {
  await worker.close();
  await master.close();
  await rm(root, { recursive: true, force: true });
});

function dispatch(jobId: string, policy: Partial<ServicePolicy> = {}): JobDispatch {
  const service: ServicePolicy = { port: null, restart: 'always', maxRestarts: 5, windowSeconds: 60, ...policy };
  return {
    jobId,
    attempt: 1,
    name: jobId,
    run: { kind: 'command', command: `exec "${process.execPath}" "${script}"` },
    args: [],
    env: {},
    token: 'job-token',
    timeoutSeconds: 0,
    service,
  };
}

async function registeredPids(): Promise<number[]> {
  const entries = JSON.parse(await readFile(path.join(root, 'work', 'pids.json'), 'utf8')) as Array<{ pid: number }>;
  return entries.map((e) => e.pid);
}

test('a dispatched service reports started and ready, is restarted with a report after a crash, and a kill ends it for good', async () => {
  await master.request(Opcode.JOB_DISPATCH, dispatch('web'));
  const started = await master.next(Opcode.JOB_STARTED, (b) => b.jobId === 'web');
  const ready = await master.next(Opcode.SERVICE_READY, (b) => b.jobId === 'web');
  assert.equal(ready.pid, started.pid);
  assert.equal(ready.attempt, 1);
  const port = ready.port as number;
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), String(started.pid));

  await fetch(`http://127.0.0.1:${port}/crash`).then((r) => r.text());
  const restarted = await master.next(Opcode.SERVICE_RESTARTED, (b) => b.jobId === 'web');
  assert.deepEqual({ ...restarted, pid: 0 }, { jobId: 'web', attempt: 1, restarts: 1, pid: 0, exitCode: 1, signal: null });
  const again = await master.next(Opcode.SERVICE_READY, (b) => b.jobId === 'web' && b.pid === restarted.pid);
  assert.equal(again.port, port, 'the same port across restarts');
  assert.equal(master.count(Opcode.JOB_STARTED), 1, 'JOB_STARTED only for the first process');
  assert.equal(master.count(Opcode.JOB_FINISHED), 0);
  assert.ok((await registeredPids()).includes(restarted.pid as number), 'the restarted process is in the pid registry');

  // A master that restarted learns from the registration where the service is.
  master.drop();
  const registration = await master.next(Opcode.WORKER_REGISTER, (b) => (b.holding as unknown[]).length > 0);
  assert.deepEqual(registration.holding, [{ jobId: 'web', attempt: 1, port, ready: true }]);

  await master.request(Opcode.JOB_KILL, { jobId: 'web', attempt: 1, reason: 'stopped by request' });
  const finished = await master.next(Opcode.JOB_FINISHED, (b) => b.jobId === 'web');
  assert.equal(finished.stopped, true);
  assert.equal(finished.error, undefined);
  assert.equal(master.count(Opcode.SERVICE_RESTARTED), 1, 'not restarted after the kill');
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
});

test('a draining worker stops its services at once and reports them stopped, without waiting out the grace period', async () => {
  const other = new FakeMaster();
  await other.start();
  const draining = new Worker(
    {
      masterHost: '127.0.0.1',
      masterPort: other.port,
      token: 't',
      workDir: path.join(root, 'work2'),
      tags: ['GENERAL'],
      slots: 4,
      workerId: 'w2',
      drainGraceMs: 60_000,
      killGraceMs: 2_000,
      reconnectMinMs: 10,
      reconnectMaxMs: 50,
    },
    silentLogger(),
  );
  try {
    await draining.start();
    await other.next(Opcode.WORKER_REGISTER);
    await other.request(Opcode.JOB_DISPATCH, dispatch('api'));
    const ready = await other.next(Opcode.SERVICE_READY, (b) => b.jobId === 'api');
    await within(draining.drain(), 10_000, 'drain');
    assert.ok(other.count(Opcode.WORKER_DRAINING) === 1);
    const finished = await other.next(Opcode.JOB_FINISHED, (b) => b.jobId === 'api');
    assert.equal(finished.stopped, true);
    await assert.rejects(fetch(`http://127.0.0.1:${String(ready.port)}/`));
  } finally {
    await draining.close();
    await other.close();
  }
});
