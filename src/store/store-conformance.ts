import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { ErrorCode, TitanError } from '../common/errors.js';
import { JOB_STATES, type Job, type JobSpec, type JobState } from '../core/job.js';
import type { JobWrite, LogLine, Store } from './store.js';

/**
 * The behaviour every Store backend must show; a new backend is done when it passes.
 * `makeStore` returns a new, empty store each call. `reopen` is given a closed store and opens
 * the same data again, as a restarted master would.
 */
export function runStoreConformance<S extends Store>(name: string, makeStore: () => S, reopen: (closed: S) => S): void {
  function fresh(t: TestContext): S {
    const store = makeStore();
    t.after(() => store.close());
    return store;
  }
  function restart(t: TestContext, store: S): S {
    store.close();
    const again = reopen(store);
    t.after(() => again.close());
    return again;
  }

  // node:test's describe() and test() return promises its runner awaits; `void` tells the linter.
  void describe(`${name} store`, () => {
    void test('an empty store has no jobs, a zero count for every state and max seq 0', (t) => {
      const store = fresh(t);
      assert.deepEqual(store.loadActiveJobs(), []);
      assert.deepEqual(store.listJobs({ limit: 10 }), []);
      assert.equal(store.getJob('nope'), undefined);
      assert.deepEqual(store.countByState(), Object.fromEntries(JOB_STATES.map((s) => [s, 0])));
      assert.equal(store.maxJobSeq(), 0);
      assert.deepEqual(store.jobEvents('nope'), []);
      assert.deepEqual(store.readLogs('nope', 0, 10), []);
    });

    void test('a written job reads back equal, spec included', (t) => {
      const store = fresh(t);
      const plain = makeJob('a', 1);
      const full = makeJob('b', 2, 'failed', {
        spec: { ...SPEC, run: { kind: 'command', command: 'make' }, bundle: 'sha256:ab', env: { A: 'é ✓' } },
        attempt: 3, workerId: 'w1', startedAt: 150, finishedAt: 160, exitCode: 2, signal: 'SIGTERM', reason: 'exit code 2',
      });
      store.writeJobs([submit(plain), submit(full)]);
      assert.deepEqual(store.getJob('a'), plain);
      assert.deepEqual(store.getJob('b'), full);
    });

    void test('writing a job again replaces it and appends to its history', (t) => {
      const store = fresh(t);
      const job = makeJob('a', 1);
      store.writeJobs([submit(job)]);
      const running = { ...job, state: 'running' as const, attempt: 1, workerId: 'w1', startedAt: 200 };
      store.writeJobs([move(running, 'queued', 200)]);
      assert.deepEqual(store.getJob('a'), running);
      assert.deepEqual(store.jobEvents('a'), [
        { jobId: 'a', at: 100, from: null, to: 'queued', attempt: 0, workerId: null, detail: null },
        { jobId: 'a', at: 200, from: 'queued', to: 'running', attempt: 1, workerId: 'w1', detail: 'moved' },
      ]);
    });

    void test('a job written twice in one batch ends as its last write, with both events kept', (t) => {
      const store = fresh(t);
      const job = makeJob('a', 1);
      const assigned = { ...job, state: 'assigned' as const, attempt: 1, workerId: 'w1' };
      store.writeJobs([submit(job), move(assigned, 'queued', 101)]);
      assert.deepEqual(store.getJob('a'), assigned);
      assert.deepEqual(store.jobEvents('a').map((e) => e.to), ['queued', 'assigned']);
    });

    void test('a batch that fails midway writes nothing', (t) => {
      const store = fresh(t);
      const existing = makeJob('a', 1);
      store.writeJobs([submit(existing)]);
      const clash = makeJob('c', 1); // a second job claiming seq 1 must be refused
      assert.throws(() =>
        store.writeJobs([submit(makeJob('b', 2)), move({ ...existing, state: 'running' }, 'queued', 300), submit(clash)]),
      );
      assert.equal(store.getJob('b'), undefined);
      assert.equal(store.getJob('c'), undefined);
      assert.deepEqual(store.getJob('a'), existing);
      assert.equal(store.jobEvents('a').length, 1);
      assert.deepEqual(store.jobEvents('b'), []);
      assert.equal(store.maxJobSeq(), 1);
      store.writeJobs([submit(makeJob('b', 2))]); // and the store is still usable
      assert.equal(store.maxJobSeq(), 2);
    });

    void test('an empty batch changes nothing', (t) => {
      const store = fresh(t);
      store.writeJobs([]);
      store.appendLogs([]);
      assert.equal(store.maxJobSeq(), 0);
    });

    void test('a returned job is a copy: changing it changes nothing stored', (t) => {
      const store = fresh(t);
      store.writeJobs([submit(makeJob('a', 1))]);
      const got = store.getJob('a');
      assert.ok(got);
      got.state = 'running';
      (got.spec.args as string[]).push('--mutated');
      assert.equal(store.getJob('a')?.state, 'queued');
      assert.deepEqual(store.getJob('a')?.spec.args, SPEC.args);
    });

    void test('active jobs come back in submission order after reopen', (t) => {
      let store = fresh(t);
      const states: JobState[] = ['running', 'succeeded', 'queued', 'failed', 'pending', 'assigned', 'dead', 'cancelled', 'skipped'];
      // Written out of seq order, so the order read back must come from seq, not from insertion.
      const jobs = states.map((state, i) => makeJob(`j${i}`, 20 - i, state));
      store.writeJobs(jobs.map(submit));
      store = restart(t, store);
      const active = store.loadActiveJobs();
      assert.deepEqual(active.map((j) => j.seq), [15, 16, 18, 20]);
      assert.deepEqual(active.map((j) => j.state), ['assigned', 'pending', 'queued', 'running']);
      assert.deepEqual(active[0], jobs[5]);
      assert.equal(store.maxJobSeq(), 20);
    });

    void test('jobs are listed newest first, filtered by state, at most limit', (t) => {
      const store = fresh(t);
      const states: JobState[] = ['succeeded', 'queued', 'failed', 'queued', 'running'];
      store.writeJobs(states.map((state, i) => submit(makeJob(`j${i + 1}`, i + 1, state))));
      const ids = (jobs: Job[]): string[] => jobs.map((j) => j.id);
      assert.deepEqual(ids(store.listJobs({ limit: 10 })), ['j5', 'j4', 'j3', 'j2', 'j1']);
      assert.deepEqual(ids(store.listJobs({ limit: 2 })), ['j5', 'j4']);
      assert.deepEqual(ids(store.listJobs({ states: ['queued'], limit: 10 })), ['j4', 'j2']);
      assert.deepEqual(ids(store.listJobs({ states: ['failed', 'succeeded', 'failed'], limit: 10 })), ['j3', 'j1']);
      assert.deepEqual(ids(store.listJobs({ states: ['queued', 'running'], limit: 2 })), ['j5', 'j4']);
      assert.deepEqual(store.listJobs({ states: [], limit: 10 }), [], 'an empty state list matches no job');
      assert.deepEqual(store.listJobs({ limit: 0 }), []);
    });

    void test('jobs are filtered by DAG, worker and text, and paged by a seq cursor', (t) => {
      const store = fresh(t);
      store.writeJobs([
        submit(makeJob('d1.a', 1, 'succeeded', { spec: { ...SPEC, name: 'extract', dagId: 'd1' }, workerId: 'w1' })),
        submit(makeJob('d1.b', 2, 'running', { spec: { ...SPEC, name: 'load_100%', dagId: 'd1' }, workerId: 'w2' })),
        submit(makeJob('solo', 3, 'failed', { workerId: 'w1' })),
      ]);
      const ids = (jobs: Job[]): string[] => jobs.map((j) => j.id);
      assert.deepEqual(ids(store.listJobs({ dagId: 'd1', limit: 10 })), ['d1.b', 'd1.a']);
      assert.deepEqual(ids(store.listJobs({ workerId: 'w1', limit: 10 })), ['solo', 'd1.a']);
      assert.deepEqual(ids(store.listJobs({ workerId: 'w1', states: ['failed'], limit: 10 })), ['solo']);
      assert.deepEqual(ids(store.listJobs({ search: 'EXTR', limit: 10 })), ['d1.a'], 'the name matches, ignoring case');
      assert.deepEqual(ids(store.listJobs({ search: 'sol', limit: 10 })), ['solo'], 'the id matches');
      assert.deepEqual(ids(store.listJobs({ search: '0%', limit: 10 })), ['d1.b'], 'a % is matched literally');
      assert.deepEqual(ids(store.listJobs({ search: '_', limit: 10 })), ['d1.b'], 'an _ is matched literally');
      assert.deepEqual(ids(store.listJobs({ beforeSeq: 3, limit: 1 })), ['d1.b']);
      assert.deepEqual(ids(store.listJobs({ beforeSeq: 2, limit: 10 })), ['d1.a']);
    });

    void test('counts cover every state, zero where no job is', (t) => {
      const store = fresh(t);
      const states: JobState[] = ['queued', 'queued', 'running', 'succeeded', 'succeeded', 'succeeded'];
      store.writeJobs(states.map((state, i) => submit(makeJob(`j${i}`, i + 1, state))));
      store.writeJobs([move({ ...makeJob('j0', 1), state: 'running' }, 'queued', 200)]);
      const expected = Object.fromEntries(JOB_STATES.map((s) => [s, 0]));
      assert.deepEqual(store.countByState(), { ...expected, queued: 1, running: 2, succeeded: 3 });
    });

    void test('max seq is the highest seq ever written, whatever state that job is in', (t) => {
      const store = fresh(t);
      store.writeJobs([submit(makeJob('a', 7, 'succeeded')), submit(makeJob('b', 3))]);
      assert.equal(store.maxJobSeq(), 7);
    });

    void test('events of a job come back in the order they were written, with their details', (t) => {
      const store = fresh(t);
      const job = makeJob('a', 1);
      store.writeJobs([submit(job), submit(makeJob('b', 2))]);
      store.writeJobs([
        move({ ...job, state: 'assigned', attempt: 1, workerId: 'w1' }, 'queued', 300),
        move({ ...job, state: 'queued', attempt: 1, workerId: null }, 'assigned', 200, 'worker w1 lost'),
      ]);
      const events = store.jobEvents('a');
      assert.deepEqual(events.map((e) => [e.from, e.to, e.at]), [[null, 'queued', 100], ['queued', 'assigned', 300], ['assigned', 'queued', 200]]);
      assert.equal(events[2]?.detail, 'worker w1 lost');
      assert.equal(store.jobEvents('b').length, 1);
    });

    void test('logs resume after a seq', (t) => {
      const store = fresh(t);
      store.appendLogs([log('a', 'one'), log('b', 'other'), log('a', 'two', 'stderr')]);
      store.appendLogs([log('a', 'three'), log('a', 'four')]);
      const all = store.readLogs('a', 0, 100);
      assert.deepEqual(all.map((l) => l.line), ['one', 'two', 'three', 'four']);
      assert.deepEqual(all[1], { ...log('a', 'two', 'stderr'), seq: all[1]?.seq });
      const seqs = all.map((l) => l.seq);
      assert.deepEqual([...seqs].sort((x, y) => x - y), seqs, 'seqs increase in append order');
      assert.equal(new Set(seqs).size, seqs.length);
      const afterTwo = store.readLogs('a', seqs[1] ?? 0, 100);
      assert.deepEqual(afterTwo.map((l) => l.line), ['three', 'four']);
      assert.deepEqual(store.readLogs('a', seqs[0] ?? 0, 2).map((l) => l.line), ['two', 'three']);
      assert.deepEqual(store.readLogs('a', seqs[3] ?? 0, 100), []);
      assert.deepEqual(store.readLogs('b', 0, 100).map((l) => l.line), ['other']);
    });

    void test('a large batch of mixed streams reads back line by line, in order', (t) => {
      const store = fresh(t);
      const batch = Array.from({ length: 3000 }, (_, i) => log('a', `line ${i} ${'x'.repeat(100)}`, i % 7 === 0 ? 'stderr' : 'stdout'));
      store.appendLogs(batch);
      const read: string[] = [];
      let cursor = 0;
      for (let page = store.readLogs('a', 0, 250); page.length > 0; page = store.readLogs('a', cursor, 250)) {
        cursor = page[page.length - 1]?.seq ?? cursor;
        read.push(...page.map((l) => `${l.stream}:${l.line}`));
      }
      assert.deepEqual(read, batch.map((l) => `${l.stream}:${l.line}`));
    });

    void test('logBytes counts each line in UTF-8 with its newline', (t) => {
      const store = fresh(t);
      assert.equal(store.logBytes('a'), 0);
      store.appendLogs([log('a', 'abc'), log('a', 'é'), log('b', 'zz')]);
      assert.equal(store.logBytes('a'), 4 + 3);
    });

    void test('log seqs keep increasing after reopen', (t) => {
      let store = fresh(t);
      store.appendLogs([log('a', 'one')]);
      const [first] = store.readLogs('a', 0, 10);
      store = restart(t, store);
      store.appendLogs([log('a', 'two')]);
      const lines = store.readLogs('a', first?.seq ?? 0, 10);
      assert.deepEqual(lines.map((l) => l.line), ['two']);
    });

    void test('meta survives reopen', (t) => {
      let store = fresh(t);
      assert.equal(store.getMeta('cluster-id'), undefined);
      store.setMeta('cluster-id', 'first');
      store.setMeta('cluster-id', 'c-42');
      store.setMeta('empty', '');
      store = restart(t, store);
      assert.equal(store.getMeta('cluster-id'), 'c-42');
      assert.equal(store.getMeta('empty'), '');
    });

    void test('jobs, events and counts survive reopen', (t) => {
      let store = fresh(t);
      const job = makeJob('a', 1, 'succeeded', { exitCode: 0, finishedAt: 500 });
      store.writeJobs([submit(job)]);
      store = restart(t, store);
      assert.deepEqual(store.getJob('a'), job);
      assert.equal(store.jobEvents('a').length, 1);
      assert.equal(store.countByState().succeeded, 1);
      assert.deepEqual(store.loadActiveJobs(), []);
    });

    void test('a key set with a TTL reads back until it expires, then is absent', (t) => {
      const store = fresh(t);
      store.kvPut('greeting', 'hello', 1000, 100);
      store.kvPut('forever', 'v', null, 100);
      assert.deepEqual(store.kvGet('greeting', 1099), { kind: 'string', value: 'hello' });
      assert.equal(store.kvGet('greeting', 1100), undefined);
      assert.equal(store.kvGet('greeting', 50), undefined, 'an expired key is deleted once seen, not revived');
      assert.deepEqual(store.kvGet('forever', 1e12), { kind: 'string', value: 'v' });
      store.kvPut('forever', 'w', 10, 200);
      store.kvPut('forever', 'x', null, 205);
      assert.deepEqual(store.kvGet('forever', 1e12), { kind: 'string', value: 'x' }, 'a put without TTL clears the old one');
      store.kvSadd('tags', ['a'], 500, 100);
      assert.deepEqual(store.kvSmembers('tags', 599), ['a']);
      assert.deepEqual(store.kvSmembers('tags', 600), []);
      assert.equal(store.kvSadd('tags', ['b'], null, 700), 1, 'an expired set starts empty again');
      assert.deepEqual(store.kvSmembers('tags', 1e12), ['b']);
    });

    void test('keys are listed by prefix in key order, live ones only, at most limit', (t) => {
      const store = fresh(t);
      store.kvSadd('run:b', ['d2'], null, 100);
      store.kvSadd('run:a', ['d1'], null, 100);
      store.kvPut('run:c', 'x', 50, 100);
      store.kvPut('runner', 'y', null, 100);
      store.kvPut('other', 'z', null, 100);
      assert.deepEqual(store.kvKeys('run:', 10, 120), ['run:a', 'run:b', 'run:c']);
      assert.deepEqual(store.kvKeys('run:', 10, 150), ['run:a', 'run:b'], 'an expired key is not listed');
      assert.deepEqual(store.kvKeys('run:', 1, 120), ['run:a']);
      assert.deepEqual(store.kvKeys('', 10, 150), ['other', 'run:a', 'run:b', 'runner']);
    });

    void test('a key is refused when used as the other kind, with a WRONGTYPE message naming the fix', (t) => {
      const store = fresh(t);
      const wrongType = (holds: string, fix: string) => (err: unknown): boolean => {
        assert.ok(err instanceof TitanError);
        assert.equal(err.code, ErrorCode.INVALID_REQUEST);
        assert.match(err.message, new RegExp(`^WRONGTYPE: key "k" holds a ${holds}.*${fix}.*titan kv del`));
        return true;
      };
      store.kvPut('k', 'text', null, 100);
      assert.throws(() => store.kvSadd('k', ['m'], null, 100), wrongType('string', 'titan kv get'));
      assert.throws(() => store.kvSmembers('k', 100), wrongType('string', 'titan kv get'));
      assert.deepEqual(store.kvGet('k', 100), { kind: 'string', value: 'text' }, 'the refused sadd wrote nothing');
      assert.equal(store.kvDelete('k'), true);
      assert.equal(store.kvDelete('k'), false);
      store.kvSadd('k', ['m'], null, 100);
      assert.throws(() => store.kvPut('k', 'text', null, 100), wrongType('set', 'titan kv smembers'));
      assert.deepEqual(store.kvGet('k', 100), { kind: 'set', value: ['m'] });
      store.kvSadd('old', ['m'], 10, 100);
      store.kvPut('old', 'now a string', null, 200);
      assert.deepEqual(store.kvGet('old', 200), { kind: 'string', value: 'now a string' }, 'an expired set does not block a put');
    });

    void test('sadd counts only the members that were new, and keeps them in the order first added', (t) => {
      const store = fresh(t);
      assert.equal(store.kvSadd('s', ['b', 'a', 'b'], null, 100), 2);
      assert.equal(store.kvSadd('s', ['a', 'c', 'é ✓', 'c'], null, 100), 2);
      assert.equal(store.kvSadd('s', ['a'], null, 100), 0);
      assert.deepEqual(store.kvSmembers('s', 100), ['b', 'a', 'c', 'é ✓']);
      assert.deepEqual(store.kvSmembers('missing', 100), []);
      store.kvSadd('ttl', ['x'], 100, 1000);
      store.kvSadd('ttl', ['y'], null, 1050);
      assert.deepEqual(store.kvSmembers('ttl', 1099), ['x', 'y']);
      assert.deepEqual(store.kvSmembers('ttl', 1100), [], 'a sadd without TTL keeps the set\'s expiry');
    });

    void test('published artifacts are found by key and listed by prefix in key order; a new publish replaces the old', (t) => {
      const store = fresh(t);
      const h = (c: string): string => c.repeat(64);
      store.publishArtifact('model/b', h('b'), 2, 'job-1', 100);
      store.publishArtifact('model/a', h('a'), 1, null, 101);
      store.publishArtifact('modem', h('c'), 3, null, 102);
      store.publishArtifact('model/a', h('d'), 4, 'job-2', 103);
      assert.deepEqual(store.getKeyedArtifact('model/a'), { key: 'model/a', hash: h('d'), size: 4, publishedAt: 103, jobId: 'job-2' });
      assert.equal(store.getKeyedArtifact('model'), undefined);
      assert.deepEqual(store.listKeyedArtifacts('model/', 10).map((a) => a.key), ['model/a', 'model/b']);
      assert.deepEqual(store.listKeyedArtifacts('mode', 10).map((a) => a.key), ['model/a', 'model/b', 'modem']);
      assert.deepEqual(store.listKeyedArtifacts('', 2).map((a) => a.key), ['model/a', 'model/b']);
      assert.deepEqual(store.listKeyedArtifacts('x', 10), []);
    });

    void test('keys, sets, TTLs and published artifacts survive reopen', (t) => {
      let store = fresh(t);
      store.kvPut('s', 'value', null, 100);
      store.kvPut('short', 'v', 1000, 100);
      store.kvSadd('set', ['a', 'b'], null, 100);
      store.publishArtifact('out', 'f'.repeat(64), 10, 'j', 100);
      store = restart(t, store);
      assert.deepEqual(store.kvGet('s', 200), { kind: 'string', value: 'value' });
      assert.deepEqual(store.kvGet('short', 200), { kind: 'string', value: 'v' });
      assert.equal(store.kvGet('short', 1100), undefined, 'the TTL is kept across reopen');
      assert.deepEqual(store.kvSmembers('set', 200), ['a', 'b']);
      assert.equal(store.getKeyedArtifact('out')?.size, 10);
    });

    void test('close can be called twice', (t) => {
      const store = fresh(t);
      store.close();
      store.close();
    });
  });
}

const SPEC: JobSpec = {
  name: 'train',
  run: { kind: 'script', fileName: 'train.py', artifact: 'sha256:00' },
  args: ['--epochs', '3'],
  env: {},
  requirement: ['GENERAL'],
  priority: 0,
  retries: 1,
  timeoutSeconds: 0,
};

function makeJob(id: string, seq: number, state: JobState = 'queued', over: Partial<Job> = {}): Job {
  return {
    id, seq, state, spec: SPEC, attempt: 0, workerId: null, submittedAt: 100,
    startedAt: null, finishedAt: null, exitCode: null, signal: null, reason: null,
    notBefore: null, pinnedWorker: null, crashes: 0, attemptBase: 0, serviceReady: false, ...over,
  };
}

function submit(job: Job): JobWrite {
  return { job, event: { jobId: job.id, at: 100, from: null, to: job.state, attempt: job.attempt, workerId: job.workerId, detail: null } };
}

function move(job: Job, from: JobState, at: number, detail = 'moved'): JobWrite {
  return { job, event: { jobId: job.id, at, from, to: job.state, attempt: job.attempt, workerId: job.workerId, detail } };
}

function log(jobId: string, line: string, stream: LogLine['stream'] = 'stdout'): LogLine {
  return { jobId, attempt: 1, stream, at: 1000, line };
}
