// Bounded growth of the artifact folder: once retention has deleted the jobs that named an
// artifact, its file goes too, unless a key, a remaining job (queued or in the DLQ) or anything
// else still names it; what stays downloads intact, and `titan gc` says what it removed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Cluster, TOKEN, codeOf, until } from './harness.js';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

test('retention deletes the artifact files nothing names any more, keeps the published and the live ones intact', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster(['--retention', '3s']);
  await cluster.startWorker('artifacts', { slots: 4 });
  const client = await cluster.client();
  const artifactsDir = join(cluster.dataDir, 'artifacts');
  const onDisk = (hash: string): boolean => existsSync(join(artifactsDir, hash));
  const script = (name: string, body: string): { path: string; hash: string } => {
    const path = join(cluster.dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    return { path, hash: sha256(readFileSync(path)) };
  };

  const orphan = Buffer.from('uploaded, never named by a job or a key');
  assert.equal(await client.upload(orphan), sha256(orphan));
  const pruned = script('pruned.sh', 'echo pruned');
  const published = script('published.sh', 'echo published');
  const queued = script('queued.sh', 'echo never runs');
  const dead = script('dead.sh', 'exit 3');

  const { jobId: prunedJob } = await client.submit({ file: pruned.path });
  const { jobId: publishedJob } = await client.submit({ file: published.path });
  await client.publishArtifact('keep/published', published.path);
  // No worker has this tag: the job stays queued, its script with it.
  const { jobId: queuedJob } = await client.submit({ file: queued.path, requirement: ['NO_SUCH_TAG'] });
  const { jobId: deadJob } = await client.submit({ file: dead.path, retries: 1 });
  assert.equal((await client.wait(prunedJob, { timeout: 60_000 })).state, 'succeeded');
  assert.equal((await client.wait(publishedJob, { timeout: 60_000 })).state, 'succeeded');
  assert.equal((await client.wait(deadJob, { timeout: 60_000 })).state, 'dead');
  for (const hash of [sha256(orphan), pruned.hash, published.hash, queued.hash, dead.hash]) assert.ok(onDisk(hash), 'every upload is on disk at first');

  // A pass runs every second with a 3 s retention; `titan gc` runs one more now.
  await until(
    'retention to delete the finished jobs',
    async () => (await codeOf(client.status(prunedJob))) === 'E_UNKNOWN_JOB' && (await codeOf(client.status(publishedJob))) === 'E_UNKNOWN_JOB',
    30_000,
  );
  await until('the unnamed artifact files to be deleted', () => Promise.resolve(!onDisk(pruned.hash) && !onDisk(sha256(orphan))), 15_000);
  const gc = await cluster.cli(['gc']);
  assert.equal(gc.code, 0, gc.stderr);
  assert.match(gc.stdout, /and \d+ artifact files \([\d.]+ (B|KiB)\) nothing names/);

  assert.ok(onDisk(published.hash), 'a published artifact stays after its job is gone');
  assert.deepEqual(Buffer.from((await client.kv.fetchArtifact('keep/published')).data), readFileSync(published.path));
  assert.ok(onDisk(queued.hash), "a queued job's script stays");
  const download = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/artifacts/${queued.hash}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(download.status, 200);
  assert.equal(sha256(Buffer.from(await download.arrayBuffer())), queued.hash, 'and downloads intact');
  assert.ok(onDisk(dead.hash), "a DLQ entry's script stays (it may be retried)");
  assert.equal((await client.status(queuedJob)).state, 'queued');

  const metrics = await (await fetch(`http://127.0.0.1:${cluster.httpPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  assert.match(metrics, /^titan_retention_deleted\{kind="artifacts"\} 2$/m, 'exactly the two unnamed files were deleted');
  const freed = readFileSync(pruned.path).byteLength + orphan.byteLength;
  assert.match(metrics, new RegExp(`^titan_retention_artifact_bytes_deleted ${freed}$`, 'm'));
});
