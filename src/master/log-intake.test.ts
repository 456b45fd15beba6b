import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SqliteAsyncStore } from '../store/sqlite-async-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { LogLine } from '../store/store.js';
import { LogIntake } from './log-intake.js';

const line = (text: string, attempt = 1): LogLine => ({ jobId: 'j', attempt, stream: 'stdout', at: 1, line: text });

void describe('log intake', () => {
  void test('keeps the head of a job up to the cap, then one marker, then nothing', async () => {
    const store = SqliteStore.open(':memory:');
    const intake = new LogIntake(new SqliteAsyncStore(store), 1024);
    const text = 'z'.repeat(99); // 100 bytes with its newline
    assert.equal(await intake.append(Array.from({ length: 8 }, () => line(text))), true);
    assert.equal(await intake.append(Array.from({ length: 8 }, () => line(text, 2))), true);
    assert.equal(await intake.append([line('later')]), false);
    const stored = store.readLogs('j', 0, 100);
    assert.equal(stored.length, 11);
    assert.ok(stored.slice(0, 10).every((l) => l.line === text));
    assert.match(stored[10]?.line ?? '', /output cut here: this job printed more than 1024 bytes/);
    assert.equal(stored[10]?.stream, 'stderr');
    assert.equal(stored[10]?.attempt, 2);
    store.close();
  });

  void test('a master that forgot (a restart) reads the size from the store', async () => {
    const store = SqliteStore.open(':memory:');
    await new LogIntake(new SqliteAsyncStore(store), 300).append([line('a'.repeat(199))]);
    const again = new LogIntake(new SqliteAsyncStore(store), 300);
    await again.append([line('b'.repeat(199))]);
    assert.deepEqual(
      store.readLogs('j', 0, 10).map((l) => l.line.slice(0, 1)),
      ['a', '['],
    );
    store.close();
  });

  void test("batches sent together are stored in order, and the cap holds, while the job's size is still being read", async () => {
    const store = SqliteStore.open(':memory:');
    const intake = new LogIntake(new SqliteAsyncStore(store), 250);
    const sent = ['a', 'b', 'c'].map((c) => intake.append([line(c.repeat(99))]));
    assert.notEqual(intake.pending('j'), undefined);
    assert.deepEqual(await Promise.all(sent), [true, true, true]);
    assert.deepEqual(
      store.readLogs('j', 0, 10).map((l) => l.line.slice(0, 1)),
      ['a', 'b', '['],
    );
    await intake.pending('j');
    assert.equal(intake.pending('j'), undefined);
    store.close();
  });
});
