import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ArtifactStore } from './artifacts.js';

const HOUR_AGO = (): Date => new Date(Date.now() - 3_600_000);

function storeIn(t: TestContext): { store: ArtifactStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'titan-artifacts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { store: new ArtifactStore(dir), dir };
}

/** Uploads bytes and makes the file look an hour old. */
function oldArtifact(store: ArtifactStore, dir: string, text: string): string {
  const hash = store.put(Buffer.from(text));
  utimesSync(join(dir, hash), HOUR_AGO(), HOUR_AGO());
  return hash;
}

void describe('artifact collection', () => {
  void test('an old file nothing names is deleted, with its size; one something names stays', (t) => {
    const { store, dir } = storeIn(t);
    const unnamed = oldArtifact(store, dir, 'nobody uses me');
    const named = oldArtifact(store, dir, 'a job runs me');
    const cutoff = Date.now() - 60_000;
    const inUse = (hash: string): boolean => hash === named;
    assert.equal(store.collect(unnamed, cutoff, inUse), 'nobody uses me'.length);
    assert.equal(store.has(unnamed), false);
    assert.equal(store.collect(named, cutoff, inUse), null);
    assert.equal(store.get(named).toString(), 'a job runs me');
  });

  void test('a file written after the cutoff stays, named or not: its submit may still be coming', (t) => {
    const { store } = storeIn(t);
    const fresh = store.put(Buffer.from('just uploaded'));
    assert.equal(
      store.collect(fresh, Date.now() - 60_000, () => false),
      null,
    );
    assert.equal(store.has(fresh), true);
  });

  void test('uploading the same bytes again restarts their grace', (t) => {
    const { store, dir } = storeIn(t);
    const hash = oldArtifact(store, dir, 'uploaded twice');
    assert.equal(store.put(Buffer.from('uploaded twice')), hash);
    assert.ok(statSync(join(dir, hash)).mtimeMs > Date.now() - 60_000, 'the second upload refreshed the time');
    assert.equal(
      store.collect(hash, Date.now() - 60_000, () => false),
      null,
    );
  });

  void test('an old temp file from an interrupted upload is deleted; other names are never touched', async (t) => {
    const { store, dir } = storeIn(t);
    const temp = `${'a'.repeat(64)}.0123abcd.tmp`;
    for (const name of [temp, 'notes.txt']) {
      writeFileSync(join(dir, name), 'x');
      utimesSync(join(dir, name), HOUR_AGO(), HOUR_AGO());
    }
    assert.deepEqual((await store.entries()).sort(), [temp, 'notes.txt'].sort());
    assert.equal(
      store.collect(temp, Date.now(), () => true),
      1,
    );
    assert.equal(
      store.collect('notes.txt', Date.now(), () => false),
      null,
    );
    assert.equal(existsSync(join(dir, 'notes.txt')), true);
    assert.equal(
      store.collect('f'.repeat(64), Date.now(), () => false),
      null,
      'a file already gone',
    );
  });
});
