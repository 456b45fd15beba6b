import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster, until } from './harness.js';
import { processExists } from '../src/worker/pid-registry.js';

describe('auto-scaling on a real cluster', () => {
  test('a burst of GPU jobs with no GPU worker makes the spawnable host start one; the jobs run on it, and it is retired when idle', async (t) => {
    const cluster = new Cluster();
    t.after(() => cluster.close());
    await cluster.startMaster(['--scale-window', '1', '--scale-idle', '2']);
    await cluster.startWorker('cpu', { slots: 2 });
    await cluster.startWorker('host', { slots: 1, args: ['--spawnable', '--spawn-tags', 'GPU', '--spawn-max', '1', '--spawn-slots', '4'] });
    const client = await cluster.client();

    const jobs = Array.from({ length: 6 }, (_, i) => ({ name: `train-${i}`, command: 'sleep 0.3', requirement: ['GENERAL', 'GPU'] }));
    const { jobIds } = await client.submitMany(jobs);
    const status = await client.status(jobIds[0] ?? '');
    assert.equal(status.state, 'queued', 'no GPU worker yet: the jobs wait');
    assert.match(status.reason ?? '', /no live worker has them.*; spawnable host host is asked for a worker if it still waits after 1 s/);

    const spawned = await until('a spawned GPU worker to register', async () => (await client.stats()).workers.find((w) => w.spawnedBy === 'host' && w.health === 'healthy'), 20_000);
    assert.deepEqual(spawned.tags, ['GPU'], 'the tags the pool needs');
    assert.equal(spawned.slots, 4);
    assert.ok(spawned.pid !== null && processExists(spawned.pid), 'a real worker process');

    for (const id of jobIds) {
      const done = await client.wait(id, { timeout: 30_000 });
      assert.equal(done.state, 'succeeded', `${id}: ${done.reason ?? ''}`);
      assert.equal(done.workerId, spawned.id, 'GPU work ran on the spawned worker');
    }
    assert.equal((await client.stats()).workers.filter((w) => w.spawnedBy !== null).length, 1, 'one worker was enough (--spawn-max 1)');

    await until('the idle spawned worker to be retired', async () => !(await client.stats()).workers.some((w) => w.id === spawned.id), 20_000);
    const pid = spawned.pid;
    await until('its process to exit', () => Promise.resolve(!processExists(pid)), 15_000);
    const workers = (await client.stats()).workers.map((w) => w.id).sort();
    assert.deepEqual(workers, ['cpu', 'host'], 'the static workers stay');
  });

  test('with --scale-webhook the master posts the pool and the shortfall instead of spawning', async (t) => {
    const bodies: unknown[] = [];
    const server: Server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        bodies.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(text) as unknown });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    const cluster = new Cluster();
    t.after(() => cluster.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/provision`;
    await cluster.startMaster(['--scale-window', '0.5', '--scale-webhook', url]);
    await cluster.startWorker('host', { args: ['--spawnable', '--spawn-tags', 'GPU'] });
    const client = await cluster.client();
    await client.submitMany([1, 2, 3].map((i) => ({ name: `g${i}`, command: 'true', requirement: ['GENERAL', 'GPU'] })));
    await until('the webhook to be called', () => Promise.resolve(bodies.length > 0), 15_000);
    assert.deepEqual(bodies[0], {
      method: 'POST',
      type: 'application/json',
      body: { pool: 'GPU', requirement: ['GENERAL', 'GPU'], shortfall: 3, queued: 3, freeSlots: 0, at: (bodies[0] as { body: { at: string } }).body.at },
    });
    assert.equal((await client.stats()).workers.length, 1, 'no host was asked to spawn');
  });

  test('spawn flags without --spawnable are refused naming the flag', async () => {
    const cluster = new Cluster();
    after(() => cluster.close());
    const bad = await cluster.cli(['worker', '--spawn-max', '2']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--spawn-max only applies with --spawnable/);
  });
});
