import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, TitanError } from '../src/common/errors.js';
import type { TitanClient } from '../src/sdk/client.js';
import { Cluster, MAIN, until } from './harness.js';

/** The `titan` command as a job runs it: no flags, the master found through TITAN_HOST/PORT/TOKEN. */
const TITAN = `${process.execPath} ${MAIN}`;

describe('the KV store and keyed artifacts on a real cluster', () => {
  const cluster = new Cluster();
  let client: TitanClient;
  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1', { slots: 2 });
    client = await cluster.client();
  });
  after(() => cluster.close());

  test('a DAG job passes a value and a file to the job after it, and a client reads both', async () => {
    const { dagId } = await client.submitDag('handoff', [
      {
        key: 'produce',
        run: {
          kind: 'command',
          command: `${TITAN} kv put greeting 'hello from produce' && printf 'payload line\\n' > out.txt && ${TITAN} artifact put results/out.txt out.txt`,
        },
      },
      { key: 'consume', parents: ['produce'], run: { kind: 'command', command: `${TITAN} kv get greeting && ${TITAN} artifact get results/out.txt` } },
    ]);
    const done = await client.waitDag(dagId);
    assert.equal(done.dag.state, 'succeeded', JSON.stringify(done.jobs.map((j) => [j.key, j.state, j.reason])));
    const lines: string[] = [];
    await client.logs(`${dagId}.consume`, (batch) => lines.push(...batch.filter((l) => l.stream === 'stdout').map((l) => l.line)));
    assert.deepEqual(lines, ['hello from produce', 'payload line']);

    assert.equal(await client.kv.get('greeting'), 'hello from produce');
    const fetched = await client.kv.fetchArtifact('results/out.txt');
    assert.equal(Buffer.from(fetched.data).toString(), 'payload line\n');
    assert.equal(fetched.size, 13);
    assert.equal(fetched.jobId, `${dagId}.produce`, 'the publishing job is recorded');
    assert.deepEqual(
      (await client.kv.listArtifacts('results/')).map((a) => [a.key, a.hash]),
      [['results/out.txt', fetched.hash]],
    );
  });

  test('a key put with a TTL reads back, then is gone once it expires', async () => {
    const before = Date.now();
    const { expiresAt } = await client.kv.put('ephemeral', 'soon gone', { ttlSeconds: 1 });
    assert.ok(expiresAt !== null && expiresAt >= before + 1000);
    assert.equal(await client.kv.get('ephemeral'), 'soon gone');
    await until('the key to expire', async () => (await client.kv.get('ephemeral')) === undefined, 10_000);
    assert.ok(Date.now() >= before + 1000, 'not before its TTL');
  });

  test('sets count new members, and a key used as the other kind is refused naming the fix', async () => {
    assert.equal(await client.kv.sadd('shards', ['s1', 's2']), 2);
    assert.equal(await client.kv.sadd('shards', ['s2', 's3']), 1);
    assert.deepEqual(await client.kv.smembers('shards'), ['s1', 's2', 's3']);
    await assert.rejects(client.kv.get('shards'), (err: unknown) => {
      assert.ok(err instanceof TitanError);
      assert.equal(err.code, ErrorCode.INVALID_REQUEST);
      assert.match(err.message, /WRONGTYPE: key "shards" holds a set.*titan kv smembers/);
      return true;
    });
    await client.kv.put('plain', 'text');
    const refused = await cluster.cli(['kv', 'sadd', 'plain', 'x']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /WRONGTYPE: key "plain" holds a string.*titan kv get/);
    const members = await cluster.cli(['kv', 'smembers', 'shards', '--json']);
    assert.deepEqual(JSON.parse(members.stdout), { key: 'shards', members: ['s1', 's2', 's3'] });
  });

  test('the CLI exits 4 for a missing key or artifact, and writes a fetched artifact to a file with -o', async () => {
    const missing = await cluster.cli(['kv', 'get', 'never-set']);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /no key "never-set"/);
    const noArtifact = await cluster.cli(['artifact', 'get', 'nothing/here']);
    assert.equal(noArtifact.code, 4);
    assert.match(noArtifact.stderr, /titan artifact put "nothing\/here" <file>/);
    const source = join(cluster.dir, 'binary.bin');
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13]);
    writeFileSync(source, bytes);
    assert.equal((await cluster.cli(['artifact', 'put', 'bin/one', source])).code, 0);
    const target = join(cluster.dir, 'fetched.bin');
    const got = await cluster.cli(['artifact', 'get', 'bin/one', '-o', target]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(readFileSync(target), bytes);
    assert.equal((await cluster.cli(['kv', 'put', 'doomed', 'v'])).code, 0);
    const deleted = await cluster.cli(['kv', 'del', 'doomed', '--json']);
    assert.deepEqual(JSON.parse(deleted.stdout), { key: 'doomed', deleted: true });
    assert.equal(await client.kv.get('doomed'), undefined);
  });
});

test('keys, sets and published artifacts survive a master killed with SIGKILL and restarted', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  const client = await cluster.client();
  await client.kv.put('config/lr', '0.001');
  await client.kv.put('config/warm', 'yes', { ttlSeconds: 3600 });
  await client.kv.sadd('seen', ['a', 'b']);
  const published = await client.kv.publishArtifact('models/latest', new TextEncoder().encode('weights'));
  await cluster.killMaster();
  await cluster.startMaster();
  const after = await cluster.client();
  assert.equal(await after.kv.get('config/lr'), '0.001');
  assert.equal(await after.kv.get('config/warm'), 'yes');
  assert.deepEqual(await after.kv.smembers('seen'), ['a', 'b']);
  const fetched = await after.kv.fetchArtifact('models/latest');
  assert.equal(fetched.hash, published.hash);
  assert.equal(Buffer.from(fetched.data).toString(), 'weights');
});
