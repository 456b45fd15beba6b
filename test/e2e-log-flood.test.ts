// A job that prints far more than anyone should keep: the store keeps the head of it up to
// --max-log-size with a marker, the master's and the worker's memory stay bounded while it
// prints, and the job is recorded finished right after its process exits.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { Cluster, killAndWait } from './harness.js';

const PRINTED = 200 * 1024 * 1024;
const CAP = 8 * 1024 * 1024;
/** Far below what a line-per-row store and an unbounded socket buffer reached (4.8 GB, 3.4 GB). */
const RSS_BOUND_MB = 300;
const LINE = '0123456789'.repeat(10); // 100 characters and a newline per line

function rssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) / 1024;
}

function storeBytes(dataDir: string): number {
  let total = 0;
  for (const name of ['titan.db', 'titan.db-wal']) {
    try {
      total += statSync(join(dataDir, name)).size;
    } catch {
      // absent: a cleanly closed store has no WAL
    }
  }
  return total;
}

void describe('a job printing 200 MB', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  void test('is stored up to the cap with a marker, in bounded memory, and finishes when its process exits', async (t) => {
    // The store's size before: a master started and stopped cleanly (its WAL folded in).
    await cluster.startMaster(['--max-log-size', '8M']);
    await killAndWait(cluster.master!, 'SIGTERM');
    const before = storeBytes(cluster.dataDir);
    await cluster.startMaster(['--max-log-size', '8M']);
    const worker = await cluster.startWorker('flood', { slots: 1 });
    const client = await cluster.client();

    const exitFile = join(cluster.dir, 'exited-at');
    // `yes | head -c` is a bounded loop; the job writes when it exited, in ms since the epoch.
    const command = `sh -c 'yes ${LINE} | head -c ${PRINTED}; date +%s%3N > ${exitFile}'`;
    const { jobId } = await client.submit({ command });

    let masterMax = 0;
    let workerMax = 0;
    const sampler = setInterval(() => {
      masterMax = Math.max(masterMax, rssMb(cluster.master!));
      workerMax = Math.max(workerMax, rssMb(worker.process));
    }, 100);
    try {
      const final = await client.wait(jobId, { timeout: 600_000 });
      assert.equal(final.state, 'succeeded');
    } finally {
      clearInterval(sampler);
    }
    assert.ok(masterMax > 0 && workerMax > 0, 'RSS was sampled');
    assert.ok(masterMax < RSS_BOUND_MB, `master RSS peaked at ${masterMax.toFixed(0)} MB (bound ${RSS_BOUND_MB})`);
    assert.ok(workerMax < RSS_BOUND_MB, `worker RSS peaked at ${workerMax.toFixed(0)} MB (bound ${RSS_BOUND_MB})`);

    // Recorded finished within a few seconds of the process's own exit time.
    const exitedAt = Number(readFileSync(exitFile, 'utf8').trim());
    const { events } = await client.history(jobId);
    const finished = events.find((e) => e.to === 'succeeded');
    assert.ok(finished !== undefined, 'a succeeded event');
    assert.ok(finished.at - exitedAt < 5_000, `finished recorded ${finished.at - exitedAt} ms after the process exited`);

    // The head of the output, then the marker, and nothing after it.
    const lines: string[] = [];
    await client.logs(jobId, (batch) => lines.push(...batch.map((l) => l.line)));
    const marker = lines[lines.length - 1] ?? '';
    assert.match(marker, /output cut here: this job printed more than 8 MiB \(--max-log-size\)/);
    const kept = lines.slice(0, -1);
    assert.ok(kept.length > 0 && kept.every((l) => l === LINE), 'every kept line is a whole line of the output');
    const keptBytes = kept.length * (LINE.length + 1);
    assert.ok(keptBytes <= CAP && keptBytes > CAP - 64 * 1024, `kept ${keptBytes} bytes of a ${CAP}-byte cap`);

    // The store grew by about the cap: chunks, not a row per line.
    await killAndWait(cluster.master!, 'SIGTERM');
    const grown = storeBytes(cluster.dataDir) - before;
    t.diagnostic(
      `master RSS max ${masterMax.toFixed(0)} MB, worker RSS max ${workerMax.toFixed(0)} MB, finished ${finished.at - exitedAt} ms after exit, store +${(grown / 1048576).toFixed(1)} MiB`,
    );
    assert.ok(grown <= CAP * 1.15 + 512 * 1024, `the store grew by ${grown} bytes for an ${CAP}-byte cap`);
  });
});
