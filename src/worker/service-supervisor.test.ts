import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import type { JobDispatch, ServicePolicy } from '../protocol/messages.js';
import { Executor } from './executor.js';
import { freePort } from './free-port.js';
import type { RunnerContext } from './job-runner.js';
import { readProcStat } from './pid-registry.js';
import { ServiceSupervisor, type ServiceResult } from './service-supervisor.js';

/** A small HTTP service: answers its pid, exits on /crash (1) or /exit0 (0), /health is 503 for the first N calls. */
const SERVER = `
import http from 'node:http';
const port = Number(process.env.PORT);
const unhealthyFor = Number(process.argv[2] ?? 0);
let health = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/health') { health += 1; res.statusCode = health > unhealthyFor ? 200 : 503; res.end(); return; }
  if (req.url === '/crash') { res.end('bye', () => process.exit(1)); return; }
  if (req.url === '/exit0') { res.end('bye', () => process.exit(0)); return; }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, port, health }));
});
server.listen(port, '127.0.0.1', () => console.log('listening on ' + port));
`;

let root = '';
let script = '';
let seq = 0;
const executor = new Executor({ killGraceMs: 2000, lineFlushMs: 5 });

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'titan-service-'));
  script = path.join(root, 'server.mjs');
  await writeFile(script, SERVER);
});
after(async () => {
  await executor.close();
  await rm(root, { recursive: true, force: true });
});

type Event =
  | { type: 'spawned'; pid: number; restarts: number }
  | { type: 'ready'; port: number; pid: number }
  | { type: 'restarted'; restarts: number; pid: number; exitCode: number | null; signal: string | null }
  | { type: 'line'; line: string };

/** Records what a supervisor reports; tests await the event they expect with a deadline. */
class Recorder {
  readonly events: Event[] = [];
  readonly #waiters = new Set<{ match: (e: Event) => boolean; resolve: (e: Event) => void }>();

  push(event: Event): void {
    this.events.push(event);
    for (const waiter of this.#waiters) {
      if (!waiter.match(event)) continue;
      this.#waiters.delete(waiter);
      waiter.resolve(event);
    }
  }

  of<T extends Event['type']>(type: T): Extract<Event, { type: T }>[] {
    return this.events.filter((e): e is Extract<Event, { type: T }> => e.type === type);
  }

  next<T extends Event['type']>(type: T, match: (e: Extract<Event, { type: T }>) => boolean = () => true, ms = 10_000): Promise<Extract<Event, { type: T }>> {
    const matches = (e: Event): e is Extract<Event, { type: T }> => e.type === type && match(e as Extract<Event, { type: T }>);
    const seen = this.events.find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { match: matches, resolve: (e: Event) => (clearTimeout(timer), resolve(e as Extract<Event, { type: T }>)) };
      const timer = setTimeout(
        () => (this.#waiters.delete(waiter), reject(new Error(`no ${type} event within ${ms} ms; saw ${JSON.stringify(this.events)}`))),
        ms,
      );
      this.#waiters.add(waiter);
    });
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function startService(t: TestContext, policy: Partial<ServicePolicy>, command = `"${process.execPath}" "${script}"`) {
  const jobId = `svc${++seq}`;
  const runner: RunnerContext = {
    workDir: root,
    masterHost: '127.0.0.1',
    masterPort: 1,
    workerId: 'w1',
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    executor,
    fetchArtifact: () => Promise.reject(new Error('no artifacts in this test')),
  };
  const full: ServicePolicy = { port: null, restart: 'always', maxRestarts: 5, windowSeconds: 60, ...policy };
  const job: JobDispatch = {
    jobId,
    attempt: 1,
    name: jobId,
    run: { kind: 'command', command },
    args: [],
    env: {},
    token: 'job-token',
    timeoutSeconds: 0,
    service: full,
  };
  const rec = new Recorder();
  const supervisor = new ServiceSupervisor({
    runner,
    job,
    policy: full,
    hooks: {
      onLines: (lines) => lines.forEach((l) => rec.push({ type: 'line', line: l.line })),
      onSpawned: (info, restarts) => rec.push({ type: 'spawned', pid: info.pid, restarts }),
      onReady: (port, pid) => rec.push({ type: 'ready', port, pid }),
      onRestarted: (restarts, pid, exitCode, signal) => rec.push({ type: 'restarted', restarts, pid, exitCode, signal }),
    },
  });
  t.after(async () => {
    supervisor.stop('SIGKILL');
    for (const { pid } of rec.of('spawned')) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await within(supervisor.done, 10_000, 'supervisor end');
  });
  supervisor.start();
  return { supervisor, rec };
}

async function get(port: number, urlPath = '/'): Promise<{ pid: number; port: number; health: number }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return (await res.json()) as { pid: number; port: number; health: number };
}

/** A zombie (exited, not yet reaped by its new parent) counts as gone. */
async function isAlive(pid: number): Promise<boolean> {
  return (await readProcStat(pid)) !== null;
}

test('a service gets a PORT, becomes ready on it, and its output flows as log lines', async (t) => {
  const { supervisor, rec } = startService(t, {});
  const ready = await rec.next('ready');
  assert.equal(ready.port, supervisor.port);
  assert.equal(supervisor.ready, true);
  assert.equal((await get(ready.port)).port, ready.port);
  await rec.next('line', (e) => e.line === `listening on ${ready.port}`);
});

test('a service with a fixed port runs on exactly that port', async (t) => {
  const port = await freePort();
  const { rec } = startService(t, { port });
  assert.equal((await rec.next('ready')).port, port);
  assert.equal((await get(port)).port, port);
});

test('a service that exits 1 is restarted on the same port and becomes ready again', async (t) => {
  const { supervisor, rec } = startService(t, { restart: 'always' });
  const first = await rec.next('ready');
  const firstServer = await get(first.port);
  await fetch(`http://127.0.0.1:${first.port}/crash`).then((r) => r.text());
  const restarted = await rec.next('restarted');
  assert.deepEqual({ ...restarted, pid: 0 }, { type: 'restarted', restarts: 1, pid: 0, exitCode: 1, signal: null });
  assert.notEqual(restarted.pid, first.pid);
  const again = await rec.next('ready', (e) => e.pid === restarted.pid);
  assert.equal(again.port, first.port);
  assert.notEqual((await get(again.port)).pid, firstServer.pid, 'a new process answers');
  assert.equal(supervisor.restarts, 1);
});

test('an on-failure service that exits 0 is not restarted and ends with its exit', async (t) => {
  const { supervisor, rec } = startService(t, { restart: 'on-failure' });
  const ready = await rec.next('ready');
  await fetch(`http://127.0.0.1:${ready.port}/exit0`).then((r) => r.text());
  const result = await within(supervisor.done, 10_000, 'service end');
  assert.equal(result.exitCode, 0);
  assert.equal(result.error, undefined);
  assert.equal(result.stopped, undefined);
  assert.equal(rec.of('restarted').length, 0);
  assert.equal(rec.of('spawned').length, 1);
});

test('a service crashing more than maxRestarts times within its window gives up with a crash-loop error', async (t) => {
  const { supervisor, rec } = startService(t, { restart: 'always', maxRestarts: 2, windowSeconds: 60 }, 'echo starting; exit 3');
  const result: ServiceResult = await within(supervisor.done, 10_000, 'crash loop');
  assert.equal(result.error, 'crash loop: 2 restarts within 60 s; see its logs');
  assert.equal(result.exitCode, 3);
  assert.deepEqual(
    rec.of('restarted').map((e) => [e.restarts, e.exitCode]),
    [
      [1, 3],
      [2, 3],
    ],
  );
  assert.equal(rec.of('spawned').length, 3);
  assert.equal(rec.of('ready').length, 0);
});

test('stop() kills the service and it is not restarted', async (t) => {
  const { supervisor, rec } = startService(t, { restart: 'always' });
  const ready = await rec.next('ready');
  const server = await get(ready.port);
  supervisor.stop();
  const result = await within(supervisor.done, 10_000, 'stop');
  assert.equal(result.stopped, true);
  assert.equal(result.error, undefined);
  assert.equal(result.signal, 'SIGTERM');
  assert.equal(await isAlive(ready.pid), false);
  assert.equal(await isAlive(server.pid), false, 'the whole process tree is gone');
  assert.equal(rec.of('spawned').length, 1);
  assert.equal(rec.of('restarted').length, 0);
  assert.equal(supervisor.ready, false);
});

test('an HTTP readiness path is honoured: the service is ready only once it answers 2xx there', async (t) => {
  const { rec } = startService(t, { readinessPath: '/health' }, `"${process.execPath}" "${script}" 2`);
  const ready = await rec.next('ready');
  // Two 503s from /health, then the 200 that made it ready.
  assert.equal((await get(ready.port)).health, 3);
});
