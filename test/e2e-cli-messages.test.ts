import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN, TOKEN, clusterForSuite } from './harness.js';

describe('what the CLI prints is true and plain', () => {
  const suite = clusterForSuite('w1');
  const cluster = suite.cluster;

  test('--json errors are one JSON document on stdout, with the same exit code as without', async () => {
    const human = await cluster.cli(['status', 'nosuchjob']);
    const json = await cluster.cli(['status', 'nosuchjob', '--json']);
    assert.equal(human.code, 4, human.stderr);
    assert.equal(json.code, human.code);
    assert.equal(json.stderr, '');
    const doc = JSON.parse(json.stdout) as { code: string; message: string; hint: string | null };
    assert.equal(doc.code, 'E_UNKNOWN_JOB');
    assert.match(human.stderr, new RegExp(doc.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.ok('hint' in doc);
  });

  test('a master whose port is taken says which flag moves it and exits 2', async (t) => {
    const holder = createServer();
    t.after(() => holder.close());
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const { port } = holder.address() as AddressInfo;
    const run = spawnSync(
      process.execPath,
      [MAIN, 'master', '--listen', `127.0.0.1:${port}`, '--no-http', '--data-dir', join(cluster.dir, 'busy'), '--token', 'busy-port-token-0123456789'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
    assert.match(run.stderr, /hint: pick another address with --listen <host:port>/);
    assert.doesNotMatch(run.stderr, /internal/i);
  });

  test('piping into a reader that stops early (| head) ends quietly, no EPIPE trace', async () => {
    const { jobId } = await suite.client.submit({ command: 'seq 1 50000' });
    assert.equal((await suite.client.wait(jobId)).state, 'succeeded');
    const child = spawn(process.execPath, [MAIN, 'logs', jobId, '--master', `127.0.0.1:${cluster.port}`], { env: { ...process.env, TITAN_TOKEN: TOKEN } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Like `head -1`: read the first chunk, then close the pipe.
    await once(child.stdout, 'data');
    child.stdout.destroy();
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  test('a docker job without an image is refused at submit with the fix, and nothing is queued', async () => {
    const before = (await suite.client.list({ limit: 1000 })).length;
    const run = await cluster.cli(['run', '--driver', 'docker', '--name', 'boxed', '--', 'echo', 'hi']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /job "boxed" uses the docker driver without an image: add --image <name>/);
    const file = join(cluster.dir, 'docker.yaml');
    writeFileSync(file, 'name: boxed\njobs:\n  - id: a\n    command: "true"\n  - id: b\n    command: "echo hi"\n    driver: docker\n    depends_on: [a]\n');
    const dag = await cluster.cli(['dag', file]);
    assert.equal(dag.code, 2, dag.stderr);
    assert.match(dag.stderr, /job b uses the docker driver without an image: .*image: <name> beside driver: docker/);
    assert.equal((await suite.client.list({ limit: 1000 })).length, before, 'no job of either was queued');
  });
});
