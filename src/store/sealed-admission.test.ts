import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { newDag } from '../core/dag.js';
import { newJob, type JobSpec } from '../core/job.js';
import { splitAdmission } from './sealed-admission.js';
import { LEADER_EPOCH_META, SqliteAsyncStore } from './sqlite-async-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { JobWrite } from './store.js';

const SPEC: JobSpec = {
  name: 's',
  run: { kind: 'command', command: '/bin/true' },
  args: [],
  env: {},
  requirement: ['GENERAL'],
  priority: 0,
  retries: 0,
  timeoutSeconds: 0,
};

function write(id: string, seq: number, dagId?: string): JobWrite {
  const job = newJob(id, dagId === undefined ? SPEC : { ...SPEC, dagId }, seq, 1);
  return { job, event: { jobId: id, at: 1, from: null, to: 'queued', attempt: 0, workerId: null, detail: null } };
}

const dir = await mkdtemp(join(tmpdir(), 'titan-sealed-'));
after(() => rm(dir, { recursive: true, force: true }));

describe('sealed admissions (a large new DAG committed in chunks)', () => {
  test("only a tick with enough jobs of a run the store does not know is cut: that run's jobs in chunks, the rest with the DAG rows last", () => {
    const writes = [write('other', 1), ...Array.from({ length: 5 }, (_, i) => write(`d.j${i}`, i + 2, 'd')), write('old.x', 9, 'old')];
    const tick = { writes, dags: [newDag('d', 'd', 1, 1), newDag('old', 'o', 2, 1)] };
    const stored = (id: string): boolean => id === 'old';
    assert.equal(splitAdmission(tick, stored, 6, 2), undefined, 'five jobs of the new run: under the minimum');
    assert.equal(splitAdmission({ ...tick, dags: [newDag('old', 'o', 2, 1)] }, stored, 2, 2), undefined, 'no new run');
    const split = splitAdmission(tick, stored, 5, 2)!;
    assert.deepEqual(
      split.chunks.map((c) => c.map((w) => w.job.id)),
      [['d.j0', 'd.j1'], ['d.j2', 'd.j3'], ['d.j4']],
    );
    assert.deepEqual(
      split.seal.writes.map((w) => w.job.id),
      ['other', 'old.x'],
    );
    assert.deepEqual(
      split.seal.dags?.map((d) => d.id),
      ['d', 'old'],
    );
    // Frozen at the split: the core changing its objects afterwards changes nothing written.
    writes[1]!.job.state = 'cancelled';
    tick.dags[0]!.unfinished = 7;
    assert.equal(split.chunks[0]![0]!.job.state, 'queued');
    assert.equal(split.seal.dags?.[0]?.unfinished, 0);
  });

  test('an admission cut short between its chunks leaves no run, and its jobs are dropped before recovery reads', async () => {
    const path = join(dir, 'cut.db');
    const store = new SqliteAsyncStore(SqliteStore.open(path));
    store.fence(0);
    const writes = Array.from({ length: 3_000 }, (_, i) => write(`cut.j${i}`, i + 1, 'cut'));
    const committing = store.commitTick({ writes, dags: [{ ...newDag('cut', 'cut', 1, 1), total: 3_000, unfinished: 3_000 }] });
    // The first chunk commits at once; a newer leader takes the store before the next one.
    store.sync.setMeta(LEADER_EPOCH_META, '1');
    await assert.rejects(committing, /leader epoch 0 is stale/);
    assert.equal(store.sync.getDag('cut'), undefined);
    assert.ok(store.sync.jobsOfDag('cut').length > 0, 'the first chunk is on disk, unsealed');
    await store.close();
    const again = new SqliteAsyncStore(SqliteStore.open(path));
    assert.ok((await again.dropUnsealedDagJobs()) > 0);
    assert.deepEqual(await again.loadActiveJobs(), []);
    assert.deepEqual(await again.jobEvents('cut.j0'), []);
    await again.close();
  });
});
