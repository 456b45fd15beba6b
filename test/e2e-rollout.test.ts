import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TitanClient } from '../src/sdk/client.js';
import { Cluster, until } from './harness.js';

/** A TCP server answering its version, written as server.js in its own folder. */
function server(dir: string, version: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'server.js');
  writeFileSync(file, `require('node:net').createServer((s) => s.end('${version}')).listen(Number(process.env.PORT), '127.0.0.1');\n`);
  return file;
}

function ask(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.once('end', () => resolve(text));
    socket.once('error', () => resolve(undefined));
    socket.setTimeout(2_000, () => socket.destroy());
  });
}

describe('redeploying a service rolls its replicas one at a time', () => {
  const cluster = new Cluster();
  let client: TitanClient;
  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('r1', { slots: 8 });
    client = await cluster.client();
  });
  after(() => cluster.close());

  const ready = async (name: string): Promise<number> => (await client.services()).filter((s) => s.name.startsWith(`${name}-`) && s.ready).length;

  test('a new file replaces each replica only once its successor is ready; the service never has fewer ready replicas', async () => {
    const first = await cluster.cli(['deploy', server(join(cluster.dir, 'v1'), 'v1'), '--name', 'web', '--replicas', '2', '--json']);
    assert.equal(first.code, 0, first.stderr);
    const oldIds = (JSON.parse(first.stdout) as { serviceIds: string[] }).serviceIds;
    await until('both v1 replicas to be ready', async () => (await ready('web')) === 2);

    let fewest = Infinity;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        fewest = Math.min(fewest, await ready('web'));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const second = await cluster.cli(['deploy', server(join(cluster.dir, 'v2'), 'v2'), '--name', 'web', '--json']);
    watching = false;
    await watcher;
    assert.equal(second.code, 0, second.stderr);
    const rolled = JSON.parse(second.stdout) as { serviceIds: string[]; replaced: string[] };
    assert.equal(rolled.serviceIds.length, 2, 'as many replicas as before');
    assert.deepEqual([...rolled.replaced].sort(), [...oldIds].sort());
    assert.ok(fewest >= 2, `at some point only ${fewest} replica(s) were ready`);

    // The old replicas leave the list once their workers confirm they stopped.
    const wanted = [...rolled.serviceIds].sort().join(',');
    const services = await until('only the new replicas to be listed', async () => {
      const listed = (await client.services()).filter((s) => s.name.startsWith('web-'));
      return listed
        .map((s) => s.id)
        .sort()
        .join(',') === wanted
        ? listed
        : undefined;
    });
    for (const s of services) assert.equal(await ask(s.port ?? 0), 'v2');
    for (const id of oldIds) assert.equal((await client.status(id)).state, 'stopped');
  });

  test('a new version that never gets ready stops the rollout and leaves the old replicas running', async () => {
    const ok = await cluster.cli(['deploy', server(join(cluster.dir, 'good'), 'good'), '--name', 'api', '--replicas', '2', '--json']);
    const oldIds = (JSON.parse(ok.stdout) as { serviceIds: string[] }).serviceIds;
    await until('both replicas to be ready', async () => (await ready('api')) === 2);
    const broken = join(cluster.dir, 'broken', 'server.js');
    mkdirSync(join(cluster.dir, 'broken'), { recursive: true });
    writeFileSync(broken, 'process.exit(3);\n');
    const result = await cluster.cli(['deploy', broken, '--name', 'api', '--max-restarts', '2']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /new replica api-1 \(\w+\) ended dead before it was ready.*the old replicas keep running/);
    const running = await until('the failed replica to leave the list', async () => {
      const listed = (await client.services()).filter((s) => s.name.startsWith('api-'));
      return listed
        .map((s) => s.id)
        .sort()
        .join(',') === [...oldIds].sort().join(',')
        ? listed
        : undefined;
    });
    for (const s of running) assert.equal(await ask(s.port ?? 0), 'good');
  });
});
