import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Cluster, until } from './harness.js';
import { processExists } from '../src/worker/pid-registry.js';
import { verifyWebhook } from '../src/security/webhook-signature.js';

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

    const spawned = await until(
      'a spawned GPU worker to register',
      async () => (await client.stats()).workers.find((w) => w.spawnedBy === 'host' && w.health === 'healthy'),
      20_000,
    );
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

  test('with --scale-webhook the master posts the pool and the shortfall instead of spawning, signed so a receiver can check it came from the master; a failed delivery comes again under the same id', async (t) => {
    const secret = randomBytes(32).toString('hex');
    const secretFile = join(mkdtempSync(join(tmpdir(), 'titan-hook-')), 'hook.secret');
    writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    t.after(() => rmSync(dirname(secretFile), { recursive: true, force: true }));
    const deliveries: Array<{ method: string | undefined; headers: IncomingHttpHeaders; raw: string }> = [];
    const server: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        deliveries.push({ method: req.method, headers: req.headers, raw });
        // The first delivery meets a receiver that is briefly down.
        res.statusCode = deliveries.length === 1 ? 503 : 200;
        res.end(deliveries.length === 1 ? 'unavailable' : 'ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const cluster = new Cluster();
    t.after(() => cluster.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/provision`;
    await cluster.startMaster(['--scale-window', '0.5', '--scale-webhook', url, '--scale-webhook-secret-file', secretFile]);
    await cluster.startWorker('host', { args: ['--spawnable', '--spawn-tags', 'GPU'] });
    const client = await cluster.client();
    await client.submitMany([1, 2, 3].map((i) => ({ name: `g${i}`, command: 'true', requirement: ['GENERAL', 'GPU'] })));
    const firstId = (): string => String(deliveries[0]?.headers['x-titan-delivery']);
    await until(
      'the failed first delivery to be delivered again, and a later window to ask anew',
      () =>
        Promise.resolve(
          deliveries.filter((d) => d.headers['x-titan-delivery'] === firstId()).length >= 2 &&
            new Set(deliveries.map((d) => d.headers['x-titan-delivery'])).size >= 2,
        ),
      20_000,
    );

    // The receiver's side, written from the documented scheme with node:crypto alone.
    const verifies = (headers: IncomingHttpHeaders, raw: string): boolean => {
      const timestamp = String(headers['x-titan-timestamp']);
      const delivery = String(headers['x-titan-delivery']);
      const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${delivery}.${raw}`).digest('hex')}`;
      const given = String(headers['x-titan-signature']);
      return (
        given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected)) && Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300
      );
    };
    const first = deliveries[0];
    assert.ok(first !== undefined);
    assert.equal(first.method, 'POST');
    assert.equal(first.headers['content-type'], 'application/json');
    assert.equal(first.headers['x-titan-event'], 'provision');
    const body = JSON.parse(first.raw) as { at: string };
    assert.deepEqual(body, { pool: 'GPU', requirement: ['GENERAL', 'GPU'], shortfall: 3, queued: 3, freeSlots: 0, at: body.at });
    for (const d of deliveries) assert.ok(verifies(d.headers, d.raw), `delivery ${String(d.headers['x-titan-delivery'])} verifies`);
    assert.equal(verifyWebhook(secret, first.headers, first.raw).ok, true, 'and with the exported helper');

    const tampered = first.raw.replace('"shortfall":3', '"shortfall":30');
    assert.notEqual(tampered, first.raw);
    assert.equal(verifies(first.headers, tampered), false, 'a tampered body fails verification');
    assert.deepEqual(verifyWebhook(secret, first.headers, tampered), { ok: false, reason: 'signature does not match the body' });
    assert.equal(verifies({ ...first.headers, 'x-titan-delivery': randomUUID() }, first.raw), false, 'a replay under a fresh delivery id fails');
    assert.equal(verifyWebhook('not-the-secret-at-all-0123456789', first.headers, first.raw).ok, false, 'another secret fails');

    // Only the redelivery of the one the receiver failed repeats an id: deduplicating on it loses no request and acts on none twice.
    const ids = deliveries.map((d) => String(d.headers['x-titan-delivery']));
    const repeated = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
    assert.deepEqual(repeated, [firstId()], `ids in order: ${ids.join(', ')}`);
    const again = deliveries.filter((d) => d.headers['x-titan-delivery'] === firstId());
    assert.equal(again[1]?.raw, first.raw, 'the same body');
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
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
