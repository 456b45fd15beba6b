import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ArtifactStore } from './artifacts.js';

const HOUR_AGO = (): Date => new Date(Date.now() - 3_600_000);
const NOTHING_USES = (): Promise<boolean> => Promise.resolve(false);
const EVERYTHING_USES = (): Promise<boolean> => Promise.resolve(true);

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
  void test('an old file nothing names is deleted, with its size; one something names stays', async (t) => {
    const { store, dir } = storeIn(t);
    const unnamed = oldArtifact(store, dir, 'nobody uses me');
    const named = oldArtifact(store, dir, 'a job runs me');
    const cutoff = Date.now() - 60_000;
    const inUse = (hash: string): Promise<boolean> => Promise.resolve(hash === named);
    assert.equal(await store.collect(unnamed, cutoff, inUse), 'nobody uses me'.length);
    assert.equal(store.has(unnamed), false);
    assert.equal(await store.collect(named, cutoff, inUse), null);
    assert.equal(store.get(named).toString(), 'a job runs me');
  });

  void test('a file written after the cutoff stays, named or not: its submit may still be coming', async (t) => {
    const { store } = storeIn(t);
    const fresh = store.put(Buffer.from('just uploaded'));
    assert.equal(await store.collect(fresh, Date.now() - 60_000, NOTHING_USES), null);
    assert.equal(store.has(fresh), true);
  });

  void test('uploading the same bytes again restarts their grace', async (t) => {
    const { store, dir } = storeIn(t);
    const hash = oldArtifact(store, dir, 'uploaded twice');
    assert.equal(store.put(Buffer.from('uploaded twice')), hash);
    assert.ok(statSync(join(dir, hash)).mtimeMs > Date.now() - 60_000, 'the second upload refreshed the time');
    assert.equal(await store.collect(hash, Date.now() - 60_000, NOTHING_USES), null);
  });

  void test('an old temp file from an interrupted upload is deleted; other names are never touched', async (t) => {
    const { store, dir } = storeIn(t);
    const temp = `${'a'.repeat(64)}.0123abcd.tmp`;
    for (const name of [temp, 'notes.txt']) {
      writeFileSync(join(dir, name), 'x');
      utimesSync(join(dir, name), HOUR_AGO(), HOUR_AGO());
    }
    assert.deepEqual((await store.entries()).sort(), [temp, 'notes.txt'].sort());
    assert.equal(await store.collect(temp, Date.now(), EVERYTHING_USES), 1);
    assert.equal(await store.collect('notes.txt', Date.now(), NOTHING_USES), null);
    assert.equal(existsSync(join(dir, 'notes.txt')), true);
    assert.equal(await store.collect('f'.repeat(64), Date.now(), NOTHING_USES), null, 'a file already gone');
  });

  void test('a file a request checks for or uploads while its in-use check is awaited stays: the request may be about to name it', async (t) => {
    const { store, dir } = storeIn(t);
    const checked = oldArtifact(store, dir, 'checked by a submit');
    const uploaded = oldArtifact(store, dir, 'uploaded again');
    const cutoff = Date.now() - 60_000;
    const askedMeanwhile = (ask: () => void) => async (): Promise<boolean> => {
      await Promise.resolve();
      ask();
      return false;
    };
    assert.equal(
      await store.collect(
        checked,
        cutoff,
        askedMeanwhile(() => store.has(checked)),
      ),
      null,
    );
    assert.equal(
      await store.collect(
        uploaded,
        cutoff,
        askedMeanwhile(() => store.put(Buffer.from('uploaded again'))),
      ),
      null,
    );
    assert.equal(store.get(checked).toString(), 'checked by a submit');
    assert.equal(store.get(uploaded).toString(), 'uploaded again');
    // Asked for before the check, not during it: nothing keeps it.
    assert.equal(await store.collect(checked, cutoff, NOTHING_USES), 'checked by a submit'.length);
  });
});
